"""Transforms composed in every order the issue names, each on ten functions, in float64:
vmap(grad), grad(vmap), jvp(grad), vmap(vmap), vmap(jvp), grad(vmap(grad)), and compile of
each — against loops of the plain transform and central finite differences."""

import mxir as mx
import numpy as np
import pytest

FUNCTIONS = {
    "sin_sum": lambda x: mx.sum(mx.sin(x)),
    "poly": lambda x: mx.sum(x ** 3 - 2 * x * x + x),
    "exp_tanh": lambda x: mx.sum(mx.exp(mx.tanh(x))),
    "logsumexp": lambda x: mx.logsumexp(x),
    "norm": lambda x: mx.sqrt(mx.sum(x * x) + 1.0),
    "softmax_dot": lambda x: mx.sum(mx.softmax(x) * x),
    "max_mix": lambda x: mx.max(x * mx.array([1.0, 2.0, 3.0], dtype=mx.float64)) + mx.sum(x),
    "outer": lambda x: mx.sum(mx.outer(x, mx.cos(x))),
    "slice_mul": lambda x: mx.sum(x[1:] * x[:-1]),
    "sigmoid_prod": lambda x: mx.prod(mx.sigmoid(x) + 0.5),
}
RNG = np.random.default_rng(0)
XS = RNG.uniform(-1.0, 1.0, (4, 3))


def arr(x):
    return mx.array(np.asarray(x), dtype=mx.float64)


def grad_loop(f, xs):
    return np.stack([np.array(mx.grad(f)(arr(x))) for x in xs])


def fd(fn, x, v, eps=1e-6):
    return (np.array(fn(arr(x + eps * v))) - np.array(fn(arr(x - eps * v)))) / (2 * eps)


def maybe_compiled(fn, compiled):
    return mx.compile(fn) if compiled else fn


@pytest.fixture(params=[False, True], ids=["plain", "compiled"])
def compiled(request):
    return request.param


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vmap_of_grad(name, compiled):
    f = FUNCTIONS[name]
    got = maybe_compiled(mx.vmap(mx.grad(f)), compiled)(arr(XS))
    np.testing.assert_allclose(np.array(got), grad_loop(f, XS), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_grad_of_vmap(name, compiled):
    f = FUNCTIONS[name]
    got = maybe_compiled(mx.grad(lambda X: mx.sum(mx.vmap(f)(X))), compiled)(arr(XS))
    np.testing.assert_allclose(np.array(got), grad_loop(f, XS), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_jvp_of_grad_is_a_hessian_vector_product(name, compiled):
    f = FUNCTIONS[name]
    x, v = XS[0], RNG.normal(size=3)
    hvp = maybe_compiled(lambda x, v: mx.jvp(mx.grad(f), [x], [v])[1][0], compiled)
    got = hvp(arr(x), arr(v))
    np.testing.assert_allclose(np.array(got), fd(mx.grad(f), x, v), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vmap_of_jvp(name, compiled):
    f = FUNCTIONS[name]
    vs = RNG.normal(size=XS.shape)
    push = maybe_compiled(mx.vmap(lambda x, v: mx.jvp(f, [x], [v])[1][0]), compiled)
    got = np.array(push(arr(XS), arr(vs)))
    want = [mx.jvp(f, [arr(x)], [arr(v)])[1][0].item() for x, v in zip(XS, vs)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, [fd(f, x, v) for x, v in zip(XS, vs)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_grad_of_vmap_of_grad(name, compiled):
    f = FUNCTIONS[name]

    def energy(X):
        return mx.sum(mx.vmap(mx.grad(f))(X) ** 2)

    got = np.array(maybe_compiled(mx.grad(energy), compiled)(arr(XS)))
    v = RNG.normal(size=XS.shape)
    directional = np.sum(got * v)
    np.testing.assert_allclose(directional, fd(energy, XS, v), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vmap_of_vmap(name, compiled):
    f = FUNCTIONS[name]
    batch = RNG.uniform(-1, 1, (2, 4, 3))
    got = np.array(maybe_compiled(mx.vmap(mx.vmap(f)), compiled)(arr(batch)))
    want = np.array([[f(arr(x)).item() for x in row] for row in batch])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the inner map over axis 1 of each (3, 4) slice
    inner_axis = np.array(mx.vmap(mx.vmap(f, in_axes=1))(arr(batch.transpose(0, 2, 1))))
    np.testing.assert_allclose(inner_axis, want, rtol=1e-12)


def test_jacobians_and_hessian():
    f = FUNCTIONS["exp_tanh"]
    x = XS[1]
    jr = np.array(mx.jacrev(mx.grad(f))(arr(x)))
    jf = np.array(mx.jacfwd(mx.grad(f))(arr(x)))
    h = np.array(mx.hessian(f)(arr(x)))
    cols = np.stack([fd(mx.grad(f), x, e) for e in np.eye(3)], axis=1)
    for m in (jr, jf, h):
        np.testing.assert_allclose(m, cols, rtol=1e-5, atol=1e-6)
    vector_fn = lambda v: mx.sin(v) * mx.sum(v)  # noqa: E731
    J = np.array(mx.jacrev(vector_fn)(arr(x)))
    np.testing.assert_allclose(J, np.array(mx.jacfwd(vector_fn)(arr(x))), rtol=1e-12)
    assert J.shape == (3, 3)
