"""mxir benchmark suite: every workload against NumPy, and against MLX and JAX when they import,
in one run. Medians exclude the first call, whose time (trace + compile + run) is reported on
its own. Not a test: nothing here gates on absolute times.

    python benchmarks/run.py [--quick] [--only W1,W5] [--disk-cache] [--no-roofline] [--scaling N]

Compile times are measured against an empty on-disk cache (a fresh MXIR_CACHE_DIR) unless
--disk-cache keeps the user's.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

FRAMEWORKS = ("numpy", "mxir", "mlx", "jax")


# -- timing ------------------------------------------------------------------------------------
class Timing:
    def __init__(self, first: float, median: float, samples: int):
        self.first, self.median, self.samples = first, median, samples
        self.paired: float | None = None  # see paired_fraction


def paired_fraction(step: Callable[[], object], copy: Callable[[], object], quick: bool) -> float:
    """The median time of a copy of the workload's bytes over the workload's median, the two
    called alternately: both meet the same neighbours and find the same cache state. (The
    ceiling of the run's start is a best-of, measured with the L3 all its own: on a VM whose
    L3 other tenants share it moved between 32 and 44 GB/s from run to run.)"""
    for _ in range(3):
        copy(), step()
    copies, steps = [], []
    for _ in range(9 if quick else 25):
        t = time.perf_counter()
        copy()
        copies.append(time.perf_counter() - t)
        t = time.perf_counter()
        step()
        steps.append(time.perf_counter() - t)
    return statistics.median(copies) / statistics.median(steps)


def measure(step: Callable[[], object], quick: bool) -> Timing:
    """First call (compile included), a warm-up, then the median of samples; a sample runs
    `step` as many times as fit in about a millisecond, so microsecond calls time well."""
    t = time.perf_counter()
    step()
    first = time.perf_counter() - t
    budget = 0.6 if quick else 2.5
    target_samples = 7 if quick else 25
    # warm caches, allocators, thread pools: a few calls, and for at least 0.1 s (0.3 s) so
    # that a large working set settles in the L3 again after the previous framework's (W8's
    # 128 MB on this host's shared L3 took ~10 calls: 5.5 ms falling to 3.7-4.0)
    warm_until = time.perf_counter() + (0.1 if quick else 0.3)
    for i in itertools.count():
        step()
        if i + 1 >= (2 if quick else 5) and time.perf_counter() >= warm_until:
            break
    # calibrate: calls per sample
    number = 1
    while True:
        t = time.perf_counter()
        for _ in range(number):
            step()
        dt = time.perf_counter() - t
        if dt >= 1e-3 or number >= 1 << 14:
            break
        number *= 4
    per_sample = dt
    samples = max(3, min(target_samples, int(budget / max(per_sample, 1e-9))))
    gc_was = gc.isenabled()
    gc.disable()
    try:
        times = []
        for _ in range(samples):
            t = time.perf_counter()
            for _ in range(number):
                step()
            times.append((time.perf_counter() - t) / number)
    finally:
        if gc_was:
            gc.enable()
    return Timing(first, statistics.median(times), samples)


# -- frameworks --------------------------------------------------------------------------------
def load_frameworks(disk_cache: bool) -> dict:
    if not disk_cache:
        os.environ["MXIR_CACHE_DIR"] = tempfile.mkdtemp(prefix="mxir-bench-cache-")
    fws: dict = {"numpy": np}
    t = time.perf_counter()
    import mxir

    fws["mxir"] = mxir
    fws["_mxir_import_s"] = time.perf_counter() - t
    try:
        import mlx.core as mlx_core

        fws["mlx"] = mlx_core
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_platforms", "cpu")
        fws["jax"] = jax
    except ImportError:
        pass
    return fws


def _mx_like(fws, name):
    """(module, eval, compile) for the MLX-style frameworks."""
    m = fws[name]
    return m, m.eval, m.compile


# -- workloads ---------------------------------------------------------------------------------
# A workload returns rows: (label, {framework: step}) where step() runs one call to completion.
def w1_seed(fws, rng):
    """As the seed writes it: `xs`, `ys` are lazy random arrays, never evaluated by hand."""
    xs_np = rng.uniform(size=(4096, 100)).astype(np.float32)
    ys_np = rng.uniform(size=(100, 4096)).astype(np.float32)
    loop, vec = {}, {}

    def np_loop():
        return [xs_np[i] + ys_np[:, i] for i in range(xs_np.shape[1])]

    loop["numpy"] = np_loop
    vec["numpy"] = lambda: xs_np.T + ys_np
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, _ = _mx_like(fws, name)
        xs = mx.random.uniform(shape=(4096, 100))
        ys = mx.random.uniform(shape=(100, 4096))

        def naive_add(xs, ys):
            return [xs[i] + ys[:, i] for i in range(xs.shape[1])]

        vmap_add = mx.vmap(lambda x, y: x + y, in_axes=(1, 0))
        loop[name] = (lambda ev=ev, xs=xs, ys=ys, f=naive_add: ev(f(xs, ys)))
        vec[name] = (lambda ev=ev, xs=xs, ys=ys, f=vmap_add: ev(f(xs, ys)))
    if "jax" in fws:
        jax = fws["jax"]
        xs, ys = jax.numpy.asarray(xs_np), jax.numpy.asarray(ys_np)
        jv = jax.vmap(lambda x, y: x + y, in_axes=(1, 0))

        def jax_loop():
            return jax.block_until_ready([xs[i] + ys[:, i] for i in range(xs.shape[1])])

        loop["jax"] = jax_loop
        vec["jax"] = lambda: jv(xs, ys).block_until_ready()
    return [("W1 seed naive loop (100 adds)", loop), ("W1 seed vmap add", vec)]


def w2_mlp(fws, rng):
    x_np = rng.standard_normal((256, 784)).astype(np.float32)
    y_np = rng.integers(0, 10, size=256).astype(np.int32)
    w1_np = (rng.standard_normal((784, 512)) * 0.05).astype(np.float32)
    b1_np = np.zeros(512, np.float32)
    w2_np = (rng.standard_normal((512, 10)) * 0.05).astype(np.float32)
    b2_np = np.zeros(10, np.float32)
    eager, compiled = {}, {}

    def np_step():
        h_pre = x_np @ w1_np + b1_np
        h = np.maximum(h_pre, 0)
        logits = h @ w2_np + b2_np
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        lse = np.log(s) + m
        n = logits.shape[0]
        loss = (lse[:, 0] - logits[np.arange(n), y_np]).mean()
        d_logits = e / s
        d_logits[np.arange(n), y_np] -= 1
        d_logits /= n
        g_w2, g_b2 = h.T @ d_logits, d_logits.sum(0)
        d_h = (d_logits @ w2_np.T) * (h_pre > 0)
        return loss, (x_np.T @ d_h, d_h.sum(0), g_w2, g_b2)

    eager["numpy"] = np_step
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        params = [mx.array(a) for a in (w1_np, b1_np, w2_np, b2_np)]
        x, y = mx.array(x_np), mx.array(y_np)
        ev(params, x, y)

        def loss_fn(w1, b1, w2, b2, x, y, mx=mx):
            h = mx.maximum(x @ w1 + b1, 0.0)
            logits = h @ w2 + b2
            picked = mx.take_along_axis(logits, mx.expand_dims(y, 1), axis=1)[:, 0]
            return mx.mean(mx.logsumexp(logits, axis=1) - picked)

        vg = mx.value_and_grad(loss_fn, argnums=(0, 1, 2, 3))
        cvg = comp(vg)
        eager[name] = lambda vg=vg, ev=ev, p=params, x=x, y=y: ev(vg(*p, x, y))
        compiled[name] = lambda vg=cvg, ev=ev, p=params, x=x, y=y: ev(vg(*p, x, y))
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        params = [jnp.asarray(a) for a in (w1_np, b1_np, w2_np, b2_np)]
        x, y = jnp.asarray(x_np), jnp.asarray(y_np)

        def jloss(w1, b1, w2, b2, x, y):
            h = jnp.maximum(x @ w1 + b1, 0.0)
            logits = h @ w2 + b2
            picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

        jvg = jax.value_and_grad(jloss, argnums=(0, 1, 2, 3))
        jjvg = jax.jit(jvg)
        eager["jax"] = lambda: jax.block_until_ready(jvg(*params, x, y))
        compiled["jax"] = lambda: jax.block_until_ready(jjvg(*params, x, y))
    return [("W2 MLP value_and_grad", eager), ("W2 MLP value_and_grad, compiled", compiled)]


def w3_elementwise(fws, rng):
    x_np = rng.standard_normal(16_777_216).astype(np.float32)
    eager, compiled = {}, {}
    eager["numpy"] = lambda: np.sin(x_np) * np.cos(x_np) + np.exp(-x_np * x_np)
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        x = mx.array(x_np)
        ev(x)

        def f(x, mx=mx):
            return mx.sin(x) * mx.cos(x) + mx.exp(-x * x)

        cf = comp(f)
        eager[name] = lambda f=f, ev=ev, x=x: ev(f(x))
        compiled[name] = lambda f=cf, ev=ev, x=x: ev(f(x))
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        x = jnp.asarray(x_np)

        def jf(x):
            return jnp.sin(x) * jnp.cos(x) + jnp.exp(-x * x)

        jjf = jax.jit(jf)
        eager["jax"] = lambda: jf(x).block_until_ready()
        compiled["jax"] = lambda: jjf(x).block_until_ready()
    return [("W3 sin*cos+exp(-x²) 16M f32", eager),
            ("W3 sin*cos+exp(-x²) 16M f32, compiled", compiled)]


def w4_per_example(fws, rng):
    w_np = rng.standard_normal(128).astype(np.float32)
    x_np = rng.standard_normal((1024, 128)).astype(np.float32)
    y_np = rng.standard_normal(1024).astype(np.float32)
    eager, compiled = {}, {}
    eager["numpy"] = lambda: (2 * (x_np @ w_np - y_np))[:, None] * x_np
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        w, x, y = mx.array(w_np), mx.array(x_np), mx.array(y_np)
        ev(w, x, y)

        def loss(w, x, y, mx=mx):
            return mx.square(mx.inner(x, w) - y)

        pe = mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))
        cpe = comp(pe)
        eager[name] = lambda f=pe, ev=ev, w=w, x=x, y=y: ev(f(w, x, y))
        compiled[name] = lambda f=cpe, ev=ev, w=w, x=x, y=y: ev(f(w, x, y))
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        w, x, y = (jnp.asarray(a) for a in (w_np, x_np, y_np))
        jpe = jax.vmap(jax.grad(lambda w, x, y: jnp.square(jnp.dot(x, w) - y)),
                       in_axes=(None, 0, 0))
        jjpe = jax.jit(jpe)
        eager["jax"] = lambda: jpe(w, x, y).block_until_ready()
        compiled["jax"] = lambda: jjpe(w, x, y).block_until_ready()
    return [("W4 per-example grads vmap(grad)", eager),
            ("W4 per-example grads vmap(grad), compiled", compiled)]


def w5_latency(fws, rng):
    x_np = np.array(0.5, np.float32)
    eager, compiled = {}, {}
    eager["numpy"] = lambda: -np.sin(x_np)  # the closed form, for scale
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        x = mx.array(0.5)
        ev(x)
        g = mx.grad(mx.grad(mx.sin))
        cg = comp(g)
        eager[name] = lambda g=g, ev=ev, x=x: ev(g(x))
        compiled[name] = lambda g=cg, ev=ev, x=x: ev(g(x))
    if "jax" in fws:
        jax = fws["jax"]
        x = jax.numpy.float32(0.5)
        jg = jax.grad(jax.grad(jax.numpy.sin))
        jjg = jax.jit(jg)
        eager["jax"] = lambda: jg(x).block_until_ready()
        compiled["jax"] = lambda: jjg(x).block_until_ready()
    return [("W5 grad(grad(sin)) scalar call", eager),
            ("W5 grad(grad(sin)) scalar call, compiled", compiled)]


def w6_matmul(fws, rng):
    a_np = rng.standard_normal((1024, 1024)).astype(np.float32)
    b_np = rng.standard_normal((1024, 1024)).astype(np.float32)
    mm, vg = {}, {}
    mm["numpy"] = lambda: a_np @ b_np
    ones = np.ones((1024, 1024), np.float32)
    vg["numpy"] = lambda: ((a_np @ b_np).sum(), ones @ b_np.T)
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, _ = _mx_like(fws, name)
        a, b = mx.array(a_np), mx.array(b_np)
        ev(a, b)
        f = mx.value_and_grad(lambda a, b, mx=mx: mx.sum(a @ b))
        mm[name] = lambda ev=ev, a=a, b=b: ev(a @ b)
        vg[name] = lambda f=f, ev=ev, a=a, b=b: ev(f(a, b))
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        a, b = jnp.asarray(a_np), jnp.asarray(b_np)
        jf = jax.value_and_grad(lambda a, b: jnp.sum(a @ b))
        mm["jax"] = lambda: (a @ b).block_until_ready()
        vg["jax"] = lambda: jax.block_until_ready(jf(a, b))
    return [("W6 matmul 1024³", mm), ("W6 value_and_grad sum(a@b) wrt a", vg)]


def w7_shapeless(fws, rng):
    """An MLP training step (value_and_grad, one-hot labels) over 8 batch sizes per call: the
    first call includes compiling for them all (one program for mxir/MLX shapeless, one per
    size for JAX jit and per-shape compile), later calls are the steady state."""
    sizes = (17, 33, 64, 100, 128, 200, 256, 301)
    w1_np = (rng.standard_normal((784, 256)) * 0.05).astype(np.float32)
    b1_np = np.zeros(256, np.float32)
    w2_np = (rng.standard_normal((256, 10)) * 0.05).astype(np.float32)
    batches = [(rng.standard_normal((n, 784)).astype(np.float32),
                np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]) for n in sizes]
    static, shapeless = {}, {}
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        params = [mx.array(a) for a in (w1_np, b1_np, w2_np)]
        data = [(mx.array(x), mx.array(y)) for x, y in batches]
        ev(params, data)

        def loss_fn(w1, b1, w2, x, y, mx=mx):
            logits = mx.maximum(x @ w1 + b1, 0.0) @ w2
            return mx.mean(mx.logsumexp(logits, axis=1) - mx.sum(logits * y, axis=1))

        vg = mx.value_and_grad(loss_fn, argnums=(0, 1, 2))

        def run(f, ev=ev, p=params, data=data):
            for x, y in data:
                ev(f(*p, x, y))

        per_shape, one = comp(vg), comp(vg, shapeless=True)
        static[name] = lambda run=run, f=per_shape: run(f)
        shapeless[name] = lambda run=run, f=one: run(f)
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        params = [jnp.asarray(a) for a in (w1_np, b1_np, w2_np)]
        data = [(jnp.asarray(x), jnp.asarray(y)) for x, y in batches]

        def jloss(w1, b1, w2, x, y):
            logits = jnp.maximum(x @ w1 + b1, 0.0) @ w2
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.sum(logits * y, axis=1))

        jvg = jax.jit(jax.value_and_grad(jloss, argnums=(0, 1, 2)))
        static["jax"] = lambda: [jax.block_until_ready(jvg(*params, x, y)) for x, y in data]
    return [("W7 MLP step x8 batch sizes, compiled", static),
            ("W7 MLP step x8 batch sizes, shapeless", shapeless)]


def _example(name: str):
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _example_steps(fws, name: str, argv: list[str]) -> dict:
    """One compiled training step of benchmarks/<name>.py (model and optimizer state as the
    compiled function's implicit inputs/outputs) for mxir and MLX, run to completion."""
    steps = {}
    for fw in ("mxir", "mlx"):
        if fw in fws:
            _, mx, step, batch, state = _example(name).build(argv + ["--backend", fw])
            x, y = batch(0)
            steps[fw] = lambda mx=mx, step=step, x=x, y=y, state=state: mx.eval(step(x, y),
                                                                                 state)
    return steps


MLP_ARGV = ["--batch-size", "256", "--hidden", "256", "--layers", "2", "--compile"]
LM_ARGV = ["--batch-size", "8", "--context", "32", "--vocab", "64", "--dims", "64",
           "--heads", "4", "--layers", "2"]


def w9_mlp_training(fws, rng):
    """benchmarks/mlp.py's compiled SGD step (784-256-256-10, batch 256); JAX: the same MLP and
    SGD written by hand, jitted."""
    steps = _example_steps(fws, "mlp", MLP_ARGV)
    if "jax" in fws:
        jax = fws["jax"]
        jnp = jax.numpy
        sizes = [784, 256, 256, 10]
        params = [(jnp.asarray(rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i)),
                   jnp.zeros(o, jnp.float32)) for i, o in zip(sizes[:-1], sizes[1:])]
        x = jnp.asarray(rng.standard_normal((256, 784)).astype(np.float32))
        y = jnp.asarray(rng.integers(0, 10, 256).astype(np.int32))

        def loss(params, x, y):
            for w, b in params[:-1]:
                x = jnp.maximum(x @ w.T + b, 0)
            logits = x @ params[-1][0].T + params[-1][1]
            picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

        @jax.jit
        def step(params, x, y):
            value, grads = jax.value_and_grad(loss)(params, x, y)
            return value, jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)

        def run():
            nonlocal params
            value, params = step(params, x, y)
            jax.block_until_ready((value, params))
        steps["jax"] = run
    return [("W9 MLP training step (mlp.py), compiled", steps)]


def w10_lm_training(fws, rng):
    """benchmarks/transformer_lm.py's compiled AdamW step (2 pre-norm layers, 64 dims, 4 heads,
    context 32, batch 8, grad clipping); JAX: the same model and optimizer by hand, jitted."""
    steps = _example_steps(fws, "transformer_lm", LM_ARGV)
    if "jax" in fws:
        steps["jax"] = _jax_lm_step(fws["jax"], rng)
    return [("W10 transformer LM training step, compiled", steps)]


def _jax_lm_step(jax, rng, vocab=64, dims=64, heads=4, layers=2, context=32, batch=8):
    jnp = jax.numpy

    def lin(i, o, bias=True):
        w = jnp.asarray(rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i))
        return {"w": w, "b": jnp.zeros(o, jnp.float32)} if bias else {"w": w}

    def ln():
        return {"w": jnp.ones(dims, jnp.float32), "b": jnp.zeros(dims, jnp.float32)}

    params = {"emb": jnp.asarray(rng.standard_normal((vocab, dims)).astype(np.float32) / 8),
              "layers": [{"ln1": ln(), "ln2": ln(), "q": lin(dims, dims, False),
                          "k": lin(dims, dims, False), "v": lin(dims, dims, False),
                          "o": lin(dims, dims, False), "l1": lin(dims, 4 * dims),
                          "l2": lin(4 * dims, dims)} for _ in range(layers)],
              "ln": ln(), "out": lin(dims, vocab)}
    half = dims // 2
    freqs = np.exp(np.linspace(np.log(1.0), np.log(1e-4), half)).astype(np.float32)
    pos = np.arange(context, dtype=np.float32)[:, None] * freqs
    pe = jnp.asarray(np.concatenate([np.sin(pos), np.cos(pos)], -1) * np.sqrt(2 / dims))
    mask = jnp.asarray(np.triu(np.full((context, context), -1e9, np.float32), 1))

    def apply(p, x):
        return x @ p["w"].T + p["b"] if "b" in p else x @ p["w"].T

    def norm(p, x):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(x.var(-1, keepdims=True) + 1e-5) * p["w"] + p["b"]

    def attention(p, x):
        def split(t):
            return t.reshape(batch, context, heads, -1).transpose(0, 2, 1, 3)
        q, k, v = split(apply(p["q"], x)), split(apply(p["k"], x)), split(apply(p["v"], x))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dims // heads) + mask
        o = (jax.nn.softmax(s, -1) @ v).transpose(0, 2, 1, 3).reshape(batch, context, dims)
        return apply(p["o"], o)

    def loss(params, x, y):
        h = params["emb"][x] + pe
        for p in params["layers"]:
            h = h + attention(p, norm(p["ln1"], h))
            h = h + apply(p["l2"], jnp.maximum(apply(p["l1"], norm(p["ln2"], h)), 0))
        logits = apply(params["out"], norm(params["ln"], h))
        picked = jnp.take_along_axis(logits, y[..., None], -1)[..., 0]
        return jnp.mean(jax.nn.logsumexp(logits, -1) - picked)

    opt = {"m": jax.tree_util.tree_map(jnp.zeros_like, params),
           "v": jax.tree_util.tree_map(jnp.zeros_like, params)}

    @jax.jit
    def step(params, opt, x, y, lr=3e-3, b1=0.9, b2=0.999, wd=0.01):
        value, g = jax.value_and_grad(loss)(params, x, y)
        norm2 = sum(jnp.sum(t * t) for t in jax.tree_util.tree_leaves(g))
        scale = jnp.minimum(1.0 / (jnp.sqrt(norm2) + 1e-6), 1.0)
        g = jax.tree_util.tree_map(lambda t: t * scale, g)
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, opt["m"], g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, opt["v"], g)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p * (1 - lr * wd) - lr * m / (jnp.sqrt(v) + 1e-8), params, m, v)
        return value, params, {"m": m, "v": v}

    x = jnp.asarray(rng.integers(0, vocab, (batch, context)).astype(np.int32))
    y = jnp.asarray(rng.integers(0, vocab, (batch, context)).astype(np.int32))

    def run():
        nonlocal params, opt
        value, params, opt = step(params, opt, x, y)
        jax.block_until_ready((value, params, opt))
    return run


def w8_chain(fws, rng):
    """A memory-bound elementwise chain, x * 2 + 1 on 16M f32: 64 MB read, 64 MB written;
    NumPy makes a fresh output each call, as the others do."""
    x_np = rng.standard_normal(16_777_216).astype(np.float32)
    eager, compiled = {}, {}
    eager["numpy"] = lambda: x_np * 2 + 1
    out = np.empty_like(x_np)

    def np_into():
        np.multiply(x_np, 2, out=out)
        return np.add(out, 1, out=out)

    compiled["numpy"] = np_into  # the "compiled" row: NumPy into a preallocated output
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, comp = _mx_like(fws, name)
        x = mx.array(x_np)
        ev(x)
        cf = comp(lambda x: x * 2 + 1)
        eager[name] = lambda ev=ev, x=x: ev(x * 2 + 1)
        compiled[name] = lambda f=cf, ev=ev, x=x: ev(f(x))
    if "jax" in fws:
        jax = fws["jax"]
        x = jax.numpy.asarray(x_np)
        jf = jax.jit(lambda x: x * 2 + 1)
        eager["jax"] = lambda: (x * 2 + 1).block_until_ready()
        compiled["jax"] = lambda: jf(x).block_until_ready()
    return [("W8 x*2+1 16M f32 (memory-bound)", eager),
            ("W8 x*2+1 16M f32 (memory-bound), compiled", compiled)]


def w11_notebook(fws, rng):
    """Exploring in a notebook (issue 13): 100 random shapes x 3 dtypes; for each, sum and max
    over every axis and over all axes, and a 4-op elementwise chain, each evaluated at once: a
    new graph shape almost every time."""
    rng = np.random.default_rng(13)  # the same shapes whichever workloads run before
    shapes = [tuple(int(d) for d in rng.integers(1, 33, size=rng.integers(1, 5)))
              for _ in range(100)]
    dtypes = ("float32", "float16", "int32")
    hosts = [(rng.standard_normal(s) * 10).astype(d) for s in shapes for d in dtypes]
    n_evals = sum(2 * (h.ndim + 1) + 1 for h in hosts)
    steps = {}

    def np_step():
        for h in hosts:
            for axis in (*range(h.ndim), None):
                np.sum(h, axis=axis)
                np.max(h, axis=axis)
            np.abs(h * 2 - 1) + h

    steps["numpy"] = np_step
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, _ = _mx_like(fws, name)
        xs = [mx.array(h) for h in hosts]
        ev(xs)

        def step(mx=mx, ev=ev, xs=xs):
            for x in xs:
                for axis in (*range(x.ndim), None):
                    ev(mx.sum(x, axis=axis))
                    ev(mx.max(x, axis=axis))
                ev(mx.abs(x * 2 - 1) + x)

        steps[name] = step
    return [(f"W11 notebook: {n_evals} evaluations, new shapes", steps)]


def w12_decode(fws, rng):
    """Text generation with a growing KV cache: a 2-layer toy attention model (d=64, one
    head, residual MLP) decodes 256 tokens, evaluating each step: a new shape every token."""
    d, n_tokens = 64, 256
    layers_np = [[(rng.standard_normal((d, d)) / 16).astype(np.float32) for _ in range(6)]
                 for _ in range(2)]
    emb_np = rng.standard_normal((n_tokens, d)).astype(np.float32)  # the tokens' embeddings
    steps = {}

    def np_decode():
        caches = [(np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)) for _ in layers_np]
        for t in range(n_tokens):
            x = emb_np[t:t + 1]
            for i, (wq, wk, wv, wo, w1, w2) in enumerate(layers_np):
                k_cache = np.concatenate([caches[i][0], x @ wk])
                v_cache = np.concatenate([caches[i][1], x @ wv])
                caches[i] = (k_cache, v_cache)
                s = (x @ wq) @ k_cache.T / 8.0
                e = np.exp(s - s.max(axis=-1, keepdims=True))
                x = x + ((e / e.sum(axis=-1, keepdims=True)) @ v_cache) @ wo
                x = x + np.maximum(x @ w1, 0) @ w2
        return x

    steps["numpy"] = np_decode
    for name in ("mxir", "mlx"):
        if name not in fws:
            continue
        mx, ev, _ = _mx_like(fws, name)
        layers = [[mx.array(w) for w in ws] for ws in layers_np]
        emb = mx.array(emb_np)
        ev(layers, emb)

        def decode(mx=mx, ev=ev, layers=layers, emb=emb):
            caches = [(mx.zeros((0, d)), mx.zeros((0, d))) for _ in layers]
            for t in range(n_tokens):
                x = emb[t:t + 1]
                for i, (wq, wk, wv, wo, w1, w2) in enumerate(layers):
                    k_cache = mx.concatenate([caches[i][0], x @ wk])
                    v_cache = mx.concatenate([caches[i][1], x @ wv])
                    caches[i] = (k_cache, v_cache)
                    att = mx.softmax((x @ wq) @ k_cache.T / 8.0, axis=-1)
                    x = x + (att @ v_cache) @ wo
                    x = x + mx.maximum(x @ w1, 0) @ w2
                ev(x, caches)
            return x

        steps[name] = decode
    return [(f"W12 decode {n_tokens} tokens, 2-layer attention", steps)]


WORKLOADS = {"W1": w1_seed, "W2": w2_mlp, "W3": w3_elementwise, "W4": w4_per_example,
             "W5": w5_latency, "W6": w6_matmul, "W7": w7_shapeless, "W8": w8_chain,
             "W9": w9_mlp_training, "W10": w10_lm_training, "W11": w11_notebook,
             "W12": w12_decode}


# -- roofline ----------------------------------------------------------------------------------
_N16M = 16_777_216
_W2_FLOPS = 2 * 256 * 784 * 512 * 2 + 2 * 256 * 512 * 10 * 3  # forward, two gradient matmuls
_W4_FLOPS = 3 * 1024 * 128  # dot product (2) and scaling (1) per element


def ceiling_seconds(label: str, ceilings: dict, fws) -> tuple[float, str] | None:
    """(the fastest time the host's ceilings allow for a workload, which ceiling), or None
    for latency-bound workloads (W1, W5, W7: dispatch, not the machine, bounds them)."""
    from roofline import copy_bandwidth, kernel_flops, peak_flops

    peak = peak_flops(ceilings)
    copy = copy_bandwidth(ceilings, _N16M)
    if label.startswith("W2"):
        return _W2_FLOPS / peak, "FMA"
    if label.startswith("W3"):
        mx = fws["mxir"]
        x = mx.array(np.zeros(_N16M, np.float32))  # data, not a constant to fold
        flops = kernel_flops([mx.sin(x) * mx.cos(x) + mx.exp(-x * x)])
        compute, memory = flops * _N16M / peak, 8 * _N16M / copy
        if compute >= memory:
            return compute, f"FMA ({flops:.0f} flop/elem)"
        return memory, f"copy; FMA bound {fmt_time(compute)} ({flops:.0f} flop/elem)"
    if label.startswith("W4"):
        return _W4_FLOPS / peak, "FMA"
    if label.startswith("W6 matmul"):
        return 2 * 1024**3 / peak, "FMA"
    if label.startswith("W6"):
        return 4 * 1024**3 / peak, "FMA"
    if label.startswith("W8"):
        return 8 * _N16M / copy, "copy"
    return None


def copy_bound(label: str, ceilings: dict | None, fws) -> bool:
    """Whether the workload's ceiling is only the copy of its 16M f32 (W8; W3's names its
    FMA bound too)."""
    bound = ceilings and ceiling_seconds(label, ceilings, fws)
    return bool(bound) and bound[1] == "copy"


def print_roofline(rows, present, ceilings, fws) -> None:
    print("\nroofline: each time as a fraction of the host's ceiling (ideal time / median)")
    for label, timings in rows:
        bound = ceiling_seconds(label, ceilings, fws)
        if bound is None:
            continue
        ideal, which = bound
        parts = [f"{f} {ideal / timings[f].median * 100:.0f}%" for f in present
                 if f in timings]
        print(f"  {label} [{which}, ideal {fmt_time(ideal)}]: " + ", ".join(parts))
        paired = [f"{f} {timings[f].paired * 100:.0f}%" for f in present
                  if f in timings and timings[f].paired is not None]
        if paired:
            print("    against a copy of its bytes timed alternately with it: " + ", ".join(paired))


def scaling(max_cores: int) -> None:
    """W3 and W8 compiled in mxir, in child processes allowed 1, 2, 4, .., N cores
    (sched_setaffinity: the JIT's thread pool sizes itself from the cores the process may use)."""
    import subprocess

    cores = sorted(os.sched_getaffinity(0))
    print("\nthread scaling (mxir compiled, child process per core count; the JIT's pool has "
          "as many workers as usable cores):")
    base = None
    top = min(max_cores, len(cores))
    counts = sorted({min(2**i, top) for i in range(top.bit_length() + 1)})  # 1, 2, 4, .., top
    for k in counts:
        out = subprocess.run(
            [sys.executable, __file__, "--scaling-child", ",".join(map(str, cores[:k]))],
            capture_output=True, text=True, check=True).stdout
        w3, w8, workers = (float(v) for v in out.split())
        base = base or (w3, w8)
        print(f"  {k} core{'s' if k > 1 else ''} ({workers:.0f} pool workers): W3 {fmt_time(w3)} "
              f"({base[0] / w3:.2f}x), W8 {fmt_time(w8)} ({base[1] / w8:.2f}x)", flush=True)


def _scaling_child(cores: str) -> None:
    os.sched_setaffinity(0, [int(c) for c in cores.split(",")])  # before the JIT's pool starts
    import mxir as mx

    x = mx.array(np.random.default_rng(0).standard_normal(_N16M).astype(np.float32))
    mx.eval(x)
    w3 = mx.compile(lambda x: mx.sin(x) * mx.cos(x) + mx.exp(-x * x))
    w8 = mx.compile(lambda x: x * 2 + 1)
    times = [measure(lambda f=f: mx.eval(f(x)), True).median for f in (w3, w8)]
    from mxir.runtime.cpu import worker_threads

    print(*times, worker_threads())  # the pool must have sized itself from the affinity


# -- report ------------------------------------------------------------------------------------
def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.2f}"


def print_table(rows, present) -> None:
    others = [f for f in present if f != "mxir"]
    head = ["workload"] + [f"{f} median" for f in present] + [f"mxir/{f}" for f in others]
    lines = [head]
    for label, timings in rows:
        med = {f: (timings[f].median if f in timings else None) for f in present}
        lines.append([label] + [fmt_time(med[f]) for f in present]
                     + [fmt_ratio(med["mxir"], med[f]) for f in others])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    for k, r in enumerate(lines):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def print_first_calls(rows, present) -> None:
    print("\nfirst call (trace + compile + run; not in the medians):")
    for label, timings in rows:
        parts = [f"{f} {fmt_time(timings[f].first)}" for f in present if f in timings]
        print(f"  {label}: " + ", ".join(parts))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples (about a minute)")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W5")
    ap.add_argument("--disk-cache", action="store_true",
                    help="keep the user's MXIR_CACHE_DIR (compile times then may be cache hits)")
    ap.add_argument("--no-roofline", action="store_true", help="skip measuring the ceilings")
    ap.add_argument("--scaling", type=int, default=0, metavar="N",
                    help="also time W3/W8 on 1, 2, 4, .., N cores (default: none)")
    ap.add_argument("--scaling-child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scaling_child:
        _scaling_child(args.scaling_child)
        return 0
    fws = load_frameworks(args.disk_cache)
    present = [f for f in FRAMEWORKS if f in fws]
    versions = [f"numpy {np.__version__}"]
    if "mlx" in fws:
        import mlx.core

        versions.append(f"mlx {mlx.core.__version__} ({mlx.core.default_device()})")
    if "jax" in fws:
        versions.append(f"jax {fws['jax'].__version__} ({fws['jax'].devices()[0].platform})")
    print(f"mxir benchmarks — {', '.join(versions)}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs; {'quick' if args.quick else 'full'} run")
    print(f"import mxir: {fws['_mxir_import_s'] * 1e3:.0f} ms; load average "
          f"{os.getloadavg()[0]:.1f}\n", flush=True)
    ceilings = None
    if not args.no_roofline:
        from roofline import measure as measure_ceilings
        from roofline import report

        ceilings = measure_ceilings()
        print(report(ceilings) + "\n", flush=True)
    if ceilings is not None:
        from roofline import copy_step

        copy_16m = copy_step(_N16M)
    chosen = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    rng = np.random.default_rng(0)
    rows = []
    for wname in chosen:
        for label, steps in WORKLOADS[wname](fws, rng):
            timings = {}
            paired = copy_bound(label, ceilings, fws)
            for f in present:
                if f in steps:
                    try:
                        timings[f] = measure(steps[f], args.quick)
                        if paired:
                            timings[f].paired = paired_fraction(steps[f], copy_16m, args.quick)
                    except Exception as e:  # a failing framework must not hide the others
                        print(f"  {label} / {f}: {type(e).__name__}: {e}", file=sys.stderr)
            rows.append((label, timings))
            print(f"  done: {label}", file=sys.stderr, flush=True)
    print("medians per call (ratios are time ratios: below 1 means mxir is faster)\n")
    print_table(rows, present)
    print_first_calls(rows, present)
    if ceilings:
        print_roofline(rows, present, ceilings, fws)
    if args.scaling:
        scaling(args.scaling)
    by_label = dict(rows)
    loop = by_label.get("W1 seed naive loop (100 adds)", {}).get("mxir")
    vec = by_label.get("W1 seed vmap add", {}).get("mxir")
    if loop and vec:
        speedup = loop.median / vec.median
        print(f"\nW1 (seed): 100 calls: loop {loop.median * 100:.3f} s, vmap "
              f"{vec.median * 100:.3f} s — vmap {speedup:.1f}x faster "
              f"({'meets' if speedup >= 10 else 'BELOW'} the seed's 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
