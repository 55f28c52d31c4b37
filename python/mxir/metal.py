"""`mx.metal`: whether arrays on `mx.gpu` run as Metal kernels in this build (the `metal`
backend, or `metal-sim`, which runs the same kernels on the CPU), and MLX's deprecated
spellings of the device and memory queries, forwarded to the top-level ones."""

from __future__ import annotations

from .device_queries import device_info as _device_info
from .device_queries import gpu_runs


def is_available() -> bool:
    return gpu_runs(("metal", "metal-sim"))


def device_info() -> dict[str, str | int]:
    """Properties of the Metal GPU, or {} without one (as MLX's CPU build)."""
    from .device import gpu

    return _device_info(gpu) if is_available() else {}


_MEMORY = ("clear_cache", "get_active_memory", "get_cache_memory", "get_peak_memory",
           "reset_peak_memory", "set_cache_limit", "set_memory_limit", "set_wired_limit")


def __getattr__(name: str):
    if name in _MEMORY:
        import mxir

        return getattr(mxir, name)  # AttributeError until mxir has the memory API
    raise AttributeError(f"module 'mxir.metal' has no attribute {name!r}")
