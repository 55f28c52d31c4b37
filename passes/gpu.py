"""mx-to-gpu: linalg on buffers -> gpu.launch kernels -> outlined gpu.module/gpu.func, and the
extraction of the host function's launch plan into an Executable (schema/executable.py).

Mappings (`mx-linalg-to-gpu`, one gpu.launch per linalg op, on static shapes):
- all-parallel generics (fused elementwise, broadcast, transpose, gather, fill, iota) and
  copies between strided views: 256-thread groups, ELEMS_PER_THREAD elements per thread, each
  pass over the group's span coalesced (element = group*span + j*256 + thread);
- reductions whose body is `yield combine(out, x)` with combine one of COMBINERS: one group per
  output element; each thread folds a strided slice in registers, then a tree through
  workgroup memory with gpu.barrier between levels; a long f32/i32 sum to few outputs is split
  over several groups per output, each adding its partial with memref.atomic_rmw;
- matmul-shaped reductions (m in A and C, n in B and C, one k, combine = add): TILE x TILE
  output tiles, A and B tiles staged through workgroup memory, k walked in TILE steps; with
  the module attribute LIBRARY_ATTR (the CUDA target) f32/f64 ones become GEMM_OP host ops,
  "gemm" plan steps run by a BLAS library (DESIGN.md, "matmul (GPU)");
- other reductions (several outputs, bool): one thread per output element, serial;
- host-level loops: scatter-add nests (load x[i]; store x[i] + v) of f32/i32 run one thread per
  update with memref.atomic_rmw (the order of float additions, so the rounding, may differ
  from a serial loop); other loops run on one thread, serial.
Before mapping, a constant fill whose buffer a reduction then overwrites becomes that kernel's
starting value (INIT_ATTR) and the fill launch (or copy of a filled buffer) goes; in the plan,
a temporary copied whole into an output at the end is computed in the output.
Views used by a kernel are re-created inside it; after outlining, `fold-memref-alias-ops` and
`lower-affine` turn their loads and stores into loads and stores of the base buffer.

Kernel IR contract (what the MSL/PTX emitters get, after the mx-to-gpu pipeline):
- `gpu.module @K { gpu.func @K(args) workgroup(...) kernel }`, one kernel per module; the
  kernel's entry-point name in the target source is the gpu.func symbol (unique per program);
- arguments: memrefs with static shape and identity layout (device buffers), or scalars
  (index / integer / float; rare: only what outlining did not sink);
- workgroup attributions: static memref<...xT, #gpu.address_space<workgroup>>;
- body ops: arith, math, memref.load/store (multi-dim indices into the identity layout),
  memref.atomic_rmw (addf on f32, addi on i32: what Metal and NVVM both have),
  scf.for/if/yield, gpu.block_id/thread_id/block_dim/grid_dim, gpu.barrier, gpu.return.
- element types: f32 f16 bf16 f64 i1 i8 i16 i32 i64 (integers signless, as MLIR has them).
`translate_module(module) -> str` (passes/msl.py) gets the whole container module (a
builtin.module holding the gpu.modules) and returns one MSL source with every kernel.
"""

from __future__ import annotations

import json

from mlir import ir
from mlir.dialects import affine, arith, gpu, memref, scf
from mxir.dialect import MxError
from mxir.dialect.custom_kernel import KERNEL_CALL, SPEC_ATTR
from mxir.passes.ir_utils import first_op
from mxir.passes.lapack import refuse_on_gpu

THREADS = 256
ELEMS_PER_THREAD = 4
TILE = 16
COMBINERS = ("arith.addf", "arith.addi", "arith.mulf", "arith.muli", "arith.maximumf",
             "arith.minimumf", "arith.maxnumf", "arith.minnumf", "arith.maxsi", "arith.minsi",
             "arith.maxui", "arith.minui", "arith.andi", "arith.ori", "arith.xori")
INIT_ATTR = "mx.init"  # on a linalg.generic: its output starts from this constant (no load)
# a unit attribute on the module: matmul-shaped generics become GEMM_OP library calls
LIBRARY_ATTR = "mx.gpu_library_calls"
GEMM_OP = "mxlib.gemm"  # host op (unregistered dialect): one "gemm" plan step
# host op: a user's Metal kernel (dialect/custom_kernel.py) on its buffers, one "launch" step
KERNEL_OP = "mxlib.metal_kernel"
VIEW_OPS = ("memref.subview", "memref.expand_shape", "memref.collapse_shape", "memref.cast",
            "memref.reinterpret_cast")
HOST_OPS = ("arith.constant", "memref.alloc", "memref.dealloc", "memref.get_global",
            "func.return", "gpu.launch", GEMM_OP, KERNEL_OP) + VIEW_OPS


# after linalg-to-gpu: outline, then fold views into base-buffer indexing inside kernels
OUTLINE = ("gpu-launch-sink-index-computations,gpu-kernel-outlining,"
           "gpu.module(fold-memref-alias-ops,lower-affine,canonicalize,cse),canonicalize,cse")


# -- small IR helpers ------------------------------------------------------------------------
def _index() -> ir.Type:
    return ir.IndexType.get()


def _c(v: int) -> ir.Value:
    return arith.constant(_index(), v)


def _zero(t: ir.Type) -> ir.Value:
    if isinstance(t, ir.IntegerType):
        return arith.constant(t, 0)
    return arith.constant(t, 0.0)


def _and(a: ir.Value, b: ir.Value | None) -> ir.Value:
    return a if b is None else arith.andi(a, b)


def _lt(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.cmpi(arith.CmpIPredicate.ult, a, b)


def _store(value: ir.Value, buffer: ir.Value, where: list[ir.Value]) -> None:
    memref.store(value, buffer, where)


def _op(v: ir.Value):
    return v.owner if isinstance(v, ir.OpResult) else None


def _name(op) -> str:
    return op.operation.name


def _walk(op):
    for region in op.regions:
        for block in region.blocks:
            for o in block.operations:
                yield o
                yield from _walk(o)


def _delinearize(idx: ir.Value, shape: list[int]) -> list[ir.Value]:
    """Row-major coordinates of `idx` (< prod(shape)) in `shape`."""
    out, stride = [], 1
    strides = []
    for n in reversed(shape):
        strides.append(stride)
        stride *= n
    strides.reverse()
    for k, (n, s) in enumerate(zip(shape, strides)):
        if n == 1:
            out.append(_c(0))
            continue
        v = idx if s == 1 else arith.divui(idx, _c(s))
        out.append(v if k == 0 else arith.remui(v, _c(n)))
    return out


def _apply(amap: ir.AffineMap, ivs: list[ir.Value]) -> list[ir.Value]:
    out = []
    for e in amap.results:
        if isinstance(e, ir.AffineDimExpr):
            out.append(ivs[e.position])
        elif isinstance(e, ir.AffineConstantExpr):
            out.append(_c(e.value))
        else:
            out.append(affine.apply(ir.AffineMap.get(amap.n_dims, 0, [e]), ivs))
    return out


def _launch(grid: tuple, block: tuple, workgroup: list[ir.Type] = ()):
    """A gpu.launch at the current insertion point; returns (op, block ids, thread ids, wg)."""
    op = gpu.LaunchOp(tuple(_c(g) for g in grid), tuple(_c(b) for b in block))
    body = op.regions[0].blocks[0]
    for t in workgroup:
        body.add_argument(t, ir.Location.unknown())
    if workgroup:
        op.attributes["workgroup_attributions"] = ir.IntegerAttr.get(
            ir.IntegerType.get_signless(64), len(workgroup))
    with ir.InsertionPoint(body):
        term = gpu.TerminatorOp()
    args = list(body.arguments)
    return op, term, args[0:3], args[3:6], args[12:]


def _workgroup(shape: list[int], element: ir.Type) -> ir.Type:
    space = ir.Attribute.parse("#gpu.address_space<workgroup>")
    return ir.MemRefType.get(shape, element, memory_space=space)


def _if(cond: ir.Value, then, results: list[ir.Type] = (), otherwise=None):
    """scf.if with `then()` / `otherwise()` emitting the branches (returning yielded values)."""
    op = scf.IfOp(cond, list(results), has_else=otherwise is not None)
    with ir.InsertionPoint(op.then_block):
        scf.YieldOp(list(then() or []))
    if otherwise is not None:
        with ir.InsertionPoint(op.else_block):
            scf.YieldOp(list(otherwise() or []))
    return list(op.results)


def _for(lo, hi, step, inits: list[ir.Value], body) -> list[ir.Value]:
    loop = scf.ForOp(lo, hi, step, inits)
    with ir.InsertionPoint(loop.body):
        scf.YieldOp(list(body(loop.induction_variable, list(loop.inner_iter_args)) or []))
    return list(loop.results)


def _inline(block: ir.Block, values: list, ivs: list[ir.Value]) -> list[ir.Value]:
    """Move a linalg body to the insertion point: block arguments become `values` (None: the
    argument must be unused), `linalg.index` the loop indices; returns the yielded values."""
    for arg, v in zip(block.arguments, values):
        if v is not None:
            arg.replace_all_uses_with(v)
        elif list(arg.uses):
            raise MxError("internal: a used linalg block argument has no value")
    for o in list(_walk(block.owner)):
        if _name(o) == "linalg.index":
            o.results[0].replace_all_uses_with(ivs[ir.IntegerAttr(o.attributes["dim"]).value])
            o.erase()
    marker = arith.ConstantOp(_index(), 0)
    ops = list(block.operations)
    for o in ops[:-1]:
        o.move_before(marker)
    marker.operation.erase()
    return list(ops[-1].operands)


def _combine(proto, a: ir.Value, b: ir.Value) -> ir.Value:
    attrs = {k: proto.attributes[k] for k in proto.attributes}
    return ir.Operation.create(_name(proto), results=[a.type], operands=[a, b],
                               attributes=attrs).results[0]


# -- the linalg.generic view ---------------------------------------------------------------
class Generic:
    def __init__(self, op):
        self.op = op
        n_in = len(op.inputs)
        self.inputs, self.outputs = list(op.inputs), list(op.outputs)
        self.operands = self.inputs + self.outputs
        self.maps = [ir.AffineMapAttr(a).value for a in op.indexing_maps]
        self.parallel = ["parallel" in str(a) for a in op.iterator_types]
        self.block = op.regions[0].blocks[0]
        self.n_in = n_in
        ranges: list[int | None] = [None] * len(self.parallel)
        for v, m in zip(self.operands, self.maps):
            if not isinstance(v.type, ir.MemRefType):
                continue  # a scalar operand (linalg.fill's value)
            shape = ir.MemRefType(v.type).shape
            for j, e in enumerate(m.results):
                if isinstance(e, ir.AffineDimExpr) and ranges[e.position] is None:
                    ranges[e.position] = shape[j]
        if any(r is None or r < 0 for r in ranges):
            raise MxError("mx-to-gpu needs static loop ranges", op.location)
        self.ranges: list[int] = ranges
        # set by _fold_fills: the constant the (single) output starts from, instead of a load
        self.init = op.attributes[INIT_ATTR] if INIT_ATTR in op.attributes else None

    def initial(self, where: list[ir.Value]) -> ir.Value:
        """The output's value before the reduction: the folded fill constant or a load."""
        if self.init is not None:
            return arith.ConstantOp(_attr_type(self.init), self.init).result
        return memref.load(self.outputs[0], where)

    def load_used(self, ivs: list[ir.Value], skip=()) -> list:
        """memref.load of every operand whose block argument is used (None for the others)."""
        out = []
        for k, (v, m) in enumerate(zip(self.operands, self.maps)):
            if not list(self.block.arguments[k].uses) or k in skip:
                out.append(None)
            elif isinstance(v.type, ir.MemRefType):
                out.append(memref.load(v, _apply(m, ivs)))
            else:
                out.append(v)
        return out

    def store(self, results: list[ir.Value], ivs: list[ir.Value]) -> None:
        for r, v, m in zip(results, self.outputs, self.maps[self.n_in:]):
            memref.store(r, v, _apply(m, ivs))

    def combiner(self):
        """(combine op, x) when the body is `yield combine(out, x)` and `out` is used once."""
        if len(self.outputs) != 1:
            return None
        out = self.block.arguments[-1]
        y = list(self.block.operations)[-1]
        c = _op(y.operands[0])
        if c is None or _name(c) not in COMBINERS or len(c.operands) != 2:
            return None
        uses = list(out.uses)
        if len(uses) != 1 or uses[0].owner != c:
            return None
        x = c.operands[1] if c.operands[0] == out else c.operands[0]
        return (c, x) if x != out else None


# -- mappings --------------------------------------------------------------------------------
def _elementwise(shape: list[int], emit) -> None:
    """One launch over a row-major domain; `emit(ivs)` writes one element."""
    n = 1
    for s in shape:
        n *= s
    if n == 0:
        return
    threads = min(THREADS, -(-n // 32) * 32)
    per = ELEMS_PER_THREAD if n > threads else 1
    span = threads * per
    _, term, bid, tid, _ = _launch((-(-n // span), 1, 1), (threads, 1, 1))
    with ir.InsertionPoint(term):
        base = arith.addi(arith.muli(bid[0], _c(span)), tid[0])

        def one(i):
            _if(_lt(i, _c(n)), lambda: emit(_delinearize(i, shape)))

        if per == 1:
            one(base)
        else:
            _for(_c(0), _c(per), _c(1), [],
                 lambda j, _: one(arith.addi(base, arith.muli(j, _c(threads)))))


def _map_parallel(g: Generic) -> None:
    def emit(ivs):
        g.store(_inline(g.block, g.load_used(ivs), ivs), ivs)

    _elementwise(g.ranges, emit)


def _split(g: Generic):
    par = [d for d, p in enumerate(g.parallel) if p]
    red = [d for d, p in enumerate(g.parallel) if not p]
    return par, red, [g.ranges[d] for d in par], [g.ranges[d] for d in red]


def _merge(par, pivs, red, rivs, n) -> list[ir.Value]:
    ivs: list = [None] * n
    for d, v in zip(par, pivs):
        ivs[d] = v
    for d, v in zip(red, rivs):
        ivs[d] = v
    return ivs


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _reduction_threads(nr: int) -> int:
    threads = 32
    while threads < min(nr, THREADS):
        threads *= 2
    return threads


SPLIT_GROUPS = 528  # about 4 groups per multiprocessor of a large GPU


def _reduction_splits(g: Generic) -> int:
    """Groups per output of a combiner reduction: 1, or several (each folding a strided share
    and adding its partial atomically) when few outputs reduce many elements by an atomic add.
    A split reduction adds onto the output's current value, so its fill must stay."""
    cx = g.combiner()
    if cx is None or _name(cx[0]) not in ATOMIC_KINDS or (
            str(g.block.arguments[-1].type) not in ATOMIC_ELEMENTS) or len(g.outputs) != 1:
        return 1
    _, _, pshape, rshape = _split(g)
    np_, nr = _size(pshape), _size(rshape)
    threads = _reduction_threads(nr)
    if np_ >= SPLIT_GROUPS // 2 or nr < 16 * threads:
        return 1
    return max(1, min(nr // (8 * threads), -(-SPLIT_GROUPS // np_)))


def _map_reduction(g: Generic, combine, x) -> None:
    """One group per output element (or `_reduction_splits` groups, adding atomically):
    strided per-thread partials, then a workgroup tree."""
    par, red, pshape, rshape = _split(g)
    np_, nr = _size(pshape), _size(rshape)
    threads = _reduction_threads(nr)
    splits = _reduction_splits(g)  # every thread of a split group has >= 8 elements
    acc_t = g.block.arguments[-1].type
    _, term, bid, tid, (sm,) = _launch((np_ * splits, 1, 1), (threads, 1, 1),
                                       [_workgroup([threads], acc_t)])
    n_dims = len(g.parallel)
    with ir.InsertionPoint(term):
        t = tid[0]
        if splits > 1:
            out_id, part = arith.divui(bid[0], _c(splits)), arith.remui(bid[0], _c(splits))
            first, stride = arith.addi(arith.muli(part, _c(threads)), t), threads * splits
        else:
            out_id, first, stride = bid[0], t, threads
        pivs = _delinearize(out_id, pshape)

        def step(r, carried):
            acc, has = carried
            ivs = _merge(par, pivs, red, _delinearize(r, rshape), n_dims)
            values = g.load_used(ivs, skip=(len(g.operands) - 1,))
            values[-1] = acc
            # the element may be a block argument itself (max(out, in)): take its new value
            element = (values[x.arg_number] if isinstance(x, ir.BlockArgument)
                       and x.owner == g.block else x)
            (folded,) = _inline(g.block, values, ivs)
            return [arith.select(has, folded, element),
                    arith.constant(ir.IntegerType.get_signless(1), 1)]

        acc, has = _for(first, _c(nr), _c(stride),
                        [_zero(acc_t), arith.constant(ir.IntegerType.get_signless(1), 0)], step)
        _if(has, lambda: _store(acc, sm, [t]))
        gpu.barrier()
        s = threads // 2
        while s >= 1:
            def fold(s=s):
                other = arith.addi(t, _c(s))
                a, b = memref.load(sm, [t]), memref.load(sm, [other])
                memref.store(_combine(combine, a, b), sm, [t])

            _if(_and(_lt(t, _c(s)), _lt(arith.addi(t, _c(s)), _c(nr))), fold)
            gpu.barrier()
            s //= 2

        def finish():
            ivs = _merge(par, pivs, red, [_c(0)] * len(red), n_dims)
            where = _apply(g.maps[-1], ivs)
            if splits > 1:
                memref.AtomicRMWOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64),
                                                      ATOMIC_KINDS[_name(combine)]),
                                   memref.load(sm, [_c(0)]), g.outputs[0], where)
                return
            old = g.initial(where)
            memref.store(_combine(combine, old, memref.load(sm, [_c(0)])), g.outputs[0], where)

        _if(arith.cmpi(arith.CmpIPredicate.eq, t, _c(0)), finish)


def _matmul_dims(g: Generic, combine):
    """(m, n, k) loop dims when `g` is a matmul-shaped reduction, else None."""
    if (g.n_in != 2 or _name(combine) not in ("arith.addf", "arith.addi")
            or sum(not p for p in g.parallel) != 1):
        return None
    if not all(m.is_projected_permutation for m in g.maps):
        return None
    dims = [{e.position for e in m.results if isinstance(e, ir.AffineDimExpr)} for m in g.maps]
    a, b, c = dims
    (k,) = [d for d, p in enumerate(g.parallel) if not p]
    ms = [d for d in (a & c) - b]
    ns = [d for d in (b & c) - a]
    if len(ms) != 1 or len(ns) != 1 or k not in a or k not in b:
        return None
    return ms[0], ns[0], k


def _map_matmul(g: Generic, m: int, n: int, k: int) -> None:
    """TILE x TILE output tiles; A and B tiles staged through workgroup memory."""
    batch = [d for d, p in enumerate(g.parallel) if p and d not in (m, n)]
    bshape = [g.ranges[d] for d in batch]
    M, N, K = g.ranges[m], g.ranges[n], g.ranges[k]
    ta, tb = (ir.MemRefType(v.type).element_type for v in g.inputs)
    acc_t = g.block.arguments[-1].type
    grid = (-(-N // TILE), -(-M // TILE), _size(bshape))
    _, term, bid, tid, (sa, sb) = _launch(grid, (TILE, TILE, 1),
                                          [_workgroup([TILE, TILE], ta),
                                           _workgroup([TILE, TILE], tb)])
    with ir.InsertionPoint(term):
        tx, ty = tid[0], tid[1]
        row = arith.addi(arith.muli(bid[1], _c(TILE)), ty)
        col = arith.addi(arith.muli(bid[0], _c(TILE)), tx)
        bivs = _delinearize(bid[2], bshape)

        def ivs_at(mi, ni, ki):
            ivs: list = [_c(0)] * len(g.parallel)
            for d, v in zip(batch, bivs):
                ivs[d] = v
            ivs[m], ivs[n], ivs[k] = mi, ni, ki
            return ivs

        inside = _and(_lt(row, _c(M)), _lt(col, _c(N)))
        out_at = _apply(g.maps[2], ivs_at(row, col, _c(0)))
        if g.init is not None:
            acc0 = g.initial(out_at)
        else:
            (acc0,) = _if(inside, lambda: [memref.load(g.outputs[0], out_at)], [acc_t],
                          lambda: [_zero(acc_t)])

        def tile(k0, carried):
            ka = arith.addi(k0, tx)
            kb = arith.addi(k0, ty)
            (va,) = _if(_and(_lt(row, _c(M)), _lt(ka, _c(K))),
                        lambda: [memref.load(g.inputs[0], _apply(g.maps[0],
                                                                 ivs_at(row, _c(0), ka)))],
                        [ta], lambda: [_zero(ta)])
            memref.store(va, sa, [ty, tx])
            (vb,) = _if(_and(_lt(kb, _c(K)), _lt(col, _c(N))),
                        lambda: [memref.load(g.inputs[1], _apply(g.maps[1],
                                                                 ivs_at(_c(0), col, kb)))],
                        [tb], lambda: [_zero(tb)])
            memref.store(vb, sb, [ty, tx])
            gpu.barrier()

            def mac(kk, acc):
                a, b = memref.load(sa, [ty, kk]), memref.load(sb, [kk, tx])
                return _inline(g.block, [a, b, acc[0]], ivs_at(row, col, arith.addi(k0, kk)))

            (acc,) = _for(_c(0), _c(TILE), _c(1), carried, mac)
            gpu.barrier()
            return [acc]

        (acc,) = _for(_c(0), _c(K), _c(TILE), [acc0], tile)
        _if(inside, lambda: _store(acc, g.outputs[0], out_at))


def _map_serial_reduction(g: Generic) -> None:
    """One thread per output element, the reduction walked in order (any body)."""
    par, red, pshape, rshape = _split(g)
    n_out = len(g.outputs)
    n_dims = len(g.parallel)

    def emit(pivs):
        zeros = [_c(0)] * len(red)
        where = [_apply(m, _merge(par, pivs, red, zeros, n_dims)) for m in g.maps[g.n_in:]]
        inits = ([g.initial(where[0])] if g.init is not None
                 else [memref.load(v, w) for v, w in zip(g.outputs, where)])

        def step(r, accs):
            ivs = _merge(par, pivs, red, _delinearize(r, rshape), n_dims)
            values = g.load_used(ivs, skip=range(g.n_in, g.n_in + n_out))
            return _inline(g.block, values[:g.n_in] + accs, ivs)

        results = _for(_c(0), _c(_size(rshape)), _c(1), inits, step)
        for r, v, w in zip(results, g.outputs, where):
            memref.store(r, v, w)

    _elementwise(pshape, emit)


def _map_generic(op) -> None:
    g = Generic(op)
    if all(g.parallel):
        _map_parallel(g)
    elif _size(g.ranges) == 0:
        pass  # an empty reduction leaves the initial value
    elif (cx := g.combiner()) is not None:
        dims = _matmul_dims(g, cx[0])
        if dims is not None:
            _map_matmul(g, *dims)
        else:
            _map_reduction(g, *cx)
    else:
        _map_serial_reduction(g)


# -- fills folded into their consumers ------------------------------------------------------------
def _constant(v: ir.Value):
    o = _op(v)
    return o.attributes["value"] if o is not None and _name(o) == "arith.constant" else None


def _covering(g: Generic) -> bool:
    """The single output is written at every element (so a fill before it is overwritten)."""
    if len(g.outputs) != 1 or not isinstance(g.outputs[0].type, ir.MemRefType):
        return False
    shape = ir.MemRefType(g.outputs[0].type).shape
    seen = set()
    for e, n in zip(g.maps[-1].results, shape):
        if isinstance(e, ir.AffineDimExpr) and g.parallel[e.position] and e.position not in seen:
            seen.add(e.position)
        elif not (isinstance(e, ir.AffineConstantExpr) and e.value == 0 and n == 1):
            return False
    return _whole(g.outputs[0])


def _fill_constant(g: Generic):
    """The constant a fill-shaped generic writes to its whole output, else None."""
    if not all(g.parallel) or not _covering(g):
        return None
    ops = list(g.block.operations)
    if len(ops) != 1 or len(ops[0].operands) != 1:
        return None
    y = ops[0].operands[0]
    if isinstance(y, ir.BlockArgument) and y.owner == g.block:
        if y.arg_number >= g.n_in or isinstance(g.operands[y.arg_number].type, ir.MemRefType):
            return None
        return _constant(g.operands[y.arg_number])
    return _constant(y)


def _attr_type(attr) -> ir.Type:
    return (ir.FloatAttr(attr) if isinstance(attr, ir.FloatAttr) else ir.IntegerAttr(attr)).type


def _is_zero(attr) -> bool:
    if isinstance(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value == 0.0
    return isinstance(attr, ir.IntegerAttr) and ir.IntegerAttr(attr).value == 0


def _touched(op) -> set:
    """Base buffers an op (with its regions) names."""
    out = set()
    for o in [op, *_walk(op)]:
        for v in o.operands:
            if isinstance(v.type, ir.MemRefType):
                out.add(_base(v))
    return out


def _fold_fills(block, library: bool) -> None:
    """A reduction (or matmul) whose output was last written by a constant fill starts from the
    constant (INIT_ATTR) instead of loading it; a copy of a filled buffer counts as a fill. Fills
    and copies whose buffer is next fully overwritten without being read are then erased: each
    one was a launch (or a copy) of its own."""
    state: dict = {}  # base buffer -> constant it holds
    for op in block.operations:
        name = _name(op)
        if name == "linalg.generic":
            g = Generic(op)
            c = _fill_constant(g)
            written = {_base(v) for v in g.outputs}
            x = _base(g.outputs[0]) if g.outputs else None
            if (c is None and not all(g.parallel) and _covering(g) and x in state
                    and _reduction_splits(g) == 1
                    and _attr_type(state[x]) == g.block.arguments[-1].type
                    and (not (library and _gemm_dims(g)) or _is_zero(state[x]))):
                op.attributes[INIT_ATTR] = state[x]
            for b in written:
                state.pop(b, None)
            if c is not None:
                state[x] = c
        elif name == "memref.copy":
            src, dst = op.operands
            c = state.get(_base(src)) if _whole(src) and _whole(dst) else None
            state.pop(_base(dst), None)
            if c is not None:
                state[_base(dst)] = c
        elif name in HOST_OPS:
            continue
        else:
            for b in _touched(op):
                state.pop(b, None)
    changed = True
    while changed:
        changed = False
        ops = list(block.operations)
        for i, op in enumerate(ops):
            x = _produced(op)
            if x is None:
                continue
            for later in ops[i + 1:]:
                if _name(later) == "memref.dealloc" or _name(later) in VIEW_OPS:
                    continue
                if x not in _touched(later):
                    continue
                if _overwrites(later, x):
                    op.erase()  # a fill's body uses its block argument: internal, fine
                    changed = True
                break
            if changed:
                break


def _produced(op):
    """The base buffer a fill generic or a whole copy writes, else None."""
    if _name(op) == "linalg.generic":
        g = Generic(op)
        return _base(g.outputs[0]) if _fill_constant(g) is not None else None
    if _name(op) == "memref.copy" and all(_whole(v) for v in op.operands):
        return _base(op.operands[1])
    return None


def _overwrites(op, x) -> bool:
    """`op` writes all of buffer `x` and reads nothing of it first."""
    if _name(op) != "linalg.generic":
        return False
    g = Generic(op)
    if not _covering(g) or _base(g.outputs[0]) != x:
        return False
    reads = {_base(v) for v in g.inputs if isinstance(v.type, ir.MemRefType)}
    for o in _walk(op):  # buffers a body loads directly (gathers)
        reads |= {_base(v) for v in o.operands if isinstance(v.type, ir.MemRefType)}
    if x in reads:
        return False
    return INIT_ATTR in op.attributes or not list(g.block.arguments[-1].uses)


# -- matmuls as library calls (target ptx) -------------------------------------------------
GEMM_ELEMENTS = ("f32", "f64")
GEMM_ATTRS = ("m", "n", "k", "batch", "a_strides", "b_strides", "c_strides", "offsets", "beta")


def _gemm_dims(g: Generic):
    """(m dims, n dims, k, batch dims) of a plain float matmul C += A*B (unit-extent loop dims
    left out), else None."""
    if g.n_in != 2 or len(g.outputs) != 1 or len(list(g.block.operations)) != 3:
        return None
    cx = g.combiner()
    if cx is None or _name(cx[0]) != "arith.addf":
        return None
    mul = _op(cx[1])
    args = list(g.block.arguments)
    if mul is None or _name(mul) != "arith.mulf" or {mul.operands[0], mul.operands[1]} != {
            args[0], args[1]} or mul.operands[0] == mul.operands[1]:
        return None
    types = {str(ir.MemRefType(v.type).element_type) for v in g.operands
             if isinstance(v.type, ir.MemRefType)}
    if len(g.operands) != 3 or len(types) != 1 or types.pop() not in GEMM_ELEMENTS:
        return None
    if not all(m.is_projected_permutation for m in g.maps):
        return None
    red = [d for d, p in enumerate(g.parallel) if not p]
    if len(red) != 1:
        return None
    big = {d for d, r in enumerate(g.ranges) if r != 1}
    a, b, c = ({e.position for e in m.results if isinstance(e, ir.AffineDimExpr)} & big
               for m in g.maps)
    k = red[0]
    ms, ns, batch = sorted((a & c) - b), sorted((b & c) - a), sorted(a & b & c)
    par = {d for d in big if g.parallel[d]}
    if len(ms) > 1 or len(ns) > 1 or set(ms) | set(ns) | set(batch) != par:
        return None
    if k in big and not (k in a and k in b and k not in c):
        return None
    return ms, ns, k, batch


def _dim_strides(v: ir.Value, amap: ir.AffineMap):
    """(loop dim -> element stride, offset) of operand `v` under `amap`, or None if dynamic."""
    strides, offset = ir.MemRefType(v.type).get_strides_and_offset()
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    if offset == dyn or dyn in strides:
        return None
    out: dict[int, int] = {}
    for e, s in zip(amap.results, strides):
        if isinstance(e, ir.AffineDimExpr):
            out[e.position] = out.get(e.position, 0) + s
    return out, offset


def _gemm_step(g: Generic, dims) -> dict | None:
    """The layout of a gemm step for `g` (schema/gemm.py), or None if cuBLAS can't take it."""
    from mxir.schema.gemm import gemm_layout

    ms, ns, k, batch = dims
    rs = [_dim_strides(v, m) for v, m in zip(g.operands, g.maps)]
    if None in rs:
        return None

    def one(dim_list, strides):
        return strides.get(dim_list[0], 0) if dim_list else 0

    def batch_stride(strides):
        if not batch:
            return 0
        for d, nxt in zip(batch, batch[1:]):
            if strides.get(d, 0) != strides.get(nxt, 0) * g.ranges[nxt]:
                return None
        return strides.get(batch[-1], 0)

    (sa, oa), (sb, ob), (sc, oc) = rs
    bs = [batch_stride(s) for s in (sa, sb, sc)]
    if None in bs:
        return None
    step = {"element": str(ir.MemRefType(g.outputs[0].type).element_type),
            "m": g.ranges[ms[0]] if ms else 1, "n": g.ranges[ns[0]] if ns else 1,
            "k": g.ranges[k], "batch": _size([g.ranges[d] for d in batch]),
            "a_strides": [bs[0], one(ms, sa), sa.get(k, 0)],
            "b_strides": [bs[1], sb.get(k, 0), one(ns, sb)],
            "c_strides": [bs[2], one(ms, sc), one(ns, sc)],
            "offsets": [oa, ob, oc], "beta": 0 if g.init is not None else 1}
    return step if gemm_layout(step) is not None else None


def _map_gemm(g: Generic, step: dict) -> None:
    """A GEMM_OP host op (extracted into a plan step) in place of a kernel."""
    i64 = ir.IntegerType.get_signless(64)
    attrs = {}
    for key, v in step.items():
        if isinstance(v, list):
            attrs[key] = ir.DenseI64ArrayAttr.get(v)
        elif isinstance(v, int):
            attrs[key] = ir.IntegerAttr.get(i64, v)
    ir.Operation.create(GEMM_OP, results=[], operands=g.operands, attributes=attrs)


# -- host loops ----------------------------------------------------------------------------------
ATOMIC_KINDS = {"arith.addf": 0, "arith.addi": 1}  # arith::AtomicRMWKind values
ATOMIC_ELEMENTS = ("f32", "i32")  # what both Metal and NVVM add atomically


def _index_const(v: ir.Value) -> int | None:
    c = _constant(v)
    return ir.IntegerAttr(c).value if isinstance(c, ir.IntegerAttr) else None


def _map_scatter(op) -> bool:
    """A perfect nest of constant-bound scf.for loops whose body only accumulates into one buffer
    (load x[i]; store x[i] + v, nothing else touching x): one thread per iteration, the update a
    memref.atomic_rmw. Float additions land in any order, so rounding may differ from a serial
    loop. Returns False (nothing changed) when the loop is not of that shape."""
    loops = [op]
    while True:
        ops = list(loops[-1].regions[0].blocks[0].operations)
        if len(ops) == 2 and _name(ops[0]) == "scf.for":
            loops.append(ops[0])
        else:
            break
    bounds = []
    for lp in loops:
        if len(lp.results):
            return False
        b = [_index_const(v) for v in list(lp.operands)[:3]]
        if None in b or b[2] <= 0:
            return False
        bounds.append(b)
    body = loops[-1].regions[0].blocks[0]
    ops = list(body.operations)[:-1]
    stores = [o for o in ops if _name(o) == "memref.store"]
    if len(stores) != 1 or any(len(o.regions) for o in ops):
        return False
    st = stores[0]
    value, buf, idx = st.operands[0], st.operands[1], list(st.operands)[2:]
    add = _op(value)
    if (add is None or _name(add) not in ATOMIC_KINDS
            or str(ir.MemRefType(buf.type).element_type) not in ATOMIC_ELEMENTS):
        return False
    old = [v for v in add.operands if _op(v) is not None and _name(_op(v)) == "memref.load"
           and _op(v).operands[0] == buf and list(_op(v).operands)[1:] == idx]
    if len(old) != 1 or add.operands[0] == add.operands[1] or len(list(old[0].uses)) != 1:
        return False
    ld = _op(old[0])
    for o in ops:
        if o.operation not in (ld.operation, st.operation) and any(v == buf
                                                                    for v in o.operands):
            return False
    trips = [max(0, -(-(hi - lo) // s)) for lo, hi, s in bounds]

    def emit(ivs):
        for lp, (lo, _, s), iv in zip(loops, bounds, ivs):
            real = iv if (lo, s) == (0, 1) else arith.addi(_c(lo), arith.muli(iv, _c(s)))
            lp.regions[0].blocks[0].arguments[0].replace_all_uses_with(real)
        marker = arith.ConstantOp(_index(), 0)
        for o in ops:
            o.move_before(marker)
        # read operands again: the loops' ivs were just replaced
        x = add.operands[1] if add.operands[0] == ld.results[0] else add.operands[0]
        with ir.InsertionPoint(marker):
            memref.AtomicRMWOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64),
                                                  ATOMIC_KINDS[_name(add)]),
                               x, buf, list(st.operands)[2:])
        st.erase()
        add.erase()
        ld.erase()
        marker.operation.erase()

    _elementwise(trips, emit)
    return True


def _contiguous(v: ir.Value) -> bool:
    t = ir.MemRefType(v.type)
    strides, offset = t.get_strides_and_offset()
    expect, s = [], 1
    for n in reversed(t.shape):
        expect.append(s)
        s *= n
    expect.reverse()
    return offset == 0 and all(a == b or n == 1 for a, b, n in zip(strides, expect, t.shape))


def _base(v: ir.Value) -> ir.Value:
    while (o := _op(v)) is not None and _name(o) in VIEW_OPS:
        v = o.operands[0]
    return v


def _whole(v: ir.Value) -> bool:
    """A view that covers its whole base buffer from byte 0, in row-major order."""
    b = _base(v)
    return _contiguous(v) and (
        _size(ir.MemRefType(v.type).shape) == _size(ir.MemRefType(b.type).shape))


def _map_copy(op) -> bool:
    """A copy between views: kept for the plan when both are whole buffers, else a kernel."""
    src, dst = op.operands
    if _whole(src) and _whole(dst):
        return False
    shape = list(ir.MemRefType(src.type).shape)
    _elementwise(shape, lambda ivs: _store(memref.load(src, ivs), dst, ivs))
    return True


def _map_serial(op) -> None:
    if len(op.results):
        raise MxError(f"mx-to-gpu cannot map host op '{_name(op)}' with results to the GPU",
                      op.location)
    _, term, _, _, _ = _launch((1, 1, 1), (1, 1, 1))
    op.move_before(term)


def _sink_views(launch) -> None:
    """Re-create views of host buffers inside the kernel, so only base buffers cross."""
    body = launch.regions[0].blocks[0]
    first = list(body.operations)[0]
    made: list[tuple[ir.Value, ir.Value]] = []

    def local(v: ir.Value) -> ir.Value:
        for old, new in made:
            if old == v:
                return new
        o = _op(v)
        src = o.operands[0]
        inner = local(src) if (_op(src) is not None and _name(_op(src)) in VIEW_OPS) else src
        clone = o.clone(ip=ir.InsertionPoint(first))
        if inner != src:
            clone.operation.replace_uses_of_with(src, inner)
        made.append((v, clone.results[0]))
        return clone.results[0]

    for o in list(_walk(launch)):
        for v in list(o.operands):
            d = _op(v)
            if d is not None and _name(d) in VIEW_OPS and not _inside(d, launch):
                o.operation.replace_uses_of_with(v, local(v))


def _inside(op, launch) -> bool:
    p = op.operation.parent
    while p is not None:
        if p.operation == launch.operation:
            return True
        if p.operation.name in ("func.func", "builtin.module"):
            return False
        p = p.operation.parent
    return False


def _check_detached(op) -> None:
    """Erasing an op whose block arguments are still used aborts the process: refuse instead."""
    for arg in op.regions[0].blocks[0].arguments:
        if list(arg.uses):
            raise MxError("internal error in mx-linalg-to-gpu: a linalg block argument is still "
                          "used", op.location)


def _address_of(v: ir.Value) -> ir.Value:
    """The buffer whose address `v` is (index_cast of extract_aligned_pointer_as_index)."""
    cast = v.owner
    extract = cast.operands[0].owner
    if _name(cast) != "arith.index_cast" or _name(extract) != \
            "memref.extract_aligned_pointer_as_index":
        raise MxError("mx-to-gpu: a custom kernel's argument is not a buffer's address",
                      cast.location)
    return extract.operands[0]


def _erase_unused(op) -> None:
    """Erase `op` if nothing uses its results, then its operands' producers likewise."""
    if any(list(r.uses) for r in op.results):
        return
    producers = [v.owner for v in op.operands if not isinstance(v.owner, ir.Block)]
    op.erase()
    for p in producers:
        _erase_unused(p)


def _custom_kernels(block) -> None:
    """Each call of a custom kernel's host function (dialect/custom_kernel.py) becomes a
    KERNEL_OP on the buffers whose addresses its argument array holds; the host-side address
    arithmetic goes."""
    for op in list(block.operations):
        if _name(op) != "func.call" or ir.FlatSymbolRefAttr(
                op.attributes["callee"]).value != KERNEL_CALL:
            continue
        argv = _address_of(op.operands[1])
        stores = {}
        for use in list(argv.uses):
            user = use.owner
            if _name(user) == "memref.store":
                stores[_scalar(user.operands[2].owner)[0]] = (user, _address_of(user.operands[0]))
        with ir.InsertionPoint(op), op.location:
            ir.Operation.create(KERNEL_OP, results=[],
                                operands=[stores[i][1] for i in range(len(stores))],
                                attributes={"spec": op.attributes[SPEC_ATTR]})
        store_ops = [user for user, _ in stores.values()]
        addresses = [v.owner for v in op.operands]  # of the spec and of the argument array
        op.erase()
        for user in store_ops:
            value_op = user.operands[0].owner
            user.erase()
            _erase_unused(value_op)
        for address in addresses:
            _erase_unused(address)


def _kernel_launch(op, buffer, constant, kernels: list) -> list[dict]:
    """The plan steps of a KERNEL_OP: its outputs' initial value copied in, then the launch
    with MLX's dispatch (threads, groups of min(threadgroup, grid)); `constant(array)` makes a
    plan constant (the shape, strides and ndim buffers the kernel's signature names)."""
    import numpy as np
    from mxir.dialect import numpy_dtype, to_storage

    spec = json.loads(ir.StringAttr(op.attributes["spec"]).value)
    n_in = len(spec["inputs"])
    ids = [buffer(v, op) for v in op.operands]
    args, steps = [], []
    for bid, (shape, _), info in zip(ids, spec["inputs"], spec["shape_infos"]):
        args.append({"buffer": bid})
        if shape:
            strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
            for present, data in zip(info, (np.asarray(shape, np.int32),
                                            np.asarray(strides, np.int64),
                                            np.asarray([len(shape)], np.int32))):
                if present:
                    args.append({"buffer": constant(data)})
    for bid, (shape, dtype) in zip(ids[n_in:], spec["outputs"]):
        args.append({"buffer": bid})
        if spec["init_value"] is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                fill = to_storage(np.full(shape, spec["init_value"]), dtype)
            steps.append({"op": "copy", "src": constant(fill.astype(numpy_dtype(dtype))),
                          "dst": bid, "nbytes": fill.nbytes})
    grid = spec["grid"]
    if all(g > 0 for g in grid):
        steps.append({"op": "launch", "kernel": spec["kernel"], "grid": grid,
                      "threadgroup": [min(t, g) for t, g in zip(spec["threadgroup"], grid)],
                      "dispatch": "threads", "args": args})
    kernels.append({"name": spec["kernel"], "source": spec["source"],
                    "args": [{"kind": "buffer"} for _ in args]})
    return steps


def _is_complex_type(t) -> bool:
    if isinstance(t, ir.ShapedType):
        t = t.element_type
    return isinstance(t, ir.ComplexType)


def _refuse_complex(module) -> None:
    """complex64 has no GPU lowering yet: MSL has no complex type (it would be float2
    arithmetic written per op), so the GPU pipeline stops at the first complex value."""
    op = first_op(module, lambda op: any(_is_complex_type(v.type)
                                         for v in [*op.operands, *op.results]))
    if op is not None:
        raise MxError("complex64 values have no GPU lowering in mxir yet (MSL has no complex "
                      "type): run this program on the CPU", op.location,
                      exc_type=NotImplementedError)


def linalg_to_gpu(module) -> None:
    """Replace every linalg op and host-level loop of each function with gpu.launch ops (and,
    when the module has LIBRARY_ATTR, float matmuls with GEMM_OP library calls)."""
    refuse_on_gpu(module)
    _refuse_complex(module)
    library = LIBRARY_ATTR in module.operation.attributes
    for f in module.body.operations:
        if _name(f) != "func.func" or not f.regions[0].blocks:  # a declaration
            continue
        _custom_kernels(f.regions[0].blocks[0])
        _fold_fills(f.regions[0].blocks[0], library)
        for op in list(f.regions[0].blocks[0].operations):
            name = _name(op)
            with ir.InsertionPoint(op), op.location:
                if name == "linalg.generic":
                    g = Generic(op)
                    dims = _gemm_dims(g) if library else None
                    step = _gemm_step(g, dims) if dims is not None else None
                    if step is not None:
                        _map_gemm(g, step)
                    else:
                        _map_generic(op)
                        _check_detached(op)
                elif name == "scf.for" and _map_scatter(op):
                    pass
                elif name.startswith("linalg."):
                    raise MxError(f"mx-to-gpu: '{name}' was not generalized", op.location)
                elif name == "memref.copy":
                    if not _map_copy(op):
                        continue
                elif name in HOST_OPS:
                    continue
                else:
                    _map_serial(op)
                    continue
            op.erase()
        for op in f.regions[0].blocks[0].operations:
            if _name(op) == "gpu.launch":
                _sink_views(op)


# -- after outlining -----------------------------------------------------------------------------
def name_kernels(module) -> None:
    """Give each gpu.func its module's (unique) name: outlining names every function after
    the host function, and a target library holds all kernels side by side."""
    renamed = {}
    for m in module.body.operations:
        if _name(m) != "gpu.module":
            continue
        mod = ir.StringAttr(m.attributes["sym_name"]).value
        for f in m.regions[0].blocks[0].operations:
            if _name(f) == "gpu.func":
                old = ir.StringAttr(f.attributes["sym_name"]).value
                f.attributes["sym_name"] = ir.StringAttr.get(mod)
                renamed[(mod, old)] = mod
    for f in module.body.operations:
        if _name(f) != "func.func":
            continue
        for op in _walk(f):
            if _name(op) == "gpu.launch_func":
                mod, fn = _kernel_ref(op)
                if (mod, fn) in renamed:
                    op.attributes["kernel"] = ir.SymbolRefAttr.get([mod, renamed[(mod, fn)]])


def _kernel_ref(launch_func) -> tuple[str, str]:
    text = str(launch_func.attributes["kernel"])  # @module::@func
    mod, fn = (part.strip().lstrip("@").strip('"') for part in text.split("::"))
    return mod, fn


# -- launch plan ---------------------------------------------------------------------------------
def _element(t: ir.Type) -> str:
    return str(t)


def _nbytes(t: ir.MemRefType) -> int:
    from mxir.schema.executable import element_size

    return _size(t.shape) * element_size(_element(t.element_type))


def _scalar(op) -> tuple:
    attr = op.attributes["value"]
    t = op.results[0].type
    if isinstance(t, ir.FloatType):
        return ir.FloatAttr(attr).value, str(t)
    return ir.IntegerAttr(attr).value, str(t)


def _global_data(module, sym: str):
    import numpy as np
    from mxir.schema.executable import ELEMENTS, encode_bytes

    for g in module.body.operations:
        if _name(g) == "memref.global" and ir.StringAttr(g.attributes["sym_name"]).value == sym:
            t = ir.MemRefType(ir.TypeAttr(g.attributes["type"]).value)
            dense = ir.DenseElementsAttr(g.attributes["initial_value"])
            element = _element(t.element_type)
            if dense.is_splat:
                value = dense.get_splat_value()
                v = ir.FloatAttr(value).value if isinstance(t.element_type, ir.FloatType) \
                    else ir.IntegerAttr(value).value
                data = np.full(t.shape, v, dtype=ELEMENTS[element])
            else:
                data = np.array(dense).astype(ELEMENTS[element])
            return {"element": element, "data": encode_bytes(data)}
    raise MxError(f"mx-to-gpu: no memref.global @{sym}")


def extract_plan(module, n_inputs: int, entry: str = "main") -> dict:
    """The launch plan of the host function `entry` after the mx-to-gpu pipeline."""
    func = None
    for f in module.body.operations:
        if _name(f) == "func.func" and ir.StringAttr(f.attributes["sym_name"]).value == entry:
            func = f
    if func is None:
        raise MxError(f"no function named @{entry} in the module")
    block = func.regions[0].blocks[0]
    buffers: list[dict] = []
    ids: list[tuple[ir.Value, int]] = []
    constants: dict[str, dict] = {}
    scalars: list[tuple[ir.Value, tuple]] = []

    def new(v: ir.Value) -> int:
        t = ir.MemRefType(v.type)
        bid = len(buffers)
        buffers.append({"id": bid, "nbytes": _nbytes(t), "element": _element(t.element_type),
                        "shape": list(t.shape)})
        ids.append((v, bid))
        return bid

    def buffer(v: ir.Value, what) -> int:
        if not _whole(v):
            raise MxError("mx-to-gpu: a strided view crosses into the plan", what.location)
        b = _base(v)
        for value, bid in ids:
            if value == b:
                return bid
        raise MxError("mx-to-gpu: a launch uses a buffer the plan does not know", what.location)

    def base_id(v: ir.Value, what) -> int:
        b = _base(v)
        for value, bid in ids:
            if value == b:
                return bid
        raise MxError("mx-to-gpu: a library call uses a buffer the plan does not know",
                      what.location)

    def arg(v: ir.Value, what) -> dict:
        if isinstance(v.type, ir.MemRefType):
            return {"buffer": buffer(v, what)}
        for value, (x, t) in scalars:
            if value == v:
                return {"scalar": x, "type": t}
        raise MxError("mx-to-gpu: a kernel argument is computed on the host", what.location)

    def constant(data) -> int:
        from mxir.schema.executable import encode_bytes

        element = {1: "i8", 2: "i16", 4: "i32", 8: "i64"}[data.itemsize]  # the bytes matter
        bid = len(buffers)
        buffers.append({"id": bid, "nbytes": data.nbytes, "element": element,
                        "shape": list(data.shape)})
        constants[str(bid)] = {"element": element, "data": encode_bytes(data)}
        return bid

    inputs = [new(a) for a in list(block.arguments)[:n_inputs]]
    outputs = [new(a) for a in list(block.arguments)[n_inputs:]]
    steps: list[dict] = []
    custom_kernels: list[dict] = []
    temps: list[int] = []
    for op in block.operations:
        name = _name(op)
        if name == "arith.constant":
            scalars.append((op.results[0], _scalar(op)))
        elif name == "memref.alloc":
            temps.append(new(op.results[0]))
            steps.append({"op": "alloc", "buffer": temps[-1]})
        elif name == "memref.get_global":
            bid = new(op.results[0])
            constants[str(bid)] = _global_data(module, ir.FlatSymbolRefAttr(
                op.attributes["name"]).value)
        elif name == "memref.copy":
            src, dst = op.operands
            steps.append({"op": "copy", "src": buffer(src, op), "dst": buffer(dst, op),
                          "nbytes": _nbytes(ir.MemRefType(dst.type))})
        elif name == "gpu.launch_func":
            lf = op.opview
            sizes = [lf.gridSizeX, lf.gridSizeY, lf.gridSizeZ,
                     lf.blockSizeX, lf.blockSizeY, lf.blockSizeZ]
            sizes = [arg(v, op).get("scalar") for v in sizes]
            if any(s is None for s in sizes):
                raise MxError("mx-to-gpu: launch sizes must be constants", op.location)
            steps.append({"op": "launch", "kernel": _kernel_ref(op)[1], "grid": sizes[:3],
                          "threadgroup": sizes[3:], "dispatch": "threadgroups",
                          "args": [arg(v, op) for v in lf.kernelOperands]})
        elif name == GEMM_OP:
            step = {"op": "gemm"}
            for key in ("a", "b", "c"):
                step[key] = base_id(op.operands["abc".index(key)], op)
            for key in GEMM_ATTRS:
                v = op.attributes[key]
                step[key] = (list(ir.DenseI64ArrayAttr(v)) if isinstance(
                    v, ir.DenseI64ArrayAttr) else ir.IntegerAttr(v).value)
            step["element"] = _element(ir.MemRefType(op.operands[2].type).element_type)
            steps.append(step)
        elif name == KERNEL_OP:
            steps += _kernel_launch(op, buffer, constant, custom_kernels)
        elif name in ("memref.dealloc", "func.return") or name in VIEW_OPS:
            continue  # frees follow liveness below; views resolve to their base buffer
        else:
            raise MxError(f"mx-to-gpu: host op '{name}' has no plan step", op.location)
    steps = _elide_output_copies(steps, temps, set(outputs) - set(inputs),
                                 {b["id"]: b["nbytes"] for b in buffers})
    plan = {"buffers": buffers, "inputs": inputs, "outputs": outputs, "constants": constants,
            "steps": _free_after_last_use(steps, temps)}
    if custom_kernels:  # compile_for_gpu makes them kernels of the executable
        plan["custom_kernels"] = custom_kernels
    return plan


def _step_buffers(s: dict) -> list[int]:
    used = [s.get(k) for k in ("buffer", "src", "dst", "a", "b", "c")]
    used += [a.get("buffer") for a in s.get("args", [])]
    return [b for b in used if b is not None]


def _rename(s: dict, old: int, new: int) -> dict:
    s = dict(s)
    for k in ("buffer", "src", "dst", "a", "b", "c"):
        if s.get(k) == old:
            s[k] = new
    if "args" in s:
        s["args"] = [{"buffer": new} if a.get("buffer") == old else a for a in s["args"]]
    return s


def _elide_output_copies(steps: list[dict], temps: list[int], outputs: set[int],
                         nbytes: dict[int, int]) -> list[dict]:
    """A temporary computed and then copied whole into an output is computed in the output
    instead (bufferization leaves such copies at the end of a function): one pass over the
    bytes fewer. Only when the output is untouched while the temporary lives."""
    def elide_one(steps):
        for i, s in enumerate(steps):
            if s["op"] != "copy" or s["src"] not in temps or s["dst"] not in outputs:
                continue
            src, dst = s["src"], s["dst"]
            if nbytes[src] != nbytes[dst] or s["nbytes"] != nbytes[dst]:
                continue
            born = [j for j in range(i) if steps[j] == {"op": "alloc", "buffer": src}]
            if len(born) != 1:
                continue
            a = born[0]
            if any(dst in _step_buffers(t) for t in steps[a + 1:i]) or any(
                    src in _step_buffers(t) for t in steps[i + 1:]):
                continue
            return steps[:a] + [_rename(t, src, dst) for t in steps[a + 1:i]] + steps[i + 1:]
        return None

    while (shorter := elide_one(steps)) is not None:
        steps = shorter
    return steps


def _free_after_last_use(steps: list[dict], temps: list[int]) -> list[dict]:
    last: dict[int, int] = {}
    for i, s in enumerate(steps):
        for b in _step_buffers(s):
            last[b] = i
    out = []
    for i, s in enumerate(steps):
        out.append(s)
        out.extend({"op": "free", "buffer": b} for b in temps if last.get(b) == i)
    return out


def kernel_signatures(module) -> list[dict]:
    """name, args, workgroup and block size of every outlined kernel."""
    from mxir.schema.executable import element_size

    out = []
    for m in module.body.operations:
        if _name(m) != "gpu.module":
            continue
        for f in m.regions[0].blocks[0].operations:
            if _name(f) != "gpu.func":
                continue
            ftype = ir.FunctionType(ir.TypeAttr(f.attributes["function_type"]).value)
            args = []
            for t in ftype.inputs:
                if isinstance(t, ir.MemRefType):
                    args.append({"kind": "buffer", "element": _element(t.element_type),
                                 "shape": list(t.shape)})
                else:
                    args.append({"kind": "scalar", "type": str(t)})
            n_wg = (ir.IntegerAttr(f.attributes["workgroup_attributions"]).value
                    if "workgroup_attributions" in f.attributes else 0)
            wg_args = list(f.regions[0].blocks[0].arguments)[len(ftype.inputs):][:n_wg]
            workgroup = []
            for a in wg_args:
                t = ir.MemRefType(a.type)
                e = _element(t.element_type)
                workgroup.append({"element": e, "shape": list(t.shape),
                                  "nbytes": _size(t.shape) * element_size(e)})
            block = (list(ir.DenseI32ArrayAttr(f.attributes["known_block_size"]))
                     if "known_block_size" in f.attributes else [1, 1, 1])
            out.append({"name": ir.StringAttr(f.attributes["sym_name"]).value, "args": args,
                        "workgroup": workgroup, "block": block})
    return out


def lower_to_plan(module, entry: str, library: bool) -> dict:
    """Run mx-to-gpu on `module` and extract @entry's launch plan (shared by every target)."""
    from .registry import run_pipeline

    n_inputs = None
    for f in module.body.operations:
        if _name(f) == "func.func" and ir.StringAttr(f.attributes["sym_name"]).value == entry:
            n_inputs = len(ir.FunctionType(ir.TypeAttr(f.attributes["function_type"]).value)
                           .inputs)
    if n_inputs is None:
        raise MxError(f"no function named @{entry} in the module")
    if library:
        module.operation.attributes[LIBRARY_ATTR] = ir.UnitAttr.get()
    run_pipeline(module, ["mx-to-gpu"])
    return extract_plan(module, n_inputs, entry)


def compile_for_gpu(module, entry: str = "main", translate=None, target: str = "msl",
                    library: bool = False):
    """Lower an `mx` module (with @entry) through mx-to-gpu and package it as an Executable.
    `translate(module)` gives the kernels' source, or (source, infos) with each info's `name`
    (gpu.func), `msl_name` (its entry point in the source) and `scalars` (ScalarArg: operand
    `index`, declared `msl_type`); default: the MSL emitter.
    `library`: float matmuls become "gemm" plan steps, for devices with a matrix library
    (runtime/plan.py refuses them on others)."""
    from mxir.schema.executable import Executable, Kernel

    plan = lower_to_plan(module, entry, library)
    if translate is None:
        if target != "msl":
            raise MxError(f"no translation to {target!r} yet")
        from . import msl

        def translate(m):
            return msl.translate_gpu_modules(msl.gpu_modules(m))

    translated = translate(module)
    source, infos = translated if isinstance(translated, tuple) else (translated, [])
    entry_name = {i.name: i.msl_name for i in infos}
    info = {i.name: i for i in infos}
    for step in plan["steps"]:
        if step["op"] == "launch":
            step["kernel"] = entry_name.get(step["kernel"], step["kernel"])
    kernels = [Kernel(entry_name.get(k["name"], k["name"]), source,
                      declared_scalars(k["args"], info.get(k["name"])), k["workgroup"],
                      tuple(k["block"])) for k in kernel_signatures(module)]
    custom = plan.pop("custom_kernels", [])
    if custom and target != "msl":
        raise MxError(f"mx.fast.metal_kernel: a Metal kernel cannot run on the {target} "
                      "target")
    kernels += [Kernel(k["name"], k["source"], k["args"]) for k in custom]
    return Executable(target, kernels, plan)


def declared_scalars(args: list[dict], info) -> list[dict]:
    """A kernel's arguments (kernel_signatures), each scalar with the type the translated source
    declares it as (`msl_type`: MSL passes an index as a 32-bit uint), which the device packs."""
    args = [dict(a) for a in args]
    for a in (info.scalars if info is not None else ()):
        args[a.index]["msl_type"] = a.msl_type
    return args
