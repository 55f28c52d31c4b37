"""MLX functions added for name parity with `mlx.core`: aliases, shape and selection helpers,
windows, dynamic slices and scatters. All are compositions of existing ops (no op of their own),
so every transform (grad, jvp, vmap, compile) sees only the ops they expand to."""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array
from .indexing import scatter_set, take, take_along_axis
from .join_ops import concatenate, split
from .reduce_ops import max as max_
from .reduce_ops import min as min_
from .scan_ops import cumprod, cumsum, left_shift, right_shift, sort

# -- MLX's alternative names -----------------------------------------------------------------
asin = ops.arcsin  # noqa: F821  (the float ops come from the op table)
acos = ops.arccos  # noqa: F821
atan = ops.arctan  # noqa: F821
asinh = ops.arcsinh  # noqa: F821
acosh = ops.arccosh  # noqa: F821
atanh = ops.arctanh  # noqa: F821
atan2 = ops.arctan2
pow = ops.power  # noqa: A001
concat = concatenate
bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


def permute_dims(a, /, axes=None, *, stream=None) -> array:
    return ops.transpose(a, axes)


def cumulative_sum(a, /, axis=None, *, reverse=False, inclusive=True, dtype=None,
                   stream=None) -> array:
    a = ops.as_array(a) if dtype is None else ops.astype(a, dtype)
    return cumsum(a, axis, reverse=reverse, inclusive=inclusive)


def cumulative_prod(a, /, axis=None, *, reverse=False, inclusive=True, dtype=None,
                    stream=None) -> array:
    a = ops.as_array(a) if dtype is None else ops.astype(a, dtype)
    return cumprod(a, axis, reverse=reverse, inclusive=inclusive)


def matrix_transpose(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    if a.ndim < 2:
        raise ValueError("[matrix_transpose] Input array must have at least 2 dimensions.")
    return ops.swapaxes(a, -1, -2)


def positive(a, /, *, stream=None) -> array:
    return ops.as_array(a)


def empty(shape, dtype=dt.float32, *, stream=None) -> array:
    """MLX's `empty` is `zeros` (its docstring is zeros')."""
    return ops.zeros(shape, dtype)


def empty_like(a, /, dtype=None, *, stream=None) -> array:
    a = ops.as_array(a)
    return ops.zeros(a.shape, a.dtype if dtype is None else dtype)


def contiguous(a, /, allow_col_major=False, *, stream=None) -> array:
    """mxir arrays are values without strides: every array is already row contiguous."""
    return ops.as_array(a)


# -- view: the same bytes as another dtype ---------------------------------------------------
_BYTES = {"bool": 1, "uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "float16": 2,
          "bfloat16": 2, "uint32": 4, "int32": 4, "float32": 4, "int64": 8, "uint64": 8,
          "float64": 8}
_BITS_OF = {1: dt.uint8, 2: dt.uint16, 4: dt.uint32, 8: dt.int64}  # the integer of n bytes


def _as_bits(a: array) -> array:
    """`a`'s bits in the integer type of its size (bool is a byte holding 0 or 1)."""
    name = a.dtype.name
    if name == "bool":
        return ops.astype(a, dt.uint8)
    target = _BITS_OF[_BYTES[name]]
    return a if a.dtype == target else array._op("bitcast", [a], dtype=target.name)


def _from_bits(bits: array, dtype: dt.Dtype) -> array:
    if dtype == dt.bool_:
        return ops.astype(bits, dt.bool_)
    return bits if bits.dtype == dtype else array._op("bitcast", [bits], dtype=dtype.name)


def view(a, dtype, stream=None) -> array:
    """The bytes of `a` read as `dtype`; a size change splits or joins the last axis (bytes in
    little-endian order, as MLX on every machine it runs on)."""
    a = ops.as_array(a)
    dtype = dt.to_dtype(dtype)
    if dtype == a.dtype:
        return a
    if a.dtype.name not in _BYTES or dtype.name not in _BYTES:
        raise ValueError(f"[view] mxir cannot view {a.dtype.name} as {dtype.name} yet "
                         "(complex views are not implemented).")
    s, d = _BYTES[a.dtype.name], _BYTES[dtype.name]
    bits = _as_bits(a)
    if s == d:
        return _from_bits(ops.astype(bits, _BITS_OF[d]) if bits.dtype != _BITS_OF[d] else bits,
                          dtype)
    if a.ndim == 0:
        raise ValueError("[view] Changing the type of a scalar is only allowed for types with "
                         "the same size.")
    mask = ops.constant((1 << (8 * d)) - 1, bits.dtype)
    if d < s:  # each element becomes s // d pieces, lowest bytes first
        pieces = [ops.astype(ops.bitwise_and(right_shift(bits, 8 * d * k), mask), _BITS_OF[d])
                  for k in range(s // d)]
        out = ops.stack(pieces, axis=-1)
        out = ops.reshape(out, a.shape[:-1] + (a.shape[-1] * (s // d),))
        return _from_bits(out, dtype)
    n = d // s
    if a.shape[-1] % n:
        raise ValueError(f"[view] Cannot view array of shape {a.shape} with dtype "
                         f"{a.dtype.name} as {dtype.name}: the last axis must be divisible "
                         f"by {n}.")
    wide = ops.astype(ops.reshape(bits, a.shape[:-1] + (a.shape[-1] // n, n)), _BITS_OF[d])
    wide = ops.bitwise_and(wide, ops.constant((1 << (8 * s)) - 1, wide.dtype))
    shifts = ops.constant(np.arange(n) * 8 * s, wide.dtype)
    joined = ops.sum(left_shift(wide, shifts), axis=-1)  # disjoint bits: the sum is the or
    return _from_bits(ops.astype(joined, _BITS_OF[d]), dtype)  # (sums widen small ints)


# -- elementwise -----------------------------------------------------------------------------
def trunc(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    if not dt.issubdtype(a.dtype, dt.floating):
        return a
    return ops.where(ops.less(a, 0), ops.ceil(a), ops.floor(a))  # noqa: F821


def logical_xor(a, b, /, *, stream=None) -> array:
    a, b = ops.astype(ops.as_array(a), dt.bool_), ops.astype(ops.as_array(b), dt.bool_)
    return ops.not_equal(a, b)


def real(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    return array._op("real", [a]) if a.dtype == dt.complex64 else a


def imag(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    return array._op("imag", [a]) if a.dtype == dt.complex64 else ops.zeros_like(a)


def conjugate(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    return array._op("conjugate", [a]) if a.dtype == dt.complex64 else a


conj = conjugate


# -- reductions ------------------------------------------------------------------------------
def count_nonzero(a, /, *, axis=None, keepdims=False, stream=None) -> array:
    a = ops.as_array(a)
    return ops.sum(ops.astype(ops.not_equal(a, ops.constant(0, a.dtype)), dt.int32), axis,
                   keepdims)


def minmax(a, /, axis=None, keepdims=False, *, stream=None) -> tuple[array, array]:
    return min_(a, axis, keepdims), max_(a, axis, keepdims)


def _to_last(a: array, axes: tuple[int, ...]) -> array:
    """`a` with `axes` moved to the end and merged into one."""
    rest = [d for d in range(a.ndim) if d not in axes]
    a = ops.transpose(a, rest + list(axes))
    return ops.reshape(a, tuple(a.shape[:len(rest)]) + (-1,)) if a.size else ops.reshape(
        a, tuple(a.shape[:len(rest)]) + (math.prod(a.shape[len(rest):]),))


def median(a, /, axis=None, keepdims=False, *, stream=None) -> array:
    a = ops.as_array(a)
    axes = ops.normalize_axes(axis, a.ndim)
    if any(a.shape[d] == 0 for d in axes):
        raise ValueError("[median] Cannot take median along empty axis.")
    out_dtype = a.dtype if dt.issubdtype(a.dtype, dt.inexact) else dt.float32
    s = sort(_to_last(ops.astype(a, out_dtype), axes), axis=-1)
    n = s.shape[-1]
    lo, hi = s[..., (n - 1) // 2], s[..., n // 2]
    out = ops.divide(ops.add(lo, hi), ops.constant(2, out_dtype))
    last = s[..., n - 1]  # NaN sorts last: a line with a NaN has median NaN, as NumPy and MLX
    out = ops.where(ops.isnan(last), last, out)
    if keepdims:
        out = ops.reshape(out, tuple(1 if d in axes else k for d, k in enumerate(a.shape)))
    return out


def vecdot(a, b, /, *, axis=-1, stream=None) -> array:
    return ops.sum(ops.multiply(a, b), axis=axis)


# -- shapes ----------------------------------------------------------------------------------
def flip(a, /, axis=None, *, stream=None) -> array:
    a = ops.as_array(a)
    axes = ops.normalize_axes(axis, a.ndim)
    every, reverse = builtins.slice(None), builtins.slice(None, None, -1)
    return a[tuple(reverse if d in axes else every for d in range(a.ndim))]


def unstack(x, /, *, axis=0, stream=None) -> tuple[array, ...]:
    x = ops.as_array(x)
    if x.ndim == 0:
        raise ValueError("[unstack] Cannot unstack a scalar.")
    axis = ops.check_axis("unstack", axis, x.ndim)
    return tuple(take(x, i, axis) for i in range(x.shape[axis]))


def diff(a, /, n=1, axis=-1, *, stream=None) -> array:
    a = ops.as_array(a)
    if not -a.ndim <= axis < a.ndim:
        raise ops.AxisError("[diff] Axis is out of bounds for the array.")
    if n < 0:
        raise ValueError("[diff] Order must be non-negative.")
    axis %= a.ndim
    lead = (builtins.slice(None),) * axis
    for _ in range(n):
        if a.shape[axis] == 0:
            break
        hi, lo = a[lead + (builtins.slice(1, None),)], a[lead + (builtins.slice(None, -1),)]
        a = ops.not_equal(hi, lo) if a.dtype == dt.bool_ else ops.subtract(hi, lo)
    return a


def _array_split(self, indices_or_sections, axis=0, *, stream=None) -> list[array]:
    return split(self, indices_or_sections, axis)


# -- dynamic slices and scatters -------------------------------------------------------------
def _dynamic_axes(fn: str, a: array, start_indices, axes) -> tuple[array, list[int]]:
    start = ops.as_array(start_indices)
    axes = [int(x) for x in axes]
    if not dt.issubdtype(start.dtype, dt.integer):
        raise ValueError(f"[{fn}] Start indices must be integers.")
    if start.ndim != 1 or start.shape[0] != len(axes):
        raise ValueError(f"[{fn}] Number of start indices must match the number of axes.")
    for x in axes:
        if not -a.ndim <= x < a.ndim:
            raise ValueError(f"[{fn}] Invalid axis {x} for array with {a.ndim} dimensions.")
    return start, [x % a.ndim for x in axes]


def _clamped_start(start: array, i: int, size: int, length: int) -> array:
    """start[i] clamped so that [start, start + length) lies in [0, size) (as MLX does)."""
    s = ops.astype(ops.reshape(start[i], ()), dt.int32)
    return ops.minimum(ops.maximum(s, 0), max(size - length, 0))


def slice(a, start_indices, axes, slice_size, *, stream=None) -> array:  # noqa: A001
    """The block of `a` of shape `slice_size` that starts at `start_indices` (an array: the
    start may be computed) on `axes` and at 0 on the others."""
    a = ops.as_array(a)
    slice_size = [int(s) for s in slice_size]
    if len(slice_size) != a.ndim:
        raise ValueError(f"[slice] Invalid slice size for array with {a.ndim} dimensions.")
    start, axes = _dynamic_axes("slice", a, start_indices, axes)
    out = a[tuple(builtins.slice(0, s) for s in slice_size)] if not axes else a
    for i, ax in enumerate(axes):
        s = _clamped_start(start, i, a.shape[ax], slice_size[ax])
        out = take(out, ops.add(ops.arange(slice_size[ax]), s), ax)
    rest = tuple(builtins.slice(0, s) if d not in axes else builtins.slice(None)
                 for d, s in enumerate(slice_size))
    return out[rest]


def slice_update(a, update, start_indices, axes, *, stream=None) -> array:
    """`a` with the block at `start_indices` on `axes` (0 on the others) replaced by `update`."""
    a = ops.as_array(a)
    update = ops.astype(ops.as_array(update), a.dtype)
    if update.ndim > a.ndim:
        raise ValueError("[slice_update] Update array has more dimensions than the input.")
    update = ops.reshape(update, (1,) * (a.ndim - update.ndim) + update.shape)
    start, axes = _dynamic_axes("slice_update", a, start_indices, axes)
    inside = ops.constant(True, dt.bool_)
    spread = update
    for ax in range(a.ndim):
        n, m = a.shape[ax], update.shape[ax]
        if m > n:
            raise ValueError("[slice_update] Update is larger than the array.")
        s = _clamped_start(start, axes.index(ax), n, m) if ax in axes else ops.constant(0, dt.int32)
        rel = ops.subtract(ops.arange(n), s)  # position in the update along this axis
        ok = ops.logical_and(ops.greater_equal(rel, 0), ops.less(rel, m))
        shape = [1] * a.ndim
        shape[ax] = n
        inside = ops.logical_and(inside, ops.reshape(ok, shape))
        spread = take(spread, ops.minimum(ops.maximum(rel, 0), max(m - 1, 0)), ax) if m else (
            spread)
    if update.size == 0:
        return a
    return ops.where(inside, spread, a)


def _flat_positions(a: array) -> array:
    return ops.reshape(ops.arange(a.size, dtype=dt.int32 if a.size < 2**31 else dt.int64),
                       a.shape)


def put_along_axis(a, /, indices, values, axis=None, *, stream=None) -> array:
    a = ops.as_array(a)
    if axis is None:
        return ops.reshape(put_along_axis(ops.reshape(a, (-1,)), indices, values, 0), a.shape)
    if a.size == 0:  # nothing to put (MLX ignores the indices)
        return a
    pos = take_along_axis(_flat_positions(a), indices, axis)
    values = ops.broadcast_to(ops.as_array(values, like=a), pos.shape)
    return scatter_set(a, pos, values)


def as_strided(a, /, shape=None, strides=None, offset=0, *, stream=None) -> array:
    """The elements of row-contiguous `a` at `offset + sum(i_k * strides[k])`."""
    a = ops.as_array(a)
    shape = a.shape if shape is None else tuple(int(s) for s in shape)
    if strides is None:
        strides = [math.prod(shape[k + 1:]) for k in range(len(shape))]
    if len(strides) != len(shape):
        raise ValueError("[as_strided] The shape and strides must have the same length.")
    pos = np.full(shape, int(offset), dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        pos = pos + (np.arange(n) * int(s)).reshape((1,) * k + (n,) + (1,) * (len(shape) - k - 1))
    idt = np.int32 if a.size < 2**31 else np.int64
    return take(ops.reshape(a, (-1,)), array(pos.astype(idt)), 0) if pos.size else ops.zeros(
        shape, a.dtype)


def _scatter_sum(size: int, pos: array, values: array) -> array:
    return array._op("scatter_add", [ops.zeros((size,), values.dtype), pos, values], axis=0)


def unique(a, /, size: int, return_index=False, return_inverse=False, return_counts=False,
           fill_value=None, *, stream=None):
    """The `size` smallest unique elements of flattened `a`, sorted, padded with `fill_value`
    (default: the smallest element); optionally each one's first index, the inverse map
    (clamped to the last entry when truncated) and the counts (0 in the padding)."""
    from .scan_ops import argsort

    a = ops.as_array(a)
    size = int(size)
    if size < 0:
        raise ValueError("[unique] size must be non-negative.")
    flat = ops.reshape(a, (-1,))
    n = flat.shape[0]
    if n == 0 and size > 0 and fill_value is None:
        raise ValueError("[unique] A fill value is required for an empty input with a non-zero "
                         "size.")
    order = ops.astype(argsort(flat), dt.int32)  # stable: ties keep their first index first
    s = take(flat, order, 0)
    first = concatenate([ops.ones((min(n, 1),), dt.bool_),
                         ops.not_equal(s[1:], s[:-1])]) if n else ops.zeros((0,), dt.bool_)
    rank = ops.subtract(cumsum(ops.astype(first, dt.int32)), 1)  # group of each sorted entry
    kept = ops.less(rank, size)
    slot = ops.where(ops.logical_and(first, kept), rank, size)  # slot `size` is discarded
    work = dt.int32 if a.dtype == dt.bool_ else a.dtype
    vals = _scatter_sum(size + 1, slot, ops.where(first, ops.astype(s, work),
                                                  ops.constant(0, work)))[:size]
    filled = ops.greater(_scatter_sum(size + 1, slot, ops.astype(first, dt.int32))[:size], 0)
    fill = s[:1] if fill_value is None else ops.astype(ops.as_array(fill_value), a.dtype)
    values = ops.where(filled, ops.astype(vals, a.dtype), fill)
    outs = [values]
    if return_index:
        idx = _scatter_sum(size + 1, slot, ops.where(first, order, 0))[:size]
        outs.append(ops.astype(ops.where(filled, idx, idx[:1]), dt.uint32))
    if return_inverse:
        inv = _scatter_sum(n, order, ops.minimum(rank, max(size - 1, 0))) if n else (
            ops.zeros((0,), dt.int32))
        outs.append(ops.reshape(ops.astype(inv, dt.uint32), a.shape))
    if return_counts:
        outs.append(_scatter_sum(size + 1, ops.where(kept, rank, size),
                                 ops.ones((n,), dt.int32))[:size])
    return outs[0] if len(outs) == 1 else tuple(outs)


def searchsorted(sorted_sequence, values, /, side="left", *, stream=None) -> array:
    seq = ops.as_array(sorted_sequence)
    values = ops.as_array(values)
    if seq.ndim != 1:
        raise ValueError("[searchsorted] sorted_sequence must be 1-D.")
    if side not in ("left", "right"):
        raise ValueError("[searchsorted] side must be 'left' or 'right'.")
    seq, values = ops._promote_pair(seq, values)
    v = ops.expand_dims(values, -1)
    # NumPy's order, which the sort follows: NaN after everything
    if side == "left":
        before = ops.logical_or(ops.less(seq, v),
                                ops.logical_and(ops.isnan(v), ops.logical_not(ops.isnan(seq))))
    else:
        before = ops.logical_or(ops.less_equal(seq, v), ops.isnan(v))
    return ops.astype(ops.sum(before, axis=-1), dt.uint32)


# -- windows and transforms ------------------------------------------------------------------
def _cosine_window(m: int, coeffs: tuple[float, ...]) -> array:
    """sum_k (-1)^k c_k cos(2 pi k n / (m - 1)) for n in [0, m)."""
    if m < 1:
        return ops.zeros((0,), dt.float32)
    if m == 1:
        return ops.ones((1,), dt.float32)
    phase = ops.multiply(ops.arange(m, dtype=dt.float32), 2 * math.pi / (m - 1))
    out = ops.full((m,), coeffs[0], dt.float32)
    for k, c in enumerate(coeffs[1:], start=1):
        out = ops.add(out, ops.multiply(ops.cos(ops.multiply(phase, float(k))),  # noqa: F821
                                        (-1) ** k * c))
    return out


def hanning(M: int, *, stream=None) -> array:  # noqa: N803  (MLX's name)
    return _cosine_window(M, (0.5, 0.5))


def hamming(M: int, *, stream=None) -> array:  # noqa: N803
    return _cosine_window(M, (0.54, 0.46))


def blackman(M: int, *, stream=None) -> array:  # noqa: N803
    return _cosine_window(M, (0.42, 0.5, 0.08))


def bartlett(M: int, *, stream=None) -> array:  # noqa: N803
    if M < 1:
        return ops.zeros((0,), dt.float32)
    if M == 1:
        return ops.ones((1,), dt.float32)
    n = ops.arange(M, dtype=dt.float32)
    return ops.subtract(1.0, ops.abs(ops.subtract(ops.multiply(n, 2.0 / (M - 1)), 1.0)))


def hadamard_transform(a, scale=None, stream=None) -> array:
    """The Walsh-Hadamard transform of the last axis (Sylvester order) times `scale` (default
    1/sqrt(n)), as log2(n) butterfly stages of additions; n must be a power of two."""
    a = ops.as_array(a)
    if not dt.issubdtype(a.dtype, dt.floating):
        a = ops.astype(a, dt.float32)
    n = a.shape[-1] if a.ndim else 1
    if a.size == 0:
        raise ValueError("[hadamard_transform] Does not support empty arrays.")
    if n & (n - 1):
        raise ValueError(f"[hadamard_transform] mxir supports power-of-two sizes only, got {n} "
                         "(MLX also takes 12, 20 and 28 times a power of two).")
    lead = a.shape[:-1]
    x = a
    h = 1
    while h < n:  # pair element i with i + h inside blocks of 2h
        x = ops.reshape(x, lead + (n // (2 * h), 2, h))
        lo, hi = x[..., 0:1, :], x[..., 1:2, :]
        x = concatenate([ops.add(lo, hi), ops.subtract(lo, hi)], axis=-2)
        h *= 2
    x = ops.reshape(x, a.shape)
    s = 1.0 / math.sqrt(n) if scale is None else float(scale)
    return ops.multiply(x, ops.constant(s, x.dtype))


class ArrayIterator:
    """Iterates over the first axis of an array (`iter(a)`)."""

    def __init__(self, a: array):
        if a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        self._a, self._i = a, 0

    def __iter__(self) -> ArrayIterator:
        return self

    def __next__(self) -> array:
        if self._i >= self._a.shape[0]:
            raise StopIteration
        self._i += 1
        return self._a[self._i - 1]


def _install_methods() -> None:
    array.__iter__ = lambda self: ArrayIterator(self)
    array.split = _array_split
    array.conj = lambda self, *, stream=None: conjugate(self)
    array.real = property(real)
    array.imag = property(imag)
    array.swapaxes = lambda self, axis1, axis2, *, stream=None: ops.swapaxes(self, axis1, axis2)
    array.moveaxis = lambda self, source, destination, *, stream=None: ops.moveaxis(
        self, source, destination)
    array.diagonal = lambda self, offset=0, axis1=0, axis2=1, stream=None: ops.diagonal(
        self, offset, axis1, axis2)
    array.diag = lambda self, k=0, *, stream=None: ops.diag(self, k)
    array.mT = property(matrix_transpose)
    array.view = lambda self, dtype, *, stream=None: view(self, dtype)


_install_methods()

__all__ = [
    "acos", "acosh", "as_strided", "asin", "asinh", "atan", "atan2", "atanh", "bartlett",
    "bitwise_left_shift", "bitwise_right_shift", "blackman", "concat", "conj", "conjugate",
    "contiguous", "count_nonzero", "cumulative_prod", "cumulative_sum", "diff", "empty",
    "empty_like", "flip", "hadamard_transform", "hamming", "hanning", "imag", "logical_xor",
    "matrix_transpose", "median", "minmax", "permute_dims", "positive", "pow",
    "put_along_axis", "real", "searchsorted", "slice", "slice_update", "trunc", "unique",
    "unstack", "view",
    "vecdot",
]
