"""What this build of mxir can run on, in MLX's terms: `device_info`, `device_count`, and the
`mx.metal` / `mx.cuda` availability queries. The answers come from mxir's own backends
(device.py): a GPU counts only when a GPU backend is selected and usable here."""

from __future__ import annotations

import os
import platform

from .device import DeviceType, _device, available_backends, default_device, gpu_backend


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_count(device_type: DeviceType) -> int:
    """1 for the CPU; 1 for the GPU when a GPU backend is usable, else 0."""
    if not isinstance(device_type, DeviceType):
        raise TypeError(f"device_count(): expected a DeviceType, got {type(device_type).__name__}")
    return int(device_type in available_backends())


def device_info(d=None) -> dict[str, str | int]:
    """Properties of device `d` (default: the default device)."""
    d = default_device() if d is None else _device(d)
    if d.type == DeviceType.cpu:
        return {"architecture": platform.machine(), "device_name": _cpu_name()}
    backends = available_backends()
    if d.type not in backends:
        raise RuntimeError(f"[device_info] mxir has no gpu backend here (available: "
                           f"{', '.join(backends.values())}).")
    return {"architecture": gpu_backend() or "", "device_name": backends[d.type],
            "total_memory": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            if gpu_backend() == "metal-sim" else 0}


def gpu_runs(names: tuple[str, ...]) -> bool:
    """Whether the GPU backend that evaluates is one of `names` and usable."""
    return gpu_backend() in names and DeviceType.gpu in available_backends()
