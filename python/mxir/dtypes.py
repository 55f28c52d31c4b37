"""dtype objects (`mx.float32`, ...) and MLX's type promotion."""

from __future__ import annotations

import numpy as np

from mxir.dialect import DTYPES
from mxir.dialect.core import COMPLEX, FLOATS, SIGNED, UNSIGNED


class Dtype:
    """An array element type; prints as `mxir.float32`."""

    __slots__ = ("name", "size")

    def __init__(self, name: str):
        self.name = name
        self.size = 2 if name == "bfloat16" else np.dtype(DTYPES[name][1]).itemsize

    def __repr__(self) -> str:
        return f"mxir.{self.name}"

    def __eq__(self, other) -> bool:
        return isinstance(other, Dtype) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool_ = Dtype("bool")
uint8 = Dtype("uint8")
uint16 = Dtype("uint16")
uint32 = Dtype("uint32")
uint64 = Dtype("uint64")
int8 = Dtype("int8")
int16 = Dtype("int16")
int32 = Dtype("int32")
int64 = Dtype("int64")
float16 = Dtype("float16")
bfloat16 = Dtype("bfloat16")
float32 = Dtype("float32")
float64 = Dtype("float64")
complex64 = Dtype("complex64")
ALL = {d.name: d for d in (bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
                          float16, bfloat16, float32, float64, complex64)}


def to_dtype(x) -> Dtype:
    if isinstance(x, Dtype):
        return x
    if isinstance(x, str) and x in ALL:
        return ALL[x]
    from mxir.dialect.core import MxError, dtype_of_numpy

    try:
        return ALL[dtype_of_numpy(np.dtype(x))]
    except MxError as e:
        raise e.exc_type(e.message) from None


class DtypeCategory:
    """`mx.floating`, `mx.integer`, ... for `mx.issubdtype`."""

    def __init__(self, name: str, members: tuple[str, ...]):
        self.name, self.members = name, members

    def __repr__(self) -> str:
        return f"DtypeCategory.{self.name}"


complexfloating = DtypeCategory("complexfloating", COMPLEX)
floating = DtypeCategory("floating", FLOATS)
inexact = DtypeCategory("inexact", FLOATS + COMPLEX)
signedinteger = DtypeCategory("signedinteger", SIGNED)
unsignedinteger = DtypeCategory("unsignedinteger", UNSIGNED)
integer = DtypeCategory("integer", SIGNED + UNSIGNED)
number = DtypeCategory("number", FLOATS + SIGNED + UNSIGNED + COMPLEX)
generic = DtypeCategory("generic", tuple(ALL))


def issubdtype(arg1, arg2) -> bool:
    if isinstance(arg1, DtypeCategory):
        if not isinstance(arg2, DtypeCategory):
            return False
        return arg2.name in _CATEGORY_PARENTS[arg1.name]
    arg1 = to_dtype(arg1)
    if isinstance(arg2, DtypeCategory):
        return arg1.name in arg2.members
    return arg1 == to_dtype(arg2)


# each category -> itself and its ancestors
_CATEGORY_PARENTS = {
    "generic": {"generic"},
    "number": {"number", "generic"},
    "integer": {"integer", "number", "generic"},
    "signedinteger": {"signedinteger", "integer", "number", "generic"},
    "unsignedinteger": {"unsignedinteger", "integer", "number", "generic"},
    "inexact": {"inexact", "number", "generic"},
    "floating": {"floating", "inexact", "number", "generic"},
    "complexfloating": {"complexfloating", "inexact", "number", "generic"},
}


# MLX's promotion (mlx.core 0.32, measured): within a kind the wider wins; signed with unsigned
# takes the signed type wide enough for both (int64 at most), and uint64 with any signed type
# gives float32; integers with floats take the float; float16 with bfloat16 is float32;
# complex64 with anything is complex64 (float64 too).
_KIND_ORDER = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
               "float16", "bfloat16", "float32", "float64", "complex64"]
_SIGNED_FOR_UNSIGNED = {"uint8": "int16", "uint16": "int32", "uint32": "int64"}


def promote_types(a: Dtype, b: Dtype) -> Dtype:
    a, b = to_dtype(a), to_dtype(b)
    if a == b:
        return a
    names = {a.name, b.name}
    if names == {"float16", "bfloat16"}:
        return float32
    lo, hi = sorted((a.name, b.name), key=_KIND_ORDER.index)
    if lo in UNSIGNED and hi in SIGNED:
        if lo == "uint64":
            return float32
        wide = _SIGNED_FOR_UNSIGNED[lo]
        return ALL[max(wide, hi, key=_KIND_ORDER.index)]
    return ALL[hi]


def accumulator(d: Dtype) -> Dtype:
    """The dtype MLX's sum and prod accumulate (and return) in: narrow integers widen to 32 bits."""
    return {"bool": int32, "int8": int32, "int16": int32, "uint8": uint32, "uint16": uint32}.get(
        d.name, d)


def result_type(*arrays_and_dtypes) -> Dtype:
    """The dtype of an op on these arrays and dtypes (MLX's promotion)."""
    if not arrays_and_dtypes:
        raise ValueError("[result_type] At least one array or dtype is required.")
    out = None
    for x in arrays_and_dtypes:
        if isinstance(x, Dtype):
            d = x
        elif hasattr(x, "dtype") and isinstance(x.dtype, Dtype):
            d = x.dtype
        else:
            raise ValueError("[result_type] Inputs must be arrays or dtypes.")
        out = d if out is None else promote_types(out, d)
    return out


def can_cast(from_, to: Dtype) -> bool:
    """Whether `from_` (an array or dtype) promotes to `to` unchanged (MLX's rule)."""
    src = from_.dtype if hasattr(from_, "dtype") and not isinstance(from_, Dtype) else from_
    return promote_types(to_dtype(src), to_dtype(to)) == to_dtype(to)


_KINDS = {
    "bool": ("bool",),
    "signed integer": SIGNED,
    "unsigned integer": UNSIGNED,
    "integral": SIGNED + UNSIGNED,
    "real floating": FLOATS,
    "complex floating": COMPLEX,
    "numeric": SIGNED + UNSIGNED + FLOATS + COMPLEX,
}


def isdtype(dtype: Dtype, kind) -> bool:
    """The Array API's `isdtype`: `kind` is a dtype, a kind name, or a tuple of them."""
    if not isinstance(dtype, Dtype):
        raise TypeError("isdtype(): incompatible function arguments. The following argument "
                        "types are supported:\n    1. isdtype(dtype: Dtype, kind: Dtype | str | "
                        "tuple[Dtype | str, ...]) -> bool")
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, Dtype):
        return dtype == kind
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"[isdtype] Unknown data type kind: '{kind}'.")
        return dtype.name in _KINDS[kind]
    raise ValueError("[isdtype] `kind` must be a dtype, a string, or a tuple of dtypes and "
                     "strings.")


def _info_dtype(dtype, what: str) -> Dtype:
    if not isinstance(dtype, Dtype):
        raise TypeError(f"__init__(): incompatible function arguments. The following argument "
                        f"types are supported:\n    1. __init__(self, arg: mlx.core.Dtype, /) "
                        f"-> None\n\nInvoked with types: mlx.core.{what}, "
                        f"{type(dtype).__module__}.{type(dtype).__name__}")
    return dtype


class finfo:  # noqa: N801 (MLX's name)
    """Machine limits of a floating-point dtype: min, max, eps, smallest_normal, bits."""

    def __init__(self, dtype: Dtype):
        self.dtype = _info_dtype(dtype, "finfo")
        if dtype.name in COMPLEX:  # MLX: the limits of its float32 parts
            self.dtype = dtype = float32
        if dtype.name not in FLOATS:
            raise ValueError(f"[finfo] dtype {dtype.name} is not inexact.")
        if dtype.name == "bfloat16":  # 8 exponent bits, 7 mantissa bits
            self.max = float.fromhex("0x1.fep127")
            self.eps, self.smallest_normal, self.bits = 2.0 ** -7, 2.0 ** -126, 16
        else:
            info = np.finfo(np.dtype(dtype.name))
            self.max, self.eps = float(info.max), float(info.eps)
            self.smallest_normal, self.bits = float(info.smallest_normal), int(info.bits)
        self.min = -self.max

    def __repr__(self) -> str:
        from .printing import format_float

        return (f"finfo(min={format_float(self.min)}, max={format_float(self.max)}, "
                f"dtype={self.dtype.name})")


class iinfo:  # noqa: N801 (MLX's name)
    """Machine limits of an integer dtype: min, max."""

    def __init__(self, dtype: Dtype):
        self.dtype = _info_dtype(dtype, "iinfo")
        if dtype.name not in SIGNED + UNSIGNED:
            raise ValueError(f"[iinfo] Only integer types supported but {dtype.name} was "
                             f"provided")
        info = np.iinfo(np.dtype(dtype.name))
        self.min, self.max = int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype.name})"
