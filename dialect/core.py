"""The `mx` dialect's building blocks: tensor types, dtypes, attribute kinds, the op base class.

Everything here is plain Python (no MLIR objects) except the conversions to and from MLIR types
and attributes, so the frontend can infer shapes without touching MLIR.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np


class MxError(Exception):
    """An error about an `mx` program, with the location of the offending op when known."""

    def __init__(self, message: str, location: Any = None, exc_type: type = ValueError):
        super().__init__(message)
        self.message = message
        self.location = location
        self.exc_type = exc_type  # the Python exception type the frontend raises (MLX's)


class DynamicDimsError(MxError):
    """An op, a rule or a lowering that cannot take dynamic dims: a shapeless function's shape
    class then compiles per shape (the one error that may, any other is a bug to report)."""


# name -> (MLIR element type spelling, NumPy storage dtype). bfloat16 is stored as its bits.
DTYPES: dict[str, tuple[str, Any]] = {
    "bool": ("i1", np.bool_),
    "uint8": ("ui8", np.uint8),
    "uint16": ("ui16", np.uint16),
    "uint32": ("ui32", np.uint32),
    "uint64": ("ui64", np.uint64),
    "int8": ("i8", np.int8),
    "int16": ("i16", np.int16),
    "int32": ("i32", np.int32),
    "int64": ("i64", np.int64),
    "float16": ("f16", np.float16),
    "bfloat16": ("bf16", np.uint16),
    "float32": ("f32", np.float32),
    "float64": ("f64", np.float64),
    "complex64": ("complex<f32>", np.complex64),
}
FLOATS = ("float16", "bfloat16", "float32", "float64")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTEGERS = SIGNED + UNSIGNED
COMPLEX = ("complex64",)
# The MLIR Python bindings cannot hold a dense attribute of complex elements (parsing one raises
# "Can't cast unknown element type"), so a complex64 constant's contents are written as its
# (real, imag) float32 pairs: a trailing dim of 2 and this tensor encoding (same bytes).
COMPLEX_ENCODING = '"complex64"'
_FROM_MLIR = {spelling: name for name, (spelling, _) in DTYPES.items()}


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_complex(dtype: str) -> bool:
    return dtype in COMPLEX


def is_inexact(dtype: str) -> bool:
    return dtype in FLOATS or dtype in COMPLEX


def is_integer(dtype: str) -> bool:
    return dtype in INTEGERS


def numpy_dtype(dtype: str) -> np.dtype:
    return np.dtype(DTYPES[dtype][1])


def reference_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype the reference interpreter computes in (bfloat16 in float32)."""
    return np.dtype(np.float32) if dtype == "bfloat16" else numpy_dtype(dtype)


def dtype_of_numpy(dt: np.dtype) -> str:
    dt = np.dtype(dt)
    for name, (_, npt) in DTYPES.items():
        if name != "bfloat16" and np.dtype(npt) == dt:
            return name
    raise MxError(f"[array] Unsupported NumPy dtype {dt}.", exc_type=TypeError)


# bfloat16 <-> float32, round to nearest even (what hardware and MLX do).
def bf16_bits_from_f32(x: np.ndarray) -> np.ndarray:
    bits = np.asarray(x, dtype=np.float32, order="C").view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    out = (rounded >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    return np.where(nan, np.uint16(0x7FC0), out)


def f32_from_bf16_bits(b: np.ndarray) -> np.ndarray:
    # np.asarray: on a 0-d array the shift gives a NumPy scalar, not an array
    return np.asarray(np.asarray(b, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(
        np.float32)


def to_storage(values: np.ndarray, dtype: str) -> np.ndarray:
    """Reference/computation values -> the host storage of `dtype` (C-contiguous)."""
    if dtype == "bfloat16":
        return bf16_bits_from_f32(np.asarray(values, dtype=np.float32))
    return np.asarray(values, dtype=numpy_dtype(dtype), order="C")


def from_storage(values: np.ndarray, dtype: str) -> np.ndarray:
    """Host storage of `dtype` -> NumPy values (bfloat16 widened to float32)."""
    return f32_from_bf16_bits(values) if dtype == "bfloat16" else values


class TensorType:
    """A ranked tensor type: a shape (ints; None for a dynamic dim, `?` in IR, used by shapeless
    compile) and an element dtype name. Immutable and interned: equal types are one object,
    hashed by identity, so the nested tuples of a Program (the compile-cache key, hashed and
    compared at every evaluation) compare types by identity."""

    __slots__ = ("shape", "dtype")
    shape: tuple[int | None, ...]
    dtype: str

    def __new__(cls, shape, dtype):
        key = (shape, dtype)
        try:
            return _INTERNED[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable shape (a list): normalised below
            pass
        shape = tuple(None if d is None else int(d) for d in shape)
        key = (shape, dtype)
        t = _INTERNED.get(key)
        if t is None:
            t = object.__new__(cls)
            object.__setattr__(t, "shape", shape)
            object.__setattr__(t, "dtype", dtype)
            _INTERNED[key] = t  # never dropped: the identity hash below relies on it
        return t

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is not TensorType:
            return NotImplemented
        return self.shape == other.shape and self.dtype == other.dtype

    # one object per type: the identity hash (C, no Python call) agrees with __eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"TensorType(shape={self.shape!r}, dtype={self.dtype!r})"

    def __reduce__(self):
        return (TensorType, (self.shape, self.dtype))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        if None in self.shape:
            raise MxError(f"the size of {self} is only known at run time")
        return math.prod(self.shape)

    @property
    def dynamic(self) -> bool:
        return None in self.shape

    def with_shape(self, shape) -> TensorType:
        return TensorType(tuple(shape), self.dtype)

    def with_dtype(self, dtype: str) -> TensorType:
        return TensorType(self.shape, dtype)

    def __str__(self) -> str:
        dims = "".join("?x" if d is None else f"{d}x" for d in self.shape)
        return f"tensor<{dims}{DTYPES[self.dtype][0]}>"

    # MLIR conversions (the only MLIR-aware methods of this class)
    def to_ir(self, storage: bool = False):
        """The MLIR type; `storage` gives the lowered type (see `element_type_to_ir`)."""
        from mlir import ir

        dyn = ir.ShapedType.get_dynamic_size()
        return ir.RankedTensorType.get([dyn if d is None else d for d in self.shape],
                                       element_type_to_ir(self.dtype, storage))

    @staticmethod
    def from_ir(t) -> TensorType:
        from mlir import ir

        if not isinstance(t, ir.RankedTensorType):
            raise MxError(f"expected a ranked tensor type, got {t}")
        spelling = str(t.element_type)
        if spelling not in _FROM_MLIR:
            raise MxError(f"unsupported element type {spelling}; mx supports "
                          + ", ".join(s for s, _ in DTYPES.values()))
        shape = t.shape
        if not t.has_static_shape:
            shape = [None if ir.ShapedType.is_dynamic_size(d) else d for d in shape]
        return TensorType(tuple(shape), _FROM_MLIR[spelling])


_INTERNED: dict[tuple, TensorType] = {}


def element_type_to_ir(dtype: str, storage: bool = False):
    """The element type of `dtype` in `mx` IR, or (`storage`) once lowered: arith needs signless
    integers (ui32 -> i32), and memrefs of i1 abort the LLVM lowering, so bool is stored as i8."""
    from mlir import ir

    spelling = DTYPES[dtype][0]
    if storage and dtype == "bool":
        return ir.IntegerType.get_signless(8)
    if spelling.startswith("ui"):
        width = int(spelling[2:])
        return ir.IntegerType.get_signless(width) if storage else ir.IntegerType.get_unsigned(width)
    if spelling.startswith("i"):
        return ir.IntegerType.get_signless(int(spelling[1:]))
    if dtype == "complex64":
        return ir.ComplexType.get(ir.F32Type.get())
    return {"f16": ir.F16Type, "bf16": ir.BF16Type, "f32": ir.F32Type, "f64": ir.F64Type}[
        spelling
    ].get()


# ---------------------------------------------------------------------------------------------
# Attribute kinds: Python value <-> MLIR attribute, and the IRDL base that constrains it.
class AttrKind:
    irdl_base = ""

    def to_ir(self, value, ttype=None):
        raise NotImplementedError

    def from_ir(self, attr, ttype=None):
        raise NotImplementedError


class Ints(AttrKind):
    """A tuple of i64 (axes, shapes, permutations, strides)."""

    irdl_base = "#builtin.dense_array"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.DenseI64ArrayAttr.get([int(v) for v in value])

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.DenseI64ArrayAttr):
            raise MxError(f"expected array<i64: ...>, got {attr}")
        return tuple(int(v) for v in attr)


class Shape(Ints):
    """A target shape: a dynamic dim (None) is -1 in IR."""

    def to_ir(self, value, ttype=None):
        return super().to_ir([-1 if d is None else d for d in value])

    def from_ir(self, attr, ttype=None):
        return tuple(None if d == -1 else d for d in super().from_ir(attr))


class Bool(AttrKind):
    irdl_base = "#builtin.integer"  # BoolAttr is an i1 IntegerAttr

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.BoolAttr.get(bool(value))

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.BoolAttr):
            raise MxError(f"expected a bool attribute, got {attr}")
        return bool(attr.value)


class Int(AttrKind):
    irdl_base = "#builtin.integer"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.IntegerAttr) or isinstance(attr, ir.BoolAttr):
            raise MxError(f"expected an integer attribute, got {attr}")
        return int(attr.value)


class Float(AttrKind):
    irdl_base = "#builtin.float"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.FloatAttr.get(ir.F64Type.get(), float(value))

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.FloatAttr):
            raise MxError(f"expected a float attribute, got {attr}")
        return float(attr.value)


@dataclass(frozen=True, eq=False)
class ConstValue:
    """Constant contents: an array in host storage (see `to_storage`) and its dtype name.
    Equal and hashed by contents, so programs holding constants can key a compile cache."""

    array: np.ndarray
    dtype: str

    @property
    def type(self) -> TensorType:
        return TensorType(tuple(self.array.shape), self.dtype)

    def _key(self):
        key = self.__dict__.get("_cached_key")
        if key is None:
            key = (self.dtype, self.array.shape, self.array.tobytes())
            if not self.array.flags.writeable:  # shared scalar constants: keyed once
                self.__dict__["_cached_key"] = key
        return key

    def __eq__(self, other):
        return isinstance(other, ConstValue) and self._key() == other._key()

    def __hash__(self):
        h = self.__dict__.get("_cached_hash")
        if h is None:
            h = hash(self._key())
            if "_cached_key" in self.__dict__:
                self.__dict__["_cached_hash"] = h
        return h


class Dense(AttrKind):
    irdl_base = "#builtin.dense_int_or_fp_elements"

    def to_ir(self, value: ConstValue, ttype=None):
        return dense_to_ir(value.array, value.type)

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.DenseElementsAttr):
            raise MxError(f"expected dense elements, got {attr}")
        if _is_complex_pairs(attr.type):
            pairs = TensorType.from_ir(ir.RankedTensorType.get(attr.type.shape, ir.F32Type.get()))
            values = dense_from_ir(attr, pairs)
            return ConstValue(np.ascontiguousarray(values).view(np.complex64)[..., 0],
                              "complex64")
        t = TensorType.from_ir(attr.type)
        return ConstValue(dense_from_ir(attr, t), t.dtype)


def _is_complex_pairs(t) -> bool:
    from mlir import ir

    return (isinstance(t, ir.RankedTensorType) and t.encoding is not None
            and str(t.encoding) == COMPLEX_ENCODING)



class AxisList(AttrKind):
    """vmap axes: one entry per argument/result, an int or None (`unit` in the IR)."""

    irdl_base = "#builtin.array"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        i64 = ir.IntegerType.get_signless(64)
        return ir.ArrayAttr.get(
            [ir.UnitAttr.get() if v is None else ir.IntegerAttr.get(i64, int(v)) for v in value]
        )

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.ArrayAttr):
            raise MxError(f"expected an array of integers or unit, got {attr}")
        out = []
        for a in attr:
            if isinstance(a, ir.UnitAttr):
                out.append(None)
            elif isinstance(a, ir.IntegerAttr):
                out.append(int(a.value))
            else:
                raise MxError(f"expected an integer or unit axis, got {a}")
        return tuple(out)


class Symbol(AttrKind):
    irdl_base = "#builtin.symbol_ref"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.FlatSymbolRefAttr.get(value)

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.FlatSymbolRefAttr):
            raise MxError(f"expected a symbol reference, got {attr}")
        return attr.value


class DType(AttrKind):
    """An element dtype, held in the IR as a TypeAttr (`dtype = f32`)."""

    irdl_base = "#builtin.type"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.TypeAttr.get(element_type_to_ir(value))

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        spelling = str(attr.value) if isinstance(attr, ir.TypeAttr) else None
        if spelling not in _FROM_MLIR:
            raise MxError(f"expected an element type attribute, got {attr}")
        return _FROM_MLIR[spelling]


class String(AttrKind):
    """Text (a custom kernel's source and launch description)."""

    irdl_base = "#builtin.string"

    def to_ir(self, value, ttype=None):
        from mlir import ir

        return ir.StringAttr.get(str(value))

    def from_ir(self, attr, ttype=None):
        from mlir import ir

        if not isinstance(attr, ir.StringAttr):
            raise MxError(f"expected a string attribute, got {attr}")
        return attr.value


INTS, SHAPE, BOOL, INT, FLOAT, DENSE, AXES, SYMBOL, DTYPE, STRING = (
    Ints(), Shape(), Bool(), Int(), Float(), Dense(), AxisList(), Symbol(), DType(), String())


def dense_to_ir(value: np.ndarray, ttype: TensorType, storage: bool = False):
    """Constant contents (host storage) -> DenseElementsAttr of `ttype` (see TensorType.to_ir)."""
    from mlir import ir

    value = np.asarray(value, dtype=numpy_dtype(ttype.dtype), order="C").reshape(ttype.shape)
    if ttype.dtype == "complex64":  # as (real, imag) pairs: see COMPLEX_ENCODING
        pairs = TensorType((*ttype.shape, 2), "float32")
        value = value.reshape(-1).view(np.float32)  # (a 0-d array has no view of its parts)
        if storage:  # what a lowering's arith.constant takes (lo.constant recombines the pairs)
            return dense_to_ir(value.reshape(pairs.shape), pairs, storage)
        inner = dense_to_ir(value.reshape(pairs.shape), pairs)
        text = str(inner)
        return ir.Attribute.parse(text[:text.rindex(">")] + f", {COMPLEX_ENCODING}>")
    flat = value.reshape(-1)
    if flat.size == 0:
        body = ""
    elif np.all(flat == flat[0]) or (is_float(ttype.dtype) and np.all(np.isnan(flat))):
        body = _scalar_literal(flat[0], ttype.dtype)
    elif ttype.dtype == "bool" and not storage:
        return _dense_from_text(value, ttype)
    else:  # hex payload: exact, fast, and the same for every dtype
        body = '"0x' + value.astype(value.dtype.newbyteorder("<")).tobytes().hex().upper() + '"'
    if storage and ttype.dtype == "bool" and body in ("true", "false"):
        body = "1" if body == "true" else "0"
    return ir.Attribute.parse(f"dense<{body}> : {ttype.to_ir(storage)}")


def _scalar_literal(v, dtype: str) -> str:
    if dtype == "bool":
        return "true" if v else "false"
    if dtype == "bfloat16":
        return f"0x{int(v):04X}"
    if is_float(dtype):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            bits = np.array(v, dtype=numpy_dtype(dtype)).tobytes()[::-1].hex().upper()
            return f"0x{bits}"
        return repr(f)
    return str(int(v))


def _dense_from_text(value: np.ndarray, ttype: TensorType):
    from mlir import ir

    def fmt(a):
        if a.ndim == 0:
            return _scalar_literal(a.item(), ttype.dtype)
        return "[" + ", ".join(fmt(s) for s in a) + "]"

    return ir.Attribute.parse(f"dense<{fmt(value)}> : {ttype}")


def dense_from_ir(attr, ttype: TensorType) -> np.ndarray:
    """DenseElementsAttr -> constant contents in host storage."""
    from mlir import ir

    if not isinstance(attr, ir.DenseElementsAttr):
        raise MxError(f"expected dense elements, got {attr}")
    store = numpy_dtype(ttype.dtype)
    if attr.is_splat:
        text = str(attr.get_splat_value()).split(":")[0].strip()
        return np.full(ttype.shape, _parse_scalar(text, ttype.dtype), dtype=store)
    if ttype.dtype == "bfloat16":  # no buffer protocol for bf16: its printed values are exact
        body = str(attr).split("> :", 1)[0][len("dense<"):]
        vals = [float(v) for v in re.findall(r"[-+]?(?:inf|nan|\d+\.?\d*(?:[eE][-+]?\d+)?)", body)]
        return bf16_bits_from_f32(np.array(vals, np.float32)).reshape(ttype.shape)
    return np.array(attr).astype(store).reshape(ttype.shape)


def _parse_scalar(text: str, dtype: str):
    if dtype == "bool":
        return text in ("true", "1")
    if text.startswith("0x"):
        bits = int(text, 16)
        if dtype == "bfloat16":
            return bits
        width = numpy_dtype(dtype).itemsize
        return np.frombuffer(bits.to_bytes(width, "little"), dtype=numpy_dtype(dtype))[0]
    if dtype == "bfloat16":
        return int(bf16_bits_from_f32(np.array([float(text)], np.float32))[0])
    return float(text) if is_float(dtype) else int(text)
