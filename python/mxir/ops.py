"""The MLX-style functional API. Each function checks and normalises its arguments as MLX does
(type promotion, broadcasting, axis handling) and adds `mx` op nodes to the lazy graph;
composites (mean, softmax, ...) are written in terms of those ops."""

from __future__ import annotations

import builtins
import functools
import math
import numbers

import numpy as np

from mxir.dialect import INTEGERS, OPS, ConstValue, to_storage

from . import dtypes as dt
from . import shapeless
from .array import array

Scalar = (bool, int, float, complex, np.number, np.bool_)


# -- argument normalisation -------------------------------------------------------------------
def constant(value, dtype) -> array:
    """A constant node (the value is part of the program, e.g. a Python scalar operand)."""
    dtype = dt.to_dtype(dtype)
    kind = type(value)
    # Python scalars repeat (every grad's cotangent is a 1): reuse their read-only ConstValue
    # (~3 µs to build); floats are keyed by hex so that 0.0 and -0.0 stay apart
    key = (kind, value.hex() if kind is float else value, dtype.name) if kind in (
        int, float, bool) else None
    cv = _SCALAR_CONSTANTS.get(key) if key is not None else None
    if cv is None:
        host = np.asarray(value, dtype=np.float64 if dtype.name in ("bfloat16",) else None)
        with np.errstate(invalid="ignore", over="ignore"):
            storage = to_storage(host, dtype.name)
        cv = ConstValue(storage, dtype.name)
        if key is not None:
            if len(_SCALAR_CONSTANTS) > 4096:
                _SCALAR_CONSTANTS.clear()
            storage.flags.writeable = False
            _SCALAR_CONSTANTS[key] = cv
    return array._op("constant", [], value=cv)


_SCALAR_CONSTANTS: dict = {}


_INT_RANGES = {name: (int(np.iinfo(name).min), int(np.iinfo(name).max))
               for name in INTEGERS}
_INT_RANGES["uint64"] = (-(2**63), 2**64 - 1)  # MLX checks uint64 against int64: -1 wraps


def _scalar_dtype(value, other: dt.Dtype) -> dt.Dtype:
    """MLX's weak typing of Python scalars against an array's dtype."""
    if isinstance(value, (bool, np.bool_)):
        return other
    if isinstance(value, numbers.Integral):
        lo, hi = _INT_RANGES.get(other.name, (-math.inf, math.inf))
        if not lo <= int(value) <= hi:
            raise ValueError(f"Converting {int(value)} to {other.name} would result in overflow.")
        return other if other != dt.bool_ else dt.int32
    if not isinstance(value, numbers.Real):  # a Python complex
        return dt.complex64
    if dt.issubdtype(other, dt.inexact):
        return other
    return dt.float32


def as_array(x, like: array | None = None) -> array:
    """An array for an operand. A Python scalar becomes data (an argument of the compiled
    program), not a constant: the compile cache is keyed by structure, never by values, so a
    loop that changes a scalar (a learning rate, a step) reuses one compiled program."""
    if isinstance(x, array):
        return x
    if isinstance(x, Scalar):
        # asked before with an operand of this dtype (a decode step's `/ 8.0` every token)
        seen = (type(x), _value_key(x),
                None if like is None else like._node.types[like._index].dtype)
        a = _SCALAR_OPERANDS.get(seen)
        if a is not None:
            return a
        dtype = _scalar_dtype(x, like.dtype) if like is not None else _python_dtype(x)
        # one data array per (value, dtype): repeated scalars are one program argument
        key = (seen[0], seen[1], dtype.name)
        a = _SCALAR_ARRAYS.get(key)
        if a is None:
            if len(_SCALAR_ARRAYS) > 4096:
                _SCALAR_ARRAYS.clear()
            a = _SCALAR_ARRAYS[key] = array(x, dtype)
        if len(_SCALAR_OPERANDS) > 4096:
            _SCALAR_OPERANDS.clear()
        _SCALAR_OPERANDS[seen] = a
        return a
    return array(x)


def _value_key(x):
    """`x` as a cache key that tells -0.0 from 0.0 (equal, one hash) for every float kind."""
    kind = type(x)
    if kind is float:
        return x.hex()
    if kind is int or kind is bool:
        return x
    if isinstance(x, (float, np.floating)):
        return float(x).hex()
    if isinstance(x, (complex, np.complexfloating)):
        return complex(x).real.hex(), complex(x).imag.hex()
    return x


_SCALAR_ARRAYS: dict = {}
_SCALAR_OPERANDS: dict = {}  # (type, value, operand dtype or None) -> _SCALAR_ARRAYS' array


def _python_dtype(x) -> dt.Dtype:
    if isinstance(x, (bool, np.bool_)):
        return dt.bool_
    if isinstance(x, numbers.Integral):
        return dt.int32 if -(2**31) <= int(x) < 2**31 else dt.int64
    if not isinstance(x, numbers.Real):
        return dt.complex64
    return dt.float32


def broadcast_shapes(*shapes) -> tuple[int, ...]:
    if not shapes:
        raise ValueError("[broadcast_shapes] Must provide at least one shape.")
    if len(shapes) == 2:  # the common cases of binary ops, without the general walk
        a, b = shapes
        if a == b or not b:
            return tuple(a)
        if not a:
            return tuple(b)
    ndim = builtins.max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        dims = {s[i] for s in shapes if len(s) >= -i} - {1}
        if len(dims) > 1:  # a dynamic dim (shapeless programs) takes a static size
            dims.discard(None)
        if len(dims) > 1:
            raise ValueError("[broadcast_shapes] Shapes " + " and ".join(
                "(" + ",".join(map(str, s)) + ")" for s in shapes) + " cannot be broadcast.")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def astype(x, dtype, stream=None) -> array:
    x = as_array(x)
    dtype = dt.to_dtype(dtype)
    if x.dtype == dtype:
        return x
    return array._op("astype", [x], dtype=dtype.name)


def broadcast_to(x, shape, stream=None) -> array:
    x = as_array(x)
    shape = tuple(int(d) for d in shape)
    if x.shape == shape:
        return x
    if builtins.any(d < 0 for d in shape):
        raise ValueError("[broadcast_to] Negative dimensions not allowed.")
    broadcast_shapes(x.shape, shape)
    return array._op("broadcast_to", [x], shape=shape)


def _promote_pair(a, b):
    if not isinstance(a, array) and not isinstance(b, array):
        a = as_array(a)
    if not isinstance(a, array):
        a = as_array(a, like=b)
    if not isinstance(b, array):
        b = as_array(b, like=a)
    dtype = dt.promote_types(a.dtype, b.dtype)
    return astype(a, dtype), astype(b, dtype)


def _broadcast_all(*xs):
    shape = broadcast_shapes(*(x.shape for x in xs))
    out = [broadcast_to(x, shape) for x in xs]
    if shapeless.recording is not None:
        shapeless.broadcasts(xs, out)
    return out


_PLAIN_SCALARS = (int, float)  # (not bool: its promotion differs)


def _binary(name: str, a, b, float_result=False) -> array:
    if shapeless.recording is None:  # the common cases, making the nodes the path below makes
        if type(b) is array and type(a) in _PLAIN_SCALARS:
            a = as_array(a, like=b)
        elif type(a) is array and type(b) in _PLAIN_SCALARS:
            b = as_array(b, like=a)
        if type(a) is array and type(b) is array:
            ta, tb = a._node.types[a._index], b._node.types[b._index]
            if ta.dtype == tb.dtype and (not float_result or ta.dtype in dt.FLOATS):
                if ta is not tb:  # (types are interned: equal types are one object)
                    shape = broadcast_shapes(ta.shape, tb.shape)
                    if ta.shape != shape:
                        a = array._op("broadcast_to", [a], shape=shape)
                    if tb.shape != shape:
                        b = array._op("broadcast_to", [b], shape=shape)
                return array._op(name, [a, b])
    a, b = _promote_pair(a, b)
    if float_result and not dt.issubdtype(a.dtype, dt.inexact):
        a, b = astype(a, dt.float32), astype(b, dt.float32)
    a, b = _broadcast_all(a, b)
    return array._op(name, [a, b])


def _float(x) -> array:
    if type(x) is array and x._node.types[x._index].dtype in dt.inexact.members:
        return x  # (the common case, without building a Dtype)
    x = as_array(x)
    return x if dt.issubdtype(x.dtype, dt.inexact) else astype(x, dt.float32)


def _unary_float(name: str):
    def fn(a, stream=None) -> array:
        return array._op(name, [_float(a)])

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} (integer inputs are promoted to float32, as MLX)."
    return fn


def _unary_same(name: str):
    def fn(a, stream=None) -> array:
        return array._op(name, [as_array(a)])

    fn.__name__ = name
    return fn


for _n, _op in OPS.items():
    if getattr(_op, "float_only", False) and _op.arity == 1:
        globals()[_n] = _unary_float(_n)


abs = _unary_same("abs")  # noqa: A001


def negative(a, stream=None) -> array:
    a = as_array(a)
    if a.dtype == dt.bool_:
        raise ValueError("[negative] Not supported for bool, use logical_not instead.")
    return array._op("negative", [a])


sign = _unary_same("sign")
square = _unary_same("square")
floor = _unary_same("floor")  # integers keep their dtype, as MLX
ceil = _unary_same("ceil")
_round_even = _unary_same("round")


def round(a, /, decimals: int = 0, stream=None) -> array:  # noqa: A001
    """Round half to even at `decimals` places (negative: tens, hundreds, ...); integers keep
    their dtype, as MLX."""
    a = as_array(a)
    if decimals == 0:
        return _round_even(a)
    scale = 10.0 ** decimals
    x = _float(a)
    r = divide(_round_even(multiply(x, scale)), scale)
    return r if dt.issubdtype(a.dtype, dt.floating) else astype(r, a.dtype)


def stop_gradient(a, stream=None) -> array:
    return array._op("stop_gradient", [as_array(a)])


def logical_not(a, stream=None) -> array:
    return array._op("logical_not", [astype(as_array(a), dt.bool_)])


def add(a, b, stream=None) -> array:
    return _binary("add", a, b)


# MLX computes these on two bools as C++ integer arithmetic converted back to bool, which is
# logic: a - b is a xor b, a // b is a and b (x // 0 gives 0), a % b is a and not b (x % 0
# gives x), a ** b is a or not b
_BOOL_LOGIC = {
    "subtract": lambda a, b: not_equal(a, b),
    "floor_divide": lambda a, b: logical_and(a, b),
    "remainder": lambda a, b: logical_and(a, logical_not(b)),
    "power": lambda a, b: logical_or(a, logical_not(b)),
}


def _integer_binary(name: str, a, b) -> array:
    a, b = _promote_pair(a, b)
    if a.dtype == dt.bool_:
        return _BOOL_LOGIC[name](a, b)
    if name == "floor_divide" and a.dtype == dt.complex64:
        return _binary("divide", a, b)  # MLX: no floor for complex values, the quotient itself
    return _binary(name, a, b)


def subtract(a, b, stream=None) -> array:
    return _integer_binary("subtract", a, b)


def multiply(a, b, stream=None) -> array:
    return _binary("multiply", a, b)


def divide(a, b, stream=None) -> array:
    return _binary("divide", a, b, float_result=True)


def power(a, b, stream=None) -> array:
    return _integer_binary("power", a, b)


def maximum(a, b, stream=None) -> array:
    return _binary("maximum", a, b)


def minimum(a, b, stream=None) -> array:
    return _binary("minimum", a, b)


def remainder(a, b, stream=None) -> array:
    return _integer_binary("remainder", a, b)


def floor_divide(a, b, stream=None) -> array:
    return _integer_binary("floor_divide", a, b)


def arctan2(a, b, stream=None) -> array:
    return _binary("arctan2", a, b, float_result=True)


def logaddexp(a, b, stream=None) -> array:
    return _binary("logaddexp", a, b, float_result=True)


def _compare(name):
    def fn(a, b, stream=None) -> array:
        return _binary(name, a, b)

    fn.__name__ = name
    return fn


equal = _compare("equal")
not_equal = _compare("not_equal")
less = _compare("less")
less_equal = _compare("less_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")


def logical_and(a, b, stream=None) -> array:
    a, b = _broadcast_all(astype(as_array(a), dt.bool_), astype(as_array(b), dt.bool_))
    return array._op("logical_and", [a, b])


def logical_or(a, b, stream=None) -> array:
    a, b = _broadcast_all(astype(as_array(a), dt.bool_), astype(as_array(b), dt.bool_))
    return array._op("logical_or", [a, b])


def where(condition, x, y, stream=None) -> array:
    x, y = _promote_pair(x, y)
    c = astype(as_array(condition), dt.bool_)
    c, x, y = _broadcast_all(c, x, y)
    return array._op("select", [c, x, y])


# -- reductions -------------------------------------------------------------------------------
class AxisError(IndexError, ValueError):
    """An axis out of range. MLX raises IndexError; it is a ValueError too, as mxir raised."""


def check_axis(fn: str, axis: int, ndim: int) -> int:
    """`axis` in [0, ndim), or MLX's error for an axis out of range."""
    if not -ndim <= axis < ndim:
        raise AxisError(f"[{fn}] Axis {axis} is out of bounds for array with {ndim} dimensions.")
    return axis % ndim


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise AxisError(f"Invalid axis {a} for array with {ndim} dimensions.")  # MLX's
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("Duplicate axes detected in reduction.")
    return tuple(sorted(out))


def _reduce(name, a, axis, keepdims) -> array:
    a = as_array(a)
    axes = normalize_axes(axis, a.ndim)
    return array._op(name, [a], axes=axes, keepdims=bool(keepdims))


def widen_for_sum(a: array, axis) -> array:
    """MLX's accumulator types for sum and prod: bool and small ints widen to (u)int32, unless
    no axis is reduced (a 0-d array, `axis=[]`), where MLX returns the input as it is."""
    if not normalize_axes(axis, a.ndim) or dt.accumulator(a.dtype) == a.dtype:
        return a
    return astype(a, dt.accumulator(a.dtype))


def sum(a, axis=None, keepdims=False, stream=None) -> array:  # noqa: A001
    a = as_array(a)
    return _reduce("sum", widen_for_sum(a, axis), axis, keepdims)


def mean(a, axis=None, keepdims=False, stream=None) -> array:
    a = as_array(a)
    axes = normalize_axes(axis, a.ndim)
    n = math.prod(a.shape[i] for i in axes)
    # as MLX, integers are summed in their accumulator dtype (wrapping), and the sum is
    # multiplied by 1/n rounded to the result dtype (not divided by n: the last bit differs)
    s = _float(sum(a, axes, keepdims))
    return multiply(s, _reciprocal_count(a, axes, s.dtype, n))


def _reciprocal_count(a, axes, dtype, n: int) -> array:
    c = constant(1.0 / n if n else float("inf"), dtype)
    if shapeless.recording is not None:
        shapeless.count(c, a, axes, dtype.name, inverted=True)
    return c


def var(a, axis=None, keepdims=False, ddof=0, stream=None) -> array:
    a = _float(a)
    axes = normalize_axes(axis, a.ndim)
    n = math.prod(a.shape[i] for i in axes)
    centered = subtract(a, mean(a, axes, keepdims=True))
    if a.dtype == dt.complex64:  # MLX: the float32 mean of re((x - mean) * conj(x - mean))
        squares = array._op("real", [multiply(centered, array._op("conjugate", [centered]))])
    else:
        squares = square(centered)
    s = sum(squares, axes, keepdims)
    if not ddof:  # as mean, and as MLX
        return multiply(s, _reciprocal_count(a, axes, s.dtype, n))
    c = constant(builtins.max(n - ddof, 0), s.dtype)
    if shapeless.recording is not None:
        shapeless.count(c, a, axes, s.dtype.name, ddof)
    return divide(s, c)


def std(a, axis=None, keepdims=False, ddof=0, stream=None) -> array:
    return globals()["sqrt"](var(a, axis, keepdims, ddof))  # defined from the op table


# -- shapes -----------------------------------------------------------------------------------
def reshape(a, shape, stream=None) -> array:
    a = as_array(a)
    shape = [int(d) for d in ((shape,) if isinstance(shape, (int, np.integer)) else shape)]
    if shape.count(-1) > 1:
        raise ValueError("[reshape] Reshape can only infer one dimension.")
    spec = tuple(shape)
    shape = shapeless.resolve_minus_one(a.size, spec) if -1 in spec else spec
    if shape == a.shape:
        return a
    out = array._op("reshape", [a], shape=shape)
    if shapeless.recording is not None and -1 in spec:
        shapeless.reshape(out, a, shapeless.infer_minus_one(spec))
    return out


def transpose(a, axes=None, stream=None) -> array:
    if axes is None and type(a) is array:  # `.T` (a decode step's `k_cache.T`)
        nd = len(a._node.types[a._index].shape)
        return a if nd < 2 else array._op("transpose", [a], perm=_REVERSED[nd])
    a = as_array(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    if len(axes) != a.ndim:
        raise ValueError(f"[transpose] Recived {len(axes)} axes for array with {a.ndim} "
                         "dimensions.")
    perm = tuple(int(x) % a.ndim if a.ndim else 0 for x in axes)
    if perm == tuple(range(a.ndim)):
        return a
    return array._op("transpose", [a], perm=perm)


class _Reversed(dict):
    def __missing__(self, nd: int) -> tuple:
        self[nd] = perm = tuple(range(nd))[::-1]
        return perm


_REVERSED = _Reversed()  # ndim -> the reversed axes


def expand_dims(a, axis, stream=None) -> array:
    a = as_array(a)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    nd = a.ndim + len(axes)
    axes = sorted(check_axis("expand_dims", x, nd) for x in axes)
    out = reshape(a, _insert_ones(a.shape, axes))
    if shapeless.recording is not None:
        shapeless.reshape(out, a, lambda s: _insert_ones(s, axes))
    return out


def _insert_ones(shape, axes):
    shape = list(shape)
    for x in axes:
        shape.insert(x, 1)
    return shape


def squeeze(a, axis=None, stream=None) -> array:
    a = as_array(a)
    if axis is None:
        axes = {i for i, d in enumerate(a.shape) if d == 1}
    else:
        axes = {check_axis("squeeze", x, a.ndim) for x in ((axis,) if isinstance(axis, int)
                                                            else axis)}
    for x in axes:
        if a.shape[x] != 1:
            raise ValueError("[squeeze] Cannot squeeze axis with size != 1.")
    out = reshape(a, [d for i, d in enumerate(a.shape) if i not in axes])
    if shapeless.recording is not None and out is not a:
        shapeless.reshape(out, a, lambda s: [d for i, d in enumerate(s) if i not in axes])
    return out


def flatten(a, start_axis=0, end_axis=-1, stream=None) -> array:
    a = as_array(a)
    if a.ndim == 0:
        return reshape(a, (1,))
    s, e = start_axis % a.ndim, end_axis % a.ndim
    out = reshape(a, a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:])
    if shapeless.recording is not None and out is not a:
        shapeless.reshape(out, a, lambda t: t[:s] + (shapeless.size(t[s:e + 1]),) + t[e + 1:])
    return out


# -- creation ---------------------------------------------------------------------------------
def full(shape, vals, dtype=None, stream=None) -> array:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if isinstance(vals, array):
        v = vals if dtype is None else astype(vals, dtype)
    else:
        v = constant(vals, dtype if dtype is not None else _python_dtype(vals))
    return broadcast_to(v, shape)


def zeros(shape, dtype=dt.float32, stream=None) -> array:
    return full(shape, 0, dtype)


def ones(shape, dtype=dt.float32, stream=None) -> array:
    return full(shape, 1, dtype)


def zeros_like(a, /, dtype=None, *, stream=None) -> array:
    return _like(zeros(a.shape, a.dtype if dtype is None else dtype), a)


def ones_like(a, /, dtype=None, *, stream=None) -> array:
    return _like(ones(a.shape, a.dtype if dtype is None else dtype), a)


def full_like(a, vals, dtype=None, stream=None) -> array:
    return _like(full(a.shape, vals, dtype or a.dtype), a, vals)


def _like(out, a, vals=None) -> array:
    if shapeless.recording is not None and out is not vals and out._node.op == "broadcast_to":
        shapeless.note(out, [a], lambda shape: {"shape": tuple(shape)})  # follows a's shape
    return out


def arange(*args, stream=None, **kwargs) -> array:
    """MLX's two overloads: arange(start, stop, step=None, dtype=None) and
    arange(stop, step=None, dtype=None) (so `start` alone, by name, is refused)."""
    names = ("start", "stop", "step", "dtype")
    if len(args) == 1 and "stop" not in kwargs and "start" not in kwargs:
        names = ("stop", "step", "dtype")
    if len(args) > len(names) or set(kwargs) - set(names) or set(names[:len(args)]) & set(
            kwargs):
        raise TypeError(f"arange(): incompatible function arguments: {args}, {kwargs}")
    given = dict(zip(names, args), **kwargs)
    if "stop" in given and given["stop"] is None and "start" in given:  # (stop, None, step)
        given["start"], given["stop"] = 0, given["start"]
    if given.get("stop") is None:
        raise TypeError(f"arange(): incompatible function arguments: {args}, {kwargs}")
    start, stop = given.get("start", 0), given["stop"]
    step, dtype = given.get("step"), given.get("dtype")
    if dtype is None:  # MLX: the promotion of the scalars' types (ints past int32: int64)
        kinds = [_python_dtype(v) for v in (start, stop) + (() if step is None else (step,))
                 if v is not None]
        dtype = functools.reduce(dt.promote_types, kinds)
    step = 1 if step is None else step
    dtype = dt.to_dtype(dtype)
    if dtype == dt.bool_:
        raise ValueError("bool not supported for arange.")
    start, stop, step = float(start), float(stop), float(step)
    if builtins.any(math.isnan(v) for v in (start, stop, step)) or math.isinf(start) \
            or math.isinf(stop):
        raise ValueError("[arange] Cannot compute length.")
    if step == 0:
        raise ValueError("[arange] step must be nonzero.")
    if math.isinf(step) and (start < stop if step > 0 else start > stop):
        return astype(array([start]), dtype)  # one value, as MLX
    n = math.ceil((stop - start) / step)
    if n > 2**31 - 1:
        raise ValueError("[arange] Maximum size exceeded.")
    return array._op("arange", [], start=start, step=step, shape=(builtins.max(n, 0),),
                     dtype=dtype.name)


def linspace(start, stop, num=50, endpoint=True, dtype=dt.float32, stream=None) -> array:
    """MLX's formula: t = i / (num - 1) (or / num without the endpoint), (1 - t) * start +
    t * stop in float32 (float64 for a float64 result), then cast."""
    if num < 0:
        raise ValueError(f"[linspace] number of samples, {num}, must be non-negative.")
    dtype = dt.to_dtype(dtype)
    if num == 1:
        return astype(array([start], dt.float64 if dtype == dt.float64 else None), dtype)
    inner = dt.float64 if dtype == dt.float64 else dt.float32
    t = divide(arange(0, num, dtype=inner), array(num - 1 if endpoint else num, inner))
    return astype(add(multiply(subtract(array(1, inner), t), array(start, inner)),
                      multiply(t, array(stop, inner))), dtype)


def eye(n, m=None, k=0, dtype=dt.float32, stream=None) -> array:
    m = n if m is None else m
    rows = reshape(arange(n), (n, 1))
    cols = reshape(arange(m), (1, m))
    return astype(equal(add(rows, k), cols), dtype)


def identity(n, dtype=dt.float32, stream=None) -> array:
    return eye(n, dtype=dtype)



# The rest of the API, by family (each module defines its functions with `__all__`).
from .array_ops import *  # noqa: E402,F401,F403
from .composites import *  # noqa: E402,F401,F403
from .einsum import *  # noqa: E402,F401,F403
from .indexing import *  # noqa: E402,F401,F403
from .interop import *  # noqa: E402,F401,F403
from .join_ops import *  # noqa: E402,F401,F403
from .quantized import *  # noqa: E402,F401,F403
from .reduce_ops import *  # noqa: E402,F401,F403
from .scan_ops import *  # noqa: E402,F401,F403
