"""gpu-to-ptx: the gpu.module kernels that mx-to-gpu makes -> PTX text per kernel (NVVM), and
`compile_for_ptx(module) -> Executable` (target "ptx"), which reuses passes/gpu.py's launch-plan
extraction: the plan is target-independent, only the kernels' source differs.

Before the NVVM lowering, kernels get what the CUDA target can use and Metal need not:
- `llvm.noalias` on buffer arguments that no launch of the kernel passes twice (the plan says
  which buffers each launch binds), so loads of read-only buffers become `ld.global.nc`;
- `known_grid_size` when every launch of a kernel uses one grid (else none: outlining records
  the grid it saw): block ids get a range, and exact-fit bounds checks fold away;
- grids beyond CUDA's y/z limit (65535) are folded into x, the kernel recovering y and z;
- small constant-trip loops without carried values are unrolled and loads of read-only noalias
  buffers are hoisted to the top of the kernel, so each thread has all its loads in flight
  before the first use (an elementwise kernel otherwise waits out one load per element).
Then `nvvm-attach-target`, `convert-scf-to-cf` inside each gpu.module (else the NVVM
conversion leaves casts), `convert-gpu-to-nvvm` with the bare-pointer ABI (a memref argument is
one pointer, as the launch plan passes it) and `gpu-module-to-binary{format=isa}`. libdevice is
embedded in the MLIR wheel: no CUDA toolkit is needed to make PTX. The driver JITs the PTX when
the module is loaded (runtime/cuda.py).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith
from mlir.dialects import gpu as gpu_d
from mxir.dialect import MxError

from .gpu import _name, _walk, kernel_signatures, lower_to_plan

DEFAULT_CHIP = "sm_90"
UNROLL_LIMIT = 8  # trip count up to which a kernel-level loop is unrolled
PURE_PREFIXES = ("arith.", "math.", "gpu.block_id", "gpu.thread_id", "gpu.block_dim",
                 "gpu.grid_dim")


def nvvm_pipeline(chip: str = DEFAULT_CHIP, opt: int = 3) -> str:
    """The textual pipeline from gpu.modules (kernel IR contract of passes/gpu.py) to
    gpu.binary ops holding PTX. PTX 8.0 is asked for: the default (6.0) cannot target sm_90
    and the NVPTX backend aborts the process on that combination."""
    if not chip.startswith("sm_") or not chip[3:].rstrip("a").isdigit():
        raise MxError(f"gpu-to-ptx: bad chip {chip!r} (expected sm_<digits>, e.g. sm_90)")
    return (f"nvvm-attach-target{{chip={chip} O={int(opt)} features=+ptx80}},"
            "gpu.module(convert-scf-to-cf,"
            "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=true},"
            "canonicalize,cse,reconcile-unrealized-casts),"
            "gpu-module-to-binary{format=isa}")


def _run(module, text: str) -> None:
    from .registry import run_upstream

    run_upstream(module, text)


# -- kernel preparation ---------------------------------------------------------------------------
def _kernels(module):
    for m in module.body.operations:
        if _name(m) != "gpu.module":
            continue
        for f in m.regions[0].blocks[0].operations:
            if _name(f) == "gpu.func":
                yield f


def _symbol(op) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value


def _launch_facts(plan: dict | None) -> dict[str, dict]:
    """kernel name -> {"grids": set of grids, "shared": arg positions that alias another}."""
    facts: dict[str, dict] = {}
    for step in (plan or {}).get("steps", []):
        if step["op"] != "launch":
            continue
        f = facts.setdefault(step["kernel"], {"grids": set(), "shared": set()})
        f["grids"].add(tuple(step["grid"]))
        ids = [a.get("buffer") for a in step["args"]]
        for i, b in enumerate(ids):
            if b is not None and ids.count(b) > 1:
                f["shared"].add(i)
    return facts


def _stored(func) -> set:
    out = set()
    for o in _walk(func):
        if _name(o) == "memref.store":
            out.add(o.operands[1])
    return out


def _set_noalias(func, shared: set[int] | None) -> list:
    """Mark buffer arguments noalias (none when the plan is unknown); returns them."""
    args = list(func.regions[0].blocks[0].arguments)
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    n = len(ftype.inputs)
    old = (list(ir.ArrayAttr(func.attributes["arg_attrs"])) if "arg_attrs" in func.attributes
           else [ir.DictAttr.get({})] * n)
    marked, attrs = [], []
    for i in range(n):
        d = {a.name: a.attr for a in ir.DictAttr(old[i])}
        if shared is not None and i not in shared and isinstance(ftype.inputs[i], ir.MemRefType):
            d["llvm.noalias"] = ir.UnitAttr.get()
            marked.append(args[i])
        attrs.append(ir.DictAttr.get(d))
    func.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)
    return marked


def _const_index(v: ir.Value) -> int | None:
    o = v.owner if isinstance(v, ir.OpResult) else None
    if o is None or _name(o) != "arith.constant":
        return None
    attr = o.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def _unroll(loop) -> bool:
    """Unroll an scf.for with constant bounds, no carried values and a flat body."""
    lb, ub, step = (_const_index(v) for v in list(loop.operands)[:3])
    if None in (lb, ub, step) or step <= 0 or len(loop.results):
        return False
    trips = max(0, -(-(ub - lb) // step))
    body = loop.regions[0].blocks[0]
    ops = list(body.operations)[:-1]
    if trips > UNROLL_LIMIT or any(len(o.regions) for o in ops):
        return False
    iv = body.arguments[0]
    with ir.InsertionPoint(loop), loop.location:
        for k in range(trips):
            mapping = [(iv, arith.constant(ir.IndexType.get(), lb + k * step))]
            for o in ops:
                c = o.clone()
                for old, new in mapping:
                    c.operation.replace_uses_of_with(old, new)
                mapping.extend(zip(o.results, c.results))
    loop.operation.erase()
    return True


def _hoist_loads(func, readonly: set) -> int:
    """Move loads of `readonly` buffers (and the pure index arithmetic they need) to the top
    of the kernel's entry block, keeping their order. Only top-level ops move: nothing leaves a
    conditional, so no load becomes speculative."""
    block = func.regions[0].blocks[0]
    ops = list(block.operations)
    if not ops:
        return 0
    position = {o: i for i, o in enumerate(ops)}
    with ir.InsertionPoint(ops[0]), func.location:
        marker = arith.ConstantOp(ir.IndexType.get(), 0)
    hoisted: set = set()
    moved = 0
    for o in ops:
        if _name(o) != "memref.load" or o.operands[0] not in readonly:
            continue
        slice_, stack, ok = {o}, [o], True
        while stack and ok:
            for v in stack.pop().operands:
                d = v.owner if isinstance(v, ir.OpResult) else None
                if d is None or d in slice_ or d not in position:
                    continue  # a block argument, or defined outside the entry block
                if not _name(d).startswith(PURE_PREFIXES) or len(d.regions):
                    ok = False
                    break
                slice_.add(d)
                stack.append(d)
        if not ok:
            continue
        for d in sorted(slice_, key=position.__getitem__):
            if d not in hoisted:
                d.move_before(marker)
                hoisted.add(d)
        moved += 1
    marker.operation.erase()
    return moved


MAX_GRID_YZ = 65535  # CUDA's limit on gridDim.y and gridDim.z (x allows 2**31 - 1)


def _fold_grid(func, grid: tuple) -> None:
    """Make a kernel launched on `grid` run on (gx*gy*gz, 1, 1): block ids y and z are
    recovered from the linear x id (H's batched matmul puts batches on z, often > 65535)."""
    gx, gy, _ = grid
    ids = [o for o in _walk(func) if _name(o) == "gpu.block_id"]
    first = list(func.regions[0].blocks[0].operations)[0]
    with ir.InsertionPoint(first), func.location:
        lin = gpu_d.block_id(gpu_d.Dimension.x)
        gxc, gyc = (arith.constant(ir.IndexType.get(), v) for v in (gx, gy))
        rest = arith.divui(lin, gxc)
        dims = {"x": arith.remui(lin, gxc), "y": arith.remui(rest, gyc),
                "z": arith.divui(rest, gyc)}
    for o in ids:
        dim = str(o.attributes["dimension"]).rstrip(">")[-1]
        o.results[0].replace_all_uses_with(dims[dim])
        o.operation.erase()


def _fold_large_grids(module, plan: dict | None) -> None:
    if not plan:
        return
    facts = _launch_facts(plan)
    for func in _kernels(module):
        fact = facts.get(_symbol(func))
        if not fact or not any(g[1] > MAX_GRID_YZ or g[2] > MAX_GRID_YZ
                               for g in fact["grids"]):
            continue
        if len(fact["grids"]) != 1:
            raise MxError(f"gpu-to-ptx: kernel {_symbol(func)} has several grids beyond "
                          "CUDA's y/z limit")
        grid = next(iter(fact["grids"]))
        if grid[0] * grid[1] * grid[2] >= 2 ** 31:
            raise MxError(f"gpu-to-ptx: grid {list(grid)} exceeds CUDA's limits")
        _fold_grid(func, grid)
        # outlining recorded the old grid: int-range-optimizations would trust it
        func.attributes["known_grid_size"] = ir.DenseI32ArrayAttr.get(
            [grid[0] * grid[1] * grid[2], 1, 1])
        for step in plan["steps"]:
            if step["op"] == "launch" and step["kernel"] == _symbol(func):
                step["grid"] = [grid[0] * grid[1] * grid[2], 1, 1]


def prepare_kernels(module, plan: dict | None) -> None:
    """Grid folding, noalias, known grid size, unrolling, load hoisting (module docstring).
    May rewrite `plan`'s launch grids (folding)."""
    _fold_large_grids(module, plan)
    facts = _launch_facts(plan)
    marked = {}
    for func in _kernels(module):
        fact = facts.get(_symbol(func))
        marked[_symbol(func)] = len(_set_noalias(func, fact["shared"] if fact else None))
        if "known_grid_size" in func.attributes and (
                not fact or len(fact["grids"]) != 1
                or list(next(iter(fact["grids"]))) != list(
                    ir.DenseI32ArrayAttr(func.attributes["known_grid_size"]))):
            del func.attributes["known_grid_size"]  # only a grid every launch uses holds
        if fact and len(fact["grids"]) == 1 and "known_grid_size" not in func.attributes:
            func.attributes["known_grid_size"] = ir.DenseI32ArrayAttr.get(
                list(next(iter(fact["grids"]))))
    # block ids now have ranges: exact-fit bounds checks fold, loop bodies become flat
    _run(module, "gpu.module(int-range-optimizations,canonicalize,cse)")
    for func in _kernels(module):
        for o in list(func.regions[0].blocks[0].operations):
            if _name(o) == "scf.for":
                _unroll(o)
        if marked[_symbol(func)]:
            args = list(func.regions[0].blocks[0].arguments)
            noalias = [args[i] for i, d in enumerate(ir.ArrayAttr(func.attributes["arg_attrs"]))
                       if "llvm.noalias" in ir.DictAttr(d)]
            stored = _stored(func)
            _hoist_loads(func, {a for a in noalias if a not in stored})
    _run(module, "gpu.module(canonicalize,cse)")


# -- translation ----------------------------------------------------------------------------------
def to_ptx(module, chip: str = DEFAULT_CHIP, opt: int = 3) -> dict[str, str]:
    """gpu.module name -> PTX text. Lowers a copy: `module` keeps its gpu.modules."""
    work = module.operation.clone()
    _run(work, nvvm_pipeline(chip, opt))
    out: dict[str, str] = {}
    for op in work.regions[0].blocks[0].operations:
        if _name(op) != "gpu.binary":
            continue
        objects = list(ir.ArrayAttr(op.attributes["objects"]))
        if len(objects) != 1:
            raise MxError("gpu-to-ptx: expected one object per gpu.binary")
        out[_symbol(op)] = gpu_d.ObjectAttr(objects[0]).object.decode()
    work.erase()
    return out


def translate_module(module, chip: str = DEFAULT_CHIP) -> str:
    """`mxir-translate --gpu-to-ptx`: every gpu.module's PTX, one after another."""
    if not any(True for _ in _kernels(module)):
        raise MxError("gpu-to-ptx: the module holds no gpu.module with a gpu.func")
    prepare_kernels(module, None)
    parts = []
    for name, ptx in to_ptx(module, chip).items():
        parts.append(f"// ---- gpu.module @{name}\n{ptx}")
    return "\n".join(parts)


def compile_for_ptx(module, entry: str = "main", chip: str = DEFAULT_CHIP,
                    library: bool = True):
    """Lower an `mx` module (with @entry) through mx-to-gpu and package it as an Executable
    whose kernels carry PTX (one PTX module per kernel: each gpu.module is its own binary).
    `library`: float matmuls become "gemm" plan steps (cuBLAS in runtime/cuda.py) instead of
    kernels (DESIGN.md, "matmul (GPU)")."""
    from mxir.schema.executable import Executable, Kernel

    plan = lower_to_plan(module, entry, library)
    if plan.pop("custom_kernels", None):
        raise MxError("mx.fast.metal_kernel: a Metal kernel cannot run on the ptx target")
    signatures = kernel_signatures(module)
    prepare_kernels(module, plan)
    sources = to_ptx(module, chip)
    kernels = []
    for k in signatures:
        if k["name"] not in sources:
            raise MxError(f"gpu-to-ptx: no PTX for kernel {k['name']!r}")
        kernels.append(Kernel(k["name"], sources[k["name"]], k["args"], k["workgroup"],
                              tuple(k["block"])))
    exe = Executable("ptx", kernels, plan)
    exe.plan["chip"] = chip
    return exe
