"""arange and linspace on generated arguments, bit for bit against MLX itself (the test-only
oracle): MLX's arange is a running sum in the result's dtype, so its float values drift from
start + i * step (arange(0, 1000, 0.1) ends 0.097 off), and mxir must give the same bits; also
MLX's errors for bool, NaN and infinite bounds, and its one-value answer for an infinite step."""

from __future__ import annotations

import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402

DTYPES = ["float32", "float16", "bfloat16", "int32", "int16", "uint8", "int64", "uint32"]


def _generated(n=120, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(n):
        dtype = DTYPES[k % len(DTYPES)]
        start = round(float(rng.uniform(-50, 50)), int(rng.integers(0, 4)))
        step = round(float(rng.choice([-1, 1]) * rng.uniform(0.01, 7)), int(rng.integers(0, 4)))
        stop = start + step * float(rng.integers(0, 3000))
        yield pytest.param("arange", (start, stop, step), dtype, id=f"arange-{k}-{dtype}")
    for k in range(40):
        num = int(rng.integers(0, 500))
        a, b = (round(float(v), 2) for v in rng.uniform(-1e3, 1e3, 2))
        dtype = ["float32", "float16", "int32", "float64"][k % 4]
        yield pytest.param("linspace", (a, b, num, bool(k % 3)), dtype, id=f"linspace-{k}-{dtype}")


EDGES = [("arange", (0, 1000, 0.1), "float32"), ("arange", (0, 5, 0.5), "int32"),
         ("arange", (0.5, 5, 1), "int32"), ("arange", (5, 0, 1), "int32"),
         ("arange", (0, 5, 1), "bool_"), ("arange", (0, float("nan"), 1), "float32"),
         ("arange", (0, float("inf"), 1), "float32"), ("arange", (0, 5, float("inf")), "float32"),
         ("arange", (3, 0, float("-inf")), "int32"), ("arange", (0, 5, 0), "float32"),
         ("arange", (1e8, 1e8 + 300, 1.5), "float32"), ("linspace", (0, 1, 1, True), "int32"),
         ("linspace", (0, 1, 0, True), "float32")]


def _outcome(mx, fn, args, dtype):
    try:
        if fn == "linspace":
            start, stop, num, endpoint = args
            r = mx.linspace(start, stop, num, endpoint=endpoint, dtype=getattr(mx, dtype))
        else:
            r = mx.arange(*args, dtype=getattr(mx, dtype))
        if r.dtype == mx.bfloat16:
            r = r.astype(mx.float32)  # exact
        return r.shape, str(r.dtype).split(".")[-1], np.array(r).tobytes()
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("fn, args, dtype",
                         [*_generated(), *(pytest.param(*e, id=f"edge-{e}") for e in EDGES)])
def test_matches_mlx_bit_for_bit(fn, args, dtype):
    with mlx.stream(mlx.cpu):
        want = _outcome(mlx, fn, args, dtype)
    assert _outcome(mxir, fn, args, dtype) == want
