"""Reductions over `axes`, with `keepdims`: sum, prod, max, min, argmax, argmin."""

from __future__ import annotations

import numpy as np
from mlir import ir

from .core import BOOL, INTS, MxError, TensorType
from .lowering import PARALLEL, REDUCTION, Scalar, cast, compute_dtype, load
from .op import Op, register


def reduced_shape(shape, axes, keepdims) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def check_axes(op: str, t: TensorType, axes) -> None:
    if len(set(axes)) != len(axes) or any(not 0 <= a < t.ndim for a in axes):
        raise MxError(f"[{op}] Invalid axes {tuple(axes)} for array with {t.ndim} dimensions.")


class Reduction(Op):
    """Reduction with an init value and a scalar combiner."""

    attrs = {"axes": INTS, "keepdims": BOOL}
    np_fn = None

    def infer(self, types, axes, keepdims):
        (t,) = types
        check_axes(self.name, t, axes)
        return [t.with_shape(reduced_shape(t.shape, axes, keepdims))]

    def reference(self, x, axes, keepdims):
        return np.asarray(type(self).np_fn(x, axis=tuple(axes), keepdims=keepdims)).astype(x.dtype)

    def init(self, s: Scalar):
        raise NotImplementedError

    def combine(self, s: Scalar, acc, x):
        raise NotImplementedError

    def lower(self, lo, xs, in_types, out_types, axes, keepdims):
        (src,), (dst,) = in_types, out_types
        comp = compute_dtype(src.dtype)
        s = Scalar(comp)
        acc_t = TensorType(reduced_shape(src.shape, axes, False), comp)
        init = lo.fill_value(acc_t, self.init(s))
        out_exprs = [ir.AffineDimExpr.get(i) for i in range(src.ndim) if i not in axes]
        maps = [ir.AffineMap.get_identity(src.ndim), ir.AffineMap.get(src.ndim, 0, out_exprs)]
        iters = [REDUCTION if i in axes else PARALLEL for i in range(src.ndim)]

        def body(x, acc):
            return self.combine(s, acc, cast(load(x, src.dtype), src.dtype, comp))

        r = lo.generic(xs, [init], maps, iters, body)
        if comp != dst.dtype:
            from .misc import AstypeOp

            r = AstypeOp().lower(lo, [r], [acc_t], [acc_t.with_dtype(dst.dtype)], dtype=dst.dtype)
        if keepdims:
            from .shape import ReshapeOp

            r = ReshapeOp().lower(lo, [r], [acc_t.with_dtype(dst.dtype)], [dst], shape=dst.shape)
        return r


@register
class SumOp(Reduction):
    name = "sum"
    np_fn = staticmethod(np.sum)

    def init(self, s):
        return s.const(0)

    def combine(self, s, acc, x):
        return s.add(acc, x)

    def vjp(self, b, primals, outputs, cotangents, axes, keepdims):
        (x,), (ct,) = primals, cotangents
        t = b.type(x)
        kept = b.reshape(ct, shape=reduced_shape(t.shape, axes, True))
        return [b.broadcast_to(kept, shape=t.shape)]

    def jvp(self, b, primals, tangents, outputs, axes, keepdims):
        t = tangents[0]
        return [None if t is None else b.sum(t, axes=axes, keepdims=keepdims)]

    def batch(self, b, operands, axes, **attrs):
        from .shape import move_axis_to_front

        x = move_axis_to_front(b, operands[0], axes[0])
        return [b.sum(x, axes=tuple(a + 1 for a in attrs["axes"]), keepdims=attrs["keepdims"])], [0]
