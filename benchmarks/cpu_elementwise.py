"""W3 on the CPU: f(x) = sin(x)*cos(x) + exp(-x*x) on 16M float32, NumPy vs mxir (plain and
mx.compile), plus a row-sum and the compile time of a fresh 100-op graph.

Run: /work/venv/bin/python benchmarks/cpu_elementwise.py [--n N] [--repeat R]
Self-contained (the full suite lives in benchmarks/run.py). Prints medians in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def median_ms(fn, repeat: int) -> float:
    fn()  # warm: compile, caches
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 24)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    os.environ.setdefault("MXIR_CACHE_DIR", "0")  # measure compilation, not the disk cache

    import mxir as mx

    x_np = np.random.default_rng(0).uniform(-10, 10, args.n).astype(np.float32)

    def f_np():
        return np.sin(x_np) * np.cos(x_np) + np.exp(-x_np * x_np)

    def f(x):
        return mx.sin(x) * mx.cos(x) + mx.exp(-x * x)

    x = mx.array(x_np)
    f_c = mx.compile(f)

    def plain():
        y = f(x)
        mx.eval(y)
        return y

    def compiled():
        y = f_c(x)
        mx.eval(y)
        return y

    err = float(np.max(np.abs(np.array(plain()) - f_np().astype(np.float32))))
    print(f"W3 sin*cos+exp(-x^2), n={args.n} float32 (max abs err vs NumPy {err:.2e})")
    print(f"  numpy          {median_ms(f_np, args.repeat):8.2f} ms")
    print(f"  mxir plain     {median_ms(plain, args.repeat):8.2f} ms")
    print(f"  mxir compile   {median_ms(compiled, args.repeat):8.2f} ms")
    try:
        import jax
        import jax.numpy as jnp

        xj = jnp.asarray(x_np)
        fj = jax.jit(lambda v: jnp.sin(v) * jnp.cos(v) + jnp.exp(-v * v))
        print(f"  jax jit        {median_ms(lambda: fj(xj).block_until_ready(), args.repeat):8.2f}"
              " ms")
    except ImportError:
        print("  jax jit        (jax not installed)")

    side = 4096
    m_np = x_np[: side * side].reshape(side, side) if args.n >= side * side else \
        np.ones((side, side), np.float32)
    m = mx.array(m_np)
    print(f"row-sum {side}x{side} float32")
    print(f"  numpy          {median_ms(lambda: m_np.sum(axis=1), args.repeat):8.2f} ms")
    print(f"  mxir           {median_ms(lambda: mx.eval(mx.sum(m, axis=1)), args.repeat):8.2f} ms")

    small = mx.array(np.linspace(0.1, 1, 64, dtype=np.float32))
    times = []
    for k in range(5):
        y = small
        for i in range(100):  # fresh constants make every graph a new program
            y = mx.sin(y) * (1.0 + 1e-3 * (k * 100 + i)) if i % 2 else y + 0.5
        t = time.perf_counter()
        mx.eval(y)
        times.append(time.perf_counter() - t)
    print(f"compile+run of a fresh 100-op graph: {1e3 * statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main()
