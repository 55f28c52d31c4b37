"""Linear algebra: matmul over (..., M, K) x (..., K, N) with equal batch dims (the frontend
broadcasts batch dims and reshapes 1-D operands, as MLX's `matmul` does)."""

from __future__ import annotations

import math

import numpy as np
from mlir.dialects import linalg

from .core import MxError, TensorType, is_float
from .lowering import compute_dtype
from .op import Op, register


def swap_last(b, x):
    """Transpose the last two axes (the matrix transpose of a batch of matrices)."""
    rank = b.type(x).ndim
    return b.transpose(x, perm=(*range(rank - 2), rank - 1, rank - 2))


def _fmt(shape) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


@register
class MatmulOp(Op):
    name = "matmul"
    arity = 2

    def infer(self, types):
        a, c = types
        if a.ndim < 2 or c.ndim < 2:
            raise MxError(f"'mx.matmul' expects operands of rank >= 2, got {a} and {c}")
        if a.shape[-1] != c.shape[-2]:
            raise MxError(f"[matmul] Last dimension of first input with shape {_fmt(a.shape)} "
                          "must match second to last dimension of second input with shape "
                          f"{_fmt(c.shape)}.")
        if a.shape[:-2] != c.shape[:-2] or a.dtype != c.dtype:
            raise MxError(f"'mx.matmul' expects equal batch dimensions and dtypes, got {a} "
                          f"and {c}")
        if not is_float(a.dtype):
            raise MxError(f"[matmul] Only inexact types are supported but {a.dtype} and "
                          f"{c.dtype} were provided which results in {a.dtype}, which is not "
                          "a floating point type.")
        return [TensorType((*a.shape[:-1], c.shape[-1]), a.dtype)]

    def reference(self, a, c):
        return np.matmul(a, c).astype(a.dtype)

    def lower(self, lo, xs, in_types, out_types):
        from .misc import AstypeOp
        from .shape import ReshapeOp

        (a, c), (ta, tc), (out,) = xs, in_types, out_types
        acc_dtype = compute_dtype(out.dtype)  # half inputs accumulate in float32, as MLX
        if out.ndim == 2:
            acc_t = TensorType(out.shape, acc_dtype)
            r = linalg.matmul(a, c, outs=[lo.fill(acc_t, 0)])
        else:  # fold the batch dims into one: linalg.batch_matmul takes exactly one
            n = math.prod(out.shape[:-2])

            def fold(x, t):
                return ReshapeOp().lower(lo, [x], [t], [t.with_shape((n, *t.shape[-2:]))],
                                         shape=(n, *t.shape[-2:]))

            acc3 = TensorType((n, *out.shape[-2:]), acc_dtype)
            r = linalg.batch_matmul(fold(a, ta), fold(c, tc), outs=[lo.fill(acc3, 0)])
            acc_t = TensorType(out.shape, acc_dtype)
            r = ReshapeOp().lower(lo, [r], [acc3], [acc_t], shape=out.shape)
        if acc_dtype != out.dtype:
            r = AstypeOp().lower(lo, [r], [acc_t], [out], dtype=out.dtype)
        return r

    def vjp(self, b, primals, outputs, cotangents):
        (a, c), (ct,) = primals, cotangents
        return [b.matmul(ct, swap_last(b, c)), b.matmul(swap_last(b, a), ct)]

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
