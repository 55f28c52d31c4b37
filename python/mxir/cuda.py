"""`mx.cuda`: whether arrays on `mx.gpu` run as CUDA (PTX) kernels in this build."""

from __future__ import annotations

from .device_queries import gpu_runs


def is_available() -> bool:
    return gpu_runs(("cuda",))
