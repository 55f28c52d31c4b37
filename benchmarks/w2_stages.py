"""What W2's compiled step is made of (the 256x784 -> 512 -> 10 MLP value_and_grad of
benchmarks/run.py), against JAX jit, interleaved in one process so that a shared machine's load
falls on every row alike.

    python benchmarks/w2_stages.py [--rounds 7] [--async-panels]

Rows, each the median over rounds of a batch of calls, in wall and in CPU time (all threads of
the process; on a loaded box CPU time is the steadier figure):
- the step compiled by mxir, its executable called directly on the same arrays (the difference
  is the per-call cost: tracing-free dispatch, argument marshalling, pooled outputs), and the
  step under JAX jit;
- the step's five gemms (shapes and transpose flags as the compiled program calls them), each
  as one call of the one-thread BLAS that compiled programs use (passes/matmul.py), as the two
  panels the compiled program splits the two big ones into, and as JAX jit of the same product;
- the compiled program's threads: CPU per step of the calling thread and of the pool's workers.
The sum of the gemm rows against the step says how much of it is gemm; the FMA peak of
benchmarks/roofline.py says how far the gemms are from the core's ceiling.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np

# (name, m, n, k, A transposed, B transposed): C = op(A) op(B), row-major, as the step calls them
GEMMS = [("x @ w1 (forward)", 256, 512, 784, False, False),
         ("h @ w2", 256, 10, 512, False, False),
         ("dlogits @ w2.T", 256, 512, 10, False, True),
         ("h.T @ dlogits", 512, 10, 256, True, False),
         ("x.T @ dh (dw1)", 784, 512, 256, True, False)]


def _blas():
    from mxir.passes import matmul

    target = matmul.serial_blas_target() or matmul.blas_target()
    lib = ctypes.CDLL(target.library, mode=os.RTLD_LOCAL)
    if target.set_threads:
        getattr(lib, target.set_threads)(1)
    gemm = getattr(lib, target.gemm["f32"])
    i = ctypes.c_int64 if target.int_bits == 64 else ctypes.c_int32
    e, f, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
    gemm.argtypes = [e, e, e, i, i, i, f, p, i, p, i, f, p, i]
    return gemm


def _gemm_call(gemm, m, n, k, ta, tb, rng, panel=None):
    """A call of C = op(A) op(B); `panel` (start, stop): only that panel of C's rows or
    columns, as passes/matmul.py splits."""
    from mxir.passes.matmul import panels_of_rows

    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    lda, ldb = a.shape[1], b.shape[1]
    pa, pb, pc, mm, nn = a.ctypes.data, b.ctypes.data, c.ctypes.data, m, n
    if panel is not None and panels_of_rows(m, n):
        lo, hi = panel
        pa += 4 * lo * (1 if ta else lda)
        pc += 4 * lo * n
        mm = hi - lo
    elif panel is not None:
        lo, hi = panel
        pb += 4 * lo * (ldb if tb else 1)
        pc += 4 * lo
        nn = hi - lo
    args = (101, 112 if ta else 111, 112 if tb else 111, mm, nn, k, 1.0, pa, lda, pb, ldb, 0.0,
            pc, n)
    return lambda keep=(a, b, c): gemm(*args), (a, b)


def _thread_cpu() -> dict:
    out = {}
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s.rsplit(")", 1)[1].split()
        out[(t, name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--async-panels", action="store_true",
                    help="threads of the async runtime's pool, not mxir's (runtime/pool.py): "
                    "MXIR_POOL=0")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if args.async_panels:
        os.environ["MXIR_POOL"] = "0"
    import jax
    import jax.numpy as jnp
    import mxir as mx
    from mxir.passes.matmul import PANELS

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((256, 784)).astype(np.float32)
    y_np = rng.integers(0, 10, 256).astype(np.int32)
    w1 = (rng.standard_normal((784, 512)) * 0.05).astype(np.float32)
    b1 = np.zeros(512, np.float32)
    w2 = (rng.standard_normal((512, 10)) * 0.05).astype(np.float32)
    b2 = np.zeros(10, np.float32)

    def loss(lib, logsumexp, w1, b1, w2, b2, x, y):
        h = lib.maximum(x @ w1 + b1, 0.0)
        logits = h @ w2 + b2
        picked = lib.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return lib.mean(logsumexp(logits, axis=1) - picked)

    params = [mx.array(a) for a in (w1, b1, w2, b2)]
    x, y = mx.array(x_np), mx.array(y_np)
    step = mx.compile(mx.value_and_grad(lambda *a: loss(mx, mx.logsumexp, *a),
                                        argnums=(0, 1, 2, 3)))
    jparams = [jnp.asarray(a) for a in (w1, b1, w2, b2)]
    jx, jy = jnp.asarray(x_np), jnp.asarray(y_np)
    jstep = jax.jit(jax.value_and_grad(lambda *a: loss(jnp, jax.nn.logsumexp, *a),
                                       argnums=(0, 1, 2, 3)))
    from mxir.runtime import cpu
    from mxir.runtime.memory import POOL

    seen = []
    call = cpu.CpuExecutable.__call__

    def spy(self, inputs, outputs):
        seen[:] = [self, list(inputs), [POOL.empty(o.shape, o.dtype) for o in outputs]]
        return call(self, inputs, outputs)

    cpu.CpuExecutable.__call__ = spy
    mx.eval(step(*params, x, y))
    cpu.CpuExecutable.__call__ = call
    exe, inputs, outputs = seen
    rows = {"step, mxir compiled": lambda: mx.eval(step(*params, x, y)),
            "step, its executable called directly": lambda: exe(inputs, outputs),
            "step, JAX jit": lambda: jax.block_until_ready(jstep(*jparams, jx, jy))}
    gemm = _blas()
    flops = {}
    for name, m, n, k, ta, tb in GEMMS:
        call, (a, b) = _gemm_call(gemm, m, n, k, ta, tb, rng)
        rows[f"{name} {m}x{n}x{k}: BLAS, 1 thread"] = call
        flops[f"{name} {m}x{n}x{k}: BLAS, 1 thread"] = 2 * m * n * k
        if m * n * k >= 1 << 22:
            size = max(m, n)
            per = -(-size // PANELS)
            panel, _ = _gemm_call(gemm, m, n, k, ta, tb, rng, (0, per))
            rows[f"{name}: its first of {PANELS} panels"] = panel
        ja, jb = jnp.asarray(a), jnp.asarray(b)
        product = jax.jit(lambda a, b, ta=ta, tb=tb: (a.T if ta else a) @ (b.T if tb else b))
        rows[f"{name}: JAX jit"] = lambda f=product, a=ja, b=jb: f(a, b).block_until_ready()
        flops[f"{name}: JAX jit"] = 2 * m * n * k
    for fn in rows.values():
        for _ in range(10):
            fn()
    wall = {k: [] for k in rows}
    cpu = {k: [] for k in rows}
    threads = {}
    for _ in range(args.rounds):
        for key, fn in rows.items():
            calls = 30 if key.startswith("step") else 100
            before = _thread_cpu() if key == "step, mxir compiled" else None
            t, c = time.perf_counter(), time.process_time()
            for _ in range(calls):
                fn()
            wall[key].append((time.perf_counter() - t) / calls)
            cpu[key].append((time.process_time() - c) / calls)
            if before is not None:
                for k, v in _thread_cpu().items():
                    threads.setdefault(k[1], []).append((v - before.get(k, 0)) / calls)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"load average at the end: {' '.join(load)}; {args.rounds} rounds, medians")
    print(f"{'row':48s} {'wall':>9s} {'CPU':>9s}  GFLOP/s (CPU)")
    for key in rows:
        w, c = statistics.median(wall[key]) * 1e3, statistics.median(cpu[key]) * 1e3
        rate = f"  {flops[key] / c / 1e6:6.1f}" if key in flops else ""
        print(f"{key:48s} {w:7.3f}ms {c:7.3f}ms{rate}")
    gemm_cpu = sum(statistics.median(cpu[k]) for k in rows if k.endswith("BLAS, 1 thread"))
    print(f"the five gemms on one thread: {gemm_cpu * 1e3:.3f} ms CPU")
    print("compiled step, CPU per step by thread (sums over threads of one name):")
    by_name: dict = {}
    for name, values in threads.items():
        by_name[name] = by_name.get(name, 0) + sum(values) / args.rounds
    for name, v in sorted(by_name.items(), key=lambda kv: -kv[1]):
        if v > 1e-5:
            print(f"  {name:20s} {v * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
