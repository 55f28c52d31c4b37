"""mx-cpu-codegen: linalg on tensors -> fused, tiled, vectorised (and for big tensors
multi-threaded) loops, before bufferization; mx-cpu-parallel: the async runtime lowering of the
threaded loops, after it.

Measured on W3 (sin x cos x + exp(-x^2), 16M f32, TOOLCHAIN §4): scalar loops with libm calls
177 ms; polynomials with MLIR vectorisation in tiles of 64: 13 ms; two threads: 6.6 ms. The
steps, in order:
1. Bounded elementwise fusion: upstream `linalg-fuse-elementwise-ops` clones the growing body
   at every step (quadratic: 10k ops in 38 s), so long chains are cut into groups of at most
   `FUSE_GROUP` ops by giving each group's last op a temporary second use. A broadcast that
   several ops read is first copied per reader (`_clone_broadcasts`): fusion takes only
   single-use producers, and a shared broadcast was written out in full.
2. Tiling + vectorisation (transform dialect) of elementwise generics whose static iteration
   space is large enough to pay for it (small programs stay cheap to compile): the innermost
   dimension in vectors of `_vector_width` lanes, the outermost split into `scf.forall`
   chunks when the op is big enough for threads.
3. mx-math-approx on what is left: math ops on vectors and scalars become calls to the
   polynomial approximations.

Dynamic shapes (shapeless compile: one program for every input shape, dims `?`): an
elementwise op whose innermost dimension is dynamic is always tiled (its size is unknown):
- threads: an scf.forall over chunks whose size is computed at run time (`_plan_dynamic`):
  CHUNK elements (whole rows for rank > 1) once the op has THREAD_MIN elements, else the whole
  op in one chunk. A one-iteration forall costs nothing: async-parallel-for calls its body
  inline when there is a single block (64 elements: 1.7 us, the static program 1.8 us).
- vectors: the innermost dimension in tiles of DYN_WIDTH (math_lanes) lanes, the loop peeled
  (`transform.loop.peel`): full tiles are vectorised without masks, the one remainder tile
  with masked vectors (zero in the masked-off lanes), or as scalar loops when the body has an
  integer division (a masked-off lane would divide by zero). Measured (benchmarks/
  cpu_dynamic.py, W3, 2-core box busy with other jobs): masking every tile instead of
  peeling costs 2.5x on 16M f32 (34 vs 13 ms); a scalar remainder instead of a masked one is
  as fast on 1-D but 2.7x slower on narrow rows (1M x 15: 87 vs 33 ms; the static program,
  whose width 15 is not vectorised, 254 ms). Dynamic vs static: 16M 13.9 vs 14.2 ms,
  4096 x 4096 14.7 vs 14.1 ms, 1000 elements 2.6 vs 4.1 us (the static path leaves ops
  under VECTOR_MIN scalar); on a quiet box W3 16M is ~7.5 ms either way.
- reads of 0-d operands (the program's scalars, put in the body by
  linalg-inline-scalar-operands) move in front of the op, so that they broadcast to vectors.
- the result is written into the caller's out-param (`_write_in_place`, mx-cpu-parallel):
  bufferization hoists only static allocations into it, the copy of a dynamic one cost
  30 ms of 40 on W3 16M.
Not done: flattening rank > 1 ops with identity maps into one dimension (rows narrower than
DYN_WIDTH would vectorise fully): memref.expand_shape with two dynamic sizes in one group,
which flattening leaves on the result, aborts expand-strided-metadata (LLVM 22). A dynamic op
with a static innermost dimension keeps plain loops.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, llvm, tensor
from mlir.dialects.transform import interpreter
from mxir.schema import pool

from .host import thread_min, vector_bits
from .ir_utils import functions
from .math_approx import APPROXIMATIONS, math_approx
from .pool_tasks import outline_forall

FUSE_GROUP = 48  # ops per fused group
VECTOR_MIN = 1024  # elements: below this plain loops compile faster and run as fast
THREAD_MIN = thread_min()  # elements: below this a fork and join do not pay (host.py)
# (W4, 1024x128 f32: 37 µs on one thread, 45-140 µs split in two on the busy 2-core box)
CHUNK = 1 << 16  # elements per threaded chunk, about
_TAG = "mx.cg"
_SIZE_TAG = "mx.cg.chunk"  # the run-time chunk size of a dynamic op's scf.forall
_MAIN_TAG = "mx.cg.main"  # a dynamic op's full vector tiles
_REST_TAG = "mx.cg.rest"  # its remainder tile
DYN_WIDTH = 64  # lanes of a dynamic op's innermost dimension (one host vector with math)
DYN_MASKED = True  # remainder tiles in masked vectors (False: scalar loops; tests, timings)
# integer division traps on the zero that masked-off lanes hold: such bodies keep a scalar tail
_TRAPPING = ("arith.divsi", "arith.divui", "arith.remsi", "arith.remui", "arith.floordivsi",
             "arith.ceildivsi", "arith.ceildivui")

_ELEMENTWISE_BODY = ("arith.", "math.")


def cpu_codegen(module) -> None:
    from .registry import run_upstream

    _fuse_bounded(module)
    _reassociate_reductions(module)  # before threads tile them into scf.forall bodies
    plans = _plan(module)
    if plans:
        _apply(module, plans)
    run_upstream(module, "canonicalize,cse")
    math_approx(module)


# ---- 1. bounded elementwise fusion ----

def _fuse_bounded(module) -> None:
    from .registry import run_upstream

    cuts = []
    for fn in functions(module):
        _clone_broadcasts(fn)
        size: dict = {}
        for op in fn.regions[0].blocks[0].operations:
            if op.operation.name != "linalg.generic":
                continue
            n = 0 if _is_broadcast(op.operation) else 1  # (no body to grow: one yield)
            for v in op.operation.operands:
                owner = v.owner
                if isinstance(owner, ir.Operation) or hasattr(owner, "operation"):
                    owner = owner.operation if hasattr(owner, "operation") else owner
                    key = _key(owner)
                    if key in size and _one_use(v):
                        n += size[key]
            if n > FUSE_GROUP:
                cuts.append(op.operation)
                n = 0  # consumers see a cut: it does not fuse into them
            size[_key(op.operation)] = n
    keep = []
    if cuts:
        with module.context, ir.Location.unknown():
            for op in cuts:
                ip = ir.InsertionPoint.after(op)
                keep.append(ir.Operation.create("mx_codegen.keep", operands=[op.results[0]],
                                                ip=ip))
    # unit dims dropped first: a trailing unit dim (vmap of a matrix-vector product leaves
    # 1024x128x1) would block vectorisation, and fusing reshapes into a matmul would turn it
    # into a generic that is no longer a gemm; scalar operands become body constants
    run_upstream(module, "func.func(linalg-fold-unit-extent-dims,linalg-inline-scalar-operands,"
                 "canonicalize,linalg-fuse-elementwise-ops)")
    for op in keep:
        op.erase()


def _clone_broadcasts(fn) -> None:
    """A broadcast (a generic that only yields a lower-rank input: `maximum(x, 0.0)` spreading
    its scalar) read by several generics gets a copy per reader, so that each fuses it: upstream
    fusion takes single-use producers only, and a shared one was written out in full (W2: a
    256x512 buffer of zeros filled, kept through the step and read by relu and its vjp)."""
    for op in list(fn.regions[0].blocks[0].operations):
        if not _is_broadcast(op.operation):
            continue
        readers = [u for u in op.operation.results[0].uses
                   if u.owner.name == "linalg.generic"
                   and _permutation(u.owner, u.operand_number)]
        for use in readers[1:]:
            copy = op.operation.clone(ip=ir.InsertionPoint(use.owner))
            use.owner.operands[use.operand_number] = copy.results[0]


def _is_broadcast(op) -> bool:
    if op.name != "linalg.generic" or len(op.results) != 1 or len(op.operands) != 2:
        return False
    body = list(op.regions[0].blocks[0].operations)
    if len(body) != 1 or body[0].operands[0] != op.regions[0].blocks[0].arguments[0]:
        return False
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    return (all("parallel" in it for it in iters) and maps[1].is_permutation
            and len(maps[0].results) < len(maps[1].results))


def _permutation(op, operand: int) -> bool:
    """Whether a generic reads its operand through a permutation map (what fusion needs)."""
    maps = ir.ArrayAttr(op.attributes["indexing_maps"])
    return operand < len(maps) and ir.AffineMapAttr(maps[operand]).value.is_permutation


def _key(op):
    return op  # ir.Operation hashes by identity of the underlying op


def _one_use(value) -> bool:
    uses = iter(value.uses)
    return next(uses, None) is not None and next(uses, None) is None


# ---- 2. tiling and vectorisation ----

def _plan(module) -> list[tuple]:
    """(tag, outer chunk or 0, inner tile sizes), ("dyn", ...) or ("reduce", forall tile sizes)
    per generic to vectorise or thread; tags the ops."""
    plans = []
    for fn in functions(module):
        for op in fn.regions[0].blocks[0].operations:
            if op.operation.name != "linalg.generic":
                continue
            plan = _plan_elementwise(op.operation)
            tag = len(plans)
            if plan is None:
                plan = _plan_dynamic(op.operation, tag)
            if plan is None:
                plan = _plan_reduction(op.operation)
            if plan is None:
                continue
            op.operation.attributes[_TAG] = ir.IntegerAttr.get(
                ir.IntegerType.get_signless(64), tag)
            plans.append((tag, *plan))
    return plans


def _is_elementwise(op, scalars: bool = False) -> bool:
    """All-parallel, one result, a body of arith/math ops (and with `scalars`, reads of 0-d
    tensors: the scalar operands that linalg-inline-scalar-operands moved into the body)."""
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if not iters or any("parallel" not in it for it in iters) or len(op.results) != 1:
        return False
    if isinstance(ir.ShapedType(op.results[0].type).element_type, ir.ComplexType):
        return False  # no vectors of complex: a broadcast of a complex pad value failed
    for body_op in op.regions[0].blocks[0].operations:
        name = body_op.operation.name
        if name == "tensor.extract" and scalars and _outside_scalar(body_op, op):
            continue
        if name != "linalg.yield" and not name.startswith(_ELEMENTWISE_BODY):
            return False
    return True


def _plan_elementwise(op):
    """(outer chunk or 0, inner tile sizes) of an elementwise op with a static iteration
    space; its scalar operands (a compiled function's Python numbers are inputs) move in front
    of it: left in the body they kept W8 (`x * 2 + 1`, 16M f32) in scalar loops on one thread,
    6.8 ms against NumPy's 8.2 ms."""
    if not _is_elementwise(op, scalars=True):
        return None
    shape = list(ir.RankedTensorType(op.results[0].type).shape)
    if any(d < 0 for d in shape):
        return None
    numel = 1
    for d in shape:
        numel *= d
    if numel < VECTOR_MIN:
        return None
    width = _vector_width(shape[-1], _calls_math(op))
    if width is None:
        return None
    inner = [1] * (len(shape) - 1) + [width]
    chunk = _chunk(shape, width) if numel >= THREAD_MIN else 0
    _hoist_scalars(op)
    return chunk, inner


def _plan_reduction(op):
    """("reduce", (forall tile sizes or None, split factor or 0, loops)) of a static reduction that
    keeps a parallel loop (`sum(x, axis=0)`, a bias's gradient; `max(x, axis=-1)`), or None.

    Threads, from THREAD_MIN elements: its outermost parallel loop in chunks of about CHUNK
    elements, one task each, or, when a reduction loop is outside it, one block per core at
    least 64 elements wide (4096^2 f32 summed over axis 0 in 256 blocks of 16 columns took
    16.4 ms, on one thread 2.6 ms, in two blocks 1.6 ms). Before, W2's 256x512 -> 512 bias
    gradient ran on the caller (14 µs) while the other core waited.

    Vectors, from VECTOR_MIN elements: a float max or min over the innermost loop is a chain
    of NaN-propagating compares that LLVM does not vectorise (a sum is, once `reassoc`), so
    the loop is split into partial results in `_SPLIT` lanes (k = 16 * outer + lane, a parallel
    innermost loop) and a small reduction of the lanes: max over rows of 1024^2 f32 1.56 ms,
    NumPy 0.2 ms."""
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    parallel = [d for d, it in enumerate(iters) if "parallel" in it]
    if len(parallel) == len(iters) or len(op.results) != 1:
        return None
    for body_op in op.regions[0].blocks[0].operations:
        name = body_op.operation.name
        if not (name.startswith((*_ELEMENTWISE_BODY, "linalg.yield"))
                or (name == "tensor.extract" and _outside_scalar(body_op, op))):
            return None
    first = ir.AffineMapAttr(ir.ArrayAttr(op.attributes["indexing_maps"])[0]).value
    shape = list(ir.ShapedType(op.operands[0].type).shape)
    if first != ir.AffineMap.get_identity(len(iters)) or any(d < 0 for d in shape):
        return None  # loop sizes are the first input's shape
    numel = 1
    for d in shape:
        numel *= d
    split = 0
    if (numel >= VECTOR_MIN and "reduction" in iters[-1] and len(parallel) == len(iters) - 1
            and shape[-1] % _SPLIT == 0 and shape[-1] > _SPLIT
            and _combiner(op).name in _UNVECTORISED and _drops_last_loop(op)):
        split = _SPLIT
    chunk = 0
    if parallel and numel >= THREAD_MIN:
        d = parallel[0]
        if d == 0:
            chunk = _chunk([shape[0], numel // shape[0]], 1)
        else:  # under a reduction loop: one wide block per core, or each row's read is a sliver
            inner = numel
            for size in shape[:d + 1]:
                inner //= size
            pieces = max([k for k in range(2, pool.cores() + 1)
                          if shape[d] % k == 0 and shape[d] // k * inner >= 64], default=0)
            chunk = shape[d] // pieces if pieces else 0
    if not chunk and not split:
        return None
    sizes = [chunk if i == parallel[0] else 0 for i in range(len(iters))] if chunk else None
    _hoist_scalars(op)
    return "reduce", (sizes, split, len(iters))


def _drops_last_loop(op) -> bool:
    """Whether the result's map is (d0, ..., dn) -> (d0, ..., dn-1)."""
    maps = ir.ArrayAttr(op.attributes["indexing_maps"])
    out = ir.AffineMapAttr(maps[len(maps) - 1]).value
    n = out.n_dims
    return out == ir.AffineMap.get(n, 0, [ir.AffineDimExpr.get(i) for i in range(n - 1)])


def _outside_scalar(body_op, op) -> bool:
    """A read of a 0-d tensor defined outside `op`: the same scalar in every lane."""
    operands = body_op.operation.operands
    if len(operands) != 1:
        return False
    src = operands[0]
    parent = src.owner.owner if isinstance(src, ir.BlockArgument) else src.owner
    parent = parent.operation
    while parent is not None:  # the op defining src, or owning its block, is not in `op`
        if parent == op.operation:
            return False
        parent = parent.parent
    return True


def _hoist_scalars(op) -> None:
    """0-d reads in the body move in front of the op (the vectorizer broadcasts values
    defined above; it refuses tensor.extract in a body)."""
    for body_op in list(op.regions[0].blocks[0].operations):
        if body_op.operation.name == "tensor.extract":
            body_op.operation.move_before(op)


def _plan_dynamic(op, tag):
    """An elementwise op with a run-time iteration space and a dynamic innermost dimension:
    ("dyn", (rank, masked, lanes)). Emits the run-time chunk size of its scf.forall in front
    of it, tagged for the script: CHUNK elements (whole rows) once the op has THREAD_MIN
    elements, else the whole op in one chunk (the forall then runs inline, see ASYNC)."""
    shape = list(ir.RankedTensorType(op.results[0].type).shape)
    if not shape or shape[-1] >= 0 or not _is_elementwise(op, scalars=True):
        return None
    _hoist_scalars(op)
    rank = len(shape)
    masked = not any(body_op.operation.name in _TRAPPING
                     for body_op in op.regions[0].blocks[0].operations)
    index = ir.IndexType.get()
    with ir.InsertionPoint(op), op.location:
        init = op.operands[len(op.operands) - 1]
        dims = [tensor.dim(init, arith.constant(index, i)) if d < 0
                else arith.constant(index, d) for i, d in enumerate(shape)]
        numel = dims[0]
        for d in dims[1:]:
            numel = arith.muli(numel, d)
        one = arith.constant(index, 1)
        if rank == 1:
            per, whole = arith.constant(index, CHUNK), numel
        else:
            row = dims[1]
            for d in dims[2:]:
                row = arith.muli(row, d)
            per = arith.maxui(arith.divui(arith.constant(index, CHUNK), arith.maxui(row, one)),
                              one)
            whole = dims[0]
        big = arith.cmpi(arith.CmpIPredicate.uge, numel, arith.constant(index, THREAD_MIN))
        size = arith.select(big, per, arith.maxui(whole, one))
        size.owner.attributes[_SIZE_TAG] = ir.IntegerAttr.get(
            ir.IntegerType.get_signless(64), tag)
    lanes = math_lanes() if _calls_math(op) else DYN_WIDTH
    return "dyn", (rank, masked, lanes)


def _vector_width(n: int, heavy: bool = False):
    """Lanes of an elementwise op's vectors: four host vectors of f32 (independent chains for
    the pipelines), or one when the body calls math approximations, whose constants and
    temporaries then fit the registers (W3 on AVX-512: 6.1-6.3 ms in 16 lanes, 7.0 in 64,
    spilling)."""
    for w in ((math_lanes(),) if heavy else ()) + (64, 32, 16, 8):
        if n % w == 0:
            return w
    # rows of other lengths (10 classes, 100 features): the widest tile that divides them,
    # at most one host vector with math, vectors of odd lengths that LLVM splits into registers.
    # With math even 2 or 3 lanes beat a scalar loop's branch per element (8-lane AVX2, 512x171
    # exp*2+sin: 428 -> 160 µs in 3 lanes; 4-lane NEON width, 512x10: 36 -> 18 µs in 2)
    w = max(d for d in range(1, min(n, math_lanes() if heavy else 64) + 1) if n % d == 0)
    return w if w >= (2 if heavy else 4) or w == n > 1 else None


def math_lanes() -> int:
    """Lanes of an op whose body calls math approximations, static or dynamic: one host
    vector of f32 (16 lanes on AVX-512, 8 on AVX2, 4 on NEON)."""
    return vector_bits() // 32


def _calls_math(op) -> bool:
    """Whether the body of a linalg op holds a float32 op that mx-math-approx expands."""
    return any(body_op.operation.name in APPROXIMATIONS
               for body_op in op.regions[0].blocks[0].operations)


def _chunk(shape, width):
    """A tile size of the outermost dimension that divides it (static chunks) and holds about
    CHUNK elements; 0 when there is none (no threads)."""
    row = 1
    for d in shape[1:]:
        row *= d
    unit = width if len(shape) == 1 else 1
    best = 0
    for c in range(unit, shape[0] + 1, unit):
        if shape[0] % c == 0 and c * row <= max(CHUNK, row):
            best = c
        if c * row > CHUNK:
            break
    if best == 0 or best == shape[0]:
        return 0
    return best


def _script(plans) -> str:
    lines, later = [], []
    for tag, chunk, inner in plans:
        h = f"%op{tag}"
        if chunk == "dyn":
            first, second = _dynamic_script(tag, inner)
            lines += first
            later += second
            continue
        lines.append(f"{h} = transform.structured.match attributes {{{_TAG} = {tag} : i64}} in "
                     "%root : (!transform.any_op) -> !transform.any_op")
        if chunk == "reduce":
            sizes, split, rank = inner
            any4 = ", ".join(["!transform.any_op"] * 4)
            if split:  # partial results in `split` lanes, a parallel loop inside the reduction
                lines.append(f"{h}i, {h}z, {h}s, {h}c = transform.structured.split_reduction "
                             f"{h} {{split_factor = {split}, insert_split_dimension = "
                             f"{rank - 1}, inner_parallel}} : "
                             f"(!transform.any_op) -> ({any4})")
                h = f"{h}s"
                sizes = sizes and [*sizes, 0]
            if sizes:
                lines.append(f"{h}t, {h}f = transform.structured.tile_using_forall {h} "
                             f"tile_sizes {sizes} : (!transform.any_op) -> "
                             "(!transform.any_op, !transform.any_op)")
                h = f"{h}t"
            if split:  # the lanes as one vector per step (the split added a loop)
                tiles = [1] * rank + [split]
                loops = ", ".join(["!transform.any_op"] * (rank + 1))
                lines.append(f"{h}v, {h}l:{rank + 1} = transform.structured.tile_using_for {h} "
                             f"tile_sizes {tiles} : (!transform.any_op) -> "
                             f"(!transform.any_op, {loops})")
                lines.append(f"transform.structured.vectorize {h}v : !transform.any_op")
            continue
        if chunk:
            sizes = [chunk] + [0] * (len(inner) - 1)
            lines.append(f"{h}t, {h}f = transform.structured.tile_using_forall {h} "
                         f"tile_sizes {sizes} : (!transform.any_op) -> "
                         "(!transform.any_op, !transform.any_op)")
            h = f"{h}t"
        loops = ", ".join(["!transform.any_op"] * len(inner))
        lines.append(f"{h}v, {h}l:{len(inner)} = transform.structured.tile_using_for {h} "
                     f"tile_sizes {inner} : (!transform.any_op) -> (!transform.any_op, {loops})")
        lines.append(f"transform.structured.vectorize {h}v : !transform.any_op")
    if later:
        # the peeled main tiles become static shapes only after canonicalization: vectorised
        # then without masks (a masked transfer_write whose tile folds to a static shape aborts
        # vector.mask's folder, LLVM 22)
        lines += ["%funcs0 = transform.structured.match ops{[\"func.func\"]} in %root "
                  ": (!transform.any_op) -> !transform.any_op",
                  "transform.apply_patterns to %funcs0 { transform.apply_patterns.canonicalization"
                  " } : !transform.any_op", *later,
                  # vector.mask regions hold one op: lowered before the transfer patterns
                  "transform.apply_patterns to %funcs0 { "
                  "transform.apply_patterns.vector.lower_masked_transfers } : !transform.any_op"]
    body = "\n    ".join(lines)
    return f"""
module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}}) {{
    {body}
    %funcs = transform.structured.match ops{{["func.func"]}} in %root
      : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {{
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.canonicalization
    }} : !transform.any_op
    transform.yield
  }}
}}"""


def _dynamic_script(tag, plan) -> tuple[list[str], list[str]]:
    """Script lines of a dynamic op: threads, tiles, peeling of the innermost loop
    (first); vectorisation of the tagged main and remainder tiles (second, after a
    canonicalization)."""
    rank, masked, lanes = plan
    h, any_op = f"%op{tag}", "!transform.any_op"
    for_op, param = '!transform.op<"scf.for">', "!transform.param<i64>"
    first = [f"{h} = transform.structured.match attributes {{{_TAG} = {tag} : i64}} in %root "
             f": ({any_op}) -> {any_op}"]
    inner = [1] * (rank - 1) + [lanes]
    zeros = ", 0" * (rank - 1)
    loops = ", ".join([any_op] * rank)
    first += [
        f"{h}s = transform.structured.match attributes {{{_SIZE_TAG} = {tag} : i64}} in %root "
        f": ({any_op}) -> {any_op}",
        f"{h}t, {h}f = transform.structured.tile_using_forall {h} tile_sizes [{h}s{zeros}] "
        f": ({any_op}, {any_op}) -> ({any_op}, {any_op})",
        f"{h}v, {h}l:{rank} = transform.structured.tile_using_for {h}t tile_sizes {inner} "
        f": ({any_op}) -> ({any_op}, {loops})",
        f"{h}p = transform.param.constant {tag} : i64 -> {param}",
        f"{h}c = transform.cast {h}l#{rank - 1} : {any_op} to {for_op}",
        f"{h}m, {h}r = transform.loop.peel {h}c : ({for_op}) -> ({any_op}, {any_op})",
        f"{h}g = transform.structured.match ops{{[\"linalg.generic\"]}} in {h}m "
        f": ({any_op}) -> {any_op}",
        f"transform.annotate {h}g \"{_MAIN_TAG}\" = {h}p : {any_op}, {param}",
    ]
    second = [
        f"{h}vm = transform.structured.match attributes {{{_MAIN_TAG} = {tag} : i64}} in "
        f"%root : ({any_op}) -> {any_op}",
        f"transform.structured.vectorize {h}vm : {any_op}",
    ]
    if masked and DYN_MASKED:
        first += [
            f"{h}rg = transform.structured.match ops{{[\"linalg.generic\"]}} in {h}r "
            f": ({any_op}) -> {any_op}",
            f"transform.annotate {h}rg \"{_REST_TAG}\" = {h}p : {any_op}, {param}",
        ]
        second += [
            f"{h}vr = transform.structured.match attributes {{{_REST_TAG} = {tag} : i64}} in "
            f"%root : ({any_op}) -> {any_op}",
            f"transform.structured.vectorize {h}vr vector_sizes {inner} : {any_op}",
        ]
    return first, second


def _apply(module, plans) -> None:
    with module.context, ir.Location.unknown():
        script = ir.Module.parse(_script(plans))
        interpreter.apply_named_sequence(module.operation, script.body.operations[0], script)
        for fn in functions(module):
            fn.operation.walk(_untag)
        if any(chunk == "dyn" for _, chunk, _ in plans):
            for fn in functions(module):
                fn.operation.walk(_zero_padding)


def _zero_padding(op):
    """Masked-off lanes of a masked read hold zero instead of poison: the math approximations
    branch on a reduction over all lanes (sin/cos: any huge argument?), and a branch on poison
    is undefined behaviour."""
    if op.name == "vector.transfer_read":
        read = op.opview
        pad = read.padding
        if (read.mask is not None and isinstance(pad, ir.OpResult)
                and pad.owner.operation.name == "ub.poison"):
            with ir.InsertionPoint(op):
                zero = arith.constant(pad.type, _zero_attr(pad.type))
            op.operands[1 + len(read.indices)] = zero
    return ir.WalkResult.ADVANCE


def _zero_attr(t):
    if isinstance(t, ir.IntegerType):
        return ir.IntegerAttr.get(t, 0)
    return ir.FloatAttr.get(t, 0.0)


def _untag(op):
    for name in (_TAG, _SIZE_TAG, _MAIN_TAG, _REST_TAG):
        if name in op.attributes:
            del op.attributes[name]
    return ir.WalkResult.ADVANCE


# ---- after bufferization: threads ----

ASYNC = ("func.func(scf-forall-to-parallel),"
         "async-parallel-for{async-dispatch=true num-workers=-1 min-task-size=1},"
         "async-to-async-runtime,async-runtime-ref-counting,async-runtime-ref-counting-opt,"
         "convert-async-to-llvm")


def cpu_parallel(module) -> None:
    """Lower scf.forall chunks to tasks of mxir's pool (runtime/pool.py; passes/pool_tasks.py
    outlines them) where the host has it, else (and for any the outliner leaves) to the async
    runtime's thread pool; first, results of dynamic shape are computed in their out-params
    (`_write_in_place`)."""
    from .registry import run_upstream

    for fn in functions(module):
        _write_in_place(fn)

    def foralls() -> list:
        found = []

        def visit(op):
            if op.name == "scf.forall":
                found.append(op)
                return ir.WalkResult.SKIP  # a nested one goes with its loop
            return ir.WalkResult.ADVANCE

        for fn in functions(module):
            fn.operation.walk(visit, ir.WalkOrder.PRE_ORDER)
        return found

    if pool.supported():  # mxir's spinning pool (runtime/pool.py), where the host has it
        declared: set[str] = set()
        for op in foralls():
            outline_forall(module, op, declared)
    if foralls():
        run_upstream(module, ASYNC)


def _write_in_place(fn) -> None:
    """`%a = memref.alloc(dims)` ... `memref.copy %a, %out` `memref.dealloc %a` -> compute in
    %out. buffer-results-to-out-params hoists only static allocs into the out-param; a result
    of dynamic shape would be computed in a fresh buffer (page faults) and copied: on W3 16M f32
    that is 30 ms of a 40 ms call. %out is a caller-allocated output of the result's shape
    (the calling convention), used only by this copy; the alloc is neither read nor written
    after it."""
    if not fn.regions[0].blocks:
        return
    block = fn.regions[0].blocks[0]
    ops = list(block.operations)
    position = {op.operation: i for i, op in enumerate(ops)}
    args = list(block.arguments)
    done = []
    for i, op in enumerate(ops):
        if op.operation.name != "memref.copy":
            continue
        src, dst = op.operation.operands
        if not isinstance(dst, ir.BlockArgument) or dst.owner != block:
            continue
        alloc = src.owner
        if (isinstance(src, ir.BlockArgument) or alloc.operation.name != "memref.alloc"
                or alloc.operation not in position or src.type != dst.type):
            continue
        if sum(1 for _ in dst.uses) != 1:
            continue
        later = [_top(u.owner, block) for u in src.uses]
        if any(t is None for t in later):
            continue
        after = [ops[position[t]] for t in later if position[t] > i]
        if any(o.operation.name != "memref.dealloc" for o in after):
            continue
        done.append((alloc, op, after, args.index(dst)))
    for alloc, copy, deallocs, k in done:
        copy.operation.erase()
        for d in deallocs:
            d.operation.erase()
        alloc.results[0].replace_all_uses_with(args[k])
        alloc.operation.erase()


def dynamic_copies(module) -> None:
    """memref.copy of dynamic shape -> linalg.copy, which convert-linalg-to-loops makes loops
    that LLVM vectorises. finalize-memref-to-llvm turns only copies of static contiguous
    shape into memcpy; any other becomes a call of the runtime's `memrefCopy`, which copies
    element by element (~2.5 ns an element: a KV cache's concatenate took 34 us for 64 KB)."""
    from mlir.dialects import linalg

    copies = []

    def visit(op):
        if op.operation.name == "memref.copy":
            copies.append(op.operation)
        return ir.WalkResult.ADVANCE

    for fn in functions(module):
        fn.operation.walk(visit)
    for op in copies:
        src, dst = op.operands
        types = [ir.MemRefType(v.type) for v in (src, dst)]
        if all(t.has_static_shape for t in types) or types[0].rank == 0:
            continue
        with ir.InsertionPoint(op), op.location:
            linalg.copy(src, outs=[dst])
        op.erase()


def _top(op, block):
    """The op of `block` that contains `op` (None if none)."""
    op = op.operation if hasattr(op, "operation") else op
    while op is not None:
        parent = op.parent
        if parent is None:
            return None
        if op.block == block:
            return op
        op = parent.operation if hasattr(parent, "operation") else parent
    return None


# ---- scalar loops: hints for LLVM ----

_NO_VECTORIZE = "#llvm.loop_annotation<vectorize = <disable = true>, interleave = <count = 1>>"


def loop_hints(module) -> None:
    """Loops whose body branches or calls (a scalar sin/cos with its Payne-Hanek branch) are
    not loop-vectorized or interleaved by LLVM. Its VPlan uniformity query
    (`vputils::isUniformAcrossVFsAndUFs`, LLVM 22.1.8) recurses through every path of the
    body's expression DAG: three chained sin in a reduction's body took 12 s to JIT, and each
    more one multiplies it. Our own codegen vectorizes the elementwise loops before this; these
    leftovers gain little from if-converted vectors of the rarely taken branch."""
    hint = None

    def visit(op):
        nonlocal hint
        if op.operation.name == "scf.for" and _branches(op):
            if hint is None:
                hint = ir.Attribute.parse(_NO_VECTORIZE)
            op.attributes["llvm.loop_annotation"] = hint
        return ir.WalkResult.ADVANCE

    for fn in functions(module):
        fn.operation.walk(visit)
    _minmax_intrinsics(module)


def _minmax_intrinsics(module) -> None:
    """A max/min reduction left to LLVM's loops (dynamic rows, which the static 16-lane split
    cannot take) keeps its combiner as `llvm.intr.maximum`/`minimum`: arith-expand would make
    it the compare-and-select chain that LLVM's vectoriser does not recognise, so every eager
    `mx.max` over rows ran one element a step. The intrinsic is exact and associative (NaN
    wins, -0 < +0), and LLVM reduces it in vector lanes."""
    marked = []

    def visit(op):
        if _EXACT_MINMAX in op.attributes:
            marked.append(op.operation)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    for op in marked:
        make = llvm.intr_maximum if op.name == "arith.maximumf" else llvm.intr_minimum
        with ir.InsertionPoint(op), op.location:
            op.results[0].replace_all_uses_with(make(*op.operands))
        op.erase()


def _branches(loop) -> bool:
    """Whether the loop's body branches or calls (our math functions, which LLVM inlines with
    their branches)."""
    found = []

    def visit(op):
        if op.operation.name in ("scf.if", "func.call"):
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    for op in loop.regions[0].blocks[0].operations:
        op.operation.walk(visit)
        if found:
            return True
    return False


def loop_hints_to_llvm(module) -> None:
    """convert-scf-to-cf puts the scf.for's hint on the back edge as the discardable
    `llvm.loop_annotation`, and convert-cf-to-llvm keeps it so: make it the `llvm.br`'s own
    `loop_annotation`, which reaches LLVM IR as `!llvm.loop` metadata."""
    def visit(op):
        if op.operation.name == "llvm.br" and "llvm.loop_annotation" in op.attributes:
            op.attributes["loop_annotation"] = op.attributes["llvm.loop_annotation"]
            del op.attributes["llvm.loop_annotation"]
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)


# ---- 4. vectorisable reductions ----
_COMBINERS = ("arith.addf", "arith.mulf")
_UNVECTORISED = ("arith.maximumf", "arith.minimumf")  # combiners split into lanes instead
_SPLIT = 16  # lanes of a split max/min reduction
_EXACT_MINMAX = "mx.exact_minmax"  # a max/min combiner that loop_hints makes LLVM's intrinsic


def _combiner(op):
    """The body op of a reduction that takes the accumulator and feeds the yield (an
    ir.Operation; the yield itself when there is none)."""
    body = op.regions[0].blocks[0]
    acc = body.arguments[len(body.arguments) - 1]
    last = body.operations[len(body.operations) - 1]
    owner = last.operands[0].owner if len(last.operands) else None
    if isinstance(owner, ir.OpView) and acc in list(owner.operation.operands):
        return owner.operation
    return last.operation


def _reassociate_reductions(module) -> None:
    """A float sum or product whose innermost loop reduces (`sum(a)`, `sum(a, axis=-1)`) is
    a serial chain of adds, one per element, as linalg's loops write it: LLVM may not reorder
    it. Marking the combiner (the body op that takes the accumulator and feeds the yield)
    `reassoc` lets LLVM's vectoriser keep partial sums in vector lanes, as NumPy's pairwise
    sum and MLX's SIMD reductions do (measured: sum of 1024x1024 f32 0.55 ms, NumPy 0.18 ms;
    a third of W6's gap to NumPy). Only the combiner: the rest of the body keeps its order."""
    reassoc = ir.Attribute.parse("#arith.fastmath<reassoc>")
    for fn in functions(module):
        for op in fn.regions[0].blocks[0].operations:
            op = op.operation
            if op.name != "linalg.generic" or len(op.results) != 1:
                continue
            iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
            if not iters or "reduction" not in iters[-1]:
                continue
            combiner = _combiner(op)
            if combiner.name in _COMBINERS:
                combiner.attributes["fastmath"] = reassoc
            elif combiner.name in _UNVECTORISED:
                combiner.attributes[_EXACT_MINMAX] = ir.UnitAttr.get()
