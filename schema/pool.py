"""The contract between the passes that outline work into tasks (passes/pool_tasks.py: the
chunks of parallel loops, mx-cpu-parallel, and the panels of big gemms,
cpu-blas-matmul-split) and the CPU runtime's thread pool that runs them (runtime/pool.py):

    void mxir_pool_run(void (*task)(void *ctx, int64_t i), void *ctx, int64_t n)

runs task(ctx, i) for every i in [0, n) and returns when all have run.
"""

from __future__ import annotations

import os
import platform
import sys

RUN = "mxir_pool_run"


def supported() -> bool:
    """Whether compiled programs use the pool: on Linux on x86-64 or arm64 (its workers sleep
    on futexes), unless MXIR_POOL=0; elsewhere their parallel loops and gemm panels run on
    the async runtime's pool (mx-cpu-parallel)."""
    return (sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64")
            and os.environ.get("MXIR_POOL", "1") != "0")


def cores() -> int:
    """The cores this process may use: one panel per core (the caller runs one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
