"""mx.array(x, dtype) on Python scalars, nested lists and tuples (ragged, empty, mixed kinds),
NumPy scalars and arrays of every kind, ints past int64, against MLX itself (the test-only
oracle): shape, dtype and values, or the exception type. mxir is more lenient in two places,
left out: NumPy scalars inside a list (MLX raises ValueError) and a list holding an int past
int32 converted to int32/uint8/bool (MLX raises; a bare int of that size wraps in both)."""

from __future__ import annotations

import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402

INPUTS = [1, 1.5, True, 2**31, 2**40, -2**63, 2**63 - 1, 2**63, 2**64, 1 + 2j, [1, 2.5],
          [True, 2], [True, False], [[1, 2], [3, 4]], [], [[]], [[1], [2, 3]], [1, [2]],
          np.float64(1.5), np.int64(3), np.uint8(7), np.bool_(True),
          np.array([1.5, 2], np.float64), np.array([1, 2], np.int64),
          np.array([1, 2], np.uint64), np.array([1, 2], np.int8), np.array([1, 2], np.float16),
          np.array([1 + 1j], np.complex128), np.array(3.0), np.zeros((2, 0)), (1, 2),
          ((1, 2), (3, 4)), [1.0, float("nan"), float("inf")], [2**31 - 1, -2**31], [-1],
          [1 + 1j, 2], "abc", None, [None], [1, "a"]]
DTYPES = [None, "float32", "int32", "uint8", "bool_", "float16", "int64", "complex64",
          "bfloat16"]


def _outcome(mx, x, dtype):
    try:
        a = mx.array(x, dtype=getattr(mx, dtype)) if dtype else mx.array(x)
        v = np.array(a.astype(mx.float32) if a.dtype == mx.bfloat16 else a)
        return a.shape, str(a.dtype).split(".")[-1], repr(v.tolist())
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__


@pytest.mark.parametrize("x", INPUTS, ids=[repr(x)[:30] for x in INPUTS])
def test_matches_mlx(x):
    differ = [(d, _outcome(mxir, x, d), _outcome(mlx, x, d)) for d in DTYPES
              if _outcome(mxir, x, d) != _outcome(mlx, x, d)]
    assert not differ, f"dtype, mxir, mlx: {differ}"
