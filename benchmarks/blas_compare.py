"""One-thread f32 gemm of each BLAS that compiled programs can call (passes/matmul.py's serial
targets: the scipy-openblas32 wheel, MKL where the `mkl` extra is installed) on W2's and W6's
shapes, best of 7 batches, checked against NumPy.

    python benchmarks/blas_compare.py
"""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np
from mxir.passes import matmul

# (m, n, k, A transposed, B transposed): C = op(A) op(B), row-major
SHAPES = [(256, 512, 784, False, False), (784, 512, 256, True, False),
          (256, 512, 10, False, True), (1024, 1024, 1024, False, False)]


def one_thread_gemm(target):
    lib = ctypes.CDLL(target.library, mode=os.RTLD_LOCAL)
    getattr(lib, target.set_threads)(1)  # as the CPU runtime does (runtime/cpu.py)
    gemm = getattr(lib, target.gemm["f32"])
    i = ctypes.c_int64 if target.int_bits == 64 else ctypes.c_int32
    e, f, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
    gemm.argtypes = [e, e, e, i, i, i, f, p, i, p, i, f, p, i]
    return gemm


def main() -> None:
    libs = {name: find() for name, find in (("openblas wheel", matmul._wheel_openblas),
                                            ("mkl", matmul._mkl))}
    gemms = {name: one_thread_gemm(t) for name, t in libs.items() if t is not None}
    rng = np.random.default_rng(0)
    for m, n, k, ta, tb in SHAPES:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        want = (a.T if ta else a) @ (b.T if tb else b)
        row = []
        for name, gemm in gemms.items():
            c = np.zeros((m, n), np.float32)
            args = (101, 112 if ta else 111, 112 if tb else 111, m, n, k, 1.0, a.ctypes.data,
                    a.shape[1], b.ctypes.data, b.shape[1], 0.0, c.ctypes.data, n)

            def call(gemm=gemm, args=args):
                gemm(*args)

            call()
            np.testing.assert_allclose(c, want, rtol=1e-3, atol=1e-3)
            reps = max(1, int(2e8 / (2 * m * n * k)))
            best = float("inf")
            for _ in range(7):
                t = time.perf_counter()
                for _ in range(reps):
                    call()
                best = min(best, (time.perf_counter() - t) / reps)
            row.append(f"{name} {best * 1e3:.3f} ms ({2 * m * n * k / best / 1e9:.0f} GF/s)")
        print(f"{m}x{n}x{k}{' A^T' if ta else ''}{' B^T' if tb else ''}: " + ", ".join(row))
    missing = [name for name, t in libs.items() if t is None]
    if missing:
        print("not installed:", ", ".join(missing))


if __name__ == "__main__":
    main()
