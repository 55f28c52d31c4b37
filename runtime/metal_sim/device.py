"""MetalSimDevice: the Device interface of runtime/plan.py, running MSL on the CPU.

Buffers are host memory between canary bytes, checked after every launch, and pages of no
access; new buffers and threadgroup memory hold 0xFF bytes (NaN), so reads of unwritten memory
show. Threads of a group run in a chosen order (forward, reverse, shuffle) to expose missing
barriers.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import shutil
import threading
import weakref

import numpy as np

from .compiler import CXX, MetalSimError, Program, compile_msl, pack_scalar

CANARY = 64
_PATTERN = np.random.default_rng(0x6D78).integers(0, 256, CANARY, dtype=np.uint8)
_TAIL = np.resize(_PATTERN, mmap.PAGESIZE + CANARY)
_PATTERN_BYTES, _TAIL_BYTES = _PATTERN.tobytes(), _TAIL.tobytes()
ORDERS = {"forward": 0, "reverse": 1, "shuffle": 2}
MAX_THREADS = 1024  # Metal's limit on threads per threadgroup
_launch_lock = threading.Lock()  # the runtime's scheduler state is per process
# a fork while another thread launches must not leave the child a lock that nobody releases
os.register_at_fork(before=_launch_lock.acquire, after_in_parent=_launch_lock.release,
                    after_in_child=_launch_lock.release)


def _libc():
    if "libc" not in _mm:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _mm["libc"] = libc
    return _mm["libc"]


_mm: dict = {}
PAGE = mmap.PAGESIZE


def _view(address: int, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, np.uint8)
    return np.ctypeslib.as_array((ctypes.c_uint8 * n).from_address(address))


class SimBuffer:
    """`nbytes` of device memory: a page of no access, 64 canary bytes, the data, canary bytes
    to the end of its page, and another page of no access. A small overrun changes a canary
    (checked after each launch); a larger one faults, which the runtime reports."""

    __slots__ = ("nbytes", "data", "address", "freed", "_head", "_tail", "_release",
                 "__weakref__")

    def __init__(self, nbytes: int):
        libc = _libc()
        body = (CANARY + nbytes + CANARY + PAGE - 1) // PAGE * PAGE
        total = body + 2 * PAGE
        base = libc.mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE,
                         mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if base in (None, ctypes.c_void_p(-1).value):
            raise MemoryError(f"metal-sim cannot allocate {nbytes} bytes")
        libc.mprotect(base, PAGE, 0)
        libc.mprotect(base + PAGE + body, PAGE, 0)
        self._release = weakref.finalize(self, libc.munmap, base, total)
        self.address = base + PAGE + CANARY
        self.nbytes = nbytes
        self._head = _view(base + PAGE, CANARY)
        self._tail = _view(self.address + nbytes, body - CANARY - nbytes)
        self._head[:] = _PATTERN
        self._tail[:] = _TAIL[:self._tail.size]
        self.data = _view(self.address, nbytes)
        self.data.fill(0xFF)
        self.freed = False

    def release(self) -> None:
        self.freed = True
        self.data = self._head = self._tail = None
        self._release()

    def damaged_canary(self) -> str | None:
        """Where the bytes around the buffer were overwritten (and restores them), or None."""
        tail = _TAIL[:self._tail.size]
        if self._tail.tobytes() == _TAIL_BYTES[:tail.size] and \
                self._head.tobytes() == _PATTERN_BYTES:
            return None
        where = None
        if not np.array_equal(self._tail, tail):
            first = int(np.flatnonzero(self._tail != tail)[0])
            where = f"{first} bytes past its end"
        elif not np.array_equal(self._head, _PATTERN):
            last = int(np.flatnonzero(self._head != _PATTERN)[-1])
            where = f"{CANARY - last} bytes before its start"
        self._head[:] = _PATTERN
        self._tail[:] = tail
        return where


def _dims(v, what: str) -> tuple[int, int, int]:
    v = tuple(int(x) for x in v)
    if len(v) > 3 or any(x < 0 for x in v):
        raise MetalSimError(f"{what} must be up to 3 non-negative sizes, got {v}")
    return v + (1,) * (3 - len(v))


class MetalSimDevice:
    """Runs MSL kernels on the CPU; see the module docstring. `order`: the order threads of a
    group take turns (default: MXIR_METAL_SIM_ORDER, else forward); `seed` seeds "shuffle"."""

    name = "metal-sim"

    def __init__(self, order: str | None = None, seed: int = 0):
        order = order or os.environ.get("MXIR_METAL_SIM_ORDER", "forward")
        if order not in ORDERS:
            raise ValueError(f"metal-sim order must be one of {sorted(ORDERS)}, got {order!r}")
        self.order = order
        self.seed = seed
        self.launches = 0
        self.live_buffers = 0

    # memory
    def allocate(self, nbytes: int) -> SimBuffer:
        if nbytes < 0:
            raise MetalSimError(f"cannot allocate {nbytes} bytes")
        self.live_buffers += 1
        return SimBuffer(int(nbytes))

    def free(self, buf: SimBuffer) -> None:
        self._check(buf)
        buf.release()
        self.live_buffers -= 1

    def upload(self, buf: SimBuffer, array: np.ndarray) -> None:
        self._check(buf)
        src = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        if src.size > buf.nbytes:
            raise MetalSimError(f"upload of {src.size} bytes into a {buf.nbytes}-byte buffer")
        buf.data[:src.size] = src

    def download(self, buf: SimBuffer, array: np.ndarray) -> None:
        self._check(buf)
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise MetalSimError("download needs a writeable C-contiguous array")
        if array.nbytes > buf.nbytes:
            raise MetalSimError(f"download of {array.nbytes} bytes from a {buf.nbytes}-byte "
                                "buffer")
        array.reshape(-1).view(np.uint8)[:] = buf.data[:array.nbytes]

    def copy(self, src: SimBuffer, dst: SimBuffer, nbytes: int) -> None:
        self._check(src)
        self._check(dst)
        if nbytes > min(src.nbytes, dst.nbytes):
            raise MetalSimError(f"copy of {nbytes} bytes between buffers of {src.nbytes} and "
                                f"{dst.nbytes} bytes")
        dst.data[:nbytes] = src.data[:nbytes]

    @staticmethod
    def _check(buf) -> None:
        if not isinstance(buf, SimBuffer):
            raise MetalSimError(f"expected a metal-sim buffer, got {type(buf).__name__}")
        if buf.freed:
            raise MetalSimError("use of a freed buffer")

    # programs
    def compile(self, source: str, kernels=()) -> Program:
        return compile_msl(source)  # reads the signatures from the source, as Metal's compiler

    def launch(self, program: Program, kernel_name: str, grid, threadgroup, args,
               dispatch: str = "threadgroups") -> None:
        kernel = program.kernels.get(kernel_name)
        if kernel is None:
            raise MetalSimError(f"no kernel {kernel_name!r} in the program (it has "
                                f"{', '.join(sorted(program.kernels))})")
        grid, tg = _dims(grid, "grid"), _dims(threadgroup, "threadgroup")
        if dispatch not in ("threads", "threadgroups"):
            raise MetalSimError(f"dispatch must be 'threads' or 'threadgroups', got {dispatch!r}")
        if min(tg) < 1 or tg[0] * tg[1] * tg[2] > MAX_THREADS:
            raise MetalSimError(f"kernel {kernel_name}: threadgroup {tg} must hold 1 to "
                                f"{MAX_THREADS} threads")
        args = list(args)
        if len(args) != kernel.slots:
            raise MetalSimError(f"kernel {kernel_name} takes {kernel.slots} arguments "
                                f"([[buffer(0..{kernel.slots - 1})]]), got {len(args)}")
        argv = (ctypes.c_void_p * max(kernel.slots, 1))()
        keep, buffers = [], []
        for index, param in kernel.buffers.items():
            arg = args[index]
            offset = 0
            if isinstance(arg, tuple) and arg and isinstance(arg[0], SimBuffer):
                arg, offset = arg[0], int(arg[1])
            if isinstance(arg, SimBuffer):
                self._check(arg)
                argv[index] = arg.address + offset
                buffers.append((index, param, arg))
                continue
            if isinstance(arg, tuple):  # (value, MLIR type) from the launch plan
                arg = arg[0]
            data = pack_scalar(param, arg, kernel_name)
            keep.append(data)
            argv[index] = data.ctypes.data
        if 0 in grid:
            return
        err = ctypes.create_string_buffer(1024)
        seed = self.seed * 1000003 + self.launches
        self.launches += 1
        with _launch_lock:
            rc = program.entries[kernel_name](
                argv, (ctypes.c_uint32 * 3)(*grid), (ctypes.c_uint32 * 3)(*tg),
                int(dispatch == "threadgroups"), ORDERS[self.order], seed, err, len(err))
        damaged = [(i, p, b.damaged_canary()) for i, p, b in buffers]
        if rc:
            raise MetalSimError(f"kernel {kernel_name}: {err.value.decode(errors='replace')}")
        for index, param, where in damaged:
            if where:
                raise MetalSimError(f"kernel {kernel_name} wrote out of bounds of "
                                    f"[[buffer({index})]] {param.name} ({where})")
        del keep

    def synchronize(self) -> None:
        """Launches run to completion when called; nothing is pending."""


_device: list[MetalSimDevice] = []


def is_available() -> bool:
    return shutil.which(CXX) is not None and (platform.system() in ("Linux", "Darwin"))


def open_device() -> MetalSimDevice:
    """The process's metal-sim device."""
    if not _device:
        _device.append(MetalSimDevice())
    return _device[0]
