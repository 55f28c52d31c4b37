"""mx-cpu-codegen: linalg on tensors -> fused, tiled, vectorised (and for big tensors
multi-threaded) loops, before bufferization; mx-cpu-parallel: the async runtime lowering of the
threaded loops, after it.

Measured on W3 (sin x cos x + exp(-x^2), 16M f32, TOOLCHAIN §4): scalar loops with libm calls
177 ms; polynomials with MLIR vectorisation in tiles of 64: 13 ms; two threads: 6.6 ms. The
steps, in order:
1. Bounded elementwise fusion: upstream `linalg-fuse-elementwise-ops` clones the growing body
   at every step (quadratic: 10k ops in 38 s), so long chains are cut into groups of at most
   `FUSE_GROUP` ops by giving each group's last op a temporary second use.
2. Tiling + vectorisation (transform dialect) of elementwise generics whose static iteration
   space is large enough to pay for it (small programs stay cheap to compile): the innermost
   dimension in vectors of `_vector_width` lanes, the outermost split into `scf.forall`
   chunks when the op is big enough for threads.
3. mx-math-approx on what is left: math ops on vectors and scalars become calls to the
   polynomial approximations.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects.transform import interpreter

from .ir_utils import functions
from .math_approx import math_approx

FUSE_GROUP = 48  # ops per fused group
VECTOR_MIN = 1024  # elements: below this plain loops compile faster and run as fast
THREAD_MIN = 1 << 18  # elements: below this the async dispatch (~10s of µs) does not pay
# (W4, 1024x128 f32: 37 µs on one thread, 45-140 µs split in two on the busy 2-core box)
CHUNK = 1 << 16  # elements per threaded chunk, about
_TAG = "mx.cg"

_ELEMENTWISE_BODY = ("arith.", "math.")


def cpu_codegen(module) -> None:
    from .registry import run_upstream

    _fuse_bounded(module)
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
        size: dict = {}
        for op in fn.regions[0].blocks[0].operations:
            if op.operation.name != "linalg.generic":
                continue
            n = 1
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


def _key(op):
    return op  # ir.Operation hashes by identity of the underlying op


def _one_use(value) -> bool:
    uses = iter(value.uses)
    return next(uses, None) is not None and next(uses, None) is None


# ---- 2. tiling and vectorisation ----

def _plan(module) -> list[tuple]:
    """(tag, outer chunk or 0, inner tile sizes) per generic to vectorise; tags the ops."""
    plans = []
    for fn in functions(module):
        for op in fn.regions[0].blocks[0].operations:
            if op.operation.name != "linalg.generic":
                continue
            plan = _plan_elementwise(op.operation)
            if plan is None:
                continue
            tag = len(plans)
            op.operation.attributes[_TAG] = ir.IntegerAttr.get(
                ir.IntegerType.get_signless(64), tag)
            plans.append((tag, *plan))
    return plans


def _plan_elementwise(op):
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if not iters or any("parallel" not in it for it in iters):
        return None
    if len(op.results) != 1:
        return None
    shape = list(ir.RankedTensorType(op.results[0].type).shape)
    if any(d < 0 for d in shape):
        return None
    numel = 1
    for d in shape:
        numel *= d
    if numel < VECTOR_MIN:
        return None
    for body_op in op.regions[0].blocks[0].operations:
        name = body_op.operation.name
        if name != "linalg.yield" and not name.startswith(_ELEMENTWISE_BODY):
            return None
    width = _vector_width(shape[-1])
    if width is None:
        return None
    inner = [1] * (len(shape) - 1) + [width]
    chunk = _chunk(shape, width) if numel >= THREAD_MIN else 0
    return chunk, inner


def _vector_width(n: int):
    for w in (64, 32, 16, 8):
        if n % w == 0:
            return w
    return None


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
    lines = []
    for tag, chunk, inner in plans:
        h = f"%op{tag}"
        lines.append(f"{h} = transform.structured.match attributes {{{_TAG} = {tag} : i64}} in "
                     "%root : (!transform.any_op) -> !transform.any_op")
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


def _apply(module, plans) -> None:
    with module.context, ir.Location.unknown():
        script = ir.Module.parse(_script(plans))
        interpreter.apply_named_sequence(module.operation, script.body.operations[0], script)
        for fn in functions(module):
            fn.operation.walk(_untag)


def _untag(op):
    if _TAG in op.attributes:
        del op.attributes[_TAG]
    return ir.WalkResult.ADVANCE


# ---- after bufferization: threads ----

ASYNC = ("func.func(scf-forall-to-parallel),"
         "async-parallel-for{async-dispatch=true num-workers=-1 min-task-size=1},"
         "async-to-async-runtime,async-runtime-ref-counting,async-runtime-ref-counting-opt,"
         "convert-async-to-llvm")


def cpu_parallel(module) -> None:
    """Lower scf.forall chunks to the async runtime's thread pool (only when there are any)."""
    from .registry import run_upstream

    found = []

    def visit(op):
        if op.operation.name == "scf.forall":
            found.append(1)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    for fn in functions(module):
        fn.operation.walk(visit)
    if found:
        run_upstream(module, ASYNC)
