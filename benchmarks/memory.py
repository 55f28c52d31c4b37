"""Memory over time: does a long process stay flat?

    python benchmarks/memory.py [--steps 10000] [--shapes 10000] [--only train,shapes]

train: the W2 MLP (benchmarks/run.py: 256x784 -> 512 -> 10, value_and_grad, plus an SGD
update) for `--steps` steps, eager and compiled; RSS after step steps/10 and after the last
step must differ by under 1%.
shapes: `--shapes` eager calls on ever-new shapes (run op by op by the kernel library, which
compiles a kernel per op class, not per shape): resident memory must stay within the compile
cache's byte limit (mxir.evaluate.CACHE_BYTES) plus what the process held before, i.e. grow by
no more than the limit allows.
Prints the runtime's own accounting (mx.get_active_memory, get_cache_memory, the compile
cache's bytes) beside RSS. Not a test: it gates nothing; the verdicts are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def train(mx, steps: int, compiled: bool) -> bool:
    rng = np.random.default_rng(0)
    x = mx.array(rng.standard_normal((256, 784)).astype(np.float32))
    y = mx.array(rng.integers(0, 10, size=256).astype(np.int32))
    params = [mx.array((rng.standard_normal((784, 512)) * 0.05).astype(np.float32)),
              mx.zeros((512,)),
              mx.array((rng.standard_normal((512, 10)) * 0.05).astype(np.float32)),
              mx.zeros((10,))]

    def loss_fn(w1, b1, w2, b2, x, y):
        h = mx.maximum(x @ w1 + b1, 0.0)
        logits = h @ w2 + b2
        picked = mx.take_along_axis(logits, mx.expand_dims(y, 1), axis=1)[:, 0]
        return mx.mean(mx.logsumexp(logits, axis=1) - picked)

    vg = mx.value_and_grad(loss_fn, argnums=(0, 1, 2, 3))

    def step(w1, b1, w2, b2, x, y):
        loss, grads = vg(w1, b1, w2, b2, x, y)
        return [loss] + [p - 0.05 * g for p, g in zip((w1, b1, w2, b2), grads)]

    if compiled:
        step = mx.compile(step)
    marks = {max(1, steps // 10): None, steps: None}
    t = time.perf_counter()
    for i in range(1, steps + 1):
        loss, *params = step(*params, x, y)
        mx.eval(loss, params)
        if i in marks:
            marks[i] = rss()
    per_step = (time.perf_counter() - t) / steps
    (a, ra), (b, rb) = marks.items()
    change = (rb - ra) / ra
    ok = abs(change) < 0.01
    print(f"train {'compiled' if compiled else 'eager   '}: {steps} steps, {per_step * 1e3:.2f} "
          f"ms/step, loss {float(loss.item()):.4f}; RSS after step {a}: {mb(ra)}, after step "
          f"{b}: {mb(rb)} ({change * 100:+.2f}%: {'under' if ok else 'NOT under'} 1%); "
          f"active {mb(mx.get_active_memory())}, cache {mb(mx.get_cache_memory())}, "
          f"peak {mb(mx.get_peak_memory())}", flush=True)
    return ok


def shapes(mx, count: int) -> bool:
    from mxir import evaluate

    base = rss()
    limit = evaluate.CACHE_BYTES
    x = mx.array(1.5)
    worst = 0
    t = time.perf_counter()
    for n in range(1, count + 1):
        y = mx.sin(mx.ones((n,)) * x) + 1.0  # a new shape: a new program every call
        mx.eval(y)
        del y
        if n % max(1, count // 10) == 0:
            grown = rss() - base
            worst = max(worst, grown)
            print(f"  {n} shapes: RSS {mb(rss())} (+{mb(grown)}), compile cache "
                  f"{len(evaluate._CACHE)} programs charged {mb(evaluate.cache_bytes())} of "
                  f"{mb(limit)}, buffer cache {mb(mx.get_cache_memory())}, "
                  f"{(time.perf_counter() - t) / n * 1e3:.1f} ms/call", flush=True)
    ok = worst <= limit + max(64 << 20, mx.get_peak_memory())
    print(f"shapes: {count} calls, RSS grew at most {mb(worst)}; bound: compile cache limit "
          f"{mb(limit)} + buffer cache: {'within' if ok else 'NOT within'}", flush=True)
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--shapes", type=int, default=10_000)
    ap.add_argument("--only", default="train,shapes")
    args = ap.parse_args(argv)
    os.environ.setdefault("MXIR_CACHE_DIR", tempfile.mkdtemp(prefix="mxir-memory-"))
    import mxir as mx

    print(f"mxir memory over time; python {sys.version.split()[0]}; "
          f"{len(os.sched_getaffinity(0))} usable CPUs; load {os.getloadavg()[0]:.1f}", flush=True)
    ok = True
    parts = args.only.split(",")
    if "train" in parts:
        ok &= train(mx, args.steps, compiled=False)
        ok &= train(mx, args.steps, compiled=True)
    if "shapes" in parts:
        ok &= shapes(mx, args.shapes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
