"""Run the PTX executables that benchmarks/cuda_build.py saved, on an NVIDIA GPU, against NumPy
(correctness) and PyTorch / JAX / CuPy (speed). Needs no MLIR: it imports runtime/ and schema/
by path, under a bare `mxir` package (never the frontend), so it runs on the GPU machine.

    python benchmarks/cuda_run.py [EXE_DIR] [--only W3_16M,W2_mlp] [--quick]

mxir times are device-event medians of the resident plan (buffers on the GPU, no transfers),
plain launches and, for the multi-kernel workloads, one CUDA graph replay; "wall" is host time
per call (launches + synchronize), comparable to the JAX numbers, which are wall-clock medians
of jitted calls with block_until_ready.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# `mxir` as a bare package over the repository's folders: mxir.runtime and mxir.schema import
# as installed, without python/mxir (the frontend, which needs MLIR)
sys.modules["mxir"] = types.ModuleType("mxir")
sys.modules["mxir"].__path__ = [ROOT]

from cuda_reference import make_inputs, median_ms, reference, rel_err, tolerances  # noqa: E402
from mxir.runtime import cuda  # noqa: E402
from mxir.runtime.export import load  # noqa: E402
from mxir.runtime.plan import run_plan  # noqa: E402

ROWS: list[tuple] = []
RESULTS_REF: dict = {}  # workload -> mxir device-event ms, for ratios in peers()


def row(workload, impl, ms, note=""):
    ROWS.append((workload, impl, ms, note))
    print(f"  {workload:12s} {impl:34s} {ms:10.4f} ms  {note}", flush=True)


def torch_events_ms(torch, fn, repeat=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


# -- mxir ------------------------------------------------------------------------------------------
def run_mxir(name, exe_dir, manifest, device, rng, results):
    exe = load(os.path.join(exe_dir, f"{name}.json.gz"))
    info = manifest[name]
    v = make_inputs(name, rng)
    consts = {r: np.full(c["shape"], c["value"], c["dtype"])
              for r, c in info.get("consts", {}).items()}
    inputs = [v[r] if r in v else consts[r] for r in info["inputs"]]
    ref = reference(name, v)
    dtypes = [np.float32] * len(info["outputs"])
    # correctness through the plan interpreter (uploads, launches, downloads): poisoned outputs
    outs = [np.full(s, np.nan, dt) for s, dt in zip(info["outputs"], dtypes)]
    t = time.perf_counter()
    run_plan(exe, device, inputs, outs)
    first = (time.perf_counter() - t) * 1e3
    errs = [rel_err(o, r) for o, r in zip(outs, ref)]
    tols = tolerances(name, v, ref)
    ok = all(e < t for e, t in zip(errs, tols))
    print(f"  tolerances {[f'{t:.1e}' for t in tols]}")
    print(f"{name}: {info['launches']} launches; first call (PTX JIT + transfers) "
          f"{first:.1f} ms; rel errors {[f'{e:.1e}' for e in errs]} -> "
          f"{'OK' if ok else 'WRONG'}", flush=True)
    results[name] = {"errors": errs, "ok": ok, "first_ms": first}
    rp = cuda.ResidentPlan(exe, device, inputs)
    heavy = name.startswith("W6")
    reps = 5 if heavy else 30
    ev = statistics.median(rp.time_ms(repeat=reps, warmup=2, inner=1 if heavy else 5))
    row(name, f"mxir PTX ({device.api_name})", ev, "device events")
    results[name]["events_ms"] = ev
    RESULTS_REF[name] = ev
    if not heavy:
        wall = median_ms(lambda: (rp.run(), device.synchronize()), repeat=50, warmup=5)
        row(name, "mxir PTX wall/call", wall, "launches + sync")
        results[name]["wall_ms"] = wall
    if info["launches"] + info.get("gemms", 0) > 1:
        prof = rp.profile(repeat=3 if heavy else 10)
        results[name]["steps_ms"] = prof
        print(f"  steps alone: total {sum(t for _, t in prof):.4f} ms; slowest:", flush=True)
        for what, t in sorted(prof, key=lambda p: -p[1])[:6]:
            print(f"    {t:8.4f} ms  {what}", flush=True)
    try:
        captured = info["launches"] + info.get("gemms", 0) > 1 and not heavy and rp.capture()
    except Exception as e:  # noqa: BLE001 - a step that cannot be captured: plain runs only
        print(f"  CUDA graph capture failed: {type(e).__name__}: {e}"[:300], flush=True)
        rp.close()
        rp = cuda.ResidentPlan(exe, device, inputs)
        captured = False
    if captured:
        g = statistics.median(rp.time_ms(repeat=30, warmup=2, inner=5))
        gw = median_ms(lambda: (rp.run(), device.synchronize()), repeat=50, warmup=5)
        row(name, "mxir PTX CUDA graph", g, f"wall/call {gw:.4f} ms")
        results[name]["graph_ms"], results[name]["graph_wall_ms"] = g, gw
        outs2 = [np.full(s, np.nan, dt) for s, dt in zip(info["outputs"], dtypes)]
        rp.run()
        rp.read_outputs(outs2)
        gerr = max(rel_err(o, r) for o, r in zip(outs2, ref))
        print(f"  graph replay rel error {gerr:.1e}", flush=True)
    rp.close()
    return v


# -- peers -----------------------------------------------------------------------------------------
def peers(name, v, quick):
    try:
        import torch
    except ImportError:
        torch = None
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        jax = None
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        tv = {k: torch.from_numpy(a).cuda() for k, a in v.items()}
    if name.startswith("W3"):
        import cupy as cp

        x = cp.asarray(v["x"])
        y = cp.empty_like(x)
        ms = torch_events_ms(torch, lambda: y.__setitem__(Ellipsis, x)) if torch else None
        row(name, "copy ceiling (CuPy d2d)", ms, f"{2 * x.nbytes / ms / 1e9:.2f} TB/s")
        k = cp.ElementwiseKernel("float32 x", "float32 y", "y = sinf(x)*cosf(x)+expf(-x*x)",
                                 "w3")
        row(name, "CuPy ElementwiseKernel", torch_events_ms(torch, lambda: k(x, y)))
        if torch is not None:
            t = tv["x"]

            def f(t):
                return torch.sin(t) * torch.cos(t) + torch.exp(-t * t)

            row(name, "torch eager", torch_events_ms(torch, lambda: f(t)))
            if not quick:
                try:
                    cf = torch.compile(f)
                    cf(t)
                    row(name, "torch.compile", torch_events_ms(torch, lambda: cf(t)))
                except Exception as e:  # noqa: BLE001
                    print(f"  torch.compile failed: {type(e).__name__}: {e}"[:300])
            del t
        if jax is not None:
            jx = jnp.asarray(v["x"])
            jf = jax.jit(lambda x: jnp.sin(x) * jnp.cos(x) + jnp.exp(-x * x))
            row(name, "JAX jit (wall)", median_ms(lambda: jf(jx).block_until_ready()))
            del jx
        del x, y
    elif name == "W2_mlp" and jax is not None:
        p = [jnp.asarray(v[k]) for k in ("w1", "b1", "w2", "b2", "x", "y")]

        def jloss(w1, b1, w2, b2, x, y):
            h = jnp.maximum(x @ w1 + b1, 0.0)
            logits = h @ w2 + b2
            picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

        jvg = jax.jit(jax.value_and_grad(jloss, argnums=(0, 1, 2, 3)))
        with jax.default_matmul_precision("highest"):
            row(name, "JAX jit (wall, fp32 highest)",
                median_ms(lambda: jax.block_until_ready(jvg(*p)), repeat=100, warmup=5))
        jvg2 = jax.jit(jax.value_and_grad(jloss, argnums=(0, 1, 2, 3)))
        row(name, "JAX jit (wall, default prec)",
            median_ms(lambda: jax.block_until_ready(jvg2(*p)), repeat=100, warmup=5))
    elif name == "W4_perex" and jax is not None:
        w, x, y = (jnp.asarray(v[k]) for k in ("w", "x", "y"))
        jpe = jax.jit(jax.vmap(jax.grad(lambda w, x, y: jnp.square(jnp.dot(x, w) - y)),
                               in_axes=(None, 0, 0)))
        with jax.default_matmul_precision("highest"):
            row(name, "JAX jit (wall, fp32 highest)",
                median_ms(lambda: jpe(w, x, y).block_until_ready(), repeat=100, warmup=5))
        jpe2 = jax.jit(jax.vmap(jax.grad(lambda w, x, y: jnp.square(jnp.dot(x, w) - y)),
                                in_axes=(None, 0, 0)))
        row(name, "JAX jit (wall, default prec)",
            median_ms(lambda: jpe2(w, x, y).block_until_ready(), repeat=100, warmup=5))
        if torch is not None:
            tw, tx, ty = tv["w"], tv["x"], tv["y"]
            row(name, "torch eager (events)",
                torch_events_ms(torch, lambda: (2 * (tx @ tw - ty))[:, None] * tx))
    elif name == "seed_vmap":
        if torch is not None:
            xs, ys = tv["xs"], tv["ys"]
            row(name, "torch eager (events)", torch_events_ms(torch, lambda: xs.T + ys))
        if jax is not None:
            jxs, jys = jnp.asarray(v["xs"]), jnp.asarray(v["ys"])
            jv = jax.jit(jax.vmap(lambda x, y: x + y, in_axes=(1, 0)))
            row(name, "JAX jit vmap (wall)",
                median_ms(lambda: jv(jxs, jys).block_until_ready(), repeat=100, warmup=5))
    elif name in ("W6_matmul", "W6_grad") and torch is not None:
        a, b = tv["a"], tv["b"]
        if name == "W6_matmul":
            ms = torch_events_ms(torch, lambda: a @ b, repeat=10)
            row(name, "cuBLAS FP32 (torch, TF32 off)", ms, f"{2 * 4096 ** 3 / ms / 1e9:.1f} TF/s")
            mine = RESULTS_REF.get(name)
            if mine:
                row(name, "mxir / cuBLAS FP32", ms / mine * 100, "% of cuBLAS speed")
        else:
            ones = torch.ones_like(a)
            ms = torch_events_ms(torch, lambda: ((a @ b).sum(), ones @ b.T), repeat=10)
            row(name, "torch value+grad (2 GEMMs)", ms)
        if jax is not None:
            ja, jb = jnp.asarray(v["a"]), jnp.asarray(v["b"])
            with jax.default_matmul_precision("highest"):
                if name == "W6_matmul":
                    jf = jax.jit(lambda a, b: a @ b)
                    row(name, "JAX jit (wall, fp32 highest)",
                        median_ms(lambda: jf(ja, jb).block_until_ready(), repeat=10))
                else:
                    jg = jax.jit(jax.value_and_grad(lambda a, b: jnp.sum(a @ b)))
                    row(name, "JAX jit (wall, fp32 highest)",
                        median_ms(lambda: jax.block_until_ready(jg(ja, jb)), repeat=10))


def main(argv):
    exe_dir = ".cuda_exe"
    only, quick, api = None, False, None
    i = 0
    while i < len(argv):
        if argv[i] == "--only":
            only, i = argv[i + 1].split(","), i + 2
        elif argv[i] == "--quick":
            quick, i = True, i + 1
        elif argv[i] == "--api":
            api, i = argv[i + 1], i + 2
        else:
            exe_dir, i = argv[i], i + 1
    with open(os.path.join(exe_dir, "manifest.json")) as f:
        manifest = json.load(f)
    device = cuda.CudaDevice(api)
    print(f"device API {device.api_name}, chip {device.chip()}", flush=True)
    seed = int(os.environ.get("SEED", "1"))
    results = {}
    for name in manifest:
        if only and name not in only:
            continue
        rng = np.random.default_rng([seed, sum(map(ord, name))])  # per workload: order-free
        try:
            v = run_mxir(name, exe_dir, manifest, device, rng, results)
            if api != "driver":
                peers(name, v, quick)
        except Exception:  # noqa: BLE001 - one broken workload must not hide the others
            import traceback

            traceback.print_exc()
            results[name] = {"ok": False, "error": traceback.format_exc()[-2000:]}
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, f"cuda_results_{device.api_name}.json"), "w") as f:
            json.dump({"results": results, "rows": ROWS}, f, indent=1)
    print("\nsummary")
    for w, impl, ms, note in ROWS:
        print(f"{w:12s} {impl:34s} {ms:10.4f} ms  {note}")
    bad = [n for n, r in results.items() if not r["ok"]]
    print("correctness:", "all OK" if not bad else f"WRONG: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
