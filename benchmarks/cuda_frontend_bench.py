"""The CUDA workloads through the whole frontend on `mx.gpu`, on the GPU machine: `mx.compile` of
the functions that cuda_build.py exports (grad, value_and_grad, vmap inside), checked against the
float64 NumPy reference and timed as the wall-clock median of `mx.eval(step(**inputs))`, all a
user's call costs (dispatch, launches, moving the results). cuda_run.py times the same workloads
as exported plans beside PyTorch and JAX; run both in one device call to compare.

    MXIR_GPU_BACKEND=cuda python benchmarks/cuda_frontend_bench.py [--only W2_mlp,W4_perex]
"""

from __future__ import annotations

import os
import sys
import time

import mxir as mx
import numpy as np
from cuda_build import workloads
from cuda_reference import make_inputs, median_ms, reference, rel_err, tolerances

SKIPPED = ("W3_268M", "W6_matmul_codegen")  # unless named: 1 GiB input; the export's variant


def main(argv) -> int:
    only = argv[argv.index("--only") + 1].split(",") if "--only" in argv else None
    seed = int(os.environ.get("SEED", "1"))
    mx.set_default_device(mx.gpu)
    bad = []
    for name, make in workloads(mx).items():
        if (only and name not in only) or (not only and name in SKIPPED):
            continue
        fn, roles = make()
        v = make_inputs(name, np.random.default_rng([seed, sum(map(ord, name))]))
        inputs = {r: mx.array(v[r]) for r in roles}
        step = mx.compile(fn)
        t = time.perf_counter()
        outs = step(**inputs)
        mx.eval(outs)
        first = (time.perf_counter() - t) * 1e3
        ref = reference(name, v)
        errs = [rel_err(np.array(o), r) for o, r in zip(outs, ref)]
        ok = all(e < tol for e, tol in zip(errs, tolerances(name, v, ref)))
        if not ok:
            bad.append(name)
        heavy = name.startswith("W6")
        ms = median_ms(lambda step=step, inputs=inputs: mx.eval(step(**inputs)),
                       repeat=5 if heavy else 50, warmup=2 if heavy else 5)
        print(f"{name:12s} mxir frontend mx.gpu (wall/call) {ms:10.4f} ms  first call "
              f"{first:.0f} ms; rel errors {[f'{e:.1e}' for e in errs]} -> "
              f"{'OK' if ok else 'WRONG'}", flush=True)
    print("correctness:", "all OK" if not bad else f"WRONG: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
