"""mx.compile: the positional-array fast path, the direct call of a traced callee on evaluated
arrays, and the general path (keywords, constants, captures), each against the uncompiled
function."""

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


def test_non_array_outputs_are_refused():
    with pytest.raises(ValueError, match="must return arrays"):
        mx.compile(lambda x: 3)(mx.array(1.0))


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
