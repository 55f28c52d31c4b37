"""The floating-point quantization modes (mxfp4, mxfp8, nvfp4) against MLX: codes and scales
bit for bit, decoded values exactly, products to the accumulation's rounding, and MLX's
errors."""

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

MODES = ["mxfp4", "mxfp8", "nvfp4"]
DTYPES = ["float32", "float16", "bfloat16"]


def _weights(seed: int, shape=(4, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape).astype(np.float32)
    w *= rng.uniform(1e-3, 1e3, shape[:-1] + (1,)).astype(np.float32)  # scales far apart
    if seed % 2:
        w = np.round(w * 4) / 4  # ties between codes
    w[..., 0, :5] = 0
    w[..., 1, :32] = 0  # an all-zero group: scale 0
    return w


def _same(ours, theirs) -> None:
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
    assert ours.shape == tuple(theirs.shape)
    if ours.dtype.name in ("bfloat16", "float16"):
        ours, theirs = ours.astype(mx.float32), theirs.astype(mlx.float32)
    np.testing.assert_array_equal(np.array(ours), np.array(theirs))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_quantize_and_dequantize_bit_for_bit(mode, dtype):
    for seed in range(4):
        w = _weights(seed, (2, 4, 128) if seed == 3 else (4, 128))
        scales = [None] + ([float(np.random.default_rng(seed).uniform(0.1, 10))]
                           if mode == "nvfp4" else [])
        for g in scales:
            kw_ours = {} if g is None else {"global_scale": mx.array(g)}
            kw_mlx = {} if g is None else {"global_scale": mlx.array(g)}
            ours = mx.quantize(mx.array(w).astype(getattr(mx, dtype)), mode=mode, **kw_ours)
            theirs = mlx.quantize(mlx.array(w).astype(getattr(mlx, dtype)), mode=mode,
                                  **kw_mlx)
            assert len(ours) == len(theirs) == 2
            for a, b in zip(ours, theirs):
                _same(a, b)
            for out in (None, "float32", "float16"):
                kw_o = {} if out is None else {"dtype": getattr(mx, out)}
                kw_m = {} if out is None else {"dtype": getattr(mlx, out)}
                _same(mx.dequantize(*ours, mode=mode, **kw_ours, **kw_o),
                      mlx.dequantize(*theirs, mode=mode, **kw_mlx, **kw_m))


@pytest.mark.parametrize("mode", MODES)
def test_quantized_matmul_and_gather_qmm(mode):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    x = rng.standard_normal((3, 5, 64)).astype(np.float32)
    theirs_q = mlx.quantize(mlx.array(w), mode=mode)
    ours_q = mx.quantize(mx.array(w), mode=mode)
    for dtype, tol in (("float32", 1e-5), ("float16", 4e-3), ("bfloat16", 3e-2)):
        xo, xm = mx.array(x).astype(getattr(mx, dtype)), mlx.array(x).astype(getattr(mlx, dtype))
        got = mx.quantized_matmul(xo, *ours_q, mode=mode)
        want = mlx.quantized_matmul(xm, *theirs_q, mode=mode)
        assert got.dtype.name == dtype and got.shape == tuple(want.shape)
        # MLX's CPU accumulates a half-precision product in that precision, mxir in float32
        scale = np.abs(np.array(want.astype(mlx.float32))).max()
        np.testing.assert_allclose(np.array(got.astype(mx.float32)),
                                   np.array(want.astype(mlx.float32)), atol=tol * scale)
        idx = [[2], [0], [1]]
        got = mx.gather_qmm(xo, *ours_q, mode=mode, rhs_indices=mx.array(idx))
        want = mlx.gather_qmm(xm, *theirs_q, mode=mode, rhs_indices=mlx.array(idx))
        assert got.shape == tuple(want.shape)  # one weight matrix: every index picks it
        wide = mx.broadcast_to(mx.expand_dims(ours_q[0], 0), (3,) + ours_q[0].shape)
        wide_s = mx.broadcast_to(mx.expand_dims(ours_q[1], 0), (3,) + ours_q[1].shape)
        got = mx.gather_qmm(xo, wide, wide_s, mode=mode, rhs_indices=mx.array(idx))
        want = mlx.gather_qmm(xm, *[mlx.broadcast_to(mlx.expand_dims(t, 0), (3,) + t.shape)
                                    for t in theirs_q], mode=mode,
                              rhs_indices=mlx.array(idx))
        np.testing.assert_allclose(np.array(got.astype(mx.float32)),
                                   np.array(want.astype(mlx.float32)), atol=tol * scale)


def _error(lib, fn):
    """(type, message) of what fn(lib) raises, up to evaluating its result (MLX raises its
    not-implemented cases at evaluation, mxir when called)."""
    with pytest.raises(Exception) as info:
        lib.eval(fn(lib))
    return type(info.value), str(info.value)


def test_errors_match_mlx():
    def q(**kw):
        return lambda L: L.quantize(L.ones((4, 64)), **kw)

    def dq(change, mode="mxfp4"):
        """dequantize of a quantized matrix, its arguments changed by `change(L, w, s)`."""
        def run(L):
            w, s = L.quantize(L.ones((4, 64)), mode=mode)
            args = {"w": w, "scales": s, "mode": mode}
            args.update(change(L, w, s))
            return L.dequantize(args.pop("w"), **args)
        return run

    cases = [
        q(mode="foo"), q(mode="nvfp4", group_size=32), q(mode="mxfp4", bits=8),
        q(mode="mxfp8", bits=4, group_size=32), q(mode="mxfp4", bits=2),
        lambda L: L.quantize(L.ones((4, 64)), mode="mxfp4", global_scale=L.array(1.0)),
        lambda L: L.quantize(L.ones((4, 64)), mode="nvfp4", global_scale=L.array([1.0, 2.0])),
        lambda L: L.quantize(L.ones((4, 64)), mode="nvfp4",
                             global_scale=L.array(1.0, dtype=L.float16)),
        lambda L: L.quantize(L.ones((4, 60)), mode="mxfp8"),
        lambda L: L.quantize(L.ones((64,)), mode="mxfp8"),
        lambda L: L.quantize(L.ones((4, 64), dtype=L.int32), mode="mxfp8"),
        dq(lambda L, w, s: {"biases": s}),
        dq(lambda L, w, s: {"scales": s.astype(L.float32)}),
        dq(lambda L, w, s: {"scales": s[:, :1]}),
        dq(lambda L, w, s: {"scales": s[None]}),
        dq(lambda L, w, s: {"group_size": 16}),
        dq(lambda L, w, s: {"bits": 8}),
        dq(lambda L, w, s: {"dtype": L.int32}),
        dq(lambda L, w, s: {"w": w.astype(L.int32)}),
        dq(lambda L, w, s: {"w": w[0], "scales": s[0]}),
        dq(lambda L, w, s: {"global_scale": L.array(2.0)}),
        dq(lambda L, w, s: {"global_scale": L.array([2.0, 1.0])}, mode="nvfp4"),
        lambda L: L.quantized_matmul(L.ones((2, 64), dtype=L.int32),
                                     *L.quantize(L.ones((4, 64)), mode="mxfp4"),
                                     mode="mxfp4"),
    ]
    for i, case in enumerate(cases):
        assert _error(mx, case) == _error(mlx, case), i


@pytest.mark.parametrize("mode", MODES)
def test_qqmm_on_a_single_row_as_mlx_s_cpu(mode):
    """MLX's CPU computes qqmm for one row of x against a quantized w: x goes through the
    format and back, then the quantized product."""
    rng = np.random.default_rng(2)
    for dtype, tol in (("float32", 1e-6), ("float16", 4e-3), ("bfloat16", 3e-2)):
        for trial in range(3):
            w = rng.standard_normal((16, 64)).astype(np.float32)
            x = (rng.standard_normal((64,)) * rng.uniform(0.1, 4)).astype(np.float32)
            if trial == 1:
                x = np.round(x * 2) / 2  # ties between e2m1 codes
            theirs_q = mlx.quantize(mlx.array(w), mode=mode)
            ours_q = mx.quantize(mx.array(w), mode=mode)
            xs = (x, x[None]) if trial != 2 else (x[None],)
            for xi in xs:
                want = mlx.qqmm(mlx.array(xi).astype(getattr(mlx, dtype)), *theirs_q, mode=mode)
                got = mx.qqmm(mx.array(xi).astype(getattr(mx, dtype)), *ours_q, mode=mode)
                assert got.dtype.name == dtype and got.shape == tuple(want.shape)
                scale = np.abs(np.array(want.astype(mlx.float32))).max()
                np.testing.assert_allclose(np.array(got.astype(mx.float32)),
                                           np.array(want.astype(mlx.float32)),
                                           atol=tol * scale)


def test_qqmm_and_gather_qqmm_errors_match_mlx():
    def quantized(L, mode="nvfp4"):
        return L.quantize(L.ones((8, 64)), mode=mode)

    cases = [
        lambda L: L.qqmm(L.ones((2, 64)), *quantized(L)),  # NYI: more than one row
        lambda L: L.qqmm(L.ones((1, 64)), L.ones((8, 64))),  # NYI: w not quantized
        lambda L: L.qqmm(L.ones((1, 64)), L.ones((8, 32))),
        lambda L: L.qqmm(L.ones((2, 1, 64)), L.ones((3, 8, 64))),
        lambda L: L.qqmm(L.ones((1, 64)), quantized(L)[0]),
        lambda L: L.qqmm(L.ones((1, 64), dtype=L.int32), *quantized(L)),
        lambda L: L.qqmm(L.ones((1, 64)), L.ones((8, 64), dtype=L.float64)),
        lambda L: L.qqmm(L.ones((1, 32)), *quantized(L)),
        lambda L: L.qqmm(L.ones((1, 64)), *quantized(L), mode="foo"),
        lambda L: L.qqmm(L.ones((1, 64)), *quantized(L), global_scale_x=L.array(1.0)),
        lambda L: L.qqmm(L.ones((1, 64)), *quantized(L, "mxfp8"), mode="mxfp8",
                         global_scale_x=L.array(1.0), global_scale_w=L.array(1.0)),
        lambda L: L.qqmm(L.ones((1, 64)), quantized(L)[0], quantized(L)[1][:, :2]),
        lambda L: L.gather_qqmm(L.ones((1, 64)), *quantized(L)),
        lambda L: L.gather_qqmm(L.ones((1, 64)), *quantized(L), mode="bar"),
    ]
    for i, case in enumerate(cases):
        assert _error(mx, case) == _error(mlx, case), i
