"""Slicing, gather and scatter: slice, slice_update, take, take_along_axis, scatter_add.

Index semantics (all ops): a negative signed index counts from the end of its axis once, as in
MLX's kernels; an index still out of range is clamped into the axis. MLX leaves out-of-range
indices undefined; clamping keeps every access in bounds and keeps `take` and `scatter_add`
exact adjoints of each other. Axes in attributes are normalised (non-negative) by the frontend.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, scf, tensor

from .core import INT, INTEGERS, INTS, UNSIGNED, MxError, TensorType
from .lowering import HALF, PARALLEL, Scalar, cast
from .op import Op, register
from .shape import move_axis_to_front

INDEX_DTYPES = INTEGERS


# ---------------------------------------------------------------------------------------------
# shared helpers
def _check_axis(op: str, axis: int, ndim: int) -> None:
    if not 0 <= axis < ndim:
        raise MxError(f"[{op}] Received invalid axis {axis} for array with {ndim} dimensions.")


def _check_index_dtype(op: str, t: TensorType) -> None:
    if t.dtype not in INDEX_DTYPES:
        raise MxError(f"[{op}] Got indices with invalid dtype. Indices must be integral.")


def normalize_indices_np(idx: np.ndarray, size: int) -> np.ndarray:
    """Reference index semantics: wrap negatives once, clamp into [0, size - 1]."""
    idx = np.asarray(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + size, idx)
    return np.clip(idx, 0, max(size - 1, 0))


def _index_value(v, dtype: str, size: int):
    """A scalar index of `dtype` (storage type) -> an `index` value with the same semantics."""
    t = v.type
    last = arith.constant(t, max(size - 1, 0))
    if dtype in UNSIGNED:
        v = arith.minui(v, last)
        return arith.index_castui(ir.IndexType.get(), v)
    zero = arith.constant(t, 0)
    neg = arith.cmpi(_slt(), v, zero)
    v = arith.select(neg, arith.addi(v, arith.constant(t, size)), v)
    v = arith.maxsi(arith.minsi(v, last), zero)
    return arith.index_cast(ir.IndexType.get(), v)


def _slt():
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 2)


def _loop_index(d: int):
    return linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), d)).result


def _dims(n: int, offset: int = 0):
    return [ir.AffineDimExpr.get(offset + i) for i in range(n)]


def _index_dtype_for(extent: int) -> str:
    return "int32" if extent < 2**31 else "int64"


def normalized_indices(b, idx, size: int, dtype: str):
    """Emit mx ops: `idx` wrapped and clamped into [0, size - 1], converted to `dtype`."""
    t = b.type(idx)
    if t.dtype in UNSIGNED:
        idx = b.minimum(idx, b.full_like(idx, max(size - 1, 0)))
        return idx if t.dtype == dtype else b.astype(idx, dtype=dtype)
    if t.dtype != dtype and np.iinfo(t.dtype).max < np.iinfo(dtype).max:
        idx = b.astype(idx, dtype=dtype)
    zero = b.zeros_like(idx)
    idx = b.select(b.less(idx, zero), b.add(idx, b.full_like(idx, size)), idx)
    idx = b.maximum(b.minimum(idx, b.full_like(idx, max(size - 1, 0))), zero)
    return idx if b.type(idx).dtype == dtype else b.astype(idx, dtype=dtype)


def batch_offsets(b, idx, extent: int):
    """`idx` (batch axis 0, already normalised) plus `batch * extent` per batch element: the
    index into an axis where the batch axis was merged in front of an axis of size `extent`."""
    t = b.type(idx)
    n = t.shape[0]
    iota = b.arange(start=0.0, step=float(extent), shape=(n,), dtype=t.dtype)
    iota = b.reshape(iota, shape=(n,) + (1,) * (t.ndim - 1))
    return b.add(idx, b.broadcast_to(iota, shape=t.shape))


def to_front(b, x, axis, n: int):
    """`x` with its batch axis in front; an unbatched operand (axis None) is broadcast."""
    if axis is None:
        return b.broadcast_to(x, shape=(n, *b.type(x).shape))
    return move_axis_to_front(b, x, axis)


def batch_size(b, operands, axes) -> int:
    return next(b.type(x).shape[a] for x, a in zip(operands, axes, strict=True) if a is not None)


def _merge_batch_into_axis(b, x0, axis: int):
    """(n, pre..., A, post...) -> (pre..., n*A, post...)."""
    t = b.type(x0)
    perm = (*range(1, axis + 1), 0, *range(axis + 1, t.ndim))
    x = b.transpose(x0, perm=perm) if perm != tuple(range(t.ndim)) else x0
    shape = t.shape[1:axis + 1] + (t.shape[0] * t.shape[axis + 1],) + t.shape[axis + 2:]
    return b.reshape(x, shape=shape)


def _slices(start, stop, strides):
    return tuple(slice(s, e, k) for s, e, k in zip(start, stop, strides, strict=True))


def _sliced_shape(start, stop, strides) -> tuple[int, ...]:
    return tuple(max(0, -(-(e - s) // k)) for s, e, k in zip(start, stop, strides, strict=True))


def _check_slice(op: str, t: TensorType, start, stop, strides) -> None:
    if not len(start) == len(stop) == len(strides) == t.ndim:
        raise MxError(f"[{op}] Invalid number of start, stop and strides entries "
                      f"({len(start)}, {len(stop)}, {len(strides)}) for array with {t.ndim} "
                      "dimensions.")
    for d, (s, e, k) in enumerate(zip(start, stop, strides, strict=True)):
        if k < 1 or not 0 <= s <= e <= t.shape[d]:
            raise MxError(f"[{op}] Invalid slice {s}:{e}:{k} for axis {d} of size {t.shape[d]} "
                          "(bounds must be normalised, 0 <= start <= stop <= size, stride >= 1).")


# ---------------------------------------------------------------------------------------------
@register
class SliceOp(Op):
    """x[start:stop:strides] per axis (normalised bounds, positive strides)."""

    name = "slice"
    attrs = {"start": INTS, "stop": INTS, "strides": INTS}

    def infer(self, types, start, stop, strides):
        (t,) = types
        _check_slice("slice", t, start, stop, strides)
        return [t.with_shape(_sliced_shape(start, stop, strides))]

    def reference(self, x, start, stop, strides):
        return x[_slices(start, stop, strides)]

    def lower(self, lo, xs, in_types, out_types, start, stop, strides):
        (x,), (src,), (dst,) = xs, in_types, out_types
        if src.shape == dst.shape:
            return x
        if dst.size == 0:  # the verifier rejects offsets into an empty result's dims
            return lo.empty(dst)
        return tensor.extract_slice(lo.ir_type(dst), x, [], [], [], list(start),
                                    list(dst.shape), list(strides))

    def vjp(self, b, primals, outputs, cotangents, start, stop, strides):
        return [b.slice_update(b.zeros_like(primals[0]), cotangents[0], start=start, stop=stop,
                               strides=strides)]

    def jvp(self, b, primals, tangents, outputs, start, stop, strides):
        t = tangents[0]
        return [None if t is None else b.slice(t, start=start, stop=stop, strides=strides)]

    def batch(self, b, operands, axes, start, stop, strides):
        (x,), (ax,) = operands, axes
        n = b.type(x).shape[ax]
        return [b.slice(x, start=(*start[:ax], 0, *start[ax:]), stop=(*stop[:ax], n, *stop[ax:]),
                        strides=(*strides[:ax], 1, *strides[ax:]))], [ax]


@register
class SliceUpdateOp(Op):
    """x with x[start:stop:strides] replaced by `update` (the adjoint of slice)."""

    name = "slice_update"
    arity = 2
    attrs = {"start": INTS, "stop": INTS, "strides": INTS}

    def infer(self, types, start, stop, strides):
        t, u = types
        _check_slice("slice_update", t, start, stop, strides)
        shape = _sliced_shape(start, stop, strides)
        if u.dtype != t.dtype or u.shape != shape:
            raise MxError(f"[slice_update] Update of type {u} does not match the slice "
                          f"{t.with_shape(shape)}.")
        return [t]

    def reference(self, x, update, start, stop, strides):
        out = x.copy()
        out[_slices(start, stop, strides)] = update
        return out

    def lower(self, lo, xs, in_types, out_types, start, stop, strides):
        x, u = xs
        if in_types[1].size == 0:
            return x
        return tensor.insert_slice(u, x, [], [], [], list(start), list(in_types[1].shape),
                                   list(strides))

    def vjp(self, b, primals, outputs, cotangents, start, stop, strides):
        (ct,), (_, u) = cotangents, primals
        kw = {"start": start, "stop": stop, "strides": strides}
        return [b.slice_update(ct, b.zeros_like(u), **kw), b.slice(ct, **kw)]

    def jvp(self, b, primals, tangents, outputs, start, stop, strides):
        (x, u), (tx, tu) = primals, tangents
        if tx is None and tu is None:
            return [None]
        tx = b.zeros_like(x) if tx is None else tx
        tu = b.zeros_like(u) if tu is None else tu
        return [b.slice_update(tx, tu, start=start, stop=stop, strides=strides)]

    def batch(self, b, operands, axes, start, stop, strides):
        n = batch_size(b, operands, axes)
        x, u = (to_front(b, v, a, n) for v, a in zip(operands, axes, strict=True))
        return [b.slice_update(x, u, start=(0, *start), stop=(n, *stop),
                               strides=(1, *strides))], [0]


# ---------------------------------------------------------------------------------------------
@register
class TakeOp(Op):
    """Gather along `axis`: out[pre, j..., post] = x[pre, indices[j...], post]."""

    name = "take"
    arity = 2
    attrs = {"axis": INT}

    def infer(self, types, axis):
        x, idx = types
        _check_axis("take", axis, x.ndim)
        _check_index_dtype("gather", idx)
        if x.shape[axis] == 0 and idx.size != 0:
            raise MxError("[take] Cannot do a non-empty take from an empty axis.")
        return [x.with_shape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])]

    def reference(self, x, indices, axis):
        return np.take(x, normalize_indices_np(indices, x.shape[axis]), axis=axis)

    def lower(self, lo, xs, in_types, out_types, axis):
        (x, idx), (xt, it), (out,) = xs, in_types, out_types
        k, rank = it.ndim, out.ndim
        idx_map = ir.AffineMap.get(rank, 0, _dims(k, axis))

        def body(i, _o):
            pos = _index_value(i, it.dtype, xt.shape[axis])
            coords = ([_loop_index(d) for d in range(axis)] + [pos]
                      + [_loop_index(d) for d in range(axis + k, rank)])
            return tensor.extract(x, coords)

        return lo.generic([idx], [lo.empty(out)], [idx_map, ir.AffineMap.get_identity(rank)],
                          [PARALLEL] * rank, body)

    def vjp(self, b, primals, outputs, cotangents, axis):
        (x, idx), (ct,) = primals, cotangents
        return [b.scatter_add(b.zeros_like(x), idx, ct, axis=axis), None]

    def jvp(self, b, primals, tangents, outputs, axis):
        t = tangents[0]
        return [None if t is None else b.take(t, primals[1], axis=axis)]

    def batch(self, b, operands, axes, axis):
        (x, idx), (ax, ai) = operands, axes
        k = b.type(idx).ndim
        if ai is None:  # gather along the unbatched axis' new position
            axis1 = axis + (1 if ax <= axis else 0)
            out_ax = ax if ax < axis1 else ax + k - 1
            return [b.take(x, idx, axis=axis1)], [out_ax]
        if ax is None:  # the index dims (batch included) land at `axis`
            return [b.take(x, idx, axis=axis)], [axis + ai]
        # both batched: merge the batch axis into the gathered axis and offset the indices
        n = b.type(x).shape[ax]
        x0 = move_axis_to_front(b, x, ax)
        size = b.type(x0).shape[axis + 1]
        dtype = _index_dtype_for(n * size)
        idx0 = normalized_indices(b, move_axis_to_front(b, idx, ai), size, dtype)
        merged = _merge_batch_into_axis(b, x0, axis)
        return [b.take(merged, batch_offsets(b, idx0, size), axis=axis)], [axis]


@register
class TakeAlongAxisOp(Op):
    """NumPy take_along_axis: out[i..., j, k...] = x[i..., indices[i..., j, k...], k...].
    `indices` has x's rank and x's shape except along `axis` (the frontend broadcasts)."""

    name = "take_along_axis"
    arity = 2
    attrs = {"axis": INT}

    def infer(self, types, axis):
        x, idx = types
        _check_axis("take_along_axis", axis, x.ndim)
        _check_index_dtype("take_along_axis", idx)
        if idx.ndim != x.ndim:
            raise MxError(f"[take_along_axis] Indices of dimension {idx.ndim} does not match "
                          f"array of dimension {x.ndim}.")
        pairs = enumerate(zip(idx.shape, x.shape, strict=True))
        if any(i != s for d, (i, s) in pairs if d != axis):
            raise MxError(f"[take_along_axis] Indices of shape {idx.shape} do not match array "
                          f"of shape {x.shape} outside axis {axis}.")
        if x.shape[axis] == 0 and idx.size != 0:
            raise MxError("[take_along_axis] Cannot do a non-empty take from an empty axis.")
        return [x.with_shape(idx.shape)]

    def reference(self, x, indices, axis):
        return np.take_along_axis(x, normalize_indices_np(indices, x.shape[axis]), axis=axis)

    def lower(self, lo, xs, in_types, out_types, axis):
        (x, idx), (xt, it), (out,) = xs, in_types, out_types
        rank = out.ndim
        ident = ir.AffineMap.get_identity(rank)

        def body(i, _o):
            pos = _index_value(i, it.dtype, xt.shape[axis])
            return tensor.extract(x, [pos if d == axis else _loop_index(d) for d in range(rank)])

        return lo.generic([idx], [lo.empty(out)], [ident, ident], [PARALLEL] * rank, body)

    def vjp(self, b, primals, outputs, cotangents, axis):
        (x, idx), (ct,) = primals, cotangents
        xt = b.type(x)
        flat = flat_indices_along_axis(b, idx, xt.shape, axis)
        n = b.type(flat).size
        grad = b.scatter_add(b.full(TensorType((xt.size,), xt.dtype), 0),
                             b.reshape(flat, shape=(n,)), b.reshape(ct, shape=(n,)), axis=0)
        return [b.reshape(grad, shape=xt.shape), None]

    def jvp(self, b, primals, tangents, outputs, axis):
        t = tangents[0]
        return [None if t is None else b.take_along_axis(t, primals[1], axis=axis)]

    def batch(self, b, operands, axes, axis):
        n = batch_size(b, operands, axes)
        x, idx = (to_front(b, v, a, n) for v, a in zip(operands, axes, strict=True))
        return [b.take_along_axis(x, idx, axis=axis + 1)], [0]


def flat_indices_along_axis(b, idx, shape, axis: int):
    """Row-major flat positions in an array of `shape` of the elements that take_along_axis
    reads: `idx` (normalised) along `axis`, the element's own coordinate along the others."""
    it = b.type(idx)
    dtype = _index_dtype_for(math.prod(shape))
    strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    flat = normalized_indices(b, idx, shape[axis], dtype)
    if strides[axis] != 1:
        flat = b.multiply(flat, b.full_like(flat, strides[axis]))
    for d in range(len(shape)):
        if d == axis or it.shape[d] == 1:
            continue
        iota = b.arange(start=0.0, step=float(strides[d]), shape=(it.shape[d],), dtype=dtype)
        iota = b.reshape(iota, shape=tuple(it.shape[d] if e == d else 1 for e in range(it.ndim)))
        flat = b.add(flat, b.broadcast_to(iota, shape=it.shape))
    return flat


# ---------------------------------------------------------------------------------------------
@register
class ScatterAddOp(Op):
    """The adjoint of take: out = x; out[pre, indices[j...], post] += updates[pre, j..., post].
    Duplicate indices accumulate."""

    name = "scatter_add"
    arity = 3
    attrs = {"axis": INT}

    def infer(self, types, axis):
        x, idx, upd = types
        _check_axis("scatter_add", axis, x.ndim)
        _check_index_dtype("scatter_add", idx)
        if x.dtype == "bool":
            raise MxError("[scatter_add] Boolean arrays are not supported.", exc_type=TypeError)
        want = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
        if upd.dtype != x.dtype or upd.shape != want:
            raise MxError(f"[scatter_add] Updates of type {upd} do not match "
                          f"{x.with_shape(want)} for indices of shape {idx.shape}.")
        if x.shape[axis] == 0 and upd.size != 0:
            raise MxError("[scatter_add] Cannot scatter non-empty updates into an empty axis.")
        return [x]

    def reference(self, x, indices, updates, axis):
        out = x.copy()
        pos = (slice(None),) * axis + (normalize_indices_np(indices, x.shape[axis]),)
        np.add.at(out, pos, updates)
        return out

    def lower(self, lo, xs, in_types, out_types, axis):
        (x, idx, upd), (xt, it, ut) = xs, in_types
        k = it.ndim
        acc = "float32" if xt.dtype in HALF else xt.dtype
        index = ir.IndexType.get()

        def point(ivs, dest):
            i = tensor.extract(idx, ivs[axis:axis + k])
            pos = ivs[:axis] + [_index_value(i, it.dtype, xt.shape[axis])] + ivs[axis + k:]
            u = cast(tensor.extract(upd, ivs), xt.dtype, acc)
            old = cast(tensor.extract(dest, pos), xt.dtype, acc)
            new = Scalar(acc).add(old, u)
            return tensor.insert(cast(new, acc, xt.dtype), dest, pos)

        def nest(d, ivs, dest):
            if d == ut.ndim:
                return point(ivs, dest)
            loop = scf.ForOp(arith.constant(index, 0), arith.constant(index, ut.shape[d]),
                             arith.constant(index, 1), [dest])
            with ir.InsertionPoint(loop.body):
                scf.YieldOp([nest(d + 1, ivs + [loop.induction_variable],
                                  loop.inner_iter_args[0])])
            return loop.results[0]

        if ut.size == 0:
            return x
        return nest(0, [], x)

    def vjp(self, b, primals, outputs, cotangents, axis):
        (_, idx, _), (ct,) = primals, cotangents
        return [ct, None, b.take(ct, idx, axis=axis)]

    def jvp(self, b, primals, tangents, outputs, axis):
        (x, idx, upd), (tx, _, tu) = primals, tangents
        if tx is None and tu is None:
            return [None]
        tx = b.zeros_like(x) if tx is None else tx
        tu = b.zeros_like(upd) if tu is None else tu
        return [b.scatter_add(tx, idx, tu, axis=axis)]

    def batch(self, b, operands, axes, axis):
        (x, idx, upd), (ax, ai, au) = operands, axes
        n = batch_size(b, operands, axes)
        x0, u0 = to_front(b, x, ax, n), to_front(b, upd, au, n)
        if ai is None:  # same indices for every batch element
            return [b.scatter_add(x0, idx, u0, axis=axis + 1)], [0]
        # per-batch indices: merge the batch axis into the scattered axis, offset the indices
        xt = b.type(x0)
        size = xt.shape[axis + 1]
        idx0 = normalized_indices(b, move_axis_to_front(b, idx, ai), size,
                                  _index_dtype_for(n * size))
        ut = b.type(u0)
        perm = (*range(1, axis + 1), 0, *range(axis + 1, ut.ndim))
        u1 = b.transpose(u0, perm=perm) if perm != tuple(range(ut.ndim)) else u0
        out = b.scatter_add(_merge_batch_into_axis(b, x0, axis), batch_offsets(b, idx0, size),
                            u1, axis=axis)
        return [b.reshape(out, shape=xt.shape[1:axis + 1] + (n,) + xt.shape[axis + 1:])], [axis]
