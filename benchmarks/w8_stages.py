"""Where W8's time goes (`x * 2 + 1` on 16M f32, compiled): the call as benchmarks/run.py makes
it, and its stages, interleaved in one process so that a shared machine's load falls on all
of them alike.

    python benchmarks/w8_stages.py [--rounds 9]

Rows: `mx.eval(f(x))` (trace-free compiled call, pooled output); the same executable called
directly into a pooled output (64-byte aligned), into an output 16 bytes past a cache line (where
malloc puts large blocks: the pool's outputs before they were aligned), and into the input's
own kind of NumPy array; the host's copy kernel (benchmarks/roofline.py, all usable cores) on
arrays of the same size; `np.copyto` (one thread). Each row: the median over rounds of the
best of a few calls, GB/s counting 8 bytes per element (read + write, as the copy ceiling
does), and minor page faults per call (/proc/self/stat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

N = 16 << 20


def minor_faults() -> int:
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def offset_array(n: int, offset: int) -> np.ndarray:
    """n f32 starting `offset` bytes past a 64-byte line."""
    raw = np.empty(4 * n + 128, np.uint8)
    start = -raw.ctypes.data % 64 + offset
    return raw[start:start + 4 * n].view(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mxir as mx
    from mxir.runtime import cpu
    from mxir.runtime.memory import POOL
    from roofline import _build

    x_np = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    x = mx.array(x_np)
    mx.eval(x)
    f = mx.compile(lambda x: x * 2 + 1)
    seen = []
    call = cpu.CpuExecutable.__call__

    def spy(self, inputs, outputs):
        seen[:] = [self, list(inputs)]
        return call(self, inputs, outputs)

    cpu.CpuExecutable.__call__ = spy
    mx.eval(f(x))
    cpu.CpuExecutable.__call__ = call
    exe, inputs = seen
    pooled, off16, plain = POOL.empty((N,), np.float32), offset_array(N, 16), np.empty_like(x_np)
    src, dst = offset_array(N, 0), offset_array(N, 0)
    for a in (pooled, off16, plain, src, dst):
        a[:] = 1
    k = _build()
    cores = len(os.sched_getaffinity(0))
    rows = {
        "mx.eval(f(x)), as run.py": lambda: mx.eval(f(x)),
        "kernel into a pooled output": lambda: exe(inputs, [pooled]),
        "kernel, output 16 B past a line": lambda: exe(inputs, [off16]),
        "kernel into np.empty_like(x)": lambda: exe(inputs, [plain]),
        f"C copy, same size, {cores} threads": lambda: k.copy(dst.ctypes.data, src.ctypes.data,
                                                             N, cores),
        "np.copyto (one thread)": lambda: np.copyto(plain, x_np),
    }
    times = {name: [] for name in rows}
    faults = dict.fromkeys(rows, 0)
    print(f"load average {os.getloadavg()[0]:.2f}; input {x_np.ctypes.data % 64} B past a line",
          flush=True)
    for _ in range(args.rounds):
        for name, step in rows.items():
            step()
            before = minor_faults()
            best = float("inf")
            for _ in range(4):
                t = time.perf_counter()
                step()
                best = min(best, time.perf_counter() - t)
            faults[name] += minor_faults() - before
            times[name].append(best)
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  {name:36s} {m * 1e3:6.2f} ms  {8 * N / m / 1e9:5.1f} GB/s  "
              f"{faults[name] / args.rounds / 4:.1f} faults/call")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
