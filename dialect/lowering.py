"""Helpers that `Op.lower` uses to emit linalg/tensor/arith/math on tensors.

Conventions: tensors hold the storage type of their dtype (`element_type_to_ir(storage=True)`:
unsigned -> signless, bool -> i8); scalar code computes on compute values (bool as i1), with
`load`/`store` converting at the edges of a linalg body. The dtype decides signed/unsigned ops;
float16/bfloat16 elementwise math runs in float32 and is rounded once at the end, as MLX does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlir import ir
from mlir.dialects import arith, linalg, tensor
from mlir.dialects import complex as cx

from .core import (
    UNSIGNED,
    MxError,
    TensorType,
    dense_to_ir,
    element_type_to_ir,
    is_complex,
    is_float,
)

HALF = ("float16", "bfloat16")
PARALLEL = "parallel"
REDUCTION = "reduction"


def compute_dtype(dtype: str) -> str:
    return "float32" if dtype in HALF else dtype


class Scalar:
    """dtype-aware scalar arithmetic inside a linalg body."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self.float = is_float(dtype)
        self.complex = is_complex(dtype)
        self.unsigned = dtype in UNSIGNED or dtype == "bool"

    @property
    def type(self):
        return compute_type(self.dtype)

    def const(self, value):
        if self.complex:
            return complex_const(complex(value))
        if self.float:
            return arith.constant(self.type, float(value))
        if self.dtype == "bool":
            return arith.constant(self.type, ir.IntegerAttr.get(self.type, 1 if value else 0))
        return arith.constant(self.type, int(value))

    def add(self, x, y):
        if self.complex:
            return cx.add(x, y)
        return arith.addf(x, y) if self.float else arith.addi(x, y)

    def sub(self, x, y):
        if self.complex:
            return cx.sub(x, y)
        return arith.subf(x, y) if self.float else arith.subi(x, y)

    def mul(self, x, y):
        if self.complex:
            return cx.mul(x, y)
        return arith.mulf(x, y) if self.float else arith.muli(x, y)

    def div(self, x, y):
        if self.complex:
            return cx.div(x, y)
        if self.float:
            return arith.divf(x, y)
        return arith.divui(x, y) if self.unsigned else arith.divsi(x, y)

    def isnan(self, x):
        """An i1: x is NaN (a complex value: either part)."""
        if self.complex:
            return arith.ori(self.isnan_part(cx.re(x)), self.isnan_part(cx.im(x)))
        return self.isnan_part(x)

    @staticmethod
    def isnan_part(x):
        return arith.cmpf(fpred("uno"), x, x)

    def _complex_extremum(self, x, y, larger: bool):
        """MLX: a NaN first operand wins, else the lexicographic larger (smaller)."""
        return arith.select(arith.ori(self.isnan(x), self.cmp("gt" if larger else "lt", x, y)),
                            x, y)

    def max(self, x, y):
        if self.complex:
            return self._complex_extremum(x, y, True)
        if self.float:
            return arith.maximumf(x, y)  # propagates NaN, as MLX
        return arith.maxui(x, y) if self.unsigned else arith.maxsi(x, y)

    def min(self, x, y):
        if self.complex:
            return self._complex_extremum(x, y, False)
        if self.float:
            return arith.minimumf(x, y)
        return arith.minui(x, y) if self.unsigned else arith.minsi(x, y)

    def cmp(self, pred: str, x, y):
        """pred in eq, ne, lt, le, gt, ge."""
        if self.complex:
            if pred in ("eq", "ne"):
                return cx.eq(x, y) if pred == "eq" else cx.neq(x, y)
            # MLX orders complex values lexicographically: real parts, then imaginary parts
            part = Scalar("float32")
            xr, yr, xi, yi = cx.re(x), cx.re(y), cx.im(x), cx.im(y)
            strict = {"le": "lt", "ge": "gt"}.get(pred, pred)
            return arith.ori(part.cmp(strict, xr, yr),
                             arith.andi(part.cmp("eq", xr, yr), part.cmp(pred, xi, yi)))
        if self.float:
            p = {"eq": "oeq", "ne": "une", "lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge"}[pred]
            return arith.cmpf(fpred(p), x, y)
        sign = "u" if self.unsigned else "s"
        p = pred if pred in ("eq", "ne") else sign + pred
        return arith.cmpi(ipred(p), x, y)

    def select(self, c, a, b):
        return arith.select(c, a, b)

    def neg(self, x):
        if self.complex:
            return cx.neg(x)
        return arith.negf(x) if self.float else arith.subi(self.const(0), x)

    def cast(self, x, to: str):
        """Convert a scalar of this dtype to dtype `to` (MLX's astype semantics)."""
        return cast(x, self.dtype, to)


def fpred(p: str):
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), _FPREDS[p])


def ipred(p: str):
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), _IPREDS[p])


_FPREDS = {"oeq": 1, "ogt": 2, "oge": 3, "olt": 4, "ole": 5, "one": 6, "ord": 7, "ueq": 8,
           "ugt": 9, "uge": 10, "ult": 11, "ule": 12, "une": 13, "uno": 14}
_IPREDS = {"eq": 0, "ne": 1, "slt": 2, "sle": 3, "sgt": 4, "sge": 5, "ult": 6, "ule": 7,
           "ugt": 8, "uge": 9}


def compute_type(dtype: str):
    """Scalar type inside linalg bodies: the storage type, but i1 for bool."""
    if dtype == "bool":
        return ir.IntegerType.get_signless(1)
    return element_type_to_ir(dtype, storage=True)


def load(x, dtype: str):
    """A block argument (storage) -> a compute value."""
    return arith.trunci(compute_type("bool"), x) if dtype == "bool" else x


def store(x, dtype: str):
    """A compute value -> what a linalg body yields (storage)."""
    return arith.extui(element_type_to_ir("bool", storage=True), x) if dtype == "bool" else x


def complex_const(value: complex):
    f32 = ir.F32Type.get()
    parts = [ir.FloatAttr.get(f32, value.real), ir.FloatAttr.get(f32, value.imag)]
    return cx.constant(ir.ComplexType.get(f32), ir.ArrayAttr.get(parts))


def _width(dtype: str) -> int:
    return compute_type(dtype).width


def _float_to_int(x, dst: str, dst_t):
    """MLX's float -> integer conversion (a C++ cast compiled for x86-64): truncation, and
    out-of-range values wrap as the 64-bit conversion gives them (uint32: the low half of the
    int64; uint64: values from 2**63 up converted offset by 2**63)."""
    if dst == "uint32":
        return arith.trunci(dst_t, arith.fptosi(ir.IntegerType.get_signless(64), x))
    if dst == "uint64":
        big = arith.constant(x.type, float(2**63))
        high = arith.xori(arith.fptosi(dst_t, arith.subf(x, big)),
                          arith.constant(dst_t, -(2**63)))
        return arith.select(arith.cmpf(fpred("oge"), x, big), high, arith.fptosi(dst_t, x))
    return arith.fptoui(dst_t, x) if dst in UNSIGNED else arith.fptosi(dst_t, x)


def cast(x, src: str, dst: str):
    """Convert compute value `x` from dtype `src` to `dst` (MLX's astype semantics)."""
    if src == dst:
        return x
    dst_t = compute_type(dst)
    if is_complex(dst):  # a real value becomes (x, 0)
        re = cast(x, src, "float32")
        return cx.create_(dst_t, re, arith.constant(re.type, 0.0))
    if is_complex(src):  # MLX: to bool, nonzero; to any other type, the real part's cast
        if dst == "bool":
            return cx.neq(x, complex_const(0j))
        if dst in ("uint8", "uint16", "int8", "int16"):  # MLX (measured): -1.2 -> 255, wrapped
            i64 = ir.IntegerType.get_signless(64)
            return arith.trunci(dst_t, arith.fptosi(i64, cx.re(x)))
        return cast(cx.re(x), "float32", dst)
    if dst == "bool":  # nonzero test
        zero = Scalar(src).const(0)
        return Scalar(src).cmp("ne", x, zero)
    if is_float(src) and is_float(dst):
        if src in HALF and dst in HALF:  # f16 <-> bf16 goes through f32
            x, src = arith.extf(ir.F32Type.get(), x), "float32"
        return arith.extf(dst_t, x) if _width(dst) > _width(src) else arith.truncf(dst_t, x)
    if is_float(src):
        return _float_to_int(x, dst, dst_t)
    if is_float(dst):
        unsigned = src in UNSIGNED or src == "bool"
        return arith.uitofp(dst_t, x) if unsigned else arith.sitofp(dst_t, x)
    wsrc, wdst = _width(src), _width(dst)
    if wdst == wsrc:
        return x
    if wdst < wsrc:
        return arith.trunci(dst_t, x)
    return arith.extui(dst_t, x) if (src in UNSIGNED or src == "bool") else arith.extsi(dst_t, x)


class Lowering:
    """Passed to `Op.lower`; emission happens at the op being replaced. `serial_loops`: the
    target runs one line's scf loops fast (the CPU), so an op may take an O(n log n) serial
    form over an O(n^2) parallel one (sort); the GPU path runs such loops on one thread."""

    def __init__(self, ip, loc, serial_loops: bool = True):
        self.ip = ip
        self.loc = loc
        self.serial_loops = serial_loops

    def __enter__(self):
        self.ip.__enter__()
        self.loc.__enter__()
        return self

    def __exit__(self, *exc):
        self.loc.__exit__(*exc)
        self.ip.__exit__(*exc)

    @staticmethod
    def ir_type(ttype: TensorType):
        return ttype.to_ir(storage=True)

    @staticmethod
    def dim(value, axis: int):
        """The size of `value` along `axis` (an index), read at run time."""
        return tensor.dim(value, arith.constant(ir.IndexType.get(), axis))

    @classmethod
    def dims(cls, value, ttype: TensorType) -> list:
        """The `sizes` of `empty` for a tensor shaped like `value`: its dynamic dims' sizes."""
        return [cls.dim(value, i) if d is None else None for i, d in enumerate(ttype.shape)]

    @classmethod
    def common_dims(cls, values, types: Sequence[TensorType]) -> list:
        """The `sizes` of operands of one shape (elementwise ops): each dynamic dim read from
        the first operand that has it dynamic."""
        sizes = [None] * (types[0].ndim if types else 0)
        for v, t in zip(values, types):
            for i, d in enumerate(t.shape):
                if d is None and sizes[i] is None:
                    sizes[i] = cls.dim(v, i)
        return sizes

    def empty(self, ttype: TensorType, sizes: Sequence | None = None):
        """tensor.empty of `ttype`; a dynamic dim takes its size from `sizes` (one entry per
        dim, an index value where the dim is dynamic: see `dims`)."""
        mixed = []
        for i, d in enumerate(ttype.shape):
            if d is None and (sizes is None or sizes[i] is None):
                raise MxError(f"no size for dynamic dim {i} of {ttype}")
            mixed.append(sizes[i] if d is None else d)
        return tensor.EmptyOp(mixed, element_type_to_ir(ttype.dtype, True)).result

    def constant(self, ttype: TensorType, storage):
        attr = dense_to_ir(storage, ttype, storage=True)
        if not is_complex(ttype.dtype):
            return arith.constant(self.ir_type(ttype), attr)
        # complex: the (real, imag) float32 pairs (see core.COMPLEX_ENCODING) recombined
        pairs = arith.constant(attr.type, attr)
        rank = ttype.ndim
        dims = [ir.AffineDimExpr.get(i) for i in range(rank)]
        part = [ir.AffineMap.get(rank, 0, [*dims, ir.AffineConstantExpr.get(k)]) for k in (0, 1)]
        return self.generic([pairs, pairs], [self.empty(ttype)],
                            [*part, ir.AffineMap.get_identity(rank)], [PARALLEL] * rank,
                            lambda re, im, _o: cx.create_(compute_type(ttype.dtype), re, im))

    def fill(self, ttype: TensorType, scalar, sizes: Sequence | None = None):
        return self.fill_value(ttype, store(Scalar(ttype.dtype).const(scalar), ttype.dtype),
                               sizes)

    def splat(self, scalar_tensor, ttype: TensorType, sizes: Sequence | None = None):
        """A tensor of `ttype` holding the value of a 0-d tensor everywhere: a broadcast
        generic rather than extract + fill, so no host-side scalar load (the GPU path maps
        generics to kernels, not host loads)."""
        rank = ttype.ndim
        return self.generic([scalar_tensor], [self.empty(ttype, sizes)],
                            [ir.AffineMap.get(rank, 0, []), ir.AffineMap.get_identity(rank)],
                            [PARALLEL] * rank, lambda v, _o: v)

    def fill_value(self, ttype: TensorType, value, sizes: Sequence | None = None):
        """A tensor of `ttype` filled with the scalar SSA `value` (storage type)."""
        return linalg.fill(value, outs=[self.empty(ttype, sizes)])

    def generic(
        self,
        inputs: Sequence,
        inits: Sequence,
        maps: Sequence[ir.AffineMap],
        iterators: Sequence[str],
        body: Callable,
    ):
        """linalg.generic; `body(*block_args)` returns the values to yield."""
        result_types = [v.type for v in inits]
        g = linalg.GenericOp(
            result_types,
            list(inputs),
            list(inits),
            ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
            ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{it}>")
                              for it in iterators]),
        )
        arg_types = [ir.RankedTensorType(v.type).element_type for v in list(inputs) + list(inits)]
        block = g.regions[0].blocks.append(*arg_types)
        with ir.InsertionPoint(block):
            out = body(*block.arguments)
            linalg.YieldOp(list(out) if isinstance(out, (list, tuple)) else [out])
        return list(g.results) if len(result_types) > 1 else g.results[0]

    def elementwise(self, out: TensorType, inputs: Sequence, in_types: Sequence[TensorType],
                    fn: Callable):
        """Same-shape map. `fn(s, *scalars)` gets a `Scalar` of the compute dtype of the first
        input (halves promoted to f32) and the scalars in that dtype; its result is rounded to
        `out.dtype` when `out` is a half type."""
        rank = out.ndim
        ident = ir.AffineMap.get_identity(rank)
        src = in_types[0].dtype if in_types else out.dtype
        comp = compute_dtype(src)

        def body(*args):
            xs = [cast(load(a, t.dtype), t.dtype, compute_dtype(t.dtype))
                  for a, t in zip(args, in_types)]
            r = fn(Scalar(comp), *xs)
            if out.dtype in HALF and r.type != compute_type(out.dtype):
                r = cast(r, "float32", out.dtype)
            return store(r, out.dtype)

        sizes = self.common_dims(inputs, in_types) if out.dynamic else None
        return self.generic(inputs, [self.empty(out, sizes)], [ident] * (len(inputs) + 1),
                            [PARALLEL] * rank, body)

