"""`mx.array`: a lazy handle on one result of a graph node."""

from __future__ import annotations

import numbers

import numpy as np

from mxir.dialect import TensorType, from_storage, to_storage

from . import dtypes as dt
from .graph import data_node, make_node

_new = object.__new__
_CONVERT_SIZE = "[convert] Only length-1 arrays can be converted to Python scalars."
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _infer_python_dtype(value) -> dt.Dtype:
    """MLX: bool -> bool, int -> int32, float -> float32 (for scalars and nested lists)."""
    flat = []

    def walk(v):
        if isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, array):
            flat.append(v)
        else:
            flat.append(v)

    walk(value)
    kinds = set()
    for v in flat:
        if isinstance(v, array):
            kinds.add(v.dtype.name)
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, numbers.Integral):
            if not -2**63 <= int(v) < 2**63:  # (NumPy would make it uint64, then it wraps)
                raise RuntimeError(f"std::bad_cast: the Python int {int(v)} does not fit int64")
            kinds.add("int32" if _INT32_MIN <= int(v) <= _INT32_MAX else "int64")
        elif isinstance(v, numbers.Real):
            kinds.add("float32")
        elif isinstance(v, numbers.Complex):
            kinds.add("complex64")
        elif v is None and value is None:
            raise TypeError("array(): incompatible function arguments: NoneType")
        else:
            raise ValueError(f"Invalid type {type(v).__name__} received in array initialization.")
    if not kinds:
        return dt.float32
    out = dt.bool_
    for k in kinds:
        out = dt.promote_types(out, dt.ALL[k])
    return out


def _nested_to_numpy(value):
    if isinstance(value, array):
        return value.__array__()
    if isinstance(value, (list, tuple)):
        parts = [_nested_to_numpy(v) for v in value]
        shapes = {np.shape(p) for p in parts}
        if len(shapes) > 1:
            raise ValueError("Initialization encountered non-uniform length.")
        return np.array(parts) if parts else np.array([], dtype=np.float32)
    return value


def _holds_array(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_array(v) for v in value)
    return isinstance(value, array)


def _stack_nested(value, target: dt.Dtype) -> array:
    """A nested list holding arrays as a stack of its parts in `target`."""
    from . import ops

    if not isinstance(value, (list, tuple)):
        return ops.astype(value if isinstance(value, array) else array(value, target), target)
    parts = [_stack_nested(v, target) for v in value]
    if len({p.shape for p in parts}) > 1:
        raise ValueError("Initialization encountered non-uniform length.")
    return ops.stack(parts)


class array:
    """A lazy n-dimensional array; operations build a graph, evaluated on demand."""

    __slots__ = ("_node", "_index", "_pin", "__weakref__")

    def __init__(self, val, dtype=None):
        if not isinstance(val, array) and hasattr(val, "__mlx_array__"):  # mx.ArrayLike
            val = val.__mlx_array__()
        if isinstance(val, array):
            src = val if dtype is None else val.astype(dtype)
            self._node, self._index, self._pin = src._node, src._index, None
            return
        if isinstance(val, np.ndarray) or hasattr(val, "__array__") and not isinstance(
                val, (list, tuple)):
            host = borrowed = np.asarray(val)
            target = dt.to_dtype(dtype) if dtype is not None else _dtype_from_numpy(host.dtype)
        else:
            borrowed = None
            inferred = _infer_python_dtype(val)  # (also checks the values, as MLX)
            target = dt.to_dtype(dtype) if dtype is not None else inferred
            if _holds_array(val):  # arrays in the list stay in the graph (grad flows, as MLX)
                src = _stack_nested(val, target)
                self._node, self._index, self._pin = src._node, src._index, None
                return
            host = np.asarray(_nested_to_numpy(val))
        if host.dtype.kind == "c" and target.name != "complex64":
            host = host.real  # as MLX (NumPy would warn that it discards the imaginary part)
        if target.name == "bfloat16":
            host = host.astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            storage = to_storage(host, target.name)
        if borrowed is not None and np.may_share_memory(storage, borrowed):  # a copy, as
            storage = storage.copy()  # MLX's: a later `x += 1` on the NumPy side can't reach it
        node = data_node(storage, target.name)
        self._node, self._index, self._pin = node, 0, None

    @classmethod
    def _from(cls, node, index: int = 0) -> array:
        a = cls.__new__(cls)
        a._node, a._index, a._pin = node, index, None
        return a

    @staticmethod
    def _op(op: str, inputs, callee=None, **attrs):
        node = make_node(op, inputs, attrs, callee)
        if len(node.types) == 1:
            a = _new(array)
            a._node, a._index, a._pin = node, 0, None
            return a
        return [array._from(node, i) for i in range(len(node.types))]

    # -- properties -----------------------------------------------------------------------
    @property
    def _type(self) -> TensorType:
        return self._node.types[self._index]

    @property
    def shape(self) -> tuple[int, ...]:
        return self._type.shape

    @property
    def dtype(self) -> dt.Dtype:
        return dt.ALL[self._type.dtype]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return self._type.size

    @property
    def itemsize(self) -> int:
        return self.dtype.size

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() 0-dimensional array.")
        return self.shape[0]

    # -- evaluation -----------------------------------------------------------------------
    def _has_value(self) -> bool:
        v = self._node.values
        return v is not None and v[self._index] is not None

    def _storage(self) -> np.ndarray:
        if not self._has_value():
            from .evaluate import eval_arrays

            eval_arrays([self])
        return self._node.values[self._index]

    def __array__(self, dtype=None, copy=None):
        out = from_storage(self._storage(), self._type.dtype)  # (a NumPy scalar for 0-d bf16)
        out = np.array(out) if copy else np.asarray(out)
        return out if dtype is None else out.astype(dtype)

    def item(self):
        if self.size != 1:
            raise ValueError(_CONVERT_SIZE)
        return self.__array__().reshape(()).item()

    def tolist(self):
        return self.__array__().tolist()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(_CONVERT_SIZE)
        return bool(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if not dt.issubdtype(self.dtype, dt.integer):
            raise TypeError("only integer arrays can be used as an index")
        return int(self.item())

    def __repr__(self) -> str:
        from .printing import format_array

        return format_array(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        from .printing import format_scalar

        return format_scalar(self, spec)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        return id(self)

    def __copy__(self):  # a new handle: `a[i] = v` later rebinds `a`, not its copy (as MLX)
        return array._from(self._node, self._index)

    def __deepcopy__(self, memo):
        return array(self.__array__(copy=True), self.dtype)

    def __getstate__(self):
        return (self.__array__(copy=True), self.dtype.name)

    def __setstate__(self, state):
        other = array(state[0], dt.ALL[state[1]])
        self._node, self._index, self._pin = other._node, other._index, None


def _dtype_from_numpy(npdt) -> dt.Dtype:
    npdt = np.dtype(npdt)
    if npdt == np.float64:
        return dt.float32  # MLX defaults NumPy float64 input to float32
    if npdt == np.int64:
        return dt.int64
    if npdt == np.complex128:
        return dt.complex64  # as MLX: complex128 input is stored as complex64
    return dt.to_dtype(npdt)


def _install_operators() -> None:
    """Python operators and methods delegate to the functions in `ops`."""
    from . import ops

    def binop(fn, reflected=False):
        if reflected:
            return lambda self, other: fn(other, self)
        return fn  # fn(a, b, stream=None) is a method as it is (one call less per operator)

    table = {
        "add": ops.add, "sub": ops.subtract, "mul": ops.multiply, "truediv": ops.divide,
        "floordiv": ops.floor_divide, "mod": ops.remainder, "pow": ops.power,
    }
    for name, fn in table.items():
        setattr(array, f"__{name}__", binop(fn))
        setattr(array, f"__r{name}__", binop(fn, True))
    array.__eq__ = lambda self, other: ops.equal(self, other)
    array.__ne__ = lambda self, other: ops.not_equal(self, other)
    array.__lt__ = lambda self, other: ops.less(self, other)
    array.__le__ = lambda self, other: ops.less_equal(self, other)
    array.__gt__ = lambda self, other: ops.greater(self, other)
    array.__ge__ = lambda self, other: ops.greater_equal(self, other)
    array.__neg__ = lambda self: ops.negative(self)
    array.__pos__ = lambda self: self
    array.__abs__ = lambda self: ops.abs(self)
    # & | ^ << >> ~ and the scan methods (bitwise or logical by dtype, as MLX)
    from .scan_ops import _install as install_scan_ops

    install_scan_ops()
    array.T = property(ops.transpose)
    array.astype = lambda self, dtype, stream=None: ops.astype(self, dtype)
    for name in ("sum", "mean"):
        fn = getattr(ops, name)
        setattr(array, name, (lambda f: lambda self, axis=None, keepdims=False, **kw:
                              f(self, axis, keepdims, **kw))(fn))
    for name in ("var", "std"):  # ddof may come positionally, as in MLX
        fn = getattr(ops, name)
        setattr(array, name, (lambda f: lambda self, axis=None, keepdims=False, ddof=0, **kw:
                              f(self, axis, keepdims, ddof=ddof, **kw))(fn))
    for name in ("exp", "log", "sin", "cos", "abs", "sqrt", "rsqrt", "square", "reciprocal",
                 "log1p", "log2", "log10", "round", "floor", "ceil"):
        if hasattr(ops, name):
            setattr(array, name, (lambda f: lambda self, *a, **k: f(self, *a, **k))(
                getattr(ops, name)))
    array.reshape = lambda self, *shape, stream=None: ops.reshape(
        self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    array.transpose = lambda self, *axes, stream=None: ops.transpose(
        self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    array.flatten = lambda self, start_axis=0, end_axis=-1, stream=None: ops.flatten(
        self, start_axis, end_axis)
    array.squeeze = lambda self, axis=None, stream=None: ops.squeeze(self, axis)
    _install_operand_checks()
    _install_inplace()


# MLX's operators take arrays, scalars and buffers (NumPy arrays) as the other operand, and
# refuse Python sequences and strings by name; == and != with them are plain False / True.
_OP_WORDS = {"add": "addition", "sub": "subtraction", "mul": "multiplication",
             "truediv": "division", "floordiv": "floor division", "mod": "modulus",
             "pow": "power", "lt": "less than", "le": "less than or equal", "gt": "greater than",
             "ge": "greater than or equal", "and": "bitwise and", "or": "bitwise or",
             "xor": "bitwise xor", "lshift": "left shift", "rshift": "right shift"}


def _foreign(other) -> bool:
    return isinstance(other, (list, tuple, str, bytes, dict, set))


def _invalid_operation(what: str, other) -> ValueError:
    return ValueError(f"Cannot perform {what} on an mxir.array and {type(other).__name__}")


def _install_operand_checks() -> None:
    def checked(fn, what):
        def op(self, other):
            if _foreign(other):
                raise _invalid_operation(what, other)
            return fn(self, other)
        return op

    for name, what in _OP_WORDS.items():
        for dunder in (f"__{name}__", f"__r{name}__"):
            if dunder in array.__dict__:
                setattr(array, dunder, checked(array.__dict__[dunder], what))
    eq, ne = array.__eq__, array.__ne__
    array.__eq__ = lambda self, other: False if _foreign(other) else eq(self, other)
    array.__ne__ = lambda self, other: True if _foreign(other) else ne(self, other)


def _install_inplace() -> None:
    """`a += b` etc. update the array object itself, as MLX's (its other names see the new
    value); like `a[i] = v`, `a` is rebound to the new graph and what was computed from it
    keeps the old value."""
    from . import dtypes as dt

    def inplace(name, what):
        def op(self, other):
            if name != "matmul" and _foreign(other):
                raise _invalid_operation("inplace " + what, other)
            if name == "truediv" and not dt.issubdtype(self.dtype, dt.inexact):
                raise ValueError("In place division cannot cast to non-floating point type.")
            new = getattr(self, f"__{name}__")(other)
            self._node, self._index, self._pin = new._node, new._index, None
            return self
        return op

    for name, what in list(_OP_WORDS.items()) + [("matmul", "matmul")]:
        if name not in ("lt", "le", "gt", "ge"):
            setattr(array, f"__i{name}__", inplace(name, what))
