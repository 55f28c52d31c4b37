"""MLX's memory API over the runtime's buffer pool (runtime/memory.py holds the accounting)."""

from __future__ import annotations

from mxir.runtime.memory import POOL


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


def set_cache_limit(limit: int) -> int:
    """Bound the cache (0 disables it). Returns the previous limit."""
    return POOL.set_cache_limit(limit)


def set_wired_limit(limit: int) -> int:
    """Recorded for MLX parity (wired memory is a Metal notion); returns the previous limit."""
    return POOL.set_wired_limit(limit)
