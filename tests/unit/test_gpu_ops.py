"""Every op on the GPU path: mx-to-gpu, the MSL emitter and the launch plan run on metal-sim,
against the NumPy reference interpreter; then the seed's examples with mx.gpu as the device."""

import json
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
        ("bitwise_and", [((5,), i32), ((5,), i32)], {}, [None, None]),
        ("bitwise_or", [((5,), b), ((5,), b)], {}, [None, None]),
        ("bitwise_xor", [((5,), i32), ((5,), i32)], {}, [None, None]),
        ("left_shift", [((6,), i32), ((6,), i32)], {},
         [None, np.array([0, 1, 31, 32, 40, -1], np.int32)]),  # counts past the width
        ("right_shift", [((6,), i32), ((6,), i32)], {},
         [np.array([-9, 9, -9, 9, -1, 7], np.int32), np.array([1, 2, 33, 32, 3, -2], np.int32)]),
        ("bitwise_invert", [((5,), i32)], {}, [None]),
        ("scan", [((3, 5), i32)], {"kind": 0, "axis": 1, "reverse": True, "inclusive": False},
         [None]),
        ("sort", [((7,), f32)], {"axis": 0},
         [np.array([2.0, np.nan, -1.0, 2.0, -np.inf, 0.0, np.nan], np.float32)]),
        ("astype", [((5,), f32)], {"dtype": "int32"}, [None]),
        ("barrier", [((2, 3), f32), ((), f32)], {}, [None, np.array(np.inf, np.float32)]),
        ("bitcast", [((5,), f32)], {"dtype": "uint32"}, [None]),
        ("size", [((3, 5, 2), f32)], {"axes": (0, 2), "dtype": "float32"}, [None]),
        ("random_bits", [((2,), "uint32")], {"shape": (3, 4), "width": 4},
         [np.array([7, 11], np.uint32)]),
        ("arange", [], {"start": 2.0, "step": 3.0, "shape": (5,), "dtype": "int32"}, []),
        ("metal_kernel", [((6,), "float32"), ((), "int32")], {"spec": _KERNEL_SPEC}, [None, 3]),
        ("constant", [], {"value": ConstValue(np.arange(6, dtype=np.float32).reshape(2, 3),
                                              "float32")}, []),
    ]


# a user's kernel (mx.fast.metal_kernel): y = x * n + n-th element, in groups of 4 threads
_KERNEL_SPEC = json.dumps({
    "kernel": "k", "grid": [6, 1, 1], "threadgroup": [4, 1, 1], "init_value": None,
    "inputs": [[[6], "float32"], [[], "int32"]], "outputs": [[[6], "float32"]],
    "shape_infos": [[True, False, False], [False, False, False]],
    "source": "[[kernel]] void k(const device float* x [[buffer(0)]], const constant int* "
              "x_shape [[buffer(1)]], const constant int& n [[buffer(2)]], device float* y "
              "[[buffer(3)]], uint i [[thread_position_in_grid]]) { y[i] = x[i] * n + "
              "x[n % x_shape[0]]; }"})


def all_cases():
    out = []
    for name, shapes, attrs in cases():  # the float ops of the transform-rule tests, in f32
        out.append((name, [(s, "float32") for s in shapes], attrs, [None] * len(shapes)))
    return out + extra_cases()


def test_every_op_is_covered():
    # the LAPACK ops run on the CPU only, as in MLX: the GPU pipeline refuses them at the op
    # (test_linalg.py::test_gpu_pipeline_refuses_lapack_ops_at_the_op)
    cpu_only = {n for n, op in OPS.items() if type(op).__module__ == "mxir.dialect.lapack"}
    # so do ops whose operands or results are complex64 only (real, imag, conjugate, fft):
    # MSL has no complex type (test_complex.py::test_gpu_pipeline_refuses_complex_...)
    cpu_only |= {"real", "imag", "conjugate", "fft"}
    assert set(OPS) - cpu_only - {c[0] for c in all_cases()} == set()


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


class HostGemm:
    """metal-sim plus a `gemm` that computes each step with NumPy on the step's views
    (schema/gemm.py): the oracle for the steps' layout where no GPU matrix library runs."""

    def __init__(self, device):
        self.device = device

    def __getattr__(self, name):
        return getattr(self.device, name)

    def gemm(self, a, b, c, step):
        from mxir.schema.executable import ELEMENTS
        from mxir.schema.gemm import gemm_views

        dt = np.dtype(ELEMENTS[step["element"]])
        arrays = [np.empty(buf.nbytes // dt.itemsize, dt) for buf in (a, b, c)]
        for buf, arr in zip((a, b, c), arrays):
            self.device.download(buf, arr)
        va, vb, vc = gemm_views(step, *arrays)
        vc[...] = np.matmul(va, vb) + (vc if step["beta"] else 0)
        self.device.upload(c, arrays[2])


def _library_case(outputs_fn, arrays):
    """Compile `outputs_fn(*arrays)` with matmuls as gemm plan steps (the CUDA target's
    mapping) and run it on metal-sim, the gemm steps by HostGemm."""
    from mxir.evaluate import context as eval_context
    from mxir.passes.gpu import compile_for_gpu
    from mxir.program import build_module, trace_program
    from mxir.runtime.plan import PlanError, run_plan

    xs = [mx.array(a) for a in arrays]
    outs = outputs_fn(*xs)
    main, inputs = trace_program(outs)
    with eval_context(), ir.Location.unknown():
        exe = compile_for_gpu(build_module(main), library=True)
    assert any(s["op"] == "gemm" for s in exe.plan["steps"])
    got = [np.full(o.shape, np.nan, np.float32) for o in outs]
    with pytest.raises(PlanError, match="no matrix library"):  # NumPy never does a GPU's work
        run_plan(exe, sim.open_device(), [np.asarray(v) for v in inputs], got)
    run_plan(exe, HostGemm(sim.open_device()), [np.asarray(v) for v in inputs], got)
    return got, [np.array(o) for o in outs]  # the CPU path as the reference


LIBRARY_CASES = {
    "matmul": (lambda a, b: [a @ b], [(33, 20), (20, 7)]),
    "transposed": (lambda a, b: [a.T @ b.T, a @ a.T], [(20, 33), (7, 20)]),
    "matvec": (lambda a, b: [a @ b, b @ a.T], [(40, 9), (9,)]),
    "batched": (lambda a, b: [a @ b, a @ b[0]], [(3, 5, 4), (3, 4, 6)]),
    "mlp_grad": (lambda w, x: list(mx.value_and_grad(
        lambda w, x: mx.sum(mx.maximum(x @ w, 0.0) ** 2))(w, x)), [(6, 5), (8, 6)]),
    "per_example": (lambda w, x: [mx.vmap(mx.grad(lambda w, x: mx.square(mx.inner(x, w))),
                                          in_axes=(None, 0))(w, x)], [(7,), (12, 7)]),
}


@pytest.mark.parametrize("case", sorted(LIBRARY_CASES))
def test_matmuls_as_library_gemm_steps_match_the_cpu(case):
    fn, shapes = LIBRARY_CASES[case]
    rng = np.random.default_rng(len(case))
    got, ref = _library_case(fn, [rng.standard_normal(s).astype(np.float32) for s in shapes])
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-5)


def test_long_reductions_split_over_groups_that_add_atomically():
    from mxir.evaluate import context as eval_context
    from mxir.passes.gpu import compile_for_gpu
    from mxir.program import build_module, trace_program
    from mxir.runtime.plan import run_plan

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 20000)).astype(np.float32)
    k = rng.integers(-50, 50, 30000).astype(np.int32)
    xa, ka = mx.array(x), mx.array(k)
    outs = [mx.sum(xa, axis=1), mx.sum(xa * xa), mx.sum(ka)]
    main, inputs = trace_program(outs)
    with eval_context(), ir.Location.unknown():
        exe = compile_for_gpu(build_module(main))
    grids = [s["grid"][0] for s in exe.launches()]
    assert max(grids) > 3  # several groups per output
    got = [np.full((3,), np.nan, np.float32), np.full((), np.nan, np.float32),
           np.zeros((), np.int32)]
    for order in ("forward", "shuffle"):
        run_plan(exe, sim.open_device() if order == "forward" else _device(order),
                 [np.asarray(v) for v in inputs], got)
        # float atomic adds land in any order: the rounding, not the value, may differ
        np.testing.assert_allclose(got[0], x.astype(np.float64).sum(1), rtol=1e-4)
        np.testing.assert_allclose(got[1], (x.astype(np.float64) ** 2).sum(), rtol=1e-4)
        assert int(got[2]) == int(k.sum())
