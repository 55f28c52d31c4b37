"""Every op on the GPU path: mx-to-gpu, the MSL emitter and the launch plan run on metal-sim,
against the NumPy reference interpreter; then the seed's examples with mx.gpu as the device."""

import os

import mxir as mx
import numpy as np
import pytest
from harness import context, random_values, single_op_module
from mlir import ir
from mxir.dialect import OPS, ConstValue, TensorType, to_storage
from mxir.dialect.core import from_storage, is_float
from mxir.passes.reference import interpret
from test_transform_rules import DOMAIN, cases

sim = pytest.importorskip("mxir.runtime.metal_sim")
if not sim.is_available():
    pytest.skip("metal-sim needs a C++ compiler", allow_module_level=True)


def extra_cases():
    """Ops whose operands are not all float: indices, bool conditions, keys, no operands."""
    i32, f32, b = "int32", "float32", "bool"
    idx = np.array([[0, 3, 3], [1, 0, 2]], np.int32)
    return [
        ("take", [((2, 4, 3), f32), ((3,), i32)], {"axis": 1}, [None, np.array([3, 0, 3])]),
        ("take_along_axis", [((2, 4), f32), ((2, 3), i32)], {"axis": 1}, [None, idx]),
        ("scatter_add", [((2, 4), f32), ((3,), i32), ((2, 3), f32)], {"axis": 1},
         [None, np.array([0, 3, 3]), None]),  # a duplicate index accumulates
        ("slice_update", [((4, 5), f32), ((2, 3), f32)],
         {"start": (1, 0), "stop": (3, 5), "strides": (1, 2)}, [None, None]),
        ("argmax", [((3, 5), f32)], {"axis": 1, "keepdims": False}, [None]),
        ("argmin", [((3, 5), f32)], {"axis": 0, "keepdims": True}, [None]),
        ("select", [((2, 3), b), ((2, 3), f32), ((2, 3), f32)], {}, [None, None, None]),
        ("logical_and", [((5,), b), ((5,), b)], {}, [None, None]),
        ("logical_or", [((5,), b), ((5,), b)], {}, [None, None]),
        ("logical_not", [((5,), b)], {}, [None]),
        ("equal", [((5,), i32), ((5,), i32)], {}, [None, None]),
        ("astype", [((5,), f32)], {"dtype": "int32"}, [None]),
        ("random_bits", [((2,), "uint32")], {"shape": (3, 4), "width": 4},
         [np.array([7, 11], np.uint32)]),
        ("arange", [], {"start": 2.0, "step": 3.0, "shape": (5,), "dtype": "int32"}, []),
        ("constant", [], {"value": ConstValue(np.arange(6, dtype=np.float32).reshape(2, 3),
                                              "float32")}, []),
    ]


def all_cases():
    out = []
    for name, shapes, attrs in cases():  # the float ops of the transform-rule tests, in f32
        out.append((name, [(s, "float32") for s in shapes], attrs, [None] * len(shapes)))
    return out + extra_cases()


def test_every_op_is_covered():
    assert set(OPS) - {c[0] for c in all_cases()} == set()


@pytest.mark.parametrize("name,operands,attrs,fixed", all_cases(),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(all_cases())])
def test_op_on_metal_sim_matches_reference(name, operands, attrs, fixed):
    from mxir.passes.gpu import compile_for_gpu
    from mxir.runtime.plan import run_plan

    rng = np.random.default_rng(0)
    in_types = [TensorType(s, d) for s, d in operands]
    inputs = []
    for t, value in zip(in_types, fixed):
        if value is None:
            lo, hi = DOMAIN.get(name, (-2, 2))
            value = random_values(t.shape, t.dtype, rng, lo, hi)
        inputs.append(to_storage(np.asarray(value), t.dtype))
    with context(), ir.Location.unknown():
        module, out_types = single_op_module(name, in_types, attrs)
        ref = interpret(module, "main", inputs)
        exe = compile_for_gpu(module)
    outs = [np.empty(t.shape, to_storage(np.zeros(()), t.dtype).dtype) for t in out_types]
    for order in ("forward", "reverse", "shuffle"):
        device = sim.open_device() if order == "forward" else _device(order)
        run_plan(exe, device, inputs, outs)
        for g, r, t in zip(outs, ref, out_types):
            g, r = from_storage(g, t.dtype), from_storage(r, t.dtype)
            if is_float(t.dtype):
                np.testing.assert_allclose(g, r, rtol=3e-5, atol=3e-6, equal_nan=True)
            else:
                np.testing.assert_array_equal(g, r)


def _device(order):
    try:
        return sim.MetalSimDevice(order=order)
    except TypeError:
        os.environ["MXIR_METAL_SIM_ORDER"] = order
        return sim.open_device()


SEED_CHECKS = [
    (lambda: mx.grad(mx.sin)(mx.array(mx.pi)), "array(-1, dtype=float32)"),
    (lambda: mx.grad(mx.grad(mx.sin))(mx.array(mx.pi / 2)), "array(-1, dtype=float32)"),
    (lambda: mx.grad(lambda w, x, y: mx.mean(mx.square(w * x - y)), argnums=1)(
        mx.array(1.0), mx.array([0.5, -0.5]), mx.array([1.5, -1.5])),
     "array([-1, 1], dtype=float32)"),
    (lambda: mx.vmap(mx.grad(mx.sin))(mx.array([0.0, 1.0])), "array([1, 0.540302], dtype=float32)"),
]


@pytest.mark.parametrize("index", range(len(SEED_CHECKS)))
def test_seed_examples_with_the_gpu_as_default_device(index, monkeypatch):
    monkeypatch.setenv("MXIR_GPU_BACKEND", "metal-sim")
    fn, expected = SEED_CHECKS[index]
    mx.set_default_device(mx.gpu)
    try:
        assert repr(fn()) == expected
    finally:
        mx.set_default_device(mx.cpu)
