"""Indexing: `take`, `take_along_axis`, and `array[...]` / `array.at[...]` with MLX's (NumPy's)
basic and advanced indexing, built from the `slice`, `take` and `scatter_add` ops."""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array
from .graph import DATA, data_node

__all__ = ["take", "take_along_axis", "getitem"]


class _IndexError(IndexError, ValueError):
    """MLX raises ValueError for malformed indices, NumPy IndexError: catching either works."""


def _is_int(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    return isinstance(x, (numbers.Integral, np.integer))


def _index_array(indices, fn: str) -> array:
    """An integer index array from an mx/NumPy array or a (nested) list of ints."""
    if isinstance(indices, (list, tuple)) and np.asarray(indices).size == 0:
        indices = array(np.asarray(indices, dtype=np.int32))
    indices = ops.as_array(indices)
    if not dt.issubdtype(indices.dtype, dt.integer):
        raise ValueError(f"[{fn}] Got indices with invalid dtype. Indices must be integral.")
    return indices


def _axis(fn: str, axis, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ops.AxisError(f"[{fn}] Received invalid axis {axis} for array with {ndim} "
                            "dimensions.")
    return axis % ndim


def _slice_axis(a: array, axis: int, start: int, stop: int, stride: int = 1) -> array:
    starts = [0] * a.ndim
    stops = list(a.shape)
    strides = [1] * a.ndim
    starts[axis], stops[axis], strides[axis] = start, stop, stride
    if (start, stop, stride) == (0, a.shape[axis], 1):
        return a
    return array._op("slice", [a], start=tuple(starts), stop=tuple(stops), strides=tuple(strides))


def _check_int_index(i: int, size: int, axis: int) -> int:
    # MLX leaves out-of-range indices undefined; a Python int is known now, so say so as NumPy.
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
    return i % size


def take(a, indices, axis=None, stream=None) -> array:
    """Elements of `a` at `indices` along `axis` (of the flattened `a` when axis is None)."""
    a = ops.as_array(a)
    if axis is None:
        a, axis = ops.reshape(a, (-1,)), 0
    axis = _axis("take", axis, a.ndim)
    if _is_int(indices):
        n = a.shape[axis]
        if n == 0:
            raise ValueError("[take] Cannot do a non-empty take from an array with zero elements.")
        i = _check_int_index(int(indices), n, axis)
        picked = _slice_axis(a, axis, i, i + 1)
        return ops.reshape(picked, a.shape[:axis] + a.shape[axis + 1:])
    indices = _index_array(indices, "gather")
    return array._op("take", [a, indices], axis=axis)


def take_along_axis(a, indices, axis=None, stream=None) -> array:
    """NumPy's take_along_axis; `a` and `indices` broadcast against each other except along
    `axis`. With axis None, `a` is flattened."""
    a = ops.as_array(a)
    indices = _index_array(indices, "take_along_axis")
    if axis is None:
        a, axis = ops.reshape(a, (-1,)), 0
    if not -a.ndim <= axis < a.ndim:
        raise ops.AxisError(f"[take_along_axis] Received invalid axis for array with {a.ndim} "
                         "dimensions.")
    axis %= a.ndim
    if indices.ndim != a.ndim:
        raise ValueError(f"[take_along_axis] Indices of dimension {indices.ndim} does not match "
                         f"array of dimension {a.ndim}.")
    common = ops.broadcast_shapes(
        tuple(1 if d == axis else s for d, s in enumerate(a.shape)),
        tuple(1 if d == axis else s for d, s in enumerate(indices.shape)))
    a = ops.broadcast_to(a, common[:axis] + (a.shape[axis],) + common[axis + 1:])
    indices = ops.broadcast_to(indices, common[:axis] + (indices.shape[axis],) + common[axis + 1:])
    return array._op("take_along_axis", [a, indices], axis=axis)


# ---------------------------------------------------------------------------------------------
# a[index]
_NONE, _SLICE, _INT, _ARRAY = "none", "slice", "int", "array"


def _entry(obj):
    """One index entry -> (kind, value)."""
    if obj is None:
        return (_NONE, None)
    if obj is Ellipsis:
        return ("ellipsis", None)
    if isinstance(obj, slice):
        parts = []
        for v in (obj.start, obj.stop, obj.step):
            if v is not None and not (_is_int(v) or isinstance(v, array)):
                raise ValueError("Slice indices must be integers or None.")
            parts.append(None if v is None else operator.index(v))
        if parts[2] == 0:
            raise ValueError("slice step cannot be zero")
        return (_SLICE, slice(*parts))
    if _is_int(obj):
        return (_INT, int(obj))
    if isinstance(obj, (array, np.ndarray, list)):
        if isinstance(obj, list) and np.asarray(obj).size == 0:
            obj = np.zeros(np.asarray(obj).shape, np.int32)
        arr = ops.as_array(obj)
        if arr.dtype == dt.bool_:
            raise ValueError("boolean indices are not yet supported")
        if not dt.issubdtype(arr.dtype, dt.integer):
            raise ValueError("[gather] Got indices with invalid dtype. Indices must be integral.")
        return (_ARRAY, arr)
    raise ValueError("Cannot index mlx array using the given type.")


def _expand(shape, index) -> list:
    """Entries with the ellipsis (or the implicit trailing one) replaced by full slices."""
    raw = index if isinstance(index, tuple) else (index,)
    entries = [_entry(x) for x in raw]
    kinds = [k for k, _ in entries]
    if kinds.count("ellipsis") > 1:
        raise _IndexError("An index can only have a single ellipsis (...)")
    used = sum(k not in (_NONE, "ellipsis") for k in kinds)
    if used > len(shape):
        if len(shape) == 0:
            raise _IndexError("too many indices for array: array is 0-dimensional")
        # MLX's text, including its missing space
        raise _IndexError(f"Too many indices for array with {len(shape)}dimensions.")
    fill = [(_SLICE, slice(None))] * (len(shape) - used)
    if "ellipsis" in kinds:
        at = kinds.index("ellipsis")
        return entries[:at] + fill + entries[at + 1:]
    return entries + fill


def _slice_bounds(s: slice, n: int):
    """(start, stop, stride, reversed, length): a positive-stride slice over the same elements."""
    r = range(*s.indices(n))
    if len(r) == 0:
        return 0, 0, 1, False, 0
    if r.step > 0:
        return r.start, r[-1] + 1, r.step, False, len(r)
    return r[-1], r[0] + 1, -r.step, True, len(r)


def _basic_index(shape, index):
    """(starts, stops, strides, result shape) for an index of in-range Python ints and slices
    of Python ints with positive steps, one per leading axis (`x[i]`, `x[:, i]`, `x[a:b]`, the
    common case of loops); None for anything else, which the general path handles."""
    raw = index if type(index) is tuple else (index,)
    if len(raw) > len(shape):
        return None
    starts, stops, strides, out = [], [], [], []
    for axis, n in enumerate(shape):
        x = raw[axis] if axis < len(raw) else _FULL
        if type(x) is int:
            j = x + n if x < 0 else x
            if not 0 <= j < n:
                return None
            starts.append(j)
            stops.append(j + 1)
            strides.append(1)
            continue
        if type(x) is not slice or not all(
                p is None or type(p) is int for p in (x.start, x.stop, x.step)):
            return None
        if x.step is not None and x.step <= 0:
            return None
        start, stop, stride, _, length = _slice_bounds(x, n)
        starts.append(start)
        stops.append(stop)
        strides.append(stride)
        out.append(length)
    return tuple(starts), tuple(stops), tuple(strides), tuple(out)


_FULL = slice(None)


def _is_view_index(index, shape) -> bool:
    """Whether `index` is in-range Python ints and slices of Python ints (nonzero steps),
    one per leading axis: the indexes whose NumPy view means what MLX's slice does."""
    raw = index if type(index) is tuple else (index,)
    if len(raw) > len(shape):
        return False
    for x, n in zip(raw, shape):
        if type(x) is int:
            if not -n <= x < n:
                return False
        elif type(x) is not slice or x.step == 0 or not (
                type(x.start) in _BOUND and type(x.stop) in _BOUND and type(x.step) in _BOUND):
            return False
    return True


_BOUND = (int, type(None))


def getitem(a, index) -> array:
    """`a[index]`: ints, slices (any step), None, Ellipsis and integer arrays/lists, with
    NumPy's rules for several advanced indices (broadcast together; their result dims go where
    the first one was when they are adjacent, else in front)."""
    a = ops.as_array(a)
    if isinstance(index, tuple) and len(index) == 0:
        return a
    node = a._node
    if node.op == DATA and _is_view_index(index, node.types[a._index].shape):
        # evaluated: the NumPy view is the value (MLX's strided arrays; buffers are
        # immutable), so a loop of `x[i]` builds no graph and runs no slice
        view = node.values[a._index][index]  # a NumPy scalar when every axis is an int
        return array._from(data_node(view if isinstance(view, np.ndarray) else np.asarray(view),
                                     node.types[a._index].dtype))
    basic = _basic_index(a.shape, index)
    if basic is not None:  # the same ops as below, without building the entry list
        starts, stops, strides, shape = basic
        x = a
        if (starts, stops, strides) != ((0,) * a.ndim, a.shape, (1,) * a.ndim):
            x = array._op("slice", [a], start=starts, stop=stops, strides=strides)
        # what ops.reshape makes of an exact shape (ints, no -1), without parsing it
        return x if x.shape == shape else array._op("reshape", [x], shape=shape)
    entries = _expand(a.shape, index)
    have_arrays = any(k == _ARRAY for k, _ in entries)

    # 1. basic slicing of every axis; ints become length-1 slices or (with arrays) 0-d arrays
    starts, stops, strides, flips = [], [], [], []
    axis = 0
    for i, (kind, v) in enumerate(entries):
        if kind == _NONE:
            continue
        n = a.shape[axis]
        if kind == _SLICE:
            start, stop, stride, flip, length = _slice_bounds(v, n)
            if flip and length > 1:
                flips.append((axis, length))
        elif kind == _INT:
            j = _check_int_index(v, n, axis)
            if have_arrays:
                entries[i] = (_ARRAY, ops.constant(j, dt.int32))
                start, stop, stride = 0, n, 1
            else:
                start, stop, stride = j, j + 1, 1
        else:
            start, stop, stride = 0, n, 1
        starts.append(start)
        stops.append(stop)
        strides.append(stride)
        axis += 1
    x = a
    if (tuple(starts), tuple(stops), tuple(strides)) != ((0,) * a.ndim, a.shape, (1,) * a.ndim):
        x = array._op("slice", [a], start=tuple(starts), stop=tuple(stops),
                      strides=tuple(strides))
    for ax, length in flips:
        rev = ops.constant(np.arange(length - 1, -1, -1, dtype=np.int32), dt.int32)
        x = array._op("take", [x, rev], axis=ax)

    # 2. advanced indices: one gather over the merged indexed axes
    adv_pos = [i for i, (k, _) in enumerate(entries) if k == _ARRAY]
    adjacent = adv_pos == list(range(adv_pos[0], adv_pos[-1] + 1)) if adv_pos else True
    bshape = ()
    if have_arrays:
        axes, idxs = [], []
        axis = 0
        for kind, v in entries:
            if kind == _ARRAY:
                axes.append(axis)
                idxs.append(v)
            if kind != _NONE:
                axis += 1
        bshape = ops.broadcast_shapes(*(v.shape for v in idxs))
        x = _gather(x, axes, idxs, adjacent)

    # 3. the final shape: new axes, dropped int axes, the advanced block
    sliced = iter(_sliced_dims(entries, a.shape))
    shape = list(bshape) if have_arrays and not adjacent else []
    placed = False
    for kind, _ in entries:
        if kind == _NONE:
            shape.append(1)
        elif kind == _SLICE:
            shape.append(next(sliced))
        elif kind == _ARRAY and adjacent and not placed:
            shape.extend(bshape)
            placed = True
    return ops.reshape(x, tuple(shape))


def _sliced_dims(entries, shape):
    dims, axis = [], 0
    for kind, v in entries:
        if kind == _NONE:
            continue
        if kind == _SLICE:
            dims.append(_slice_bounds(v, shape[axis])[4])
        axis += 1
    return dims


def _gather(x: array, axes: list[int], idxs: list[array], adjacent: bool) -> array:
    """x gathered at the advanced indices `idxs` on `axes`: the indexed axes are replaced by
    the broadcast index shape, in place when `adjacent`, else in front."""
    if len(idxs) == 1:
        return array._op("take", [x, idxs[0]], axis=axes[0])
    if not adjacent:
        rest = [d for d in range(x.ndim) if d not in axes]
        x = ops.transpose(x, axes + rest)
        axes = list(range(len(axes)))
    p0 = axes[0]
    sizes = [x.shape[d] for d in axes]
    total = math.prod(sizes)
    idt = dt.int32 if total < 2**31 else dt.int64
    flat = None
    for k, (v, n) in enumerate(zip(idxs, sizes, strict=True)):
        stride = math.prod(sizes[k + 1:])
        if not dt.issubdtype(v.dtype, dt.unsignedinteger):
            v = ops.where(ops.less(v, 0), ops.add(v, n), v)
        v = ops.astype(v, idt)
        term = v if stride == 1 else ops.multiply(v, ops.constant(stride, idt))
        flat = term if flat is None else ops.add(flat, term)
    flat = ops.broadcast_to(flat, ops.broadcast_shapes(*(v.shape for v in idxs)))
    merged = ops.reshape(x, x.shape[:p0] + (total,) + x.shape[p0 + len(axes):])
    return array._op("take", [merged, flat], axis=p0)


array.__getitem__ = getitem


# ---------------------------------------------------------------------------------------------
# updates: a[index] = v and a.at[index].add(v), through the flat positions that a[index] reads
def _positions(a: array, index) -> array:
    """The row-major positions in `a` of the elements `a[index]` selects (same shape)."""
    idt = dt.int32 if a.size < 2**31 else dt.int64
    return getitem(ops.reshape(ops.arange(a.size, dtype=idt), a.shape), index)


def _updates(a: array, index, values, dtype) -> tuple[array, array]:
    """(flat positions in `a` of a[index], `values` broadcast to them, flat, in `dtype`)."""
    pos = _positions(a, index)
    v = ops.astype(ops.as_array(values, like=a), dtype)
    lead = 0
    while lead < v.ndim - pos.ndim and v.shape[lead] == 1:  # MLX drops leading singletons
        lead += 1
    v = ops.broadcast_to(ops.reshape(v, v.shape[lead:]), pos.shape)
    return ops.reshape(pos, (-1,)), ops.reshape(v, (-1,))


def _scatter_flat(a: array, index, values, dtype) -> tuple[array, array]:
    """(flat sums of `values` scattered at a[index]'s positions, flat positions)."""
    flat, v = _updates(a, index, values, dtype)
    zeros = ops.zeros((a.size,), dtype)
    return array._op("scatter_add", [zeros, flat, v], axis=0), flat


def _last_writes(flat: array, v: array) -> tuple[array, array, array]:
    """(positions, values, 1 where the update writes): of the updates naming one position,
    only the last writes, as MLX's CPU scatter (a stable sort groups them in update order)."""
    flat, order = array._op("sort", [flat], axis=0)
    v = take(v, order, 0)
    later = ops.concatenate([flat[1:], ops.constant(-1, flat.dtype).reshape((1,))])
    last = ops.not_equal(flat, later)
    return flat, ops.where(last, v, ops.constant(0, v.dtype)), ops.astype(last, dt.int32)


def _has_array_index(index) -> bool:
    """Whether `index` can name one position twice (an array or list among its parts)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (array, np.ndarray, list)) for p in parts)


def scatter_set(a: array, flat_pos: array, values: array) -> array:
    """`a` with a.flat[flat_pos] = values; where a position repeats, the first value wins."""
    flat_pos = ops.reshape(flat_pos, (-1,))
    values = ops.reshape(values, (-1,))
    n = flat_pos.shape[0]
    # only the first of equal positions writes, so that the sum below is that one value
    same = ops.equal(ops.reshape(flat_pos, (n, 1)), ops.reshape(flat_pos, (1, n)))
    first = ops.logical_not(ops.any(ops.logical_and(same, ops.tri(n, n, -1, dt.bool_)), axis=1))
    work = dt.int32 if a.dtype == dt.bool_ else a.dtype
    vals = ops.where(first, ops.astype(values, work), ops.constant(0, work))
    summed = array._op("scatter_add", [ops.zeros((a.size,), work), flat_pos, vals], axis=0)
    hit = array._op("scatter_add", [ops.zeros((a.size,), dt.int32), flat_pos,
                                    ops.ones((n,), dt.int32)], axis=0)
    out = ops.where(ops.greater(hit, 0), ops.astype(summed, a.dtype), ops.reshape(a, (-1,)))
    return ops.reshape(out, a.shape)


def _is_mask(index) -> bool:
    return (isinstance(index, array) and index.dtype == dt.bool_) or (
        isinstance(index, np.ndarray) and index.dtype == np.bool_)


def _masked_set(a: array, mask, value) -> array:
    """MLX's masked scatter `a[mask] = value`: `mask` covers a's leading axes; `value` is one
    block for every selected entry (broadcast to the trailing axes) or one block per selected
    entry, in row-major order."""
    mask = ops.as_array(mask)
    if mask.shape != a.shape[:mask.ndim]:
        raise ValueError(f"[masked_scatter] The mask shape {mask.shape} must match the leading "
                         f"dimensions of the input {a.shape}.")
    trailing = a.shape[mask.ndim:]
    value = ops.astype(ops.as_array(value, like=a), a.dtype)
    full = ops.reshape(mask, mask.shape + (1,) * len(trailing))
    try:
        ops.broadcast_shapes(value.shape, trailing)
        one_block = value.ndim <= len(trailing)
    except ValueError:
        one_block = False
    if one_block:
        return ops.where(full, ops.broadcast_to(value, a.shape), a)
    blocks = ops.reshape(value, (-1,) + trailing)
    flat = ops.reshape(mask, (-1,))
    rank = ops.subtract(ops.cumsum(ops.astype(flat, dt.int32)), 1)  # block of each entry
    rank = ops.minimum(ops.maximum(rank, 0), max(blocks.shape[0] - 1, 0))
    spread = ops.reshape(take(blocks, rank, 0), a.shape)
    return ops.where(full, spread, a)


def _setitem(a: array, index, value) -> None:
    """MLX's `a[index] = value`: `a` is rebound to the updated array (duplicates: undefined)."""
    # the new value's graph reads a's current value through a's pin (graph.pin), which keeps
    # it when `a` is rebound below
    if _is_mask(index):
        new = _masked_set(a, index, value)
        a._node, a._index, a._pin = new._node, new._index, None
        return
    work = dt.int32 if a.dtype == dt.bool_ else a.dtype
    flat, v = _updates(a, index, value, work)
    if _has_array_index(index) and flat.size > 1:
        flat, v, writes = _last_writes(flat, v)
    else:  # slices and integers name each position once
        writes = ops.ones((flat.size,), dt.int32)
    vals = array._op("scatter_add", [ops.zeros((a.size,), work), flat, v], axis=0)
    hit = array._op("scatter_add", [ops.zeros((a.size,), dt.int32), flat, writes], axis=0)
    new = ops.where(ops.greater(hit, 0), ops.astype(vals, a.dtype), ops.reshape(a, (-1,)))
    new = ops.reshape(new, a.shape)
    a._node, a._index, a._pin = new._node, new._index, None


class _AtIndexer:
    def __init__(self, a: array, index):
        self._a, self._index = a, index

    def add(self, value) -> array:
        """a with `value` added at a[index]; repeated indices accumulate."""
        if self._a.dtype == dt.bool_:
            raise TypeError("[scatter_add] Boolean arrays are not supported.")
        vals, _ = _scatter_flat(self._a, self._index, value, self._a.dtype)
        return ops.add(self._a, ops.reshape(vals, self._a.shape))

    def subtract(self, value) -> array:
        return self.add(ops.negative(ops.as_array(value, like=self._a)))

    def multiply(self, value) -> array:
        return self._combine(value, ops.multiply, "prod")

    def divide(self, value) -> array:
        return self._combine(value, ops.divide, "prod")

    def minimum(self, value) -> array:
        return self._combine(value, ops.minimum, "min")

    def maximum(self, value) -> array:
        return self._combine(value, ops.maximum, "max")

    def _combine(self, value, op, reduce: str) -> array:
        """a[index] = op(a[index], the `reduce` of the values at each position): repeated
        indices combine (an n x n comparison of the n updated positions, no scatter op)."""
        a = self._a
        pos = _positions(a, self._index)
        v = ops.as_array(value, like=a)
        lead = 0
        while lead < v.ndim - pos.ndim and v.shape[lead] == 1:  # MLX drops leading singletons
            lead += 1
        v = ops.reshape(ops.broadcast_to(ops.reshape(v, v.shape[lead:]), pos.shape), (-1,))
        pos = ops.reshape(pos, (-1,))
        n = pos.shape[0]
        same = ops.equal(ops.reshape(pos, (n, 1)), ops.reshape(pos, (1, n)))
        row = ops.broadcast_to(ops.reshape(v, (1, n)), (n, n))
        if reduce == "prod":
            combined = ops.prod(ops.where(same, row, ops.constant(1, v.dtype)), axis=1)
        else:  # entries of other positions are replaced by the row's own value
            own = ops.broadcast_to(ops.reshape(v, (n, 1)), (n, n))
            combined = getattr(ops, reduce)(ops.where(same, row, own), axis=1)
        current = take(ops.reshape(a, (-1,)), pos, 0)
        return scatter_set(a, pos, ops.astype(op(current, combined), a.dtype))


class _At:
    def __init__(self, a: array):
        self._a = a

    def __getitem__(self, index) -> _AtIndexer:
        return _AtIndexer(self._a, index)

    def __getattr__(self, name):  # x.at.add(...) without an index: MLX's error
        if name in ("add", "subtract", "multiply", "divide", "minimum", "maximum"):
            raise ValueError("Must give indices to array.at (e.g. `x.at[0].add(4)`).")
        raise AttributeError(name)


array.__setitem__ = _setitem
array.at = property(_At)
