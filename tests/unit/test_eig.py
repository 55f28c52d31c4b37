"""`mx.linalg.eig` / `eigvals` (LAPACK geev on A^T, as MLX): eigenpairs against MLX (its order
and vectors) and NumPy (as sets, and A v = lambda v), MLX's errors, batching and vmap, and the
eigenvalue derivatives (MLX has none) against finite
differences and each other (<jvp(t), ct> = <t, vjp(ct)>)."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

RNG = np.random.default_rng(3)


def _same_set(a, b, tol=1e-4):
    a, b = np.asarray(a).astype(np.complex128), np.asarray(b).astype(np.complex128)
    assert a.shape == b.shape
    if not a.size:
        return
    d = np.abs(a[:, None] - b[None, :])
    assert d.min(axis=1).max(initial=0) < tol * (1 + np.abs(a).max(initial=0))
    assert d.min(axis=0).max(initial=0) < tol * (1 + np.abs(a).max(initial=0))


@pytest.mark.parametrize("x", [
    RNG.standard_normal((4, 4)).astype(np.float32),
    RNG.standard_normal((2, 3, 3)).astype(np.float64),
    (RNG.standard_normal((5, 5)) + 1j * RNG.standard_normal((5, 5))).astype(np.complex64),
    np.array([[0.0, -1.0], [1.0, 0.0]], np.float32),
    np.zeros((0, 0), np.float32),
])
def test_eigenpairs_against_mlx_and_numpy(x):
    w, v = mx.linalg.eig(mx.array(x))
    mw, mv = mlx.linalg.eig(mlx.array(x), stream=mlx.cpu)
    assert w.dtype == mx.complex64 and v.dtype == mx.complex64
    assert w.shape == mw.shape and v.shape == mv.shape
    w, v, mw, mv = np.array(w), np.array(v), np.array(mw), np.array(mv)
    for i in np.ndindex(x.shape[:-2]):
        _same_set(w[i], mw[i])
        _same_set(w[i], np.linalg.eigvals(x[i]))
        a = x[i].astype(np.complex128)
        np.testing.assert_allclose(a @ v[i], v[i] * w[i][None, :], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(v[i], axis=0), 1, rtol=1e-5)
        # MLX's order (it runs geev on A^T, as mxir does) and its eigenvectors: for a real
        # matrix the same up to a sign per column (LAPACK builds differ); for a complex one
        # MLX returns the conjugates, which miss A v = lambda v (an MLX bug), so conj(MLX's)
        np.testing.assert_allclose(w[i], mw[i], rtol=1e-4, atol=1e-4)
        want = np.conj(mv[i]) if np.iscomplexobj(x) else mv[i]
        for j in range(len(w[i])):
            sign = 1 if np.abs(v[i][:, j] - want[:, j]).max() < 1e-3 else -1
            np.testing.assert_allclose(v[i][:, j], sign * want[:, j], atol=1e-4)
    np.testing.assert_allclose(np.array(mx.linalg.eigvals(mx.array(x))), w, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("call", [
    lambda L, **k: L.linalg.eigvals(L.ones((2, 3)), **k),
    lambda L, **k: L.linalg.eig(L.ones((3,)), **k),
    lambda L, **k: L.linalg.eig(L.ones((2, 2), L.int32), **k),
    lambda L, **k: L.linalg.eig(L.ones((2, 2), L.float16), **k),
    lambda L, **k: L.linalg.eig(L.ones((2, 2)), stream=L.gpu),
])
def test_errors_are_mlx(call):
    with pytest.raises(ValueError) as want:
        mlx.eval(call(mlx))
    with pytest.raises(ValueError) as got:
        mx.eval(call(mx))
    if "gpu" not in str(want.value):
        assert str(got.value) == str(want.value)


def test_vmap_matches_a_loop():
    x = RNG.standard_normal((3, 4, 4)).astype(np.float32)
    got = np.array(mx.vmap(mx.linalg.eigvals)(mx.array(x)))
    want = np.stack([np.array(mx.linalg.eigvals(mx.array(r))) for r in x])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_eigenvalue_derivatives_match_finite_differences(dtype):
    x = RNG.standard_normal((4, 4))
    if dtype == "complex64":
        x = x + 1j * RNG.standard_normal((4, 4))
    x = x.astype(dtype)

    def loss(a):  # a real function of the eigenvalues, symmetric in their order
        w = mx.linalg.eigvals(a)
        return mx.sum(mx.real(w) ** 3) + mx.sum(mx.abs(w) ** 2 * 0.5)

    def loss_np(a):
        w = np.linalg.eigvals(a)
        return np.sum(np.real(w) ** 3) + np.sum(np.abs(w) ** 2 * 0.5)

    got = np.array(mx.grad(loss)(mx.array(x)))
    h, x64 = 1e-6, x.astype(np.complex128 if dtype == "complex64" else np.float64)
    fd = np.zeros(x.shape, x64.dtype)
    for idx in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[idx] = h
        fd[idx] = (loss_np(x64 + e) - loss_np(x64 - e)) / (2 * h)
        if dtype == "complex64":
            fd[idx] += 1j * (loss_np(x64 + 1j * e) - loss_np(x64 - 1j * e)) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=2e-3, atol=2e-3)
    # jvp and vjp agree: Re<ct, jvp(t)> = Re<vjp(ct), t>
    t = RNG.standard_normal(x.shape).astype(dtype)
    ct = (RNG.standard_normal(4) + 1j * RNG.standard_normal(4)).astype(np.complex64)
    jt = np.array(mx.jvp(mx.linalg.eigvals, [mx.array(x)], [mx.array(t)])[1][0])
    vc = np.array(mx.vjp(mx.linalg.eigvals, [mx.array(x)], [mx.array(ct)])[1][0])
    np.testing.assert_allclose(np.vdot(ct, jt).real, np.vdot(vc, t).real, rtol=1e-3,
                               atol=1e-3)


def test_eig_vjp_through_eigenvalues_and_refusal_for_vectors():
    x = mx.array(RNG.standard_normal((3, 3)).astype(np.float32))
    g = mx.grad(lambda a: mx.sum(mx.real(mx.linalg.eig(a)[0])))(x)
    np.testing.assert_allclose(np.array(g), np.eye(3), atol=1e-4)  # d trace / dA = I
    with pytest.raises(ValueError, match="eigenvectors"):
        mx.eval(mx.grad(lambda a: mx.sum(mx.abs(mx.linalg.eig(a)[1])))(x))
