"""Uncompiled transforms reuse the Program of the last matching graph (python/mxir/reuse.py):
the function still runs on every call, and what it builds decides the Program. Each case is
called on changing inputs: the values match NumPy's closed forms (or MLX), the Program that
`reuse.match` finds is exactly what linearising gives, and a graph that differs is never run
with another's Program."""

import math

import mxir as mx
import numpy as np
import pytest
from mxir import eager, reuse
from mxir.program import trace_program_held


def _hits() -> int:
    return reuse.HITS[0]


def _same_program(arrays) -> bool:
    """Whether reuse.match gives exactly what the emitter gives (Program and inputs), when it
    gives anything; False when it finds nothing."""
    found = reuse.match(arrays)
    if found is None:
        return False
    main, inputs, held = trace_program_held(arrays, eager.held_of)
    assert not held
    assert tuple(found[0]) == main
    assert len(found[1]) == len(inputs) and all(a is b for a, b in zip(found[1], inputs))
    return True


def test_grad_grad_reuses_and_matches_emitter():
    g = mx.grad(mx.grad(mx.sin))
    before = _hits()
    for v in (0.5, -1.25, 3.0, 0.0):
        out = g(mx.array(v))
        if v != 0.5:
            assert _same_program([out])
        np.testing.assert_allclose(out.item(), -math.sin(v), rtol=1e-6, atol=1e-7)
    assert _hits() - before >= 3  # the first call linearises; the others reuse


def test_python_control_flow_reruns_each_call():
    calls = []

    def f(x):
        calls.append(1)
        return mx.sin(x) if x.item() > 0 else mx.cos(x) * 3

    g = mx.grad(f)
    for v in (0.7, -0.7, 0.9, -0.2, 1.1):
        got = g(mx.array(v)).item()
        want = math.cos(v) if v > 0 else -3 * math.sin(v)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(calls) == 5


def test_closure_over_a_changing_array():
    state = {"c": mx.array(2.0)}
    g = mx.value_and_grad(lambda x: x * state["c"] + mx.sin(x))
    for c in (2.0, 3.0, -1.5):
        state["c"] = mx.array(c)
        value, grad = g(mx.array(0.25))
        np.testing.assert_allclose(value.item(), 0.25 * c + math.sin(0.25), rtol=1e-6)
        np.testing.assert_allclose(grad.item(), c + math.cos(0.25), rtol=1e-6)
    # a lazy closure is computed inside the callee, an evaluated one is an input
    state["c"] = mx.array(2.0) * 4
    value, grad = g(mx.array(0.25))
    np.testing.assert_allclose(grad.item(), 8 + math.cos(0.25), rtol=1e-6)


def test_shared_and_distinct_leaves_never_confused():
    """x*a*b with a, b one array or two: the matcher must not map one graph to the other."""
    a2, a5 = mx.array(2.0), mx.array(5.0)
    mx.eval(a2, a5)
    for a, b in ((a2, a5), (a2, a5), (a2, a5), (a2, a2), (a5, a5), (a2, a2), (a5, a5),
                 (a2, a5), (a5, a2), (a2, a2)):
        vg = mx.value_and_grad(lambda x, a=a, b=b: x * a * b)
        value, grad = vg(mx.array(1.5))
        want = a.item() * b.item()
        np.testing.assert_allclose(value.item(), 1.5 * want)
        np.testing.assert_allclose(grad.item(), want)


def test_shared_and_distinct_nodes_inside_the_trace():
    """sin(x) once and squared, or twice: one name (the candidates' key), two Programs."""
    def f(x, share):
        if share:
            s = mx.sin(x)
            return s * s
        return mx.sin(x) * mx.sin(x)

    for share in (True, True, True, False, True, False, False, False, True):
        out = mx.grad(f)(mx.array(0.3), share)
        _same_program([out])  # the emitter's Program exactly, if any
        np.testing.assert_allclose(out.item(), math.sin(0.6), rtol=1e-6)


def test_structure_changes_with_shape_and_dtype():
    g = mx.grad(lambda x: mx.sum(mx.sin(x)))
    for x in (np.array([0.1, 0.2], np.float32), np.array([0.3, 0.4, 0.5], np.float32),
              np.array([0.1, 0.2], np.float16), np.array([[0.5]], np.float32)):
        out = g(mx.array(x))
        assert out.shape == x.shape and np.array(out).dtype == x.dtype
        np.testing.assert_allclose(np.array(out), np.cos(x), rtol=1e-3)


def test_attributes_are_part_of_the_match():
    """Same types, other attributes: a reduction's axis, a constant's value."""
    v = mx.array([1.0, 2.0])
    x = mx.array(np.ones((2, 2), np.float32))
    for axis in (0, 0, 0, 1, 1, 0, 1):
        out = mx.grad(lambda x, axis=axis: mx.sum(mx.sum(x, axis=axis) * v))(x)
        want = np.array([[1, 2], [1, 2]] if axis == 0 else [[1, 1], [2, 2]], np.float32)
        np.testing.assert_array_equal(np.array(out), want)
    for k in (2.0, 3.0, 2.0, 3.0, 2.0, -4.0):
        out = mx.grad(lambda x, k=k: x * mx.full((), k))(mx.array(1.0))  # a constant
        assert out.item() == k


@pytest.mark.parametrize("kind", ["jvp", "vmap", "vjp"])
def test_captures_of_each_transform(kind):
    """The callee reads `c` (a capture: zero tangent for jvp, unmapped for vmap)."""
    c = mx.array([1.0, 2.0, 3.0])
    for scale in (1.0, 2.0, -0.5):
        xn = np.array([0.1, 0.2, 0.3], np.float32) * scale
        x, ones, rows = mx.array(xn), mx.ones_like(mx.array(xn)), mx.array(np.stack([xn, xn]))
        mx.eval(c, ones, rows)
        if kind == "jvp":
            outs = mx.jvp(lambda x: mx.sin(x) * c, [x], [ones])
            want = np.cos(xn) * np.array(c)
        elif kind == "vmap":
            outs = [mx.vmap(lambda r: mx.sum(r * c))(rows)]
            want = [np.sum(xn * np.array(c))] * 2
        else:
            outs = mx.vjp(lambda x: mx.sin(x) * c, [x], [ones])
            want = np.cos(xn) * np.array(c)
        flat = [a for part in outs for a in (part if isinstance(part, list) else [part])]
        assert _same_program(flat) == (scale != 1.0)
        mx.eval(*flat)
        np.testing.assert_allclose(np.array(flat[-1]), want, rtol=1e-6)


def test_nested_transforms_with_captured_parameters():
    """The inner function reads the outer trace's parameter: a capture two levels down."""
    def f(x):
        return mx.grad(lambda y: mx.sin(x * y))(x)  # d/dy sin(xy) = x cos(xy) at y = x

    g = mx.grad(f)
    for v in (0.3, 0.6, -0.2):
        x = mx.array(v)
        got = g(x)
        want = math.cos(v * v) - 2 * v * v * math.sin(v * v)
        np.testing.assert_allclose(got.item(), want, rtol=1e-5)
    x = mx.array(0.8)
    out = g(x)
    assert _same_program([out])


def test_value_and_grad_both_results_and_aux():
    vg = mx.value_and_grad(lambda x: (mx.sum(x * x), x + 1))
    for n in (3, 3, 4):
        x = mx.array(np.arange(n, dtype=np.float32))
        (loss, aux), grad = vg(x)
        mx.eval(loss, grad)
        np.testing.assert_allclose(loss.item(), np.sum(np.arange(n) ** 2))
        np.testing.assert_allclose(np.array(grad), 2 * np.arange(n))
        np.testing.assert_allclose(np.array(aux), np.arange(n) + 1)


def test_errors_still_raised_after_reuse():
    def f(x):
        mx.eval(x)  # evaluating a vmap tracer: MLX's error, every call
        return x

    for _ in range(2):
        with pytest.raises(ValueError, match="Attempting to eval an array during function"):
            mx.vmap(f)(mx.array([1.0, 2.0]))
    g = mx.grad(mx.sin)
    g(mx.array(0.5)).item()
    with pytest.raises(ValueError, match="should be a scalar array"):
        mx.grad(lambda x: [x])(mx.array(0.5))


def test_against_mlx():
    mlx = pytest.importorskip("mlx.core")
    g = mx.grad(mx.grad(lambda x: mx.sin(x) * mx.exp(-x)))
    h = mlx.grad(mlx.grad(lambda x: mlx.sin(x) * mlx.exp(-x)))
    ours, theirs = [], []
    for v in (0.1, 0.7, 1.9, 0.7):
        ours.append(g(mx.array(v)).item())
        theirs.append(h(mlx.array(v)).item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_generated_matcher_agrees_with_the_walk():
    """Past GENERATE_AFTER matches a template gets code of its own: on graphs that match and
    graphs that do not, it answers as the walk does (or defers to it with False)."""
    c = mx.array(3.0)
    fs = [lambda x: mx.sin(x) * c, lambda x: mx.sin(x) * mx.sin(x),
          lambda x: mx.grad(lambda y: mx.sin(x * y))(x), lambda x: mx.cos(x) * c,
          lambda x: mx.grad(lambda y: y * c)(x) + x]
    programs = []
    for f in fs:
        g = mx.grad(f)
        for _ in range(reuse.GENERATE_AFTER + 1):
            g(mx.array(0.4)).item()
        out = g(mx.array(0.7))
        found = reuse.match([out])
        assert found is not None
        programs.append(found[0])
        out.item()
    checked = 0
    for main in programs:
        code = reuse._generate(main, 0, True)
        assert code
        for f in fs:
            out = mx.grad(f)(mx.array(0.9))
            stack = [(out._node, out._index, main[2][0])]
            walked = reuse._match_function(main, None, (), stack)
            generated = code(None, (), [out])
            if generated is not False:
                assert (generated is None) == (walked is None)
                if walked is not None:
                    assert all(a is b for a, b in zip(generated, walked))
                    checked += 1
    assert checked >= len(fs)


def test_inner_transform_evaluated_inside_a_trace():
    """`.item()` on an inner grad inside an outer one: a traced root whose parameter stands
    for the argument it is bound to."""
    def f(x):
        d = mx.grad(mx.sin)(x)
        return mx.sin(x) if d.item() > 0 else -mx.sin(x)

    g = mx.grad(f)
    for v in (0.3, 2.0, 0.5, 2.5, 0.1, 3.0, 0.7, 2.2):
        np.testing.assert_allclose(g(mx.array(v)).item(), abs(math.cos(v)), rtol=1e-6)


def test_lazy_arguments_and_what_python_holds():
    """A lazy operand nobody holds is computed in @main (its uses weighed as the emitter
    weighs them); one that Python holds (a grad's argument: its parameter is bound to it) is
    evaluated apart and keeps its value."""
    x = mx.array(0.3)
    before = _hits()
    for c in (1.0, 2.0, 3.0, 4.0):
        _, (ct,) = mx.vjp(lambda x: mx.sin(x), [x], [mx.array(c) * 2])  # nobody holds c * 2
        np.testing.assert_allclose(ct.item(), 2 * c * math.cos(0.3), rtol=1e-6)
    assert _hits() - before >= 2
    for c in (5.0, 6.0):
        held = mx.array(c) * 2  # the same graph, but Python holds the cotangent
        _, (ct,) = mx.vjp(lambda x: mx.sin(x), [x], [held])
        mx.eval(ct)
        assert held._node.values is not None and held._node.values[0] is not None
        np.testing.assert_allclose(ct.item(), 2 * c * math.cos(0.3), rtol=1e-6)
    g = mx.grad(lambda x: mx.sin(x) * x)
    for v in (0.2, 0.4, 0.6, 0.8):
        y = mx.array(v) * 2
        out = g(y)
        mx.eval(out)
        assert y._node.values is not None and y._node.values[0] is not None
        w = 2 * v
        np.testing.assert_allclose(out.item(), math.cos(w) * w + math.sin(w), rtol=1e-6)
        np.testing.assert_allclose(y.item(), w, rtol=1e-7)
