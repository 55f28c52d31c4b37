"""Linear algebra: matmul over (..., M, K) x (..., K, N) with equal batch dims (the frontend
broadcasts batch dims and reshapes 1-D operands, as MLX's `matmul` does)."""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import linalg

from .core import DynamicDimsError, MxError, TensorType, is_inexact
from .elementwise import conj
from .lowering import compute_dtype
from .op import Op, register


def swap_last(b, x):
    """Transpose the last two axes (the matrix transpose of a batch of matrices)."""
    rank = b.type(x).ndim
    return b.transpose(x, perm=(*range(rank - 2), rank - 1, rank - 2))


def _untransposed(x, t):
    """(source, source type, True) when `x` is the lowered transpose of the last two axes of
    a source tensor; else (x, t, False)."""
    owner = x.owner
    if isinstance(owner, (ir.Operation, ir.OpView)) \
            and owner.operation.name == "linalg.transpose":
        rank = t.ndim
        perm = list(ir.DenseI64ArrayAttr(owner.attributes["permutation"]))
        if perm == [*range(rank - 2), rank - 1, rank - 2]:
            return owner.operands[0], t.with_shape((*t.shape[:-2], *t.shape[:-3:-1])), True
    return x, t, False


def _matmul_maps(batched: bool, trans_a: bool, trans_b: bool) -> list:
    """Indexing maps of linalg.(batch_)matmul over (b,) m, n, k with transposed operands."""
    d = [ir.AffineDimExpr.get(i) for i in range(4 if batched else 3)]
    b, (m, n, k) = d[:-3], d[-3:]
    exprs = [[*b, k, m] if trans_a else [*b, m, k], [*b, n, k] if trans_b else [*b, k, n],
             [*b, m, n]]
    return [ir.AffineMap.get(len(d), 0, e) for e in exprs]


def _batch_broadcast_source(b, y, nbatch: int):
    """The matrix (a rank-2 value, before any broadcast of its own dims) that `y` broadcasts
    along all its `nbatch` batch dims, or None when `y` is no such broadcast."""
    bcast = b.producer(y, "broadcast_to")
    if bcast is None:
        return None
    src = bcast.operands[0]
    shape = b.type(src).shape
    full = (1,) * (nbatch + 2 - len(shape)) + tuple(shape)
    if any(d != 1 for d in full[:nbatch]):
        return None
    return b.reshape(src, shape=full[nbatch:])


def _fmt(shape) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


@register
class MatmulOp(Op):
    name = "matmul"
    arity = 2
    dynamic = True  # matrices; a batch of matrices needs static batch dims

    def infer(self, types):
        a, c = types
        if a.ndim < 2 or c.ndim < 2:
            raise MxError(f"'mx.matmul' expects operands of rank >= 2, got {a} and {c}")
        if a.shape[-1] != c.shape[-2] and None not in (a.shape[-1], c.shape[-2]):
            raise MxError(f"[matmul] Last dimension of first input with shape {_fmt(a.shape)} "
                          "must match second to last dimension of second input with shape "
                          f"{_fmt(c.shape)}.")
        if a.shape[:-2] != c.shape[:-2] or a.dtype != c.dtype:
            raise MxError(f"'mx.matmul' expects equal batch dimensions and dtypes, got {a} "
                          f"and {c}")
        if not is_inexact(a.dtype):
            raise MxError(f"[matmul] Only inexact types are supported but {a.dtype} and "
                          f"{c.dtype} were provided which results in {a.dtype}, which is not "
                          "a floating point type.")
        return [TensorType((*a.shape[:-1], c.shape[-1]), a.dtype)]

    def reference(self, a, c):
        return np.matmul(a, c).astype(a.dtype)

    def lower(self, lo, xs, in_types, out_types):
        """linalg.matmul / batch_matmul; a transpose of the last two axes feeding an operand is
        folded into the op's indexing maps (the vjp's transposes are never materialised; the
        CPU pipeline turns the maps into BLAS transpose flags, passes/matmul.py). Half inputs
        are widened first: they accumulate in float32 as in MLX, and BLAS has f32/f64 gemm."""
        from .misc import AstypeOp
        from .shape import ReshapeOp

        out = out_types[0]
        acc_dtype = compute_dtype(out.dtype)
        ops, trans = [], []
        for x, t in zip(xs, in_types, strict=True):
            x, t, tr = _untransposed(x, t)
            if t.dtype != acc_dtype:
                wide = TensorType(t.shape, acc_dtype)
                x, t = AstypeOp().lower(lo, [x], [t], [wide], dtype=acc_dtype), wide
            ops.append((x, t))
            trans.append(tr)
        batched = out.ndim > 2
        if batched and out.dynamic:
            raise DynamicDimsError("'mx.matmul' of a batch of matrices has no lowering for "
                                   "dynamic dims")
        sizes = None
        if out.dynamic:  # m from the first operand, n from the second
            (a, ta), (c, tc) = ops
            sizes = [lo.dim(a, 1 if trans[0] else 0) if out.shape[0] is None else None,
                     lo.dim(c, 0 if trans[1] else 1) if out.shape[1] is None else None]
        if batched:  # fold the batch dims into one: linalg.batch_matmul takes exactly one
            n = math.prod(out.shape[:-2])

            def fold(x, t):
                t3 = t.with_shape((n, *t.shape[-2:]))
                return ReshapeOp().lower(lo, [x], [t], [t3], shape=t3.shape)

            ops = [(fold(x, t), None) for x, t in ops]
            acc = TensorType((n, *out.shape[-2:]), acc_dtype)
        else:
            acc = TensorType(out.shape, acc_dtype)
        maps = _matmul_maps(batched, *trans) if any(trans) else None
        emit = linalg.batch_matmul if batched else linalg.matmul
        r = emit(ops[0][0], ops[1][0], outs=[lo.fill(acc, 0, sizes)], indexing_maps=maps)
        acc_t = TensorType(out.shape, acc_dtype)
        if batched:
            r = ReshapeOp().lower(lo, [r], [acc], [acc_t], shape=out.shape)
        if acc_dtype != out.dtype:
            r = AstypeOp().lower(lo, [r], [acc_t], [out], dtype=out.dtype)
        return r

    def simplify(self, b, operands, out_types):
        """Matmuls that are not matrix products: an inner size of 1 is an outer product (no
        sums: exact as the product is); a batch of matrices times one broadcast matrix is one
        matrix product of the stacked rows (one gemm instead of a loop of tiny ones, and the
        broadcast is never materialised); a batch of dot products (1 x K times K x 1) is a
        multiply and a sum over K (float32/float64: half types accumulate in float32)."""
        x, y = operands
        out = out_types[0]
        *batch, m, k = b.type(x).shape
        n = out.shape[-1]
        if k == 1:
            from .shape import broadcast_like

            return [b.multiply(broadcast_like(b, x, out.shape, x, y),
                               broadcast_like(b, y, out.shape, x, y))]
        if not batch:
            return None
        shared = _batch_broadcast_source(b, y, len(batch))
        if shared is not None:
            if b.type(shared).shape != (k, n):
                shared = b.broadcast_to(shared, shape=(k, n))
            rows = b.reshape(x, shape=(math.prod(batch) * m, k))
            return [b.reshape(b.matmul(rows, shared), shape=out.shape)]
        if m == 1 and n == 1 and out.dtype in ("float32", "float64"):
            prod = b.multiply(b.reshape(x, shape=(*batch, k)), b.reshape(y, shape=(*batch, k)))
            total = b.sum(prod, axes=(len(batch),), keepdims=False)
            return [b.reshape(total, shape=out.shape)]
        return None

    def vjp(self, b, primals, outputs, cotangents):
        (a, c), (ct,) = primals, cotangents  # complex: the conjugates (MLX's convention)
        return [b.matmul(ct, swap_last(b, conj(b, c))), b.matmul(swap_last(b, conj(b, a)), ct)]

    def jvp(self, b, primals, tangents, outputs):
        (a, c), (ta, tc) = primals, tangents
        terms = []
        if ta is not None:
            terms.append(b.matmul(ta, c))
        if tc is not None:
            terms.append(b.matmul(a, tc))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else b.add(terms[0], terms[1])]

    def batch(self, b, operands, axes):
        from .shape import move_axis_to_front

        n = next(b.type(x).shape[ax]
                 for x, ax in zip(operands, axes, strict=True) if ax is not None)
        xs = []
        for x, ax in zip(operands, axes, strict=True):
            if ax is None:  # the unbatched operand is shared by every batch element
                x = b.broadcast_to(x, shape=(n, *b.type(x).shape))
            else:
                x = move_axis_to_front(b, x, ax)
            xs.append(x)
        return [b.matmul(*xs)], [0]
