"""The contract between cpu-blas-matmul-split (passes/matmul.py), which outlines the panels of
a big gemm into tasks, and the CPU runtime's thread pool that runs them (runtime/pool.py):

    void mxir_pool_run(void (*task)(void *ctx, int64_t i), void *ctx, int64_t n)

runs task(ctx, i) for every i in [0, n) and returns when all have run.
"""

from __future__ import annotations

import os
import platform
import sys

RUN = "mxir_pool_run"


def supported() -> bool:
    """Whether this host has the pool: Linux on x86-64 or arm64 (its workers sleep on futexes);
    elsewhere the panels are an scf.forall on the async runtime's pool."""
    return sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64")


def cores() -> int:
    """The cores this process may use: one panel per core (the caller runs one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
