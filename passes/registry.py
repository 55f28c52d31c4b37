"""The one registry of named passes and pipelines, shared by the frontend and `mxir-opt`.

A pipeline is a list of steps; a step is a Python pass (a function of the module) or a textual
segment of upstream passes, run with a PassManager. The two kinds cannot be mixed inside one
PassManager string (the textual parser does not know Python passes), so the driver splices them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir, passmanager
from mxir.dialect import MxError

from . import pipelines
from .cpu_codegen import cpu_codegen, cpu_parallel, dynamic_copies, loop_hints, loop_hints_to_llvm
from .early_dealloc import early_dealloc
from .fills import private_fills
from .gpu import OUTLINE as GPU_OUTLINE
from .gpu import linalg_to_gpu, name_kernels
from .host import tag_host
from .lapack import cpu_lapack
from .math_approx import math_approx
from .matmul import blas_matmul
from .ptx import nvvm_pipeline, prepare_kernels
from .results import distinct_results
from .simplify import simplify
from .to_linalg import mx_to_linalg
from .transforms import expand_transforms
from .verify import verify


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable
    summary: str


PASSES: dict[str, Pass] = {}
PIPELINES: dict[str, list[str]] = {}


def register_pass(name: str, summary: str):
    def deco(fn):
        PASSES[name] = Pass(name, fn, summary)
        return fn

    return deco


register_pass("mx-verify", "check every mx op's types with its infer rule")(verify)
register_pass("mx-to-linalg", "lower mx ops to linalg/tensor/arith/math")(mx_to_linalg)
register_pass("mx-to-linalg-gpu",
              "mx-to-linalg, with parallel forms where the CPU's are serial loops (sort)")(
    lambda module: mx_to_linalg(module, serial_loops=False))
register_pass("mx-simplify", "fold constants, CSE and DCE of mx ops")(simplify)
register_pass("mx-transforms", "expand mx.vjp, mx.jvp, mx.vmap and calls, callee first")(
    expand_transforms)
register_pass("mx-autodiff", "expand mx.vjp (reverse mode), callee first")(
    lambda m: expand_transforms(m, ("vjp", "call")))
register_pass("mx-jvp", "expand mx.jvp (forward mode), callee first")(
    lambda m: expand_transforms(m, ("jvp", "call")))
register_pass("mx-vmap", "expand mx.vmap (batching), callee first")(
    lambda m: expand_transforms(m, ("vmap", "call")))
register_pass("mx-inline", "inline func.call of private functions")(
    lambda m: expand_transforms(m, ("call",)))


def run_upstream(module, text: str) -> None:
    """Run a textual pass pipeline (the part inside `builtin.module(...)`)."""
    try:
        pm = passmanager.PassManager.parse(f"builtin.module({text})")
    except ValueError as e:
        raise MxError(str(e).strip()) from None
    try:
        pm.run(module.operation)
    except ir.MLIRError as e:
        diag = e.error_diagnostics[0] if e.error_diagnostics else None
        raise MxError(diag.message if diag else str(e), diag.location if diag else None) from None


def expand(steps: list[str]) -> list[str]:
    out: list[str] = []
    for s in steps:
        out.extend(expand(PIPELINES[s]) if s in PIPELINES else [s])
    return out


# Called with each step's name before it runs (isolate.call_isolated reports where a crash was).
step_listener: Callable[[str], None] | None = None


def run_pipeline(module, steps: list[str], after_each: Callable | None = None) -> None:
    """Run named passes / pipelines / textual segments in order."""
    for step in expand(steps):
        if step_listener is not None:
            step_listener(step)
        if step in PASSES:
            PASSES[step].run(module)
        else:
            run_upstream(module, step)
        if after_each is not None:
            after_each(step, module)


def mark_entry(module, entry: str = "main") -> None:
    for op in module.body.operations:
        if (op.operation.name == "func.func"
                and ir.StringAttr(op.attributes["sym_name"]).value == entry):
            op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
            return
    raise MxError(f"no function named @{entry} in the module")


register_pass("mx-private-fills", "a linalg.fill per destination it initialises")(
    private_fills)
register_pass("mx-distinct-results", "copy a buffer that a function returns more than once")(
    distinct_results)
register_pass("mx-emit-c-interface", "mark @main for the C calling convention")(mark_entry)
register_pass("cpu-blas-matmul", "f32/f64 linalg matmuls on memrefs -> OpenBLAS gemm calls")(
    blas_matmul)
register_pass("cpu-blas-matmul-split", "cpu-blas-matmul, big gemms in panels on mxir's threads")(
    lambda m: blas_matmul(m, split=True))
register_pass("cpu-lapack", "define the LAPACK calls of mx.linalg ops (OpenBLAS's LAPACKE)")(
    cpu_lapack)
register_pass("mx-math-approx", "float32 math ops -> vectorisable arith approximations")(
    math_approx)
register_pass("mx-cpu-codegen", "bounded fusion, tiling, vectorisation, threads, math approx")(
    cpu_codegen)
register_pass("mx-cpu-loop-hints",
              "no LLVM loop vectorization of loops with branches; exact max/min reductions")(
    loop_hints)
register_pass("mx-cpu-loop-hints-to-llvm", "scf.for loop hints -> llvm.br loop_annotation")(
    loop_hints_to_llvm)
register_pass("mx-cpu-parallel",
              "scf.forall chunks -> tasks of mxir's pool (Linux) or the async runtime's")(
    cpu_parallel)
register_pass("mx-cpu-dynamic-copies", "memref.copy of dynamic shape -> linalg.copy (loops)")(
    dynamic_copies)
register_pass("mx-early-dealloc", "free each temporary buffer right after its last use")(
    early_dealloc)
register_pass("mx-cpu-host", "LLVM functions ask for the host's vector width")(tag_host)
PIPELINES["mx-to-cpu"] = ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg",
                          "mx-emit-c-interface", "mx-cpu-codegen", *pipelines.ONE_SHOT,
                          "mx-early-dealloc", "cpu-blas-matmul-split", "cpu-lapack",
                          "mx-cpu-parallel", "mx-cpu-dynamic-copies",
                          *pipelines.CPU_TO_LLVM, "mx-cpu-host"]
# the eager kernel library's single-op programs (python/mxir/eager.py): one thread, since
# handing even one chunk to the async runtime cost ~8 us per call, more than small ops take
PIPELINES["mx-kernel-to-cpu"] = ["mx-verify", "mx-to-linalg", "mx-emit-c-interface",
                                 "mx-cpu-codegen", *pipelines.ONE_SHOT, "cpu-blas-matmul",
                                 "cpu-lapack", "func.func(scf-forall-to-for)", "mx-cpu-parallel",
                                 "mx-cpu-dynamic-copies",
                                 *pipelines.CPU_TO_LLVM, "mx-cpu-host"]

register_pass("mx-linalg-to-gpu", "map linalg ops on buffers and host loops to gpu.launch kernels")(
    linalg_to_gpu)
register_pass("mx-gpu-name-kernels", "name each outlined gpu.func after its gpu.module")(
    name_kernels)
PIPELINES["mx-to-gpu"] = ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg-gpu",
                          *pipelines.BUFFERIZE, "func.func(linalg-generalize-named-ops)",
                          "mx-linalg-to-gpu", GPU_OUTLINE, "mx-gpu-name-kernels"]

register_pass("mx-ptx-prepare", "CUDA kernel tuning before NVVM: unroll small loops, hoist loads")(
    lambda m: prepare_kernels(m, None))
PIPELINES["gpu-to-ptx"] = ["mx-ptx-prepare", nvvm_pipeline()]
