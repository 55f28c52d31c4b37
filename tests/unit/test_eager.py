"""Eager evaluation (python/mxir/eager.py): arrays Python holds keep their buffers, and compute
ops run library kernels with dynamic dims, so a new shape runs no pipeline. Counted, not timed."""

import math
import os
import shutil
import subprocess
import sys
import weakref

import mxir as mx
import numpy as np
import pytest
from mxir import eager, evaluate
from mxir.passes import isolate
from mxir.runtime import cpu


@pytest.fixture
def runs(monkeypatch):
    """Counts of real pipeline runs (each in its forked child: counted where it is started)
    and of executable (program or kernel) runs."""
    counts = {"pipelines": 0, "executables": 0}
    call_isolated, call = isolate.call_isolated, cpu.CpuExecutable.__call__

    def counted_isolated(fn, *args):
        counts["pipelines"] += fn is evaluate._lower_for_cpu
        return call_isolated(fn, *args)

    def counted_call(self, inputs, outputs):
        counts["executables"] += 1
        return call(self, inputs, outputs)

    run_plan = eager._run_plan

    def counted_run_plan(*args):  # a kernel's call bound to its shapes (CpuExecutable.bind)
        counts["executables"] += 1
        return run_plan(*args)

    monkeypatch.setattr(isolate, "call_isolated", counted_isolated)
    monkeypatch.setattr(cpu.CpuExecutable, "__call__", counted_call)
    monkeypatch.setattr(eager, "_run_plan", counted_run_plan)
    return counts


def test_held_random_array_is_computed_once(runs):
    z = mx.random.uniform(shape=(64, 64))  # splits the global key at once
    runs["executables"] = 0
    mx.eval(z + 1)
    first = np.array(z)  # z kept its buffer: reading it runs nothing
    assert runs["executables"] == 2  # z (held) as its own program first, then the add
    runs["executables"] = 0
    w = z + 2
    mx.eval(w)
    assert runs["executables"] == 1  # the add alone: the random bits were not generated again
    np.testing.assert_array_equal(np.array(w), first + np.float32(2))
    np.testing.assert_array_equal(np.array(z), first)


def test_held_intermediate_is_kept_and_unheld_is_not():
    x = mx.array(np.arange(6, dtype=np.float32))
    h = x * 2  # held by the variable
    y = (x + 1) * h  # x + 1 is held by nothing but y's graph
    inner = weakref.ref(y._node.inputs[0]._node)
    mx.eval(y)
    assert h._node.values is not None and h._node.inputs == ()
    assert inner() is None  # not kept: freed with y's graph
    np.testing.assert_array_equal(np.array(h), np.arange(6) * 2)


def test_a_walk_given_up_at_a_transform_leaves_no_held_arrays_behind():
    """The plain walk stops at a transform op and the general emitter counts again: the pins
    the walk had counted must not look referenced from outside (held) to that count."""
    from mxir.program import trace_program_held

    x = mx.array(np.arange(4, dtype=np.float32))
    mx.eval(x)
    g = mx.grad(lambda t: mx.sum(mx.sin(t)))(x)  # held by this variable
    z = (lambda e: e * e)(mx.exp(x)) + g  # e: used twice, held by nothing but z's graph
    _, _, held = trace_program_held([z], eager.held_of)
    assert [a._node.op for a in held] == ["vjp"]
    np.testing.assert_allclose(np.array(z), np.exp(2 * np.arange(4)) + np.cos(np.arange(4)),
                               rtol=1e-5)


def test_new_shape_runs_no_pipeline(runs):
    rng = np.random.default_rng(0)

    def check(shape, dtype):
        host = rng.standard_normal(shape).astype(dtype)
        x = mx.array(host)
        for axis in [*range(len(shape)), None]:
            np.testing.assert_allclose(np.array(mx.sum(x, axis=axis)), host.sum(axis=axis),
                                       rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(np.array(mx.max(x, axis=axis)), host.max(axis=axis))
        chain = mx.exp(mx.abs(x * 2 - 1)) / 3
        np.testing.assert_allclose(np.array(chain), np.exp(np.abs(host * 2 - 1)) / 3, rtol=1e-5)

    check((3, 4, 5, 6), np.float32)  # builds the kernels, both reduction forms (or reads them)
    runs["pipelines"] = 0
    kernels = eager.KERNEL_RUNS[0]
    for shape in [(7, 2, 9), (11,), (2, 3, 4, 5), (1, 6)]:
        check(shape, np.float32)
    assert runs["pipelines"] == 0  # every new shape and rank ran existing kernels
    assert eager.KERNEL_RUNS[0] - kernels > 40


def test_repeated_graph_gets_the_fused_program(runs, monkeypatch):
    monkeypatch.setattr(eager, "COMPILE_AFTER_S", 1e-9)  # compile when seen again
    x = mx.array(np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 5))
    mx.eval(mx.sin(x) * 2 + x)  # kernels; the Program has now been seen
    before = runs["pipelines"]
    for _ in range(2):
        out = mx.sin(x) * 2 + x
        mx.eval(out)
    assert runs["pipelines"] == before + 1  # compiled once (the mx-to-cpu pipeline), then cached
    np.testing.assert_allclose(np.array(out), np.sin(np.array(x)) * 2 + np.array(x), rtol=1e-6)


def test_ops_without_kernels_still_evaluate():
    x = mx.array(np.arange(12, dtype=np.float32).reshape(3, 4))
    idx = mx.array(np.array([2, 0], np.int32))
    got = mx.take(x, idx, axis=0) + mx.sum(x[:, 1:3], axis=1, keepdims=True)[:2]
    want = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(np.array(got), want[[2, 0]] + want[:, 1:3].sum(1)[:2, None])


@pytest.mark.skipif(shutil.which("ld") is None, reason="no system linker: kernels stay JIT-only")
def test_kernels_load_from_disk_in_a_new_process(tmp_path):
    """Machine code of library kernels (runtime/native.py) is loaded, not rebuilt, by a later
    process; run in subprocesses, as loading native code is the risky part."""
    code = (
        "import numpy as np, mxir as mx\n"
        "from mxir import eager\n"
        "h = np.arange(12, dtype=np.float32).reshape(3, 4) / 7\n"
        "got = np.array(mx.sum(mx.exp(mx.array(h)) * 2, axis=1))\n"
        "ok = np.allclose(got, (np.exp(h) * 2).sum(1), rtol=1e-5)\n"
        "print(eager.BUILDS[0], ok)\n")
    env = dict(os.environ, MXIR_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout.split() == ["3", "True"]  # exp, multiply, sum built
    assert runs[1].stdout.split() == ["0", "True"]  # all three loaded from disk


def test_held_intermediates_with_kernels_share_the_roots_program(monkeypatch):
    """Op by op, held arrays are results of the roots' own Program (one trace, one pass),
    not a graph evaluated before it; each still keeps its buffer."""
    calls = []
    run = eager.run
    monkeypatch.setattr(eager, "run", lambda main, inputs: calls.append(main) or run(main, inputs))
    x = mx.array(np.arange(6, dtype=np.float32))
    h = x * 2
    g = mx.exp(h)
    y = (x + 1) * g
    kernels = eager.KERNEL_RUNS[0]
    mx.eval(y)
    assert len(calls) == 1 and len(calls[0][2]) == 3  # y, h and g: one Program
    assert eager.KERNEL_RUNS[0] - kernels == 4  # each op once
    assert h._node.inputs == () and g._node.inputs == ()
    np.testing.assert_allclose(np.array(g), np.exp(np.arange(6) * 2), rtol=1e-6)
    np.testing.assert_allclose(np.array(y), (np.arange(6) + 1) * np.exp(np.arange(6) * 2),
                               rtol=1e-6)


def _decode(lib, array, evaluate, weights, emb, n_tokens):
    """A one-layer attention decode with a growing KV cache, evaluating every token (W12)."""
    wq, wk, wv, wo = (array(w) for w in weights)
    emb = array(emb)
    d = emb.shape[1]
    k_cache = v_cache = lib.zeros((0, d), dtype=lib.float32)
    outs = []
    for t in range(n_tokens):
        x = emb[t:t + 1]
        k_cache = lib.concatenate([k_cache, x @ wk])
        v_cache = lib.concatenate([v_cache, x @ wv])
        s = (x @ wq) @ k_cache.T / 8.0
        e = lib.exp(s - s.max(axis=-1, keepdims=True))
        x = x + ((e / e.sum(axis=-1, keepdims=True)) @ v_cache) @ wo
        evaluate(x, k_cache, v_cache)
        outs.append(np.array(x))
    return outs


def test_growing_decode_compiles_one_program_per_structure(runs, monkeypatch):
    """Each token's graph has the same structure with a longer cache: one program with the
    cache length dynamic serves every token of the class, new lengths included."""
    monkeypatch.setattr(eager, "COMPILE_AFTER_S", 1e-9)  # compile when the class is seen again
    rng = np.random.default_rng(3)
    d = 64  # no cache length below equals d or 100 (equal dims would be another class)
    weights = [(rng.standard_normal((d, d)) / 8).astype(np.float32) for _ in range(4)]
    emb = rng.standard_normal((100, d)).astype(np.float32)
    compiles, class_runs = eager.CLASS_COMPILES[0], eager.CLASS_RUNS[0]
    got = _decode(mx, mx.array, mx.eval, weights, emb, 30)
    want = _decode(np, np.asarray, lambda *a: None, weights, emb, 30)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # tokens 0 and 1 (cache lengths 0 and 1) are classes of their own; from token 2 on, one
    # class: its first Program ran op by op, then the class compiled once, at token 3
    assert eager.CLASS_COMPILES[0] - compiles == 1
    assert eager.CLASS_RUNS[0] - class_runs == 27
    runs["pipelines"] = 0
    got = _decode(mx, mx.array, mx.eval, weights, emb, 60)  # lengths up to 60: new shapes
    want = _decode(np, np.asarray, lambda *a: None, weights, emb, 60)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert eager.CLASS_COMPILES[0] - compiles == 1  # no new class program
    assert eager.CLASS_RUNS[0] - class_runs == 27 + 58
    assert runs["pipelines"] == 2  # tokens 0 and 1 repeated exactly: each compiled whole


def test_decode_step_past_its_first_tokens_builds_no_program(monkeypatch):
    """Once a class program serves the tokens, each is keyed straight from its graph
    (eager.run_walk): eager.run, which takes a Program, is not called."""
    monkeypatch.setattr(eager, "COMPILE_AFTER_S", 1e-9)
    programs = []
    run = eager.run
    monkeypatch.setattr(eager, "run", lambda main, inputs: programs.append(main) or run(
        main, inputs))
    rng = np.random.default_rng(6)
    weights = [(rng.standard_normal((64, 64)) / 8).astype(np.float32) for _ in range(4)]
    emb = rng.standard_normal((40, 64)).astype(np.float32)
    got = _decode(mx, mx.array, mx.eval, weights, emb, 40)
    want = _decode(np, np.asarray, lambda *a: None, weights, emb, 40)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert len(programs) <= 5  # cache lengths 0 and 1, the class's first Programs


def test_walk_keys_a_graph_as_its_program():
    """The structure key and sizes made from the walk are those of the Program built from it,
    with a held array and a slice of an argument (peeled) among them."""
    from mxir.program import Walk

    rng = np.random.default_rng(7)
    emb = mx.array(rng.standard_normal((9, 6)).astype(np.float32))
    w = mx.array(rng.standard_normal((6, 6)).astype(np.float32))
    mx.eval(emb, w)
    held = mx.exp(mx.split(emb, 3)[1] @ w)  # a slice op of an argument; held by this variable
    parts = mx.split(held * 2.0, 2, axis=1)
    y = mx.softmax(parts[0] + parts[1], axis=-1) + mx.sum(held, axis=1, keepdims=True)
    roots = [y]
    walk = Walk(roots)
    arrays = roots + walk.held(eager.held_of, roots)
    assert any(a._node is held._node for a in arrays[1:])  # (held are pins)
    key, vals = eager.walk_structure(walk, arrays)
    assert (key, vals) == eager.structure(walk.main(arrays))
    assert vals[1]  # the slice of the argument is peeled: its bounds are sizes, not key


def test_structure_class_widens_when_another_dim_varies(monkeypatch):
    monkeypatch.setattr(eager, "COMPILE_AFTER_S", 1e-9)
    compiles = eager.CLASS_COMPILES[0]
    rng = np.random.default_rng(4)
    shapes = [(n, 5) for n in (2, 3, 4, 6)] + [(7, m) for m in (8, 9, 10)]
    for shape in shapes:
        a, b = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
        got = np.array(mx.exp(mx.array(a)) * mx.array(b) + 1)
        np.testing.assert_allclose(got, np.exp(a) * b + 1, rtol=1e-5, atol=1e-6)
    # rows vary: compiled with a dynamic first dim; then columns vary (no two dims equal
    # pattern of equal dims): compiled again with both dynamic
    assert eager.CLASS_COMPILES[0] - compiles == 2


def test_structure_class_without_dynamic_program_stays_op_by_op(runs, monkeypatch):
    """A reshape that merges a varying dim has no dynamic lowering: the class runs op by op
    (kernels, no pipeline per shape) instead of compiling each shape."""
    monkeypatch.setattr(eager, "COMPILE_AFTER_S", 1e-9)
    compiles = eager.CLASS_COMPILES[0]
    rng = np.random.default_rng(5)
    hosts = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 5, 6, 7, 8)]
    np.array(mx.reshape(mx.exp(mx.array(hosts[0])), (-1,)) * 2)  # builds the kernels
    runs["pipelines"] = 0
    for h in hosts[1:]:
        got = np.array(mx.reshape(mx.exp(mx.array(h)), (-1,)) * 2)
        np.testing.assert_allclose(got, np.exp(h).reshape(-1) * 2, rtol=1e-6)
    assert eager.CLASS_COMPILES[0] == compiles
    assert runs["pipelines"] == 0


def test_scalar_and_row_operands_are_broadcast_inside_the_kernel(runs):
    """An elementwise op whose operand broadcast_to spread from a scalar or from a row of the
    result's trailing dims (a bias) gets the operand before its broadcast: the kernel
    broadcasts it, so the 0-stride view is not copied out whole first (`x * 2.0` on 1000^2
    f32: 0.83 -> 0.40 ms, MLX 0.41). One kernel serves every rank; a column keeps the copy."""
    rng = np.random.default_rng(11)

    def spread_plans():  # (op, operand types) of the plans that take operands unbroadcast
        return {(k[0], tuple(t.shape for t in k[2])) for k in eager._PLANS if any(k[4])}

    x3 = rng.standard_normal((4, 5, 6)).astype(np.float32)
    bias = rng.standard_normal((5, 6)).astype(np.float32)
    i2 = rng.integers(-9, 9, (7, 3)).astype(np.int32)
    cases = [(lambda: mx.array(x3) * 2.0 - 1.0, x3 * np.float32(2) - 1),
             (lambda: 1.0 - mx.array(x3), 1 - x3),
             (lambda: mx.array(x3) + mx.array(bias), x3 + bias),
             (lambda: mx.array(bias)[None] / (mx.array(x3) + 10), bias[None] / (x3 + 10)),
             (lambda: mx.where(mx.array(x3) > 0, mx.array(bias), -1.0),
              np.where(x3 > 0, bias, np.float32(-1))),
             (lambda: mx.array(i2) // 2 + mx.array(i2[0]), i2 // 2 + i2[0]),
             (lambda: mx.array(np.zeros((0, 6), np.float32)) + mx.array(bias[0]),
              np.zeros((0, 6), np.float32))]
    eager._PLANS.clear()
    for build, want in cases:
        got = np.array(build())
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert {("multiply", ((4, 5, 6), ())), ("subtract", ((), (4, 5, 6))),
            ("add", ((4, 5, 6), (5, 6))), ("divide", ((1, 5, 6), (4, 5, 6))),
            ("select", ((4, 5, 6), (5, 6), ())), ("add", ((7, 3), (3,)))} <= spread_plans()
    runs["pipelines"] = 0
    for shape in [(9,), (2, 3, 4, 5), (8, 1)]:
        v = rng.standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(np.array(mx.array(v) * 2.0 - 1.0), v * 2 - 1, rtol=1e-6)
    assert runs["pipelines"] == 0  # the flat scalar kernels of the first case
    column = rng.standard_normal((4, 1)).astype(np.float32)
    got = np.array(mx.array(x3[0, :4]) + mx.array(column))
    np.testing.assert_array_equal(got, x3[0, :4] + column)
    assert not [p for p in spread_plans() if (4, 1) in p[1]]


@pytest.mark.parametrize("shape,axis", [((1000, 1000), 1), ((65536,), None), ((6, 40, 70), (1, 2)),
                                        ((6, 40, 70), 1), ((300, 70), 0), ((50, 20), 1)])
def test_eager_reductions_over_rows_use_the_two_dim_kernel(shape, axis):
    """A reduction whose reduced axes end the shape, over rows of at least _ROW_MIN, runs on
    (outer, reduced) rows, so that the reduction is the innermost loop (vectorised sums:
    1000x1000 f32 over rows 4.5 ms -> 0.18 ms); others on (outer, reduced, inner). Values
    against NumPy for several ops."""
    rng = np.random.default_rng(len(shape))
    xn = rng.uniform(0.999, 1.001, shape).astype(np.float32)  # products stay normal
    x = mx.array(xn)
    axes = tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, int) \
        else axis
    tail = max(axes) == len(shape) - 1 and math.prod(shape[d] for d in axes) >= eager._ROW_MIN
    for name in ("sum", "max", "min", "prod", "mean"):
        got = np.array(getattr(mx, name)(x, axis=axis))
        np.testing.assert_allclose(got, getattr(np, name)(xn, axis=axis), rtol=1e-4)
    ins = [mx.array(xn)._node.types[0]]
    plan = eager._plan("sum", (("axes", axes), ("keepdims", False)), ins,
                       [mx.sum(x, axis=axis)._node.types[0]])
    assert len(plan[1][0]) == (2 if tail else 3)
    assert np.array_equal(np.array(mx.any(x > 1, axis=axis)), np.any(xn > 1, axis=axis))
