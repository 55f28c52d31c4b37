"""mx.compile: the positional-array fast path, the direct call of a traced callee on evaluated
arrays, the general path (keywords, constants, captures), implicit inputs/outputs (MLX's docs
examples, random state, training steps) and shapeless compilation, each against the uncompiled
function or NumPy."""

import sys

import mxir as mx
import numpy as np
import pytest


def _f(x, y):
    return mx.sin(x) * y + mx.exp(-x * x)


def _inputs(shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return (mx.array(rng.standard_normal(shape).astype(np.float32)),
            mx.array(rng.standard_normal(shape).astype(np.float32)))


def test_compiled_equals_uncompiled_and_traces_once():
    calls = []

    def f(x, y):
        calls.append(1)
        return _f(x, y)

    cf = mx.compile(f)
    x, y = _inputs()
    for _ in range(3):
        np.testing.assert_allclose(np.array(cf(x, y)), np.array(_f(x, y)), rtol=1e-6)
    assert len(calls) == 1


def test_new_shape_or_dtype_retraces():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2

    cf = mx.compile(f)
    np.testing.assert_array_equal(np.array(cf(mx.array([1.0, 2.0]))), [2.0, 4.0])
    np.testing.assert_array_equal(np.array(cf(mx.array([1.0, 2.0, 3.0]))), [2.0, 4.0, 6.0])
    assert cf(mx.array([1, 2])).dtype == mx.int32
    np.testing.assert_array_equal(np.array(cf(mx.array([1.0, 2.0]))), [2.0, 4.0])
    assert len(calls) == 3


def test_a_new_tree_structure_retraces():
    """The trace cache keys the arguments' and the state's structure: a list is not a tuple,
    a key 1 is not True, a namedtuple is not a tuple, a new key is a new structure; a dict
    subclass (nn.Module) keys as the dict it is rebuilt as."""
    from collections import namedtuple

    class Sub(dict):
        pass

    calls = []

    def f(tree):
        calls.append(1)
        return tree

    cf = mx.compile(f)
    a = mx.array([1.0])
    trees = [[a, a], (a, a), {1: a}, {True: a}, namedtuple("Pair", "a b")(a, a), {"k": a},
             Sub(k=a), {"k": a, "j": a}]
    for _ in range(2):
        for t in trees:
            assert type(cf(t)) is (dict if isinstance(t, dict) else type(t))
    assert len(calls) == 7  # Sub(k=a) reuses {"k": a}'s trace
    state = {"w": mx.array([1.0])}
    step = mx.compile(lambda: state.update(w=state["w"] + 1), inputs=state, outputs=state)
    step()
    state["b"] = mx.array([0.0])  # a new entry of the state: traced again
    step()
    assert np.array(state["w"]).item() == 3.0 and np.array(state["b"]).item() == 0.0


def test_same_array_twice_and_pytree_outputs():
    def f(x, y):
        return {"sum": x + y, "parts": (x, y * 3)}

    cf = mx.compile(f)
    x, _ = _inputs()
    out = cf(x, x)
    np.testing.assert_allclose(np.array(out["sum"]), 2 * np.array(x))
    np.testing.assert_allclose(np.array(out["parts"][0]), np.array(x))
    np.testing.assert_allclose(np.array(out["parts"][1]), 3 * np.array(x), rtol=1e-6)


def test_evaluating_one_output_of_a_call_gives_all_right_values():
    cf = mx.compile(lambda x: (x + 1, x * 2))
    x = mx.array([1.0, 2.0])
    a, b = cf(x)
    np.testing.assert_array_equal(np.array(b), [2.0, 4.0])
    np.testing.assert_array_equal(np.array(a), [2.0, 3.0])


def test_keywords_and_python_constants_key_the_trace():
    calls = []

    def f(x, scale=1.0, *, shift):
        calls.append(1)
        return x * scale + shift

    cf = mx.compile(f)
    x = mx.array([1.0, 2.0])
    shift = mx.array(0.5)
    np.testing.assert_array_equal(np.array(cf(x, 2.0, shift=shift)), [2.5, 4.5])
    np.testing.assert_array_equal(np.array(cf(x, 3.0, shift=shift)), [3.5, 6.5])
    np.testing.assert_array_equal(np.array(cf(x, 2.0, shift=shift)), [2.5, 4.5])
    assert len(calls) == 2


def test_captured_arrays_evaluated_or_lazy():
    w = mx.array([10.0, 20.0])
    lazy = mx.array([1.0, 1.0]) * 5  # not evaluated when the function is traced

    def f(x):
        return x * w + lazy

    cf = mx.compile(f)
    x = mx.array([1.0, 2.0])
    first = cf(x)  # the capture is lazy: the general path evaluates it
    np.testing.assert_array_equal(np.array(first), [15.0, 45.0])
    mx.eval(lazy)
    np.testing.assert_array_equal(np.array(cf(x)), [15.0, 45.0])  # the direct call
    np.testing.assert_array_equal(np.array(cf(mx.array([0.0, 1.0]))), [5.0, 25.0])


def test_call_on_lazy_inputs_and_inside_transforms():
    cf = mx.compile(lambda x: mx.sin(x) * x)
    x = mx.array([0.3, -1.2])
    lazy = x * 2
    np.testing.assert_allclose(np.array(cf(lazy)), np.sin(2 * np.array(x)) * 2 * np.array(x),
                               rtol=1e-6)
    g = mx.grad(lambda v: mx.sum(cf(v)))(x)
    xv = np.array(x)
    np.testing.assert_allclose(np.array(g), np.cos(xv) * xv + np.sin(xv), rtol=1e-5)
    per_row = mx.vmap(cf)(mx.array([[0.1, 0.2], [0.3, 0.4]]))
    np.testing.assert_allclose(np.array(per_row), np.sin([[0.1, 0.2], [0.3, 0.4]])
                               * np.array([[0.1, 0.2], [0.3, 0.4]]), rtol=1e-6)


def test_compiled_grad_of_grad_matches_closed_form():
    cg = mx.compile(mx.grad(mx.grad(mx.sin)))
    for v in (0.5, 1.5, -2.0):
        assert cg(mx.array(v)).item() == pytest.approx(-np.sin(v), rel=1e-6)


def test_non_array_outputs_are_constants_of_the_trace():
    """As MLX: returned as the trace left them."""
    assert mx.compile(lambda x: 3)(mx.array(1.0)) == 3
    out = mx.compile(lambda x: (x * 2, "s", None))(mx.array(1.0))
    assert out[0].item() == 2.0 and out[1:] == ("s", None)


def test_disable_compile_runs_eagerly():
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    cf = mx.compile(f)
    x = mx.array([1.0])
    try:
        mx.disable_compile()
        cf(x)
        cf(x)
    finally:
        mx.enable_compile()
    assert len(calls) == 2 and sys.modules["mxir.compile"]._enabled


# -- implicit inputs and outputs (MLX's "Pure Functions" and "Compiling Training Graphs") --------
def test_captured_arrays_are_constants_unless_given_as_inputs():
    state = [mx.array(1.0)]
    const = mx.compile(lambda x: x + state[0])
    implicit = mx.compile(lambda x: x + state[0], inputs=state)
    assert const(mx.array(1.0)).item() == 2.0
    assert implicit(mx.array(1.0)).item() == 2.0
    state[0] = mx.array(5.0)
    assert const(mx.array(1.0)).item() == 2.0  # MLX: a constant of the trace
    assert implicit(mx.array(1.0)).item() == 6.0  # the current array is an input


def test_outputs_capture_appended_state():
    state = []
    calls = []

    def fun(x, y):
        calls.append(1)
        z = x + y
        state.append(z)
        return mx.exp(z)

    cf = mx.compile(fun, outputs=state)
    assert cf(mx.array(1.0), mx.array(2.0)).item() == pytest.approx(np.exp(3.0), rel=1e-6)
    assert len(state) == 1 and state[0].item() == 3.0  # the value, not a placeholder
    cf(mx.array(2.0), mx.array(2.0))
    assert len(state) == 1 and state[0].item() == 4.0 and len(calls) == 1


def test_without_outputs_a_written_placeholder_does_not_escape():
    state = {"a": mx.array(1.0)}
    cf = mx.compile(lambda x: _write(state, x), inputs=state)
    assert cf(mx.array(2.0)).item() == 3.0
    assert state["a"].item() == 1.0  # the write is not part of the compiled function


def _write(state, x):
    state["a"] = state["a"] + x
    return state["a"]


def test_state_dict_counter_and_nested_containers():
    state = {"count": mx.array(0), "hist": [mx.array(0.0), (mx.array(1.0), "tag")]}
    calls = []

    def step(x):
        calls.append(1)
        state["count"] = state["count"] + 1
        old, (scale, tag) = state["hist"]
        state["hist"] = [old + x * scale, (scale * 2, tag)]
        return state["count"] * 10

    cstep = mx.compile(step, inputs=state, outputs=state)
    outs = [cstep(mx.array(float(i))).item() for i in range(1, 5)]
    assert outs == [10, 20, 30, 40] and len(calls) == 1
    assert state["count"].item() == 4 and state["count"].dtype == mx.int32
    # hist: 0 + 1*1 + 2*2 + 3*4 + 4*8 = 49; scale doubles each call
    assert state["hist"][0].item() == 49.0 and state["hist"][1][0].item() == 16.0
    assert state["hist"][1][1] == "tag"


def test_registered_tree_node_as_state():
    from mxir.tree import register_tree_node

    class Params:
        def __init__(self, w, b):
            self.w, self.b = w, b

    register_tree_node(Params, lambda p: ([p.w, p.b], None), lambda _, c: Params(*c))
    params = Params(mx.array([1.0, 2.0]), mx.array(0.5))

    def shrink(x):
        out = mx.sum(params.w * x) + params.b
        params.w = params.w * 0.5
        return out

    shrink = mx.compile(shrink, inputs=params, outputs=params)
    assert shrink(mx.array([1.0, 1.0])).item() == 3.5
    assert shrink(mx.array([1.0, 1.0])).item() == 2.0
    np.testing.assert_array_equal(np.array(params.w), [0.25, 0.5])


def test_random_state_matches_the_uncompiled_sequence():
    from functools import partial

    mx.random.seed(3)
    expected = [np.array(mx.random.uniform(shape=(3,))) for _ in range(3)]
    after = np.array(mx.random.normal((2,)))
    mx.random.seed(3)

    @partial(mx.compile, inputs=mx.random.state, outputs=mx.random.state)
    def draw():
        return mx.random.uniform(shape=(3,))

    got = [np.array(draw()) for _ in range(3)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)
    assert not np.array_equal(got[0], got[1])
    np.testing.assert_array_equal(np.array(mx.random.normal((2,))), after)


def test_random_without_state_is_a_constant_of_the_trace():
    draw = mx.compile(lambda x: x + mx.random.uniform(shape=(3,)))
    a, b = np.array(draw(mx.zeros((3,)))), np.array(draw(mx.zeros((3,))))
    np.testing.assert_array_equal(a, b)  # as MLX: the key was fixed when traced


def test_compiled_training_step_with_grad_matches_uncompiled():
    rng = np.random.default_rng(1)
    x = mx.array(rng.standard_normal((8, 3)).astype(np.float32))
    y = mx.array(rng.standard_normal((8,)).astype(np.float32))

    def loss_fn(params, x, y):
        return mx.mean(mx.square(x @ params["w"] + params["b"] - y))

    def make_step(params, opt):
        def step(x, y):
            loss, grads = mx.value_and_grad(loss_fn)(params, x, y)
            for k in params:
                params[k] = params[k] - opt["lr"] * grads[k]
            return loss

        return step

    eager_params, eager_opt = {"w": mx.zeros((3,)), "b": mx.array(0.0)}, {"lr": mx.array(0.1)}
    params, opt = {"w": mx.zeros((3,)), "b": mx.array(0.0)}, {"lr": mx.array(0.1)}
    state = [params, opt]
    eager = make_step(eager_params, eager_opt)
    compiled = mx.compile(make_step(params, opt), inputs=state, outputs=state)
    for i in range(5):
        if i == 3:  # a new learning rate is a new input, not a retrace
            eager_opt["lr"] = opt["lr"] = mx.array(0.05)
        expected, got = eager(x, y), compiled(x, y)
        mx.eval(state)
        assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    np.testing.assert_allclose(np.array(params["w"]), np.array(eager_params["w"]), rtol=1e-5)
    np.testing.assert_allclose(np.array(params["b"]), np.array(eager_params["b"]), rtol=1e-5)


def test_grad_and_vmap_of_a_compiled_function_with_implicit_inputs():
    w = [mx.array([1.0, 2.0, 3.0])]
    cf = mx.compile(lambda x: mx.sum(mx.sin(x) * w[0]), inputs=w)
    x = mx.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(np.array(mx.grad(cf)(x)), np.cos([0.1, 0.2, 0.3]) * [1, 2, 3],
                               rtol=1e-6)
    w[0] = mx.array([2.0, 2.0, 2.0])
    np.testing.assert_allclose(np.array(mx.grad(cf)(x)), np.cos([0.1, 0.2, 0.3]) * 2, rtol=1e-6)
    rows = mx.vmap(mx.compile(lambda r: r * w[0] + 1, inputs=w))(mx.array([[1.0, 2, 3],
                                                                          [4, 5, 6]]))
    np.testing.assert_array_equal(np.array(rows), [[3, 5, 7], [9, 11, 13]])


def test_random_inside_a_compiled_grad_advances_the_state_like_uncompiled():
    def noisy(x):
        mask = mx.random.bernoulli(0.5, x.shape)
        return mx.grad(lambda v: mx.sum(mx.where(mask, v * v, 0.0)))(x)

    mx.random.seed(7)
    expected = [np.array(noisy(mx.ones((16,)))) for _ in range(3)]
    mx.random.seed(7)
    cn = mx.compile(noisy, inputs=mx.random.state, outputs=mx.random.state)
    for e in expected:
        np.testing.assert_array_equal(np.array(cn(mx.ones((16,)))), e)


def test_compiled_functions_sharing_state_nest():
    state = {"n": mx.array(0.0)}

    def bump(x):
        state["n"] = state["n"] + 1
        return x + state["n"]

    inner = mx.compile(bump, inputs=state, outputs=state)
    outer = mx.compile(lambda x: inner(inner(x)) * 2, inputs=state, outputs=state)
    assert outer(mx.array(0.0)).item() == 6.0 and state["n"].item() == 2.0  # (1 + 2) * 2
    assert outer(mx.array(0.0)).item() == 14.0 and state["n"].item() == 4.0  # (3 + 4) * 2


def test_data_dependent_control_flow_names_compile():
    def f(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(ValueError, match="compile"):
        mx.compile(f)(mx.array([1.0]))
    state = [mx.array(1.0)]
    with pytest.raises(ValueError, match="compile"):
        mx.compile(lambda x: x * state[0].item(), inputs=state)(mx.array(1.0))
    assert state[0].item() == 1.0  # the placeholder was put back


# -- shapeless ----------------------------------------------------------------------------------
def test_shapeless_reuses_the_trace_for_new_shapes():
    calls = []

    def f(x, y):
        calls.append(1)
        return mx.abs(x + y) * 2 + mx.mean(x, axis=-1, keepdims=True) + mx.var(y)

    def ref(x, y):
        return np.abs(x + y) * 2 + x.mean(-1, keepdims=True) + y.var()

    cf = mx.compile(f, shapeless=True)
    rng = np.random.default_rng(2)
    for shape in [(3,), (5,), (1,), (2, 4), (3, 6), (5,)]:
        x, y = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
        np.testing.assert_allclose(np.array(cf(mx.array(x), mx.array(y))), ref(x, y),
                                   rtol=1e-5, atol=1e-6)
    # once per shape class: rank and which dims are 1 (MLX: per rank; (1,) broadcasts apart)
    assert len(calls) == 3
    # the MLX docs' example: a scalar, then vectors
    assert mx.compile(lambda x, y: mx.abs(x + y), shapeless=True)(
        mx.array(1.0), mx.array(-2.0)).item() == 1.0


def test_shapeless_reinfers_reshape_family_and_nested_transforms():
    calls = []

    def f(x):
        calls.append(1)
        g = mx.grad(lambda v: mx.sum(mx.sin(v) * 3))(x)
        rows = mx.vmap(lambda r: r * 2 + 1)(x)
        _, (t,) = mx.jvp(mx.sin, [x], [mx.ones_like(x)])
        _, (c,) = mx.vjp(mx.exp, [x], [mx.full_like(x, 2.0)])
        flat = mx.expand_dims(x.flatten(0, 1), 0).reshape(-1)
        return g + rows + mx.mean(x) + t + c, mx.squeeze(mx.expand_dims(flat, 1), 1) * 2

    cf = mx.compile(f, shapeless=True)
    rng = np.random.default_rng(3)
    for shape in [(2, 3), (4, 5), (1, 7)]:
        xv = rng.standard_normal(shape).astype(np.float32)
        a, b = cf(mx.array(xv))
        np.testing.assert_allclose(np.array(a), 4 * np.cos(xv) + 2 * xv + 1 + xv.mean()
                                   + 2 * np.exp(xv), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.array(b), xv.reshape(-1) * 2, rtol=1e-6)
    assert len(calls) == 2  # (1, 7) is another shape class


def test_shapeless_with_implicit_state():
    state = {"total": mx.array(0.0)}
    calls = []

    def f(x):
        calls.append(1)
        state["total"] = state["total"] + mx.sum(x)
        return x * state["total"]

    cf = mx.compile(f, inputs=state, outputs=state, shapeless=True)
    np.testing.assert_array_equal(np.array(cf(mx.array([1.0, 2.0]))), [3.0, 6.0])
    np.testing.assert_array_equal(np.array(cf(mx.array([1.0, 1.0, 1.0]))), [6.0, 6.0, 6.0])
    assert state["total"].item() == 6.0 and len(calls) == 1


def test_shapeless_shape_fixed_in_python_raises_naming_compile():
    # the MLX docs' example
    cf = mx.compile(lambda x: x.reshape(x.shape[0] * x.shape[1], -1), shapeless=True)
    assert cf(mx.zeros((2, 3, 4))).shape == (6, 4)
    with pytest.raises(ValueError, match=r"\[compile\].*shapeless.*reshape"):
        cf(mx.zeros((5, 5, 3)))
    assert mx.compile(lambda x: x.flatten(0, 1), shapeless=True)(mx.zeros((5, 5, 3))).shape == (
        25, 3)
    fixed = mx.compile(lambda x: x + mx.ones((3,)), shapeless=True)
    np.testing.assert_array_equal(np.array(fixed(mx.zeros((3,)))), [1, 1, 1])
    with pytest.raises(ValueError, match=r"\[compile\] Cannot reuse the shapeless trace"):
        fixed(mx.zeros((4,)))
    explicit = mx.compile(lambda x: mx.broadcast_to(mx.array(1.0), (2, 3)) * x, shapeless=True)
    assert explicit(mx.ones((2, 3))).shape == (2, 3)
    with pytest.raises(ValueError, match="compile"):
        explicit(mx.ones((4, 3)))  # a literal broadcast shape is not re-derived
