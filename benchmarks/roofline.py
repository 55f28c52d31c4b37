"""The host's ceilings, measured at the start of a benchmark run: copy and triad bandwidth
(one core and all usable cores) and the FMA peak per vector width, from small C kernels
compiled here with the system's C compiler (-O3 -march=native -fopenmp; needs `cc`).

    python benchmarks/roofline.py        # prints the ceilings and the host's features

Bandwidth counts the bytes a kernel reads and writes, as STREAM does (copy 8 bytes per f32
element, triad 12); arrays are 256 MB each, beyond the caches the VM reports (its L3 figure is
the host's), and copy is measured again on 64 MB arrays, the 16M f32 of W3 and W8, whose
128 MB of traffic a large L3 partly holds (measured here: 28 GB/s at 256 MB, 33-36 at 64 MB):
a workload of that size is held to the faster figure. Arrays start on a 64-byte line, as
mxir's outputs do. FMA peak: independent accumulators of `v = v * a + b` in vectors of 4, 8 and 16
f32 (the widths this host has natively; wider ones are split by the compiler and say nothing
new); 2 flops per lane per FMA.
"""

from __future__ import annotations

import ctypes
import functools
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# the kernels' OpenMP threads sleep when a parallel region ends: spinning (libgomp's default)
# they took a core from whatever ran next, and a workload timed between copies (run.py's paired
# figure) ran in 6.7-7.1 ms instead of 5.0
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_SOURCE = r"""
#include <omp.h>
typedef float v4 __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

void touch(float *a, long n, int t) {
  #pragma omp parallel for num_threads(t) schedule(static)
  for (long i = 0; i < n; i++) a[i] = (float)(i & 7);
}
void copy(float *restrict d, const float *restrict s, long n, int t) {
  #pragma omp parallel for num_threads(t) schedule(static)
  for (long i = 0; i < n; i++) d[i] = s[i];
}
void triad(float *restrict a, const float *restrict b, const float *restrict c, float q,
           long n, int t) {
  #pragma omp parallel for num_threads(t) schedule(static)
  for (long i = 0; i < n; i++) a[i] = b[i] + q * c[i];
}
#define FMA(V, NAME)                                                              \
float NAME(long iters, int t) {                                                   \
  float out = 0;                                                                  \
  _Pragma("omp parallel num_threads(t) reduction(+:out)")                         \
  {                                                                               \
    V a = (V){} + 0.999f, b = (V){} + 0.001f;                                     \
    /* distinct starts: equal ones let the compiler merge chains (it kept 6 of 12) */ \
    V r0 = a, r1 = b, r2 = a + b, r3 = a - b, r4 = a * 0.5f, r5 = b * 0.5f;       \
    V r6 = a * 0.25f, r7 = b * 0.25f, r8 = a * 0.125f, r9 = b * 0.125f;           \
    V r10 = a * 0.0625f, r11 = b * 0.0625f;                                       \
    for (long i = 0; i < iters; i++) {                                            \
      r0 = r0 * a + b; r1 = r1 * a + b; r2 = r2 * a + b; r3 = r3 * a + b;         \
      r4 = r4 * a + b; r5 = r5 * a + b; r6 = r6 * a + b; r7 = r7 * a + b;         \
      r8 = r8 * a + b; r9 = r9 * a + b; r10 = r10 * a + b; r11 = r11 * a + b;     \
      __asm__ volatile("" : "+x"(r0), "+x"(r1), "+x"(r2), "+x"(r3));               \
    }                                                                             \
    V s = r0 + r1 + r2 + r3 + r4 + r5 + r6 + r7 + r8 + r9 + r10 + r11;            \
    for (unsigned k = 0; k < sizeof(V) / 4; k++) out += s[k];                     \
  }                                                                               \
  return out;                                                                     \
}
FMA(v4, fma4)
FMA(v8, fma8)
FMA(v16, fma16)
"""
ACCUMULATORS = 12


def host_features() -> dict:
    """CPU model, vector features and usable cores (os.sched_getaffinity)."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                          "avx512_fp16", "amx_tile", "asimd", "sve") if f in flags]
    return {"model": model or "unknown", "features": wanted,
            "cores": len(os.sched_getaffinity(0))}


def native_widths(features: list[str]) -> list[int]:
    """f32 lanes of the host's native FMA vectors."""
    if "avx512f" in features:
        return [4, 8, 16]
    if "avx2" in features or "fma" in features:
        return [4, 8]
    return [4]


@functools.cache
def _build() -> ctypes.CDLL:
    folder = tempfile.mkdtemp(prefix="mxir-roofline-")
    src, lib = os.path.join(folder, "k.c"), os.path.join(folder, "k.so")
    with open(src, "w") as f:
        f.write(_SOURCE)
    subprocess.run(["cc", "-O3", "-march=native", "-ffp-contract=fast", "-fopenmp", "-shared",
                    "-fPIC", src, "-o", lib], check=True)
    k = ctypes.CDLL(lib)
    p, n, i = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    k.touch.argtypes = [p, n, i]
    k.copy.argtypes = [p, p, n, i]
    k.triad.argtypes = [p, p, p, ctypes.c_float, n, i]
    for w in (4, 8, 16):
        getattr(k, f"fma{w}").argtypes = [n, i]
        getattr(k, f"fma{w}").restype = ctypes.c_float
    return k


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


SMALL = 16 << 20  # f32 elements of the 16M workloads (W3, W8)


def _aligned(n: int) -> np.ndarray:
    raw = np.empty(4 * n + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start:start + 4 * n].view(np.float32)


def measure(repeats: int = 7) -> dict:
    """{"copy": {threads: bytes/s}, "triad": {...}, "fma": {width: {threads: flop/s}},
    "host": host_features()}; threads are 1 and all usable cores."""
    host = host_features()
    k = _build()
    n = 64 << 20  # f32 elements: 256 MB per array
    arrays = [_aligned(n) for _ in range(3)]
    ptrs = [a.ctypes.data for a in arrays]
    counts = sorted({1, host["cores"]})
    for p in ptrs:
        k.touch(p, n, host["cores"])
    out: dict = {"host": host, "copy": {}, "copy_16m": {}, "triad": {}, "fma": {}}
    for t in counts:
        out["copy"][t] = 8 * n / _best(lambda t=t: k.copy(ptrs[0], ptrs[1], n, t), repeats)
        out["copy_16m"][t] = 8 * SMALL / _best(
            lambda t=t: k.copy(ptrs[0], ptrs[1], SMALL, t), 2 * repeats)
        out["triad"][t] = 12 * n / _best(
            lambda t=t: k.triad(ptrs[0], ptrs[1], ptrs[2], 3.0, n, t), repeats)
    iters = 20_000_000
    for w in native_widths(host["features"]):
        fn = getattr(k, f"fma{w}")
        out["fma"][w] = {t: 2 * w * ACCUMULATORS * iters * t / _best(
            lambda fn=fn, t=t: fn(iters, t), 3) for t in counts}
    return out


def copy_step(elements: int):
    """A call that copies `elements` f32 between two arrays on all usable cores: run.py times
    it alternately with a memory-bound workload."""
    k, cores = _build(), host_features()["cores"]
    src, dst = _aligned(elements), _aligned(elements)
    for a in (src, dst):
        k.touch(a.ctypes.data, elements, cores)
    return lambda: k.copy(dst.ctypes.data, src.ctypes.data, elements, cores)


def peak_flops(ceilings: dict, threads: int | None = None) -> float:
    """The best FMA rate of any width, on `threads` (default all usable cores)."""
    t = threads or max(ceilings["copy"])
    return max(by_t[t] for by_t in ceilings["fma"].values())


def kernel_flops(arrays) -> float:
    """Floating-point operations per element of the program mxir compiles for `arrays` (lazy
    mxir arrays of one elementwise fused kernel): the vector fmul/fadd/fsub/fma (fma twice)
    of its generated LLVM IR, times their lanes, over the widest vector's lanes (the tile
    one loop iteration computes). Our polynomials' own count, so the FMA roofline fraction
    says how well the code runs, not how few operations it needs."""
    import re

    from mlir import ir
    from mxir import evaluate
    from mxir.passes import run_pipeline
    from mxir.program import build_module, trace_program

    main, _ = trace_program(list(arrays))
    with evaluate.context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-to-cpu"])
        text = str(module)
    weights = {"llvm.fmul": 1, "llvm.fadd": 1, "llvm.fsub": 1, "llvm.intr.fma": 2,
               "llvm.intr.fmuladd": 2}
    total, tile = 0, 1
    for m in re.finditer(r"(llvm\.[\w.]+)[^\n]*vector<(\d+)xf(?:32|64)>", text):
        lanes = int(m.group(2))
        tile = max(tile, lanes)
        total += weights.get(m.group(1), 0) * lanes
    return total / tile


def copy_bandwidth(ceilings: dict, elements: int) -> float:
    """The best copy rate for a kernel on arrays of `elements` f32: the 64 MB figure for
    arrays no larger than that (a large L3 partly holds them), else the 256 MB one."""
    rates = list(ceilings["copy"].values())
    if elements <= SMALL:
        rates += ceilings["copy_16m"].values()
    return max(rates)


def report(ceilings: dict) -> str:
    host = ceilings["host"]
    lines = [f"host: {host['model']}; {host['cores']} usable cores; features "
             f"{' '.join(host['features'])}"]
    names = {"copy": "copy", "copy_16m": "copy, 64 MB arrays", "triad": "triad"}
    for kind in ("copy", "copy_16m", "triad"):
        lines.append(f"{names[kind]} bandwidth: " + ", ".join(
            f"{t} thread{'s' if t > 1 else ''} {v / 1e9:.1f} GB/s"
            for t, v in ceilings[kind].items()))
    for w, by_t in ceilings["fma"].items():
        lines.append(f"FMA peak, {w} x f32 ({w * 32} bit): " + ", ".join(
            f"{t} thread{'s' if t > 1 else ''} {v / 1e9:.1f} GFLOP/s" for t, v in by_t.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(measure()))
    sys.exit(0)
