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
    """name -> (outputs builder, {input role: array}); roles name the inputs for the runner."""
    out = {}

    def w3(n):
        x = mx.array(np.empty(n, np.float32))
        return [mx.sin(x) * mx.cos(x) + mx.exp(-x * x)], {"x": x}

    out["W3_16M"] = lambda: w3(16_777_216)
    out["W3_268M"] = lambda: w3(268_435_456)

    def w2():
        rng = np.random.default_rng(0)
        w1 = mx.array(rng.standard_normal((784, 512)).astype(np.float32))
        b1 = mx.array(rng.standard_normal(512).astype(np.float32))
        w2 = mx.array(rng.standard_normal((512, 10)).astype(np.float32))
        b2 = mx.array(rng.standard_normal(10).astype(np.float32))
        x = mx.array(rng.standard_normal((256, 784)).astype(np.float32))
        y = mx.array(rng.integers(0, 10, 256).astype(np.int32))

        def loss_fn(w1, b1, w2, b2, x, y):
            h = mx.maximum(x @ w1 + b1, 0.0)
            logits = h @ w2 + b2
            picked = mx.take_along_axis(logits, mx.expand_dims(y, 1), axis=1)[:, 0]
            return mx.mean(mx.logsumexp(logits, axis=1) - picked)

        loss, grads = mx.value_and_grad(loss_fn, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)
        return [loss, *grads], {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "x": x, "y": y}

    out["W2_mlp"] = w2

    def w4():
        rng = np.random.default_rng(0)
        w = mx.array(rng.standard_normal(128).astype(np.float32))
        x = mx.array(rng.standard_normal((65536, 128)).astype(np.float32))
        y = mx.array(rng.standard_normal(65536).astype(np.float32))

        def loss(w, x, y):
            return mx.square(mx.inner(x, w) - y)

        return [mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))(w, x, y)], {"w": w, "x": x, "y": y}

    out["W4_perex"] = w4

    def w6(grad):
        a = mx.array(np.empty((4096, 4096), np.float32))
        b = mx.array(np.empty((4096, 4096), np.float32))
        if grad:
            v, g = mx.value_and_grad(lambda a, b: mx.sum(a @ b))(a, b)
            return [v, g], {"a": a, "b": b}
        return [a @ b], {"a": a, "b": b}

    out["W6_matmul"] = lambda: w6(False)
    out["W6_matmul_codegen"] = lambda: w6(False)  # the tiled kernel instead of cuBLAS
    out["W6_grad"] = lambda: w6(True)
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
        outputs, roles = make()
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
