"""Joining ops: concatenate (variadic, along `axis`) and constant pad (`low`/`high` per axis)."""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, tensor

from .core import INT, INTS, DynamicDimsError, MxError, TensorType
from .op import Op, register
from .shape import move_axis_to_front


def _fmt(shape) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


def _insert(lo, x, dest, t: TensorType, offsets):
    """`dest` with `x` (of type `t`) written at `offsets` (unit strides). An offset may be an
    index value and a dim of `t` dynamic (sizes read from `x` at run time)."""
    if not t.dynamic and t.size == 0:  # nothing to write; an empty insert_slice is noise
        return dest
    if t.dynamic or not all(isinstance(o, int) for o in offsets):
        dyn_off, dyn_size = ir.ShapedType.get_dynamic_stride_or_offset(), \
            ir.ShapedType.get_dynamic_size()
        sizes = lo.dims(x, t)
        args = ([o for o in offsets if not isinstance(o, int)],
                [s for s in sizes if s is not None], [],
                [o if isinstance(o, int) else dyn_off for o in offsets],
                [dyn_size if d is None else d for d in t.shape], [1] * t.ndim)
        return tensor.insert_slice(x, dest, *args)
    return tensor.insert_slice(x, dest, [], [], [], list(offsets), list(t.shape), [1] * t.ndim)


def _batch_size(b, operands, axes) -> int:
    return next(b.type(x).shape[a] for x, a in zip(operands, axes, strict=True) if a is not None)


def _to_front(b, x, axis, n: int):
    if axis is None:  # unbatched operands are the same for every batch element
        return b.broadcast_to(x, shape=(n, *b.type(x).shape))
    return move_axis_to_front(b, x, axis)


@register
class ConcatenateOp(Op):
    name = "concatenate"
    arity = None
    attrs = {"axis": INT}
    dynamic = True  # eager evaluation's growing shapes (a KV cache: eager.py)

    def infer(self, types, axis):
        if not types:
            raise MxError("[concatenate] No arrays provided for concatenation")
        first = types[0]
        if not 0 <= axis < first.ndim:
            raise MxError(f"[concatenate] Axis {axis} is out of bounds for array with "
                          f"{first.ndim} dimensions.")
        total = 0
        for t in types:
            if t.ndim != first.ndim:
                raise MxError("[concatenate] All the input arrays must have the same number of "
                              f"dimensions. However, got arrays with dimensions {first.ndim} "
                              f"and {t.ndim}.")
            if any(d != e and None not in (d, e)
                   for i, (d, e) in enumerate(zip(t.shape, first.shape, strict=True))
                   if i != axis):
                raise MxError("[concatenate] All the input array dimensions must match exactly "
                              "except for the concatenation axis. However, the provided shapes "
                              "are " + ", ".join(_fmt(u.shape) for u in types)
                              + f", and the concatenation axis is {axis}.")
            if t.dtype != first.dtype:
                raise MxError(f"'mx.concatenate' expects operands of one dtype, got {first} "
                              f"and {t}")
            total = None if None in (total, t.shape[axis]) else total + t.shape[axis]
        # a dim dynamic in one operand is the others' size there (as elementwise ops assume)
        shape = [next((u.shape[i] for u in types if u.shape[i] is not None), None)
                 for i in range(first.ndim)]
        shape[axis] = total
        return [first.with_shape(shape)]

    def reference(self, *xs, axis):
        return np.concatenate(xs, axis=axis)

    def lower(self, lo, xs, in_types, out_types, axis):
        (dst,) = out_types
        sizes = None
        if dst.dynamic:  # each dim from an operand that has it dynamic; the axis, summed
            sizes = lo.common_dims(xs, in_types)
            index = ir.IndexType.get()
            total = None
            for x, t in zip(xs, in_types, strict=True):
                n = lo.dim(x, axis) if t.shape[axis] is None else arith.constant(
                    index, t.shape[axis])
                total = n if total is None else arith.addi(total, n)
            sizes[axis] = total if dst.shape[axis] is None else None
        out = lo.empty(dst, sizes)
        offset = 0  # an int while every size before is static, else an index value
        for x, t in zip(xs, in_types, strict=True):
            offsets = [0] * t.ndim
            offsets[axis] = offset
            out = _insert(lo, x, out, t, offsets)
            n = t.shape[axis]
            if isinstance(offset, int) and n is not None:
                offset += n
            else:
                index = ir.IndexType.get()
                prev = arith.constant(index, offset) if isinstance(offset, int) else offset
                step = lo.dim(x, axis) if n is None else arith.constant(index, n)
                offset = arith.addi(prev, step)
        return out

    def vjp(self, b, primals, outputs, cotangents, axis):
        (ct,) = cotangents
        shape = b.type(ct).shape
        if None in shape:
            raise DynamicDimsError("the vjp of concatenate slices at static offsets")
        grads, offset = [], 0
        for x in primals:
            n = b.type(x).shape[axis]
            start = [0] * len(shape)
            stop = list(shape)
            start[axis], stop[axis] = offset, offset + n
            grads.append(b.slice(ct, start=tuple(start), stop=tuple(stop),
                                 strides=(1,) * len(shape)))
            offset += n
        return grads

    def jvp(self, b, primals, tangents, outputs, axis):
        if all(t is None for t in tangents):
            return [None]
        ts = [b.zeros_like(x) if t is None else t for x, t in zip(primals, tangents, strict=True)]
        return [b.concatenate(*ts, axis=axis)]

    def batch(self, b, operands, axes, axis):
        n = _batch_size(b, operands, axes)
        xs = [_to_front(b, x, a, n) for x, a in zip(operands, axes, strict=True)]
        return [b.concatenate(*xs, axis=axis + 1)], [0]


def check_pad_widths(low, high) -> None:
    """MLX's error for a negative padding size (also used by the frontend's edge mode)."""
    for i, (lo_, hi) in enumerate(zip(low, high, strict=True)):
        for side, size in (("low", lo_), ("high", hi)):
            if size < 0:
                raise MxError(f"Invalid {side} padding size ({size}) passed to pad for axis "
                              f"{i}. Padding sizes must be non-negative")


@register
class PadOp(Op):
    """Constant padding: operand 1 is the pad value, a rank-0 tensor of the operand's dtype."""

    name = "pad"
    arity = 2
    attrs = {"low": INTS, "high": INTS}

    def infer(self, types, low, high):
        x, v = types
        if v.ndim != 0 or v.dtype != x.dtype:
            raise MxError(f"'mx.pad' expects a rank-0 pad value of the operand's dtype, got {v} "
                          f"for {x}")
        if len(low) != x.ndim or len(high) != x.ndim:
            raise MxError("Invalid number of padding sizes passed to pad with axes of size "
                          f"{x.ndim}")
        check_pad_widths(low, high)
        return [x.with_shape(d + lo_ + hi for d, lo_, hi in zip(x.shape, low, high,
                                                                 strict=True))]

    def reference(self, x, v, low, high):
        if x.ndim == 0:  # nothing to pad (NumPy rejects an empty pad_width)
            return x.copy()
        return np.pad(x, list(zip(low, high, strict=True)), mode="constant",
                      constant_values=np.asarray(v).item()).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types, low, high):
        (x, v), (src, _), (dst,) = xs, in_types, out_types
        if src.shape == dst.shape:
            return x
        out = lo.splat(v, dst)
        return _insert(lo, x, out, src, low)

    @staticmethod
    def _inner(b, ct, x, low):
        shape = b.type(x).shape
        stop = tuple(lo_ + d for lo_, d in zip(low, shape, strict=True))
        return b.slice(ct, start=tuple(low), stop=stop, strides=(1,) * len(shape))

    def vjp(self, b, primals, outputs, cotangents, low, high):
        (x, v), (ct,) = primals, cotangents
        # the pad value's cotangent sums the cotangent over the padding (mask, not a difference
        # of sums, so it is exact)
        mask = b.pad(b.zeros_like(x), b.ones_like(v), low=low, high=high)
        ct_v = b.sum(b.multiply(ct, mask), axes=tuple(range(b.type(ct).ndim)), keepdims=False)
        return [self._inner(b, ct, x, low), ct_v]

    def jvp(self, b, primals, tangents, outputs, low, high):
        (x, v), (tx, tv) = primals, tangents
        if tx is None and tv is None:
            return [None]
        tx = b.zeros_like(x) if tx is None else tx
        tv = b.zeros_like(v) if tv is None else tv
        return [b.pad(tx, tv, low=low, high=high)]

    def batch(self, b, operands, axes, low, high):
        (x, v), (ax, av) = operands, axes
        n = _batch_size(b, operands, axes)
        x = _to_front(b, x, ax, n)
        low1, high1 = (0, *low), (0, *high)
        if av is None:
            return [b.pad(x, v, low=low1, high=high1)], [0]
        # one pad value per batch element: pad with anything, then select the padding
        xt = b.type(x)
        padded = b.pad(x, b.full(TensorType((), xt.dtype), 0), low=low1, high=high1)
        pt = b.type(padded)
        inside = b.pad(b.full(xt.with_dtype("bool"), True), b.full(TensorType((), "bool"), False),
                       low=low1, high=high1)
        values = b.reshape(move_axis_to_front(b, v, av), shape=(n,) + (1,) * (pt.ndim - 1))
        return [b.select(inside, padded, b.broadcast_to(values, shape=pt.shape))], [0]
