"""Native code of CPU executables on disk: the JIT's object file linked into a shared library.

JIT-compiling even a single-op kernel costs 30-250 ms (LLVM's code generation, measured on the
2-core dev box), so the eager kernel library (python/mxir/eager.py) keeps each kernel's machine
code: a later process loads it with `dlopen` in well under a millisecond. The library is linked
by the system's `ld` against MLIR's runner utilities; the code was generated for this host's
CPU, so entries live under a digest of the host (machine and CPU flags). Without `ld`, for code
that the JIT bound to functions by address (the BLAS of passes/matmul.py), or when a library
does not load, nothing is stored or the entry is dropped, and the JIT runs as before.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile

from . import cache
from .cpu import CpuExecutable, _runtime_libs


def _folder() -> str | None:
    root = cache.cache_dir()
    return None if root is None else os.path.join(root, "native", _host())


def _host() -> str:
    global _HOST
    try:
        return _HOST
    except NameError:
        h = hashlib.sha256(f"{platform.system()} {platform.machine()}".encode())
        try:
            with open("/proc/cpuinfo", "rb") as f:
                for line in f:
                    if line.startswith((b"model name", b"flags", b"Features", b"CPU part")):
                        h.update(line)
        except OSError:
            h.update(platform.processor().encode())
        _HOST = h.hexdigest()[:16]
        return _HOST


def load(key: str) -> CpuExecutable | None:
    """The executable stored under `key`, or None (absent, or no longer loadable: dropped)."""
    folder = _folder()
    if folder is None:
        return None
    path = os.path.join(folder, key + ".so")
    if not os.path.exists(path):
        return None
    _runtime_libs()  # the thread pool's symbols, should the code use them
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        # the packed wrapper (`void f(void **args)`), which the JIT's raw_lookup returns
        address = ctypes.cast(lib._mlir__mlir_ciface_main, ctypes.c_void_p).value
    except (OSError, AttributeError):
        _remove(path)
        return None
    return CpuExecutable.loaded(address, lib)


def store(key: str, exe: CpuExecutable) -> None:
    """Link `exe`'s JIT object code into the shared library for `key` (best effort)."""
    folder = _folder()
    ld = shutil.which("ld")
    if folder is None or ld is None or exe.bound or not hasattr(exe.engine,
                                                                "dump_to_object_file"):
        return
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            obj, lib = os.path.join(tmp, "k.o"), os.path.join(tmp, "k.so")
            exe.engine.dump_to_object_file(obj)
            libs = _runtime_libs()
            rpath = [a for lib_path in libs for a in ("-rpath", os.path.dirname(lib_path))]
            # -Bsymbolic: the entry calls `main`, which must not bind to the program's own `main`
            done = subprocess.run([ld, "-shared", "-Bsymbolic", "-o", lib, obj, *libs, *rpath],
                                  capture_output=True, timeout=60)
            if done.returncode == 0:
                os.replace(lib, os.path.join(folder, key + ".so"))
    except (OSError, subprocess.SubprocessError):
        pass  # a read-only disk, a linker that failed: the JIT stays the way


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
