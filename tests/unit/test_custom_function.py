"""mx.custom_function: user rules used by every transform, fallbacks to the body where a rule
is absent, composition to depth, against MLX (a test-only oracle) and finite differences."""

import mxir
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")


def rules(mx):
    """A custom sin whose rules are recognisably not sin's derivative."""
    @mx.custom_function
    def f(x):
        return mx.sin(x)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return 10 * cotangent * mx.cos(primals)

    @f.jvp
    def f_jvp(primals, tangents):
        return 100 * tangents

    @f.vmap
    def f_vmap(inputs, axes):
        return 1000 * inputs, axes

    return f


def two(mx, with_rules=True):
    @mx.custom_function
    def g(x, y):
        return x * y, x + y

    if with_rules:
        @g.vjp
        def g_vjp(primals, cotangents, outputs):
            x, y = primals
            return cotangents[0] * 7 * y, cotangents[1] * 9

        @g.jvp
        def g_jvp(primals, tangents):
            return tangents[0] * 3, tangents[1] * 5

    return g


def captured(mx, with_rule):
    def h(x, y):
        @mx.custom_function
        def f(x):
            return x * y

        if with_rule:
            @f.vjp
            def f_vjp(x, dx, fx):
                return dx * 4
        return f(x)
    return h


def vec(mx):
    return mx.array([0.5, -1.0, 2.0])


CASES = {
    "call": lambda mx: rules(mx)(vec(mx)),
    "grad": lambda mx: mx.grad(lambda a: rules(mx)(a).sum())(vec(mx)),
    "vjp": lambda mx: mx.vjp(rules(mx), [vec(mx)], [mx.array([1.0, 2.0, 3.0])]),
    "jvp": lambda mx: mx.jvp(rules(mx), [vec(mx)], [mx.array([1.0, 2.0, 3.0])]),
    "vmap": lambda mx: mx.vmap(rules(mx))(vec(mx)),
    "grad_grad": lambda mx: mx.grad(mx.grad(rules(mx)))(mx.array(0.5)),
    "vmap_grad": lambda mx: mx.vmap(mx.grad(rules(mx)))(vec(mx)),
    "grad_vmap": lambda mx: mx.grad(lambda a: mx.vmap(rules(mx))(a).sum())(vec(mx)),
    "compile_grad": lambda mx: mx.compile(mx.grad(rules(mx)))(mx.array(0.5)),
    "grad_compile": lambda mx: mx.grad(mx.compile(rules(mx)))(mx.array(0.5)),
    "compile_vmap": lambda mx: mx.compile(mx.vmap(rules(mx)))(vec(mx)),
    "vmap_compile_grad": lambda mx: mx.vmap(mx.compile(mx.grad(rules(mx))))(vec(mx)),
    "two_vjp": lambda mx: mx.vjp(two(mx), [vec(mx), vec(mx) * 2], [vec(mx), vec(mx)]),
    "two_grad": lambda mx: mx.grad(lambda a, b: two(mx)(a, b)[0].sum(), argnums=(0, 1))(
        vec(mx), vec(mx) * 2),
    "two_jvp": lambda mx: mx.jvp(two(mx), [vec(mx), vec(mx)], [vec(mx), vec(mx) * 3]),
    "two_vmap_fallback": lambda mx: mx.vmap(two(mx))(vec(mx), vec(mx) * 2),
    "two_vmap_partial": lambda mx: mx.vmap(lambda a: two(mx)(a, mx.array(0.5)))(vec(mx)),
    "no_rules_grad": lambda mx: mx.grad(lambda a, b: two(mx, False)(a, b)[0].sum(),
                                        argnums=(0, 1))(vec(mx), vec(mx) * 2),
    "no_rules_jvp": lambda mx: mx.jvp(two(mx, False), [vec(mx), vec(mx)],
                                      [vec(mx), vec(mx) * 3]),
    "captured_rule_grad0": lambda mx: mx.grad(captured(mx, True))(mx.array(2.0),
                                                                  mx.array(3.0)),
    "captured_rule_grad1": lambda mx: mx.grad(captured(mx, True), argnums=1)(mx.array(2.0),
                                                                             mx.array(3.0)),
    "captured_body_grad1": lambda mx: mx.grad(captured(mx, False), argnums=1)(mx.array(2.0),
                                                                              mx.array(3.0)),
    "captured_body_jvp": lambda mx: mx.jvp(captured(mx, False), [mx.array(2.0), mx.array(3.0)],
                                           [mx.array(1.0), mx.array(1.0)]),
    "captured_vmap": lambda mx: mx.vmap(captured(mx, False))(vec(mx), vec(mx) * 2),
    "keyword_argument": lambda mx: mx.grad(lambda a: two(mx, False)(a, y=mx.array(3.0))[0])(
        mx.array(2.0)),
    "tree_argument": lambda mx: mx.grad(tree_custom(mx))({"a": mx.array(2.0),
                                                          "b": mx.array(3.0)}),
}


def tree_custom(mx):
    @mx.custom_function
    def t(d):
        return d["a"] * d["b"]

    @t.vjp
    def t_vjp(primals, cotangent, output):
        return ({"a": cotangent * 2, "b": cotangent * 3},)

    return t


@pytest.mark.parametrize("name", sorted(CASES))
def test_as_mlx(name):
    from test_transform_edges import check

    check(CASES[name])


def test_rule_that_raises_only_when_used():
    """MLX's documented example: a plain call and a gradient through captures only never call
    the rule; a gradient of the argument does."""
    for mx in (mlx, mxir):
        def g(x, y, mx=mx):
            @mx.custom_function
            def f(x):
                return x * y

            @f.vjp
            def f_vjp(x, dx, fx):
                raise ValueError("Abort!")

            return f(x)

        x, y = mx.array(2.0), mx.array(3.0)
        assert g(x, y).item() == 6.0
        assert mx.grad(g, argnums=1)(x, y).item() == 0.0
        with pytest.raises(ValueError, match="Abort!"):
            mx.grad(g)(x, y)


def test_fallback_matches_finite_differences():
    """Without rules the body is differentiated: vjp, jvp and second order agree with finite
    differences of the NumPy formula."""
    @mxir.custom_function
    def f(x):
        return mxir.exp(mxir.sin(x)) * x

    x = np.array([0.3, -0.7, 1.1])
    eps = 1e-5

    def ref(v):
        return np.exp(np.sin(v)) * v

    fd = (ref(x + eps) - ref(x - eps)) / (2 * eps)
    g = mxir.grad(lambda a: f(a).sum())(mxir.array(x.astype(np.float32)))
    np.testing.assert_allclose(np.array(g), fd, rtol=1e-4)
    _, (t,) = mxir.jvp(f, [mxir.array(x.astype(np.float32))], [mxir.ones(3)])
    np.testing.assert_allclose(np.array(t), fd, rtol=1e-4)
    d1 = mxir.grad(lambda a: f(a).sum())
    h = mxir.grad(lambda a: d1(a).sum())(mxir.array(x.astype(np.float32)))
    fd2 = (ref(x + 1e-3) - 2 * ref(x) + ref(x - 1e-3)) / 1e-6
    np.testing.assert_allclose(np.array(h), fd2, rtol=1e-2)


def test_ir_names_the_rules():
    f = rules(mxir)
    text = mxir.ir_of(mxir.grad(lambda a: f(a).sum()), mxir.array([1.0, 2.0]))
    assert '"mx.custom"' in text and "vjp = @" in text and "jvp = @" in text
    assert "primals = 1" in text


def test_rule_errors():
    @mxir.custom_function
    def f(x):
        return x * 2

    @f.vjp
    def f_vjp(p, c, o):
        return c, c

    with pytest.raises(ValueError, match=r"\[custom_function\] The vjp returned 2 arrays"):
        mxir.grad(f)(mxir.array(1.0))

    @f.vjp
    def f_vjp2(p, c, o):
        return mxir.ones((2,))

    with pytest.raises(ValueError, match=r"The vjp returned shape \(2\) where \(\) is"):
        mxir.grad(f)(mxir.array(1.0))
