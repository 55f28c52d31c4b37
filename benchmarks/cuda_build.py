"""Compile the CUDA benchmark workloads to PTX executables (here, where the MLIR wheels are) and
save them under .cuda_exe/ (git-ignored) with a manifest; benchmarks/cuda_run.py runs them on
the GPU machine, which has no MLIR.

    python benchmarks/cuda_build.py [OUTDIR]
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def workloads(mx):
    """name -> () -> (fn, {input role: array}); `fn(**inputs)` returns the outputs. Roles name
    the inputs for the runner; cuda_frontend_bench.py times the same fns through the frontend."""
    out = {}

    def w3(n):
        return (lambda x: [mx.sin(x) * mx.cos(x) + mx.exp(-x * x)],
                {"x": mx.array(np.empty(n, np.float32))})

    out["W3_16M"] = lambda: w3(16_777_216)
    out["W3_268M"] = lambda: w3(268_435_456)

    def w2():
        rng = np.random.default_rng(0)

        def loss_fn(w1, b1, w2, b2, x, y):
            h = mx.maximum(x @ w1 + b1, 0.0)
            logits = h @ w2 + b2
            picked = mx.take_along_axis(logits, mx.expand_dims(y, 1), axis=1)[:, 0]
            return mx.mean(mx.logsumexp(logits, axis=1) - picked)

        def step(w1, b1, w2, b2, x, y):
            loss, grads = mx.value_and_grad(loss_fn, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)
            return [loss, *grads]

        shapes = {"w1": (784, 512), "b1": (512,), "w2": (512, 10), "b2": (10,), "x": (256, 784)}
        inputs = {r: mx.array(rng.standard_normal(s).astype(np.float32))
                  for r, s in shapes.items()}
        inputs["y"] = mx.array(rng.integers(0, 10, 256).astype(np.int32))
        return step, inputs

    out["W2_mlp"] = w2

    def w4():
        rng = np.random.default_rng(0)

        def loss(w, x, y):
            return mx.square(mx.inner(x, w) - y)

        return (lambda w, x, y: [mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))(w, x, y)],
                {"w": mx.array(rng.standard_normal(128).astype(np.float32)),
                 "x": mx.array(rng.standard_normal((65536, 128)).astype(np.float32)),
                 "y": mx.array(rng.standard_normal(65536).astype(np.float32))})

    out["W4_perex"] = w4

    def w6(grad):
        inputs = {"a": mx.array(np.empty((4096, 4096), np.float32)),
                  "b": mx.array(np.empty((4096, 4096), np.float32))}
        if grad:
            return (lambda a, b: list(mx.value_and_grad(lambda a, b: mx.sum(a @ b))(a, b)),
                    inputs)
        return (lambda a, b: [a @ b]), inputs

    out["W6_matmul"] = lambda: w6(False)
    out["W6_matmul_codegen"] = lambda: w6(False)  # the tiled kernel instead of cuBLAS
    out["W6_grad"] = lambda: w6(True)

    def seed_vmap():  # the seed's vmap example (function_transforms.txt)
        rng = np.random.default_rng(0)
        return (lambda xs, ys: [mx.vmap(lambda x, y: x + y, in_axes=(1, 0))(xs, ys)],
                {"xs": mx.array(rng.random((4096, 100), np.float32)),
                 "ys": mx.array(rng.random((100, 4096), np.float32))})

    out["seed_vmap"] = seed_vmap
    return out


def main(argv):
    import mxir as mx
    from mlir import ir
    from mxir.evaluate import context
    from mxir.passes.ptx import compile_for_ptx
    from mxir.program import build_module, trace_program
    from mxir.runtime.export import save

    outdir = argv[0] if argv else ".cuda_exe"
    os.makedirs(outdir, exist_ok=True)
    manifest = {}
    only = os.environ.get("ONLY")
    for name, make in workloads(mx).items():
        if only and name not in only.split(","):
            continue
        fn, roles = make()
        outputs = fn(**roles)
        main_fn, inputs = trace_program(outputs)
        order = []
        consts = {}
        for v in inputs:
            match = [r for r, a in roles.items() if a._node.values[a._index] is v]
            if len(match) != 1 and np.size(v) == 1:
                # a scalar the trace passes as an input (e.g. maximum(x, 0.0)): its value
                # travels in the manifest
                match = [f"const{len(consts)}"]
                consts[match[0]] = {"value": np.asarray(v).item(), "dtype": str(np.asarray(
                    v).dtype), "shape": list(np.shape(v))}
            if len(match) != 1:
                raise SystemExit(f"{name}: cannot name an input of shape {np.shape(v)}")
            order.append(match[0])
        t = time.perf_counter()
        with context(), ir.Location.unknown():
            exe = compile_for_ptx(build_module(main_fn), chip="sm_90",
                                  library=not name.endswith("_codegen"))
        dt = time.perf_counter() - t
        save(exe, os.path.join(outdir, f"{name}.json.gz"))
        manifest[name] = {"inputs": order,
                          "gemms": sum(st["op"] == "gemm" for st in exe.plan["steps"]),
                          "consts": consts,
                          "shapes": {r: list(roles[r].shape) for r in order if r in roles},
                          "dtypes": {r: str(roles[r].dtype) for r in order if r in roles},
                          "outputs": [list(o.shape) for o in outputs],
                          "launches": len(exe.launches()), "compile_s": round(dt, 3)}
        print(f"{name}: {len(exe.launches())} launches, {manifest[name]['gemms']} gemms, "
              f"{len(exe.kernels)} kernels, "
              f"compiled in {dt:.2f} s")
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
