"""Shape ops: reshape, transpose, broadcast_to (and, in the same style, slicing and joining)."""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import tensor

from .core import INTS, SHAPE, DynamicDimsError, Ints, MxError, TensorType
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
    attrs = {"shape": SHAPE}
    dynamic = True  # when only unit dims come or go

    def infer(self, types, shape):
        (t,) = types
        if t.dynamic or None in shape:
            if _non_unit(t.shape) != _non_unit(shape):
                raise DynamicDimsError(f"[reshape] Cannot reshape array of shape {t} into shape "
                              f"({', '.join('?' if d is None else str(d) for d in shape)}): "
                              "with dynamic dims only unit dims may come or go.")
            return [t.with_shape(shape)]
        if any(d < 0 for d in shape) or math.prod(shape) != t.size:
            raise MxError(f"[reshape] Cannot reshape array of size {t.size} into shape "
                          f"({','.join(map(str, shape))}).")  # MLX's spelling
        return [t.with_shape(shape)]

    def reference(self, x, shape):
        return x.reshape(shape)

    def lower(self, lo, xs, in_types, out_types, shape):
        (x,), (src,), (dst,) = xs, in_types, out_types
        if src.shape == dst.shape:
            return x
        if src.dynamic:
            return _reshape_units(lo, x, src, dst)
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
    return _groups_attr([list(range(rank))])


def _groups_attr(groups):
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in g])
                             for g in groups])


def _non_unit(shape) -> list:
    return [d for d in shape if d != 1]


def _unit_groups(shape) -> list[list[int]]:
    """Reassociation putting each non-unit dim with the unit dims after it (leading unit dims
    join the first group)."""
    core = [i for i, d in enumerate(shape) if d != 1]
    ends = core[1:] + [len(shape)]
    return [list(range(0 if k == 0 else i, end)) for k, (i, end) in enumerate(zip(core, ends))]


def _reshape_units(lo, x, src: TensorType, dst: TensorType):
    """A reshape of a dynamic tensor that only adds or drops unit dims: collapse to the
    non-unit dims, then expand, the dynamic sizes read from the operand."""
    mid = src.with_shape(_non_unit(src.shape))
    if mid.ndim != src.ndim:
        x = tensor.collapse_shape(lo.ir_type(mid), x, _groups_attr(_unit_groups(src.shape)))
    if mid.ndim == dst.ndim:
        return x
    sizes = iter(lo.dims(x, mid))
    dynamic = [next(sizes) if d != 1 else None for d in dst.shape]
    return tensor.expand_shape(lo.ir_type(dst), x, _groups_attr(_unit_groups(dst.shape)),
                               output_shape=[v for v in dynamic if v is not None],
                               static_output_shape=[ir.ShapedType.get_dynamic_size()
                                                    if d is None else d for d in dst.shape])


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
    dynamic = True

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
        sizes = lo.dims(xs[0], in_types[0])
        out = lo.empty(out_types[0], [sizes[p] for p in perm])
        return linalg.transpose(xs[0], outs=[out], permutation=list(perm))

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
    """NumPy broadcasting of the first operand to `shape` (rank may grow on the left).

    A dynamic dim of `shape` (shapeless programs) takes its size at run time from the first
    operand, or else from the first of the further operands (aligned on the right) that has
    that dim dynamic: those operands only lend their shapes."""

    name = "broadcast_to"
    arity = None
    attrs = {"shape": SHAPE}
    dynamic = True

    def infer(self, types, shape):
        if not types:
            raise MxError("'mx.broadcast_to' expects at least one operand")
        t = types[0]
        if len(shape) < t.ndim or any(
            s != d and s != 1 and None not in (s, d)
            for s, d in zip(t.shape[::-1], tuple(shape)[::-1])
        ):
            raise MxError(f"[broadcast_shapes] Shapes ({', '.join(map(str, t.shape))}) and "
                          f"({', '.join(map(str, shape))}) cannot be broadcast.")
        for i, d in enumerate(shape):
            if d is None and broadcast_size_source(types, len(shape), i) is None:
                raise MxError(f"'mx.broadcast_to': nothing gives the size of dynamic dim {i}")
        return [t.with_shape(shape)]

    def reference(self, x, *_sources, shape):  # the further operands only lend sizes
        return np.broadcast_to(x, shape).copy()

    def lower(self, lo, xs, in_types, out_types, shape):
        src, (dst,) = in_types[0], out_types
        if src.shape == dst.shape:
            return xs[0]
        lead = dst.ndim - src.ndim
        exprs = [ir.AffineExpr.get_constant(0) if src.shape[i] == 1 and dst.shape[lead + i] != 1
                 else ir.AffineDimExpr.get(lead + i) for i in range(src.ndim)]
        in_map = ir.AffineMap.get(dst.ndim, 0, exprs)
        sizes = []
        for i, d in enumerate(dst.shape):
            k = broadcast_size_source(in_types, dst.ndim, i) if d is None else None
            sizes.append(None if k is None else
                         lo.dim(xs[k], i - dst.ndim + in_types[k].ndim))
        return lo.generic(xs[:1], [lo.empty(dst, sizes)],
                          [in_map, ir.AffineMap.get_identity(dst.ndim)],
                          [PARALLEL] * dst.ndim, lambda x, _o: x)

    def simplify(self, b, operands, out_types, shape):
        x, sources = operands[0], operands[1:]
        if x.type == out_types[0].to_ir():
            return [x]
        inner = b.producer(x, "broadcast_to")  # broadcasts compose
        if inner is None:
            return None
        inner = list(inner.operands)
        return [b.broadcast_to(inner[0], *sources, *inner[1:], shape=shape)]

    def vjp(self, b, primals, outputs, cotangents, shape):
        rest = [None] * (len(primals) - 1)  # the shape operands get no cotangent
        return [unbroadcast(b, cotangents[0], b.type(primals[0]).shape), *rest]

    def jvp(self, b, primals, tangents, outputs, shape):
        t = tangents[0]
        return [None if t is None else b.broadcast_to(t, *primals[1:], shape=shape)]

    def batch(self, b, operands, axes, shape):
        if len(operands) > 1:
            raise MxError("vmap of a broadcast to a dynamic shape is not supported")
        (x,), (ax,) = operands, axes
        x = move_axis_to_front(b, x, ax)
        t = b.type(x)
        n, rest = t.shape[0], t.shape[1:]
        # align the unbatched dims on the right, keep the batch dim in front
        x = b.reshape(x, shape=(n, *([1] * (len(shape) - len(rest))), *rest))
        return [b.broadcast_to(x, shape=(n, *shape))], [0]


def broadcast_size_source(types, rank: int, i: int):
    """Which operand of a broadcast_to to `rank` dims gives dynamic dim `i`: the first with
    that dim dynamic (aligned on the right), or None."""
    for k, t in enumerate(types):
        j = i - rank + t.ndim
        if j >= 0 and t.shape[j] is None:
            return k
    return None


def broadcast_like(b, x, shape, *like):
    """`x` broadcast to `shape`; where `shape` has dynamic dims, the values `like` (of that
    shape, or broadcasting to it) lend their sizes."""
    if None in tuple(shape):
        return b.broadcast_to(x, *like, shape=tuple(shape))
    return b.broadcast_to(x, shape=tuple(shape))


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
