"""CPU device: an LLVM-dialect module JIT-compiled with MLIR's ExecutionEngine.

Calling convention (set up by the passes): `main(inputs..., outputs...)` on memrefs with
identity layout, results written into caller-allocated NumPy arrays.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np


def _runtime_libs() -> list[str]:
    from mlir import ir

    lib = os.path.join(os.path.dirname(ir.__file__), "lib")
    return [os.path.join(lib, n) for n in ("libmlir_c_runner_utils.so",)
            if os.path.exists(os.path.join(lib, n))]


class CpuExecutable:
    """A JIT-compiled entry function; call with input arrays and output specs."""

    def __init__(self, llvm_module, entry: str = "main"):
        from mlir.execution_engine import ExecutionEngine

        self.engine = ExecutionEngine(llvm_module, opt_level=3, shared_libs=_runtime_libs())
        self.entry = entry
        self.engine.raw_lookup(f"_mlir_ciface_{entry}")  # fail now, not at the first call

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        from mlir.runtime import get_ranked_memref_descriptor

        keep = [np.asarray(a, order="C") for a in inputs] + outputs
        args = [ctypes.pointer(ctypes.pointer(_descriptor(a, get_ranked_memref_descriptor)))
                for a in keep]
        self.engine.invoke(self.entry, *args)


def _descriptor(a: np.ndarray, make):
    # MLIR's helper has no ctype for bool; i1 memrefs are stored one byte per element.
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    return make(a)
