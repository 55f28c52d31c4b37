"""mx-to-gpu: the kernels' shape (launches, block sizes, workgroup memory, barriers), the kernel
IR contract the target emitters rely on, and the launch plan extracted from the host function."""

import json
import os
import re

import mxir as mx
import numpy as np
import pytest
from mxir.evaluate import context
from mxir.program import build_module, trace_program

ALLOWED_KERNEL_OPS = re.compile(
    r"^(arith\.\w+|math\.\w+|memref\.(load|store|atomic_rmw)|scf\.(for|if|yield)|"
    r"gpu\.(block_id|thread_id|block_dim|grid_dim|barrier|return))$")


def gpu_module(outputs):
    """(module after mx-to-gpu, number of host inputs) for evaluating `outputs`."""
    from mlir import ir
    from mxir.passes import run_pipeline

    main, inputs = trace_program(list(outputs))
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-to-gpu"])
    return module, len(inputs)


def plan_of(outputs):
    from mxir.passes.gpu import extract_plan, kernel_signatures

    module, n = gpu_module(outputs)
    with context():
        return extract_plan(module, n), {k["name"]: k for k in kernel_signatures(module)}, module


def kernel_ops(module):
    from mxir.passes.gpu import _walk

    out = {}
    for m in module.body.operations:
        if m.operation.name == "gpu.module":
            for f in m.regions[0].blocks[0].operations:
                name = str(f.attributes["sym_name"]).strip('"')
                out[name] = [o.operation.name for o in _walk(f)]
    return out


def launches(plan):
    return [s for s in plan["steps"] if s["op"] == "launch"]


def arr(shape, dtype=np.float32, seed=0):
    return mx.array(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def test_fused_elementwise_is_one_launch_of_256_threads_with_several_elements_each():
    x = arr((100, 100))
    plan, kernels, module = plan_of([mx.exp(mx.sin(x) * x) + 1])
    (step,) = launches(plan)
    assert step["threadgroup"] == [256, 1, 1]
    assert step["grid"] == [-(-10000 // (256 * 4)), 1, 1]
    ops = kernel_ops(module)[step["kernel"]]
    assert "scf.for" in ops and ops.count("math.exp") == 1 and ops.count("math.sin") == 1
    assert kernels[step["kernel"]]["block"] == [256, 1, 1]


def test_row_sum_reduces_through_workgroup_memory_with_barriers():
    x = arr((64, 1000))
    plan, kernels, module = plan_of([mx.sum(x * x, axis=1)])
    (reduce,) = launches(plan)  # the zero fill is folded into the reduction's init
    assert reduce["grid"] == [64, 1, 1] and reduce["threadgroup"] == [256, 1, 1]
    k = kernels[reduce["kernel"]]
    assert k["workgroup"] == [{"element": "f32", "shape": [256], "nbytes": 1024}]
    ops = kernel_ops(module)[reduce["kernel"]]
    assert ops.count("gpu.barrier") == 9  # after the partials, then one per tree level


def test_small_reduction_uses_a_smaller_group():
    x = arr((6, 20))
    plan, kernels, _ = plan_of([mx.max(x, axis=0)])
    reduce = launches(plan)[-1]
    assert reduce["grid"] == [20, 1, 1] and reduce["threadgroup"] == [32, 1, 1]
    assert kernels[reduce["kernel"]]["workgroup"][0]["shape"] == [32]


def test_matmul_is_tiled_through_workgroup_memory():
    a, b = arr((70, 50)), arr((50, 40), seed=1)
    plan, kernels, module = plan_of([a @ b])
    mm = launches(plan)[-1]
    assert mm["threadgroup"] == [16, 16, 1] and mm["grid"] == [3, 5, 1]
    assert [w["shape"] for w in kernels[mm["kernel"]]["workgroup"]] == [[16, 16], [16, 16]]
    ops = kernel_ops(module)[mm["kernel"]]
    assert ops.count("gpu.barrier") == 2 and ops.count("scf.for") == 2


def test_batched_matmul_puts_the_batch_on_grid_z():
    a, b = arr((3, 20, 8)), arr((3, 8, 24), seed=1)
    plan, _, _ = plan_of([a @ b])
    assert launches(plan)[-1]["grid"] == [2, 2, 3]


def test_argmax_is_two_tree_reductions():
    """argmax lowers to the row's maximum, then the least position holding it (dialect
    ArgReduce): two single-output reductions, each a tree through workgroup memory, where
    the fused (value, index) pair ran one thread per output."""
    plan, kernels, module = plan_of([mx.argmax(arr((5, 300)), axis=1)])
    steps = launches(plan)
    assert [kernels[k["kernel"]]["workgroup"][0]["element"] for k in steps] == ["f32", "i32"]
    assert all("gpu.barrier" in kernel_ops(module)[k["kernel"]] for k in steps)


def test_scatter_add_runs_in_parallel_with_atomics_and_gather_in_parallel():
    x, u = arr((8, 4)), arr((3, 4), seed=1)
    idx = mx.array(np.array([1, 1, 5], np.int32))
    plan, _, module = plan_of([x.at[idx].add(u), x[idx]])
    sizes = [s["threadgroup"] for s in launches(plan)]
    assert [1, 1, 1] not in sizes and all(s[0] > 1 for s in sizes)
    ops = kernel_ops(module)
    (scatter,) = [k for k, o in ops.items() if "memref.atomic_rmw" in o]
    (step,) = [s for s in launches(plan) if s["kernel"] == scatter]
    assert step["grid"][0] * step["threadgroup"][0] >= 12  # one thread per (row, column)


def test_scatter_of_a_non_atomic_type_stays_on_one_thread():
    x = mx.array(np.arange(8, dtype=np.int64))
    idx = mx.array(np.array([1, 1, 5], np.int32))
    plan, _, module = plan_of([x.at[idx].add(mx.array(np.array([1, 2, 3], np.int64)))])
    assert [1, 1, 1] in [s["threadgroup"] for s in launches(plan)]
    assert not any("memref.atomic_rmw" in o for o in kernel_ops(module).values())


def test_fills_fold_into_the_reductions_and_matmuls_that_overwrite_them():
    a, b = arr((20, 30)), arr((30, 10), seed=1)
    plan, _, module = plan_of([a @ b, mx.max(a, axis=1)])
    assert len(launches(plan)) == 2  # no fill launches: each kernel starts from the constant
    assert not [s for s in plan["steps"] if s["op"] == "copy"]


def library_plan(outputs):
    from mlir import ir
    from mxir.passes import run_pipeline
    from mxir.passes.gpu import LIBRARY_ATTR, extract_plan

    main, inputs = trace_program(list(outputs))
    with context(), ir.Location.unknown():
        module = build_module(main)
        module.operation.attributes[LIBRARY_ATTR] = ir.UnitAttr.get()
        run_pipeline(module, ["mx-to-gpu"])
        return extract_plan(module, len(inputs))


def test_library_mode_turns_float_matmuls_into_gemm_steps():
    from mxir.schema.gemm import gemm_layout

    a, b = arr((20, 30)), arr((30, 10), seed=1)
    plan = library_plan([a @ b, a.T @ a, (a @ b).astype(mx.float16)])
    gemms = [s for s in plan["steps"] if s["op"] == "gemm"]
    assert len(gemms) == 2  # the third product is the first one, shared
    g = gemms[0]
    assert (g["m"], g["n"], g["k"], g["batch"], g["beta"]) == (20, 10, 30, 1, 0)
    assert g["a_strides"][1:] == [30, 1] and g["c_strides"][1:] == [10, 1]
    lay = gemm_layout(g)  # row-major C: BLAS computes C^T = B^T A^T
    assert (lay["A"], lay["B"], lay["m"], lay["n"], lay["ldc"]) == ("b", "a", 10, 20, 10)
    t = gemms[1]  # a.T @ a reads A transposed: a stride-1 m dimension
    assert t["a_strides"][1:] == [1, 30] and (t["m"], t["n"], t["k"]) == (30, 30, 20)
    half = library_plan([arr((4, 4), np.float16) @ arr((4, 4), np.float16, seed=1)])
    # float16 products accumulate in float32 (mx-to-linalg): an f32 gemm between casts
    assert [s["element"] for s in half["steps"] if s["op"] == "gemm"] == ["f32"]


def test_matrix_vector_products_and_batches_are_gemm_steps():
    x, w = arr((64, 16)), arr((16,), seed=1)
    plan = library_plan([x @ w, arr((5, 3, 4)) @ arr((5, 4, 2), seed=2)])
    mv, bmm = [s for s in plan["steps"] if s["op"] == "gemm"]
    assert (mv["m"], mv["n"], mv["k"], mv["batch"]) == (64, 1, 16, 1)
    assert (bmm["m"], bmm["n"], bmm["k"], bmm["batch"]) == (3, 2, 4, 5)
    assert [bmm["a_strides"][0], bmm["b_strides"][0], bmm["c_strides"][0]] == [12, 8, 6]


def test_a_temporary_copied_into_an_output_is_computed_there():
    # per-example gradients: bufferization computes the result in a temporary, then copies it
    w, x, y = arr((16,)), arr((64, 16), seed=1), arr((64,), seed=2)
    g = mx.vmap(mx.grad(lambda w, x, y: mx.square(mx.inner(x, w) - y)), in_axes=(None, 0, 0))
    plan, _, _ = plan_of([g(w, x, y)])
    assert not [s for s in plan["steps"] if s["op"] == "copy"]
    last = launches(plan)[-1]
    assert {"buffer": plan["outputs"][0]} in last["args"]


def test_output_copy_elision_keeps_copies_it_cannot_remove():
    from mxir.passes.gpu import _elide_output_copies

    k = {"op": "launch", "kernel": "k", "args": [{"buffer": 0}, {"buffer": 2}]}
    steps = [{"op": "alloc", "buffer": 2}, k, {"op": "copy", "src": 2, "dst": 1, "nbytes": 8}]
    sizes = {0: 8, 1: 8, 2: 8}
    assert _elide_output_copies(steps, [2], {1}, sizes) == [
        {**k, "args": [{"buffer": 0}, {"buffer": 1}]}]
    reads_out = {"op": "launch", "kernel": "r", "args": [{"buffer": 1}]}
    kept = [steps[0], k, reads_out, steps[2]]  # the output is read while the temporary lives
    assert _elide_output_copies(kept, [2], {1}, sizes) == kept
    assert _elide_output_copies(steps, [2], set(), sizes) == steps  # not an output


def test_kernel_ir_keeps_to_the_contract_of_the_emitters():
    from mlir import ir

    x, y = arr((4, 6)), arr((6, 3), seed=1)
    idx = mx.array(np.array([0, 3], np.int32))
    outs = [mx.concatenate([x, x]), x[1:3, ::2], mx.pad(x, ((1, 1), (0, 2))), x.T @ x,
            mx.sum(x, axis=0), x @ y, x[idx], mx.arange(7), mx.any(x > 0, axis=1)]
    module, _ = gpu_module(outs)
    for name, ops in kernel_ops(module).items():
        bad = [o for o in ops if not ALLOWED_KERNEL_OPS.match(o)]
        assert not bad, (name, bad)
    with context():
        for m in module.body.operations:
            if m.operation.name != "gpu.module":
                continue
            for f in m.regions[0].blocks[0].operations:
                for t in ir.FunctionType(ir.TypeAttr(f.attributes["function_type"]).value).inputs:
                    if isinstance(t, ir.MemRefType):
                        assert "strided" not in str(t) and "map" not in str(t), t


def test_plan_allocates_frees_and_copies_in_order():
    x, w = arr((4, 8)), arr((8, 8), seed=1)
    outs = [mx.argmax(x @ w, axis=1), x.reshape(32)]  # temporaries; an output that is a copy
    plan, kernels, _ = plan_of(outs)
    assert plan["inputs"] == [0, 1] and plan["outputs"] == [2, 3]
    steps = plan["steps"]
    allocs = [i for i, s in enumerate(steps) if s["op"] == "alloc"]
    assert len(allocs) == 2, "the product and the running maximum are temporaries"
    for i in allocs:
        b = steps[i]["buffer"]
        (free,) = [j for j, s in enumerate(steps) if s == {"op": "free", "buffer": b}]
        uses = [j for j, s in enumerate(steps) if s["op"] == "launch"
                and {"buffer": b} in s["args"]]
        assert i < min(uses) < max(uses) < free  # freed right after its last use:
        assert all(steps[j]["op"] == "free" for j in range(max(uses) + 1, free))
    assert {"op": "copy", "src": 0, "dst": 3, "nbytes": 128} in steps
    for s in launches(plan):
        sig = kernels[s["kernel"]]
        assert len(sig["args"]) == len(s["args"])
        for a, kind in zip(s["args"], sig["args"]):
            assert ("buffer" in a) == (kind["kind"] == "buffer")
    sizes = {b["id"]: b["nbytes"] for b in plan["buffers"]}
    assert sizes[0] == 128 and sizes[1] == 256 and sizes[2] == 16 and sizes[3] == 128


def test_plan_carries_constant_buffers():
    from mxir.schema.executable import decode_bytes

    x = arr((4, 8))
    idx = mx.array(np.array([0, 31, 31], np.int32))
    flat = mx.zeros((32,)).at[idx].add(mx.ones((3,)))  # scatter into a constant
    plan, _, _ = plan_of([flat + x.reshape(32)])
    consts = plan["constants"]
    if consts:  # when folding leaves the zeros as a global, its bytes travel with the plan
        (c,) = consts.values()
        assert decode_bytes(c["data"], c["element"]).shape == (32,)


def test_executable_round_trips_through_json():
    from mxir.passes.gpu import compile_for_gpu
    from mxir.schema.executable import Executable

    x = arr((4, 8))
    main, _ = trace_program([mx.sum(x * x, axis=0)])
    with context():
        from mlir import ir

        with ir.Location.unknown():
            exe = compile_for_gpu(build_module(main), translate=lambda m: "// kernels")
    again = Executable.loads(exe.dumps())
    assert again.to_json() == json.loads(exe.dumps())
    assert {k.name for k in again.kernels} == {s["kernel"] for s in again.launches()}
    assert all(k.source == "// kernels" for k in again.kernels)
    with pytest.raises(ValueError, match="format"):
        Executable.from_json({**exe.to_json(), "format": 99})


def test_runtime_imports_without_mlir():
    import subprocess
    import sys

    import mxir.runtime

    root = os.path.dirname(mxir.runtime.__path__[0])
    # `mxir` as a bare package over the repository's folders (as benchmarks/cuda_run.py does):
    # the runtime and the schema import without the frontend, and MLIR cannot be imported
    code = ("import sys, types; sys.modules['mlir'] = None; "
            "sys.modules['mxir'] = types.ModuleType('mxir'); "
            f"sys.modules['mxir'].__path__ = [{root!r}]; "
            "import mxir.runtime.plan, mxir.runtime.export, mxir.runtime.metal, "
            "mxir.schema.gemm; assert 'mxir.dialect' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gpu_device_without_a_backend_explains_how_to_get_one(monkeypatch):
    monkeypatch.delenv("MXIR_GPU_BACKEND", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    mx.set_default_device(mx.gpu)
    try:
        with pytest.raises(RuntimeError, match="MXIR_GPU_BACKEND=metal-sim"):
            mx.eval(mx.ones((2,)) + 1)
    finally:
        mx.set_default_device(mx.cpu)


def test_unknown_gpu_backend_is_refused(monkeypatch):
    monkeypatch.setenv("MXIR_GPU_BACKEND", "vulkan")
    with pytest.raises(RuntimeError, match="not a GPU backend"):
        mx.is_available(mx.gpu)


# -- end to end on metal-sim (runtime/metal_sim): the plan interpreter runs the MSL kernels ------
def _metal_sim():
    try:
        import mxir.runtime.metal_sim as sim
    except ImportError:
        return None
    return sim if hasattr(sim, "open_device") and sim.is_available() else None


CASES = {
    "elementwise": lambda x, y, i: mx.exp(mx.sin(x) * x) + 1,
    "row_sum": lambda x, y, i: mx.sum(x * x, axis=1),
    "col_max": lambda x, y, i: mx.max(x, axis=0),
    "argmax": lambda x, y, i: mx.argmax(x, axis=1),
    "any": lambda x, y, i: mx.any(x > 1.0, axis=1),
    "matmul": lambda x, y, i: x @ y,
    "transpose": lambda x, y, i: x.T + 0,
    "take": lambda x, y, i: x[i],
    "scatter_add": lambda x, y, i: x.at[i].add(mx.ones((3, x.shape[1]))),
    "concat_pad_slice": lambda x, y, i: mx.pad(mx.concatenate([x, x])[1:, ::2], ((1, 0), (0, 1))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_results_match_the_cpu(case, monkeypatch):
    if _metal_sim() is None:
        pytest.skip("metal-sim runtime not available")
    monkeypatch.setenv("MXIR_GPU_BACKEND", "metal-sim")
    x, y = arr((37, 300)), arr((300, 21), seed=1)
    i = mx.array(np.array([0, 36, 36], np.int32))
    expect = np.array(CASES[case](x, y, i))
    mx.set_default_device(mx.gpu)
    try:
        got = np.array(CASES[case](x, y, i))
    finally:
        mx.set_default_device(mx.cpu)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=2e-5, atol=2e-4)


def test_a_long_reduction_to_few_outputs_is_split_over_groups_with_atomics():
    x = arr((4, 100000))
    plan, _, module = plan_of([mx.sum(x, axis=1)])
    fill, red = launches(plan)  # the partial sums add onto the filled output
    assert red["grid"][0] > 4 and red["grid"][0] % 4 == 0
    assert "memref.atomic_rmw" in kernel_ops(module)[red["kernel"]]
