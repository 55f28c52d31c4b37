"""CPU device: an LLVM-dialect module JIT-compiled with MLIR's ExecutionEngine.

Calling convention (set up by the passes): `main(inputs..., outputs...)` on memrefs with
identity layout, results written into caller-allocated NumPy arrays. The entry is called
through its packed C wrapper: `void f(void **args)`, `args[i]` pointing at a pointer to the
i-th memref descriptor.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

_PACKED = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _runtime_libs() -> list[str]:
    from mlir import ir

    lib = os.path.join(os.path.dirname(ir.__file__), "lib")
    return [os.path.join(lib, n) for n in ("libmlir_c_runner_utils.so",)
            if os.path.exists(os.path.join(lib, n))]


class CpuExecutable:
    """A JIT-compiled entry function; call with input arrays and output arrays.

    Shapes are static, so the descriptors are laid out once (one int64 buffer holding every
    descriptor, pointer tables into it) and a call only writes the data pointers: measured
    ~80 µs per call through `ExecutionEngine.invoke` and MLIR's descriptor helpers, a few µs
    here. Not reentrant: one call at a time per executable."""

    def __init__(self, llvm_module, entry: str = "main"):
        from mlir.execution_engine import ExecutionEngine

        self.engine = ExecutionEngine(llvm_module, opt_level=3, shared_libs=_runtime_libs())
        self.entry = entry
        self._fn = _PACKED(self.engine.raw_lookup(f"_mlir_ciface_{entry}"))
        self._layout = None  # (shapes, descriptor buffer, data-pointer slots, packed args)

    def _prepare(self, arrays) -> None:
        shapes = tuple(a.shape for a in arrays)
        words, slots = [], []
        for a in arrays:
            slots.append(len(words))
            rank = a.ndim
            strides = [int(np.prod(a.shape[i + 1:], dtype=np.int64)) for i in range(rank)]
            words += [0, 0, 0, *a.shape, *strides]  # allocated, aligned, offset, sizes, strides
        desc = np.array(words + [0], dtype=np.int64)
        base = desc.ctypes.data
        pointers = np.array([base + 8 * s for s in slots], dtype=np.int64)
        packed = pointers.ctypes.data + 8 * np.arange(len(slots), dtype=np.int64)
        self._layout = (shapes, desc, np.array(slots, dtype=np.int64), pointers, packed)

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        arrays = [np.asarray(a, order="C") for a in inputs] + list(outputs)
        if self._layout is None or self._layout[0] != tuple(a.shape for a in arrays):
            self._prepare(arrays)
        _, desc, slots, _, packed = self._layout
        data = np.array([a.__array_interface__["data"][0] for a in arrays], dtype=np.int64)
        desc[slots] = data
        desc[slots + 1] = data
        self._fn(packed.ctypes.data)
        del arrays  # the inputs (possibly converted copies) lived through the call
