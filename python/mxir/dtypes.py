"""dtype objects (`mx.float32`, ...) and MLX's type promotion."""

from __future__ import annotations

import numpy as np

from mxir.dialect import DTYPES
from mxir.dialect.core import FLOATS, SIGNED, UNSIGNED


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
uint32 = Dtype("uint32")
int32 = Dtype("int32")
int64 = Dtype("int64")
float16 = Dtype("float16")
bfloat16 = Dtype("bfloat16")
float32 = Dtype("float32")
float64 = Dtype("float64")
ALL = {d.name: d for d in (bool_, uint8, uint32, int32, int64, float16, bfloat16, float32,
                          float64)}


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
        return f"mxir.{self.name}"


floating = DtypeCategory("floating", FLOATS)
signedinteger = DtypeCategory("signedinteger", SIGNED)
unsignedinteger = DtypeCategory("unsignedinteger", UNSIGNED)
integer = DtypeCategory("integer", SIGNED + UNSIGNED)
number = DtypeCategory("number", FLOATS + SIGNED + UNSIGNED)
generic = DtypeCategory("generic", tuple(ALL))


def issubdtype(a, b) -> bool:
    if isinstance(a, DtypeCategory):
        return isinstance(b, DtypeCategory) and set(a.members) <= set(b.members)
    a = to_dtype(a)
    if isinstance(b, DtypeCategory):
        return a.name in b.members
    return a == to_dtype(b)


# MLX promotion: bool < unsigned < signed < floats; mixing signed and unsigned widens.
_RANK = ["bool", "uint8", "uint32", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def promote_types(a: Dtype, b: Dtype) -> Dtype:
    a, b = to_dtype(a), to_dtype(b)
    if a == b:
        return a
    names = {a.name, b.name}
    if names == {"float16", "bfloat16"}:
        return float32
    if names & {"uint32"} and names & {"int32"}:
        return int64
    return ALL[max(a.name, b.name, key=_RANK.index)]
