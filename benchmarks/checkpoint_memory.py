"""Peak memory of a deep MLP's value_and_grad, with and without mx.checkpoint on each segment
of layers (the segment's inputs are kept; its inside is recomputed in the backward pass).

Each variant runs in a fresh process (so one's buffers never count against the other). The
figure is the runtime's own accounting, `mx.get_peak_memory()` after `mx.reset_peak_memory()`,
where mxir has it; else (Linux) the process's peak resident set during the step above its
resident set before it: the peak is reset first through /proc/self/clear_refs, and malloc's
mmap threshold is fixed so freed buffers leave the resident set at once. Beside it, the
compiler's own figure: the peak of the bytes of temporaries live at once in the bufferized
program, walking its top-level allocs and deallocs in order (deterministic, unlike the
resident set on a shared machine).

    python benchmarks/checkpoint_memory.py [--layers 24] [--segment 4] [--width 128]
                                           [--batch 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import mxir as mx

layers, segment, width, batch, ck = (int(a) for a in sys.argv[1:6])
rng = np.random.default_rng(0)
ws = [mx.array(rng.normal(size=(width, width)).astype(np.float32) / width ** 0.5)
      for _ in range(layers)]
x = mx.array(rng.normal(size=(batch, width)).astype(np.float32))

def block(h, *ws):
    for w in ws:
        h = mx.tanh(h @ w)
    return h

step = mx.checkpoint(block) if ck else block

def loss(ws):
    h = x
    for i in range(0, layers, segment):
        h = step(h, *ws[i:i + segment])
    return (h * h).mean()

vg = mx.value_and_grad(loss)
mx.eval(vg(ws))  # compile once, outside the measurement
def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

accounting = hasattr(mx, "get_peak_memory") and hasattr(mx, "reset_peak_memory")
if accounting:
    mx.reset_peak_memory()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident set (VmHWM) to the current one
before = status("VmRSS:")
t = time.perf_counter()
value, grads = vg(ws)
mx.eval(value, grads)
seconds = time.perf_counter() - t
print(json.dumps({
    "peak_bytes": mx.get_peak_memory() if accounting else None,
    "rss_growth_bytes": status("VmHWM:") - before,
    "seconds": seconds,
    "loss": float(value.item()),
    "grad0_sum": float(np.array(grads[0]).sum()),
}))
"""


def static_peak(layers: int, segment: int, width: int, batch: int, checkpoint: bool) -> int:
    """Bytes of the temporaries live at once in the bufferized CPU program of the step."""
    import mxir as mx
    import numpy as np
    from mlir import ir
    from mxir.evaluate import context
    from mxir.passes import pipelines, run_pipeline
    from mxir.program import build_module, trace_program

    ws = [mx.zeros((width, width)) for _ in range(layers)]
    x = mx.zeros((batch, width))

    def block(h, *ws):
        for w in ws:
            h = mx.tanh(h @ w)
        return h

    step = mx.checkpoint(block) if checkpoint else block

    def loss(ws):
        h = x
        for i in range(0, layers, segment):
            h = step(h, *ws[i:i + segment])
        return (h * h).mean()

    value, grads = mx.value_and_grad(loss)(ws)
    main, _ = trace_program([value, *grads])
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg",
                              "mx-cpu-codegen", *pipelines.ONE_SHOT, "mx-early-dealloc"])
        sizes, live, peak = {}, 0, 0
        main = next(f for f in module.body.operations
                    if ir.StringAttr(f.attributes["sym_name"]).value == "main")
        for op in main.regions[0].blocks[0].operations:
            op = op.operation
            if op.name == "memref.alloc":
                t = ir.MemRefType(op.results[0].type)
                sizes[op.results[0]] = int(np.prod(t.shape)) * t.element_type.width // 8
                live += sizes[op.results[0]]
                peak = max(peak, live)
            elif op.name == "memref.dealloc" and op.operands[0] in sizes:
                live -= sizes.pop(op.operands[0])
    return peak


def run(layers: int, segment: int, width: int, batch: int, checkpoint: bool) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}  # no dynamic threshold
    out = subprocess.run([sys.executable, "-c", CHILD, str(layers), str(segment), str(width),
                          str(batch), str(int(checkpoint))],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--segment", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch", type=int, default=2048)
    a = parser.parse_args()
    activation = a.batch * a.width * 4
    print(f"MLP: {a.layers} layers of tanh(h @ W), W {a.width}x{a.width}, batch {a.batch} "
          f"(one activation: {activation / 2**20:.1f} MiB), checkpointed in segments of "
          f"{a.segment}")
    results = {ck: run(a.layers, a.segment, a.width, a.batch, ck) for ck in (False, True)}
    plain, ck = results[False], results[True]
    assert abs(plain["loss"] - ck["loss"]) <= 1e-5 * max(1.0, abs(plain["loss"]))
    assert abs(plain["grad0_sum"] - ck["grad0_sum"]) <= 1e-3 * max(1.0, abs(plain["grad0_sum"]))
    key = "peak_bytes" if plain["peak_bytes"] is not None else "rss_growth_bytes"
    what = ("runtime peak memory (mx.get_peak_memory)" if key == "peak_bytes"
            else "peak resident set growth of the step (this mxir has no mx.get_peak_memory)")
    print(f"{what}:")
    for name, r in (("without checkpoint", plain), ("with checkpoint   ", ck)):
        print(f"  {name}: {r[key] / 2**20:8.1f} MiB   step {r['seconds'] * 1e3:7.1f} ms")
    if key == "peak_bytes" and ck[key]:
        print(f"  ratio: {plain[key] / ck[key]:.2f}x less memory with checkpoint")
    elif key != "peak_bytes":
        print("  (coarse: pages the allocator keeps or returns late move it; no ratio claimed)")
    static = {c: static_peak(a.layers, a.segment, a.width, a.batch, c) for c in (False, True)}
    print("compiler's static peak of live temporaries (bufferized program, mx-early-dealloc):")
    print(f"  without checkpoint: {static[False] / 2**20:8.1f} MiB")
    print(f"  with checkpoint   : {static[True] / 2**20:8.1f} MiB   "
          f"({static[False] / static[True]:.2f}x less)")


if __name__ == "__main__":
    main()
