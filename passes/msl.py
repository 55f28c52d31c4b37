"""Translate `gpu.module`s to Metal Shading Language: one `kernel void` per `gpu.func ... kernel`,
plus the per-kernel metadata a runtime needs to bind arguments and size threadgroup memory.

Conventions of the generated code (the runtime relies on them):
* Kernel operand i is bound at `[[buffer(i)]]`: a memref as `device T*` (the aligned pointer;
  the layout's static offset and strides are folded into every access), a scalar as
  `constant T&`.
* `index` is `uint` (buffers are 32-bit indexable); operations with signed semantics (`cmpi slt`,
  `divsi`, `index_cast` to a wider type, signed loop bounds) view it as `int`. Signless integers
  keep their signed C type (i32 -> int) and wrap through the unsigned type where MLIR wraps.
* Launches are uniform (`dispatchThreadgroups`, as `gpu.launch_func` is), so `gpu.block_dim` is
  `[[threads_per_threadgroup]]`. Compile with fast math off: `cmpf` predicates, `isnan` and the
  NaN rules of `maximumf` need IEEE semantics.
* Only structured control flow (`scf`): MSL has no `goto`, so `cf` branches are an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mxir.dialect import MxError

__all__ = ["BufferArg", "KernelInfo", "ScalarArg", "ThreadgroupArray", "gpu_modules",
           "translate_gpu_module", "translate_gpu_modules", "translate_module"]

PRELUDE = "#include <metal_stdlib>\nusing namespace metal;\n"
SIMD_WIDTH = 32  # Apple GPUs; gpu.all_reduce keeps one scratch slot per simdgroup
MAX_THREADS = 1024  # Metal's limit on threads per threadgroup
_DYNAMIC = -(1 << 63)  # MLIR's marker of a dynamic size, stride or offset


# --------------------------------------------------------------------------------------------
# Metadata


@dataclass(frozen=True)
class BufferArg:
    """A memref operand of the kernel: `device <msl_type>* <name> [[buffer(<index>)]]`."""

    name: str
    index: int  # operand position in gpu.func / gpu.launch_func, and the [[buffer(i)]] slot
    element_type: str  # MLIR spelling, e.g. "f32"
    msl_type: str
    shape: tuple  # memref shape; None for a dynamic size
    offset: int  # static layout offset, in elements, already applied in the kernel
    strides: tuple
    writes: bool  # the kernel stores to it (otherwise it is declared `const device`)


@dataclass(frozen=True)
class ScalarArg:
    """A scalar operand: `constant <msl_type>& <name> [[buffer(<index>)]]`, `size` bytes."""

    name: str
    index: int
    mlir_type: str
    msl_type: str
    size: int


@dataclass(frozen=True)
class ThreadgroupArray:
    """`threadgroup <msl_type> <name>[<count>]`: a workgroup attribution, or scratch space of a
    gpu.all_reduce. Sizes are static, so nothing has to be set at dispatch."""

    name: str
    element_type: str
    msl_type: str
    count: int

    @property
    def bytes(self) -> int:
        return self.count * _SIZES[self.msl_type]


@dataclass(frozen=True)
class KernelInfo:
    name: str  # gpu.func symbol
    module: str  # gpu.module symbol (launch_func names @module::@name)
    msl_name: str  # the `kernel void` function in the source
    arguments: tuple  # BufferArg | ScalarArg in operand order
    threadgroup: tuple  # ThreadgroupArray
    builtins: tuple  # MSL builtin parameters the kernel declares (names, e.g. "gid", "lane")
    known_block_size: tuple | None = None
    known_grid_size: tuple | None = None

    @property
    def buffers(self) -> tuple:
        return tuple(a for a in self.arguments if isinstance(a, BufferArg))

    @property
    def scalars(self) -> tuple:
        return tuple(a for a in self.arguments if isinstance(a, ScalarArg))

    @property
    def threadgroup_bytes(self) -> int:
        return sum(t.bytes for t in self.threadgroup)


# --------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class _Scalar:
    """How an MLIR scalar type is spelled in MSL, and its signed/unsigned views."""

    c: str
    signed: str  # type that gives signed semantics (ints); c for floats
    unsigned: str
    bits: int
    kind: str  # "float" | "int" | "bool" | "index"


_SIZES = {"float": 4, "half": 2, "bfloat": 2, "bool": 1, "char": 1, "uchar": 1, "short": 2,
          "ushort": 2, "int": 4, "uint": 4, "long": 8, "ulong": 8}
_INTS = {8: ("char", "uchar"), 16: ("short", "ushort"), 32: ("int", "uint"),
         64: ("long", "ulong")}


def _scalar(t: ir.Type, loc) -> _Scalar:
    if isinstance(t, ir.F32Type):
        return _Scalar("float", "float", "float", 32, "float")
    if isinstance(t, ir.F16Type):
        return _Scalar("half", "half", "half", 16, "float")
    if isinstance(t, ir.BF16Type):
        # MSL 3.1 `bfloat`; all its arithmetic goes through float (see _fop)
        return _Scalar("bfloat", "bfloat", "bfloat", 16, "float")
    if isinstance(t, ir.IndexType):
        return _Scalar("uint", "int", "uint", 32, "index")
    if isinstance(t, ir.IntegerType):
        if t.width == 1:
            return _Scalar("bool", "int", "uint", 1, "bool")
        if t.width in _INTS:
            s, u = _INTS[t.width]
            return _Scalar(u if t.is_unsigned else s, s, u, t.width, "int")
    if isinstance(t, ir.F64Type):
        raise MxError("f64 is not supported by Metal (no double precision); "
                      "use f32 on the GPU", loc)
    raise MxError(f"type '{t}' is not supported by the MSL translation", loc)


# --------------------------------------------------------------------------------------------
# Literals


def _float_literal(value: float, s: _Scalar) -> str:
    if np.isnan(value):
        text = "NAN"
    elif np.isinf(value):
        text = "INFINITY" if value > 0 else "(-INFINITY)"
    else:
        # shortest float32 text that reads back exactly; f16/bf16 values are exact in f32
        text = str(np.float32(value))
        if "." not in text and "e" not in text:
            text += ".0"
        text += "f"
        if text.startswith("-"):
            text = f"({text})"
    return text if s.c == "float" else f"{s.c}({text})"


def _int_literal(value: int, s: _Scalar, loc) -> str:
    if s.kind == "bool":
        return "true" if value else "false"
    if s.kind == "index":
        if not -(1 << 31) <= value < (1 << 32):
            raise MxError(f"index constant {value} does not fit the 32-bit index of Metal "
                          "kernels", loc)
        return f"{value % (1 << 32)}u"
    bits = s.bits
    value = (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))  # signed view
    if s.c in ("int", "long"):
        suffix = "L" if s.c == "long" else ""
        if value == -(1 << (bits - 1)):  # the literal 2^(bits-1) itself would not fit
            return f"(-{(1 << (bits - 1)) - 1}{suffix} - 1{suffix})"
        return f"({value}{suffix})" if value < 0 else f"{value}{suffix}"
    if s.c in ("uint", "ulong"):
        return f"{value % (1 << bits)}u" + ("L" if s.c == "ulong" else "")
    if s.c in ("uchar", "ushort"):
        return f"{s.c}({value % (1 << bits)})"
    return f"{s.c}({value})"


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$|^[0-9][0-9A-Za-z_.+]*$")
_CALL = re.compile(r"^[A-Za-z_][A-Za-z0-9_:<>, ]*\(|^\(")


def _paren(e: str) -> str:
    """`e` as an operand of a binary operator: names, literals and calls stay bare."""
    if _NAME.match(e):
        return e
    m = _CALL.match(e)
    if m and _closes_at_end(e, m.end() - 1):
        return e
    return f"({e})"


def _closes_at_end(e: str, start: int) -> bool:
    """True when the '(' at `start` closes at the last character of `e`."""
    depth = 0
    for i in range(start, len(e)):
        depth += e[i] == "("
        depth -= e[i] == ")"
        if depth == 0:
            return i == len(e) - 1
    return False


# --------------------------------------------------------------------------------------------
# Index arithmetic of memory accesses (folded at translation time where static)


@dataclass(frozen=True)
class _Lin:
    """const + sum(terms), in uint; terms are rendered MSL products."""

    const: int = 0
    terms: tuple = ()

    def plus(self, index, stride) -> _Lin:
        if isinstance(index, int) and isinstance(stride, int):
            return _Lin(self.const + index * stride, self.terms)
        if index == 0 or stride == 0:
            return self
        if stride == 1:
            return _Lin(self.const, self.terms + (_paren(index) if not isinstance(index, int)
                                                  else f"{index}u",))
        if index == 1:
            return _Lin(self.const, self.terms + (_paren(_uint(stride)),))
        return _Lin(self.const, self.terms + (f"{_paren(_uint(index))} * {_paren(_uint(stride))}",))

    def add(self, other: _Lin) -> _Lin:
        return _Lin(self.const + other.const, self.terms + other.terms)

    def render(self) -> str:
        parts = list(self.terms)
        if self.const > 0 or not parts:
            parts.append(f"{self.const % (1 << 32)}u" if self.const >= 0 else f"{self.const}")
        text = " + ".join(parts)
        if self.const < 0 and self.terms:
            text += f" - {-self.const}u"
        return text


def _uint(x) -> str:
    return f"{x % (1 << 32)}u" if isinstance(x, int) else x


def _mul(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    return f"{_paren(_uint(a))} * {_paren(_uint(b))}"


@dataclass
class _View:
    """A memref value: `base[offset + sum(i_k * strides[k])]`."""

    base: str
    space: str  # "device" | "threadgroup" | "thread"
    elem: ir.Type
    offset: _Lin
    strides: list  # int | str per dimension
    shape: list  # int | None per dimension
    root: object  # the kernel argument (ir.Value) it points into, or None

    def address(self, indices) -> str:
        lin = self.offset
        for i, s in zip(indices, self.strides, strict=True):
            lin = lin.plus(i, s)
        return f"{self.base}[{lin.render()}]"


# --------------------------------------------------------------------------------------------
# Helpers placed in the preamble when used: functions Metal lacks or defines differently.

_HELPERS: dict[str, str] = {
    "erf": """\
// erf (Metal has none): for |x| < 4 sum the series of positive terms (no cancellation)
// erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (2n+1)!!; from 4 on erf rounds to +-1.
inline float mxir_erf(float x) {
    float a = metal::abs(x);
    if (!(a < 4.0f)) return metal::isnan(x) ? x : metal::copysign(1.0f, x);
    float a2 = a * a, term = a, sum = a;
    for (int n = 1; n < 64 && term > sum * 1e-8f; ++n) {
        term *= 2.0f * a2 / float(2 * n + 1);
        sum += term;
    }
    return metal::copysign(1.1283791671f * metal::exp(-a2) * sum, x);
}
""",
    "erfc": """\
// erfc: 1 - erf(x) loses relative accuracy where erfc is small, so from x = 1 on evaluate the
// continued fraction exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) backwards
// (40 terms: relative error under 2e-7 at x = 1, smaller beyond).
inline float mxir_erfc(float x) {
    if (!(x >= 1.0f)) return 1.0f - mxir_erf(x);
    float t = x;
    for (int k = 40; k > 0; --k) t = x + 0.5f * float(k) / t;
    return 0.5641895835f * metal::exp(-x * x) / t;
}
""",
    "expm1": """\
// expm1 (Metal has none): exp(x) - 1 cancels near 0; Kahan's correction restores it.
inline float mxir_expm1(float x) {
    float u = metal::exp(x);
    if (u == 1.0f) return x;
    float um1 = u - 1.0f;
    if (um1 == -1.0f || metal::isinf(u)) return um1;
    return um1 * (x / metal::log(u));  // the ratio is near 1: no overflow near exp's limit
}
""",
    "log1p": """\
// log1p (Metal has none): log(1 + x) with Kahan's correction for the rounding of 1 + x.
inline float mxir_log1p(float x) {
    float u = 1.0f + x;
    if (u == 1.0f) return x;
    if (metal::isinf(u) || u == 0.0f) return metal::log(u);
    return metal::log(u) * (x / (u - 1.0f));
}
""",
    "cbrt": """\
// cbrt (Metal has none): pow on |x| keeps the sign right; one Newton step fixes the last bits.
inline float mxir_cbrt(float x) {
    if (x == 0.0f || !metal::isfinite(x)) return x;
    float y = metal::copysign(metal::pow(metal::abs(x), 1.0f / 3.0f), x);
    return y - (y - x / (y * y)) / 3.0f;
}
""",
    "powi": """\
// math.fpowi: x^n by repeated squaring (pow() would give NaN for negative x).
inline float mxir_powi(float x, int n) {
    uint e = n < 0 ? 0u - uint(n) : uint(n);
    float r = 1.0f;
    for (; e != 0u; e >>= 1) {
        if (e & 1u) r *= x;
        x *= x;
    }
    return n < 0 ? 1.0f / r : r;
}
""",
    "ipowi": """\
// math.ipowi: b^e by squaring in the unsigned type W (wraps like MLIR); e < 0 gives 0 unless
// |b| == 1.
template <typename T, typename W>
inline T mxir_ipowi(T b, T e) {
    if (e < 0) return b == T(1) ? T(1) : (b == T(-1) ? ((e & T(1)) ? T(-1) : T(1)) : T(0));
    W r = W(1), w = W(b);
    for (; e != T(0); e >>= 1) {
        if (e & T(1)) r = W(r * w);
        w = W(w * w);
    }
    return T(r);
}
""",
    "maximum": """\
// arith.maximumf / minimumf: a NaN operand wins and -0 < +0 (metal::fmax/fmin drop NaNs).
template <typename T>
inline T mxir_maximum(T a, T b) {
    if (metal::isnan(a) || metal::isnan(b)) return a + b;
    if (a == b) return metal::signbit(a) ? b : a;
    return a > b ? a : b;
}
template <typename T>
inline T mxir_minimum(T a, T b) {
    if (metal::isnan(a) || metal::isnan(b)) return a + b;
    if (a == b) return metal::signbit(a) ? a : b;
    return a < b ? a : b;
}
""",
}
_HELPER_DEPS = {"erfc": ("erf",)}
_HELPER_ORDER = ["erf", "erfc", "expm1", "log1p", "cbrt", "powi", "ipowi", "maximum"]


# --------------------------------------------------------------------------------------------
# Names

_RESERVED = set("""
alignas alignof and asm auto bool break case catch char class const constexpr continue decltype
default delete do double else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not nullptr operator or private protected public register
return short signed sizeof static struct switch template this throw true try typedef typename
union unsigned using virtual void volatile while xor half bfloat uint uchar ushort ulong
device threadgroup constant thread kernel vertex fragment metal half2 float2 float3 float4 uint2
uint3 uint4 int2 int3 int4 size_t ptrdiff_t INFINITY NAN min max abs sin cos exp log sqrt pow
""".split())
# builtin parameters: name -> (type, attribute)
_BUILTINS = {
    "gid": ("uint3", "thread_position_in_grid"),
    "tid": ("uint3", "thread_position_in_threadgroup"),
    "bid": ("uint3", "threadgroup_position_in_grid"),
    "tpg": ("uint3", "threads_per_threadgroup"),
    "ntg": ("uint3", "threadgroups_per_grid"),
    "lane": ("uint", "thread_index_in_simdgroup"),
    "simd_width": ("uint", "threads_per_simdgroup"),
    "simd_id": ("uint", "simdgroup_index_in_threadgroup"),
    "num_simd": ("uint", "simdgroups_per_threadgroup"),
}
_ALWAYS = ("gid", "tid", "bid", "tpg")
_RESERVED |= set(_BUILTINS)


def _identifier(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text.lstrip("%@"))
    if not name or name[0].isdigit():
        name = "v" + name
    if name.startswith(("mxir_", "_")):  # our helpers' prefix; _ names are the compiler's
        name = "v_" + name.lstrip("_")
    if name in _RESERVED:
        name += "_"
    return name


# --------------------------------------------------------------------------------------------
# Kernel translation

_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}
_CMPF = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<="}
# unordered predicates are the negation of the opposite ordered comparison
_CMPF_UNORDERED = {9: "<=", 10: "<", 11: ">=", 12: ">"}
_ATOMIC_KINDS = {0: "addf", 1: "addi", 2: "andi", 3: "assign", 4: "maximumf", 5: "maxnumf",
                 6: "maxs", 7: "maxu", 8: "minimumf", 9: "minnumf", 10: "mins", 11: "minu",
                 12: "mulf", 13: "muli", 14: "ori", 15: "xori"}
_ATOMIC_FN = {"addf": "add", "addi": "add", "andi": "and", "ori": "or", "xori": "xor",
              "maxs": "max", "maxu": "max", "mins": "min", "minu": "min", "assign": None}
# math ops that map to one metal:: function of the same arity
_MATH_DIRECT = {
    "absf": "abs", "acos": "acos", "acosh": "acosh", "asin": "asin", "asinh": "asinh",
    "atan": "atan", "atan2": "atan2", "atanh": "atanh", "ceil": "ceil", "copysign": "copysign",
    "cos": "cos", "cosh": "cosh", "exp": "exp", "exp2": "exp2", "floor": "floor", "fma": "fma",
    "log": "log", "log10": "log10", "log2": "log2", "powf": "pow", "round": "round",
    "roundeven": "rint", "rsqrt": "rsqrt", "sin": "sin", "sinh": "sinh", "sqrt": "sqrt",
    "tan": "tan", "tanh": "tanh", "trunc": "trunc", "clampf": "clamp",
}
_MATH_HELPER = {"erf": "erf", "erfc": "erfc", "expm1": "expm1", "log1p": "log1p",
                "cbrt": "cbrt"}
_MATH_PREDICATE = {"isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite",
                   "isnormal": "isnormal"}
_MATH_INT = {"absi": "abs", "ctlz": "clz", "cttz": "ctz", "ctpop": "popcount"}
_REDUCE_SIMD = {"add": "simd_sum", "mul": "simd_product", "minsi": "simd_min",
                "minui": "simd_min", "minnumf": "simd_min", "minimumf": "simd_min",
                "maxsi": "simd_max", "maxui": "simd_max", "maxnumf": "simd_max",
                "maximumf": "simd_max", "and": "simd_and", "or": "simd_or", "xor": "simd_xor"}
# the region form of gpu.all_reduce: the single combining op of its body -> the op attribute
_REGION_REDUCE = {"arith.addf": "add", "arith.addi": "add", "arith.mulf": "mul",
                  "arith.muli": "mul", "arith.minsi": "minsi", "arith.minui": "minui",
                  "arith.minnumf": "minnumf", "arith.minimumf": "minimumf",
                  "arith.maxsi": "maxsi", "arith.maxui": "maxui", "arith.maxnumf": "maxnumf",
                  "arith.maximumf": "maximumf", "arith.andi": "and", "arith.ori": "or",
                  "arith.xori": "xor"}
_DIMS = {"x": 0, "y": 1, "z": 2}
_HINTS = {
    "cf": "MSL has no goto: translate before convert-scf-to-cf (structured scf only)",
    "affine": "run lower-affine before the translation",
    "vector": "vector ops are not translated; do not vectorize GPU kernels",
    "func": "calls are not translated; inline device functions first",
    "llvm": "translate gpu.module before it is lowered to LLVM/NVVM",
    "nvvm": "translate gpu.module before it is lowered to LLVM/NVVM",
}


def _op_error(op, what: str = "") -> MxError:
    name = op.name
    dialect = name.split(".", 1)[0]
    hint = _HINTS.get(dialect, "")
    msg = f"'{name}' is not supported by the MSL translation"
    if what:
        msg += f": {what}"
    elif hint:
        msg += f" ({hint})"
    return MxError(msg, op.location)


def _enum_keyword(attr) -> str:
    """`#gpu<all_reduce_op add>` -> "add"."""
    text = str(attr)
    m = re.search(r"<\s*[a-z_]+\s+([a-z_]+)\s*>", text)
    return m.group(1) if m else text


class _Kernel:
    def __init__(self, func, msl_name: str, module_name: str, helpers: set):
        self.func = func
        self.op = func.operation
        self.msl_name = msl_name
        self.module_name = module_name
        self.helpers = helpers  # shared across the source: preamble helpers used
        self.lines: list[str] = []
        self.depth = 1
        self.exprs: dict = {}  # ir.Value -> MSL expression
        self.consts: dict = {}  # ir.Value -> python int (integer/index constants)
        self.fconsts: dict = {}  # ir.Value -> python float (float constants)
        self.views: dict = {}  # ir.Value -> _View
        self.used_names: set = set()
        self.builtins: set = set(_ALWAYS)
        self.written_roots: set = set()
        self.tg_arrays: list[ThreadgroupArray] = []
        self.scratch: dict = {}  # MSL type -> scratch array name (gpu.all_reduce)
        self.state = ir.AsmState(self.op)
        self.yield_targets: list = []

    # -- small utilities -------------------------------------------------------------------
    def line(self, text: str):
        self.lines.append("    " * self.depth + text)

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used_names:
            name, k = f"{base}_{k}", k + 1
        self.used_names.add(name)
        return name

    def name_of(self, value) -> str:
        return self.fresh(_identifier(value.get_name(self.state)))

    def scalar(self, value, loc=None) -> _Scalar:
        return _scalar(value.type, loc if loc is not None else self.op.location)

    def e(self, value) -> str:
        """The expression of an operand."""
        if value in self.exprs:
            return self.exprs[value]
        if value in self.views:
            raise MxError("memref value used where a scalar is expected", self.op.location)
        raise MxError(f"internal: no MSL expression for {value.get_name(self.state)}",
                      self.op.location)

    def ival(self, value):
        """An index operand as a python int when constant, else its expression."""
        return self.consts[value] if value in self.consts else self.e(value)

    def view(self, value, op) -> _View:
        if value not in self.views:
            raise _op_error(op, "its memref operand is not a kernel argument, attribution, "
                                "alloca or a view of one")
        return self.views[value]

    def bind(self, value, expr: str, ctype: str | None = None, force: bool = False):
        """Declare `T name = expr;` for an op result (skipped when the result is unused)."""
        if not force and not _has_uses(value):
            self.exprs[value] = expr
            return
        name = self.name_of(value)
        self.line(f"{ctype or self.scalar(value).c} {name} = {expr};")
        self.exprs[value] = name

    def declare(self, value, init: str | None = None) -> str:
        name = self.name_of(value)
        t = self.scalar(value).c
        self.line(f"{t} {name} = {init};" if init is not None else f"{t} {name};")
        self.exprs[value] = name
        return name

    def nonneg(self, value) -> bool:
        """An index known to lie in [0, 2^31), where signed and unsigned order agree."""
        if value in self.consts:
            return self.consts[value] < (1 << 31)
        return self.exprs.get(value, "").split(".")[0] in _BUILTINS

    def helper(self, key: str):
        for dep in _HELPER_DEPS.get(key, ()):
            self.helpers.add(dep)
        self.helpers.add(key)

    # -- signed/unsigned/float views --------------------------------------------------------
    def sv(self, value) -> str:
        """The operand with signed-integer semantics."""
        s, e = self.scalar(value), self.e(value)
        if value in self.consts:  # fold into a literal of the view type
            k = self.consts[value]
            if s.kind == "bool":
                return "(-1)" if k else "0"
            return _int_literal(k, _Scalar(s.signed, s.signed, s.unsigned, s.bits, "int"), None)
        if s.kind == "bool":
            return f"(-int({e}))"
        return e if s.c == s.signed else f"{s.signed}({e})"

    def uv(self, value) -> str:
        """The operand with unsigned-integer semantics."""
        s, e = self.scalar(value), self.e(value)
        if value in self.consts:
            k = self.consts[value]
            if s.kind == "bool":
                return "1u" if k else "0u"
            return _int_literal(k, _Scalar(s.unsigned, s.signed, s.unsigned, s.bits, "int"),
                                None)
        if s.kind == "bool":
            return f"uint({e})"
        return e if s.c == s.unsigned else f"{s.unsigned}({e})"

    def converted(self, value, signed: bool, target: str) -> str:
        """The operand in its signed (or unsigned) view, converted to C type `target`."""
        s = self.scalar(value)
        view = ("int" if signed else "uint") if s.kind == "bool" else \
            (s.signed if signed else s.unsigned)
        expr = self.sv(value) if signed else self.uv(value)
        return expr if view == target else f"{target}({expr})"

    def fv(self, value) -> str:
        """A float operand in its compute type (bfloat computes in float)."""
        s, e = self.scalar(value), self.e(value)
        if s.c == "bfloat" and value in self.fconsts:
            return _float_literal(self.fconsts[value], _scalar(ir.F32Type.get(), None))
        return f"float({e})" if s.c == "bfloat" else e

    def fres(self, value, expr: str) -> str:
        return f"bfloat({expr})" if self.scalar(value).c == "bfloat" else expr

    # -- translation ------------------------------------------------------------------------
    def translate(self) -> tuple[str, KernelInfo]:
        op = self.op
        body = op.regions[0]
        if len(body.blocks) != 1:
            raise MxError("gpu.func with several blocks (unstructured control flow) cannot be "
                          "translated to MSL, which has no goto: translate before "
                          "convert-scf-to-cf", op.location)
        block = body.blocks[0]
        ftype = ir.TypeAttr(op.attributes["function_type"]).value
        n_in = len(ftype.inputs)
        n_wg = ir.IntegerAttr(op.attributes["workgroup_attributions"]).value \
            if "workgroup_attributions" in op.attributes else 0
        args = list(block.arguments)
        self.device_args = {a for a in args[:n_in] if isinstance(a.type, ir.MemRefType)}

        params, arg_meta = [], []
        for i, arg in enumerate(args[:n_in]):
            name = self.name_of(arg)
            if isinstance(arg.type, ir.MemRefType):
                v = self._memref_view(arg.type, name, "device", arg, op)
                self.views[arg] = v
                arg_meta.append((i, name, arg, v))
            else:
                s = self.scalar(arg)
                self.exprs[arg] = name
                arg_meta.append((i, name, arg, s))

        decls = []
        for k, arg in enumerate(args[n_in:]):
            space = "threadgroup" if k < n_wg else "thread"
            name = self.name_of(arg)
            t = arg.type
            if not isinstance(t, ir.MemRefType):
                raise MxError("attribution of non-memref type", op.location)
            count = self._static_count(t, op)
            v = self._memref_view(t, name, space, None, op)
            self.views[arg] = v
            s = _scalar(t.element_type, op.location)
            prefix = "threadgroup " if space == "threadgroup" else ""
            decls.append(f"{prefix}{s.c} {name}[{count}];")
            if space == "threadgroup":
                self.tg_arrays.append(ThreadgroupArray(name, str(t.element_type), s.c, count))

        body_start = len(self.lines)
        for inner in block.operations:
            self.emit(inner.operation)
        body_lines = self.lines[body_start:]
        self.lines = self.lines[:body_start]

        # the scratch arrays of gpu.all_reduce are known only after the body
        for ctype, name in self.scratch.items():
            decls.append(f"threadgroup {ctype} {name}[{MAX_THREADS // SIMD_WIDTH}];")
        for i, name, arg, meta in arg_meta:
            if isinstance(meta, _View):
                const = "" if arg in self.written_roots else "const "
                params.append(f"{const}device {_scalar(meta.elem, op.location).c}* {name} "
                              f"[[buffer({i})]]")
            else:
                params.append(f"constant {meta.c}& {name} [[buffer({i})]]")
        builtins = [b for b in _BUILTINS if b in self.builtins]
        for b in builtins:
            t, attr = _BUILTINS[b]
            params.append(f"{t} {b} [[{attr}]]")

        head = f"kernel void {self.msl_name}("
        text = head + (",\n" + " " * len(head)).join(params) + ") {\n"
        text += "".join("    " + d + "\n" for d in decls)
        text += "".join(ln + "\n" for ln in body_lines)
        text += "}\n"

        arguments = []
        for i, name, arg, meta in arg_meta:
            if isinstance(meta, _View):
                t = arg.type
                strides, offset = t.get_strides_and_offset()
                arguments.append(BufferArg(
                    name, i, str(t.element_type), _scalar(t.element_type, op.location).c,
                    tuple(None if d == _DYNAMIC else d for d in t.shape),
                    offset, tuple(strides), arg in self.written_roots))
            else:
                arguments.append(ScalarArg(name, i, str(arg.type), meta.c, _SIZES[meta.c]))
        info = KernelInfo(
            name=_sym(op), module=self.module_name, msl_name=self.msl_name,
            arguments=tuple(arguments), threadgroup=tuple(self.tg_arrays),
            builtins=tuple(builtins),
            known_block_size=_dense_ints(op, "known_block_size"),
            known_grid_size=_dense_ints(op, "known_grid_size"))
        return text, info

    def _memref_view(self, t: ir.MemRefType, base: str, space: str, root, op) -> _View:
        _scalar(t.element_type, op.location)  # reject unsupported element types early
        strides, offset = t.get_strides_and_offset()
        if any(x == _DYNAMIC for x in [*strides, offset]):
            raise MxError(f"memref type '{t}' has a dynamic stride or offset; the MSL "
                          "translation needs static layouts", op.location)
        shape = [None if d == _DYNAMIC else d for d in t.shape]
        return _View(base, space, t.element_type, _Lin(offset), list(strides), shape, root)

    @staticmethod
    def _static_count(t: ir.MemRefType, op) -> int:
        if not t.has_static_shape:
            raise MxError(f"workgroup/private memory '{t}' needs a static shape", op.location)
        strides, offset = t.get_strides_and_offset()
        if any(x == _DYNAMIC for x in [*strides, offset]):
            raise MxError(f"memref type '{t}' has a dynamic layout", op.location)
        if 0 in t.shape:
            return 1  # MSL arrays cannot be empty
        return offset + sum((d - 1) * s for d, s in zip(t.shape, strides, strict=True)) + 1

    # -- dispatch ---------------------------------------------------------------------------
    def emit(self, op):
        name = op.name
        handler = _HANDLERS.get(name)
        if handler is None:
            dialect, _, short = name.partition(".")
            if dialect == "math" and short in (_MATH_DIRECT.keys() | _MATH_HELPER.keys()):
                handler = _Kernel._math_float
            elif dialect == "math" and short in _MATH_PREDICATE:
                handler = _Kernel._math_predicate
            elif dialect == "math" and short in _MATH_INT:
                handler = _Kernel._math_int
            else:
                raise _op_error(op)
        for r in op.results:
            if not isinstance(r.type, ir.MemRefType):
                _scalar(r.type, op.location)  # unsupported result types name the op's line
        handler(self, op)

    def emit_region_body(self, block, skip_terminator: bool = True):
        ops = list(block.operations)
        for inner in ops[:-1] if skip_terminator else ops:
            self.emit(inner.operation)

    def assign_parallel(self, targets: list[str], exprs: list[str], ctypes: list[str]):
        """targets[i] = exprs[i] for all i at once (a source may name another target)."""
        pairs = [(t, e, c) for t, e, c in zip(targets, exprs, ctypes, strict=True) if t != e]
        clash = any(e in targets for _, e, _ in pairs)
        if not clash:
            for t, e, _ in pairs:
                self.line(f"{t} = {e};")
            return
        temps = []
        for t, e, c in pairs:
            tmp = self.fresh(f"{t}_next")
            self.line(f"{c} {tmp} = {e};")
            temps.append((t, tmp))
        for t, tmp in temps:
            self.line(f"{t} = {tmp};")

    # -- constants and arith --------------------------------------------------------------------
    def _constant(self, op):
        attr = op.attributes["value"]
        res = op.results[0]
        s = self.scalar(res, op.location)
        if isinstance(attr, ir.BoolAttr):
            self.exprs[res] = "true" if attr.value else "false"
            self.consts[res] = int(attr.value)
        elif isinstance(attr, ir.IntegerAttr):
            value = attr.value
            if s.kind == "bool":
                value = int(value != 0)
            self.exprs[res] = _int_literal(value, s, op.location)
            self.consts[res] = value % (1 << 32) if s.kind == "index" else value
        elif isinstance(attr, ir.FloatAttr):
            self.exprs[res] = _float_literal(attr.value, s)
            self.fconsts[res] = attr.value
        else:
            raise _op_error(op, "only scalar constants are supported")

    def _poison(self, op):
        res = op.results[0]
        s = self.scalar(res, op.location)
        self.exprs[res] = _float_literal(0.0, s) if s.kind == "float" else \
            _int_literal(0, s, op.location)

    def _int_binary(self, op):
        short = op.name.split(".")[1]
        a, b = op.operands
        res = op.results[0]
        s = self.scalar(res, op.location)
        ea, eb = self.e(a), self.e(b)
        if short in ("addi", "subi", "muli"):
            sym = {"addi": "+", "subi": "-", "muli": "*"}[short]
            if s.kind == "bool":
                expr = f"{ea} && {eb}" if short == "muli" else f"{ea} != {eb}"
            elif s.kind == "index" or s.bits < 32 or "nsw" in _flags(op):
                expr = f"{ea} {sym} {eb}"
                if s.bits < 32:
                    expr = f"{s.c}({expr})"
            else:  # MLIR wraps; signed overflow would be undefined in MSL
                expr = f"{s.c}({self.uv(a)} {sym} {self.uv(b)})"
        elif short in ("andi", "ori", "xori"):
            sym = {"andi": "&", "ori": "|", "xori": "^"}[short]
            expr = f"{ea} {sym} {eb}"
            if s.kind == "int" and s.bits < 32:
                expr = f"{s.c}({expr})"
        elif short in ("divsi", "remsi"):
            expr = self._cast_back(s, f"{self.sv(a)} {'/' if short == 'divsi' else '%'} "
                                      f"{self.sv(b)}", s.signed)
        elif short in ("divui", "remui"):
            expr = self._cast_back(s, f"{self.uv(a)} {'/' if short == 'divui' else '%'} "
                                      f"{self.uv(b)}", s.unsigned)
        elif short == "ceildivsi":
            x, y = self.sv(a), self.sv(b)
            expr = self._cast_back(s, f"{x} / {y} + ((({x} % {y}) != 0 && (({x} < 0) == "
                                      f"({y} < 0))) ? 1 : 0)")
        elif short == "floordivsi":
            x, y = self.sv(a), self.sv(b)
            expr = self._cast_back(s, f"{x} / {y} - ((({x} % {y}) != 0 && (({x} < 0) != "
                                      f"({y} < 0))) ? 1 : 0)")
        elif short == "ceildivui":
            x, y = self.uv(a), self.uv(b)
            expr = self._cast_back(s, f"{x} / {y} + ({x} % {y} != 0u ? 1u : 0u)", s.unsigned)
        elif short == "shli":
            expr = self._cast_back(s, f"{self.uv(a)} << {self.uv(b)}", s.unsigned)
        elif short == "shrsi":
            expr = self._cast_back(s, f"{self.sv(a)} >> {self.uv(b)}", s.signed)
        elif short == "shrui":
            expr = self._cast_back(s, f"{self.uv(a)} >> {self.uv(b)}", s.unsigned)
        elif short in ("maxsi", "minsi"):
            expr = self._cast_back(s, f"metal::{short[:3]}({self.sv(a)}, {self.sv(b)})",
                                   s.signed)
        elif short in ("maxui", "minui"):
            expr = self._cast_back(s, f"metal::{short[:3]}({self.uv(a)}, {self.uv(b)})",
                                   s.unsigned)
        else:
            raise _op_error(op)
        self.bind(res, expr)

    @staticmethod
    def _cast_back(s: _Scalar, expr: str, view: str = "") -> str:
        """`expr`, computed in the signed/unsigned `view` type, as a value of type `s`."""
        if s.kind == "bool":
            return f"bool(({expr}) & 1)"
        if view == s.c and s.bits >= 32:  # no promotion, no conversion needed
            return expr
        return f"{s.c}({expr})"

    def _float_binary(self, op):
        short = op.name.split(".")[1]
        a, b = op.operands
        res = op.results[0]
        x, y = self.fv(a), self.fv(b)
        if short in ("addf", "subf", "mulf", "divf"):
            expr = f"{x} {dict(addf='+', subf='-', mulf='*', divf='/')[short]} {y}"
        elif short == "remf":
            expr = f"metal::fmod({x}, {y})"
        elif short in ("maxnumf", "minnumf"):
            expr = f"metal::f{short[:3]}({x}, {y})"
        else:  # maximumf / minimumf
            self.helper("maximum")
            expr = f"mxir_{short[:3]}imum({x}, {y})"
        self.bind(res, self.fres(res, expr))

    def _negf(self, op):
        res = op.results[0]
        self.bind(res, self.fres(res, f"-{self.fv(op.operands[0])}"))

    def _cmpi(self, op):
        pred = ir.IntegerAttr(op.attributes["predicate"]).value
        a, b = op.operands
        if pred in (0, 1):
            x, y = self.e(a), self.e(b)
        elif pred <= 5:
            x, y = self.sv(a), self.sv(b)
        else:
            x, y = self.uv(a), self.uv(b)
        self.bind(op.results[0], f"{x} {_CMPI[pred]} {y}")

    def _cmpf(self, op):
        pred = ir.IntegerAttr(op.attributes["predicate"]).value
        a, b = op.operands
        x, y = self.fv(a), self.fv(b)
        if pred in _CMPF:
            expr = f"{x} {_CMPF[pred]} {y}"
        elif pred in _CMPF_UNORDERED:
            expr = f"!({x} {_CMPF_UNORDERED[pred]} {y})"
        elif pred == 6:  # one
            expr = f"({x} < {y} || {x} > {y})"
        elif pred == 8:  # ueq
            expr = f"!({x} < {y} || {x} > {y})"
        elif pred == 13:  # une
            expr = f"{x} != {y}"
        elif pred == 7:  # ord
            expr = f"!metal::isnan({x}) && !metal::isnan({y})"
        elif pred == 14:  # uno
            expr = f"metal::isnan({x}) || metal::isnan({y})"
        else:
            expr = "true" if pred == 15 else "false"
        self.bind(op.results[0], expr)

    def _select(self, op):
        c, a, b = op.operands
        if isinstance(a.type, ir.MemRefType):
            raise _op_error(op, "selecting between memrefs")
        self.bind(op.results[0], f"{self.e(c)} ? {self.e(a)} : {self.e(b)}")

    def _cast(self, op):
        short = op.name.split(".")[1]
        src = op.operands[0]
        res = op.results[0]
        ss, ds = self.scalar(src, op.location), self.scalar(res, op.location)
        e = self.e(src)
        if short in ("extf", "truncf"):
            # bfloat <-> half goes through float, which holds both exactly
            expr = f"{ds.c}(float({e}))" if {ss.c, ds.c} == {"half", "bfloat"} else f"{ds.c}({e})"
        elif short in ("extsi", "extui"):
            expr = self.converted(src, short == "extsi", ds.c)
        elif short == "trunci":
            expr = f"bool({e} & 1)" if ds.kind == "bool" else f"{ds.c}({e})"
        elif short in ("sitofp", "uitofp"):
            x = self.sv(src) if short == "sitofp" else self.uv(src)
            expr = f"bfloat(float({x}))" if ds.c == "bfloat" else f"{ds.c}({x})"
        elif short == "fptosi":
            expr = f"{ds.c}({self.fv(src)})" if ds.kind != "bool" else f"({self.fv(src)} != 0)"
        elif short == "fptoui":
            expr = f"{ds.c}({ds.unsigned}({self.fv(src)}))" if ds.kind != "bool" \
                else f"({self.fv(src)} != 0)"
        elif short in ("index_cast", "index_castui"):
            # sign- (zero-) extend or truncate between the 32-bit index and the integer type
            if ds.kind == "bool":
                expr = f"bool({e} & 1u)"
            else:
                expr = self.converted(src, short == "index_cast", ds.c)
        elif short == "bitcast":
            if ss.bits != ds.bits or "bool" in (ss.kind, ds.kind):
                raise _op_error(op, "bitcast between types of different sizes")
            expr = e if ss.c == ds.c else f"as_type<{ds.c}>({e})"
        else:
            raise _op_error(op)
        self.bind(res, expr)

    # -- math ---------------------------------------------------------------------------------
    def _math_float(self, op):
        short = op.name.split(".")[1]
        res = op.results[0]
        s = self.scalar(res, op.location)
        if short in _MATH_HELPER:
            self.helper(_MATH_HELPER[short])
            args = [f"float({self.e(v)})" if s.c != "float" else self.e(v) for v in op.operands]
            expr = f"mxir_{short}({', '.join(args)})"
            if s.c != "float":
                expr = f"{s.c}({expr})"
        else:
            args = [self.fv(v) for v in op.operands]
            expr = self.fres(res, f"metal::{_MATH_DIRECT[short]}({', '.join(args)})")
        self.bind(res, expr)

    def _math_predicate(self, op):
        short = op.name.split(".")[1]
        self.bind(op.results[0], f"metal::{_MATH_PREDICATE[short]}({self.fv(op.operands[0])})")

    def _math_int(self, op):
        short = op.name.split(".")[1]
        res = op.results[0]
        s = self.scalar(res, op.location)
        if s.kind != "int":
            raise _op_error(op, f"operands of type '{res.type}'")
        fn = _MATH_INT[short]
        arg = self.e(op.operands[0]) if short == "absi" else self.uv(op.operands[0])
        self.bind(res, f"{s.c}(metal::{fn}({arg}))")

    def _sincos(self, op):
        x = self.fv(op.operands[0])
        sin_r, cos_r = op.results
        self.bind(sin_r, self.fres(sin_r, f"metal::sin({x})"))
        self.bind(cos_r, self.fres(cos_r, f"metal::cos({x})"))

    def _fpowi(self, op):
        x, n = op.operands
        res = op.results[0]
        s = self.scalar(res, op.location)
        self.helper("powi")
        xe = self.e(x) if s.c == "float" else f"float({self.e(x)})"
        ns = self.scalar(n, op.location)
        exponent = self.sv(n) if ns.signed == "int" else f"int({self.sv(n)})"
        expr = f"mxir_powi({xe}, {exponent})"
        self.bind(res, expr if s.c == "float" else f"{s.c}({expr})")

    def _ipowi(self, op):
        b, n = op.operands
        res = op.results[0]
        s = self.scalar(res, op.location)
        if s.kind != "int":
            raise _op_error(op, f"operands of type '{res.type}'")
        self.helper("ipowi")
        wide = "ulong" if s.bits == 64 else "uint"
        self.bind(res, f"mxir_ipowi<{s.signed}, {wide}>({self.sv(b)}, {self.sv(n)})")

    # -- memory -------------------------------------------------------------------------------
    def _load(self, op):
        m, *idx = op.operands
        v = self.view(m, op)
        self.bind(op.results[0], v.address([self.ival(i) for i in idx]))

    def _store(self, op):
        val, m, *idx = op.operands
        v = self.view(m, op)
        if v.root is not None:
            self.written_roots.add(v.root)
        self.line(f"{v.address([self.ival(i) for i in idx])} = {self.e(val)};")

    def _atomic_rmw(self, op):
        val, m, *idx = op.operands
        v = self.view(m, op)
        kind = _ATOMIC_KINDS.get(ir.IntegerAttr(op.attributes["kind"]).value, "?")
        ctype = _scalar(v.elem, op.location).c
        # Metal atomics: 32-bit int/uint for all of these, float for add and exchange only
        allowed = {"addf": ("float",), "assign": ("int", "uint", "float"),
                   "maxs": ("int",), "mins": ("int",), "maxu": ("uint",), "minu": ("uint",)}
        if kind not in _ATOMIC_FN or ctype not in allowed.get(kind, ("int", "uint")):
            raise _op_error(op, f"atomic '{kind}' on {v.elem} (Metal has atomics on 32-bit "
                                "int/uint, and add/exchange on float)")
        if v.space == "thread":
            raise _op_error(op, "atomics on thread-private memory")
        if v.root is not None:
            self.written_roots.add(v.root)
        fn = "exchange" if kind == "assign" else f"fetch_{_ATOMIC_FN[kind]}"
        ptr = f"({v.space} atomic_{ctype}*)&{v.address([self.ival(i) for i in idx])}"
        self.bind(op.results[0], f"atomic_{fn}_explicit({ptr}, {self.e(val)}, "
                                 "memory_order_relaxed)", force=True)

    def _alloca(self, op):
        res = op.results[0]
        t = res.type
        if op.operands:
            raise _op_error(op, "dynamic sizes")
        count = self._static_count(t, op)
        name = self.name_of(res)
        space = "threadgroup" if _is_workgroup(t) else "thread"
        if space == "threadgroup":
            raise _op_error(op, "workgroup allocas; declare workgroup attributions on gpu.func")
        self.line(f"{_scalar(t.element_type, op.location).c} {name}[{count}];")
        self.views[res] = self._memref_view(t, name, space, None, op)

    def _dim(self, op):
        m, i = op.operands
        v = self.view(m, op)
        k = self.consts.get(i)
        if k is None or not 0 <= k < len(v.shape) or v.shape[k] is None:
            raise _op_error(op, "only static dimensions of static sizes are known in a kernel")
        self.exprs[op.results[0]] = f"{v.shape[k]}u"
        self.consts[op.results[0]] = v.shape[k]

    def _alias(self, op):
        """Ops whose result is the same memory with the same layout."""
        src = self.view(op.operands[0], op)
        res = op.results[0]
        v = _View(src.base, src.space, src.elem, src.offset, list(src.strides), list(src.shape),
                  src.root)
        t = res.type
        if isinstance(t, ir.MemRefType):
            v.shape = [None if d == _DYNAMIC else d for d in t.shape]
        self.views[res] = v

    def _subview(self, op):
        src = self.view(op.operands[0], op)
        offsets, sizes, strides = self._mixed(op, src)
        off = src.offset
        new_strides, kept_sizes = [], []
        for o, st, sz, ss in zip(offsets, strides, sizes, src.strides, strict=True):
            off = off.plus(o, ss)
            new_strides.append(_mul(ss, st))
            kept_sizes.append(sz)
        res_t = op.results[0].type
        res_shape = [None if d == _DYNAMIC else d for d in res_t.shape]
        # rank reduction drops unit dimensions; which ones does not change any address
        keep, j = [], 0
        for k, sz in enumerate(kept_sizes):
            left_src, left_res = len(kept_sizes) - k, len(res_shape) - j
            if left_res and (left_src == left_res or sz != 1 or res_shape[j] == 1):
                keep.append(k)
                j += 1
            elif sz != 1:
                break
        if len(keep) != len(res_shape):
            raise _op_error(op, "cannot match the rank-reduced result shape")
        self.views[op.results[0]] = _View(src.base, src.space, src.elem, off,
                                          [new_strides[k] for k in keep], res_shape, src.root)

    def _mixed(self, op, src):
        """Static/dynamic offsets, sizes and strides of a subview/reinterpret_cast."""
        operands = list(op.operands)[1:]
        seg = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])) \
            if "operandSegmentSizes" in op.attributes else None
        groups, pos = [], 0
        counts = seg[1:] if seg else [0, 0, 0]
        for name, n in zip(("static_offsets", "static_sizes", "static_strides"), counts,
                           strict=True):
            dyn = operands[pos:pos + n]
            pos += n
            values, it = [], iter(dyn)
            for x in ir.DenseI64ArrayAttr(op.attributes[name]):
                values.append(self.ival(next(it)) if x == _DYNAMIC else x)
            groups.append(values)
        return groups

    def _reinterpret_cast(self, op):
        src = self.view(op.operands[0], op)
        offsets, sizes, strides = self._mixed(op, src)
        # the offset is relative to the base pointer of the source, not to its view offset
        # `base` is always the aligned pointer, and the offset is counted from it
        offset = offsets[0]
        lin = _Lin(offset) if isinstance(offset, int) else _Lin(0, (_paren(offset),))
        self.views[op.results[0]] = _View(src.base, src.space, src.elem, lin, strides,
                                          [s if isinstance(s, int) else None for s in sizes],
                                          src.root)

    def _extract_strided_metadata(self, op):
        src = self.view(op.operands[0], op)
        base, offset, *rest = op.results
        rank = len(src.strides)
        sizes, strides = rest[:rank], rest[rank:]
        self.views[base] = _View(src.base, src.space, src.elem, _Lin(0), [], [], src.root)
        self._bind_index(offset, src.offset.render() if src.offset.terms else src.offset.const)
        for r, sz in zip(sizes, src.shape, strict=True):
            if sz is None:
                if _has_uses(r):
                    raise _op_error(op, "dynamic sizes are not known inside a kernel")
                continue
            self._bind_index(r, sz)
        for r, st in zip(strides, src.strides, strict=True):
            self._bind_index(r, st)

    def _bind_index(self, value, x):
        if isinstance(x, int):
            self.consts[value] = x % (1 << 32)
            self.exprs[value] = f"{x % (1 << 32)}u"
        else:
            self.bind(value, x, "uint")

    def _reshape(self, op):
        """collapse_shape / expand_shape of a view: strides from the reassociation groups."""
        src = self.view(op.operands[0], op)
        res_t = op.results[0].type
        res_shape = [None if d == _DYNAMIC else d for d in res_t.shape]
        groups = [[ir.IntegerAttr(i).value for i in g]
                  for g in ir.ArrayAttr(op.attributes["reassociation"])]
        if op.name == "memref.collapse_shape":
            # a contiguous group collapses to the stride of its innermost dimension
            strides = [src.strides[g[-1]] if g else 1 for g in groups]
        else:
            strides = [0] * len(res_shape)
            for k, g in enumerate(groups):
                stride = src.strides[k]
                for d in reversed(g):
                    strides[d] = stride
                    if res_shape[d] is None and d != g[0]:
                        raise _op_error(op, "dynamic inner sizes")
                    stride = _mul(stride, res_shape[d] if res_shape[d] is not None else 1)
        self.views[op.results[0]] = _View(src.base, src.space, src.elem, src.offset, strides,
                                          res_shape, src.root)

    # -- gpu ------------------------------------------------------------------------------------
    def _gpu_id(self, op):
        short = op.name.split(".")[1]
        dim = _DIMS[_enum_keyword(op.attributes["dimension"])]
        builtin = {"thread_id": "tid", "block_id": "bid", "block_dim": "tpg", "grid_dim": "ntg",
                   "global_id": "gid"}[short]
        self.builtins.add(builtin)
        self.exprs[op.results[0]] = f"{builtin}.{'xyz'[dim]}"

    def _gpu_scalar_builtin(self, op):
        builtin = {"gpu.lane_id": "lane", "gpu.subgroup_size": "simd_width",
                   "gpu.subgroup_id": "simd_id", "gpu.num_subgroups": "num_simd"}[op.name]
        self.builtins.add(builtin)
        self.exprs[op.results[0]] = builtin

    def _barrier(self, op):
        flags = self._fence_flags(op)
        self.line(f"threadgroup_barrier({flags});")

    def _fence_flags(self, op) -> str:
        if "address_spaces" in op.attributes:
            text = str(op.attributes["address_spaces"])
            spaces = []
            if "global" in text:
                spaces.append("mem_flags::mem_device")
            if "workgroup" in text:
                spaces.append("mem_flags::mem_threadgroup")
            return " | ".join(spaces) or "mem_flags::mem_none"
        # gpu.barrier fences all memory, but a device fence costs more on Apple GPUs and only
        # matters when some buffer is written on one side of the barrier and accessed on the
        # other (inside a loop, both sides include the whole loop)
        if self._device_hazards().get(op, False):
            return "mem_flags::mem_device | mem_flags::mem_threadgroup"
        return "mem_flags::mem_threadgroup"

    def _device_hazards(self) -> dict:
        """gpu.barrier op -> whether device memory must be fenced there."""
        if hasattr(self, "_hazards"):
            return self._hazards
        accesses, barriers, loops = [], [], {}  # (pos, root, is_store); (op, pos, loops)
        counter = [0]

        def walk(o, enclosing):
            pos = counter[0]
            counter[0] += 1
            if o.name in ("memref.load", "memref.store", "memref.atomic_rmw"):
                root = _root_arg(o.operands[0 if o.name == "memref.load" else 1])
                if root in self.device_args:
                    accesses.append((pos, root, o.name != "memref.load"))
            elif o.name == "gpu.barrier":
                barriers.append((o, pos, enclosing))
            is_loop = o.name in ("scf.for", "scf.while")
            inner = enclosing + (o,) if is_loop else enclosing
            for region in o.regions:
                for block in region.blocks:
                    for child in block.operations:
                        walk(child.operation, inner)
            if is_loop:
                loops[o] = (pos, counter[0] - 1)

        walk(self.op, ())
        self._hazards = {}
        for b, pos, enclosing in barriers:
            spans = [loops[lp] for lp in enclosing]

            def side(p, after, pos=pos, spans=spans):
                return (p > pos if after else p < pos) or any(lo <= p <= hi for lo, hi in spans)

            hazard = False
            for p1, r1, st1 in accesses:
                for p2, r2, st2 in accesses:
                    if r1 == r2 and (st1 or st2) and side(p1, False) and side(p2, True):
                        hazard = True
            self._hazards[b] = hazard
        return self._hazards

    def _shuffle(self, op):
        x, offset, width = op.operands
        value_r, valid_r = op.results
        mode = _enum_keyword(op.attributes["mode"])
        s = self.scalar(x, op.location)
        if s.bits == 64:
            raise _op_error(op, "64-bit shuffles (Metal's simd_shuffle takes 32-bit lanes)")
        fn = {"xor": "simd_shuffle_xor", "down": "simd_shuffle_down", "up": "simd_shuffle_up",
              "idx": "simd_shuffle"}[mode]
        off = self.uv(offset)
        if s.kind == "bool":
            call = f"{fn}(uint({self.e(x)}), ushort({off})) != 0u"
        else:
            call = self.fres(x, f"{fn}({self.fv(x) if s.kind == 'float' else self.e(x)}, "
                                f"ushort({off}))")
        self.bind(value_r, call)
        if _has_uses(valid_r):
            self.builtins.add("lane")
            w = self.uv(width)
            cond = {"xor": f"(lane ^ {off}) < {w}", "down": f"lane + {off} < {w}",
                    "up": f"lane >= {off}", "idx": f"{off} < {w}"}[mode]
            self.bind(valid_r, cond)

    def _subgroup_reduce(self, op):
        if "cluster_size" in op.attributes:
            raise _op_error(op, "clustered reductions")
        self.bind(op.results[0], self._simd_reduce(op, _enum_keyword(op.attributes["op"]),
                                                   op.operands[0]))

    def _simd_reduce(self, op, kind: str, x) -> str:
        s = self.scalar(x, op.location)
        if s.bits == 64:
            raise _op_error(op, "64-bit reductions")
        fn = _REDUCE_SIMD.get(kind)
        if fn is None:
            raise _op_error(op, f"reduction '{kind}'")
        if kind in ("minimumf", "maximumf") and s.kind == "float":
            # simd_max/simd_min drop NaNs; maximumf/minimumf propagate them (as MLX's max/min)
            v = self.fv(x)
            nan = "half(NAN)" if s.c == "half" else "NAN"
            return self.fres(x, f"(simd_any(metal::isnan({v})) ? {nan} : {fn}({v}))")
        if kind in ("minnumf", "maxnumf", "add", "mul") and s.kind == "float":
            return self.fres(x, f"{fn}({self.fv(x)})")
        if kind.endswith("si"):
            return self._cast_back(s, f"{fn}({self.sv(x)})", s.signed)
        if s.kind == "bool":
            return self._cast_back(s, f"{fn}(uint({self.e(x)}))")
        return self._cast_back(s, f"{fn}({self.uv(x)})", s.unsigned)

    def _all_reduce(self, op):
        x = op.operands[0]
        if "op" in op.attributes:
            kind = _enum_keyword(op.attributes["op"])
        else:
            kind = _region_reduce_kind(op)
        s = self.scalar(x, op.location)
        partial = self._simd_reduce(op, kind, x)
        ctype = s.c
        if ctype not in self.scratch:
            name = self.fresh(f"mxir_scratch_{ctype}")
            self.scratch[ctype] = name
            self.tg_arrays.append(ThreadgroupArray(name, str(x.type), ctype,
                                                   MAX_THREADS // SIMD_WIDTH))
        scratch = self.scratch[ctype]
        self.builtins |= {"lane", "simd_id", "num_simd"}
        res = op.results[0]
        acc = self.name_of(res)
        # each simdgroup reduces its lanes, lane 0 publishes, then every thread folds the
        # per-simdgroup partials; the second barrier lets the scratch slots be reused
        self.line(f"{ctype} {acc} = {partial};")
        self.line(f"if (lane == 0u) {scratch}[simd_id] = {acc};")
        self.line("threadgroup_barrier(mem_flags::mem_threadgroup);")
        self.line(f"{acc} = {scratch}[0];")
        k = self.fresh("k")
        other = f"{scratch}[{k}]"
        self.line(f"for (uint {k} = 1u; {k} < num_simd; ++{k}) "
                  f"{acc} = {self._combine(kind, s, acc, other)};")
        self.line("threadgroup_barrier(mem_flags::mem_threadgroup);")
        self.exprs[res] = acc

    def _combine(self, kind: str, s: _Scalar, a: str, b: str) -> str:
        """`a kind b` for gpu.all_reduce's fold of the per-simdgroup partials."""
        if s.c == "bfloat":
            a, b = f"float({a})", f"float({b})"
        view = s.c
        if kind in ("add", "mul"):
            sym = "+" if kind == "add" else "*"
            if s.kind == "bool":
                expr = f"{a} {'!=' if kind == 'add' else '&&'} {b}"
            elif s.kind == "int" and s.bits >= 32:  # wraps: compute unsigned
                expr, view = f"{s.unsigned}({a}) {sym} {s.unsigned}({b})", s.unsigned
            else:
                expr = f"{a} {sym} {b}"
        elif kind in ("and", "or", "xor"):
            expr = f"{a} {dict(zip(('and', 'or', 'xor'), '&|^'))[kind]} {b}"
        elif kind in ("minnumf", "maxnumf"):
            expr = f"metal::f{kind[:3]}({a}, {b})"
        elif kind in ("minimumf", "maximumf"):
            self.helper("maximum")
            expr = f"mxir_{kind[:3]}imum({a}, {b})"
        else:
            t = s.signed if kind.endswith("si") else s.unsigned
            if t != s.c:
                a, b, view = f"{t}({a})", f"{t}({b})", t
            expr = f"metal::{kind[:3]}({a}, {b})"
        if view != s.c or s.c == "bfloat" or s.bits < 32 and s.kind == "int":
            return f"{s.c}({expr})"
        return expr

    def _return(self, op):
        if op.operands:
            raise _op_error(op, "kernels return no values")

    # -- scf ------------------------------------------------------------------------------------
    def _for(self, op):
        lb, ub, step, *inits = op.operands
        block = op.regions[0].blocks[0]
        iv, *iter_args = block.arguments
        vars_ = []
        for arg, init in zip(iter_args, inits, strict=True):
            if isinstance(arg.type, ir.MemRefType):
                raise _op_error(op, "memref loop-carried values")
            vars_.append(self.declare(arg, self.e(init)))
        s = self.scalar(iv, op.location)
        ivn = self.name_of(iv)
        self.exprs[iv] = ivn
        unsigned = "unsignedCmp" in op.attributes
        if s.kind == "index" and not unsigned and not (self.nonneg(lb) and self.nonneg(ub)):
            cond = f"int({ivn}) < int({self.e(ub)})"  # scf.for compares signed
        elif unsigned and s.kind != "index":
            cond = f"{self.uv(iv)} < {self.uv(ub)}"
        else:
            cond = f"{ivn} < {self.e(ub)}"
        self.line(f"for ({s.c} {ivn} = {self.e(lb)}; {cond}; {ivn} += {self.e(step)}) {{")
        self.depth += 1
        self.emit_region_body(block)
        self.assign_parallel(vars_, [self.e(v) for v in _terminator(block).operands],
                             [self.scalar(a).c for a in iter_args])
        self.depth -= 1
        self.line("}")
        for r, name in zip(op.results, vars_, strict=True):
            self.exprs[r] = name

    def _if(self, op):
        cond = self.e(op.operands[0])
        names = []
        for r in op.results:
            if isinstance(r.type, ir.MemRefType):
                raise _op_error(op, "memref results")
            names.append(self.declare(r))
        ctypes = [self.scalar(r).c for r in op.results]
        then_r, else_r = op.regions[0], op.regions[1]
        self.line(f"if ({cond}) {{")
        self._branch(then_r.blocks[0], names, ctypes)
        if len(else_r.blocks) and (names or len(list(else_r.blocks[0].operations)) > 1):
            self.line("} else {")
            self._branch(else_r.blocks[0], names, ctypes)
        self.line("}")

    def _branch(self, block, names, ctypes):
        self.depth += 1
        self.emit_region_body(block)
        self.assign_parallel(names, [self.e(v) for v in _terminator(block).operands], ctypes)
        self.depth -= 1

    def _while(self, op):
        before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
        vars_ = [self.declare(a, self.e(i)) for a, i in zip(before.arguments, op.operands,
                                                            strict=True)]
        results = [self.declare(r) for r in op.results]
        self.line("while (true) {")
        self.depth += 1
        self.emit_region_body(before)
        cond_op = _terminator(before)
        c, *passed = cond_op.operands
        passed_e = [self.e(v) for v in passed]
        self.line(f"if (!{_paren(self.e(c))}) {{")
        self.depth += 1
        self.assign_parallel(results, passed_e, [self.scalar(r).c for r in op.results])
        self.line("break;")
        self.depth -= 1
        self.line("}")
        for a, e in zip(after.arguments, passed_e, strict=True):
            self.declare(a, e)
        self.emit_region_body(after)
        self.assign_parallel(vars_, [self.e(v) for v in _terminator(after).operands],
                             [self.scalar(a).c for a in before.arguments])
        self.depth -= 1
        self.line("}")

    def _index_switch(self, op):
        arg = op.operands[0]
        names = [self.declare(r) for r in op.results]
        ctypes = [self.scalar(r).c for r in op.results]
        cases = list(ir.DenseI64ArrayAttr(op.attributes["cases"]))
        self.line(f"switch (int({self.e(arg)})) {{")
        regions = list(op.regions)
        default, case_regions = regions[0], regions[1:]
        for value, region in zip(cases, case_regions, strict=True):
            self.line(f"case {value}: {{")
            self._branch(region.blocks[0], names, ctypes)
            self.line("    break;")
            self.line("}")
        self.line("default: {")
        self._branch(default.blocks[0], names, ctypes)
        self.line("}")
        self.line("}")

    def _execute_region(self, op):
        region = op.regions[0]
        if len(region.blocks) != 1:
            raise _op_error(op, "several blocks (unstructured control flow)")
        names = [self.declare(r) for r in op.results]
        self.line("{")
        self._branch(region.blocks[0], names, [self.scalar(r).c for r in op.results])
        self.line("}")


def _terminator(block):
    return list(block.operations)[-1].operation


def _has_uses(value) -> bool:
    return next(iter(value.uses), None) is not None


def _flags(op) -> str:
    return str(op.attributes["overflowFlags"]) if "overflowFlags" in op.attributes else ""


def _is_workgroup(t: ir.MemRefType) -> bool:
    return t.memory_space is not None and "workgroup" in str(t.memory_space)


def _root_arg(value):
    """The gpu.func argument a memref value views, following view-like ops (None if not)."""
    for _ in range(1000):
        owner = value.owner
        if isinstance(owner, ir.Block):
            return value if isinstance(value.type, ir.MemRefType) else None
        op = owner.operation if hasattr(owner, "operation") else owner
        if op.name not in _VIEW_OPS or not op.operands:
            return None
        value = op.operands[0]
    return None


def _region_reduce_kind(op) -> str:
    block = op.regions[0].blocks[0]
    ops = [o.operation for o in block.operations]
    if len(ops) == 2 and ops[0].name in _REGION_REDUCE and ops[1].name == "gpu.yield" and \
            list(ops[0].operands) == list(block.arguments) and \
            ops[1].operands[0] == ops[0].results[0]:
        return _REGION_REDUCE[ops[0].name]
    raise _op_error(op, "only a region holding one arith combining op (or the op attribute)")


def _sym(op) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value


def _dense_ints(op, name) -> tuple | None:
    for key in (name, f"gpu.{name}"):
        if key in op.attributes:
            return tuple(ir.DenseI32ArrayAttr(op.attributes[key]))
    return None


_VIEW_OPS = {"memref.subview", "memref.reinterpret_cast", "memref.cast",
             "memref.extract_strided_metadata", "memref.collapse_shape", "memref.expand_shape",
             "memref.assume_alignment", "memref.memory_space_cast"}

_HANDLERS = {
    "arith.constant": _Kernel._constant,
    "ub.poison": _Kernel._poison,
    "arith.negf": _Kernel._negf,
    "arith.cmpi": _Kernel._cmpi,
    "arith.cmpf": _Kernel._cmpf,
    "arith.select": _Kernel._select,
    "math.sincos": _Kernel._sincos,
    "math.fpowi": _Kernel._fpowi,
    "math.ipowi": _Kernel._ipowi,
    "memref.load": _Kernel._load,
    "memref.store": _Kernel._store,
    "memref.atomic_rmw": _Kernel._atomic_rmw,
    "memref.alloca": _Kernel._alloca,
    "memref.dim": _Kernel._dim,
    "memref.cast": _Kernel._alias,
    "memref.assume_alignment": _Kernel._alias,
    "memref.memory_space_cast": _Kernel._alias,
    "memref.subview": _Kernel._subview,
    "memref.reinterpret_cast": _Kernel._reinterpret_cast,
    "memref.extract_strided_metadata": _Kernel._extract_strided_metadata,
    "memref.collapse_shape": _Kernel._reshape,
    "memref.expand_shape": _Kernel._reshape,
    "gpu.thread_id": _Kernel._gpu_id,
    "gpu.block_id": _Kernel._gpu_id,
    "gpu.block_dim": _Kernel._gpu_id,
    "gpu.grid_dim": _Kernel._gpu_id,
    "gpu.global_id": _Kernel._gpu_id,
    "gpu.lane_id": _Kernel._gpu_scalar_builtin,
    "gpu.subgroup_size": _Kernel._gpu_scalar_builtin,
    "gpu.subgroup_id": _Kernel._gpu_scalar_builtin,
    "gpu.num_subgroups": _Kernel._gpu_scalar_builtin,
    "gpu.barrier": _Kernel._barrier,
    "gpu.shuffle": _Kernel._shuffle,
    "gpu.subgroup_reduce": _Kernel._subgroup_reduce,
    "gpu.all_reduce": _Kernel._all_reduce,
    "gpu.return": _Kernel._return,
    "scf.for": _Kernel._for,
    "scf.if": _Kernel._if,
    "scf.while": _Kernel._while,
    "scf.index_switch": _Kernel._index_switch,
    "scf.execute_region": _Kernel._execute_region,
}
for _name in ("addi", "subi", "muli", "andi", "ori", "xori", "divsi", "divui", "remsi", "remui",
              "ceildivsi", "ceildivui", "floordivsi", "shli", "shrsi", "shrui", "maxsi", "maxui",
              "minsi", "minui"):
    _HANDLERS[f"arith.{_name}"] = _Kernel._int_binary
for _name in ("addf", "subf", "mulf", "divf", "remf", "maxnumf", "minnumf", "maximumf",
              "minimumf"):
    _HANDLERS[f"arith.{_name}"] = _Kernel._float_binary
for _name in ("extf", "truncf", "extsi", "extui", "trunci", "sitofp", "uitofp", "fptosi",
              "fptoui", "index_cast", "index_castui", "bitcast"):
    _HANDLERS[f"arith.{_name}"] = _Kernel._cast


# --------------------------------------------------------------------------------------------
# Modules


def gpu_modules(module) -> list:
    """The gpu.module ops of a module (top level, or inside nested builtin.modules)."""
    found = []

    def walk(block):
        for op in block.operations:
            o = op.operation
            if o.name == "gpu.module":
                found.append(o)
            elif o.name == "builtin.module":
                walk(o.regions[0].blocks[0])

    top = module.operation if hasattr(module, "operation") else module
    if top.name == "gpu.module":
        return [top]
    walk(top.regions[0].blocks[0])
    return found


def translate_gpu_module(gpu_module_op) -> tuple[str, list[KernelInfo]]:
    """MSL source (preamble, helpers, kernels) and per-kernel metadata of one gpu.module."""
    return translate_gpu_modules([gpu_module_op])


def translate_gpu_modules(gpu_module_ops) -> tuple[str, list[KernelInfo]]:
    """One MSL source for several gpu.modules; kernel names that clash across modules are
    prefixed with their module's name."""
    funcs = []
    for gm in gpu_module_ops:
        gm = gm.operation if hasattr(gm, "operation") else gm
        mod_name = _sym(gm)
        for op in gm.regions[0].blocks[0].operations:
            o = op.operation
            if o.name == "gpu.func":
                if "gpu.kernel" not in o.attributes:
                    raise MxError(f"device function @{_sym(o)} is not a kernel: the MSL "
                                  "translation handles kernels only (inline calls first)",
                                  o.location)
                funcs.append((mod_name, o))
            elif o.name not in ("gpu.module_end",):
                raise _op_error(o, "only gpu.func kernels may appear in a gpu.module")
    counts: dict[str, int] = {}
    for _, f in funcs:
        counts[_sym(f)] = counts.get(_sym(f), 0) + 1
    helpers: set = set()
    texts, infos, taken = [], [], set()
    for mod_name, f in funcs:
        base = _identifier(_sym(f) if counts[_sym(f)] == 1 else f"{mod_name}_{_sym(f)}")
        msl_name, k = base, 1
        while msl_name in taken:
            msl_name, k = f"{base}_{k}", k + 1
        taken.add(msl_name)
        text, info = _Kernel(f, msl_name, mod_name, helpers).translate()
        texts.append(text)
        infos.append(info)
    parts = [PRELUDE]
    if any(re.search(r"\bbfloat\b", text) for text in texts):
        parts.append("// bfloat is MSL 3.1: compile with -std=metal3.1 (macOS 14 / iOS 17)\n")
    for key in _HELPER_ORDER:
        if key in helpers:
            parts.append("\n" + _HELPERS[key])
    for text in texts:
        parts.append("\n" + text)
    return "".join(parts), infos


def translate_module(module) -> str:
    """`mxir-translate --gpu-to-msl`: MSL of every gpu.module in `module`."""
    mods = gpu_modules(module)
    if not mods:
        raise MxError("no gpu.module in the input: --gpu-to-msl translates the kernels of "
                      "gpu.module ops (run the GPU pipeline first)")
    return translate_gpu_modules(mods)[0]
