"""Shape ops: reshape, transpose, broadcast_to (and, in the same style, slicing and joining)."""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import tensor

from .core import INTS, Ints, MxError, TensorType
from .lowering import PARALLEL
from .op import Op, register


def inverse_permutation(perm) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


@register
class ReshapeOp(Op):
    name = "reshape"
    attrs = {"shape": INTS}

    def infer(self, types, shape):
        (t,) = types
        if any(d < 0 for d in shape) or math.prod(shape) != t.size:
            raise MxError(f"[reshape] Cannot reshape array of size {t.size} into shape "
                          f"({', '.join(map(str, shape))}).")
        return [t.with_shape(shape)]

    def reference(self, x, shape):
        return x.reshape(shape)

    def lower(self, lo, xs, in_types, out_types, shape):
        (x,), (src,), (dst,) = xs, in_types, out_types
        if src.shape == dst.shape:
            return x
        # collapse to 1-D (or expand a scalar to 1-D), then expand to the target shape
        flat = TensorType((src.size,), src.dtype)
        if src.ndim != 1:
            if src.ndim == 0:
                x = tensor.expand_shape(lo.ir_type(flat), x, reassociation=[],
                                        output_shape=[], static_output_shape=[1])
            else:
                x = tensor.collapse_shape(lo.ir_type(flat), x, reassociation_attr(src.ndim))
        if dst.ndim == 1:
            return x
        if dst.ndim == 0:
            return tensor.collapse_shape(lo.ir_type(dst), x, [])
        return tensor.expand_shape(lo.ir_type(dst), x, reassociation_attr(dst.ndim),
                                   output_shape=[], static_output_shape=list(dst.shape))

    def simplify(self, b, operands, out_types, shape):
        (x,) = operands
        if x.type == out_types[0].to_ir():
            return [x]
        inner = b.producer(x, "reshape")  # reshape(reshape(y)) = reshape(y)
        return None if inner is None else [b.reshape(inner.operands[0], shape=shape)]

    def vjp(self, b, primals, outputs, cotangents, shape):
        return [b.reshape(cotangents[0], shape=b.type(primals[0]).shape)]

    def jvp(self, b, primals, tangents, outputs, shape):
        t = tangents[0]
        return [None if t is None else b.reshape(t, shape=shape)]

    def batch(self, b, operands, axes, shape):
        (x,), (ax,) = operands, axes
        x = move_axis_to_front(b, x, ax)
        n = b.type(x).shape[0]
        return [b.reshape(x, shape=(n, *shape))], [0]


def reassociation_attr(rank: int):
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in range(rank)])])


def move_axis_to_front(b, x, axis: int):
    """Transpose so that `axis` becomes axis 0 (used by batching rules)."""
    if axis == 0:
        return x
    rank = b.type(x).ndim
    perm = (axis, *[i for i in range(rank) if i != axis])
    return b.transpose(x, perm=perm)


@register
class TransposeOp(Op):
    name = "transpose"
    attrs = {"perm": INTS}

    def infer(self, types, perm):
        (t,) = types
        if sorted(perm) != list(range(t.ndim)):
            raise MxError(f"[transpose] Recived {len(perm)} axes for array with {t.ndim} "
                          "dimensions." if len(perm) != t.ndim else
                          f"[transpose] Invalid permutation {tuple(perm)}.")
        return [t.with_shape(t.shape[p] for p in perm)]

    def reference(self, x, perm):
        return np.transpose(x, perm)

    def lower(self, lo, xs, in_types, out_types, perm):
        from mlir.dialects import linalg

        if list(perm) == list(range(len(perm))):
            return xs[0]
        return linalg.transpose(xs[0], outs=[lo.empty(out_types[0])], permutation=list(perm))

    def simplify(self, b, operands, out_types, perm):
        (x,) = operands
        if list(perm) == list(range(len(perm))):
            return [x]
        shape = b.type(x).shape
        moved = [p for p in perm if shape[p] != 1]
        if moved == sorted(moved):  # only unit dims move: the data order is kept, a reshape
            return [b.reshape(x, shape=out_types[0].shape)]
        inner = b.producer(x, "transpose")  # transpose(transpose(y)) = one transpose
        if inner is None:
            return None
        first = Ints().from_ir(inner.attributes["perm"])
        return [b.transpose(inner.operands[0], perm=tuple(first[p] for p in perm))]

    def vjp(self, b, primals, outputs, cotangents, perm):
        return [b.transpose(cotangents[0], perm=inverse_permutation(perm))]

    def jvp(self, b, primals, tangents, outputs, perm):
        t = tangents[0]
        return [None if t is None else b.transpose(t, perm=perm)]

    def batch(self, b, operands, axes, perm):
        (x,), (ax,) = operands, axes
        x = move_axis_to_front(b, x, ax)
        return [b.transpose(x, perm=(0, *[p + 1 for p in perm]))], [0]


@register
class BroadcastToOp(Op):
    """NumPy broadcasting of the operand to `shape` (rank may grow on the left)."""

    name = "broadcast_to"
    attrs = {"shape": INTS}

    def infer(self, types, shape):
        (t,) = types
        if len(shape) < t.ndim or any(
            s != d and s != 1 for s, d in zip(t.shape[::-1], tuple(shape)[::-1])
        ):
            raise MxError(f"[broadcast_shapes] Shapes ({', '.join(map(str, t.shape))}) and "
                          f"({', '.join(map(str, shape))}) cannot be broadcast.")
        return [t.with_shape(shape)]

    def reference(self, x, shape):
        return np.broadcast_to(x, shape).copy()

    def lower(self, lo, xs, in_types, out_types, shape):
        (src,), (dst,) = in_types, out_types
        if src.shape == dst.shape:
            return xs[0]
        lead = dst.ndim - src.ndim
        exprs = [ir.AffineExpr.get_constant(0) if src.shape[i] == 1 and dst.shape[lead + i] != 1
                 else ir.AffineDimExpr.get(lead + i) for i in range(src.ndim)]
        in_map = ir.AffineMap.get(dst.ndim, 0, exprs)
        return lo.generic(xs, [lo.empty(dst)], [in_map, ir.AffineMap.get_identity(dst.ndim)],
                          [PARALLEL] * dst.ndim, lambda x, _o: x)

    def simplify(self, b, operands, out_types, shape):
        (x,) = operands
        if x.type == out_types[0].to_ir():
            return [x]
        inner = b.producer(x, "broadcast_to")  # broadcasts compose
        return None if inner is None else [b.broadcast_to(inner.operands[0], shape=shape)]

    def vjp(self, b, primals, outputs, cotangents, shape):
        return [unbroadcast(b, cotangents[0], b.type(primals[0]).shape)]

    def jvp(self, b, primals, tangents, outputs, shape):
        t = tangents[0]
        return [None if t is None else b.broadcast_to(t, shape=shape)]

    def batch(self, b, operands, axes, shape):
        (x,), (ax,) = operands, axes
        x = move_axis_to_front(b, x, ax)
        t = b.type(x)
        n, rest = t.shape[0], t.shape[1:]
        # align the unbatched dims on the right, keep the batch dim in front
        x = b.reshape(x, shape=(n, *([1] * (len(shape) - len(rest))), *rest))
        return [b.broadcast_to(x, shape=(n, *shape))], [0]


def unbroadcast(b, ct, shape):
    """Sum `ct` down to `shape` (the adjoint of broadcasting)."""
    ctt = b.type(ct)
    if ctt.shape == tuple(shape):
        return ct
    lead = ctt.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and ctt.shape[lead + i] != 1)
    summed = b.sum(ct, axes=axes, keepdims=False)
    return b.reshape(summed, shape=tuple(shape))


def align_batch(b, operands, axes):
    """Operands with the batch axis moved to the front; unbatched ones broadcast to it.
    For rules of ops whose operands must share a shape (elementwise, select)."""
    size = next(b.type(x).shape[a] for x, a in zip(operands, axes) if a is not None)
    out = []
    for x, a in zip(operands, axes):
        if a is None:
            shape = b.type(x).shape
            x = b.broadcast_to(b.reshape(x, shape=(1, *shape)), shape=(size, *shape))
        else:
            x = move_axis_to_front(b, x, a)
        out.append(x)
    return out
