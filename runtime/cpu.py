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
    # the async runtime runs mx-cpu-parallel's thread pool; listing a library twice aborts
    return [os.path.join(lib, n) for n in ("libmlir_c_runner_utils.so",
                                           "libmlir_async_runtime.so")
            if os.path.exists(os.path.join(lib, n))]


def _module_libs(llvm_module) -> list[str]:
    """Libraries that compiled code names in its `mxir.shared_libs` attribute (the BLAS that
    passes/matmul.py calls); the attribute is dropped, the JIT's translation doesn't know it.
    A missing file raises, so that a stale cache entry is compiled afresh."""
    from mlir import ir

    attrs = llvm_module.operation.attributes
    if "mxir.shared_libs" not in attrs:
        return []
    libs = [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs["mxir.shared_libs"])]
    del attrs["mxir.shared_libs"]
    for lib in libs:
        if not os.path.exists(lib):
            raise RuntimeError(f"library {lib} that the compiled code calls is gone")
    return libs


class CpuExecutable:
    """A JIT-compiled entry function; call with input arrays and output arrays.

    Shapes are static, so the descriptors are laid out once (one int64 buffer holding every
    descriptor, pointer tables into it) and a call only writes the data pointers: measured
    ~80 µs per call through `ExecutionEngine.invoke` and MLIR's descriptor helpers, about 1 µs
    here for a few scalars. Not reentrant: one call at a time per executable."""

    def __init__(self, llvm_module, entry: str = "main"):
        from mlir.execution_engine import ExecutionEngine

        libs = list(dict.fromkeys(_runtime_libs() + _module_libs(llvm_module)))  # no duplicate:
        self.engine = ExecutionEngine(llvm_module, opt_level=3, shared_libs=libs)  # it aborts
        self.entry = entry
        address = self.engine.raw_lookup(f"_mlir_ciface_{entry}")
        if not address:  # an unresolved symbol (e.g. a library gone since the cache entry)
            raise RuntimeError(f"JIT lookup of '{entry}' failed")
        self._fn = _PACKED(address)
        self._layout = None  # (shapes, descriptor words, data-pointer slots, tables, packed)

    def _prepare(self, shapes: list) -> None:
        words, slots = [], []
        for shape in shapes:
            slots.append(len(words))
            strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
            words += [0, 0, 0, *shape, *strides]  # allocated, aligned, offset, sizes, strides
        desc = (ctypes.c_int64 * (len(words) + 1))(*words)
        base = ctypes.addressof(desc)
        pointers = (ctypes.c_void_p * max(1, len(slots)))(*[base + 8 * s for s in slots])
        packed = (ctypes.c_void_p * max(1, len(slots)))(
            *[ctypes.addressof(pointers) + 8 * i for i in range(len(slots))])
        self._layout = (shapes, desc, slots, (pointers, packed), ctypes.addressof(packed))

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        arrays = [a if type(a) is np.ndarray and a.flags.c_contiguous
                  else np.ascontiguousarray(a).reshape(np.shape(a)) for a in inputs]
        arrays += outputs
        shapes = [a.shape for a in arrays]
        if self._layout is None or self._layout[0] != shapes:
            self._prepare(shapes)
        _, desc, slots, _, packed = self._layout
        for a, s in zip(arrays, slots):
            desc[s] = desc[s + 1] = _data_pointer(a)
        self._fn(packed)
        del arrays  # the inputs (possibly converted copies) lived through the call


def _data_pointer(a: np.ndarray) -> int:
    # ~0.15 µs; `__array_interface__` builds a dict (~0.8 µs) but also serves read-only and
    # empty arrays, which a writable ctypes view refuses
    try:
        return _addressof(_char_view(a))
    except (TypeError, ValueError):
        return a.__array_interface__["data"][0]


_addressof = ctypes.addressof
_char_view = ctypes.c_char.from_buffer
