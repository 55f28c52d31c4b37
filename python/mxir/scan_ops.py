"""Scans, sorting and bitwise ops (MLX signatures): cumsum, cumprod, cummax, cummin,
logcumsumexp, sort, argsort, topk, partition, argpartition, bitwise_and/or/xor/invert,
left_shift, right_shift; also installs the matching `array` methods and the operators
`&`, `|`, `^`, `<<`, `>>`, `~` (which MLX dispatches on dtype: bitwise for integers, logical
for bool, an error for floats)."""

from __future__ import annotations

from mxir.dialect.scan import LOGADDEXP, MAX, MIN, PROD, SUM

from . import dtypes as dt
from . import ops
from .array import array

__all__ = ["argpartition", "argsort", "bitwise_and", "bitwise_invert", "bitwise_or",
           "bitwise_xor", "cummax", "cummin", "cumprod", "cumsum", "left_shift",
           "logcumsumexp", "partition", "right_shift", "sort", "topk"]


def _axis(name: str, axis: int, ndim: int) -> int:
    return ops.check_axis(name, axis, ndim)


def _flat(a: array) -> array:
    return ops.reshape(a, (a.size,))


def _scan_fn(name: str, kind: int):
    def fn(a, /, axis=None, *, reverse=False, inclusive=True, dtype=None,
           stream=None) -> array:
        a = ops.as_array(a)
        if dtype is not None:  # MLX: the input is cast first (cumsum and cumprod only)
            if kind not in (SUM, PROD):
                raise TypeError(f"{name}() got an unexpected keyword argument 'dtype'")
            a = ops.astype(a, dtype)
        if kind == LOGADDEXP and not dt.issubdtype(a.dtype, dt.inexact):
            a = ops.astype(a, dt.float32)
        if axis is None:  # over the flattened array
            a, axis = _flat(a), 0
        axis = _axis(name, int(axis), a.ndim)
        return array._op("scan", [a], kind=kind, axis=axis, reverse=bool(reverse),
                         inclusive=bool(inclusive))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"`{name}` along `axis` (the flattened array when None); `reverse` scans "
                  "from the end, `inclusive=False` shifts by one (starting from the identity).")
    return fn


cumsum = _scan_fn("cumsum", SUM)
cumprod = _scan_fn("cumprod", PROD)
cummax = _scan_fn("cummax", MAX)
cummin = _scan_fn("cummin", MIN)
logcumsumexp = _scan_fn("logcumsumexp", LOGADDEXP)


def _sorted(name: str, a, axis):
    """(values, indices) of a stable ascending sort along `axis` (flattened when None)."""
    a = ops.as_array(a)
    if axis is None:
        a, axis = _flat(a), 0
    axis = _axis(name, int(axis), a.ndim)
    values, indices = array._op("sort", [a], axis=axis)
    return values, indices, axis


def sort(a, /, axis=-1, *, stream=None) -> array:
    """Sorted copy along `axis` (flattened when None); NaN sorts last, as in NumPy."""
    return _sorted("sort", a, axis)[0]


def argsort(a, /, axis=-1, *, stream=None) -> array:
    """uint32 indices that sort `a` along `axis`; equal elements keep their order."""
    return _sorted("argsort", a, axis)[1]


def partition(a, /, kth, axis=-1, *, stream=None) -> array:
    """A partition around `kth` (a sorted array is one)."""
    _check_kth("partition", a, kth, axis)
    return sort(a, axis)


def argpartition(a, /, kth, axis=-1, *, stream=None) -> array:
    _check_kth("argpartition", a, kth, axis)
    return argsort(a, axis)


def _check_kth(name, a, kth, axis):
    a = ops.as_array(a)
    n = a.size if axis is None else a.shape[_axis(name, int(axis), a.ndim)]
    if not -n <= int(kth) < n:
        raise ValueError(f"[{name}] Received invalid kth {kth} along axis {axis} for array "
                         f"with shape: {a.shape}")


def topk(a, /, k, axis=-1, *, stream=None) -> array:
    """The `k` largest elements along `axis` (flattened when None), in ascending order (MLX
    leaves the order unspecified)."""
    values, _, axis = _sorted("topk", a, axis)
    n = values.shape[axis]
    k = int(k)
    if not 0 <= k <= n:
        raise ValueError(f"[topk] Received invalid k={k} along axis {axis} for array with "
                         f"shape: {values.shape}")
    start = [0] * values.ndim
    start[axis] = n - k
    return array._op("slice", [values], start=tuple(start), stop=values.shape,
                     strides=(1,) * values.ndim)


# -- bitwise ---------------------------------------------------------------------------------
def _bitwise_pair(name: str, a, b, shift: bool):
    pa, pb = ops._promote_pair(a, b)
    if dt.issubdtype(pa.dtype, dt.floating):
        # MLX names each operand's type after weak scalar typing (right_shift: after promotion)
        names = [(x.dtype if isinstance(x, array) and name != "right_shift" else p.dtype).name
                 for x, p in ((a, pa), (b, pb))]
        raise RuntimeError(f"[{name}] Only allowed on integer or boolean types but got types "
                           f"{names[0]} and {names[1]}.")
    a, b = pa, pb
    if shift and a.dtype == dt.bool_:  # MLX shifts booleans as uint8
        a, b = ops.astype(a, dt.uint8), ops.astype(b, dt.uint8)
    return ops._broadcast_all(a, b)


def _bitwise_fn(name: str, shift: bool = False):
    def fn(a, b, /, *, stream=None) -> array:
        return array._op(name, list(_bitwise_pair(name, a, b, shift)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}` of integer or bool arrays (broadcast, promoted)."
    return fn


bitwise_and = _bitwise_fn("bitwise_and")
bitwise_or = _bitwise_fn("bitwise_or")
bitwise_xor = _bitwise_fn("bitwise_xor")
left_shift = _bitwise_fn("left_shift", shift=True)
right_shift = _bitwise_fn("right_shift", shift=True)


def bitwise_invert(a, /, *, stream=None) -> array:
    a = ops.as_array(a)
    if dt.issubdtype(a.dtype, dt.inexact):
        raise ValueError("[bitwise_invert] Bitwise inverse only allowed on integer types.")
    return array._op("bitwise_invert", [a])


def _operator(fn, what: str):
    """`x & y` etc.: floats are an error, as in MLX; bool gives the logical result."""
    def op(x, y):
        for v in (x, y):
            if isinstance(v, float) or (isinstance(v, array)
                                        and dt.issubdtype(v.dtype, dt.floating)):
                raise ValueError(f"Floating point types not allowed with {what}.")
        return fn(x, y)

    return op


def _invert(x: array) -> array:
    if dt.issubdtype(x.dtype, dt.floating):
        raise ValueError("Floating point types not allowed with bitwise inversion.")
    if x.dtype == dt.bool_:
        return ops.logical_not(x)
    return bitwise_invert(x)


def _install() -> None:
    table = {"and": (bitwise_and, "bitwise and"), "or": (bitwise_or, "bitwise or"),
             "xor": (bitwise_xor, "bitwise xor"), "lshift": (left_shift, "left shift"),
             "rshift": (right_shift, "right shift")}
    for name, (fn, what) in table.items():
        f = _operator(fn, what)
        setattr(array, f"__{name}__", (lambda g: lambda self, other: g(self, other))(f))
        setattr(array, f"__r{name}__", (lambda g: lambda self, other: g(other, self))(f))
    array.__invert__ = _invert
    for name in ("cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"):
        fn = globals()[name]
        setattr(array, name, (lambda f: lambda self, axis=None, *, reverse=False,
                              inclusive=True, stream=None: f(self, axis, reverse=reverse,
                                                             inclusive=inclusive))(fn))

