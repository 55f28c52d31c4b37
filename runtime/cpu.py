"""CPU device: an LLVM-dialect module JIT-compiled with MLIR's ExecutionEngine.

Calling convention (set up by the passes): `main(inputs..., outputs...)` on memrefs with
identity layout, results written into caller-allocated NumPy arrays. The entry is called
through its packed C wrapper: `void f(void **args)`, `args[i]` pointing at a pointer to the
i-th memref descriptor.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import threading

import numpy as np

from . import pool

_PACKED = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _lib_dir() -> str:
    from mlir import ir

    return os.path.join(os.path.dirname(ir.__file__), "lib")


def _runtime_libs() -> list[str]:
    """The runner libraries handed to the JIT, those that load here: the ExecutionEngine aborts
    the process on one that fails to load (a dependency missing, e.g. libMLIR.so on a machine
    given only the runtime's libraries), where code that needs a missing symbol fails its
    lookup with an error instead."""
    global _RUNTIME_LIBS
    if _RUNTIME_LIBS is None:
        _RUNTIME_LIBS = []
        for name in ("libmlir_c_runner_utils.so",):
            path = os.path.join(_lib_dir(), name)
            try:
                ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
            except OSError:
                continue
            _RUNTIME_LIBS.append(path)
    return _RUNTIME_LIBS


_RUNTIME_LIBS: list[str] | None = None


# name -> address of a host function that compiled code may call (a ctypes callback the
# frontend registers: `mxir_metal_kernel`, dialect/custom_kernel.py); bound by address, so code
# that calls one is never linked into a shared library (native.py)
HOST_FUNCTIONS: dict[str, int] = {}


def _external_functions(llvm_module) -> list[str]:
    from mlir import ir

    return [ir.StringAttr(op.attributes["sym_name"]).value
            for op in llvm_module.body.operations
            if op.operation.name == "llvm.func" and not op.regions[0].blocks]


def _one_thread_blas(llvm_module) -> tuple:
    """The split gemms' BLAS libraries (`mxir.serial_libs`, passes/matmul.py), which must run
    one thread each; the attribute is dropped. One that can say its thread count (OpenBLAS)
    comes back as a `_OneThreadBlas`, set to one thread only while a program that splits runs:
    eager gemms share the wheel's OpenBLAS where NumPy has none of its own (macOS arm64), and
    set for good, new-shape 1024-column products took 14.4 ms after a split program against
    7.0 before it. One that can't (MKL's threading layer, chosen once) is set once here."""
    from mlir import ir

    attrs = llvm_module.operation.attributes
    if "mxir.serial_libs" not in attrs:
        return ()
    found = []
    for entry in ir.ArrayAttr(attrs["mxir.serial_libs"]):
        lib, setter, *getter = (ir.StringAttr(a).value for a in ir.ArrayAttr(entry))
        if not os.path.exists(lib):
            continue  # _module_symbols raises: it is in `mxir.shared_libs` too
        if getter and getter[0]:
            found.append(_ONE_THREAD.get(lib) or _ONE_THREAD.setdefault(
                lib, _OneThreadBlas(getattr(_library(lib), setter),
                                    getattr(_library(lib), getter[0]))))
        elif lib not in _SERIAL:
            getattr(_library(lib), setter)(1)
            _SERIAL.add(lib)
    del attrs["mxir.serial_libs"]
    return tuple(found)


class _OneThreadBlas:
    """A BLAS library on one thread while any program that splits gemms over it runs (from
    any Python thread), and on the count it had before once none does."""

    def __init__(self, set_threads, get_threads):
        self.set_threads, self._get_threads = set_threads, get_threads
        self._lock = threading.Lock()
        self._running = 0  # programs in a call
        self._count = 0  # the library's count before the first of them

    def __enter__(self) -> None:
        with self._lock:
            if not self._running:
                self._count = self._get_threads()
                self.set_threads(1)
            self._running += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._running -= 1
            if not self._running:
                self.set_threads(self._count)


def _module_symbols(llvm_module, wanted: list[str]) -> dict[str, int]:
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
    symbols: dict[str, int] = {}
    for lib in libs:
        if not os.path.exists(lib):
            raise RuntimeError(f"library {lib} that the compiled code calls is gone")
        handle = _library(lib)
        for name in wanted:
            if name not in symbols and hasattr(handle, name):
                symbols[name] = ctypes.cast(getattr(handle, name), ctypes.c_void_p).value
    return symbols


def _library(path: str) -> ctypes.CDLL:
    return _LIBRARIES.get(path) or _LIBRARIES.setdefault(
        path, ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL))


_LIBRARIES: dict[str, ctypes.CDLL] = {}
_SERIAL: set[str] = set()  # libraries set to one thread for good in this process (MKL's layer)
_ONE_THREAD: dict[str, _OneThreadBlas] = {}  # the others, by path

# ---- the async runtime: mx-cpu-parallel's thread pool, and fork ----
# The library keeps one global runtime whose thread pool starts its threads on first use. A
# forked child has the pool's state but not its threads: a threaded kernel there waits forever,
# and so does the child's exit (the runtime's static destructor waits for the pool). So before
# a fork the runtime is torn down here, where its threads exist (`__mlir_execution_engine_destroy`
# joins them), and the library is spent in both processes: the next threaded kernel loads a
# fresh private copy (dlopen of the same path would return the spent one), and executables
# linked against a spent copy link again. The library is opened RTLD_LOCAL and its symbols bound
# by address, so that no code can reach a spent copy by name. Through `shared_libs` it would
# also be torn down with every engine destroyed, under the engines of other programs.

_ASYNC_PREFIX = "mlirAsyncRuntim"  # sic: one of its functions is spelt "...Runtim..."
_ASYNC: ctypes.CDLL | None = None  # the live copy, loaded on first use
_ASYNC_SPENT = 0  # how many copies this process (or its parents) tore down
_ASYNC_LOCK = threading.Lock()  # held by threaded kernels and across a fork
_KEPT = threading.local()  # `on` in a kept_across_fork block of this thread
_RETIRED: collections.deque = collections.deque(maxlen=8)  # see CpuExecutable.__del__


def _async_runtime() -> ctypes.CDLL:
    global _ASYNC
    if _ASYNC is None:
        path = os.path.join(_lib_dir(), "libmlir_async_runtime.so")
        if _ASYNC_SPENT:
            path = _private_copy(path)
        _ASYNC = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    return _ASYNC


def _private_copy(path: str) -> str:
    """A path to a copy of the library that the loader has not seen: an anonymous in-memory
    file (a temporary directory may be mounted noexec)."""
    fd = os.memfd_create("mlir_async_runtime")  # kept open: the path lives as long as it
    with open(path, "rb") as f:
        os.write(fd, f.read())
    return f"/proc/self/fd/{fd}"


def _async_symbols(wanted: list[str]) -> dict[str, int]:
    lib = _async_runtime()
    return {name: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
            for name in wanted if name.startswith(_ASYNC_PREFIX)}


@contextlib.contextmanager
def kept_across_fork():
    """Forks from this thread in the block keep the async runtime: for children that run no
    kernel and leave with os._exit, as the frontend's compiler children (passes/isolate.py),
    whose forks would otherwise cost each threaded executable a new link (~0.25 s)."""
    _KEPT.on = True
    try:
        yield
    finally:
        _KEPT.on = False


def _before_fork() -> None:
    global _ASYNC, _ASYNC_SPENT
    _ASYNC_LOCK.acquire()  # no threaded kernel is running now
    if _ASYNC is not None and not getattr(_KEPT, "on", False):
        _ASYNC.__mlir_execution_engine_destroy()
        _ASYNC = None
        _ASYNC_SPENT += 1


os.register_at_fork(before=_before_fork, after_in_parent=_ASYNC_LOCK.release,
                    after_in_child=_ASYNC_LOCK.release)


def worker_threads() -> int:
    """Threads of the async runtime's pool that threaded kernels split over: LLVM sizes it
    from the cores the process may use (sched_getaffinity on Linux), when it first starts;
    0 without the runtime."""
    if not os.path.exists(os.path.join(_lib_dir(), "libmlir_async_runtime.so")):
        return 0
    fn = _async_runtime().mlirAsyncRuntimGetNumWorkerThreads  # sic, upstream's spelling
    fn.restype = ctypes.c_int64
    return int(fn())


class CpuExecutable:
    """A JIT-compiled entry function; call with input arrays and output arrays.

    Shapes are static, so the descriptors are laid out once (one int64 buffer holding every
    descriptor, pointer tables into it) and a call only writes the data pointers: measured
    ~80 µs per call through `ExecutionEngine.invoke` and MLIR's descriptor helpers, about 1 µs
    here for a few scalars. Not reentrant: one call at a time per executable."""

    def __init__(self, llvm_module, entry: str = "main"):
        wanted = _external_functions(llvm_module)
        self._one_thread = _one_thread_blas(llvm_module)
        self._symbols = _module_symbols(llvm_module, wanted)
        self._symbols.update({n: HOST_FUNCTIONS[n] for n in wanted if n in HOST_FUNCTIONS})
        if pool.RUN in wanted:
            self._symbols[pool.RUN] = pool.run_address()
        self._threaded = [n for n in wanted if n.startswith(_ASYNC_PREFIX)]
        # a fork spends the async runtime: threaded code is linked again from its text
        self._text = str(llvm_module) if self._threaded else None
        self.entry = entry
        # functions bound by address, which a shared library of the code would lack (native.py)
        self.bound = (*self._symbols, *self._threaded)
        self._no_layouts()
        self._link(llvm_module)

    def _link(self, llvm_module) -> None:
        from mlir.execution_engine import ExecutionEngine

        symbols = dict(self._symbols)
        if self._threaded:
            symbols.update(_async_symbols(self._threaded))
            self._spent = _ASYNC_SPENT
        self.engine = ExecutionEngine(llvm_module, opt_level=3, shared_libs=_runtime_libs())
        for name, address in symbols.items():  # bound before the first lookup links the code
            self.engine.raw_register_runtime(name, ctypes.c_void_p(address))
        address = self.engine.raw_lookup(f"_mlir_ciface_{self.entry}")
        if not address:  # an unresolved symbol (e.g. a library gone since the cache entry)
            raise RuntimeError(f"JIT lookup of '{self.entry}' failed")
        self._fn = _PACKED(address)  # linked again after a fork: the layouts stay

    def __del__(self) -> None:
        # the pool's workers leave a threaded kernel's code a few instructions after the call
        # has returned (they mark their task done, then return through it): freeing the code
        # at once crashed one in four runs of a test that drops its executable right after a
        # call. The engines of the last few dropped executables stay alive instead.
        # (a link that failed left no engine; at interpreter exit the module globals may be gone)
        engine = getattr(self, "engine", None)
        if engine is not None and getattr(self, "_threaded", None) and _RETIRED is not None:
            _RETIRED.append(engine)

    def _link_again(self) -> None:
        from mlir import ir

        with ir.Context(), ir.Location.unknown():
            self._link(ir.Module.parse(self._text))

    @classmethod
    def loaded(cls, address: int, owner, entry: str = "main") -> CpuExecutable:
        """The executable whose entry's C wrapper is already at `address` in this process
        (runtime/native.py); `owner` (the loaded library) is kept alive with it."""
        self = cls.__new__(cls)
        self.engine, self.entry, self.bound, self._threaded = owner, entry, (), []
        self._one_thread = ()
        self._fn = _PACKED(address)
        self._no_layouts()
        return self

    def _no_layouts(self) -> None:
        self._layout = None  # (shapes, descriptor words, data-pointer slots, tables, packed)
        # earlier layouts by shapes: a kernel with dynamic dims (python/mxir/eager.py) is called
        # on a few shapes in turn, and laying out descriptors anew cost more than the call
        self._layouts: dict[tuple, tuple] = {}
        self._resized: dict[tuple, tuple] = {}  # ranks -> a layout rewritten per call
        self._rewritten = None  # the shapes list of the layout last rewritten (in place)

    def _prepare(self, shapes: list) -> None:
        layout = self._layout
        if layout is not None and layout[0] is self._rewritten and _rewrite(layout, shapes):
            return  # ever-new shapes again: the last call's layout, rewritten in place
        key = tuple(shapes)
        layout = self._layouts.get(key)
        if layout is not None:
            self._layout = layout
            return
        if len(self._layouts) < 64:
            self._layout = self._layouts[key] = _lay_out(shapes)
            return
        # ever-new shapes (a program with dynamic dims run on a growing KV cache): one layout
        # per ranks, its sizes and strides written again (a fresh layout cost ~50 µs)
        ranks = tuple(len(s) for s in shapes)
        layout = self._resized.get(ranks)
        if layout is None:
            layout = self._resized[ranks] = _lay_out(list(shapes))
        else:
            _rewrite(layout, shapes)
        self._layout, self._rewritten = layout, layout[0]

    def bind(self, shapes: list):
        """A call of this executable on C-contiguous NumPy arrays of exactly `shapes` (inputs,
        then outputs), with descriptors of its own: an eager kernel is called on many shapes
        in turn (python/mxir/eager.py keeps one bound call per op and shapes, so a call only
        writes data pointers). None for threaded code, which must go through `__call__`."""
        if self._threaded or self._one_thread:
            return None
        _, desc, slots, tables, packed = _lay_out(shapes)
        fn = self._fn

        def call(arrays: list, owner=self) -> None:  # the executable (its code) stays alive
            for a, s in zip(arrays, slots):
                desc[s] = desc[s + 1] = _data_pointer(a)
            fn(packed)

        call.tables = tables  # the pointer tables live as long as the call
        return call

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        arrays = [*inputs, *outputs]
        shapes = [np.shape(a) if type(a) is not np.ndarray else a.shape for a in arrays]
        if self._layout is None or self._layout[0] != shapes:
            self._prepare(shapes)
        _, desc, slots, _, packed = self._layout
        # one pass: a writable C-contiguous array's pointer is a ctypes view's address (W12's
        # step passes ~25 arrays a call); the rest (read-only, empty, strided: copied
        # contiguous and kept in `arrays` through the call) take the general way
        for i, s in enumerate(slots):
            try:
                desc[s] = desc[s + 1] = _addressof(_char_view(arrays[i]))
            except (TypeError, ValueError):
                a = arrays[i]
                if type(a) is not np.ndarray or not a.flags.c_contiguous:
                    a = arrays[i] = np.ascontiguousarray(a).reshape(np.shape(a))
                desc[s] = desc[s + 1] = _data_pointer(a)
        if self._threaded:
            with _ASYNC_LOCK:
                if self._spent != _ASYNC_SPENT:
                    self._link_again()
                self._run(packed)
        else:
            self._run(packed)
        del arrays  # the inputs (possibly converted copies) lived through the call

    def _run(self, packed) -> None:
        """The entry, with its split gemms' BLAS libraries on one thread for the call."""
        if not self._one_thread:
            return self._fn(packed)
        with contextlib.ExitStack() as stack:
            for blas in self._one_thread:
                stack.enter_context(blas)
            self._fn(packed)


def _rewrite(layout: tuple, shapes: list) -> bool:
    """Write the sizes and strides of `shapes` into `layout`'s descriptors where they changed
    (most arrays keep theirs: the weights); its shapes list follows each write. False, with
    the layout still whole, at a rank it does not have."""
    old, desc, slots, _, _ = layout
    if len(old) != len(shapes):
        return False
    for i, shape in enumerate(shapes):
        if shape != old[i]:
            k = len(shape)
            if k != len(old[i]):
                return False
            s = slots[i] + 3
            desc[s:s + k] = shape
            n, s = 1, s + 2 * k
            for d in reversed(shape):
                s -= 1
                desc[s] = n
                n *= d
            old[i] = shape
    return True


def _lay_out(shapes: list) -> tuple:
    """(shapes, descriptor words, data-pointer slots, pointer tables, packed argument address)
    for arrays of `shapes`: one int64 buffer holds every descriptor."""
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
    return (shapes, desc, slots, (pointers, packed), ctypes.addressof(packed))


def _data_pointer(a: np.ndarray) -> int:
    # ~0.15 µs; `__array_interface__` builds a dict (~0.8 µs) but also serves read-only and
    # empty arrays, which a writable ctypes view refuses
    try:
        return _addressof(_char_view(a))
    except (TypeError, ValueError):
        return a.__array_interface__["data"][0]


_addressof = ctypes.addressof
_char_view = ctypes.c_char.from_buffer
