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
    _load_async_runtime(lib)
    return [os.path.join(lib, n) for n in ("libmlir_c_runner_utils.so",)
            if os.path.exists(os.path.join(lib, n))]


def _module_symbols(llvm_module) -> dict[str, int]:
    """Addresses of the external functions that compiled code takes from the libraries named
    in its `mxir.shared_libs` attribute (the BLAS of passes/matmul.py); the attribute is dropped,
    the JIT's translation doesn't know it. The libraries are opened RTLD_LOCAL and each symbol
    handed to the JIT by address: through `shared_libs` they would be loaded RTLD_GLOBAL, and
    the 53 unprefixed LAPACK helpers that NumPy's OpenBLAS and the scipy-openblas32 wheel both
    export (ILP64 vs LP64) could then bind across the two. A missing library raises, so that a
    stale cache entry is compiled afresh."""
    from mlir import ir

    attrs = llvm_module.operation.attributes
    if "mxir.shared_libs" not in attrs:
        return {}
    libs = [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs["mxir.shared_libs"])]
    del attrs["mxir.shared_libs"]
    wanted = [ir.StringAttr(op.attributes["sym_name"]).value
              for op in llvm_module.body.operations
              if op.operation.name == "llvm.func" and not op.regions[0].blocks]
    symbols: dict[str, int] = {}
    for lib in libs:
        if not os.path.exists(lib):
            raise RuntimeError(f"library {lib} that the compiled code calls is gone")
        handle = _LIBRARIES.get(lib) or _LIBRARIES.setdefault(
            lib, ctypes.CDLL(lib, mode=os.RTLD_NOW | os.RTLD_LOCAL))
        for name in wanted:
            if name not in symbols and hasattr(handle, name):
                symbols[name] = ctypes.cast(getattr(handle, name), ctypes.c_void_p).value
    return symbols


_LIBRARIES: dict[str, ctypes.CDLL] = {}


def _load_async_runtime(lib: str) -> None:
    """The thread pool of mx-cpu-parallel's kernels, loaded once into the process (the JIT
    resolves its symbols there). Not through `shared_libs`: every engine destroyed would run
    the library's `__mlir_execution_engine_destroy`, which deletes the one global runtime, and
    the next threaded kernel of any other engine would crash on it."""
    global _ASYNC_RUNTIME
    if _ASYNC_RUNTIME is None:
        path = os.path.join(lib, "libmlir_async_runtime.so")
        if os.path.exists(path):
            _ASYNC_RUNTIME = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL)


_ASYNC_RUNTIME = None


class CpuExecutable:
    """A JIT-compiled entry function; call with input arrays and output arrays.

    Shapes are static, so the descriptors are laid out once (one int64 buffer holding every
    descriptor, pointer tables into it) and a call only writes the data pointers: measured
    ~80 µs per call through `ExecutionEngine.invoke` and MLIR's descriptor helpers, about 1 µs
    here for a few scalars. Not reentrant: one call at a time per executable."""

    def __init__(self, llvm_module, entry: str = "main"):
        from mlir.execution_engine import ExecutionEngine

        symbols = _module_symbols(llvm_module)
        self.engine = ExecutionEngine(llvm_module, opt_level=3, shared_libs=_runtime_libs())
        for name, address in symbols.items():  # bound before the first lookup links the code
            self.engine.raw_register_runtime(name, ctypes.c_void_p(address))
        self.entry = entry
        self.bound = tuple(symbols)  # functions bound by address (runtime/native.py skips them)
        address = self.engine.raw_lookup(f"_mlir_ciface_{entry}")
        if not address:  # an unresolved symbol (e.g. a library gone since the cache entry)
            raise RuntimeError(f"JIT lookup of '{entry}' failed")
        self._bind(address)

    @classmethod
    def loaded(cls, address: int, owner, entry: str = "main") -> CpuExecutable:
        """The executable whose entry's C wrapper is already at `address` in this process
        (runtime/native.py); `owner` (the loaded library) is kept alive with it."""
        self = cls.__new__(cls)
        self.engine, self.entry, self.bound = owner, entry, ()
        self._bind(address)
        return self

    def _bind(self, address: int) -> None:
        self._fn = _PACKED(address)
        self._layout = None  # (shapes, descriptor words, data-pointer slots, tables, packed)
        # earlier layouts by shapes: a kernel with dynamic dims (python/mxir/eager.py) is called
        # on a few shapes in turn, and laying out descriptors anew cost more than the call
        self._layouts: dict[tuple, tuple] = {}

    def _prepare(self, shapes: list) -> None:
        key = tuple(shapes)
        layout = self._layouts.get(key)
        if layout is not None:
            self._layout = layout
            return
        words, slots = [], []
        for shape in shapes:
            slots.append(len(words))
            strides, n = [], 1
            for d in reversed(shape):
                strides.append(n)
                n *= d
            words += [0, 0, 0, *shape, *reversed(strides)]  # allocated, aligned, offset, sizes,
            # strides
        desc = (ctypes.c_int64 * (len(words) + 1))(*words)
        base = ctypes.addressof(desc)
        pointers = (ctypes.c_void_p * max(1, len(slots)))(*[base + 8 * s for s in slots])
        packed = (ctypes.c_void_p * max(1, len(slots)))(
            *[ctypes.addressof(pointers) + 8 * i for i in range(len(slots))])
        self._layout = (shapes, desc, slots, (pointers, packed), ctypes.addressof(packed))
        if len(self._layouts) >= 64:
            self._layouts.clear()
        self._layouts[key] = self._layout

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
