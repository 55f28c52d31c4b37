"""The compiled GPU executable: kernel sources plus the launch plan that runs them.

Made by `mxir.passes.gpu.compile_for_gpu(module)` (and `passes.ptx.compile_for_ptx`); run by
`mxir.runtime.plan.run_plan` on a Device (runtime/plan.py). Pure Python: it imports neither
MLIR nor a device library, and it round-trips through JSON (`to_json` / `from_json`), which is
what the on-disk cache stores.

Format (`Executable.to_json()`), every size static:
  {"format": 1, "target": "msl",                  # later "ptx"
   "kernels": [{"name": "main_kernel",            # entry point in `source`
                "source": "...",                  # the library that holds the kernel; kernels
                                                  # of one executable usually share one source
                "args": [{"kind": "buffer", "element": "f32", "shape": [4, 8]},
                         {"kind": "scalar", "type": "index",     # in gpu.func argument order;
                          "msl_type": "uint"}],   # MSL kernels: the type the source declares
                "workgroup": [{"element": "f32", "shape": [256], "nbytes": 1024}],
                "block": [256, 1, 1]}],           # the threadgroup size it was compiled for
   "plan": {"buffers": [{"id": 0, "nbytes": 128, "element": "f32", "shape": [4, 8]}, ...],
            "inputs": [0, 1], "outputs": [2],     # buffer ids, in the host function's order
            "constants": {"3": {"element": "f32", "data": "<base64 of the bytes>"}},
            "steps": [
              {"op": "alloc", "buffer": 4},
              {"op": "launch", "kernel": "main_kernel", "grid": [4, 1, 1],
               "threadgroup": [256, 1, 1], "dispatch": "threadgroups",
               "args": [{"buffer": 0}, {"scalar": 7, "type": "index"}]},
              {"op": "copy", "src": 4, "dst": 2, "nbytes": 128},
              {"op": "gemm", "a": 0, "b": 1, "c": 4, ...},  # a BLAS call (schema/gemm.py)
              {"op": "free", "buffer": 4}]}}
Dispatch "threadgroups": `grid` counts threadgroups (Metal dispatchThreadgroups, CUDA grid);
"threads": `grid` counts threads, the last groups may be partial (Metal dispatchThreads).
Inputs, outputs and constants are allocated by the interpreter before the steps; `alloc` and
`free` steps bracket temporaries; buffers are whole allocations (a copy moves bytes 0..nbytes).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

FORMAT = 1

# MLIR element type -> NumPy storage dtype (bf16 travels as its bits; i1 is stored as i8).
ELEMENTS = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "f64": np.float64,
            "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64, "i1": np.int8}


def element_size(element: str) -> int:
    return np.dtype(ELEMENTS[element]).itemsize


@dataclass
class Kernel:
    name: str
    source: str
    args: list[dict]
    workgroup: list[dict] = field(default_factory=list)
    block: tuple[int, int, int] = (1, 1, 1)

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "args": self.args,
                "workgroup": self.workgroup, "block": list(self.block)}

    @classmethod
    def from_json(cls, d: dict) -> Kernel:
        return cls(d["name"], d["source"], d["args"], d.get("workgroup", []),
                   tuple(d.get("block", (1, 1, 1))))


@dataclass
class Executable:
    target: str
    kernels: list[Kernel]
    plan: dict

    def kernel(self, name: str) -> Kernel:
        for k in self.kernels:
            if k.name == name:
                return k
        raise KeyError(f"no kernel named {name!r} in the executable")

    def to_json(self) -> dict:
        return {"format": FORMAT, "target": self.target,
                "kernels": [k.to_json() for k in self.kernels], "plan": self.plan}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, d: dict) -> Executable:
        if d.get("format") != FORMAT:
            raise ValueError(f"unsupported executable format {d.get('format')!r}")
        return cls(d["target"], [Kernel.from_json(k) for k in d["kernels"]], d["plan"])

    @classmethod
    def loads(cls, text: str) -> Executable:
        return cls.from_json(json.loads(text))

    def launches(self) -> list[dict]:
        return [s for s in self.plan["steps"] if s["op"] == "launch"]


def encode_bytes(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def decode_bytes(text: str, element: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=ELEMENTS[element])
