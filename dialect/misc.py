"""Ops that make or convert values: constant, astype, arange; and barrier."""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg

from .core import DENSE, DTYPE, FLOAT, INTS, ConstValue, MxError, TensorType, is_float
from .lowering import PARALLEL, cast, fpred, load, store
from .op import Op, register


@register
class ConstantOp(Op):
    name = "constant"
    arity = 0
    attrs = {"value": DENSE}

    def infer(self, types, value: ConstValue):
        return [value.type]

    def reference(self, value: ConstValue):
        return value.array

    def lower(self, lo, xs, in_types, out_types, value: ConstValue):
        return lo.constant(out_types[0], value.array)

    def vjp(self, b, primals, outputs, cotangents, value):
        return []

    def jvp(self, b, primals, tangents, outputs, value):
        return [None]

    def batch(self, b, operands, axes, value):
        return [b.constant(value=value)], [None]


@register
class AstypeOp(Op):
    """Element conversion with MLX semantics (float -> int truncates, x != 0 -> bool)."""

    name = "astype"
    attrs = {"dtype": DTYPE}
    dynamic = True

    def infer(self, types, dtype):
        return [types[0].with_dtype(dtype)]

    def reference(self, x, dtype):
        from .core import reference_dtype

        with np.errstate(invalid="ignore"):
            return x.astype(reference_dtype(dtype))

    def lower(self, lo, xs, in_types, out_types, dtype):
        src = in_types[0].dtype
        rank = in_types[0].ndim
        ident = ir.AffineMap.get_identity(rank)
        out = lo.empty(out_types[0], lo.dims(xs[0], in_types[0]))
        return lo.generic(xs, [out], [ident, ident], [PARALLEL] * rank,
                          lambda x, _o: store(cast(load(x, src), src, dtype), dtype))

    def simplify(self, b, operands, out_types, dtype):
        return [operands[0]] if operands[0].type == out_types[0].to_ir() else None

    def vjp(self, b, primals, outputs, cotangents, dtype):
        (x,), (ct,) = primals, cotangents
        src = b.type(x).dtype
        if "bool" in (src, dtype):  # bools carry no derivative; integers do (MLX)
            return [None]
        return [b.astype(ct, dtype=src)]

    def jvp(self, b, primals, tangents, outputs, dtype):
        (x,), (t,) = primals, tangents
        if t is None or "bool" in (b.type(x).dtype, dtype):
            return [None]
        return [b.astype(t, dtype=dtype)]

    def batch(self, b, operands, axes, dtype):
        return [b.astype(operands[0], dtype=dtype)], [axes[0]]


@register
class BitcastOp(Op):
    """The same bits read as another dtype of the same size (MLX's `view`; the frontend splits
    and joins bytes around it). Reinterpreting bits has no derivative."""

    name = "bitcast"
    attrs = {"dtype": DTYPE}
    dynamic = True
    # 2-byte floats are left out: the reference interpreter holds both in float32
    SIZES = {"uint32": 4, "int32": 4, "float32": 4, "int64": 8, "float64": 8}

    def infer(self, types, dtype):
        src = types[0].dtype
        if self.SIZES.get(src) is None or self.SIZES.get(src) != self.SIZES.get(dtype):
            raise MxError(f"'mx.bitcast' cannot reinterpret {src} as {dtype} (same-size "
                          f"{', '.join(self.SIZES)} only)")
        return [types[0].with_dtype(dtype)]

    def reference(self, x, dtype):
        from .core import numpy_dtype

        return np.ascontiguousarray(x).view(numpy_dtype(dtype))

    def lower(self, lo, xs, in_types, out_types, dtype):
        from .lowering import compute_type

        rank = in_types[0].ndim
        ident = ir.AffineMap.get_identity(rank)
        out = lo.empty(out_types[0], lo.dims(xs[0], in_types[0]))
        to = compute_type(dtype)
        return lo.generic(xs, [out], [ident, ident], [PARALLEL] * rank,
                          lambda x, _o: arith.bitcast(to, x))

    def vjp(self, b, primals, outputs, cotangents, dtype):
        return [None]

    def jvp(self, b, primals, tangents, outputs, dtype):
        return [None]

    def batch(self, b, operands, axes, dtype):
        return [b.bitcast(operands[0], dtype=dtype)], [axes[0]]


@register
class ArangeOp(Op):
    """start + step * i for i in range(shape[0])."""

    name = "arange"
    arity = 0
    attrs = {"start": FLOAT, "step": FLOAT, "shape": INTS, "dtype": DTYPE}

    def infer(self, types, start, step, shape, dtype):
        if len(shape) != 1 or shape[0] < 0:
            raise MxError(f"'mx.arange' expects a 1-D non-negative shape, got {shape}")
        return [TensorType(tuple(shape), dtype)]

    def reference(self, start, step, shape, dtype):
        from .core import reference_dtype

        i = np.arange(shape[0], dtype=np.float64)
        return (start + step * i).astype(reference_dtype(dtype))

    def lower(self, lo, xs, in_types, out_types, start, step, shape, dtype):
        out = out_types[0]

        i64 = ir.IntegerType.get_signless(64)
        exact = float(start).is_integer() and float(step).is_integer()
        if dtype.startswith(("int", "uint")) and exact:  # integers stay integers (no f64 on GPUs)
            def body(_o):
                i = arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, 0)).result)
                v = arith.addi(arith.constant(i64, int(start)),
                               arith.muli(arith.constant(i64, int(step)), i))
                return store(cast(v, "int64", dtype), dtype)

            return lo.generic([], [lo.empty(out)], [ir.AffineMap.get_identity(1)], [PARALLEL],
                              body)

        def body(_o):
            i = linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0)).result
            f = arith.uitofp(ir.F64Type.get(), arith.index_cast(ir.IntegerType.get_signless(64), i))
            v = arith.addf(arith.constant(ir.F64Type.get(), start),
                           arith.mulf(arith.constant(ir.F64Type.get(), step), f))
            return store(cast(v, "float64", dtype), dtype)

        return lo.generic([], [lo.empty(out)], [ir.AffineMap.get_identity(1)], [PARALLEL], body)

    def vjp(self, b, primals, outputs, cotangents, **attrs):
        return []

    def jvp(self, b, primals, tangents, outputs, **attrs):
        return [None]

    def batch(self, b, operands, axes, **attrs):
        return [b.arange(**attrs)], [None]


@register
class BarrierOp(Op):
    """`barrier(x, s)` is `x`, computed only once the float scalar `s` is: what mx.checkpoint's
    recomputation reads in the reverse sweep (`s` comes from the cotangent), so that no CSE,
    ours or upstream, merges the recomputed values with the forward sweep's and their buffers
    need not live until the reverse sweep. Lowered as `select(s > +inf, -x, x)`: never -x, and
    not foldable before bufferization (LLVM folds it later)."""

    name = "barrier"
    arity = 2
    dynamic = True

    def infer(self, types):
        x, s = types
        if s.shape != () or not (is_float(s.dtype) and is_float(x.dtype)):
            raise MxError(f"'mx.barrier' expects a float tensor and a float scalar, got {x} "
                          f"and {s}")
        return [x]

    def reference(self, x, s):
        return x

    def lower(self, lo, xs, in_types, out_types):
        x_type = in_types[0]
        rank, dtype = x_type.ndim, x_type.dtype
        ident = ir.AffineMap.get_identity(rank)
        scalar = ir.AffineMap.get(rank, 0, [])
        out = lo.empty(out_types[0], lo.dims(xs[0], x_type))

        def body(x, s, _o):
            never = arith.cmpf(fpred("ogt"), s, arith.constant(s.type, float("inf")))
            v = load(x, dtype)
            return store(arith.select(never, arith.negf(v), v), dtype)

        return lo.generic(xs, [out], [ident, scalar, ident], [PARALLEL] * rank, body)

    def vjp(self, b, primals, outputs, cotangents):
        return [cotangents[0], None]

    def jvp(self, b, primals, tangents, outputs):
        return [tangents[0]]

    def batch(self, b, operands, axes):
        (x, s), (ax, s_ax) = operands, axes
        if s_ax is not None:  # one scalar orders the whole batch
            s = b.sum(s, axes=(s_ax,), keepdims=False)
        return [b.barrier(x, s)], [ax]


__all__ = ["ConstantOp", "AstypeOp", "ArangeOp", "BarrierOp", "is_float"]
