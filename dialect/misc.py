"""Ops that make or convert values: constant, astype, arange; and barrier."""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, scf, tensor

from .core import (
    DENSE,
    DTYPE,
    FLOAT,
    INTS,
    ConstValue,
    MxError,
    TensorType,
    bf16_bits_from_f32,
    f32_from_bf16_bits,
    is_float,
    numpy_dtype,
    reference_dtype,
)
from .lowering import PARALLEL, Scalar, cast, fpred, load, store
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
    SIZES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
             "uint32": 4, "int32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8}

    def infer(self, types, dtype):
        src = types[0].dtype
        if self.SIZES.get(src) is None or self.SIZES.get(src) != self.SIZES.get(dtype):
            raise MxError(f"'mx.bitcast' cannot reinterpret {src} as {dtype} (same-size "
                          f"{', '.join(self.SIZES)} only)")
        return [types[0].with_dtype(dtype)]

    def reference(self, x, dtype):
        # the reference interpreter holds bfloat16 in float32: through its 16-bit storage
        bits = (bf16_bits_from_f32(x) if x.dtype == np.float32 and dtype != "float32"
                and x.dtype.itemsize != self.SIZES[dtype] else np.ascontiguousarray(x))
        if dtype == "bfloat16":
            return f32_from_bf16_bits(bits.view(np.uint16))
        return bits.view(numpy_dtype(dtype))

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


def _in_dtype(x: float, dtype: str):
    """`x` converted as C++ converts a double to dtype: rounded for floats (bfloat16 through
    float32, as MLX's bfloat16 type), truncated and wrapped for integers."""
    if dtype == "bfloat16":
        return float(f32_from_bf16_bits(bf16_bits_from_f32(np.float32(x))))
    if is_float(dtype):
        return float(np.array(x).astype(numpy_dtype(dtype)))
    return int(np.array(math.trunc(x), np.int64).astype(numpy_dtype(dtype)))


def _arange_start_step(start: float, step: float, dtype: str):
    """MLX's arange constants: T(start), and the step T(start + step) - T(start) in T."""
    first = _in_dtype(start, dtype)
    nxt = _in_dtype(start + step, dtype)
    if is_float(dtype):
        return first, _in_dtype(np.array(nxt, reference_dtype(dtype)) - first, dtype)
    return first, int(np.array(nxt - first, np.int64).astype(numpy_dtype(dtype)))


def _bf16_running_sum(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    acc = np.float32(0)
    for k, v in enumerate(values):  # each addition rounded to bfloat16, as MLX's
        acc = np.float32(_in_dtype(v if k == 0 else acc + v, "bfloat16"))
        out[k] = acc
    return out


@register
class ArangeOp(Op):
    """MLX's arange: the first value is start cast to dtype, and each next one adds, in dtype's
    own arithmetic, step_T = T(start + step) - T(start). A running sum, as MLX's CPU computes
    it (arange(0, 1000, 0.1) in float32 ends 0.097 from 999.9, and so must ours)."""

    name = "arange"
    arity = 0
    attrs = {"start": FLOAT, "step": FLOAT, "shape": INTS, "dtype": DTYPE}

    def infer(self, types, start, step, shape, dtype):
        if len(shape) != 1 or shape[0] < 0:
            raise MxError(f"'mx.arange' expects a 1-D non-negative shape, got {shape}")
        if dtype == "bool":
            raise MxError("'mx.arange' has no bool form")
        return [TensorType(tuple(shape), dtype)]

    def reference(self, start, step, shape, dtype):
        first, step_t = _arange_start_step(start, step, dtype)
        t = np.dtype(reference_dtype(dtype))
        values = np.full(shape[0], step_t, t)
        values[:1] = first
        return np.add.accumulate(values, dtype=t) if dtype != "bfloat16" else _bf16_running_sum(
            values)

    def lower(self, lo, xs, in_types, out_types, start, step, shape, dtype):
        first, step_t = _arange_start_step(start, step, dtype)
        out = lo.empty(out_types[0])
        if not is_float(dtype):  # integers wrap alike either way: the parallel closed form
            i64 = ir.IntegerType.get_signless(64)

            def body(_o):
                i = arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, 0)).result)
                signed = [(v + 2**63) % 2**64 - 2**63 for v in (first, step_t)]  # as int64
                v = arith.addi(arith.constant(i64, signed[0]),
                               arith.muli(arith.constant(i64, signed[1]), i))
                return store(cast(v, "int64", dtype), dtype)

            return lo.generic([], [out], [ir.AffineMap.get_identity(1)], [PARALLEL], body)
        first, step_t = Scalar(dtype).const(first), Scalar(dtype).const(step_t)
        index = ir.IndexType.get()
        if shape[0] == 0:
            return out
        out = tensor.insert(store(first, dtype), out, [arith.constant(index, 0)])
        # floats: each value from the one before in the buffer, as MLX's running sum (no
        # scalar carried, so the loop also runs as a serial GPU kernel: mx-to-gpu maps only
        # loops without results)
        one = arith.constant(index, 1)
        loop = scf.ForOp(one, arith.constant(index, shape[0]), one, [out])
        with ir.InsertionPoint(loop.body):
            (cur,), i = loop.inner_iter_args, loop.induction_variable
            prev = load(tensor.extract(cur, [arith.subi(i, one)]), dtype)
            scf.YieldOp([tensor.insert(store(Scalar(dtype).add(prev, step_t), dtype), cur, [i])])
        return loop.results[0]

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
