"""mx.bitcast (MLX's `view` of same-size dtypes): compiled on the CPU vs the NumPy reference
and NumPy's own view; its vjp/jvp are zero and its batch rule is the op itself."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

PAIRS = [("float32", "int32"), ("float32", "uint32"), ("int32", "float32"),
         ("uint32", "int32"), ("float64", "int64"), ("int64", "float64")]


@pytest.mark.parametrize("src,dst", PAIRS)
def test_bitcast_is_numpy_view(src, dst):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 4)) * 1e3).astype(src)
    got = np.array(mx.view(mx.array(x, getattr(mx, src)), getattr(mx, dst)))
    np.testing.assert_array_equal(got.view(np.uint8), x.view(dst).view(np.uint8))


def test_view_changes_the_last_axis_by_bytes():
    x = np.array([[1.5, -2.0], [3.25, 0.0]], np.float32)
    b = mx.view(mx.array(x), mx.uint8)
    assert b.shape == (2, 8)
    np.testing.assert_array_equal(np.array(b), x.view(np.uint8))
    back = mx.view(b, mx.float32)
    np.testing.assert_array_equal(np.array(back), x)
    with pytest.raises(ValueError):
        mx.view(mx.zeros((3,), mx.uint8), mx.float32)  # 3 bytes are no float32


def test_bitcast_transforms():
    x = mx.array([1.0, -2.0, 3.0])
    assert mx.grad(lambda a: mx.sum(mx.view(mx.view(a, mx.int32), mx.float32)))(x).tolist() == [
        0.0, 0.0, 0.0]  # reinterpreting bits has no derivative
    batched = mx.vmap(lambda a: mx.view(a, mx.uint32))(mx.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(np.array(batched), np.array([[1.0, 2.0], [3.0, 4.0]],
                                                              np.float32).view(np.uint32))


VIEW_DTYPES = ["bool_", "uint8", "int8", "uint16", "int16", "float16", "bfloat16", "uint32",
               "int32", "float32", "int64", "uint64", "float64"]


@pytest.mark.parametrize("src", VIEW_DTYPES)
@pytest.mark.parametrize("dst", [d for d in VIEW_DTYPES if d != "bool_"])
def test_view_matches_mlx(src, dst):
    """Every pair of real dtypes, on random bytes, bit for bit with MLX (the test-only oracle).
    Views as bool are left out: MLX keeps the raw byte (a "bool" holding 0x5f), mxir gives
    its truth value."""
    mlx = pytest.importorskip("mlx.core")
    raw = np.random.default_rng(0).integers(0, 256, size=(3, 16), dtype=np.uint8)

    def bits(m):
        a = m.array(raw % 2 == 0) if src == "bool_" else m.array(raw).view(getattr(m, src))
        r = a.view(getattr(m, dst))
        if r.dtype in (m.float16, m.bfloat16):
            r = r.astype(m.float32)  # exact; NumPy has no bfloat16
        return r.shape, np.array(r).tobytes()

    assert bits(mx) == bits(mlx)
