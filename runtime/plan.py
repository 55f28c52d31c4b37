"""The launch-plan interpreter: runs an Executable (schema/executable.py) on a GPU Device.

A Device (runtime/metal_sim, runtime/metal.py, runtime/cuda.py) is a thin object with:
    allocate(nbytes) -> buf                       # nbytes may be 0
    upload(buf, ndarray)                          # host -> device, the array's bytes
    download(buf, ndarray)                        # device -> host, into the array (C order)
    compile(source, kernels) -> program           # cached by the device, keyed by source hash;
        # kernels: the executable's Kernels (schema/executable.py) that the source defines
    launch(program, kernel_name, grid, threadgroup, args, dispatch)
        # grid, threadgroup: 3 ints; dispatch: "threadgroups" | "threads" (schema/executable.py);
        # args: per kernel argument, a buf or a (value, type) pair for a scalar, where type is
        # the MLIR type spelling ("index", "i32", "f32", ...)
    copy(src, dst, nbytes)                        # device -> device, from byte 0 of each
    free(buf)
    synchronize()
and optionally
    gemm(a, b, c, step)                           # a "gemm" step (schema/gemm.py) on whole buffers
A plan with gemm steps refuses a device without `gemm` (NumPy never computes a user's arrays;
targets without a matrix library keep the tiled matmul kernels, passes/gpu.py).
Backend modules expose `open_device() -> Device` (one per process) and `is_available() -> bool`.
Pure Python and NumPy: importing this needs neither MLIR nor a device library.
"""

from __future__ import annotations

import numpy as np
from mxir.schema.executable import Executable, decode_bytes


class PlanError(RuntimeError):
    pass


def run_plan(exe: Executable, device, inputs: list[np.ndarray],
             outputs: list[np.ndarray]) -> None:
    """Run `exe` on `device`: upload `inputs`, interpret the steps, download into `outputs`."""
    plan = exe.plan
    if len(inputs) != len(plan["inputs"]) or len(outputs) != len(plan["outputs"]):
        raise PlanError(f"the plan takes {len(plan['inputs'])} inputs and "
                        f"{len(plan['outputs'])} outputs, got {len(inputs)} and {len(outputs)}")
    if not hasattr(device, "gemm") and any(s["op"] == "gemm" for s in plan["steps"]):
        raise PlanError(f"the plan has gemm steps and the {type(device).__name__} has no "
                        "matrix library: compile it without library gemms")
    sizes = {b["id"]: b["nbytes"] for b in plan["buffers"]}
    programs = _programs(exe, device)
    live: dict[int, object] = {}

    def new(bid: int):
        if bid in live:
            raise PlanError(f"buffer {bid} allocated twice")
        live[bid] = device.allocate(sizes[bid])
        return live[bid]

    def get(bid: int):
        if bid not in live:
            raise PlanError(f"buffer {bid} used while not allocated")
        return live[bid]

    try:
        for bid, array in zip(plan["inputs"], inputs):
            _check_size(bid, sizes[bid], array)
            device.upload(new(bid), np.ascontiguousarray(array))
        for bid in plan["outputs"]:
            if bid not in live:  # an output may also be an input of the host function
                new(bid)
        for key, c in plan.get("constants", {}).items():
            device.upload(new(int(key)), decode_bytes(c["data"], c["element"]))
        for step in plan["steps"]:
            op = step["op"]
            if op == "alloc":
                new(step["buffer"])
            elif op == "free":
                device.free(live.pop(step["buffer"]))
            elif op == "copy":
                device.copy(get(step["src"]), get(step["dst"]), step["nbytes"])
            elif op == "gemm":
                device.gemm(*[get(step[k]) for k in ("a", "b", "c")], step)
            elif op == "launch":
                program, name = programs[step["kernel"]]
                args = [get(a["buffer"]) if "buffer" in a else (a["scalar"], a["type"])
                        for a in step["args"]]
                device.launch(program, name, tuple(step["grid"]), tuple(step["threadgroup"]),
                              args, step.get("dispatch", "threadgroups"))
            else:
                raise PlanError(f"unknown plan step {op!r}")
        device.synchronize()
        for bid, array in zip(plan["outputs"], outputs):
            _check_size(bid, sizes[bid], array)
            if not array.flags.c_contiguous:
                raise PlanError("outputs must be C-contiguous arrays")
            device.download(get(bid), array)
    finally:
        for buf in live.values():
            device.free(buf)


def _check_size(bid: int, nbytes: int, array: np.ndarray) -> None:
    if array.nbytes != nbytes:
        raise PlanError(f"buffer {bid} holds {nbytes} bytes, the array has {array.nbytes}")


def _programs(exe: Executable, device) -> dict[str, tuple]:
    """kernel name -> (program, entry name); each distinct source compiled once."""
    by_source: dict[str, list] = {}
    for k in exe.kernels:
        by_source.setdefault(k.source, []).append(k)
    out = {}
    for source, kernels in by_source.items():
        program = device.compile(source, kernels)
        for k in kernels:
            out[k.name] = (program, k.name)
    return out


class PlanRunner:
    """An Executable bound to a device, called like the CPU executable: `run(inputs, outputs)`."""

    def __init__(self, exe: Executable, device):
        self.exe = exe
        self.device = device

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        run_plan(self.exe, self.device, inputs, outputs)
