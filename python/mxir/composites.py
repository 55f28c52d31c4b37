"""MLX functions that are compositions of other ops (no op of their own, so every transform
sees only the ops they expand to)."""

from __future__ import annotations

import builtins
import math

from . import dtypes as dt
from .array import array
from .ops import (
    abs,
    add,
    arange,
    as_array,
    astype,
    broadcast_shapes,
    broadcast_to,
    check_axis,
    constant,
    equal,
    expand_dims,
    greater_equal,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    multiply,
    not_equal,
    reshape,
    subtract,
    transpose,
    where,
)


def _is_float(a: array) -> bool:
    return dt.issubdtype(a.dtype, dt.floating)


def degrees(a, stream=None) -> array:
    return multiply(a, 180.0 / math.pi)


def radians(a, stream=None) -> array:
    return multiply(a, math.pi / 180.0)


def _is_inexact(a: array) -> bool:
    return _is_float(a) or a.dtype == dt.complex64


def isnan(a, stream=None) -> array:
    a = as_array(a)  # complex: NaN in either part (a != a), as MLX
    return not_equal(a, a) if _is_inexact(a) else broadcast_to(constant(False, dt.bool_), a.shape)


def isinf(a, stream=None) -> array:
    from .array_ops import imag, real

    a = as_array(a)
    if not _is_inexact(a):
        return broadcast_to(constant(False, dt.bool_), a.shape)
    if a.dtype == dt.complex64:  # either part infinite, as MLX
        return logical_or(isinf(real(a)), isinf(imag(a)))
    return equal(abs(a), float("inf"))


def isposinf(a, stream=None) -> array:
    a = as_array(a)  # complex: equal to inf + 0j, as MLX
    return equal(a, float("inf")) if _is_inexact(a) else isinf(a)


def isneginf(a, stream=None) -> array:
    a = as_array(a)
    return equal(a, float("-inf")) if _is_inexact(a) else isinf(a)


def isfinite(a, stream=None) -> array:
    a = as_array(a)
    if not _is_inexact(a):
        return broadcast_to(constant(True, dt.bool_), a.shape)
    return logical_not(logical_or(isinf(a), isnan(a)))


def nan_to_num(a, nan=0.0, posinf=None, neginf=None, stream=None) -> array:
    a = as_array(a)
    # MLX 0.32 refuses complex64, and float64 where it needs the type's max
    if a.dtype == dt.complex64 or (a.dtype == dt.float64 and None in (posinf, neginf)):
        raise ValueError(f"[nan_to_num] Does not yet support given type: {a.dtype.name}.")
    if not _is_float(a):
        return a
    big = float(dt.finfo(a.dtype).max)  # the dtype's own (bfloat16's max is not float32's)
    out = where(isnan(a), nan, a)
    out = where(isposinf(out), big if posinf is None else posinf, out)
    return where(isneginf(out), -big if neginf is None else neginf, out)


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False, stream=None) -> array:
    a, b = as_array(a), as_array(b)
    close = less_equal(abs(subtract(a, b)), add(atol, multiply(rtol, abs(b))))
    # MLX's correction for infinities: false where either is +-inf, true where both are
    # infinities of one sign (for complex, +-inf means equal to +-inf + 0j)
    any_inf = logical_or(logical_or(isposinf(a), isneginf(a)),
                         logical_or(isposinf(b), isneginf(b)))
    both_inf = logical_or(logical_and(isposinf(a), isposinf(b)),
                          logical_and(isneginf(a), isneginf(b)))
    close = logical_or(logical_and(close, logical_not(any_inf)), both_inf)
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False, stream=None) -> array:
    from .reduce_ops import all as all_

    return all_(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a, b, equal_nan=False, stream=None) -> array:
    from .reduce_ops import all as all_

    a, b = as_array(a), as_array(b)
    if a.shape != b.shape:
        return constant(False, dt.bool_)
    same = equal(a, b)
    if equal_nan:
        same = where(logical_and(isnan(a), isnan(b)), True, same)
    return all_(same)


def moveaxis(a, source: int, destination: int, stream=None) -> array:
    a = as_array(a)
    src, dst = check_axis("moveaxis", source, a.ndim), check_axis("moveaxis", destination, a.ndim)
    perm = [i for i in range(a.ndim) if i != src]
    perm.insert(dst, src)
    return transpose(a, perm)


def swapaxes(a, axis1: int, axis2: int, stream=None) -> array:
    a = as_array(a)
    perm = list(range(a.ndim))
    i, j = check_axis("swapaxes", axis1, a.ndim), check_axis("swapaxes", axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def _atleast(n: int, *arys):
    out = []
    for x in arys:
        x = as_array(x)
        if x.ndim < n:  # NumPy's placement: (N,) -> (1, N) -> (1, N, 1); (M, N) -> (M, N, 1)
            shape = {0: (1,) * n, 1: ((1,) + x.shape + (1,))[:n] if n > 1 else x.shape,
                     2: x.shape + (1,)}[x.ndim]
            x = reshape(x, shape)
        out.append(x)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys, stream=None):
    return _atleast(1, *arys)


def atleast_2d(*arys, stream=None):
    return _atleast(2, *arys)


def atleast_3d(*arys, stream=None):
    return _atleast(3, *arys)


def broadcast_arrays(*arrays, stream=None) -> list[array]:
    arrays = [as_array(a) for a in arrays]
    if not arrays:
        return []
    shape = broadcast_shapes(*(a.shape for a in arrays))
    return [broadcast_to(a, shape) for a in arrays]


def tri(n: int, m: int | None = None, k: int = 0, dtype=dt.float32, stream=None) -> array:
    m = n if m is None else m
    rows = reshape(arange(n), (n, 1))
    cols = reshape(arange(m), (1, m))
    return astype(greater_equal(add(rows, k), cols), dtype)


def tril(x, k: int = 0, stream=None) -> array:
    x = as_array(x)
    mask = tri(x.shape[-2], x.shape[-1], k, dt.bool_)
    return where(mask, x, constant(0, x.dtype))


def triu(x, k: int = 0, stream=None) -> array:
    x = as_array(x)
    mask = tri(x.shape[-2], x.shape[-1], k - 1, dt.bool_)
    return where(mask, constant(0, x.dtype), x)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1, stream=None) -> array:
    from .indexing import take_along_axis

    a = as_array(a)
    i, j = axis1 % a.ndim, axis2 % a.ndim
    a = transpose(a, [d for d in range(a.ndim) if d not in (i, j)] + [i, j])
    n_rows, n_cols = a.shape[-2], a.shape[-1]
    start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n_rows - start_r, n_cols - start_c))
    rows = a[..., start_r:start_r + length, :]
    idx = reshape(add(arange(length), start_c), (length, 1))
    idx = broadcast_to(idx, rows.shape[:-1] + (1,))
    return reshape(take_along_axis(rows, idx, axis=-1), rows.shape[:-1])


def diag(a, k: int = 0, stream=None) -> array:
    """The k-th diagonal of a 2-D array, or a 2-D array with `a` on its k-th diagonal."""
    from .join_ops import pad

    a = as_array(a)
    if a.ndim == 2:
        return diagonal(a, k)
    if a.ndim != 1:
        raise ValueError("[diag] array must be 1-D or 2-D.")
    n = a.shape[0] + (k if k >= 0 else -k)
    first_row = max(0, -k)  # row i holds a[i - first_row] on the diagonal
    column = pad(reshape(a, (a.shape[0], 1)), [(first_row, n - a.shape[0] - first_row), (0, 0)])
    rows = reshape(arange(n), (n, 1))
    cols = reshape(arange(n), (1, n))
    on_diagonal = equal(subtract(cols, rows), k)
    return where(on_diagonal, broadcast_to(column, (n, n)), constant(0, a.dtype))


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, stream=None) -> array:
    from .ops import sum as sum_

    d = diagonal(a, offset, axis1, axis2)
    return sum_(d if dtype is None else astype(d, dtype), axis=-1)


def repeat(array, repeats: int, axis: int | None = None, *, stream=None) -> array:
    a = as_array(array)  # MLX names the parameter `array`
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = check_axis("repeat", axis, a.ndim)
    x = expand_dims(a, axis + 1)
    shape = list(x.shape)
    shape[axis + 1] = repeats
    x = broadcast_to(x, shape)
    out = list(a.shape)
    out[axis] *= repeats
    return reshape(x, out)


def tile(a, reps, stream=None) -> array:
    a = as_array(a)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = max(a.ndim, len(reps))
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    reps = (1,) * (nd - len(reps)) + reps
    # interleave a broadcast axis before each axis, then merge
    shape, bshape = [], []
    for r, d in zip(reps, a.shape):
        shape += [1, d]
        bshape += [r, d]
    x = broadcast_to(reshape(a, shape), bshape)
    return reshape(x, [r * d for r, d in zip(reps, a.shape)])


def roll(a, shift, axis=None, stream=None) -> array:
    from .join_ops import concatenate

    a = as_array(a)
    # MLX: several shifts on one axis (or on the flattened array) add up; one shift applies
    # to every axis given; else one shift per axis
    if not isinstance(shift, int):
        shift = tuple(int(s) for s in shift)
        if axis is None or isinstance(axis, int):
            shift = builtins.sum(shift)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), a.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shifts = (shift,) * len(axes) if isinstance(shift, int) else shift
    if len(shifts) < len(axes):
        raise ValueError(f"[roll] At least one shift value per axis is required, {len(shifts)} "
                         f"provided for {len(axes)} axes.")
    for s, ax in zip(shifts, axes):
        ax = check_axis("roll", ax, a.ndim)
        n = a.shape[ax]
        if n == 0:
            continue
        s %= n
        if s == 0:
            continue
        head = a[(slice(None),) * ax + (slice(n - s, None),)]
        tail = a[(slice(None),) * ax + (slice(0, n - s),)]
        a = concatenate([head, tail], axis=ax)
    return a


def meshgrid(*arrays, sparse: bool = False, indexing: str = "xy", stream=None
             ) -> tuple[array, ...]:  # a tuple, as MLX returns it
    if indexing not in ("xy", "ij"):
        raise ValueError("[meshgrid] indexing must be 'xy' or 'ij'.")
    arrays = [reshape(as_array(a), (-1,)) for a in arrays]
    n = len(arrays)
    outs = []
    for i, a in enumerate(arrays):
        shape = [1] * n
        shape[i] = a.size
        outs.append(reshape(a, shape))
    if indexing == "xy" and n >= 2:
        outs = [swapaxes(o, 0, 1) for o in outs]
    return tuple(outs if sparse else broadcast_arrays(*outs))


def kron(a, b, stream=None) -> array:
    a, b = as_array(a), as_array(b)
    if a.size == 0 or b.size == 0:
        raise ValueError("[kron] Input arrays cannot be empty.")
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ai = reshape(a, [d for x in a.shape for d in (x, 1)])
    bi = reshape(b, [d for x in b.shape for d in (1, x)])
    return reshape(multiply(ai, bi), [x * y for x, y in zip(a.shape, b.shape)])


def divmod(a, b, stream=None):  # noqa: A001
    from .ops import floor_divide, remainder

    return [floor_divide(a, b), remainder(a, b)]


def unflatten(a, axis: int, shape, stream=None) -> array:
    a = as_array(a)
    axis %= a.ndim
    return reshape(a, a.shape[:axis] + tuple(shape) + a.shape[axis + 1:])


def addmm(c, a, b, alpha: float = 1.0, beta: float = 1.0, stream=None) -> array:
    from .join_ops import matmul

    ab = matmul(a, b)
    c = as_array(c)
    if broadcast_shapes(c.shape, ab.shape) != ab.shape:
        raise ValueError("[addmm] input c must broadcast to the output shape")
    return add(multiply(ab, alpha), multiply(c, beta))


__all__ = [
    "addmm", "allclose", "array_equal", "atleast_1d", "atleast_2d", "atleast_3d",
    "broadcast_arrays", "degrees", "diag", "diagonal", "divmod", "isclose", "isfinite", "isinf",
    "isnan", "isneginf", "isposinf", "kron", "meshgrid", "moveaxis", "nan_to_num",
    "radians", "repeat", "roll", "swapaxes", "tile", "trace", "tri", "tril",
    "triu", "unflatten",
]
