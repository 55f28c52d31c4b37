"""cpu-blas-matmul: after bufferization, each (batched) matmul on f32 or f64 memrefs becomes a
call to an OpenBLAS CBLAS gemm: NumPy's own copy when its wheel bundles one, else the pinned
`scipy-openblas32` wheel. The module records the library in `mxir.shared_libs`, which the CPU
runtime loads into the JIT. Matched by loop structure, so `linalg.matmul`,
`linalg.batch_matmul` and the generic that fusing reshapes into a batch_matmul leaves (several
batch dims) are all recognised; so are contractions whose rows, columns or reduction span
several contiguous dims (a linear layer on (batch, tokens, features), split into or merged from
heads), as a matmul on collapsed views (`_grouped_as_matmul`).

Why BLAS and not our own tiled codegen: the best transform-dialect recipe reached 85 GF/s on one
thread against OpenBLAS's 158 (TOOLCHAIN.md section 4); DESIGN.md "matmul" has the numbers.

Transposed operands arrive as `indexing_maps` of the linalg op (the matmul lowering folds a
transpose of the last two axes into them) and become BLAS transpose flags, so the transposes that
the vjp of matmul creates are never materialised. Anything else (other element types, broadcast
maps, non-unit inner strides, empty or huge sizes) keeps the linalg loops.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import os
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, func, linalg, llvm, memref, scf
from mxir.schema import pool

from . import pool_tasks
from .ir_utils import call_external

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
SHARED_LIBS_ATTR = "mxir.shared_libs"  # module attribute: libraries the JIT must load
# module attribute: [library, its set-threads symbol, its get-threads symbol or ""] entries that
# the runtime sets to one thread (runtime/cpu.py)
SERIAL_LIBS_ATTR = "mxir.serial_libs"
# cpu-blas-matmul-split: a gemm of at least SPLIT_MIN multiply-adds is cut into PANELS panels
# (at least PANEL_MIN rows or columns each) that mxir's thread pool runs, each one gemm call.
# One panel per core: the caller runs one and the pool's workers the others, so that more
# panels oversubscribe the cores (W2 on 2 idle cores: 2 panels 2.1 ms, 3 panels 2.6 ms).
# From 2^20: W2's 256x10x512 product took 44 µs in its step on one thread, 20 µs as two
# panels on the spinning pool (a task costs ~1 µs), its 512x10x256 one 34 -> 29 µs.
SPLIT_MIN = 1 << 20
PANELS = pool.cores()
PANEL_MIN = 32


@dataclass(frozen=True)
class BlasTarget:
    """A CBLAS in a shared library: its path, gemm symbols per element type, the strided
    batched gemm symbols (None: loop over gemm), and the width of its integers."""

    library: str
    gemm: dict
    batched: dict | None
    int_bits: int
    set_threads: str | None = None  # the library's openblas_set_num_threads
    get_threads: str | None = None  # and its getter, where it can say its count (not MKL's)


def _numpy_openblas() -> BlasTarget | None:
    """NumPy's own OpenBLAS (ILP64, `scipy_` prefix, `64_` suffix; NumPy >= 2 wheels on Linux
    and Intel macOS). Preferred: one OpenBLAS thread pool in the process. Two pools on two
    cores each spin-wait after a call and slow the other's next gemm (measured, DESIGN.md)."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = spec.submodule_search_locations[0]
    names = {"f32": "scipy_cblas_sgemm64_", "f64": "scipy_cblas_dgemm64_"}
    for folder in (os.path.join(os.path.dirname(pkg), "numpy.libs"), os.path.join(pkg, ".dylibs")):
        for lib in _libraries(folder, "libscipy_openblas64_"):
            if _exports(lib, names.values()):
                return BlasTarget(lib, names, None, 64)
    return None


def _wheel_openblas() -> BlasTarget | None:
    """The `scipy-openblas32` wheel (LP64, `scipy_` prefix): a pinned dependency, so there is
    a BLAS where NumPy has none of its own (macOS arm64 wheels use Accelerate)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return None
    names = {"f32": "scipy_cblas_sgemm", "f64": "scipy_cblas_dgemm"}
    batched = {"f32": "scipy_cblas_sgemm_batch_strided", "f64": "scipy_cblas_dgemm_batch_strided"}
    for lib in _libraries(os.path.join(spec.submodule_search_locations[0], "lib"),
                          "libscipy_openblas"):
        if _exports(lib, names.values()):
            return BlasTarget(lib, names, batched if _exports(lib, batched.values()) else None,
                              32, "scipy_openblas_set_num_threads",
                              "scipy_openblas_get_num_threads")
    return None


def _mkl() -> BlasTarget | None:
    """Intel's MKL from the `mkl` wheel (the `mkl` extra; x86-64), through its single dynamic
    library: 10-14% faster than OpenBLAS on one thread for W2's and W6's gemms on a Sapphire
    Rapids host (DESIGN.md "matmul (CPU)"). Only as the split gemms' serial BLAS: its
    `MKL_Set_Threading_Layer(1)` (the runtime's one-thread call) selects the sequential layer."""
    import importlib.metadata as md

    if os.environ.get("MKL_INTERFACE_LAYER", "").upper().startswith("ILP64"):
        return None  # 64-bit integers in its cblas: not the LP64 calls generated here
    try:
        files = md.files("mkl") or []
        dist = md.distribution("mkl")
    except md.PackageNotFoundError:
        return None
    names = {"f32": "cblas_sgemm", "f64": "cblas_dgemm"}
    for f in files:
        if os.path.basename(str(f)).startswith("libmkl_rt.so"):
            lib = os.path.realpath(dist.locate_file(f))
            if _exports(lib, [*names.values(), "MKL_Set_Threading_Layer"]):
                return BlasTarget(lib, names, None, 32, "MKL_Set_Threading_Layer")
    return None


def _libraries(folder: str, prefix: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if n.startswith(prefix) and n.endswith((".so", ".dylib"))]


def _exports(lib: str, symbols) -> bool:
    try:
        handle = ctypes.CDLL(lib, mode=os.RTLD_LOCAL)
    except OSError:
        return False
    return all(hasattr(handle, s) for s in symbols)


@functools.cache
def blas_target() -> BlasTarget | None:
    """The BLAS that generated code calls when gemms are not split (the eager kernels): the
    first found of NumPy's and the wheel's; MXIR_BLAS=numpy|wheel picks one, none calls no
    BLAS, mkl picks only the split gemms' library. The wheel's is also the split gemms' (where
    NumPy has no OpenBLAS of its own, macOS arm64): the runtime sets it to one thread only
    while a program that splits runs (runtime/cpu.py)."""
    choice = os.environ.get("MXIR_BLAS", "")
    finders = {"numpy": [_numpy_openblas], "wheel": [_wheel_openblas], "none": []}.get(
        choice, [_numpy_openblas, _wheel_openblas])
    for find in finders:
        target = find()
        if target is not None:
            return target
    return None


@functools.cache
def serial_blas_target() -> BlasTarget | None:
    """The BLAS for cpu-blas-matmul-split, which the runtime sets to one thread: MKL where the
    `mkl` extra is installed, else the wheel's own OpenBLAS (NumPy's library is NumPy's: its
    thread count stays the user's); MXIR_BLAS=mkl|wheel picks one; None when there is no such
    library or MXIR_BLAS picks another."""
    choice = os.environ.get("MXIR_BLAS", "")
    finders = {"": [_mkl, _wheel_openblas], "mkl": [_mkl], "wheel": [_wheel_openblas]}
    for find in finders.get(choice, []):
        target = find()
        if target is not None and _exports(target.library, [target.set_threads]):
            return target
    return None


def blas_matmul(module, split: bool = False) -> None:
    """The pass: rewrite every matmul it can into a CBLAS call (a no-op without a BLAS), and
    record the library in the module's `mxir.shared_libs` for the JIT. With `split`
    (cpu-blas-matmul-split), big gemms run in panels on mxir's threads, calling a
    single-threaded BLAS: OpenBLAS's own threads meet at barriers several times per call, and
    on a shared machine one of them descheduled stalls the others a whole time slice (W2, 2-core
    box with one core busy: a 256x784x512 gemm in 0.6 ms or 5-24 ms from call to call; NumPy's
    the same). Independent panels from a shared queue degrade to one core's speed instead."""
    target = blas_target()
    if target is None:
        return
    serial = serial_blas_target() if split else None
    split, target = (True, serial) if serial is not None else (False, target)
    declared: set[str] = set()
    rewritten = False
    for fn in list(module.body.operations):
        if fn.operation.name != "func.func" or not fn.regions[0].blocks:
            continue
        for block in fn.regions[0].blocks:
            for op in list(block.operations):
                if op.operation.name in _CONTRACTIONS:
                    op = _grouped_as_matmul(op) or op
                    rewritten |= _rewrite(module, op, target, declared, split)
    if rewritten:
        attrs = module.operation.attributes
        libs = [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs[SHARED_LIBS_ATTR])] \
            if SHARED_LIBS_ATTR in attrs else []
        if target.library not in libs:
            libs.append(target.library)
        attrs[SHARED_LIBS_ATTR] = ir.ArrayAttr.get([ir.StringAttr.get(x) for x in libs])
        if split:
            entry = ir.ArrayAttr.get([ir.StringAttr.get(x) for x in (
                target.library, target.set_threads, target.get_threads or "")])
            attrs[SERIAL_LIBS_ATTR] = ir.ArrayAttr.get([entry])


# implicit loop dims of each operand, and the reduction loop, of the named ops
_NAMED = {"linalg.matmul": ([(0, 2), (2, 1), (0, 1)], 2),
          "linalg.batch_matmul": ([(0, 1, 3), (0, 3, 2), (0, 1, 2)], 3)}
_CONTRACTIONS = (*_NAMED, "linalg.generic")


def _dims_of(map_attr):
    """The loop dims a map reads, or None unless it is a plain list of dims."""
    exprs = ir.AffineMapAttr(map_attr).value.results
    if not all(isinstance(e, ir.AffineDimExpr) for e in exprs):
        return None
    return tuple(e.position for e in exprs)


def _contraction(op):
    """(dims of A, B, C, reduction dims) of a matmul-like op: a named matmul, or a generic
    whose body is `out + a * b` (what fusing reshapes into a matmul leaves); None otherwise."""
    name = op.operation.name
    if len(op.operands) != 3:
        return None
    if name in _NAMED:
        dims, k = _NAMED[name]
        reductions = (k,)
    else:
        kinds = [str(t) for t in ir.ArrayAttr(op.attributes["iterator_types"])]
        reductions = tuple(i for i, t in enumerate(kinds) if "reduction" in t)
        if not reductions or not _is_multiply_add(op):
            return None
        dims = None
    if "indexing_maps" in op.attributes:
        dims = [_dims_of(m) for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if dims is None or None in dims:
        return None
    return (*dims, reductions)


def _loops(op):
    """(dims of A, B, C, reduction dim) of a matmul-like op with one reduction, or None."""
    found = _contraction(op)
    if found is None or len(found[3]) != 1:
        return None
    return (*found[:3], found[3][0])


def _grouped_as_matmul(op):
    """A contraction whose rows, columns or reduction span several loop dims, as a
    linalg.matmul on collapsed views of its operands (then a gemm like any other), or None.
    A linear layer on (batch, tokens, features) has rows (batch, tokens); one whose result is
    split into heads has columns (heads, head dims), one that merges heads reduces over them:
    W10's were scalar loops, the alias checks of their accumulator failing (its step 4.9 ->
    4.0 ms). Each group must be contiguous in every operand that has it."""
    found = _contraction(op)
    values = list(op.operands)
    if not found or not all(isinstance(v.type, ir.MemRefType) for v in values) \
            or values[2] in (values[0], values[1]):  # as _rewrite: no gemm in place
        return None
    types = [ir.MemRefType(v.type) for v in values]
    if not all(t.has_static_shape for t in types):
        return None
    a_dims, b_dims, c_dims, ks = found
    rows = tuple(d for d in c_dims if d in a_dims and d not in b_dims)
    cols = tuple(d for d in c_dims if d in b_dims and d not in a_dims)
    if not rows or not cols or c_dims != rows + cols or len(rows) + len(cols) + len(ks) == 3:
        return None
    trans_a = {rows + ks: False, ks + rows: True}.get(a_dims)
    trans_b = {ks + cols: False, cols + ks: True}.get(b_dims)
    if trans_a is None or trans_b is None or not all(_layout(t) for t in types):
        return None  # (each operand is a matrix or more here; a gemm needs static strides)

    def groups(first, second):
        return [list(range(first)), list(range(first, first + second))]

    spans = [groups(len(ks), len(rows)) if trans_a else groups(len(rows), len(ks)),
             groups(len(cols), len(ks)) if trans_b else groups(len(ks), len(cols)),
             groups(len(rows), len(cols))]
    collapsed_types = []
    for t, span in zip(types, spans):
        strides, offset = t.get_strides_and_offset()
        shape = list(t.shape)
        if any(strides[p] != strides[p + 1] * shape[p + 1] for g in span for p in g[:-1]):
            return None  # a group that is not contiguous
        sizes = [math.prod(shape[p] for p in g) for g in span]
        if ir.AffineMapAttr(t.layout).value == ir.AffineMap.get_identity(t.rank):
            collapsed_types.append(ir.MemRefType.get(sizes, t.element_type))
        else:
            layout = ir.StridedLayoutAttr.get(offset, [strides[g[-1]] for g in span])
            collapsed_types.append(ir.MemRefType.get(sizes, t.element_type, layout))
    prev = _previous(op)
    fill = prev if prev is not None and prev.operation.name == "linalg.fill" \
        and prev.operands[1] == values[2] else None
    with ir.InsertionPoint(fill or op), op.location:
        views = [memref.collapse_shape(t, v, ir.ArrayAttr.get([
            ir.ArrayAttr.get([ir.IntegerAttr.get(ir.IntegerType.get_signless(64), p)
                              for p in g]) for g in span]))
                 for t, v, span in zip(collapsed_types, values, spans)]
    with ir.InsertionPoint(op), op.location:
        m, n, kk = (ir.AffineDimExpr.get(i) for i in range(3))

        def amap(*exprs):
            return ir.AffineMap.get(3, 0, list(exprs))

        maps = [amap(kk, m) if trans_a else amap(m, kk), amap(n, kk) if trans_b else amap(kk, n),
                amap(m, n)]
        new = linalg.matmul(views[0], views[1], outs=[views[2]], indexing_maps=maps)
    if fill is not None:
        fill.operands[1] = views[2]
    op.erase()
    return new.owner if isinstance(new, ir.Value) else new


def _is_multiply_add(op) -> bool:
    block = op.regions[0].blocks[0]
    a, b, c = block.arguments
    body = list(block.operations)
    if [o.operation.name for o in body] != ["arith.mulf", "arith.addf", "linalg.yield"]:
        return False
    mul, add, yld = body
    return ({mul.operands[0], mul.operands[1]} == {a, b}
            and {add.operands[0], add.operands[1]} == {c, mul.result}
            and yld.operands[0] == add.result)


def _gemm_form(a_dims, b_dims, c_dims, k):
    """(batch dims, m, n, trans_a, trans_b) when the op is a (batched) row-major gemm."""
    if len(c_dims) < 2 or k in c_dims or len(set(c_dims)) != len(c_dims):
        return None
    *batch, m, n = c_dims
    batch = tuple(batch)
    if a_dims not in (batch + (m, k), batch + (k, m)):
        return None
    if b_dims not in (batch + (k, n), batch + (n, k)):
        return None
    return batch, m, n, a_dims[-1] == m, b_dims[-1] == k


def _layout(t: ir.MemRefType):
    """(strides, offset) when static with a unit innermost stride, else None."""
    strides, offset = t.get_strides_and_offset()
    if strides[-1] != 1 or any(t.is_dynamic_stride_or_offset(s) for s in (*strides, offset)):
        return None
    return strides, offset


def _batch_stride(shape, strides, nbatch):
    """One stride walking the leading `nbatch` dims in order, or None if they don't nest."""
    dims = [(size, stride) for size, stride in zip(shape[:nbatch], strides[:nbatch])
            if size != 1]
    for (_, outer), (size, inner) in zip(dims, dims[1:]):
        if outer != inner * size:
            return None
    return dims[-1][1] if dims else 0


def _rewrite(module, op, target: BlasTarget, declared: set[str], split: bool) -> bool:
    values = list(op.operands)
    if len(values) != 3 or not all(isinstance(v.type, ir.MemRefType) for v in values) \
            or values[2] in (values[0], values[1]):  # gemm can't update an operand in place
        return False
    types = [ir.MemRefType(v.type) for v in values]
    dtype = str(types[0].element_type)
    static = all(t.has_static_shape for t in types)
    if dtype not in target.gemm or any(str(t.element_type) != dtype for t in types) \
            or not (static or _row_major_matrices(types)):
        return False
    loops = _loops(op)
    form = loops and _gemm_form(*loops)
    if not form:
        return False
    if not static:
        _rewrite_dynamic(module, op, target, declared, values, form, dtype)
        return True
    layouts = [_layout(t) for t in types]
    if None in layouts:
        return False
    batch_dims, _, _, trans_a, trans_b = form
    nb = len(batch_dims)
    m, n = types[2].shape[-2:]
    k = types[0].shape[-2] if trans_a else types[0].shape[-1]
    batch = math.prod(types[2].shape[:nb])
    bstrides = [_batch_stride(t.shape, lay[0], nb) for t, lay in zip(types, layouts)]
    strides = [s for lay in layouts for s in lay[0]]
    if None in bstrides or 0 in (m, n, k, batch) \
            or max(m, n, k, batch, *strides) >= 2 ** (target.int_bits - 1):
        return False  # empty products stay loops, as do sizes past the BLAS's integers

    zero_c = _erase_zero_fill(op, values[2])
    with ir.InsertionPoint(op), op.location:
        ity = ir.IntegerType.get_signless(target.int_bits)
        width = 4 if dtype == "f32" else 8

        def int_(v):
            return arith.constant(ity, v)

        bases = [_data_address(v, t, width) for v, t in zip(values, types)]
        lds = [int_(lay[0][-2]) for lay in layouts]
        head, beta = _gemm_head(dtype, trans_a, trans_b, int_(m), int_(n), int_(k), zero_c)
        if batch > 1 and target.batched is not None:
            ptrs = [_pointer(a) for a in bases]
            args = [*head, ptrs[0], lds[0], int_(bstrides[0]), ptrs[1], lds[1],
                    int_(bstrides[1]), beta, ptrs[2], lds[2], int_(bstrides[2]), int_(batch)]
            call_external(module, target.batched[dtype], args, declared)
        elif batch > 1:  # one gemm per matrix, as NumPy does
            index = ir.IndexType.get()
            loop = scf.ForOp(arith.constant(index, 0), arith.constant(index, batch),
                             arith.constant(index, 1))
            with ir.InsertionPoint(loop.body):
                i = loop.induction_variable
                ptrs = [_pointer(arith.addi(a, arith.muli(i, arith.constant(index, s * width))))
                        for a, s in zip(bases, bstrides)]
                call_external(module, target.gemm[dtype],
                      [*head, ptrs[0], lds[0], ptrs[1], lds[1], beta, ptrs[2], lds[2]], declared)
                scf.YieldOp([])
        elif split and PANELS > 1 and m * n * k >= SPLIT_MIN and max(m, n) >= 2 * PANEL_MIN:
            _panels(module, target.gemm[dtype], dtype, bases, [lay[0][-2] for lay in layouts],
                    (m, n, k), (trans_a, trans_b), zero_c, int_, declared)
        else:
            ptrs = [_pointer(a) for a in bases]
            call_external(module, target.gemm[dtype],
                  [*head, ptrs[0], lds[0], ptrs[1], lds[1], beta, ptrs[2], lds[2]], declared)
    op.erase()
    return True


def panels_of_rows(m: int, n: int) -> bool:
    """Whether a split m x n product runs in panels of rows (else of columns): see _panels."""
    return 2 * m >= n


def _panels(module, name: str, dtype: str, bases, lds, mnk, trans, zero_c: bool, int_,
            declared: set[str]) -> None:
    """C = op(A) op(B) as gemms on panels of C's rows, or of its columns when it is more than
    twice as wide as tall. A panel packs its part of one operand and all of the other, which
    alone would split the longer side, but a row panel is contiguous in A and C, and the
    parallel loops after a gemm split rows too, so each core reads back what it wrote. One
    thread's half, rows against columns, MKL (OpenBLAS): 256x512x784 (W2's forward) 573 vs 646
    µs (733 vs 703), 256x1024x256 414 vs 353 (485 vs 458), 1024x256x256 384 vs 399 (412 vs
    444), 1024^3 even; W2's step 50 µs faster with its forward gemm in rows. The panels run on
    mxir's spinning pool (runtime/pool.py) where the host has it, else as an scf.forall on the
    async runtime's."""
    m, n, k = mnk
    trans_a, trans_b = trans
    lda, ldb, ldc = lds
    rows = panels_of_rows(m, n)
    size = m if rows else n
    per = -(-size // max(2, min(PANELS, size // PANEL_MIN)))  # PANELS > 1 here
    # elements from one panel to the next: in A (rows) or B (columns), and in C
    step_in = (1 if trans_a else lda) if rows else (ldb if trans_b else 1)
    step_c = ldc if rows else 1
    width = 4 if dtype == "f32" else 8
    index = ir.IndexType.get()

    def panel(i, bases) -> None:  # the gemm of panel i, at the insertion point
        start = arith.muli(i, arith.constant(index, per))
        span = arith.minsi(arith.constant(index, per),
                           arith.subi(arith.constant(index, size), start))

        def moved(base, step):
            return _pointer(arith.addi(base, arith.muli(start, arith.constant(index,
                                                                              step * width))))

        a = moved(bases[0], step_in) if rows else _pointer(bases[0])
        b = _pointer(bases[1]) if rows else moved(bases[1], step_in)
        c = moved(bases[2], step_c)
        count = arith.index_cast(int_(0).type, span)
        head, beta = _gemm_head(dtype, trans_a, trans_b, count if rows else int_(m),
                                int_(n) if rows else count, int_(k), zero_c)
        call_external(module, name, [*head, a, int_(lda), b, int_(ldb), beta, c, int_(ldc)],
                      declared)

    panels = -(-size // per)
    if pool.supported():
        fn, entry, signature = pool_tasks.task_function(module, "_mxir_panel")
        with ir.InsertionPoint(entry):
            panel(entry.arguments[1], pool_tasks.load_values(entry, [b.type for b in bases]))
            func.ReturnOp([])
        pool_tasks.call_pool(module, fn, signature, bases, arith.constant(index, panels),
                             declared)
        return
    loop = scf.ForallOp([0], [panels], [1])
    with ir.InsertionPoint(loop.body):
        panel(loop.induction_variables[0], bases)
        scf.InParallelOp()


def _row_major_matrices(types) -> bool:
    """Dense row-major 2-D memrefs (a shapeless program's matrices have dynamic sizes)."""
    return all(t.rank == 2 and ir.AffineMapAttr(t.layout).value == ir.AffineMap.get_identity(2)
               for t in types)


def _rewrite_dynamic(module, op, target: BlasTarget, declared: set[str], values, form, dtype):
    """One gemm on row-major matrices whose sizes are read at run time (the leading dimension
    at least 1, as BLAS requires even for an empty matrix; k = 0 gives beta * C, zeros)."""
    _, _, _, trans_a, trans_b = form
    zero_c = _erase_zero_fill(op, values[2])
    with ir.InsertionPoint(op), op.location:
        ity = ir.IntegerType.get_signless(target.int_bits)
        index = ir.IndexType.get()

        def size(v, axis):
            return arith.index_cast(ity, memref.dim(v, arith.constant(index, axis)))

        one = arith.constant(ity, 1)
        lds = [arith.maxsi(size(v, 1), one) for v in values]
        ptrs = [_pointer(memref.extract_aligned_pointer_as_index(v)) for v in values]
        head, beta = _gemm_head(dtype, trans_a, trans_b, size(values[2], 0), size(values[2], 1),
                                size(values[0], 0 if trans_a else 1), zero_c)
        args = [*head, ptrs[0], lds[0], ptrs[1], lds[1], beta, ptrs[2], lds[2]]
        call_external(module, target.gemm[dtype], args, declared)
    op.erase()


def _erase_zero_fill(op, c) -> bool:
    """Whether a zero fill of C comes right before the product (erased: it becomes beta = 0)."""
    prev = _previous(op)
    if prev is not None and _zero_fill_of(prev, c):
        prev.erase()
        return True
    return False


def _gemm_head(dtype: str, trans_a: bool, trans_b: bool, m, n, k, zero_c: bool):
    """(the gemm arguments up to alpha, beta), emitted at the current insertion point."""
    fty = ir.F32Type.get() if dtype == "f32" else ir.F64Type.get()

    def enum(v):  # CBLAS enums are C ints whatever the BLAS integer width
        return arith.constant(ir.IntegerType.get_signless(32), v)

    head = [enum(_ROW_MAJOR), enum(_TRANS if trans_a else _NO_TRANS),
            enum(_TRANS if trans_b else _NO_TRANS), m, n, k, arith.constant(fty, 1.0)]
    return head, arith.constant(fty, 0.0 if zero_c else 1.0)


def _previous(op):
    block_ops = list(op.operation.block.operations)
    i = next(i for i, o in enumerate(block_ops) if o.operation == op.operation)
    return block_ops[i - 1] if i > 0 else None


def _zero_fill_of(op, target) -> bool:
    if op.operation.name != "linalg.fill" or op.operands[1] != target:
        return False
    value = op.operands[0].owner
    if not isinstance(value, ir.OpView) or value.operation.name != "arith.constant":
        return False
    attr = value.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and ir.FloatAttr(attr).value == 0.0


def _data_address(value, t: ir.MemRefType, width: int):
    """The first element's address as an index: the aligned base pointer plus the offset."""
    _, offset = t.get_strides_and_offset()
    base = memref.extract_aligned_pointer_as_index(value)
    if offset:
        base = arith.addi(base, arith.constant(ir.IndexType.get(), offset * width))
    return base


def _pointer(address):
    i64 = ir.IntegerType.get_signless(64)
    return llvm.inttoptr(llvm.PointerType.get(), arith.index_cast(i64, address))

