"""Dense factorizations through LAPACK, as MLX runs `mx.linalg` (on the CPU only).

Each op works on a batch of matrices (..., M, N) of float32 or float64. Its lowering copies the
operand into a fresh buffer and calls LAPACKE routines (row-major) on each matrix of the batch;
the calls name `mxir_lapack_<routine>` with 64-bit integers, and the `cpu-lapack` pass
(passes/lapack.py) gives those functions bodies that call the OpenBLAS that the matmul uses.
A routine that reports failure (a singular matrix, one not positive definite) makes the whole
result NaN instead of garbage. The GPU pipeline refuses these calls with the op's location
(MLX refuses linalg on a GPU stream too).

The transform rules are the published formulas written as `mx` ops (each op only reads the
triangle that LAPACK reads, and its derivatives say so).
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, bufferization, func, linalg, llvm, memref, scf, tensor

from .core import BOOL, ConstValue, MxError, TensorType, element_type_to_ir, to_storage
from .elementwise import conj
from .linalg_ops import swap_last
from .lowering import PARALLEL, Scalar
from .op import Op, register
from .shape import move_axis_to_front, reassociation_attr

LAPACK_PREFIX = "mxir_lapack_"  # functions the cpu-lapack pass defines
_ROW_MAJOR = 101


# ---------------------------------------------------------------------------------------------
# lowering helpers: buffers, pointers, calls
def _memref(shape, dtype: str, strided: bool = False):
    et = element_type_to_ir(dtype, storage=True)
    if not strided:
        return ir.MemRefType.get(list(shape), et)
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    layout = ir.StridedLayoutAttr.get(dyn, [dyn] * len(shape))
    return ir.MemRefType.get(list(shape), et, layout=layout)


def _copy_to_buffer(x, t: TensorType):
    """A fresh buffer holding the values of tensor `x` (LAPACK overwrites its input)."""
    buf = memref.alloc(_memref(t.shape, t.dtype), [], [])
    memref.copy(bufferization.to_buffer(_memref(t.shape, t.dtype, True), x, read_only=True), buf)
    return buf


def _alloc(shape, dtype: str):
    return memref.alloc(_memref(shape, dtype), [], [])


def _to_tensor(buf, shape, dtype: str):
    return bufferization.to_tensor(TensorType(tuple(shape), dtype).to_ir(storage=True), buf,
                                   restrict=True, writable=True)


def _index(v: int):
    return arith.constant(ir.IndexType.get(), v)


def _i64(v):
    return arith.constant(ir.IntegerType.get_signless(64), int(v))


def _char(c: str):
    return arith.constant(ir.IntegerType.get_signless(8), ord(c))


def _pointer(buf, offset_elems, width: int):
    """The address of element `offset_elems` (an index value) of a dense buffer."""
    base = memref.extract_aligned_pointer_as_index(buf)
    address = arith.addi(base, arith.muli(offset_elems, _index(width)))
    i64 = ir.IntegerType.get_signless(64)
    return llvm.inttoptr(llvm.PointerType.get(), arith.index_cast(i64, address))


def _layout():
    return arith.constant(ir.IntegerType.get_signless(32), _ROW_MAJOR)


def _module_body():
    op = ir.InsertionPoint.current.block.owner
    while op.name != "builtin.module":
        op = op.parent
    return op.regions[0].blocks[0]


def _call(routine: str, args) -> ir.Value:
    """`mxir_lapack_<routine>(args) -> i64 info`, declared once in the module."""
    name = LAPACK_PREFIX + routine
    body = _module_body()
    i64 = ir.IntegerType.get_signless(64)
    if not any(op.operation.name == "func.func"
               and ir.StringAttr(op.attributes["sym_name"]).value == name
               for op in body.operations):
        with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
            f = func.FuncOp(name, ir.FunctionType.get([a.type for a in args], [i64]))
            f.attributes["sym_visibility"] = ir.StringAttr.get("private")
    return func.CallOp([i64], ir.FlatSymbolRefAttr.get(name), args).result


class _Batch:
    """Calls on each matrix of a batch (an scf.for when there are several); collects the
    routines' info codes into one failure flag."""

    def __init__(self, batch: int):
        self.batch = batch
        i64 = ir.IntegerType.get_signless(64)
        self.flag = memref.alloca(ir.MemRefType.get([], i64), [], [])
        memref.store(_i64(0), self.flag, [])

    def run(self, body):
        """body(i: index value) -> list of info values."""
        if self.batch == 1:
            self._record(body(_index(0)))
            return
        loop = scf.ForOp(_index(0), _index(self.batch), _index(1))
        with ir.InsertionPoint(loop.body):
            self._record(body(loop.induction_variable))
            scf.YieldOp([])

    def _record(self, infos):
        acc = memref.load(self.flag, [])
        for info in infos:
            acc = arith.ori(acc, info)
        memref.store(acc, self.flag, [])

    def failed(self):
        """An i1: whether any routine reported an error."""
        return arith.cmpi(arith.CmpIPredicate.ne, memref.load(self.flag, []), _i64(0))


def _offset(i, size: int):
    return arith.muli(i, _index(size))


def _width(dtype: str) -> int:
    return 4 if dtype == "float32" else 8


def _prefix(dtype: str) -> str:
    return {"float32": "s", "float64": "d", "complex64": "c"}[dtype]


def _map_elements(lo, x, t: TensorType, fn, out: TensorType | None = None):
    """An elementwise linalg.generic over x (into `out`'s dtype, default x's): fn(value,
    indices) -> value (indices: i64 of the last two dims)."""
    rank = t.ndim
    ident = ir.AffineMap.get_identity(rank)
    out = out or t

    def body(v, _o):
        i64 = ir.IntegerType.get_signless(64)
        idx = [arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, d)).result)
               for d in (rank - 2, rank - 1)] if rank >= 2 else []
        return fn(v, idx)

    return lo.generic([x], [lo.empty(out)], [ident, ident], [PARALLEL] * rank, body)


def _nan_if(lo, x, t: TensorType, failed):
    s = Scalar(t.dtype)
    nan = s.const(float("nan"))
    return _map_elements(lo, x, t, lambda v, _: arith.select(failed, nan, v))


def _keep_triangle(lo, x, t: TensorType, upper: bool, failed=None):
    """Zero the other triangle (LAPACK leaves the input there); NaN everywhere on failure."""
    s = Scalar(t.dtype)
    zero, nan = s.const(0.0), s.const(float("nan"))

    def fn(v, idx):
        r, c = idx
        keep = arith.cmpi(arith.CmpIPredicate.sle if upper else arith.CmpIPredicate.sge, r, c)
        v = arith.select(keep, v, zero)
        return v if failed is None else arith.select(failed, nan, v)

    return _map_elements(lo, x, t, fn)


# ---------------------------------------------------------------------------------------------
# mx-op helpers for the transform rules
def _const_like(b, x, value: np.ndarray):
    """A constant of x's dtype broadcast to x's shape (value: the trailing dims)."""
    t = b.type(x)
    c = b.emit("constant", [], value=ConstValue(to_storage(value, t.dtype), t.dtype))
    return b.broadcast_to(c, shape=t.shape)


def _tri(b, x, k: int, upper: bool):
    """tril(x, k) or triu(x, k) of the last two dims."""
    m, n = b.type(x).shape[-2:]
    mask = np.triu(np.ones((m, n)), k) if upper else np.tril(np.ones((m, n)), k)
    return b.multiply(x, _const_like(b, x, mask))


def _diag_part(b, x, scale: float = 1.0):
    """x with only its diagonal (times scale) kept."""
    m, n = b.type(x).shape[-2:]
    return b.multiply(x, _const_like(b, x, scale * np.eye(m, n)))


def _mm(b, *xs):
    out = xs[0]
    for x in xs[1:]:
        out = b.matmul(out, x)
    return out


def _sym_from(b, dx, upper: bool):
    """The symmetric matrix that LAPACK sees when it reads one triangle of dx."""
    part = _tri(b, dx, 0, upper)
    strict = _tri(b, dx, 1 if upper else -1, upper)
    return b.add(part, swap_last(b, strict))


def _sym_from_adjoint(b, g, upper: bool):
    """The adjoint of `_sym_from`: the gradient on the triangle that was read."""
    return b.add(_tri(b, g, 0, upper), _tri(b, swap_last(b, g), 1 if upper else -1, upper))


def _diag_embed(b, v):
    """(..., n) -> (..., n, n) with v on the diagonal."""
    t = b.type(v)
    n = t.shape[-1]
    col = b.reshape(v, shape=(*t.shape, 1))
    full = b.broadcast_to(col, shape=(*t.shape, n))
    return _diag_part(b, swap_last(b, full))


def _diag_of(b, x):
    """(..., n, n) -> (..., n): the diagonal."""
    t = b.type(x)
    return b.sum(_diag_part(b, x), axes=(t.ndim - 1,), keepdims=False)


# ---------------------------------------------------------------------------------------------
class _Lapack(Op):
    """The common parts: float32/float64 matrices of rank >= 2, batched over leading dims."""

    square = True
    dtypes = ("float32", "float64")

    def check(self, t: TensorType) -> None:
        if t.ndim < 2:
            raise MxError(f"[linalg::{self.name}] Arrays must have >= 2 dimensions. Received "
                          f"array with {t.ndim} dimensions.")
        if t.dtype not in self.dtypes:
            raise MxError(f"[linalg::{self.name}] Arrays must have type float32 or float64. "
                          f"Received array with type {t.dtype}.")
        if self.square and t.shape[-1] != t.shape[-2]:
            raise MxError(f"[linalg::{self.name}] Matrices must be square, got shape "
                          f"{t.shape}.")

    def batch(self, b, operands, axes, **attrs):
        x = move_axis_to_front(b, operands[0], axes[0])
        out = b.emit(self.name, [x], **attrs)
        out = out if isinstance(out, list) else [out]
        return out, [0] * len(out)


def _batch_size(t: TensorType) -> int:
    return int(np.prod(t.shape[:-2], dtype=np.int64))


@register
class InvOp(_Lapack):
    """The inverse of each matrix (getrf + getri); complex64 too (cgetrf/cgetri: the
    eigenvalue rules need V^-1; MLX's own inv refuses complex, and so does the frontend)."""

    name = "inv"
    dtypes = ("float32", "float64", "complex64")

    def infer(self, types):
        self.check(types[0])
        return [types[0]]

    def reference(self, x):
        try:
            return np.linalg.inv(x).astype(x.dtype)
        except np.linalg.LinAlgError:
            return np.full_like(x, np.nan)

    def lower(self, lo, xs, in_types, out_types):
        (t,) = in_types
        n, p, w = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        batch = _Batch(_batch_size(t))
        ipiv = _alloc((max(n, 1),), "int64")  # reused by each matrix of the batch

        def body(i):
            pa, pp = _pointer(a, _offset(i, n * n), w), _pointer(ipiv, _index(0), 8)
            f = _call(p + "getrf", [_layout(), _i64(n), _i64(n), pa, _i64(max(n, 1)), pp])
            g = _call(p + "getri", [_layout(), _i64(n), pa, _i64(max(n, 1)), pp])
            return [f, g]

        if n:
            batch.run(body)
        return _nan_if(lo, _to_tensor(a, t.shape, t.dtype), t, batch.failed())

    def vjp(self, b, primals, outputs, cotangents):
        (y,), (ct,) = outputs, cotangents
        yt = swap_last(b, conj(b, y))  # complex: -Y^H ct Y^H (MLX's conjugate convention)
        return [b.negative(_mm(b, yt, ct, yt))]

    def jvp(self, b, primals, tangents, outputs):
        (y,), (t,) = outputs, tangents
        return [None if t is None else b.negative(_mm(b, y, t, y))]



def _slice_last2(x, t: TensorType, rows: int, cols: int):
    """x[..., :rows, :cols] (a tensor)."""
    shape = (*t.shape[:-2], rows, cols)
    return tensor.extract_slice(TensorType(shape, t.dtype).to_ir(storage=True), x, [], [], [],
                                [0] * t.ndim, list(shape), [1] * t.ndim)


def _slice_rule(b, x, rows: int, cols: int):
    """x[..., :rows, :cols] as an mx op."""
    t = b.type(x)
    return b.slice(x, start=(0,) * t.ndim, stop=(*t.shape[:-2], rows, cols),
                   strides=(1,) * t.ndim)


def _eye_like(b, x):
    return _const_like(b, x, np.eye(*b.type(x).shape[-2:]))


def _antisym_reciprocal(b, v):
    """F[..., i, j] = 1 / (v_j - v_i) off the diagonal, 0 on it (the eigen/singular gaps)."""
    t = b.type(v)
    n = t.shape[-1]
    vi = b.broadcast_to(b.reshape(v, shape=(*t.shape, 1)), shape=(*t.shape, n))
    vj = swap_last(b, vi)
    eye = _eye_like(b, vi)
    return b.divide(b.subtract(b.ones_like(eye), eye), b.add(b.subtract(vj, vi), eye))


def _is_zero(b, x) -> bool:
    return b.splat(x) == 0


@register
class TriInvOp(_Lapack):
    """The inverse of each triangular matrix (trtri); only the `upper` (or lower) triangle is
    read, and the result has zeros in the other."""

    name = "tri_inv"
    attrs = {"upper": BOOL}

    def infer(self, types, upper):
        self.check(types[0])
        return [types[0]]

    def reference(self, x, upper):
        tri = np.triu(x) if upper else np.tril(x)
        with np.errstate(all="ignore"):
            try:
                out = np.linalg.inv(tri)
            except np.linalg.LinAlgError:
                out = np.full_like(x, np.nan)
        return (np.triu(out) if upper else np.tril(out)).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types, upper):
        (t,) = in_types
        n, p, w = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        batch = _Batch(_batch_size(t))
        if n:
            batch.run(lambda i: [_call(p + "trtri", [
                _layout(), _char("U" if upper else "L"), _char("N"), _i64(n),
                _pointer(a, _offset(i, n * n), w), _i64(n)])])
        return _keep_triangle(lo, _to_tensor(a, t.shape, t.dtype), t, upper, batch.failed())

    def vjp(self, b, primals, outputs, cotangents, upper):
        (y,), (ct,) = outputs, cotangents
        yt = swap_last(b, y)
        return [_tri(b, b.negative(_mm(b, yt, ct, yt)), 0, upper)]

    def jvp(self, b, primals, tangents, outputs, upper):
        (y,), (t,) = outputs, tangents
        return [None if t is None else b.negative(_mm(b, y, _tri(b, t, 0, upper), y))]


def _phi(b, x):
    """The lower triangle with half the diagonal (the Cholesky derivative's projection)."""
    return b.subtract(_tri(b, x, 0, False), _diag_part(b, x, 0.5))


@register
class CholeskyOp(_Lapack):
    """The Cholesky factor (potrf) of each symmetric positive definite matrix: L with
    A = L L^T reading the lower triangle, or (`upper`) U with A = U^T U reading the upper."""

    name = "cholesky"
    attrs = {"upper": BOOL}

    def infer(self, types, upper):
        self.check(types[0])
        return [types[0]]

    def reference(self, x, upper):
        sym = _np_sym(x, upper)
        try:
            low = np.linalg.cholesky(sym)
        except np.linalg.LinAlgError:
            return np.full_like(x, np.nan)
        return (np.swapaxes(low, -1, -2) if upper else low).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types, upper):
        (t,) = in_types
        n, p, w = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        batch = _Batch(_batch_size(t))
        if n:
            batch.run(lambda i: [_call(p + "potrf", [
                _layout(), _char("U" if upper else "L"), _i64(n),
                _pointer(a, _offset(i, n * n), w), _i64(n)])])
        return _keep_triangle(lo, _to_tensor(a, t.shape, t.dtype), t, upper, batch.failed())

    def vjp(self, b, primals, outputs, cotangents, upper):
        (out,), (ct,) = outputs, cotangents
        low, ct_low = (swap_last(b, out), swap_last(b, ct)) if upper else (out, ct)
        linv = b.tri_inv(low, upper=False)
        g = _mm(b, swap_last(b, linv), _phi(b, _mm(b, swap_last(b, low), ct_low)), linv)
        return [_sym_from_adjoint(b, g, upper)]

    def jvp(self, b, primals, tangents, outputs, upper):
        (out,), (t,) = outputs, tangents
        if t is None:
            return [None]
        low = swap_last(b, out) if upper else out
        linv = b.tri_inv(low, upper=False)
        d = _mm(b, low, _phi(b, _mm(b, linv, _sym_from(b, t, upper), swap_last(b, linv))))
        return [swap_last(b, d) if upper else d]


def _np_sym(x, upper: bool):
    if upper:
        return np.triu(x) + np.swapaxes(np.triu(x, 1), -1, -2)
    return np.tril(x) + np.swapaxes(np.tril(x, -1), -1, -2)


@register
class EighOp(_Lapack):
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix (syevd),
    reading its upper or lower triangle."""

    name = "eigh"
    num_results = 2
    attrs = {"upper": BOOL}

    def infer(self, types, upper):
        (t,) = types
        self.check(t)
        return [t.with_shape(t.shape[:-1]), t]

    def reference(self, x, upper):
        try:
            w, v = np.linalg.eigh(_np_sym(x, upper))
        except np.linalg.LinAlgError:
            return [np.full(x.shape[:-1], np.nan, x.dtype), np.full_like(x, np.nan)]
        return [w.astype(x.dtype), v.astype(x.dtype)]

    def lower(self, lo, xs, in_types, out_types, upper):
        (t,), (wt, _) = in_types, out_types
        n, p, width = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        w = _alloc(wt.shape, t.dtype)
        batch = _Batch(_batch_size(t))
        if n:
            batch.run(lambda i: [_call(p + "syevd", [
                _layout(), _char("V"), _char("U" if upper else "L"), _i64(n),
                _pointer(a, _offset(i, n * n), width), _i64(n),
                _pointer(w, _offset(i, n), width)])])
        failed = batch.failed()
        return [_nan_if(lo, _to_tensor(w, wt.shape, t.dtype), wt, failed),
                _nan_if(lo, _to_tensor(a, t.shape, t.dtype), t, failed)]

    def vjp(self, b, primals, outputs, cotangents, upper):
        (w, v), (cw, cv) = outputs, cotangents
        vt = swap_last(b, v)
        inner = _diag_embed(b, cw)
        if not _is_zero(b, cv):
            inner = b.add(inner, b.multiply(_antisym_reciprocal(b, w), _mm(b, vt, cv)))
        return [_sym_from_adjoint(b, _mm(b, v, inner, vt), upper)]

    def jvp(self, b, primals, tangents, outputs, upper):
        (t,), (w, v) = tangents, outputs
        if t is None:
            return [None, None]
        x = _mm(b, swap_last(b, v), _sym_from(b, t, upper), v)
        return [_diag_of(b, x), _mm(b, v, b.multiply(_antisym_reciprocal(b, w), x))]


class _Geev(_Lapack):
    """Eigenvalues and right eigenvectors (columns, unit norm, largest component real) of each
    general matrix, complex64 for every input dtype, computed as MLX computes them (measured:
    the same order and phases): geev on the row-major buffer read column-major, i.e. on A^T,
    whose left eigenvectors u give A conj(u) = lambda conj(u). sgeev/dgeev for a real matrix
    (a conjugate pair's vectors are the columns (re, im) of VL), cgeev for a complex one."""

    dtypes = ("float32", "float64", "complex64")
    vectors = True

    def eigen_types(self, t: TensorType):
        return t.with_shape(t.shape[:-1]).with_dtype("complex64"), t.with_dtype("complex64")

    def reference(self, x):
        w, v = np.linalg.eig(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64))
        return [w.astype(np.complex64), v.astype(np.complex64)] if self.vectors else \
            w.astype(np.complex64)

    def geev(self, lo, x, t: TensorType):
        n, p, width = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        width = 8 if t.dtype == "complex64" else width
        lead = t.shape[:-1]
        real = t.dtype != "complex64"
        wtc, vtc = self.eigen_types(t)
        a = _copy_to_buffer(x, t)
        w_bufs = [_alloc(lead, t.dtype) for _ in range(2 if real else 1)]
        vl = _alloc(t.shape if self.vectors else (1,), t.dtype)
        vr = _alloc((1,), t.dtype)
        batch = _Batch(_batch_size(t))
        if n:
            batch.run(lambda i: [_call(p + "geev", [
                arith.constant(ir.IntegerType.get_signless(32), _COL_MAJOR),
                _char("V" if self.vectors else "N"), _char("N"), _i64(n),
                _pointer(a, _offset(i, n * n), width), _i64(n),
                *[_pointer(wb, _offset(i, n), width) for wb in w_bufs],
                _pointer(vl, _offset(i, n * n if self.vectors else 0), width), _i64(n),
                _pointer(vr, _index(0), width), _i64(n)])])
        failed = batch.failed()
        f32 = ir.F32Type.get()
        c64 = element_type_to_ir("complex64")
        w_ts = [_to_tensor(wb, lead, t.dtype) for wb in w_bufs]

        def narrow(v):
            return v if t.dtype != "float64" else arith.truncf(f32, v)

        rank = len(lead)
        ident = ir.AffineMap.get_identity(rank)
        if real:
            w = lo.generic(w_ts, [lo.empty(wtc)], [ident] * 3, [PARALLEL] * rank,
                           lambda r, i, _o: _complex(c64, narrow(r), narrow(i)))
        else:
            w = w_ts[0]
        out = [_nan_if(lo, w, wtc, failed)]
        if not self.vectors:
            return out
        u = _to_tensor(vl, t.shape, t.dtype)  # VL column-major: u[c, r] = VL[r, c]
        index = ir.IndexType.get()

        def vector_entry(_o):
            ivs = [linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), d))
                   .result for d in range(t.ndim)]
            *head, r, c = ivs
            if not real:
                return cx_conj(tensor.extract(u, [*head, c, r]))
            # v = conj(u): column c of a pair is VL[:, c] - i VL[:, c+1] where wi[c] > 0,
            # VL[:, c-1] + i VL[:, c] where wi[c] < 0; a real eigenvalue's is VL[:, c]
            one = arith.constant(index, 1)
            wic = tensor.extract(w_ts[1], [*head, c])
            zero = arith.constant(wic.type, 0.0)
            upper = arith.cmpf(arith.CmpFPredicate.OGT, wic, zero)
            lower = arith.cmpf(arith.CmpFPredicate.OLT, wic, zero)
            here = tensor.extract(u, [*head, c, r])
            prev = arith.select(lower, arith.subi(c, one), c)
            nxt = arith.select(upper, arith.addi(c, one), c)
            re = tensor.extract(u, [*head, prev, r])
            im_up = arith.negf(tensor.extract(u, [*head, nxt, r]))
            im = arith.select(upper, im_up, arith.select(lower, here, zero))
            return _complex(c64, narrow(re), narrow(im))

        full = ir.AffineMap.get_identity(t.ndim)
        v = lo.generic([], [lo.empty(vtc)], [full], [PARALLEL] * t.ndim, vector_entry)
        out.append(_nan_if(lo, v, vtc, failed))
        return out


_COL_MAJOR = 102


def _complex(c64, re, im):
    from mlir.dialects import complex as cx

    return cx.create_(c64, re, im)


def cx_conj(v):
    from mlir.dialects import complex as cx

    return cx.conj(v)


def _eigvals_vjp(b, x, v, cw):
    """A-bar = V^-H diag(cw) V^H (dlambda_i = (V^-1 dA V)_ii; conjugate convention), its real
    part for a real A."""
    vh = swap_last(b, b.conjugate(v))
    g = _mm(b, swap_last(b, b.conjugate(b.inv(v))), _diag_embed(b, cw), vh)
    dtype = b.type(x).dtype
    return g if dtype == "complex64" else b.astype(g, dtype=dtype)


def _eigvals_jvp(b, t, v):
    tc = b.astype(t, dtype="complex64") if b.type(t).dtype != "complex64" else t
    return _diag_of(b, _mm(b, b.inv(v), tc, v))


@register
class EigOp(_Geev):
    name = "eig"
    num_results = 2

    def infer(self, types):
        self.check(types[0])
        return list(self.eigen_types(types[0]))

    def lower(self, lo, xs, in_types, out_types):
        return self.geev(lo, xs[0], in_types[0])

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (_, v), (cw, cv) = primals, outputs, cotangents
        if not _is_zero(b, cv):
            raise MxError("[linalg::eig] the derivative through the eigenvectors of a general "
                          "matrix is not provided (they are unique only up to a phase; MLX has "
                          "no eig derivative at all); eigenvalues only", b.loc)
        return [_eigvals_vjp(b, x, v, cw)]

    def jvp(self, b, primals, tangents, outputs):
        if tangents[0] is None:
            return [None, None]
        raise MxError("[linalg::eig] the jvp of the eigenvectors of a general matrix is not "
                      "provided (unique only up to a phase; MLX has no eig derivative); "
                      "use eigvals for eigenvalue tangents", b.loc)


@register
class EigvalsOp(_Geev):
    name = "eigvals"
    vectors = False

    def infer(self, types):
        self.check(types[0])
        return [self.eigen_types(types[0])[0]]

    def lower(self, lo, xs, in_types, out_types):
        return self.geev(lo, xs[0], in_types[0])[0]

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (cw,) = primals, cotangents
        return [_eigvals_vjp(b, x, b.eig(x)[1], cw)]

    def jvp(self, b, primals, tangents, outputs):
        (x,), (t,) = primals, tangents
        return [None if t is None else _eigvals_jvp(b, t, b.eig(x)[1])]


def _gesdd(lo, x, t: TensorType, jobz: str):
    """Buffers (a destroyed, s, u, vt) after gesdd on each matrix, and the failure flag."""
    m, n = t.shape[-2:]
    k = min(m, n)
    p, width = _prefix(t.dtype), _width(t.dtype)
    lead = t.shape[:-2]
    a = _copy_to_buffer(x, t)
    s = _alloc((*lead, k), t.dtype)
    u = _alloc((*lead, m, m) if jobz == "A" else (1,), t.dtype)
    vt = _alloc((*lead, n, n) if jobz == "A" else (1,), t.dtype)
    batch = _Batch(_batch_size(t))
    full = jobz == "A"

    def body(i):
        return [_call(p + "gesdd", [
            _layout(), _char(jobz), _i64(m), _i64(n), _pointer(a, _offset(i, m * n), width),
            _i64(max(n, 1)), _pointer(s, _offset(i, k), width),
            _pointer(u, _offset(i, m * m if full else 0), width), _i64(max(m, 1)),
            _pointer(vt, _offset(i, n * n if full else 0), width), _i64(max(n, 1))])]

    if k:
        batch.run(body)
    return s, u, vt, batch.failed()


@register
class SvdvalsOp(_Lapack):
    """The singular values (descending) of each matrix (gesdd without vectors)."""

    name = "svdvals"
    square = False

    def infer(self, types):
        (t,) = types
        self.check(t)
        return [t.with_shape((*t.shape[:-2], min(t.shape[-2:])))]

    def reference(self, x):
        return np.linalg.svd(x, compute_uv=False).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types):
        (t,), (st,) = in_types, out_types
        s, _, _, failed = _gesdd(lo, xs[0], t, "N")
        return _nan_if(lo, _to_tensor(s, st.shape, t.dtype), st, failed)

    @staticmethod
    def _thin(b, x):
        m, n = b.type(x).shape[-2:]
        u, _, vt = b.svd(x)
        k = min(m, n)
        return _slice_rule(b, u, m, k), _slice_rule(b, vt, k, n)

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (ct,) = primals, cotangents
        u, vt = self._thin(b, x)
        return [_mm(b, u, _diag_embed(b, ct), vt)]

    def jvp(self, b, primals, tangents, outputs):
        (x,), (t,) = primals, tangents
        if t is None:
            return [None]
        u, vt = self._thin(b, x)
        return [_diag_of(b, _mm(b, swap_last(b, u), t, swap_last(b, vt)))]


@register
class SvdOp(_Lapack):
    """U (M x M), singular values (descending), V^T (N x N) of each matrix (gesdd). The
    derivatives through U and V^T are those of a square matrix; for a non-square one the
    extra singular vectors are not unique, and the rules refuse them with the op's location."""

    name = "svd"
    num_results = 3
    square = False

    def infer(self, types):
        (t,) = types
        self.check(t)
        m, n = t.shape[-2:]
        lead = t.shape[:-2]
        return [t.with_shape((*lead, m, m)), t.with_shape((*lead, min(m, n))),
                t.with_shape((*lead, n, n))]

    def reference(self, x):
        u, s, vt = np.linalg.svd(x, full_matrices=True)
        return [u.astype(x.dtype), s.astype(x.dtype), vt.astype(x.dtype)]

    def lower(self, lo, xs, in_types, out_types):
        (t,), (ut, st, vtt) = in_types, out_types
        s, u, vt, failed = _gesdd(lo, xs[0], t, "A")
        return [_nan_if(lo, _to_tensor(u, ut.shape, t.dtype), ut, failed),
                _nan_if(lo, _to_tensor(s, st.shape, t.dtype), st, failed),
                _nan_if(lo, _to_tensor(vt, vtt.shape, t.dtype), vtt, failed)]

    @staticmethod
    def _refuse(b, x, what: str):
        m, n = b.type(x).shape[-2:]
        if m != n:
            raise MxError(f"[linalg::svd] the {what} of U and Vt is only defined for square "
                          f"matrices (got {m}x{n}: the extra singular vectors are not unique); "
                          f"differentiate the singular values alone (compute_uv=False)")

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (u, s, vt), (cu, cs, cvt) = primals, outputs, cotangents
        if _is_zero(b, cu) and _is_zero(b, cvt):
            m, n = b.type(x).shape[-2:]
            k = min(m, n)
            return [_mm(b, _slice_rule(b, u, m, k), _diag_embed(b, cs),
                        _slice_rule(b, vt, k, n))]
        self._refuse(b, x, "derivative")
        v, cv = swap_last(b, vt), swap_last(b, cvt)
        f = _antisym_reciprocal(b, b.square(s))
        ju = b.multiply(f, b.subtract(_mm(b, swap_last(b, u), cu), _mm(b, swap_last(b, cu), u)))
        jv = b.multiply(f, b.subtract(_mm(b, vt, cv), _mm(b, swap_last(b, cv), v)))
        sd = _diag_embed(b, s)
        inner = b.add(b.add(_mm(b, ju, sd), _diag_embed(b, cs)), _mm(b, sd, jv))
        return [_mm(b, u, inner, vt)]

    def jvp(self, b, primals, tangents, outputs):
        (x,), (t,), (u, s, vt) = primals, tangents, outputs
        if t is None:
            return [None, None, None]
        self._refuse(b, x, "derivative")
        v = swap_last(b, vt)
        dp = _mm(b, swap_last(b, u), t, v)
        sd = _diag_embed(b, s)
        f = _antisym_reciprocal(b, b.square(s))
        dpt = swap_last(b, dp)
        du = _mm(b, u, b.multiply(f, b.add(_mm(b, dp, sd), _mm(b, sd, dpt))))
        dv = _mm(b, v, b.multiply(f, b.add(_mm(b, sd, dp), _mm(b, dpt, sd))))
        return [du, _diag_of(b, dp), swap_last(b, dv)]


@register
class QrOp(_Lapack):
    """The reduced QR factorization of each matrix (geqrf + orgqr): Q (M x K), R (K x N),
    K = min(M, N). Derivatives for M >= N (full column rank), the published formulas."""

    name = "qr"
    num_results = 2
    square = False

    def infer(self, types):
        (t,) = types
        self.check(t)
        m, n = t.shape[-2:]
        k = min(m, n)
        return [t.with_shape((*t.shape[:-2], m, k)), t.with_shape((*t.shape[:-2], k, n))]

    def reference(self, x):
        q, r = np.linalg.qr(x, mode="reduced")
        return [q.astype(x.dtype), r.astype(x.dtype)]

    def lower(self, lo, xs, in_types, out_types):
        (t,), (qt, rt) = in_types, out_types
        m, n = t.shape[-2:]
        k = min(m, n)
        p, width = _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        tau = _alloc((*t.shape[:-2], max(k, 1)), t.dtype)
        r = _alloc(t.shape, t.dtype)
        batch = _Batch(_batch_size(t))
        if k:
            batch.run(lambda i: [_call(p + "geqrf", [
                _layout(), _i64(m), _i64(n), _pointer(a, _offset(i, m * n), width), _i64(n),
                _pointer(tau, _offset(i, max(k, 1)), width)])])
            memref.copy(a, r)
            batch.run(lambda i: [_call(p + "orgqr", [
                _layout(), _i64(m), _i64(k), _i64(k), _pointer(a, _offset(i, m * n), width),
                _i64(n), _pointer(tau, _offset(i, max(k, 1)), width)])])
        else:
            memref.copy(a, r)
        failed = batch.failed()
        q = _nan_if(lo, _slice_last2(_to_tensor(a, t.shape, t.dtype), t, m, k), qt, failed)
        rr = _slice_last2(_to_tensor(r, t.shape, t.dtype), t, k, n)
        return [q, _keep_triangle(lo, rr, rt, True, failed)]

    @staticmethod
    def _check(b, x):
        m, n = b.type(x).shape[-2:]
        if m < n:
            raise MxError(f"[linalg::qr] derivatives are implemented for matrices with at "
                          f"least as many rows as columns (got {m}x{n})")

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (q, r), (cq, cr) = primals, outputs, cotangents
        self._check(b, x)
        rinv_t = swap_last(b, b.tri_inv(r, upper=True))
        m_ = b.subtract(_mm(b, cr, swap_last(b, r)), _mm(b, swap_last(b, q), cq))
        xbar = b.add(_tri(b, m_, 0, True), _tri(b, swap_last(b, m_), -1, False))
        return [_mm(b, b.add(cq, _mm(b, q, xbar)), rinv_t)]

    def jvp(self, b, primals, tangents, outputs):
        (x,), (t,), (q, r) = primals, tangents, outputs
        if t is None:
            return [None, None]
        self._check(b, x)
        rinv = b.tri_inv(r, upper=True)
        arinv = _mm(b, t, rinv)
        xx = _mm(b, swap_last(b, q), arinv)
        low = _tri(b, xx, -1, False)
        omega = b.subtract(low, swap_last(b, low))
        dq = b.add(_mm(b, q, omega), b.subtract(arinv, _mm(b, q, xx)))
        return [dq, _mm(b, b.subtract(xx, omega), r)]


@register
class LuOp(_Lapack):
    """LU factorization with partial pivoting (getrf) of each matrix: the packed factors
    (L strictly below the diagonal, unit diagonal implied; U on and above), the pivots
    (row i was swapped with row pivots[i], 0-based, uint32) and the row permutation `perm`
    with A[perm] = L U (uint32). Derivatives of the factors for square matrices."""

    name = "lu"
    num_results = 3
    square = False

    def infer(self, types):
        (t,) = types
        self.check(t)
        m, n = t.shape[-2:]
        lead = t.shape[:-2]
        return [t, TensorType((*lead, min(m, n)), "uint32"), TensorType((*lead, m), "uint32")]

    def reference(self, x):
        m, n = x.shape[-2:]
        k = min(m, n)
        lead = x.shape[:-2]
        flat = x.reshape(-1, m, n).astype(np.float64 if x.dtype == np.float64 else np.float32)
        packed, pivs, perms = [], [], []
        for a in flat:
            a = a.copy()
            piv, perm = np.zeros(k, np.uint32), np.arange(m)
            for j in range(k):
                p = j + int(np.argmax(np.abs(a[j:, j])))
                piv[j] = p
                a[[j, p]] = a[[p, j]]
                perm[[j, p]] = perm[[p, j]]
                if a[j, j] != 0:
                    a[j + 1:, j] /= a[j, j]
                a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j], a[j, j + 1:])
            packed.append(a)
            pivs.append(piv)
            perms.append(perm.astype(np.uint32))
        return [np.array(packed, x.dtype).reshape(x.shape),
                np.array(pivs, np.uint32).reshape((*lead, k)),
                np.array(perms, np.uint32).reshape((*lead, m))]

    def lower(self, lo, xs, in_types, out_types):
        (t,), (_, pt, rt) = in_types, out_types
        m, n = t.shape[-2:]
        k = min(m, n)
        p, width = _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        nb = _batch_size(t)
        ipiv = _alloc((nb * max(k, 1),), "int64")
        perm = _alloc((nb * max(m, 1),), "int64")
        batch = _Batch(nb)
        index = ir.IndexType.get()

        def body(i):
            info = _call(p + "getrf", [_layout(), _i64(m), _i64(n),
                                       _pointer(a, _offset(i, m * n), width), _i64(max(n, 1)),
                                       _pointer(ipiv, _offset(i, k), 8)])
            base_p, base_r = _offset(i, k), _offset(i, m)
            init = scf.ForOp(_index(0), _index(m), _index(1))
            with ir.InsertionPoint(init.body):
                j = init.induction_variable
                memref.store(arith.index_cast(ir.IntegerType.get_signless(64), j), perm,
                             [arith.addi(base_r, j)])
                scf.YieldOp([])
            swaps = scf.ForOp(_index(0), _index(k), _index(1))
            with ir.InsertionPoint(swaps.body):  # apply the row swaps in order to 0..m-1
                j = swaps.induction_variable
                piv = memref.load(ipiv, [arith.addi(base_p, j)])
                q = arith.index_cast(index, arith.subi(piv, _i64(1)))
                at_j, at_q = arith.addi(base_r, j), arith.addi(base_r, q)
                vj, vq = memref.load(perm, [at_j]), memref.load(perm, [at_q])
                memref.store(vq, perm, [at_j])
                memref.store(vj, perm, [at_q])
                scf.YieldOp([])
            return [arith.select(arith.cmpi(arith.CmpIPredicate.slt, info, _i64(0)), info,
                                 _i64(0))]  # info > 0 (a zero pivot) still factors

        if k:
            batch.run(body)
        packed = _nan_if(lo, _to_tensor(a, t.shape, t.dtype), t, batch.failed())
        i32 = ir.IntegerType.get_signless(32)

        def indices(buf, size, out_t, minus):
            """The flat int64 buffer as uint32 values minus `minus`, shaped as `out_t`."""
            if size == 0:
                return lo.empty(out_t)
            flat_t = TensorType((nb * size,), "int64")
            vals = _map_elements(lo, _to_tensor(buf, flat_t.shape, "int64"), flat_t,
                                 lambda v, _: arith.trunci(i32, arith.subi(v, _i64(minus))),
                                 TensorType(flat_t.shape, "uint32"))
            if out_t.ndim == 1:
                return vals
            return tensor.expand_shape(lo.ir_type(out_t), vals,
                                       reassociation_attr(out_t.ndim), output_shape=[],
                                       static_output_shape=list(out_t.shape))

        return [packed, indices(ipiv, k, pt, 1), indices(perm, m, rt, 0)]

    @staticmethod
    def _factors(b, lu, perm):
        """L, U and the permutation matrix P (P A = L U) as mx values."""
        lower = b.add(_tri(b, lu, -1, False), _eye_like(b, lu))
        upper = _tri(b, lu, 0, True)
        t = b.type(perm)
        m = t.shape[-1]
        cols = b.emit("constant", [], value=ConstValue(to_storage(np.arange(m), "uint32"),
                                                       "uint32"))
        rows = b.reshape(perm, shape=(*t.shape, 1))
        pmat = b.equal(b.broadcast_to(rows, shape=(*t.shape, m)),
                       b.broadcast_to(cols, shape=(*t.shape, m)))
        return lower, upper, b.astype(pmat, dtype=b.type(lu).dtype)

    @staticmethod
    def _check(b, x):
        m, n = b.type(x).shape[-2:]
        if m != n:
            raise MxError(f"[linalg::lu] derivatives are implemented for square matrices "
                          f"(got {m}x{n})")

    def vjp(self, b, primals, outputs, cotangents):
        (x,), (lu, _, perm), (ct, _, _) = primals, outputs, cotangents
        self._check(b, x)
        lower, upper, pmat = self._factors(b, lu, perm)
        xbar = b.add(_tri(b, _mm(b, swap_last(b, lower), _tri(b, ct, -1, False)), -1, False),
                     _tri(b, _mm(b, _tri(b, ct, 0, True), swap_last(b, upper)), 0, True))
        linv_t = swap_last(b, b.tri_inv(lower, upper=False))
        uinv_t = swap_last(b, b.tri_inv(upper, upper=True))
        return [_mm(b, swap_last(b, pmat), linv_t, xbar, uinv_t)]

    def jvp(self, b, primals, tangents, outputs):
        (x,), (t,), (lu, _, perm) = primals, tangents, outputs
        if t is None:
            return [None, None, None]
        self._check(b, x)
        lower, upper, pmat = self._factors(b, lu, perm)
        xx = _mm(b, b.tri_inv(lower, upper=False), pmat, t, b.tri_inv(upper, upper=True))
        return [b.add(_mm(b, lower, _tri(b, xx, -1, False)), _mm(b, _tri(b, xx, 0, True),
                                                              upper)), None, None]


__all__ = ["CholeskyOp", "EighOp", "InvOp", "LAPACK_PREFIX", "LuOp", "QrOp", "SvdOp",
           "SvdvalsOp", "TriInvOp"]
