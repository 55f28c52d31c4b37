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
from mlir.dialects import arith, bufferization, func, linalg, llvm, memref, scf

from .core import BOOL, INT, ConstValue, MxError, TensorType, element_type_to_ir, to_storage
from .linalg_ops import swap_last
from .lowering import PARALLEL, Scalar
from .op import Op, register
from .shape import move_axis_to_front

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
    return "s" if dtype == "float32" else "d"


def _map_elements(lo, x, t: TensorType, fn):
    """An elementwise linalg.generic over x: fn(value, indices) -> value (indices: i64 of the
    last two dims)."""
    rank = t.ndim
    ident = ir.AffineMap.get_identity(rank)

    def body(v, _o):
        i64 = ir.IntegerType.get_signless(64)
        idx = [arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, d)).result)
               for d in (rank - 2, rank - 1)] if rank >= 2 else []
        return fn(v, idx)

    return lo.generic([x], [lo.empty(t)], [ident, ident], [PARALLEL] * rank, body)


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

    def check(self, t: TensorType) -> None:
        if t.ndim < 2:
            raise MxError(f"[linalg::{self.name}] Arrays must have >= 2 dimensions. Received "
                          f"array with {t.ndim} dimensions.")
        if t.dtype not in ("float32", "float64"):
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
    """The inverse of each matrix (getrf + getri)."""

    name = "inv"

    def infer(self, types):
        self.check(types[0])
        return [types[0]]

    def reference(self, x):
        return np.linalg.inv(x).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types):
        (t,) = in_types
        n, p, w = t.shape[-1], _prefix(t.dtype), _width(t.dtype)
        a = _copy_to_buffer(xs[0], t)
        batch = _Batch(_batch_size(t))
        ipiv = _alloc((max(n, 1),), "int64")
        i32 = ir.IntegerType.get_signless(32)

        def body(i):
            pa, pp = _pointer(a, _offset(i, n * n), w), _pointer(ipiv, _index(0), 8)
            layout = arith.constant(i32, _ROW_MAJOR)
            f = _call(p + "getrf", [layout, _i64(n), _i64(n), pa, _i64(max(n, 1)), pp])
            g = _call(p + "getri", [layout, _i64(n), pa, _i64(max(n, 1)), pp])
            return [f, g]

        if n:
            batch.run(body)
        return _nan_if(lo, _to_tensor(a, t.shape, t.dtype), t, batch.failed())

    def vjp(self, b, primals, outputs, cotangents):
        (y,), (ct,) = outputs, cotangents
        yt = swap_last(b, y)
        return [b.negative(_mm(b, yt, ct, yt))]

    def jvp(self, b, primals, tangents, outputs):
        (y,), (t,) = outputs, tangents
        return [None if t is None else b.negative(_mm(b, y, t, y))]


__all__ = ["InvOp", "LAPACK_PREFIX"]
_ = (BOOL, INT)
