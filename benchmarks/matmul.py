"""matmul speed: NumPy vs mxir, median ms of interleaved runs (both see the same machine load).

    python benchmarks/matmul.py [--n 1024] [--repeat 15]

MXIR_BLAS=numpy|wheel|mkl|none picks the BLAS the compiled code calls (passes/matmul.py).

Cases: `a @ b` (f32 and f64), `value_and_grad(sum(a @ b))` w.r.t. `a`, and a batched matmul.
mxir times include building the lazy graph, the cached-program lookup and the output array.
"""

from __future__ import annotations

import argparse
import time

import mxir as mx
import numpy as np


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def compare(name, numpy_fn, mxir_fn, repeat):
    numpy_fn(), mxir_fn()  # warm up: compile, thread pools
    np_times, mx_times = [], []
    for _ in range(repeat):  # interleave so a load spike hits both
        np_times.append(median_ms(numpy_fn, 1))
        mx_times.append(median_ms(mxir_fn, 1))
    a, b = float(np.median(np_times)), float(np.median(mx_times))
    print(f"{name:34s} median numpy {a:8.2f} ms  mxir {b:8.2f} ms  ratio {b / a:5.2f}"
          f"   (min {min(np_times):.2f} / {min(mx_times):.2f})")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args()
    n, repeat = args.n, args.repeat
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        x = rng.standard_normal((n, n)).astype(dtype)
        y = rng.standard_normal((n, n)).astype(dtype)
        mt = getattr(mx, dtype)
        a, b = mx.array(x, dtype=mt), mx.array(y, dtype=mt)
        got = np.array(a @ b)
        assert np.allclose(got, x @ y, rtol=1e-3, atol=1e-3)
        compare(f"matmul {n}^3 {dtype}", lambda x=x, y=y: x @ y,
                lambda a=a, b=b: np.array(a @ b), repeat)

    x = rng.standard_normal((n, n), dtype=np.float32)
    y = rng.standard_normal((n, n), dtype=np.float32)
    a, b = mx.array(x), mx.array(y)
    vg = mx.value_and_grad(lambda a, b: mx.sum(a @ b))

    def numpy_vg():
        c = x @ y
        return c.sum(), np.ones_like(c) @ y.T

    def mxir_vg():
        v, g = vg(a, b)
        mx.eval(v, g)
        return np.array(g)

    assert np.allclose(mxir_vg(), numpy_vg()[1], rtol=1e-3, atol=1e-3)
    compare(f"value_and_grad sum(a@b) {n}^3 f32", numpy_vg, mxir_vg, repeat)

    nb, m = 32, max(n // 8, 1)
    x = rng.standard_normal((nb, m, m), dtype=np.float32)
    y = rng.standard_normal((nb, m, m), dtype=np.float32)
    a, b = mx.array(x), mx.array(y)
    compare(f"batched {nb}x{m}^3 f32", lambda: x @ y, lambda: np.array(a @ b), repeat)


if __name__ == "__main__":
    main()
