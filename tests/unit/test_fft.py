"""`mx.fft` against NumPy's pocketfft and MLX: values, dtypes, shapes, sizes `n`/`s`, axes,
norms, errors; vjp/jvp against MLX and against the transform's adjoint identity; vmap against a
loop; the op's reference (a DFT matrix in float64) against np.fft."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from mxir.dialect.fft import matrix

mlx = pytest.importorskip("mlx.core")

RNG = np.random.default_rng(7)


def _c(*shape):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(np.complex64)


def _r(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [
    ("fft", _c(3, 8), {}), ("fft", _r(5), {"n": 7}), ("fft", _c(4, 6), {"n": 3, "axis": 0}),
    ("ifft", _c(2, 9), {}), ("ifft", _c(6), {"n": 10, "norm": "ortho"}),
    ("rfft", _r(3, 8), {}), ("rfft", _r(7), {"n": 12, "norm": "forward"}),
    ("irfft", _c(3, 5), {}), ("irfft", _c(6), {"n": 9}), ("irfft", _c(4, 5), {"axis": 0}),
    ("fft2", _c(2, 4, 6), {}), ("ifft2", _c(4, 6), {"s": (3, 8)}),
    ("rfft2", _r(4, 6), {}), ("irfft2", _c(4, 4), {}), ("irfft2", _c(4, 4), {"s": (5, 6)}),
    ("fftn", _c(2, 3, 4), {}), ("ifftn", _c(2, 3, 4), {"axes": [0, 2]}),
    ("rfftn", _r(2, 3, 4), {}), ("irfftn", _c(2, 3, 4), {}),
    ("fft", np.arange(6, dtype=np.int32), {}), ("rfft", _c(6), {}),
    ("fftn", _r(3, 5), {"norm": "ortho"}),
]


@pytest.mark.parametrize("name,x,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_numpy_and_mlx(name, x, kw):
    got = getattr(mx.fft, name)(mx.array(x), **kw)
    want = getattr(mlx.fft, name)(mlx.array(x), **kw)
    assert got.dtype.name == str(want.dtype).split(".")[-1] and got.shape == want.shape
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)
    ref = getattr(np.fft, name)(x.real if name.startswith("rfft") else x, **kw)
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("inverse,real", [(False, False), (True, False), (False, True),
                                          (True, True)])
@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_reference_matrix_is_numpy_dft(n, inverse, real, adjoint):
    m = matrix(n, inverse, real, adjoint)
    base = m.conj().T if adjoint else m
    eye = np.eye(n)
    if real and inverse:
        half = np.eye(n // 2 + 1).astype(np.complex128)
        want = np.fft.irfft(half, n=n, axis=-1)
        np.testing.assert_allclose(base.real, want, atol=1e-12)
    elif real:
        np.testing.assert_allclose(base, np.fft.rfft(eye, axis=-1), atol=1e-12)
    else:
        fn = np.fft.ifft if inverse else np.fft.fft
        np.testing.assert_allclose(base, fn(eye, axis=-1), atol=1e-12)


TRANSFORM_CASES = [("fft", _c(6), {}), ("ifft", _c(5), {}), ("rfft", _r(6), {}),
                   ("irfft", _c(4), {}), ("irfft", _c(4), {"n": 7}), ("fft", _r(5), {"n": 8}),
                   ("fft2", _c(3, 4), {}), ("rfftn", _r(3, 4), {}), ("irfft2", _c(3, 3), {})]


@pytest.mark.parametrize("name,x,kw", TRANSFORM_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TRANSFORM_CASES)])
def test_vjp_jvp_against_mlx(name, x, kw):
    def f(lib):
        return lambda a: getattr(lib.fft, name)(a, **kw)

    out = np.array(f(mlx)(mlx.array(x)))
    ct = (_c(*out.shape) if np.iscomplexobj(out) else _r(*out.shape))
    t = _c(*x.shape) if np.iscomplexobj(x) else _r(*x.shape)
    got = mx.vjp(f(mx), [mx.array(x)], [mx.array(ct)])[1][0]
    want = mlx.vjp(f(mlx), [mlx.array(x)], [mlx.array(ct)])[1][0]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-4, atol=1e-4)
    got_t = mx.jvp(f(mx), [mx.array(x)], [mx.array(t)])[1][0]
    # linear: the jvp is the transform of the tangent (MLX's own jvp of irfft ignores `n`:
    # its tangent has the default length, 6 for n=7, unlike its output)
    np.testing.assert_allclose(np.array(got_t), np.array(f(mlx)(mlx.array(t))), rtol=1e-4,
                               atol=1e-4)
    want_t = mlx.jvp(f(mlx), [mlx.array(x)], [mlx.array(t)])[1][0]
    if want_t.shape == out.shape:
        np.testing.assert_allclose(np.array(got_t), np.array(want_t), rtol=1e-4, atol=1e-4)
    # the adjoint identity Re<jvp(t), ct> = Re<t, vjp(ct)> (the transforms are real-linear)
    lhs = np.vdot(np.array(ct), np.array(got_t)).real
    rhs = np.vdot(np.array(got), np.array(t)).real
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4, atol=1e-4)


def test_grad_of_a_real_loss_matches_finite_differences():
    x = _r(8)

    def loss_np(v):
        return np.sum(np.abs(np.fft.rfft(v)) ** 2 * np.arange(5)) + np.sum(
            np.fft.irfft(np.fft.fft(v)[:5] * 1j, n=8))

    def loss(v):
        return mx.sum(mx.abs(mx.fft.rfft(v)) ** 2 * mx.arange(5)) + mx.sum(
            mx.fft.irfft(mx.fft.fft(v)[:5] * 1j, n=8))

    got = np.array(mx.grad(loss)(mx.array(x)))
    h, x64 = 1e-6, x.astype(np.float64)
    fd = np.array([(loss_np(x64 + h * e) - loss_np(x64 - h * e)) / (2 * h) for e in np.eye(8)])
    np.testing.assert_allclose(got, fd, rtol=1e-3, atol=1e-3)


def test_vmap_matches_a_loop():
    x = _c(3, 4, 6)
    for fn in (lambda a: mx.fft.fft(a, axis=0), lambda a: mx.fft.irfft(a),
               lambda a: mx.fft.fft2(a)):
        got = mx.vmap(fn, in_axes=1)(mx.array(x))
        want = np.stack([np.array(fn(mx.array(x[:, i]))) for i in range(4)])
        np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-5)


def test_shift_and_frequencies_are_mlx():
    for n in (5, 6):
        a = np.arange(n * 2).reshape(2, n)
        for name in ("fftshift", "ifftshift"):
            assert np.array_equal(np.array(getattr(mx.fft, name)(mx.array(a))),
                                  np.array(getattr(mlx.fft, name)(mlx.array(a))))
            assert np.array_equal(np.array(getattr(mx.fft, name)(mx.array(a), axes=[1])),
                                  np.array(getattr(mlx.fft, name)(mlx.array(a), axes=[1])))
        np.testing.assert_allclose(np.array(mx.fft.fftfreq(n, 0.5)),
                                   np.array(mlx.fft.fftfreq(n, 0.5)))
        np.testing.assert_allclose(np.array(mx.fft.rfftfreq(n)), np.array(mlx.fft.rfftfreq(n)))


@pytest.mark.parametrize("call", [
    lambda L: L.fft.fft(L.array([1.0, 2.0]), n=0),
    lambda L: L.fft.fft(L.array([1.0, 2.0]), axis=2),
    lambda L: L.fft.fft(L.array(1.0)),
    lambda L: L.fft.fftn(L.ones((2, 2)), s=[2, 2]),
    lambda L: L.fft.fftn(L.ones((2, 2)), axes=[0, 0]),
    lambda L: L.fft.fftn(L.ones((2, 2)), s=[2], axes=[0, 1]),
    lambda L: L.fft.irfft(L.array([1j]), n=0),
    lambda L: L.fft.fft(L.array([1.0, 2.0]), norm="bad"),
    lambda L: L.fft.fftfreq(0),
])
def test_errors_are_mlx(call):
    with pytest.raises(Exception) as want:
        mlx.eval(call(mlx))
    with pytest.raises(type(want.value)) as got:
        mx.eval(call(mx))
    if not isinstance(want.value, IndexError):
        assert str(got.value) == str(want.value)


STFT_CASES = [dict(n_fft=8), dict(n_fft=8, hop_length=3), dict(n_fft=8, pad_mode="constant"),
              dict(n_fft=8, pad_mode="edge"), dict(n_fft=8, win_length=6),
              dict(n_fft=8, window=np.hanning(8).astype(np.float32), hop_length=3),
              dict(n_fft=8, norm="ortho"), dict(n_fft=8, center=False, hop_length=5),
              dict(n_fft=8, onesided=False), dict(n_fft=6, hop_length=2)]


def _lib_kwargs(lib, kw):
    return {k: lib.array(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


@pytest.mark.parametrize("kw", STFT_CASES, ids=[str(i) for i in range(len(STFT_CASES))])
def test_stft_istft_against_mlx(kw):
    x = _r(2, 30)
    got = mx.fft.stft(mx.array(x), **_lib_kwargs(mx, kw))
    want = mlx.fft.stft(mlx.array(x), **_lib_kwargs(mlx, kw))
    assert got.shape == want.shape and got.dtype == mx.complex64
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-4, atol=1e-4)
    inv = {k: v for k, v in kw.items() if k != "pad_mode"}
    for extra in ({}, {"length": 25}, {"length": 40}):
        a = mx.fft.istft(got, **_lib_kwargs(mx, inv), **extra)
        b = mlx.fft.istft(want, **_lib_kwargs(mlx, inv), **extra)
        assert a.shape == b.shape
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-4)
    # its gradient (a composition of take, multiply and rfft) against MLX's
    ct = _c(*want.shape)
    g = mx.vjp(lambda v: mx.fft.stft(v, **_lib_kwargs(mx, kw)), [mx.array(x)],
               [mx.array(ct)])[1][0]
    h = mlx.vjp(lambda v: mlx.fft.stft(v, **_lib_kwargs(mlx, kw)), [mlx.array(x)],
                [mlx.array(ct)])[1][0]
    np.testing.assert_allclose(np.array(g), np.array(h), rtol=1e-4, atol=1e-4)


def test_stft_of_complex_input_and_errors_are_mlx():
    c = _c(30)
    np.testing.assert_allclose(np.array(mx.fft.stft(mx.array(c), n_fft=8)),
                               np.array(mlx.fft.stft(mlx.array(c), n_fft=8)), atol=1e-4)
    for call in (lambda L: L.fft.stft(L.ones(10), n_fft=20, center=False),
                 lambda L: L.fft.stft(L.ones(10), n_fft=8, pad_mode="bad")):
        with pytest.raises(ValueError) as want:
            mlx.eval(call(mlx))
        with pytest.raises(ValueError, match=str(want.value).replace("[", r"\[").replace(
                "]", r"\]").replace("(", r"\(").replace(")", r"\)")):
            mx.eval(call(mx))


@pytest.mark.parametrize("n", [64, 256, 4096])
def test_power_of_two_lengths_take_the_radix2_form(n):
    """Power-of-two lengths from FAST_MIN run log2(n) butterfly passes on the CPU (a
    65536-point fft 2.7 s -> 1.9 ms, MLX 3.0): complex transforms both ways, rfft, irfft (its
    DC and Nyquist bins' imaginary parts ignored, as NumPy), any axis, norms, a gradient; the
    error stays near float32's (log n growth)."""
    from mlir import ir
    from mxir.dialect.fft import FAST_MIN
    from mxir.evaluate import build_module, context, trace_program
    from mxir.passes import run_pipeline

    x, r = _c(3, n), _r(n, 2)
    cases = [(mx.fft.fft(mx.array(x)), np.fft.fft(x)),
             (mx.fft.ifft(mx.array(x), norm="ortho"), np.fft.ifft(x, norm="ortho")),
             (mx.fft.rfft(mx.array(r), axis=0), np.fft.rfft(r, axis=0)),
             (mx.fft.fft(mx.array(x[:, :n // 2]), n=n), np.fft.fft(x[:, :n // 2], n=n)),
             (mx.fft.irfft(mx.array(x[:, :n // 2 + 1])), np.fft.irfft(x[:, :n // 2 + 1])),
             (mx.fft.irfft(mx.array(x[:, :n // 2 + 1].T), axis=0, norm="ortho"),
              np.fft.irfft(x[:, :n // 2 + 1].T, axis=0, norm="ortho"))]
    for got, want in cases:
        got = np.array(got)
        assert got.dtype == want.dtype.name.replace("128", "64").replace(
            "float64", "float32") and got.shape == want.shape
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 3e-7
    w = _r(n)
    g = mx.grad(lambda v: mx.sum(mx.real(mx.fft.fft(v)) * mx.array(w)))(mx.array(x[0]))
    # d/dv of sum_k w_k Re(sum_j v_j e^{-2 pi i jk/n}) = conj(sum_k w_k e^{-2 pi i jk/n})
    want = np.conj(np.fft.fft(w.astype(np.float64)))
    np.testing.assert_allclose(np.array(g), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    main, _ = trace_program([mx.fft.fft(mx.array(x))])
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg"])
        text = str(module)
    assert n >= FAST_MIN and "reduction" not in text
    assert text.count("complex.mul") == n.bit_length() - 1  # log2(n) butterfly passes
