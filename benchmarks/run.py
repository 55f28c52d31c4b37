"""mxir benchmark suite: every workload against NumPy, and against MLX and JAX when they import,
in one run. Medians exclude the first call, whose time (trace + compile + run) is reported on
its own. Not a test: nothing here gates on absolute times.

    python benchmarks/run.py [--quick] [--only W1,W5] [--disk-cache]

Compile times are measured against an empty on-disk cache (a fresh MXIR_CACHE_DIR) unless
--disk-cache keeps the user's.
"""

from __future__ import annotations

import argparse
import gc
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


def measure(step: Callable[[], object], quick: bool) -> Timing:
    """First call (compile included), a warm-up, then the median of samples; a sample runs
    `step` as many times as fit in about a millisecond, so microsecond calls time well."""
    t = time.perf_counter()
    step()
    first = time.perf_counter() - t
    budget = 0.6 if quick else 2.5
    target_samples = 7 if quick else 25
    for _ in range(2 if quick else 5):  # warm caches, allocators, thread pools
        step()
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


def w8_notebook(fws, rng):
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
    return [(f"W8 notebook: {n_evals} evaluations, new shapes", steps)]


def w9_decode(fws, rng):
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
    return [(f"W9 decode {n_tokens} tokens, 2-layer attention", steps)]


WORKLOADS = {"W1": w1_seed, "W2": w2_mlp, "W3": w3_elementwise, "W4": w4_per_example,
             "W5": w5_latency, "W6": w6_matmul, "W7": w7_shapeless, "W8": w8_notebook,
             "W9": w9_decode}


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
    args = ap.parse_args(argv)
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
    print(f"import mxir: {fws['_mxir_import_s'] * 1e3:.0f} ms\n", flush=True)
    chosen = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    rng = np.random.default_rng(0)
    rows = []
    for wname in chosen:
        for label, steps in WORKLOADS[wname](fws, rng):
            timings = {}
            for f in present:
                if f in steps:
                    try:
                        timings[f] = measure(steps[f], args.quick)
                    except Exception as e:  # a failing framework must not hide the others
                        print(f"  {label} / {f}: {type(e).__name__}: {e}", file=sys.stderr)
            rows.append((label, timings))
            print(f"  done: {label}", file=sys.stderr, flush=True)
    print("medians per call (ratios are time ratios: below 1 means mxir is faster)\n")
    print_table(rows, present)
    print_first_calls(rows, present)
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
