"""MLX's memory API over the runtime's buffer pool (runtime/memory.py holds the accounting)."""

from __future__ import annotations

import numpy as np

from mxir.runtime.memory import POOL

from .array import array
from .tree import tree_flatten


def get_active_memory() -> int:
    """Bytes held by live arrays that the runtime computed (cached buffers not included)."""
    return POOL.active


def get_peak_memory() -> int:
    """The most active memory since the start or the last `reset_peak_memory`."""
    return POOL.peak


def reset_peak_memory() -> None:
    POOL.peak = 0


def get_cache_memory() -> int:
    """Bytes of free buffers kept for reuse, not yet returned to the system allocator."""
    return POOL.cache


def clear_cache() -> None:
    """Return every cached buffer to the system allocator."""
    POOL.clear()


def set_memory_limit(limit: int) -> int:
    """Bound the active memory; an output that would pass it raises RuntimeError. Returns
    the previous limit."""
    return POOL.set_memory_limit(limit)


def get_memory_limit() -> int:
    """The bound on active memory now (by default 80% of the machine's memory, as MLX's CPU
    allocator); `set_memory_limit` returns the one it replaces."""
    return POOL.memory_limit


def _buffer(value) -> tuple[int, int]:
    """(identity, bytes) of the buffer under a host value: a pooled output counts the bytes
    its allocation asked for (what MLX's CPU allocator records, and what active memory counts),
    any other the NumPy array that owns the memory."""
    root = value
    while isinstance(root.base, np.ndarray):
        root = root.base
    pooled = POOL.owned_bytes(root.base)
    if pooled is not None:
        return id(root.base), pooled
    return id(root if root.base is None else root.base), root.nbytes


def get_array_buffer_size(*args) -> int:
    """Bytes of the unique buffers under the arrays in `args` (arrays or trees of arrays; other
    leaves are ignored), each buffer once. The arrays must be evaluated."""
    buffers: dict[int, int] = {}
    for leaf in tree_flatten(list(args)):
        if not isinstance(leaf, array):
            continue
        values = leaf._node.values
        value = None if values is None else values[leaf._index]
        if value is None:
            raise ValueError("[get_array_buffer_size] Arrays must be evaluated before querying "
                             "buffer size.")
        key, size = _buffer(value)
        buffers[key] = size
    return sum(buffers.values())


def set_cache_limit(limit: int) -> int:
    """Bound the cache (0 disables it). Returns the previous limit."""
    return POOL.set_cache_limit(limit)


def set_wired_limit(limit: int) -> int:
    """Recorded for MLX parity (wired memory is a Metal notion); returns the previous limit."""
    return POOL.set_wired_limit(limit)
