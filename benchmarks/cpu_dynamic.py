"""W3 (sin x cos x + exp(-x^2), float32) compiled once with a dynamic shape (tensor<?xf32>,
tensor<?x?xf32>, the shapeless-compile form) vs compiled for each static shape, through the
CPU pipeline below mx-to-linalg; also the dynamic program with a scalar remainder
(cpu_codegen.DYN_MASKED = False). The programs are hand-written linalg, as in
tests/unit/test_cpu_codegen_dynamic.py. Medians over rounds that interleave the variants.

Run: /work/venv/bin/python benchmarks/cpu_dynamic.py [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "unit"))

from mxir.passes import cpu_codegen  # noqa: E402
from test_cpu_codegen_dynamic import W3, compile_ir, program  # noqa: E402

CASES = [(64,), (63,), (1000,), (1 << 24,), (4096, 4096), (1 << 20, 15), (1000, 100)]


def median_s(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def dynamic(rank: int, masked: bool):
    cpu_codegen.DYN_MASKED = masked
    try:
        dims = ((None,) * rank, "f32")
        return compile_ir(program([dims], dims, W3))[0]
    finally:
        cpu_codegen.DYN_MASKED = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    t = time.perf_counter()
    dyn = {r: dynamic(r, True) for r in (1, 2)}
    print(f"compile, two dynamic programs: {time.perf_counter() - t:.2f} s")
    scalar = {r: dynamic(r, False) for r in (1, 2)}
    rng = np.random.default_rng(0)
    for shape in CASES:
        static = compile_ir(program([(shape, "f32")], (shape, "f32"), W3))[0]
        x = rng.uniform(-20, 20, shape).astype(np.float32)
        out = np.empty_like(x)
        variants = {"dynamic": dyn[len(shape)], "dynamic-scalar-tail": scalar[len(shape)],
                    "static": static}
        small = x.size < 100_000
        repeat = args.repeat * (20 if small else 1)
        times: dict = {k: [] for k in variants}
        for _ in range(3):
            for k, exe in variants.items():
                times[k].append(median_s(lambda exe=exe, x=x, out=out: exe([x], [out]), repeat))
        unit, scale = ("us", 1e6) if small else ("ms", 1e3)
        print(f"{str(shape):>14} " + "  ".join(
            f"{k} {scale * statistics.median(v):.3f} {unit}" for k, v in times.items()),
            flush=True)


if __name__ == "__main__":
    main()
