"""compile(shapeless=True) with dynamic dims: one program per shape class (rank, dtypes, which
dims are 1) runs every input shape of the class; each result is checked against the eager
function at several shapes, and the number of programs compiled is counted."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from mxir import evaluate
from mxir.tree import tree_flatten


def _softmax(x):
    e = mx.exp(x - mx.max(x, axis=-1, keepdims=True))
    return e / mx.sum(e, axis=-1, keepdims=True)


def _mlp_loss(w1, b1, w2, x, y):
    h = mx.maximum(x @ w1 + b1, 0.0)
    return mx.mean(mx.square(h @ w2 - y))


# name -> (function, argument shapes per call: every call is one shape class)
CASES = {
    "unary_chain": (lambda x: mx.sin(x) * mx.cos(x) + mx.exp(-x * x), [[(5,)], [(1000,)], [(3,)]]),
    "bias": (lambda x, b: mx.tanh(x + b), [[(3, 4), (4,)], [(5, 7), (7,)], [(2, 2), (2,)]]),
    "scalar_args": (lambda x: x * 2.5 - 1, [[(4, 3)], [(2, 9)]]),
    "reductions": (lambda x: (mx.sum(x, axis=0), mx.max(x, axis=1), mx.prod(x, axis=(0, 1))),
                   [[(3, 4)], [(6, 2)], [(2, 5)]]),
    "mean_var_std": (lambda x: (mx.mean(x), mx.var(x, axis=1, ddof=1), mx.std(x, axis=0)),
                     [[(3, 4)], [(6, 2)]]),
    "softmax": (_softmax, [[(3, 4)], [(6, 9)]]),
    "logsumexp": (lambda x: mx.logsumexp(x, axis=-1), [[(3, 4)], [(6, 2)]]),
    "matmul": (lambda a, b: a @ b, [[(3, 4), (4, 5)], [(7, 2), (2, 3)]]),
    "matvec": (lambda a, v: a @ v, [[(3, 4), (4,)], [(7, 2), (2,)]]),
    "transpose": (lambda a: a.T * mx.arange(2.0).sum(), [[(3, 4)], [(7, 2)]]),
    "where_astype": (lambda x: mx.where(x > 0, x, -x).astype(mx.int32),
                     [[(3, 4)], [(6, 2)]]),
    "zeros_like": (lambda x: mx.zeros_like(x) + mx.ones_like(x) * x, [[(3,)], [(6,)]]),
    "expand_squeeze": (lambda x: mx.squeeze(mx.expand_dims(x, 0) * 2, 0), [[(3,)], [(6,)]]),
    "keepdims": (lambda x: x - mx.sum(x, axis=0, keepdims=True), [[(3, 4)], [(6, 2)]]),
    "grad": (mx.grad(lambda x: mx.sum(mx.sin(x) * x)), [[(3, 4)], [(6, 2)]]),
    "scans": (lambda x: mx.cumsum(x, axis=1, reverse=True) * mx.cumprod(x, axis=0)
              + mx.logcumsumexp(x, axis=1, inclusive=False), [[(3, 4)], [(6, 2)], [(2, 5)]]),
    "grad_max_prod": (mx.grad(lambda x: mx.sum(mx.max(x, axis=0)) + mx.sum(mx.prod(x, axis=1))),
                      [[(3, 4)], [(6, 2)]]),
    "value_and_grad_mlp": (mx.value_and_grad(_mlp_loss, argnums=(0, 1, 2)),
                           [[(4, 8), (8,), (8, 2), (5, 4), (5, 2)],
                            [(3, 6), (6,), (6, 2), (9, 3), (9, 2)]]),
    "concatenate": (lambda a, b: mx.concatenate([a, b * 2], axis=0)
                    + mx.concatenate([b, a], axis=0),
                    [[(3, 4), (2, 4)], [(5, 6), (7, 6)]]),
    "concatenate_axis1": (lambda a, b: mx.concatenate([a, mx.exp(b), a], axis=1),
                          [[(3, 4), (3, 2)], [(5, 6), (5, 9)]]),
    "jvp": (lambda x: mx.jvp(lambda z: mx.sin(z) * z, (x,), (mx.ones_like(x),))[1][0],
            [[(3,)], [(6,)]]),
}


def _run(fn, shapes, seed):
    rng = np.random.default_rng(seed)
    args = [mx.array(rng.uniform(0.5, 2, s).astype(np.float32)) for s in shapes]
    return args


def _flat(x):
    return [np.array(a) for a in tree_flatten(x)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_program_runs_every_shape_of_a_class(name):
    fn, calls = CASES[name]
    compiled = mx.compile(fn, shapeless=True)
    fallbacks = len(evaluate.SHAPELESS_FALLBACKS)
    programs = 0
    for seed, shapes in enumerate(calls):
        args = _run(fn, shapes, seed)
        mx.eval(args)
        before = set(evaluate._CACHE)  # keys, not a count: a long run evicts old programs
        got = compiled(*args)
        mx.eval(got)
        programs += len(set(evaluate._CACHE) - before)
        for g, w in zip(_flat(got), _flat(fn(*args)), strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-5)
    assert evaluate.SHAPELESS_FALLBACKS[fallbacks:] == []
    assert programs == 1


def test_dims_of_size_one_start_another_class():
    f = mx.compile(lambda x, y: x * y, shapeless=True)
    before = set(evaluate._CACHE)
    for xs, ys in [((3, 4), (3, 4)), ((5, 2), (5, 2)), ((3, 4), (1, 4)), ((6, 2), (1, 2))]:
        x = mx.array(np.arange(np.prod(xs), dtype=np.float32).reshape(xs))
        y = mx.array(np.arange(np.prod(ys), dtype=np.float32).reshape(ys) + 1)
        mx.eval(x, y)
        np.testing.assert_array_equal(np.array(f(x, y)), np.array(x) * np.array(y))
    assert len(set(evaluate._CACHE) - before) == 2  # (?x?, ?x?) and (?x?, 1x?)


def test_shapes_the_class_cannot_take_still_raise():
    def ones(*shape):
        return mx.array(np.ones(shape, np.float32))

    f = mx.compile(lambda x, y: x + y, shapeless=True)
    mx.eval(f(ones(3, 4), ones(4)))
    with pytest.raises(ValueError, match="no longer fits.*cannot be broadcast"):
        f(ones(3, 4), ones(5))
    mx.eval(f(ones(3, 4), ones(3, 4)))  # another class: traced without a broadcast
    with pytest.raises(ValueError, match="add no longer fits"):
        f(ones(3, 4), ones(2, 4))


def test_an_op_without_dynamic_lowering_compiles_per_shape_and_says_why():
    def loss(x, labels):  # take_along_axis has no dynamic lowering
        return mx.sum(mx.take_along_axis(x, mx.expand_dims(labels, 1), axis=1))

    f = mx.compile(mx.grad(loss), shapeless=True)
    fallbacks = len(evaluate.SHAPELESS_FALLBACKS)
    for n in (3, 5):
        x = mx.array(np.arange(n * 4, dtype=np.float32).reshape(n, 4))
        labels = mx.array(np.arange(n, dtype=np.int32) % 4)
        mx.eval(x, labels)
        want = np.zeros((n, 4), np.float32)
        want[np.arange(n), np.arange(n) % 4] = 1
        np.testing.assert_array_equal(np.array(f(x, labels)), want)
    reasons = evaluate.SHAPELESS_FALLBACKS[fallbacks:]
    assert len(reasons) == 1 and "no program with dynamic dims" in reasons[0]


def test_a_dynamic_program_reruns_shapes_in_any_order():
    f = mx.compile(lambda x: mx.sum(x * x, axis=1), shapeless=True)
    for n in (4, 1000, 4, 7, 0, 2):
        x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        np.testing.assert_allclose(np.array(f(mx.array(x))), (x * x).sum(1), rtol=1e-6)


def test_the_dynamic_program_is_in_the_disk_cache(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import mxir as mx, numpy as np\n"
            "f = mx.compile(lambda x: mx.exp(x) + 1, shapeless=True)\n"
            "for n in (3, 9, 4):\n"
            "    print(np.array(f(mx.array(np.zeros(n, np.float32)))).sum())\n")
    env = {**os.environ, "MXIR_CACHE_DIR": str(tmp_path)}
    entries = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert out == "6.0\n18.0\n8.0\n"
        entries.append(sorted(p.name for p in tmp_path.rglob("*") if p.is_file()))
    assert len(entries[0]) == 1  # one program for the three shapes
    assert entries[1] == entries[0]  # and the second process compiled nothing new


def test_a_size_computed_from_dynamic_dims_compiles_per_shape():
    f = mx.compile(lambda x: mx.flatten(x) * 2 + x.reshape(-1), shapeless=True)
    fallbacks = len(evaluate.SHAPELESS_FALLBACKS)
    for n in (3, 5):
        x = np.arange(n * 4, dtype=np.float32).reshape(n, 4)
        np.testing.assert_array_equal(np.array(f(mx.array(x))), x.reshape(-1) * 3)
    reasons = evaluate.SHAPELESS_FALLBACKS[fallbacks:]
    assert len(reasons) == 1 and "a size computed from dynamic dims" in reasons[0]


@pytest.mark.parametrize("where", ["infer", "vjp"])
def test_a_bug_in_a_rule_raises_instead_of_compiling_per_shape(where, monkeypatch):
    """A rule of a dynamic op that fails only on dynamic dims is a bug to report: before, it
    was taken for "no dynamic program" and the class quietly compiled per shape."""
    import math

    from mxir.dialect import OPS, TensorType

    op = OPS["sin"]
    if where == "infer":
        original = type(op).infer

        def infer(self, types):
            math.prod(types[0].shape)  # a bug with dims of None
            return original(self, types)

        monkeypatch.setattr(type(op), "infer", infer)
    else:
        original = type(op)._vjp

        def vjp(self, b, primals, outputs, cotangents):
            math.prod(TensorType.from_ir(primals[0].type).shape)  # a bug with dims of None
            return original(self, b, primals, outputs, cotangents)

        monkeypatch.setattr(type(op), "_vjp", vjp)
    monkeypatch.setenv("MXIR_CACHE_DIR", "0")  # the passes run: a program of its own, no cache
    f = mx.compile(mx.grad(lambda x: mx.sum(mx.sin(mx.sin(x)) * x)), shapeless=True)
    with pytest.raises(TypeError):
        np.array(f(mx.array(np.arange(6, dtype=np.float32))))


def test_a_dynamic_copy_is_loops_not_the_runtimes_element_by_element_copy(monkeypatch):
    """A concatenate of dynamic sizes (a KV cache) writes its operands with memref.copy, which
    LLVM lowering makes a call of the runtime's element-by-element `memrefCopy` unless the
    shape is static: mx-cpu-dynamic-copies turns those copies into loops."""
    from mxir.dialect import TensorType
    from mxir.passes import registry

    f32 = "float32"
    main = ((TensorType((None, 64), f32), TensorType((1, 64), f32)),
            (("concatenate", (("axis", 0),), (0, 1), (TensorType((None, 64), f32),), None),),
            (2,))
    for pipeline in ("mx-to-cpu", "mx-kernel-to-cpu"):
        assert "memrefCopy" not in evaluate._lower_for_cpu(main, pipeline)
        steps = [s for s in registry.PIPELINES[pipeline] if s != "mx-cpu-dynamic-copies"]
        monkeypatch.setitem(registry.PIPELINES, "no-copies", steps)
        assert "memrefCopy" in evaluate._lower_for_cpu(main, "no-copies")
    exe = evaluate.compile_program(main, "cpu", "mx-kernel-to-cpu")
    # past 64 shapes the runtime rewrites one descriptor layout in place (runtime/cpu.py)
    for n in (*range(80), 300, 3, 300):
        a = np.arange(n * 64, dtype=np.float32).reshape(n, 64)
        b = -np.arange(64, dtype=np.float32).reshape(1, 64)
        out = np.empty((n + 1, 64), np.float32)
        exe([a, b], [out])
        np.testing.assert_array_equal(out, np.concatenate([a, b]))
