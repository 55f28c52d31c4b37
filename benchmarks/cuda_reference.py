"""The CUDA workloads' inputs and float64 NumPy references, and wall-clock timing: shared by
cuda_run.py (exported plans) and cuda_frontend_bench.py (the frontend on mx.gpu)."""

from __future__ import annotations

import statistics
import time

import numpy as np


def rel_err(out, ref) -> float:
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if not np.all(np.isfinite(out)):
        return float("inf")
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300))


def tolerances(name, v, ref) -> list[float]:
    """NumPy in float32 against the float64 reference: how far float32 itself lands (ReLU masks
    near 0 flip); the GPU may be as far off as 10x that, or 1e-4."""
    if name.startswith("W3"):
        return [1e-4] * len(ref)
    return [max(1e-4, 10 * rel_err(r32, r)) for r32, r in zip(reference(name, v, np.float32), ref)]


def make_inputs(name, rng):
    if name.startswith("W3"):
        n = 16_777_216 if name == "W3_16M" else 268_435_456
        return {"x": rng.uniform(-10, 10, n).astype(np.float32)}
    if name == "W2_mlp":
        return {"w1": (rng.standard_normal((784, 512)) * 0.05).astype(np.float32),
                "b1": (rng.standard_normal(512) * 0.1).astype(np.float32),
                "w2": (rng.standard_normal((512, 10)) * 0.05).astype(np.float32),
                "b2": (rng.standard_normal(10) * 0.1).astype(np.float32),
                "x": rng.standard_normal((256, 784)).astype(np.float32),
                "y": rng.integers(0, 10, 256).astype(np.int32)}
    if name == "W4_perex":
        return {"w": rng.standard_normal(128).astype(np.float32),
                "x": rng.standard_normal((65536, 128)).astype(np.float32),
                "y": rng.standard_normal(65536).astype(np.float32)}
    if name.startswith("W6"):
        return {"a": rng.standard_normal((4096, 4096)).astype(np.float32),
                "b": rng.standard_normal((4096, 4096)).astype(np.float32)}
    if name == "seed_vmap":
        return {"xs": rng.random((4096, 100), np.float32),
                "ys": rng.random((100, 4096), np.float32)}
    raise KeyError(name)


def reference(name, v, dtype=np.float64):
    d = {k: a.astype(dtype) if a.dtype == np.float32 else a for k, a in v.items()}
    if name.startswith("W3"):
        x = d["x"]
        return [np.sin(x) * np.cos(x) + np.exp(-x * x)]
    if name == "W2_mlp":
        x, y, w1, b1, w2, b2 = d["x"], d["y"], d["w1"], d["b1"], d["w2"], d["b2"]
        h_pre = x @ w1 + b1
        h = np.maximum(h_pre, 0)
        logits = h @ w2 + b2
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        n = logits.shape[0]
        loss = (np.log(s)[:, 0] + m[:, 0] - logits[np.arange(n), y]).mean()
        dl = e / s
        dl[np.arange(n), y] -= 1
        dl /= n
        dh = (dl @ w2.T) * (h_pre > 0)
        return [np.array(loss), x.T @ dh, dh.sum(0), h.T @ dl, dl.sum(0)]
    if name == "W4_perex":
        w, x, y = d["w"], d["x"], d["y"]
        return [(2 * (x @ w - y))[:, None] * x]
    if name.startswith("W6_matmul"):
        return [d["a"] @ d["b"]]
    if name == "W6_grad":
        a, b = d["a"], d["b"]
        return [np.array((a @ b).sum()), np.broadcast_to(b.sum(1), a.shape)]
    if name == "seed_vmap":
        return [d["xs"].T + d["ys"]]
    raise KeyError(name)


def median_ms(fn, repeat=20, warmup=3, sync=None):
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)
