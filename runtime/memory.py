"""Host buffers of the runtime: a counted, bounded pool that program outputs come from.

Every output of a CPU program is a NumPy array over a pooled buffer. When the last array (or
view) over it dies, the buffer goes back to the pool, and the next output of its size class
takes it: a training step that repeats touches no fresh pages (the kernel's zero-filling of
fresh pages, one fault per 4 KiB, was a third of a memory-bound op's time: `x * 2 + 1` on 16M
f32 took 19 ms into fresh outputs, NumPy into a reused one 12.8 ms).

How an array's death is seen without a C extension: the array's buffer is a tiny ctypes object
over the pooled memory (`_holder_type`), whose `__del__` runs when NumPy drops its base, i.e.
when the array and every view of it are gone. That costs ~0.4 µs per output over `np.empty`.

Accounting (what `mx.get_active_memory` and friends report): `active` counts the bytes asked for
by live outputs (as MLX reports them), `cache` the capacity of free pooled buffers, `peak` the
most `active` reached since the last reset. Not counted: temporaries that a compiled program
allocates and frees inside one call, and arrays that wrap the user's own NumPy data.

Limits: the cache never holds more than `cache_limit` bytes; by default (None) it holds at most
max(CACHE_FLOOR, peak of active), the most the process ever had live, so a loop over ever-new
shapes cannot grow it without bound while a training loop's buffers all stay. Oldest free
buffers go first. `memory_limit` bounds `active`: an output that would pass it first empties
the cache, then raises MLX's error, `RuntimeError: [malloc] Unable to allocate N bytes.`, as
does an allocation the OS refuses.

Not locked: the GIL makes each dict/list operation atomic, and `__del__` only runs where a
user array dies, never inside the pool's own bookkeeping.
"""

from __future__ import annotations

import ctypes
import os
from collections import OrderedDict

import numpy as np

PAGE = 4096
ALIGN = 64  # bytes: a cache line, and an AVX-512 vector (see BufferPool.empty)
CACHE_FLOOR = 64 << 20  # bytes the default cache limit allows however small the peak


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def size_class(nbytes: int) -> int:
    """The capacity of the buffer an `nbytes` request gets: powers of two up to a page, then
    four steps per octave in whole pages (at most 25% more, and the untouched tail of a large
    buffer costs no resident memory), so nearby sizes share buffers and there are few
    classes."""
    if nbytes <= PAGE:
        return max(16, 1 << (nbytes - 1).bit_length())
    octave = 1 << (nbytes.bit_length() - 1)
    step = max(PAGE, octave // 4)
    return -(-nbytes // step) * step


_HOLDERS: dict[int, type] = {}


def _holder_type(capacity: int) -> type:
    """A ctypes array type of `capacity` bytes whose instances hand their buffer back to the
    pool when NumPy drops them (one type per size class)."""
    t = _HOLDERS.get(capacity)
    if t is None:
        t = _HOLDERS[capacity] = type(f"_Buffer{capacity}", (ctypes.c_char * capacity,),
                                      {"__slots__": (), "__del__": _release})
    return t


def _release(holder) -> None:
    try:
        POOL.release(ctypes.addressof(holder))
    except Exception:  # interpreter shutdown: module state may be gone
        pass


class BufferPool:
    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.cache = 0
        self.memory_limit = int(_total_memory() * 0.8)  # MLX's default on a CPU-only host
        self.cache_limit: int | None = None  # None: max(CACHE_FLOOR, peak), see the module doc
        self.wired_limit = 0
        self.fresh = 0  # buffers allocated from the OS, and
        self.reused = 0  # outputs served from the cache (benchmarks, tests)
        self._live: dict[int, tuple[np.ndarray, int]] = {}  # address -> (memory, nbytes)
        self._free: dict[int, list[int]] = {}  # capacity -> addresses of free buffers
        self._cached: OrderedDict[int, np.ndarray] = OrderedDict()  # free ones, oldest first
        self._specs: dict[tuple, tuple] = {}  # (shape, dtype) -> _spec

    # -- allocation -------------------------------------------------------------------------
    def _spec(self, shape, dtype) -> tuple:
        """(bytes, capacity, holder type, dtype) of an output, kept per (shape, dtype): a
        training step asks for the same outputs every call (W10: 92 per step)."""
        kind = np.dtype(dtype)
        nbytes = kind.itemsize
        for d in shape:
            nbytes *= d
        capacity = size_class(nbytes) if nbytes else 0
        spec = (nbytes, capacity, _holder_type(capacity) if nbytes else None, kind)
        try:
            if len(self._specs) >= 4096:  # ever-new shapes: bounded
                self._specs.clear()
            self._specs[shape, dtype] = spec  # as asked for (a NumPy type or dtype)
        except TypeError:  # a list shape: not kept
            pass
        return spec

    def empty(self, shape, dtype) -> np.ndarray:
        """An uninitialised array of `shape` and `dtype` over a pooled buffer."""
        try:
            nbytes, capacity, holder, dtype = self._specs[shape, dtype]
        except (KeyError, TypeError):
            nbytes, capacity, holder, dtype = self._spec(shape, dtype)
        if nbytes == 0:
            return np.empty(shape, dtype)
        if self.active + nbytes > self.memory_limit:
            self.clear()
            raise RuntimeError(f"[malloc] Unable to allocate {nbytes} bytes.")
        free = self._free.get(capacity)
        if free:
            address = free.pop()
            memory = self._cached.pop(address)
            self.cache -= capacity
            self.reused += 1
        else:
            if self.active + self.cache + nbytes > self.memory_limit:
                self.clear()
            try:
                raw = np.empty(capacity + ALIGN, np.uint8)
            except MemoryError:
                self.clear()
                raise RuntimeError(f"[malloc] Unable to allocate {nbytes} bytes.") from None
            # aligned to a cache line: malloc's large blocks start 16 bytes past a page, and
            # there every 512-bit store of a vectorised loop straddles two lines (measured:
            # `x * 2 + 1` on 16M f32 in 6.3 ms into such an output, 3.5 ms 64-byte aligned)
            start = -raw.__array_interface__["data"][0] % ALIGN
            memory = raw[start:start + capacity]
            address = memory.__array_interface__["data"][0]
            self.fresh += 1
        self._live[address] = (memory, nbytes)
        self.active += nbytes
        if self.active > self.peak:
            self.peak = self.active
        return np.ndarray(shape, dtype, holder.from_address(address))

    def release(self, address: int) -> None:
        memory, nbytes = self._live.pop(address)
        self.active -= nbytes
        capacity = memory.nbytes
        limit = self.effective_cache_limit()
        if capacity > limit:
            return  # dropped: NumPy frees it
        if self.cache + capacity > limit:
            self._evict(limit - capacity)
        self._free.setdefault(capacity, []).append(address)
        self._cached[address] = memory
        self.cache += capacity

    def owned_bytes(self, owner) -> int | None:
        """The bytes asked for of the live pooled buffer that `owner` (an array's base) is,
        or None when it is not one of the pool's."""
        if not isinstance(owner, ctypes.Array):
            return None
        live = self._live.get(ctypes.addressof(owner))
        return None if live is None else live[1]

    # -- limits and accounting ------------------------------------------------------------------
    def effective_cache_limit(self) -> int:
        if self.cache_limit is not None:
            return self.cache_limit
        return max(CACHE_FLOOR, self.peak)

    def _evict(self, keep: int) -> None:
        """Free the oldest cached buffers until the cache holds at most `keep` bytes."""
        while self.cache > keep and self._cached:
            address, memory = self._cached.popitem(last=False)
            capacity = memory.nbytes
            free = self._free[capacity]
            free.remove(address)
            if not free:
                del self._free[capacity]
            self.cache -= capacity

    def clear(self) -> None:
        self._evict(0)

    def set_cache_limit(self, limit: int) -> int:
        previous = self.effective_cache_limit()
        self.cache_limit = _check_limit(limit, "set_cache_limit")
        self._evict(self.cache_limit)
        return previous

    def set_memory_limit(self, limit: int) -> int:
        previous = self.memory_limit
        self.memory_limit = _check_limit(limit, "set_memory_limit")
        return previous

    def set_wired_limit(self, limit: int) -> int:
        previous = self.wired_limit  # recorded only: wiring memory is a macOS Metal notion
        self.wired_limit = _check_limit(limit, "set_wired_limit")
        return previous


def _check_limit(limit, name: str) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise TypeError(f"{name}(): incompatible function arguments. The following argument "
                        f"types are supported:\n    1. {name}(limit: int) -> int\n\n"
                        f"Invoked with types: {type(limit).__name__}")
    return limit


def _mallinfo2():
    try:
        libc = ctypes.CDLL(None)
        fn = libc.mallinfo2
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return None

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost")]

    fn.restype = Info
    return fn


_MALLINFO2 = _mallinfo2()


def heap_bytes() -> int:
    """Bytes the process has in use from malloc (glibc's mallinfo2: small blocks plus mmapped
    ones), what the JIT and MLIR keep; 0 where that is not known. The compile cache charges
    each program the growth of this across its compilation."""
    if _MALLINFO2 is None:
        return 0
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd


def resident_bytes() -> int:
    """The process's resident memory (Linux /proc/self/statm); 0 where not known."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def footprint() -> tuple[int, int]:
    """(heap bytes, resident bytes) now; what a compilation kept is the larger growth of the
    two: the heap misses the JIT's code pages (mapped directly), the resident size misses
    memory the allocator had free and reused."""
    return heap_bytes(), resident_bytes()


def kept_since(before: tuple[int, int]) -> int:
    heap, resident = footprint()
    return max(heap - before[0], resident - before[1], 0)


POOL = BufferPool()
empty = POOL.empty
