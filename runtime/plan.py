"""The launch-plan interpreter: runs an Executable (executable.py) on a GPU Device.

A Device (runtime/metal_sim, runtime/metal.py, later cuda) is a thin object with:
    allocate(nbytes) -> buf                       # nbytes may be 0
    upload(buf, ndarray)                          # host -> device, the array's bytes
    download(buf, ndarray)                        # device -> host, into the array (C order)
    compile(source) -> program                    # cached by the device, keyed by source hash
    launch(program, kernel_name, grid, threadgroup, args, dispatch)
        # grid, threadgroup: 3 ints; dispatch: "threadgroups" | "threads" (executable.py);
        # args: per kernel argument, a buf or a (value, type) pair for a scalar, where type is
        # the MLIR type spelling ("index", "i32", "f32", ...)
    copy(src, dst, nbytes)                        # device -> device, from byte 0 of each
    free(buf)
    synchronize()
and optionally
    gemm(a, b, c, step)                           # a "gemm" step (below) on whole buffers
A device without `gemm` runs gemm steps on the host (download, NumPy, upload): correct, slow.

A "gemm" step: C[b, m, n] = beta * C[b, m, n] + sum_k A[b, m, k] * B[b, k, n], beta 0 or 1,
{"op": "gemm", "a": id, "b": id, "c": id, "element": "f32" | "f64", "m", "n", "k", "batch",
 "a_strides": [batch, m, k], "b_strides": [batch, k, n], "c_strides": [batch, m, n],
 "offsets": [a, b, c], "beta"}: strides and offsets in elements of each base buffer.
`gemm_layout(step)` gives the column-major (BLAS) arguments of a step.
Backend modules expose `open_device() -> Device` (one per process) and `is_available() -> bool`.
Pure Python and NumPy: importing this needs neither MLIR nor a device library.
"""

from __future__ import annotations

import numpy as np

from .executable import Executable, decode_bytes


class PlanError(RuntimeError):
    pass


def run_plan(exe: Executable, device, inputs: list[np.ndarray],
             outputs: list[np.ndarray]) -> None:
    """Run `exe` on `device`: upload `inputs`, interpret the steps, download into `outputs`."""
    plan = exe.plan
    if len(inputs) != len(plan["inputs"]) or len(outputs) != len(plan["outputs"]):
        raise PlanError(f"the plan takes {len(plan['inputs'])} inputs and "
                        f"{len(plan['outputs'])} outputs, got {len(inputs)} and {len(outputs)}")
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
                bufs = [get(step[k]) for k in ("a", "b", "c")]
                if hasattr(device, "gemm"):
                    device.gemm(*bufs, step)
                else:
                    _host_gemm(device, bufs, step, [sizes[step[k]] for k in ("a", "b", "c")])
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
    by_source: dict[str, object] = {}
    out = {}
    for k in exe.kernels:
        if k.source not in by_source:
            by_source[k.source] = device.compile(k.source)
        out[k.name] = (by_source[k.source], k.name)
    return out


class PlanRunner:
    """An Executable bound to a device, called like the CPU executable: `run(inputs, outputs)`."""

    def __init__(self, exe: Executable, device):
        self.exe = exe
        self.device = device

    def __call__(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        run_plan(self.exe, self.device, inputs, outputs)


# -- gemm steps -----------------------------------------------------------------------------------
def _colmajor(rows: int, cols: int, s_row: int, s_col: int):
    """(transposed, ld) placing a rows x cols matrix with these element strides in BLAS terms:
    column-major with leading dimension ld, or the transpose of one; None if neither fits.
    A dimension of extent 1 takes any stride."""
    if (s_row == 1 or rows == 1) and (cols == 1 or s_col >= max(1, rows)):
        return False, (max(1, rows) if cols == 1 else s_col)
    if (s_col == 1 or cols == 1) and (rows == 1 or s_row >= max(1, cols)):
        return True, (max(1, cols) if rows == 1 else s_row)
    return None


def gemm_layout(step: dict) -> dict | None:
    """Column-major BLAS arguments of a gemm step: {"transa", "transb", "m", "n", "k", "lda",
    "ldb", "ldc", "A", "B" ("a"/"b": which step operand plays BLAS's A/B), "stride_a",
    "stride_b", "stride_c", "batch"}; None when some operand has no unit-stride dimension.
    A row-major C is computed as C^T = B^T A^T."""
    m, n, k = step["m"], step["n"], step["k"]
    sa, sb, sc = step["a_strides"], step["b_strides"], step["c_strides"]
    c = _colmajor(m, n, sc[1], sc[2])
    if c is not None and not c[0]:
        first, second = _colmajor(m, k, sa[1], sa[2]), _colmajor(k, n, sb[1], sb[2])
        rows, cols, pa, pb = m, n, "a", "b"
    else:
        c = _colmajor(n, m, sc[2], sc[1])
        if c is None or c[0]:
            return None
        first, second = _colmajor(n, k, sb[2], sb[1]), _colmajor(k, m, sa[2], sa[1])
        rows, cols, pa, pb = n, m, "b", "a"
    if first is None or second is None:
        return None
    return {"transa": first[0], "transb": second[0], "m": rows, "n": cols, "k": k,
            "lda": first[1], "ldb": second[1], "ldc": c[1], "A": pa, "B": pb,
            "stride_a": step[pa + "_strides"][0], "stride_b": step[pb + "_strides"][0],
            "stride_c": sc[0], "batch": step["batch"]}


def gemm_views(step: dict, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """(A, B, C) as strided NumPy views [batch, rows, cols] of flat base-buffer arrays."""
    from numpy.lib.stride_tricks import as_strided

    dims = {"a": ("m", "k"), "b": ("k", "n"), "c": ("m", "n")}
    out = []
    for key, flat, off in zip("abc", (a, b, c), step["offsets"]):
        r, q = dims[key]
        st = step[key + "_strides"]
        item = flat.itemsize
        out.append(as_strided(flat[off:], (step["batch"], step[r], step[q]),
                              tuple(x * item for x in st), writeable=key == "c"))
    return out


def _host_gemm(device, bufs, step: dict, nbytes: list[int]) -> None:
    from .executable import ELEMENTS

    dt = np.dtype(ELEMENTS[step["element"]])
    arrays = [np.empty(n // dt.itemsize, dt) for n in nbytes]
    device.synchronize()
    for buf, arr in zip(bufs, arrays):
        device.download(buf, arr)
    a, b, c = gemm_views(step, *arrays)
    c[...] = np.matmul(a, b) + (c if step["beta"] else 0)
    device.upload(bufs[2], arrays[2])
