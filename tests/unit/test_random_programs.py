"""Property tests on random programs (DAGs of 1-30 ops with broadcasting and reductions):
grad against central finite differences, and jvp against vjp by <J v, u> = <v, J^T u>."""

import mxir as mx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

UNARY = [mx.sin, mx.cos, mx.tanh, mx.sigmoid, mx.square, lambda a: mx.exp(a * 0.3),
         lambda a: mx.log1p(mx.square(a)), mx.arctan, mx.negative]
BINARY = [mx.add, mx.subtract, mx.multiply, lambda a, b: a / (1.5 + mx.square(b)),
          mx.logaddexp]
SHAPES = [(3,), (2, 3), (1, 3), (2, 1)]


@st.composite
def programs(draw):
    n = draw(st.integers(1, 30))
    steps = []
    for i in range(n):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce"]))
        a = draw(st.integers(0, i + 1))  # indices into values so far (2 inputs, then steps)
        b = draw(st.integers(0, i + 1))
        if kind == "unary":
            steps.append(("unary", draw(st.integers(0, len(UNARY) - 1)), a))
        elif kind == "binary":
            steps.append(("binary", draw(st.integers(0, len(BINARY) - 1)), a, b))
        else:
            steps.append(("reduce", draw(st.booleans()), a))
    shapes = (draw(st.sampled_from(SHAPES)), draw(st.sampled_from(SHAPES)))
    return steps, shapes


def build(steps):
    def f(x, y):
        values = [x, y]
        for step in steps:
            if step[0] == "unary":
                values.append(UNARY[step[1]](values[step[2]]))
            elif step[0] == "binary":
                a, b = values[step[2]], values[step[3]]
                try:
                    np.broadcast_shapes(a.shape, b.shape)
                except ValueError:  # keep programs well-typed: combine with a reduced b
                    b = mx.sum(b)
                values.append(BINARY[step[1]](a, b))
            else:
                v = values[step[2]]
                values.append(mx.mean(v, axis=-1, keepdims=step[1]) if v.ndim else v)
        return mx.sum(values[-1] * values[-1]) + mx.sum(values[-1])

    return f


def inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, s) for s in shapes]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16))
def test_grad_matches_finite_differences(program, seed):
    steps, shapes = program
    f = build(steps)
    xs = inputs(shapes, seed)
    args = [mx.array(x, dtype=mx.float64) for x in xs]
    gx, gy = mx.grad(f, argnums=(0, 1))(*args)
    eps = 1e-6
    for k, g in enumerate((gx, gy)):
        fd = np.zeros_like(xs[k])
        for i in np.ndindex(xs[k].shape):
            d = np.zeros_like(xs[k])
            d[i] = eps
            hi = [mx.array(x + d if j == k else x, dtype=mx.float64) for j, x in enumerate(xs)]
            lo = [mx.array(x - d if j == k else x, dtype=mx.float64) for j, x in enumerate(xs)]
            fd[i] = (f(*hi).item() - f(*lo).item()) / (2 * eps)
        np.testing.assert_allclose(np.array(g), fd, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16))
def test_jvp_and_vjp_satisfy_the_dot_product_identity(program, seed):
    steps, shapes = program
    f = build(steps)
    rng = np.random.default_rng(seed)
    xs = [mx.array(x, dtype=mx.float64) for x in inputs(shapes, seed)]
    vs = [mx.array(rng.normal(size=s), dtype=mx.float64) for s in shapes]
    u = mx.array(rng.normal(), dtype=mx.float64)
    (_,), (jv,) = mx.jvp(f, xs, vs)
    _, vj = mx.vjp(f, xs, [u])
    lhs = jv.item() * u.item()
    rhs = sum(float(np.sum(np.array(a) * np.array(b))) for a, b in zip(vs, vj))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)
