"""Linear algebra and joining (MLX signatures): matmul (and `@`), inner, outer, tensordot,
concatenate, stack, split, pad, clip."""

from __future__ import annotations

import math
import numbers

import numpy as np

from mxir.dialect import MxError
from mxir.dialect.join import check_pad_widths

from . import dtypes as dt
from . import ops
from .array import array

__all__ = ["clip", "concatenate", "inner", "matmul", "outer", "pad", "split", "stack",
           "tensordot"]


def _fmt(shape) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


def _slice_axis(a: array, axis: int, start: int, stop: int) -> array:
    """a[..., start:stop, ...] along `axis` (bounds already inside the axis)."""
    if start == 0 and stop == a.shape[axis]:
        return a
    lo = [0] * a.ndim
    hi = list(a.shape)
    lo[axis], hi[axis] = start, stop
    return array._op("slice", [a], start=tuple(lo), stop=tuple(hi), strides=(1,) * a.ndim)


# -- linear algebra ---------------------------------------------------------------------------
def matmul(a, b, /, *, stream=None) -> array:
    """Matrix product with NumPy's rules: 1-D operands are promoted to a row (a) or column (b)
    and that axis is removed again; batch dimensions broadcast."""
    if type(a) is array and type(b) is array:  # two matrices of one float dtype: as is
        ta, tb = a._node.types[a._index], b._node.types[b._index]
        if (len(ta.shape) == 2 == len(tb.shape) and ta.dtype == tb.dtype
                and ta.dtype in dt.FLOATS and ta.shape[1] == tb.shape[0]):
            return array._op("matmul", [a, b])
    a, b = ops.as_array(a), ops.as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("[matmul] Got 0 dimension input. Inputs must have at least one "
                         "dimension.")
    a_vector, b_vector = a.ndim == 1, b.ndim == 1
    if a_vector:  # expand_dims and squeeze: a shapeless trace re-infers them
        a = ops.expand_dims(a, 0)
    if b_vector:
        b = ops.expand_dims(b, 1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"[matmul] Last dimension of first input with shape {_fmt(a.shape)} "
                         "must match second to last dimension of second input with shape "
                         f"{_fmt(b.shape)}.")
    out_dtype = dt.promote_types(a.dtype, b.dtype)
    if not dt.issubdtype(out_dtype, dt.inexact):
        raise ValueError(f"[matmul] Only inexact types are supported but {a.dtype.name} and "
                         f"{b.dtype.name} were provided which results in {out_dtype.name}, "
                         "which is not a floating point type.")
    a, b = ops.astype(a, out_dtype), ops.astype(b, out_dtype)
    batch = ops.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = ops.broadcast_to(a, batch + a.shape[-2:])
    b = ops.broadcast_to(b, batch + b.shape[-2:])
    out = array._op("matmul", [a, b])
    vector_axes = (-2,) * a_vector + (-1,) * b_vector
    return ops.squeeze(out, vector_axes) if vector_axes else out


def inner(a, b, /, *, stream=None) -> array:
    """Sum of products over the last axes: shape a.shape[:-1] + b.shape[:-1]."""
    a, b = ops.as_array(a), ops.as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return ops.multiply(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError("[inner] a and b must have the same last dimension. Got a with shape "
                         f"{_fmt(a.shape)} and b with shape {_fmt(b.shape)}.")
    k = a.shape[-1]
    a2 = ops.reshape(a, (math.prod(a.shape[:-1]), k))
    b2 = ops.reshape(b, (math.prod(b.shape[:-1]), k))
    return ops.reshape(matmul(a2, ops.transpose(b2)), a.shape[:-1] + b.shape[:-1])


def outer(a, b, /, *, stream=None) -> array:
    """Outer product of the flattened operands."""
    a, b = ops.as_array(a), ops.as_array(b)
    return ops.multiply(ops.reshape(a, (a.size, 1)), ops.reshape(b, (b.size,)))


def tensordot(a, b, /, axes=2, *, stream=None) -> array:
    """Contract `axes` (an int: the last `axes` of a with the first of b; or two lists)."""
    a, b = ops.as_array(a), ops.as_array(b)
    if isinstance(axes, numbers.Integral):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError("[tensordot] axes must be a non-negative integer no larger than "
                             "the number of dimensions of a and b.")
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        axes_a, axes_b = ([axes[0]] if isinstance(axes[0], numbers.Integral) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], numbers.Integral) else list(axes[1]))
        if len(axes_a) != len(axes_b):
            raise ValueError("[tensordot] axes must be a list of two lists of the same length.")
        axes_a = [int(x) % a.ndim for x in axes_a]
        axes_b = [int(x) % b.ndim for x in axes_b]
    if any(a.shape[i] != b.shape[j] for i, j in zip(axes_a, axes_b, strict=True)):
        raise ValueError("[tensordot] a and b must have the same shape on the contracted axes.")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = math.prod(a.shape[i] for i in axes_a)
    m = math.prod(a.shape[i] for i in free_a)
    n = math.prod(b.shape[i] for i in free_b)
    a2 = ops.reshape(ops.transpose(a, free_a + axes_a), (m, k))
    b2 = ops.reshape(ops.transpose(b, axes_b + free_b), (k, n))
    return ops.reshape(matmul(a2, b2),
                       tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


# -- joining and splitting --------------------------------------------------------------------
def concatenate(arrays, axis=0, *, stream=None) -> array:
    # arrays of one dtype and rank that fit (a KV cache growing by a row): the node itself
    if type(axis) is int and type(arrays) in (list, tuple) and len(arrays) > 1:
        types = [x._node.types[x._index] for x in arrays if type(x) is array]
        first = types[0] if len(types) == len(arrays) else None
        if first is not None and -len(first.shape) <= axis < len(first.shape):
            ax, shape, dtype = axis % len(first.shape), first.shape, first.dtype
            for t in types:
                s = t.shape
                if t.dtype != dtype or len(s) != len(shape) or s[:ax] != shape[:ax] or (
                        s[ax + 1:] != shape[ax + 1:]):
                    break
            else:
                return array._op("concatenate", list(arrays), axis=ax)
    arrays = [ops.as_array(x) for x in arrays]
    if not arrays:
        raise ValueError("[concatenate] No arrays provided for concatenation")
    if axis is None:
        arrays = [ops.reshape(x, (x.size,)) for x in arrays]
        axis = 0
    if len(arrays) == 1:
        return arrays[0]
    ndim = arrays[0].ndim
    ax = ops.check_axis("concatenate", axis, ndim)
    for x in arrays:
        if x.ndim != ndim:
            raise ValueError("[concatenate] All the input arrays must have the same number of "
                             f"dimensions. However, got arrays with dimensions {ndim} and "
                             f"{x.ndim}.")
        if any(d != e for i, (d, e) in enumerate(zip(x.shape, arrays[0].shape, strict=True))
               if i != ax):
            raise ValueError("[concatenate] All the input array dimensions must match exactly "
                             "except for the concatenation axis. However, the provided shapes "
                             "are " + "".join(_fmt(y.shape) + ", " for y in arrays)
                             + f"and the concatenation axis is {axis}.")
    dtype = arrays[0].dtype
    for x in arrays[1:]:
        dtype = dt.promote_types(dtype, x.dtype)
    return array._op("concatenate", [ops.astype(x, dtype) for x in arrays], axis=ax)


def stack(arrays, axis=0, *, stream=None) -> array:
    arrays = [ops.as_array(x) for x in arrays]
    if not arrays:
        raise ValueError("[stack] No arrays provided for stacking")
    if any(x.shape != arrays[0].shape for x in arrays):
        raise ValueError("[stack] All arrays must have the same shape")
    ndim = arrays[0].ndim + 1
    ops.check_axis("stack", axis, ndim)
    return concatenate([ops.expand_dims(x, axis % ndim) for x in arrays], axis % ndim)


def split(a, /, indices_or_sections, axis=0, *, stream=None) -> list[array]:
    """Split along `axis` into equal sections (an int) or at the given indices."""
    a = ops.as_array(a)
    sections = isinstance(indices_or_sections, numbers.Integral)
    if not -a.ndim <= axis < a.ndim:
        where = f"{axis}" if sections else f"({axis})"
        raise ops.AxisError(f"Invalid axis {where} passed to split for array with shape "
                         f"{_fmt(a.shape)}.")
    ax = axis % a.ndim
    size = a.shape[ax]
    if sections:
        n = int(indices_or_sections)
        if n <= 0 or size % n:
            raise ValueError("Array split does not result in sub arrays with equal size: "
                             f"attempting {n} splits along axis {axis} for shape "
                             f"{_fmt(a.shape)}.")
        cuts = [(i + 1) * (size // n) for i in range(n - 1)]
    else:
        cuts = [int(i) for i in indices_or_sections]
    if not cuts:
        return [a]
    bounds = [min(max(c + size if c < 0 else c, 0), size) for c in cuts]
    edges = [0, *bounds, size]
    # NumPy semantics: a cut before the previous one gives an empty piece
    return [_slice_axis(a, ax, s, max(s, e))
            for s, e in zip(edges[:-1], edges[1:], strict=True)]


def _pad_pairs(pad_width, ndim: int) -> list[tuple[int, int]]:
    if isinstance(pad_width, numbers.Integral):
        return [(int(pad_width), int(pad_width))] * ndim
    entries = list(pad_width)
    if len(entries) == 1 and not isinstance(entries[0], numbers.Integral):
        entries = entries * ndim  # one (before, after) pair for every axis, as MLX
    if entries and all(isinstance(e, numbers.Integral) for e in entries):
        if len(entries) == 1:
            return [(int(entries[0]), int(entries[0]))] * ndim
        if len(entries) == 2:
            return [(int(entries[0]), int(entries[1]))] * ndim
        raise ValueError("[pad] pad_width must be an int, a pair of ints, or a list of pairs.")
    pairs = []
    for e in entries:
        e = tuple(e)
        if len(e) == 1:
            e = (e[0], e[0])
        if len(e) != 2:
            raise ValueError("[pad] pad_width must be an int, a pair of ints, or a list of "
                             "pairs.")
        pairs.append((int(e[0]), int(e[1])))
    if len(pairs) != ndim:
        raise ValueError(f"Invalid number of padding sizes passed to pad with axes of size "
                         f"{ndim}")
    return pairs


def pad(a, pad_width, mode="constant", constant_values=0, *, stream=None) -> array:
    """Pad every axis by (before, after) elements: with `constant_values` or, in "edge" mode,
    with copies of the edge values."""
    a = ops.as_array(a)
    pairs = _pad_pairs(pad_width, a.ndim)
    try:  # the op's own check, before edge mode builds other ops
        check_pad_widths([lo for lo, _ in pairs], [hi for _, hi in pairs])
    except MxError as e:
        raise e.exc_type(e.message) from None
    if mode in ("edge", "reflect", "symmetric"):
        return _gather_pad(a, pairs, mode)
    if mode != "constant":
        raise ValueError(f"Invalid padding mode ({mode}) passed to pad")
    value = ops.astype(ops.as_array(constant_values, like=a), a.dtype)
    if value.size != 1:
        raise ValueError("[pad] constant_values must be a scalar.")
    if all(p == (0, 0) for p in pairs):
        return a
    value = ops.reshape(value, ())
    return array._op("pad", [a, value], low=tuple(p[0] for p in pairs),
                     high=tuple(p[1] for p in pairs))


def _gather_pad(a: array, pairs, mode: str) -> array:
    """edge / reflect / symmetric: a gather per padded axis of the positions NumPy's pad of a
    range picks (the same values as MLX's, repeated reflections for pads past the axis
    included)."""
    out = a
    for ax, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        n = out.shape[ax]
        if n == 0:
            raise ValueError(f"[pad] Cannot {mode}-pad axis {ax} of size 0.")
        idx = np.pad(np.arange(n, dtype=np.int32), (lo, hi), mode=mode)
        out = array._op("take", [out, ops.constant(idx, dt.int32)], axis=ax)
    return out


def clip(a, /, a_min, a_max, *, stream=None) -> array:
    if a_min is None and a_max is None:
        raise ValueError("At most one of a_min and a_max may be None")
    out = ops.as_array(a)
    if a_min is not None:
        out = ops.maximum(out, a_min)
    if a_max is not None:
        out = ops.minimum(out, a_max)
    return out


array.__matmul__ = matmul
array.__rmatmul__ = lambda self, other: matmul(other, self)
