"""mx.linalg: the LAPACK-backed ops compiled against their NumPy references, the functions
against MLX on generated cases (values, dtypes, shapes, errors), gradients against finite
differences in float64 (vjp and jvp), vmap against a Python loop, and the GPU refusal."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from harness import compiled_and_reference, context
from mlir import ir
from mxir.dialect import MxError, TensorType
from mxir.passes import run_pipeline

RNG = np.random.default_rng(7)


def _spd(shape, dtype=np.float64):
    a = RNG.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _tri(shape, dtype=np.float64):
    return (RNG.standard_normal(shape) + 3 * np.eye(shape[-1])).astype(dtype)


def _gen(shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# (op, attrs, input maker, shapes); eigen/singular vectors are compared up to sign
OPS = [("inv", {}, _gen, [(3, 3), (2, 4, 4)]),
       ("tri_inv", {"upper": True}, _tri, [(3, 3), (2, 2, 2)]),
       ("tri_inv", {"upper": False}, _tri, [(4, 4)]),
       ("cholesky", {"upper": False}, _spd, [(3, 3), (2, 4, 4)]),
       ("cholesky", {"upper": True}, _spd, [(3, 3)]),
       ("eigh", {"upper": False}, _gen, [(3, 3), (2, 4, 4)]),
       ("svdvals", {}, _gen, [(3, 3), (2, 4, 3), (3, 5)]),
       ("svd", {}, _gen, [(3, 3), (2, 4, 3), (3, 5)]),
       ("qr", {}, _gen, [(3, 3), (2, 4, 3), (3, 5)]),
       ("lu", {}, _gen, [(3, 3), (2, 4, 3), (3, 5)])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,attrs,make,shapes", OPS,
                         ids=[f"{o[0]}{o[1]}" for o in OPS])
def test_lapack_ops_compiled_match_reference(name, attrs, make, shapes, dtype):
    tol = 2e-5 if dtype == "float32" else 1e-11
    for shape in shapes:
        x = make(shape, dtype)
        got, ref, _ = compiled_and_reference(name, [x], [TensorType(shape, dtype)], **attrs)
        for g, r in zip(got, ref):
            g, r = np.asarray(g, np.float64), np.asarray(r, np.float64)
            if name in ("eigh", "svd"):
                g, r = np.abs(g), np.abs(r)
            np.testing.assert_allclose(g, r, rtol=tol, atol=tol)


def test_failed_factorization_is_nan_not_garbage():
    for name, x in (("inv", np.zeros((3, 3), np.float32)),
                    ("cholesky", -np.eye(3, dtype=np.float32))):
        got, _, _ = compiled_and_reference(name, [x], [TensorType((3, 3), "float32")],
                                           **({"upper": False} if name == "cholesky" else {}))
        assert np.isnan(got[0]).all()


def test_gpu_pipeline_refuses_lapack_ops_at_the_op():
    text = ('func.func @main(%a: tensor<3x3xf32>) -> tensor<3x3xf32> {\n'
            '  %0 = "mx.inv"(%a) : (tensor<3x3xf32>) -> tensor<3x3xf32> loc("the_inv")\n'
            '  return %0 : tensor<3x3xf32>\n}')
    with context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(MxError) as info:
            run_pipeline(module, ["mx-to-gpu"])
    assert "CPU only" in info.value.message and "the_inv" in str(info.value.location)


def test_linalg_refuses_the_gpu_as_mlx():
    mx.set_default_device(mx.gpu) if mx.is_available(mx.gpu) else None
    try:
        with pytest.raises(ValueError, match="not yet supported on the GPU"):
            mx.linalg.inv(mx.eye(2), stream=mx.gpu)
    finally:
        mx.set_default_device(mx.cpu)


# -- gradients: each function of one float64 matrix, as used by users ------------------------
def _sym(a):
    return (a + mx.swapaxes(a, -1, -2)) / 2


GRADS = [
    ("inv", lambda a: mx.linalg.inv(a), _gen((3, 3))),
    ("tri_inv", lambda a: mx.linalg.tri_inv(a, upper=True), _tri((3, 3))),
    ("cholesky", lambda a: mx.linalg.cholesky(a), _spd((3, 3))),
    ("cholesky upper", lambda a: mx.linalg.cholesky(a, upper=True), _spd((3, 3))),
    ("eigvalsh", lambda a: mx.linalg.eigvalsh(a), _gen((3, 3))),
    ("eigh vectors", lambda a: mx.linalg.eigh(a, UPLO="U")[1] ** 2, _gen((3, 3))),
    ("svdvals", lambda a: mx.linalg.svd(a, compute_uv=False), _gen((4, 3))),
    ("svd square", lambda a: [x ** 2 for x in mx.linalg.svd(a)], _gen((3, 3))),
    ("qr", lambda a: mx.linalg.qr(a), _gen((4, 3))),
    ("lu_factor", lambda a: mx.linalg.lu_factor(a)[0], _gen((3, 3))),
    ("det", lambda a: mx.linalg.det(a), _gen((3, 3))),
    ("slogdet", lambda a: mx.linalg.slogdet(a)[1], _gen((3, 3))),
    ("solve", lambda a: mx.linalg.solve(a, mx.array([1.0, -2.0, 0.5], mx.float64)),
     _gen((3, 3))),
    ("pinv", lambda a: mx.linalg.pinv(a), _gen((4, 3))),
    ("cholesky_inv", lambda a: mx.linalg.cholesky_inv(mx.linalg.cholesky(a)), _spd((3, 3))),
    ("norm nuc", lambda a: mx.linalg.norm(a, "nuc"), _gen((3, 4))),
    ("cross", lambda a: mx.linalg.cross(a[0], a[1]), _gen((2, 3))),
]


def _f64(x):
    return mx.array(x, dtype=mx.float64)  # (mx.array of float64 NumPy data is float32, as MLX)


def _flat_outputs(f, a):
    out = f(a)
    return out if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name,f,x", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_match_finite_differences(name, f, x):
    outs = _flat_outputs(f, _f64(x))
    cts = [RNG.standard_normal(o.shape) for o in outs]

    def loss(a):
        return sum(mx.sum(o * _f64(c)) for o, c in zip(_flat_outputs(f, a), cts))

    g = np.array(mx.grad(loss)(_f64(x)))
    fd = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        fd[i] = (loss(_f64(x + e)).item() - loss(_f64(x - e)).item()) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)
    # forward mode agrees with reverse mode: <jvp(t), ct> == <t, vjp(ct)>
    t = RNG.standard_normal(x.shape)
    _, tans = mx.jvp(lambda a: _flat_outputs(f, a), [_f64(x)], [_f64(t)])
    lhs = sum(float(np.sum(np.array(tn) * c)) for tn, c in zip(tans, cts))
    np.testing.assert_allclose(lhs, float(np.sum(g * t)), rtol=1e-6, atol=1e-8)


def test_non_square_svd_vectors_refuse_derivatives():
    with pytest.raises(ValueError, match="square"):
        mx.eval(mx.grad(lambda a: mx.sum(mx.linalg.svd(a)[0]))(mx.array(_gen((4, 3)))))


@pytest.mark.parametrize("name,f,x", GRADS[:12], ids=[g[0] for g in GRADS[:12]])
def test_vmap_matches_loop(name, f, x):
    xs = np.stack([x, x + 0.1 * RNG.standard_normal(x.shape)])
    got = _flat_outputs(mx.vmap(f), _f64(xs))
    for i in range(2):
        want = _flat_outputs(f, _f64(xs[i]))
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.array(g)[i], np.array(w), rtol=1e-9, atol=1e-10)


# -- against MLX ----------------------------------------------------------------------------
mlx = pytest.importorskip("mlx.core")


def _first(a):
    """The first matrix of a batch."""
    return a.reshape(-1, *a.shape[-2:])[0]


def _mlx_cases():
    """(name, f(m, *arrays), arrays, compare up to sign) on random shapes (batches too)."""
    rng = np.random.default_rng(3)
    cases = []
    for _ in range(2):
        n = int(rng.integers(1, 5))
        lead = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 2))))
        m = int(rng.integers(1, 6))
        a = rng.standard_normal((*lead, n, n)).astype(np.float32)
        r = rng.standard_normal((*lead, m, n)).astype(np.float32)
        s = (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        upper = bool(rng.integers(2))
        cases += [
            ("inv", lambda m_, a: m_.linalg.inv(a), [a], False),
            ("tri_inv", lambda m_, a, u=upper: m_.linalg.tri_inv(a + 3 * m_.eye(a.shape[-1]),
                                                                 upper=u), [a], False),
            ("cholesky", lambda m_, s, u=upper: m_.linalg.cholesky(s, upper=u), [s], False),
            ("cholesky_inv", lambda m_, s: m_.linalg.cholesky_inv(m_.linalg.cholesky(s)), [s],
             False),
            ("eigh", lambda m_, s: m_.linalg.eigh(s), [s], True),
            ("eigvalsh", lambda m_, a, u=upper: m_.linalg.eigvalsh(a, UPLO="U" if u else "L"),
             [a], False),
            ("svd", lambda m_, r: m_.linalg.svd(r), [r], True),
            ("svdvals", lambda m_, r: m_.linalg.svd(r, compute_uv=False), [r], False),
            ("qr", lambda m_, r: m_.linalg.qr(r), [r], True),
            ("lu", lambda m_, r: m_.linalg.lu(_first(r)), [r], False),
            ("lu_factor", lambda m_, r: m_.linalg.lu_factor(_first(r)), [r], False),
            ("det", lambda m_, a: m_.linalg.det(a), [a], False),
            ("slogdet", lambda m_, a: m_.linalg.slogdet(a), [a], False),
            ("solve", lambda m_, a, b: m_.linalg.solve(_first(a), b), [a, b], False),
            ("solve_triangular", lambda m_, a, b, u=upper: m_.linalg.solve_triangular(
                _first(a) + 3 * m_.eye(a.shape[-1]), b, upper=u), [a, b], False),
            ("pinv", lambda m_, r: m_.linalg.pinv(r), [r], False),
            ("norm", lambda m_, r: m_.linalg.norm(r), [r], False),
        ]
        for ord_ in (None, 1, -1, 2, 3, 0, float("inf"), -float("inf")):
            cases.append((f"vector norm {ord_}", lambda m_, r, o=ord_: m_.linalg.norm(
                r, o, axis=-1, keepdims=True), [r], False))
        for ord_ in ("fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")):
            cases.append((f"matrix norm {ord_}", lambda m_, r, o=ord_: m_.linalg.norm(
                r, o, axis=(-1, -2)), [r], False))
        v3 = rng.standard_normal((2, 3)).astype(np.float32)
        cases.append(("cross", lambda m_, v: m_.linalg.cross(v[0], v[1]), [v3], False))
    return cases


CASES = _mlx_cases()


@pytest.mark.parametrize("name,f,xs,up_to_sign", CASES, ids=[c[0] for c in CASES])
def test_matches_mlx(name, f, xs, up_to_sign):
    want = f(mlx, *[mlx.array(x) for x in xs])
    got = f(mx, *[mx.array(x) for x in xs])
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and g.dtype.name == str(w.dtype).split(".")[-1]
        g, w = np.array(g).astype(np.float64), np.array(w).astype(np.float64)
        if up_to_sign:
            g, w = np.abs(g), np.abs(w)
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)


ERRORS = [
    lambda m: m.linalg.inv(m.ones((2, 3))),
    lambda m: m.linalg.inv(m.ones((3,))),
    lambda m: m.linalg.inv(m.ones((2, 2), dtype=m.int32)),
    lambda m: m.linalg.inv(m.ones((2, 2), dtype=m.float16)),
    lambda m: m.linalg.cholesky(m.ones((2, 3))),
    lambda m: m.linalg.qr(m.ones((3,))),
    lambda m: m.linalg.svd(m.ones((3, 3), dtype=m.int32)),
    lambda m: m.linalg.eigvalsh(m.ones((2, 3))),
    lambda m: m.linalg.solve(m.ones((2, 3)), m.ones((2,))),
    lambda m: m.linalg.solve(m.eye(3), m.ones((2,))),
    lambda m: m.linalg.norm(m.ones((3,)), "fro"),
    lambda m: m.linalg.norm(m.ones((2, 2)), 3),
    lambda m: m.linalg.norm(m.ones((2, 2, 2)), 2),
    lambda m: m.linalg.cross(m.ones((4,)), m.ones((4,))),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_as_mlx(i):
    with pytest.raises(Exception) as want:
        ERRORS[i](mlx)
    with pytest.raises(Exception) as got:
        ERRORS[i](mx)
    assert got.type is want.type
    assert str(got.value) == str(want.value)
