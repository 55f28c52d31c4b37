"""grad / value_and_grad / vjp / jvp / vmap as MLX users call them, composed in several orders;
results against NumPy formulas and finite differences, errors as MLX raises them."""

import mxir as mx
import numpy as np
import pytest


def fd_grad(f, x, eps=1e-3):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def test_grad_of_composition_matches_finite_differences():
    def f(x):
        return mx.sum(mx.tanh(x) * mx.exp(-x * x) + mx.sin(x) ** 2)

    x = np.array([0.3, -1.2, 2.0], np.float32)
    got = np.array(mx.grad(f)(mx.array(x)))
    want = fd_grad(lambda v: np.sum(np.tanh(v) * np.exp(-v * v) + np.sin(v) ** 2), x)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("fn,derivs", [
    (mx.sin, [np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin]),
    (mx.exp, [np.exp] * 4),
])
def test_higher_order_to_depth_four(fn, derivs):
    x = mx.array(0.7)
    g = fn
    for d in derivs:
        g = mx.grad(g)
        np.testing.assert_allclose(g(x).item(), d(0.7), rtol=1e-5)


def test_tanh_third_derivative():
    g3 = mx.grad(mx.grad(mx.grad(mx.tanh)))
    t = np.tanh(0.4)
    np.testing.assert_allclose(g3(mx.array(0.4)).item(), -2 * (1 - t * t) * (1 - 3 * t * t),
                               rtol=1e-5)


def test_argnums_tuple_and_value_and_grad():
    def f(x, y):
        return mx.sum(x * y * y)

    x, y = mx.array([1.0, 2.0]), mx.array([3.0, 4.0])
    gx, gy = mx.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(np.array(gx), [9, 16])
    np.testing.assert_allclose(np.array(gy), [6, 16])
    assert isinstance(mx.grad(f, argnums=(0,))(x, y), mx.array)
    v, (a, b) = mx.value_and_grad(f, argnums=(0, 1))(x, y)
    assert v.item() == 41.0


def test_value_and_grad_with_aux_outputs():
    def f(x):
        return mx.sum(x * x), x + 1

    (v, aux), g = mx.value_and_grad(f)(mx.array([1.0, 2.0]))
    assert v.item() == 5.0
    assert aux.tolist() == [2.0, 3.0]
    assert g.tolist() == [2.0, 4.0]


def test_grad_of_value_and_grad():
    def f(x):
        v, g = mx.value_and_grad(lambda y: mx.sin(y) * y)(x)
        return v + g

    x = 0.5
    want = (np.cos(x) * x + np.sin(x)) + (-np.sin(x) * x + 2 * np.cos(x))
    np.testing.assert_allclose(mx.grad(f)(mx.array(x)).item(), want, rtol=1e-5)


def test_nested_dict_and_list_trees_keep_structure():
    params = {"a": [mx.array(1.0), mx.array(2.0)], "b": {"c": mx.array(3.0)}}

    def f(p):
        return p["a"][0] * p["a"][1] * p["b"]["c"]

    g = mx.grad(f)(params)
    assert g["a"][0].item() == 6.0 and g["a"][1].item() == 3.0 and g["b"]["c"].item() == 2.0


def test_registered_tree_nodes():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    from mxir.tree import register_tree_node

    register_tree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, cs: Pair(*cs))
    g = mx.grad(lambda p: p.a * p.b)(Pair(mx.array(2.0), mx.array(5.0)))
    assert isinstance(g, Pair) and g.a.item() == 5.0 and g.b.item() == 2.0


def test_keyword_arguments_with_argnames():
    def f(x, *, scale):
        return mx.sum(x * scale)

    (gx, kw) = mx.grad(f, argnums=0, argnames="scale")(mx.array([1.0, 2.0]), scale=mx.array(3.0))
    assert gx.tolist() == [3.0, 3.0] and kw["scale"].item() == 3.0


def test_stop_gradient_blocks():
    g = mx.grad(lambda x: x * mx.stop_gradient(x))(mx.array(3.0))
    assert g.item() == 3.0


def test_data_dependent_control_flow():
    def f(x):
        return mx.sin(x) if (x > 0).item() else mx.cos(x)

    assert np.isclose(mx.grad(f)(mx.array(1.0)).item(), np.cos(1.0))
    assert np.isclose(mx.grad(f)(mx.array(-1.0)).item(), np.sin(1.0))


def test_integer_input_is_differentiated_in_its_dtype_as_mlx():
    g = mx.grad(lambda x: mx.sum(x * 2))(mx.array([1, 2]))
    assert g.dtype == mx.int32 and g.tolist() == [2, 2]
    # through a float conversion the cotangent is cast back: int(cos(3)) == 0
    assert mx.grad(lambda x: mx.sum(mx.sin(x)))(mx.array([3])).tolist() == [0]
    assert mx.grad(mx.exp)(mx.array(3)).item() == 20
    _, (t,) = mx.jvp(mx.sum, (mx.arange(4),), (mx.array([3, 2, 1, 0]),))
    assert t.dtype == mx.int32 and t.item() == 6
    g = mx.grad(lambda x: mx.sum(mx.where(x, 1.0, 2.0)))(mx.array([True]))
    assert g.dtype == mx.bool_ and g.tolist() == [False]  # bools carry no derivative


def test_same_array_for_two_arguments_gets_separate_gradients():
    x = mx.array(3.0)
    gx, gy = mx.grad(lambda a, b: a * a * b, argnums=(0, 1))(x, x)
    assert gx.item() == 18.0 and gy.item() == 9.0


def test_vjp_and_jvp_agree_by_the_dot_product_identity():
    def f(x, y):
        return [mx.sin(x) * y, mx.sum(x * y)]

    rng = np.random.default_rng(0)
    x, y = (mx.array(rng.normal(size=3).astype(np.float32)) for _ in range(2))
    u = [mx.array(rng.normal(size=3).astype(np.float32)), mx.array(1.5)]
    v = [mx.array(rng.normal(size=3).astype(np.float32)) for _ in range(2)]
    _, jv = mx.jvp(f, [x, y], v)
    _, vj = mx.vjp(f, [x, y], u)
    lhs = sum(float(np.sum(np.array(a) * np.array(b))) for a, b in zip(jv, u))
    rhs = sum(float(np.sum(np.array(a) * np.array(b))) for a, b in zip(v, vj))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


def test_hessian_vector_product_by_jvp_of_grad():
    def f(x):
        return mx.sum(x ** 3)

    x = mx.array([1.0, 2.0])
    _, (hv,) = mx.jvp(mx.grad(f), [x], [mx.array([1.0, 0.0])])
    assert hv.tolist() == [6.0, 0.0]


def test_vmap_of_grad_and_grad_of_vmap():
    x = mx.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(np.array(mx.vmap(mx.grad(mx.sin))(x)), np.cos([0, 1, 2]),
                               rtol=1e-6)
    g = mx.grad(lambda v: mx.sum(mx.vmap(mx.sin)(v)))(x)
    np.testing.assert_allclose(np.array(g), np.cos([0, 1, 2]), rtol=1e-6)


def test_vmap_in_axes_out_axes_and_none():
    x = mx.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = mx.array(np.array([2.0, 3.0], np.float32))
    r = mx.vmap(lambda a, b: a * b + 1, in_axes=(1, None), out_axes=1)(x, y)
    np.testing.assert_array_equal(np.array(r), np.array(x) * np.array(y)[:, None] + 1)
    r2 = mx.vmap(mx.vmap(lambda a: a * 2))(x)
    np.testing.assert_array_equal(np.array(r2), np.array(x) * 2)


def test_per_example_gradients():
    w = mx.array(np.array([0.5, -1.0], np.float32))
    xs = mx.array(np.arange(6, dtype=np.float32).reshape(3, 2))
    ys = mx.array(np.array([1.0, 2.0, 3.0], np.float32))

    def loss(w, x, y):
        return mx.square(mx.sum(x * w) - y)

    g = mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    X, W, Y = np.array(xs), np.array(w), np.array(ys)
    want = 2 * ((X @ W) - Y)[:, None] * X
    np.testing.assert_allclose(np.array(g), want, rtol=1e-6)


# -- MLX's errors (MLX_FACTS.md) --------------------------------------------------------------
def test_grad_of_non_scalar_output():
    with pytest.raises(ValueError, match=r"\[vjp\] Output shape \(2\) does not match cotangent"):
        mx.grad(lambda x: x * 2)(mx.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="If you are using grad your function must return a sc"):
        mx.grad(lambda x: x * 2)(mx.array([1.0]))


def test_grad_argnums_out_of_range():
    with pytest.raises(ValueError, match=r"\[grad\] Can't compute the gradient of argument index "
                       r"1 because the function is called with only 1 positional arguments."):
        mx.grad(mx.sin, argnums=1)(mx.array(1.0))


def test_grad_of_python_float_argument():
    with pytest.raises(ValueError, match=r"\[tree_flatten\] The argument should contain only "
                       "arrays"):
        mx.grad(lambda x: x * 2)(1.0)


def test_vmap_errors():
    with pytest.raises(ValueError, match=r"\[vmap\] Inconsistent axis sizes: 3 and 4."):
        mx.vmap(lambda a, b: a + b)(mx.zeros(3), mx.zeros(4))
    with pytest.raises(IndexError, match=r"\[vmap\] Invalid vectorization axis 1 for array with "
                       r"shape \(3\)"):
        mx.vmap(lambda a: a, in_axes=1)(mx.zeros(3))
    with pytest.raises(IndexError, match=r"Invalid vectorization axis 0 for array with shape \(\)"):
        mx.vmap(lambda a: a)(mx.array(1.0))
    with pytest.raises(ValueError):
        mx.vmap(lambda a: a.item())(mx.zeros(3))
