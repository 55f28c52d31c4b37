"""mx-math-approx: float32 `math` ops -> vectorisable arith-only approximations.

The wheel lowers `math.sin` & co. to scalar libm calls, which LLVM cannot vectorise (TOOLCHAIN
§4: 177 ms vs 13 ms for W3). The approximations are arith ops (range reduction, polynomial,
NumPy's inf/nan/denormal results) on f32 or vectors of f32 (after mx-cpu-codegen vectorised the
loops). An op kind used at a few places is expanded in place (CSE then shares the range
reduction of sin x and cos x); one used at many places becomes calls to one private function
`@__mx_<op>_<type>` (a chain of 50 expanded sins took 0.5 s to JIT).
Accuracy (tests/unit/test_math_accuracy.py, against NumPy float64): a few ulps everywhere,
sin/cos included for huge arguments (exact Payne-Hanek reduction with integer arithmetic).
float64 keeps libm; float16/bfloat16 are computed in float32 by the lowering, so they use these.
"""

from __future__ import annotations

import math as pymath
from fractions import Fraction

from mlir import ir
from mlir.dialects import arith, func, scf, vector
from mlir.dialects import math as mmath

from .ir_utils import functions

_LN2_HI = 0.693359375  # few significant bits: n * _LN2_HI is exact
_LN2_LO = -2.12194440e-4
_EXP_POLY = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3,
             1.3981999507e-3, 1.9875691500e-4]  # e^r ~ 1 + r + r^2 P(r), |r| <= ln2/2
_LOG_POLY = [3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1,
             1.4249322787e-1, -1.2420140846e-1, 1.1676998740e-1, -1.1514610310e-1,
             7.0376836292e-2]  # log(1+f) ~ f - f^2/2 + f^3 P(f), sqrt(.5)-1 <= f < sqrt(2)-1
_SIN_POLY = [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4]  # in r^2, |r| <= pi/4
_COS_POLY = [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5]
_TANH_POLY = [-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2,
              -5.70498872745e-3]  # tanh x ~ x + x^3 P(x^2), |x| < 0.625
# fitted (least squares on Chebyshev nodes, float64, rounded to float32), max rel err ~1e-7:
_ERF_SMALL = [1.128379225730896, -0.3761262893676758, 0.11283625662326813,
              -0.02685539796948433, 0.0051912167109549046, -0.0008034827769733965,
              7.933422602945939e-05]  # erf x = x P(x^2), |x| < 1
_ERF_TAIL = [0.0002749496197793633, 0.5589596629142761, 0.042608775198459625,
             -0.47395461797714233, 0.5022039413452148, -0.24921603500843048,
             0.02991912141442299, 0.02565707080066204, -0.00886930339038372]
# erfc x = exp(-x^2) Q(1/x), 1 <= x <= 4 (erf rounds to 1 in float32 beyond 3.92)


def _pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), Machin's formula in fixed point."""
    one = 1 << (bits + 24)

    def arctan_inv(n):
        total, term, k, n2 = 0, one // n, 1, n * n
        while term:
            total += term // k if k % 4 == 1 else -(term // k)
            term //= n2
            k += 2
        return total

    return (16 * arctan_inv(5) - 4 * arctan_inv(239)) >> 24


def _two_over_pi_words(pad: int, nwords: int) -> list[int]:
    """The bits of 2/pi after the point, preceded by `pad` + 1 zero bits (bit i of 2/pi, of
    weight 2^-i, sits at stream position pad + i), cut into big-endian 64-bit words."""
    bits = 64 * nwords - pad + 16
    frac = (1 << (2 * bits + 1)) // _pi_fixed(bits)  # floor(2/pi * 2^bits), about
    stream = frac >> 17  # bit i at position 64 nwords - 1 - pad - i from the right
    return [(stream >> (64 * (nwords - 1 - j))) & (2**64 - 1) for j in range(nwords)]


_PH_PAD = 32  # arguments down to pi/4 (exponent -24) start their window at bit >= 7
_PH_WORDS = _two_over_pi_words(_PH_PAD, 5)
_CW_LIMIT = 2.0**20  # q < 2^20: q * _PIO2_HI is exact in float64
_CW32_LIMIT = 4096.0  # q <= 2608: q times the error of the parts below stays under 2^-64
_ROUND_MAGIC = 1.5 * 2.0**23  # x + this rounds x to an integer held in the low mantissa bits


def _float32_parts(value, n: int) -> list[float]:
    """n float32 numbers whose exact sum approximates `value` (a Fraction) to ~24 n bits."""
    import numpy as np

    parts = []
    for _ in range(n):
        parts.append(float(np.float32(float(value))))
        value -= Fraction(parts[-1])
    return parts
_PIO2_HI = float.fromhex("0x1.921fb544p+0")  # 33 significant bits of pi/2
_PIO2_LO = (_pi_fixed(200) - (int(_PIO2_HI * 2**32) << 169)) / 2.0**201  # pi/2 - _PIO2_HI
_PIO2_F32 = _float32_parts(Fraction(_pi_fixed(200), 2**201), 3)  # pi/2 - sum < 2^-76


class _Emit:
    """arith on f32 scalars (or vectors of f32) with i32/i64 bit tricks; ops go to the current
    insertion point."""

    def __init__(self, ftype):
        self.f = ftype
        shape = ftype.shape if isinstance(ftype, ir.VectorType) else None
        self.i32 = self._like(shape, ir.IntegerType.get_signless(32))
        self.i64 = self._like(shape, ir.IntegerType.get_signless(64))
        self.i1 = self._like(shape, ir.IntegerType.get_signless(1))
        self.f64 = self._like(shape, ir.F64Type.get())
        self.fm = ir.Attribute.parse("#arith.fastmath<contract>")

    @staticmethod
    def _like(shape, elem):
        return ir.VectorType.get(shape, elem) if shape is not None else elem

    def const(self, value, t=None):
        t = t or self.f
        elem = t.element_type if isinstance(t, ir.VectorType) else t
        if isinstance(elem, ir.IntegerType):
            w = elem.width
            value = int(value) & ((1 << w) - 1)
            value = value - (1 << w) if value >> (w - 1) else value  # signed view
            attr = ir.IntegerAttr.get(elem, value)
        else:
            attr = ir.FloatAttr.get(elem, float(value))
        if isinstance(t, ir.VectorType):
            attr = ir.DenseElementsAttr.get_splat(t, attr)
        return arith.constant(t, attr)

    def add(self, a, b):
        return arith.addf(a, b)

    def sub(self, a, b):
        return arith.subf(a, b)

    def mul(self, a, b):
        return arith.mulf(a, b)

    def div(self, a, b):
        return arith.divf(a, b)

    def fma(self, a, b, c):
        # `contract` only here: on plain adds LLVM also folds (x + 1) - 1 to x, which breaks
        # the cancellation tricks of log1p/expm1
        return arith.addf(arith.mulf(a, b, fastmath=self.fm), c, fastmath=self.fm)

    def fused(self, a, b, c):
        """a b + c rounded once, whatever LLVM decides: the exactness arguments need it."""
        return mmath.fma(a, b, c)

    def poly(self, x, coeffs):
        """Horner: coeffs[0] + coeffs[1] x + ... ."""
        acc = self.const(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, self.const(c))
        return acc

    def cmp(self, pred, a, b):
        return arith.cmpf(getattr(arith.CmpFPredicate, pred.upper()), a, b)

    def icmp(self, pred, a, b):
        return arith.cmpi(getattr(arith.CmpIPredicate, pred), a, b)

    def sel(self, c, a, b):
        return arith.select(c, a, b)

    def bits(self, x):
        return arith.bitcast(self.i32, x)

    def flt(self, i):
        return arith.bitcast(self.f, i)

    def abs(self, x):
        return self.flt(arith.andi(self.bits(x), self.const(0x7FFFFFFF, self.i32)))

    def copysign(self, mag, sign):
        s = arith.andi(self.bits(sign), self.const(0x80000000, self.i32))
        return self.flt(arith.ori(self.bits(self.abs(mag)), s))

    def neg(self, x):
        return arith.negf(x)

    def nan_through(self, x, r):
        """NaN inputs give NaN (themselves), whatever the approximation computed."""
        return self.sel(self.cmp("uno", x, x), x, r)


# ---- the approximations (e: _Emit, x: f32 value) ----

def _exp(e, x):
    xc = arith.maximumf(arith.minimumf(x, e.const(88.8)), e.const(-104.0))  # NaN stays
    t = e.fused(xc, e.const(1 / pymath.log(2)), e.const(_ROUND_MAGIC))  # n in its low bits
    n = e.sub(t, e.const(_ROUND_MAGIC))
    r = e.fma(n, e.const(-_LN2_HI), xc)
    r = e.fma(n, e.const(-_LN2_LO), r)
    p = e.add(e.fma(e.mul(r, r), e.poly(r, _EXP_POLY), r), e.const(1.0))
    ni = arith.subi(e.bits(t), e.bits(e.const(_ROUND_MAGIC)))  # n in [-150, 128]

    def pow2(k):  # a normal power of two, k in [-126, 127]
        return e.flt(arith.shli(arith.addi(k, e.const(127, e.i32)), e.const(23, e.i32)))

    # 2^n: one power of two while every lane's is normal (|x| <= 87), else two (the
    # denormal results and overflow); NaN flows through (no float -> int conversion)
    wide = scf.IfOp(_any(e, e.cmp("ogt", e.abs(xc), e.const(87.0))), [e.f], has_else=True)
    with ir.InsertionPoint(wide.then_block):
        n1 = arith.shrsi(ni, e.const(1, e.i32))
        scf.YieldOp([e.mul(e.mul(p, pow2(n1)), pow2(arith.subi(ni, n1)))])
    with ir.InsertionPoint(wide.else_block):
        scf.YieldOp([e.mul(p, pow2(ni))])
    return wide.results[0]


def _log(e, x):
    tiny = e.cmp("olt", e.abs(x), e.const(2.0**-126))
    xs = e.sel(tiny, e.mul(x, e.const(2.0**23)), x)  # denormals: scale into the normals
    i = e.bits(xs)
    ex = arith.subi(arith.andi(arith.shrui(i, e.const(23, e.i32)), e.const(0xFF, e.i32)),
                    e.const(126, e.i32))
    ex = arith.subi(ex, e.sel(tiny, e.const(23, e.i32), e.const(0, e.i32)))
    m = e.flt(arith.ori(arith.andi(i, e.const(0x007FFFFF, e.i32)),
                        e.const(0x3F000000, e.i32)))  # mantissa in [0.5, 1)
    low = e.cmp("olt", m, e.const(pymath.sqrt(0.5)))
    ex = arith.subi(ex, arith.extui(e.i32, low))
    f = e.sub(e.sel(low, e.add(m, m), m), e.const(1.0))
    z = e.mul(f, f)
    y = e.mul(e.mul(f, z), e.poly(f, _LOG_POLY))
    fe = arith.sitofp(e.f, ex)
    y = e.fma(fe, e.const(_LN2_LO), y)
    y = e.fma(z, e.const(-0.5), y)
    r = e.fma(fe, e.const(_LN2_HI), e.add(f, y))
    r = e.sel(e.cmp("oeq", x, e.const(pymath.inf)), x, r)
    r = e.sel(e.cmp("oeq", x, e.const(0.0)), e.const(-pymath.inf), r)
    return e.sel(e.cmp("ult", x, e.const(0.0)), e.const(pymath.nan), r)  # x < 0 or NaN


def _log1p(e, x):
    # log(u) * x / (u - 1) with u = 1 + x cancels the rounding of u (Goldberg)
    u = e.add(x, e.const(1.0))
    d = e.sub(u, e.const(1.0))
    r = e.mul(_log(e, u), e.div(x, d))
    r = e.sel(e.cmp("oeq", d, e.const(0.0)), x, r)
    return e.sel(e.cmp("oeq", x, e.const(pymath.inf)), x, r)


def _expm1(e, x):
    # (u - 1) * x / log(u) with u = exp(x) (Kahan); tiny x gives x, big x gives u
    u = _exp(e, x)
    d = e.sub(u, e.const(1.0))
    r = e.mul(d, e.div(x, _log(e, u)))
    r = e.sel(e.cmp("oeq", d, e.const(0.0)), x, r)
    r = e.sel(e.cmp("oeq", d, e.const(-1.0)), d, r)
    r = e.sel(e.cmp("oeq", u, e.const(pymath.inf)), u, r)
    return e.nan_through(x, r)


def _any(e, mask):
    """One i1: whether any lane of `mask` is set (a branch on the whole vector)."""
    if isinstance(e.f, ir.VectorType):
        return vector.ReductionOp(ir.IntegerType.get_signless(1), vector.CombiningKind.OR,
                                  mask).result
    return mask


def _reduce(e, x):
    """|x| = q pi/2 + r, |r| <= pi/4 (about), (r, i32 whose low two bits are q mod 4).

    |x| <= 4096 in every lane: Cody-Waite in float32, pi/2 in three float32 parts, each step a
    fused multiply-add (exact while it cancels), q rounded by adding 1.5 2^23. Otherwise
    _reduce_wide: the same in float64 up to 2^20, Payne-Hanek beyond. r is NaN for x inf or
    NaN, so sin and cos are."""
    a = e.abs(x)
    t = e.fused(a, e.const(2 / pymath.pi), e.const(_ROUND_MAGIC))
    qf = e.sub(t, e.const(_ROUND_MAGIC))
    r = a
    for part in _PIO2_F32:
        r = e.fused(qf, e.const(-part), r)
    wide = scf.IfOp(_any(e, e.cmp("ogt", a, e.const(_CW32_LIMIT))), [e.f, e.i32],
                    has_else=True)
    with ir.InsertionPoint(wide.then_block):
        rw, qw = _reduce_wide(e, a)
        rw = e.sel(e.cmp("oeq", a, e.const(pymath.inf)), e.const(pymath.nan), rw)
        scf.YieldOp([rw, qw])
    with ir.InsertionPoint(wide.else_block):
        scf.YieldOp([r, e.bits(t)])  # t = 1.5 2^23 + q: q in the low mantissa bits
    return wide.results[0], wide.results[1]


def _reduce_wide(e, a):
    """_reduce for |x| > 4096 (a = |x|): Cody-Waite in float64 (q pi/2 exact with a 33-bit
    high part) below 2^20. Beyond, and only when some lane needs it, Payne-Hanek in integers:
    |x| = m 2^k, and (m 2^k 2/pi) mod 4 needs only a 96-bit window of the bits of 2/pi starting
    near bit k, so m times the window, in wrapping 64-bit arithmetic, holds the quadrant in its
    top two bits and the fraction below. Exact for every float."""
    ad = arith.extf(e.f64, arith.minimumf(a, e.const(_CW_LIMIT)))  # NaN stays: q fixed below
    qd = mmath.roundeven(arith.mulf(ad, e.const(2 / pymath.pi, e.f64)))
    rd = arith.subf(arith.subf(ad, arith.mulf(qd, e.const(_PIO2_HI, e.f64))),
                    arith.mulf(qd, e.const(_PIO2_LO, e.f64)))
    r = arith.truncf(e.f, rd)
    qd = arith.select(arith.cmpf(arith.CmpFPredicate.UNO, qd, qd), e.const(0.0, e.f64), qd)
    q = arith.fptosi(e.i32, qd)
    big = e.cmp("ogt", a, e.const(_CW_LIMIT))
    branch = scf.IfOp(_any(e, big), [e.f, e.i32], has_else=True)
    with ir.InsertionPoint(branch.then_block):
        rp, qp = _payne_hanek(e, a)
        scf.YieldOp([e.sel(big, rp, r), e.sel(big, qp, q)])
    with ir.InsertionPoint(branch.else_block):
        scf.YieldOp([r, q])
    return branch.results[0], branch.results[1]


def _payne_hanek(e, a):
    i = e.bits(a)
    k = arith.subi(arith.shrui(i, e.const(23, e.i32)), e.const(150, e.i32))
    m = arith.ori(arith.andi(i, e.const(0x007FFFFF, e.i32)), e.const(0x00800000, e.i32))
    s = arith.addi(k, e.const(_PH_PAD - 1, e.i32))  # window start, 2/pi bit 1 at _PH_PAD
    s = arith.minsi(arith.maxsi(s, e.const(0, e.i32)), e.const(191, e.i32))
    s = arith.extui(e.i64, s)
    w = arith.shrui(s, e.const(6, e.i64))
    sh = arith.andi(s, e.const(63, e.i64))
    is0 = e.icmp("eq", w, e.const(0, e.i64))
    is1 = e.icmp("eq", w, e.const(1, e.i64))

    def word(j):  # _PH_WORDS[w + j], w in 0..2
        return e.sel(is0, e.const(_PH_WORDS[j], e.i64),
                     e.sel(is1, e.const(_PH_WORDS[j + 1], e.i64),
                           e.const(_PH_WORDS[j + 2], e.i64)))

    w0, w1, w2 = word(0), word(1), word(2)
    back = arith.subi(e.const(63, e.i64), sh)

    def funnel(hi, lo):  # (hi << sh) | (lo >> (64 - sh)) without a 64-bit shift
        return arith.ori(arith.shli(hi, sh),
                         arith.shrui(arith.shrui(lo, e.const(1, e.i64)), back))

    top = funnel(w0, w1)
    low32 = arith.shrui(funnel(w1, w2), e.const(32, e.i64))
    m64 = arith.extui(e.i64, m)
    p_hi = arith.muli(m64, arith.shrui(top, e.const(32, e.i64)))
    p_mid = arith.muli(m64, arith.andi(top, e.const(0xFFFFFFFF, e.i64)))
    p_lo = arith.muli(m64, low32)
    acc = arith.addi(arith.addi(arith.shli(p_hi, e.const(32, e.i64)), p_mid),
                     arith.shrui(p_lo, e.const(32, e.i64)))
    # value = acc / 2^62 (mod 4): round to the nearest quadrant, the rest is a signed fraction
    q = arith.trunci(e.i32, arith.shrui(arith.addi(acc, e.const(1 << 61, e.i64)),
                                        e.const(62, e.i64)))
    frac = arith.sitofp(e.f64, arith.shli(acc, e.const(2, e.i64)))
    r = arith.truncf(e.f, arith.mulf(frac, e.const(pymath.pi / 2 * 2.0**-64, e.f64)))
    return r, q


def _sincos(e, x, cosine: bool):
    r, q = _reduce(e, x)
    if cosine:
        q = arith.addi(q, e.const(1, e.i32))  # cos x = sin(x + pi/2)
    z = e.mul(r, r)
    sr = e.fma(e.mul(r, z), e.poly(z, _SIN_POLY), r)
    cr = e.add(e.fma(e.mul(z, z), e.poly(z, _COS_POLY), e.mul(z, e.const(-0.5))),
               e.const(1.0))
    odd = e.icmp("ne", arith.andi(q, e.const(1, e.i32)), e.const(0, e.i32))
    v = e.sel(odd, cr, sr)
    sign = arith.shli(arith.andi(q, e.const(2, e.i32)), e.const(30, e.i32))
    if not cosine:  # sin is odd
        sign = arith.xori(sign, arith.andi(e.bits(x), e.const(0x80000000, e.i32)))
    return e.flt(arith.xori(e.bits(v), sign))  # NaN for inf and NaN (r is NaN)


def _sin(e, x):
    return _sincos(e, x, False)


def _cos(e, x):
    return _sincos(e, x, True)


def _tanh(e, x):
    a = e.abs(x)
    z = e.mul(x, x)
    small = e.copysign(e.fma(e.mul(x, z), e.poly(z, _TANH_POLY), x), x)  # tanh(-0) = -0
    t = e.sub(e.const(1.0), e.div(e.const(2.0), e.add(_exp(e, e.add(a, a)), e.const(1.0))))
    r = e.sel(e.cmp("olt", a, e.const(0.625)), small, e.copysign(t, x))
    return e.nan_through(x, r)


def _erf(e, x):
    a = e.abs(x)
    z = e.mul(x, x)
    small = e.mul(x, e.poly(z, _ERF_SMALL))
    ac = arith.minimumf(arith.maximumf(a, e.const(1.0)), e.const(4.0))
    tail = e.mul(_exp(e, e.mul(ac, e.neg(ac))), e.poly(e.div(e.const(1.0), ac), _ERF_TAIL))
    big = e.copysign(e.sub(e.const(1.0), tail), x)
    return e.nan_through(x, e.sel(e.cmp("olt", a, e.const(1.0)), small, big))


APPROXIMATIONS = {"math.exp": _exp, "math.log": _log, "math.log1p": _log1p,
                  "math.expm1": _expm1, "math.sin": _sin, "math.cos": _cos,
                  "math.tanh": _tanh, "math.erf": _erf}


def build_function(module, op_name: str, ftype) -> str:
    """Insert `@__mx_<op>_<type>` (private, f32 -> f32) into `module`; returns its name."""
    name = f"__mx_{op_name.split('.')[1]}_{_type_suffix(ftype)}"
    with ir.InsertionPoint.at_block_begin(module.body):
        fn = func.FuncOp(name, ir.FunctionType.get([ftype], [ftype]), visibility="private")
        block = fn.add_entry_block()
        with ir.InsertionPoint(block):
            func.ReturnOp([APPROXIMATIONS[op_name](_Emit(ftype), block.arguments[0])])
    return name


def _type_suffix(t) -> str:
    return str(t).replace("<", "").replace(">", "").replace("x", "_")


def _is_f32(t) -> bool:
    return isinstance(t, ir.F32Type) or (
        isinstance(t, ir.VectorType) and isinstance(t.element_type, ir.F32Type))


INLINE_SITES = 4  # more uses of one op kind and type than this: calls to one function


def math_approx(module, ops=None) -> None:
    """Replace f32 (scalar or vector) math ops by their approximations."""
    wanted = set(APPROXIMATIONS) if ops is None else {f"math.{o}" for o in ops}
    found: dict[tuple, list] = {}

    def visit(op):
        name = op.operation.name
        if name in wanted and _is_f32(op.operation.results[0].type):
            key = (name, str(op.operation.results[0].type))
            found.setdefault(key, []).append(op.operation)
        return ir.WalkResult.ADVANCE

    for fn in functions(module):
        fn.operation.walk(visit)
    with module.context, ir.Location.unknown():
        for (name, _), sites in found.items():
            t = sites[0].results[0].type
            callee = build_function(module, name, t) if len(sites) > INLINE_SITES else None
            for op in sites:
                with ir.InsertionPoint(op), op.location:
                    if callee is None:
                        value = APPROXIMATIONS[name](_Emit(t), op.operands[0])
                    else:
                        value = func.CallOp([t], ir.FlatSymbolRefAttr.get(callee),
                                            [op.operands[0]]).result
                op.results[0].replace_all_uses_with(value)
                op.erase()
