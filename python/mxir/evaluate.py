"""Evaluation: lazy graph -> Program -> (cached) compiled executable -> values on the nodes."""

from __future__ import annotations

import numpy as np

from mxir.dialect import MxError, numpy_dtype

from .program import build_module, trace_program

_CACHE: dict[tuple, object] = {}


def context():
    """The frontend's MLIR context (one per process, `mx` loaded)."""
    global _CTX
    try:
        return _CTX
    except NameError:
        from mxir.dialect import new_context

        _CTX = new_context()
        return _CTX


def compile_program(main: tuple):
    """The CPU executable for a Program, compiled once per distinct Program."""
    exe = _CACHE.get(main)
    if exe is None:
        from mlir import ir

        from mxir.passes import run_pipeline
        from mxir.runtime.cpu import CpuExecutable

        with context(), ir.Location.unknown():
            module = build_module(main)
            run_pipeline(module, ["mx-to-cpu"])
            exe = CpuExecutable(module)
        _CACHE[main] = exe
    return exe


def eval_arrays(arrays) -> None:
    """Evaluate the arrays that have no value yet, in one compiled program."""
    pending = [a for a in arrays if not a._has_value()]
    if not pending:
        return
    from .device import check_device

    check_device()  # the one place that refuses a device without a backend
    main, inputs = trace_program(pending)
    arg_types, instrs, results = main
    value_types = list(arg_types) + [t for ins in instrs for t in ins[3]]
    outputs = [np.empty(value_types[r].shape, numpy_dtype(value_types[r].dtype)) for r in results]
    try:
        exe = compile_program(main)
    except MxError as e:
        raise e.exc_type(e.message) from None
    exe(inputs, outputs)
    for a, v in zip(pending, outputs):
        node = a._node
        if node.values is None:
            node.values = [None] * len(node.types)
        node.values[a._index] = v
    for a in pending:
        a._node.detach()


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
