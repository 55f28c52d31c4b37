"""gpu-to-ptx (passes/ptx.py): PTX for elementwise, reduction and matmul programs, CUDA grid
limits, executable export/import, and the CUDA runtime's import safety. PTX generation runs in
a fresh interpreter (the MLIR wheels abort the process on some inputs); the tests that need a
GPU run only where runtime/cuda.py finds one."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GEN = r"""
import json, sys
import numpy as np
import mxir as mx
from mlir import ir
from mxir.evaluate import context
from mxir.passes.ptx import compile_for_ptx
from mxir.program import build_module, trace_program

def arr(shape, seed=0):
    return mx.array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))

x, a, b = arr((64, 1024)), arr((70, 50)), arr((50, 40), 1)
cases = {
    "elementwise": [mx.sin(x) * mx.cos(x) + mx.exp(-x * x)],
    "reduction": [mx.sum(x * x, axis=1)],
    "matmul": [a @ b],
    "batched": [mx.array(np.zeros((70000, 2, 3), np.float32)) @ arr((70000, 3, 2))],
    "gemm": [a @ b],
}
out = {}
for name, outputs in cases.items():
    main, inputs = trace_program(outputs)
    with context(), ir.Location.unknown():
        exe = compile_for_ptx(build_module(main), chip=sys.argv[1],
                              library=name not in ("matmul", "batched"))
    out[name] = exe.to_json()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exes():
    r = subprocess.run([sys.executable, "-c", GEN, "sm_90"], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    from mxir.schema.executable import Executable

    return {k: Executable.from_json(v) for k, v in json.loads(r.stdout).items()}


def sources(exe):
    return {k.name: k.source for k in exe.kernels}


def test_every_kernel_is_a_ptx_entry_for_sm_90(exes):
    for exe in exes.values():
        assert exe.target == "ptx"
        for k in exe.kernels:
            assert ".target sm_90" in k.source and ".version 8.0" in k.source
            assert f".visible .entry {k.name}(" in k.source
        names = {k.name for k in exe.kernels}
        assert {s["kernel"] for s in exe.launches()} <= names


def test_elementwise_loads_are_non_coherent_and_all_in_flight_before_use(exes):
    exe = exes["elementwise"]
    (k,) = exe.kernels
    lines = [ln.strip() for ln in k.source.splitlines()]
    loads = [i for i, ln in enumerate(lines) if ln.startswith("ld.global.nc.")]
    # 4 elements per thread, unrolled, bounds checks folded: 4 adjacent loads before any math
    # (later nc loads read sin/cos's reduction table on the slow path)
    first_math = next(i for i, ln in enumerate(lines)
                      if ln.startswith(("mul.", "fma.", "add.", "sub.")) and ".f32" in ln)
    assert loads[:4] == list(range(loads[0], loads[0] + 4)) and loads[3] < first_math
    assert all(i > first_math for i in loads[4:])
    assert "st.global" in k.source
    # libdevice's sin/cos/exp are inlined: no external calls left in the PTX
    assert ".extern" not in k.source and "call" not in k.source.replace("call.uni", "")


def test_reduction_uses_shared_memory_and_barriers(exes):
    src = "".join(sources(exes["reduction"]).values())
    assert ".shared" in src and "bar.sync" in src


def test_matmul_tiles_through_shared_memory(exes):
    exe = exes["matmul"]
    mm = exe.launches()[-1]
    assert mm["threadgroup"] == [16, 16, 1]
    src = sources(exe)[mm["kernel"]]
    assert ".shared" in src and "bar.sync" in src and ("fma.rn.f32" in src or "mul.rn.f32" in src)


def test_float_matmuls_are_cublas_gemm_steps_by_default(exes):
    exe = exes["gemm"]
    assert not exe.launches() and not exe.kernels
    (g,) = [s for s in exe.plan["steps"] if s["op"] == "gemm"]
    assert (g["m"], g["n"], g["k"], g["element"], g["beta"]) == (70, 40, 50, "f32", 0)


def test_batches_beyond_cudas_grid_z_limit_fold_into_x(exes):
    exe = exes["batched"]
    mm = exe.launches()[-1]
    assert mm["grid"][1:] == [1, 1] and mm["grid"][0] >= 70000
    assert all(g[1] <= 65535 and g[2] <= 65535 for g in (s["grid"] for s in exe.launches()))
    assert "%ctaid.z" not in sources(exe)[mm["kernel"]]


def test_bad_chip_is_an_error_not_a_crash():
    from mxir.dialect import MxError
    from mxir.passes.ptx import nvvm_pipeline

    with pytest.raises(MxError, match="bad chip"):
        nvvm_pipeline("gfx90a")
    assert "chip=sm_80" in nvvm_pipeline("sm_80") and "+ptx80" in nvvm_pipeline("sm_80")


def test_executable_export_import_round_trip(exes, tmp_path):
    from mxir.runtime.export import load, save

    for suffix in (".json", ".json.gz"):
        for exe in exes.values():
            path = str(tmp_path / f"exe{suffix}")
            save(exe, path)
            back = load(path)
            assert back.dumps() == exe.dumps()
            assert [k.source for k in back.kernels] == [k.source for k in exe.kernels]


def test_translate_gpu_to_ptx_tool(tmp_path):
    src = tmp_path / "k.mlir"
    src.write_text("""
gpu.module @k {
  gpu.func @k(%a: memref<256xf32>, %b: memref<256xf32>) kernel
      attributes {known_block_size = array<i32: 256, 1, 1>} {
    %t = gpu.thread_id x
    %v = memref.load %a[%t] : memref<256xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%t] : memref<256xf32>
    gpu.return
  }
}
""")
    r = subprocess.run([sys.executable, "-m", "mxir.tools.translate", str(src), "--gpu-to-ptx"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert ".visible .entry k(" in r.stdout and ".target sm_90" in r.stdout
    assert "ex2.approx" in r.stdout  # libdevice's expf


RUNTIME_ONLY = r"""
import sys, types
# `mxir` as a bare package over the repository's folders, as benchmarks/cuda_run.py does
sys.modules["mxir"] = types.ModuleType("mxir")
sys.modules["mxir"].__path__ = [sys.argv[1]]
from mxir.runtime import cuda, export, plan
assert "mxir.dialect" not in sys.modules and "mlir" not in sys.modules, sorted(sys.modules)
print(cuda.is_available())
"""


def test_cuda_runtime_imports_without_mlir_or_the_frontend():
    r = subprocess.run([sys.executable, "-c", RUNTIME_ONLY, ROOT], capture_output=True,
                       text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("True", "False")


def test_cuda_device_refuses_cleanly_without_cuda():
    from mxir.runtime import cuda

    if cuda.is_available():
        pytest.skip("a CUDA device is present")
    if cuda._api() is None:
        with pytest.raises(cuda.CudaError, match="CuPy or cuda-python"):
            cuda.CudaDevice()
    with pytest.raises(cuda.CudaError):
        cuda._check_launch((1, 1, 1), (64, 64, 1), "threadgroups")
    with pytest.raises(cuda.CudaError):
        cuda._check_launch((1, 1, 1), (64, 1, 1), "threads")
    assert cuda._scalar(7, "index").dtype == np.int64
    assert cuda._scalar(1.5, "f16").dtype == np.uint16


def test_backend_cuda_is_selectable_and_refused_where_absent():
    code = ("import mxir as mx\n"
            "from mxir.runtime import cuda\n"
            "mx.set_default_device(mx.gpu)\n"
            "try:\n"
            "    mx.eval(mx.array([1.0]) + 1)\n"
            "    print('ran' if cuda.is_available() else 'BUG')\n"
            "except RuntimeError as e:\n"
            "    print('refused' if 'cuda backend is not usable' in str(e) else e)\n")
    env = dict(os.environ, MXIR_GPU_BACKEND="cuda")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("ran", "refused")


needs_gpu = pytest.mark.skipif(
    not __import__("mxir.runtime.cuda", fromlist=["x"]).is_available(),
    reason="no CUDA device here (benchmarks/cuda_run.py runs these on the GPU machine)")


@needs_gpu
def test_frontend_on_the_cuda_device_matches_numpy():
    code = ("import numpy as np, mxir as mx\n"
            "mx.set_default_device(mx.gpu)\n"
            "x = np.random.default_rng(0).standard_normal((300, 70)).astype(np.float32)\n"
            "a = mx.array(x)\n"
            "out = np.array(mx.sum(mx.exp(-a * a), axis=1) + (a @ a.T)[:, 0])\n"
            "ref = np.exp(-x.astype(np.float64) ** 2).sum(1) + x @ x[0]\n"
            "print(float(np.abs(out - ref).max()))\n")
    env = dict(os.environ, MXIR_GPU_BACKEND="cuda")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) < 1e-3
