"""complex64 through the stack: arrays, printing, promotion, the ops that take complex values
(against NumPy and MLX), MLX's errors for those it refuses, and the transforms with MLX's
conjugate convention (vjp against MLX and against finite differences along the real and
imaginary directions; vmap against a Python loop)."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

RNG = np.random.default_rng(12)


def _c(*shape) -> np.ndarray:
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(np.complex64)


def _close(got, want, rtol=2e-5, atol=2e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def test_arrays_print_and_convert_as_mlx():
    values = [[1 + 2j, 3 - 4j], 1 + 2j, [1.5 + 0j], [[1 + 2j, 3], [0.25j, -1e-5 + 1e7j]],
              np.array([complex(1, -0.0), complex(np.nan, -np.nan), complex(0, np.inf),
                        complex(0, -np.inf), complex(2, np.nan)], np.complex64),
              np.arange(2000).astype(np.complex64), np.array([1 + 1j], np.complex128)]
    for v in values:
        a, w = mx.array(v), mlx.array(v)
        assert repr(a) == repr(w)
        assert a.dtype == mx.complex64
        np.testing.assert_array_equal(np.array(a.tolist()), np.array(w.tolist()))
    assert mx.array(1 + 2j).item() == 1 + 2j and isinstance(mx.array(1j).item(), complex)
    assert np.array(mx.array([1j])).dtype == np.complex64
    assert repr(mx.array([1, 2], dtype=mx.complex64)) == repr(
        mlx.array([1, 2], dtype=mlx.complex64))
    with mx.printoptions(precision=2):
        assert repr(mx.array([1 / 3 + 2j / 3])) == "array([0.33+0.67j], dtype=complex64)"


def test_dtype_relations_and_promotion_are_mlx():
    assert mx.complex64.size == 8 and repr(mx.complex64) == "mxir.complex64"
    for cat in ("complexfloating", "inexact", "number", "generic", "floating", "integer"):
        assert mx.issubdtype(mx.complex64, getattr(mx, cat)) == mlx.issubdtype(
            mlx.complex64, getattr(mlx, cat))
    assert repr(mx.finfo(mx.complex64)) == repr(mlx.finfo(mlx.complex64))
    for scalar in (1j, 2, 2.5, True):
        for d in ("bool_", "int8", "uint64", "int64", "float16", "bfloat16", "float32",
                  "float64", "complex64"):
            got = (mx.ones(2, getattr(mx, d)) + scalar).dtype
            want = (mlx.ones(2, getattr(mlx, d)) + scalar).dtype
            assert got.name == str(want).split(".")[-1], (d, scalar)


UNARY = ["negative", "square", "exp", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin",
         "cos", "tan", "sinh", "cosh", "tanh", "reciprocal", "sign", "abs", "real", "imag",
         "conjugate", "conj", "stop_gradient", "round", "arcsin", "arccos", "arctan", "arcsinh",
         "arccosh", "arctanh"]
BINARY = ["add", "subtract", "multiply", "divide", "equal", "not_equal", "less", "greater",
          "less_equal", "greater_equal", "maximum", "minimum", "power"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_against_mlx(name):
    x = _c(3, 40)
    got, want = getattr(mx, name)(mx.array(x)), getattr(mlx, name)(mlx.array(x))
    assert got.dtype.name == str(want.dtype).split(".")[-1]
    # MLIR's complex.tan/tanh (convert-complex-to-standard) lose a few ulps near the poles
    tol = 3e-5 if name in ("tan", "tanh") else 2e-6
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", BINARY)
def test_binary_against_mlx_and_numpy(name):
    x, y = _c(4, 33), _c(4, 33)
    y[0, :3] = x[0, :3]  # some equal entries
    y[1, :3] = x[1, :3].real + 1j * y[1, :3].imag  # equal real parts (ordering ties)
    x[2, 0] = complex(np.nan, 1.0)
    got = getattr(mx, name)(mx.array(x), mx.array(y))
    want = getattr(mlx, name)(mlx.array(x), mlx.array(y))
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=2e-6, atol=2e-6)
    if name not in ("maximum", "minimum"):  # (NumPy's NaN rule differs from MLX's)
        with np.errstate(invalid="ignore"):
            want_np = getattr(np, name)(x, y)
        _close(got, want_np, rtol=1e-5, atol=1e-5)
    # a real operand and a Python complex scalar promote to complex64
    r = RNG.standard_normal(5).astype(np.float32)
    _close(getattr(mx, name)(mx.array(r), 2 - 1j), getattr(np, name)(r, np.complex64(2 - 1j)),
           rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["arcsin", "arccos", "arctan", "arcsinh", "arccosh",
                                  "arctanh", "sqrt", "log"])
def test_branch_cuts_take_the_side_of_the_zero_sign_as_mlx(name):
    x = np.array([2, -2, 2j, -2j, 1.5, -1.5, complex(2, -0.0), complex(-2, -0.0),
                  complex(-0.0, 2), complex(0.0, -2), complex(-0.0, -2), 0.5j], np.complex64)
    got = np.array(getattr(mx, name)(mx.array(x)))
    np.testing.assert_allclose(got, np.array(getattr(mlx, name)(mlx.array(x))), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("name,message", [
    ("expm1", "[expm1] Not supported for complex64."),
    ("sigmoid", "[sigmoid] Not supported for complex64."),
    ("erf", "[erf] Not supported for complex64."),
    ("floor", "[floor] Not supported for complex64."),
    ("ceil", "[ceil] Not supported for complex64."),
])
def test_ops_mlx_refuses_raise_its_error(name, message):
    with pytest.raises(ValueError) as want:
        mlx.eval(getattr(mlx, name)(mlx.array([1j])))
    assert str(want.value) == message
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        getattr(mx, name)(mx.array([1j]))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin", "logsumexp", "softmax",
                                  "cummax", "cummin", "cumsum", "cumprod", "sort", "argsort",
                                  "var", "std", "median", "mean", "sum", "prod"])
def test_reductions_and_scans_against_mlx(name):
    x = _c(3, 5)
    x[1, 2] = x[1, 0].real + 1j * x[1, 3].imag  # an ordering tie of real parts
    got, want = getattr(mx, name)(mx.array(x), axis=1), getattr(mlx, name)(mlx.array(x), axis=1)
    assert got.dtype.name == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)


def test_reductions_matmul_layout_and_casts():
    x = _c(6, 7)
    a = mx.array(x)
    _close(mx.sum(a), np.sum(x), rtol=1e-5)
    _close(mx.sum(a, axis=1), np.sum(x, axis=1), rtol=1e-5)
    _close(mx.prod(a[:2], axis=0), np.prod(x[:2], axis=0))
    _close(mx.mean(a, axis=0), np.mean(x, axis=0))
    m, n = _c(5, 8), _c(8, 3)
    _close(mx.array(m) @ mx.array(n), m @ n, rtol=1e-5, atol=1e-5)
    real = n.real.copy()
    _close(mx.matmul(mx.array(m), mx.array(real)), m @ real.astype(np.complex64), rtol=1e-5,
           atol=1e-5)
    b3 = _c(3, 4, 5)
    _close(mx.array(b3) @ mx.array(b3).transpose(0, 2, 1), b3 @ b3.transpose(0, 2, 1),
           rtol=1e-5, atol=1e-5)
    _close(a.T, x.T)
    _close(a[1:4, ::2], x[1:4, ::2])
    _close(mx.concatenate([a, a], axis=1), np.concatenate([x, x], axis=1))
    _close(a[mx.array([3, 0])], x[[3, 0]])
    _close(mx.broadcast_to(a[:1], (3, 7)), np.broadcast_to(x[:1], (3, 7)))
    _close(mx.reshape(a, (7, 6)), x.reshape(7, 6))
    c = np.abs(x) > 1
    _close(mx.where(mx.array(c), a, 0j), np.where(c, x, np.complex64(0)))
    for d in ("float32", "float64", "int32", "uint8", "bool_", "float16"):
        w = np.array(mlx.array(x).astype(getattr(mlx, d)))
        _close(a.astype(getattr(mx, d)), w)
    _close(mx.array(x.real).astype(mx.complex64), x.real.astype(np.complex64))
    _close(mx.array([0j, 1j, 1 + 0j]).astype(mx.bool_), np.array([False, True, True]))


def _grad_cases():
    return {
        "x*x": lambda m: lambda x: x * x,
        "exp": lambda m: m.exp, "sin": lambda m: m.sin, "log": lambda m: m.log,
        "sqrt": lambda m: m.sqrt, "reciprocal": lambda m: m.reciprocal,
        "tanh": lambda m: m.tanh, "sinh": lambda m: m.sinh, "log2": lambda m: m.log2,
        "rsqrt": lambda m: m.rsqrt, "conj": lambda m: m.conj, "square": lambda m: m.square,
        "div": lambda m: lambda x: (3 + 1j) / x, "mul": lambda m: lambda x: x * (3 + 1j),
        "neg-sub": lambda m: lambda x: 1j - x,
        "matmul": lambda m: lambda x: m.reshape(x, (2, 2)) @ m.reshape(x, (2, 2)),
        "sum": lambda m: lambda x: m.sum(x * x, keepdims=True),
        "maximum": lambda m: lambda x: m.maximum(x, 0.5 - 0.5j),
        "prod": lambda m: lambda x: m.prod(x, keepdims=True),
    }


@pytest.mark.parametrize("case", list(_grad_cases()))
def test_vjp_and_jvp_of_complex_ops_are_mlx(case):
    x, ct = _c(4), _c(4)
    f, g = _grad_cases()[case](mx), _grad_cases()[case](mlx)
    out_shape = np.array(g(mlx.array(x))).shape
    ct = ct.reshape(-1)[:int(np.prod(out_shape))].reshape(out_shape)
    got = mx.vjp(f, [mx.array(x)], [mx.array(ct)])[1][0]
    want = mlx.vjp(g, [mlx.array(x)], [mlx.array(ct)])[1][0]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=3e-5, atol=3e-5)
    t = _c(4)
    got = mx.jvp(f, [mx.array(x)], [mx.array(t)])[1][0]
    want = mlx.jvp(g, [mlx.array(x)], [mlx.array(t)])[1][0]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=3e-5, atol=3e-5)


@pytest.mark.parametrize("name", ["abs", "real", "imag"])
def test_complex_to_real_rules_are_mlx(name):
    x, ct, t = _c(5), RNG.standard_normal(5).astype(np.float32), _c(5)
    f, g = getattr(mx, name), getattr(mlx, name)
    got = mx.vjp(f, [mx.array(x)], [mx.array(ct)])[1][0]
    want = mlx.vjp(g, [mlx.array(x)], [mlx.array(ct)])[1][0]
    _close(got, np.array(want), rtol=1e-6, atol=1e-6)
    got = mx.jvp(f, [mx.array(x)], [mx.array(t)])[1][0]
    want = mlx.jvp(g, [mlx.array(x)], [mlx.array(t)])[1][0]
    _close(got, np.array(want), rtol=1e-6, atol=1e-6)


def test_grad_of_real_loss_matches_finite_differences():
    """MLX's convention: the gradient of a real loss L at z is dL/dRe z + i dL/dIm z."""
    def loss(m):
        return lambda z: m.sum(m.abs(m.exp(z) * z - 1j) ** 2 + m.real(m.sin(z)))

    x = _c(3)
    got = np.array(mx.grad(loss(mx))(mx.array(x)))
    np.testing.assert_allclose(got, np.array(mlx.grad(loss(mlx))(mlx.array(x))), rtol=1e-4,
                               atol=1e-4)
    x64 = x.astype(np.complex128)

    def loss_np(z):
        return np.sum(np.abs(np.exp(z) * z - 1j) ** 2 + np.real(np.sin(z)))

    h, fd = 1e-6, np.zeros_like(x64)
    for i in range(x64.size):
        e = np.zeros_like(x64)
        e[i] = h
        d_re = (loss_np(x64 + e) - loss_np(x64 - e)) / (2 * h)
        d_im = (loss_np(x64 + 1j * e) - loss_np(x64 - 1j * e)) / (2 * h)
        fd[i] = d_re + 1j * d_im
    np.testing.assert_allclose(got, fd, rtol=1e-3, atol=1e-3)


def test_power_vjp_conjugates_unlike_mlx():
    """MLX's vjp of power does not conjugate (its x**3 gives ct 3x^2 where its x*x*x gives
    ct conj(3x^2)); mxir conjugates as for every other op, which finite differences confirm."""
    x, y = _c(3), _c(3)
    loss = lambda m: lambda z: m.sum(m.abs(m.power(z, y if m is np else m.array(y))) ** 2)  # noqa
    got = np.array(mx.grad(loss(mx))(mx.array(x)))
    same = np.array(mx.grad(lambda z: mx.sum(mx.abs(z * z * z) ** 2))(mx.array(x)))
    np.testing.assert_allclose(same, np.array(mx.grad(lambda z: mx.sum(mx.abs(
        mx.power(z, 3)) ** 2))(mx.array(x))), rtol=1e-5)
    x64, h = x.astype(np.complex128), 1e-6
    fd = np.zeros_like(x64)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd[i] = ((loss(np)(x64 + e) - loss(np)(x64 - e))
                 + 1j * (loss(np)(x64 + 1j * e) - loss(np)(x64 - 1j * e))) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-3, atol=1e-3)
    want = mlx.vjp(lambda z: mlx.power(z, 3), [mlx.array(x)], [mlx.array(x)])[1][0]
    ours = mx.vjp(lambda z: mx.power(z, 3), [mx.array(x)], [mx.array(x)])[1][0]
    np.testing.assert_allclose(np.array(ours), np.conj(x * 3 * x ** 2) * x / np.conj(x),
                               rtol=1e-4)
    np.testing.assert_allclose(np.array(want), x * 3 * x ** 2, rtol=1e-4)


def test_jvp_matches_finite_differences():
    f = lambda m: lambda z: m.log(m.cosh(z) * z + 2)  # noqa: E731
    x, t = _c(4), _c(4)
    got = np.array(mx.jvp(f(mx), [mx.array(x)], [mx.array(t)])[1][0])
    x64, h = x.astype(np.complex128), 1e-6
    g = lambda z: np.log(np.cosh(z) * z + 2)  # noqa: E731
    np.testing.assert_allclose(got, (g(x64 + h * t) - g(x64 - h * t)) / (2 * h), rtol=1e-4,
                               atol=1e-4)


def test_vmap_matches_a_loop():
    x, y = _c(3, 5), _c(5)
    f = lambda a, b: mx.real(mx.conj(a) * b) + mx.abs(a * a)  # noqa: E731
    got = mx.vmap(f, in_axes=(0, None))(mx.array(x), mx.array(y))
    want = np.stack([np.array(f(mx.array(r), mx.array(y))) for r in x])
    _close(got, want, rtol=1e-6, atol=1e-6)
    g = mx.vmap(mx.grad(lambda z: mx.sum(mx.abs(z * z))))(mx.array(x))
    want = np.stack([np.array(mx.grad(lambda z: mx.sum(mx.abs(z * z)))(mx.array(r)))
                     for r in x])
    _close(g, want, rtol=1e-6, atol=1e-6)


def test_compiled_program_and_constants():
    x = _c(64)
    f = mx.compile(lambda z: mx.exp(z) * (0.5 - 2j) + mx.abs(z) + mx.array([1j] * 64))
    _close(f(mx.array(x)), np.exp(x) * np.complex64(0.5 - 2j) + np.abs(x) + 1j, rtol=1e-5)


def test_gpu_pipeline_refuses_complex_with_its_reason(monkeypatch):
    monkeypatch.setenv("MXIR_GPU_BACKEND", "metal-sim")
    old = mx.default_device()
    mx.set_default_device(mx.gpu)
    try:
        for fn in (lambda: mx.array([1j]) * 2, lambda: mx.real(mx.array([1j])),
                   lambda: mx.fft.rfft(mx.array([1.0, 2.0]))):
            with pytest.raises(NotImplementedError, match="no GPU lowering"):
                mx.eval(fn())
    finally:
        mx.set_default_device(old)
