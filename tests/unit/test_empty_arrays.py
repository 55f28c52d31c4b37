"""Arrays with a zero-size axis, compared with MLX itself (the test-only oracle): which
reductions and layout ops accept them, the shapes and dtypes they give, and the exception type
and message where MLX refuses (an empty array reduced over nonempty axes is fine; a reduction
over an empty axis of max/min is not)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402

SHAPES = [(0,), (0, 4), (3, 0), (2, 0, 3)]
REDUCTIONS = ["max", "min", "sum", "prod", "mean", "all", "any", "logsumexp", "argmax",
              "argmin", "var", "std", "cumsum", "cummax", "sort", "argsort", "softmax"]


def _axes(ndim):
    yield None
    yield from range(-ndim, ndim)
    if ndim > 1:
        yield tuple(range(ndim))
        yield (0, ndim - 1)


def _cases():
    for shape, name in itertools.product(SHAPES, REDUCTIONS):
        for axis in _axes(len(shape)):
            if isinstance(axis, tuple) and name in ("argmax", "argmin", "cumsum", "cummax",
                                                    "sort", "argsort"):
                continue
            yield pytest.param(name, shape, axis, id=f"{name}-{shape}-{axis}")
    for shape in [(0, 64), (4, 0), (0, 0)]:
        yield pytest.param("quantize", shape, None, id=f"quantize-{shape}")
    for a, b in [((0, 3), (3, 2)), ((2, 0), (0, 3)), ((2, 3), (3, 0))]:
        yield pytest.param("matmul", a, b, id=f"matmul-{a}-{b}")


def _run(mx, name, shape, arg):
    x = mx.zeros(shape)
    if name == "quantize":
        return mx.quantize(x, group_size=64, bits=4)
    if name == "matmul":
        return [mx.matmul(mx.ones(shape), mx.ones(arg))]
    fn = getattr(mx, name)
    return [fn(x) if arg is None else fn(x, axis=arg)]


def _outcome(mx, name, shape, arg):
    try:
        out = _run(mx, name, shape, arg)
        # repr: NaN (the mean of nothing) equals itself as text
        return [(tuple(o.shape), str(o.dtype).split(".")[-1], repr(np.array(o).tolist()))
                for o in out]
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("name, shape, arg", list(_cases()))
def test_matches_mlx(name, shape, arg):
    want = _outcome(mlx, name, shape, arg)
    got = _outcome(mxir, name, shape, arg)
    assert got == want
