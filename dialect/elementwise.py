"""Elementwise ops: unary math, binary arithmetic, comparisons, logic, select.

Operands of a binary op have equal types (the frontend broadcasts and promotes, as MLX's
primitives expect). Each op is a row: NumPy reference, scalar body, derivative.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, math
from mlir.dialects import complex as cx

from .core import MxError, TensorType, is_complex, is_float
from .lowering import PARALLEL, fpred, load
from .op import Op, register
from .shape import align_batch


def _check_float(op: Op, t: TensorType) -> None:
    if is_complex(t.dtype):
        _check_complex(op, t)
    elif not is_float(t.dtype):
        raise MxError(f"'mx.{op.name}' expects a floating-point operand, got {t}",
                      exc_type=TypeError)


def _check_complex(op: Op, t: TensorType) -> None:
    """complex64 operands: the ops MLX refuses raise MLX's error; `complex_ok` ops take them."""
    if op.complex_ok:
        return
    if op.name in _MLX_REFUSES_COMPLEX:
        raise MxError(_MLX_REFUSES_COMPLEX[op.name].format(op.name), exc_type=ValueError)
    raise MxError(f"[{op.name}] complex64 operands are not supported by mxir yet (MLX takes "
                  f"them)", exc_type=NotImplementedError)


_NOT_SUPPORTED = "[{}] Not supported for complex64."
_MLX_REFUSES_COMPLEX = {
    **{n: _NOT_SUPPORTED for n in ("expm1", "sigmoid", "erf", "erfinv", "floor", "ceil",
                                   "arctan2")},
    "remainder": "[{}] Complex type not supported.",
}


def conj(b, x):
    """The complex conjugate of an mx value; a real value as it is. Reverse mode multiplies a
    cotangent by the conjugate of a holomorphic op's derivative (MLX's convention: the vjp of
    x*x at x is ct * conj(2x))."""
    return b.conjugate(x) if is_complex(b.type(x).dtype) else x


class _Zero:
    """The derivative of an op that is zero wherever it exists (floor, sign, comparisons,
    integer ops): cotangents and tangents stop there, as in MLX."""

    def __repr__(self) -> str:
        return "ZERO"


ZERO = _Zero()


class Unary(Op):
    arity = 1
    dynamic = True
    float_only = True  # integer inputs are promoted to float32 by the frontend, as MLX
    bool_ok = False
    complex_ok = False  # complex64 operands (its scalar body then sees `s.complex`)
    np_fn = None
    scalar = None  # (s: Scalar, x) -> scalar value
    # d(b, x, y) -> dy/dx as an mx value (emitted with the builder), or ZERO; None: no rule,
    # so the op has no vjp/jvp (a transform reports that with the op's location)
    deriv = None

    def infer(self, types):
        (t,) = types
        if is_complex(t.dtype):
            _check_complex(self, t)
        elif self.float_only:
            _check_float(self, t)
        elif t.dtype == "bool" and not self.bool_ok:
            raise MxError(f"'mx.{self.name}' does not accept bool operands", exc_type=TypeError)
        return [t]

    def reference(self, x):
        return type(self).np_fn(x)

    def lower(self, lo, xs, in_types, out_types):
        return lo.elementwise(out_types[0], xs, in_types, type(self).scalar)

    @property
    def vjp(self):
        return None if type(self).deriv is None else self._vjp

    @property
    def jvp(self):
        return None if type(self).deriv is None else self._jvp

    def _vjp(self, b, primals, outputs, cotangents):
        (x,), (y,), (ct,) = primals, outputs, cotangents
        if type(self).deriv is ZERO:
            return [None]
        return [b.multiply(ct, conj(b, type(self).deriv(b, x, y)))]

    def _jvp(self, b, primals, tangents, outputs):
        (x,), (y,), (t,) = primals, outputs, tangents
        if type(self).deriv is ZERO or t is None:
            return [None]
        return [b.multiply(t, type(self).deriv(b, x, y))]

    def batch(self, b, operands, axes):
        return [b.emit(self.name, operands)], [axes[0]]


def unary(name, np_fn, scalar, deriv, float_only=True, bool_ok=False, complex_ok=False):
    cls = type(f"{name.title()}Op", (Unary,), {
        "name": name, "np_fn": staticmethod(np_fn), "scalar": staticmethod(scalar),
        "deriv": deriv if deriv in (None, ZERO) else staticmethod(deriv),
        "float_only": float_only, "bool_ok": bool_ok, "complex_ok": complex_ok})
    register(cls)
    return cls


def _math(fn, complex_fn=None):
    """A scalar body calling `fn` (math dialect), or `complex_fn` on complex64 values."""
    return lambda s, x: complex_fn(x) if s.complex else fn(x)


def _complex_log_base(base):
    return lambda x: _scale(cx.log(x), 1.0 / np.log(base))


def _scale(x, v: float):
    """x * v for a real v, part by part: a complex product by (v + 0i) would turn an infinite
    part's 0 * inf into NaN (log(0) / log(2) must stay -inf + 0i, as MLX)."""
    c = arith.constant(ir.F32Type.get(), v)
    return cx.create_(x.type, arith.mulf(cx.re(x), c), arith.mulf(cx.im(x), c))


def _complex_log1p(x):
    """MLIR's complex.log1p gives 0 at z = -1, where log(1 + z) is -inf + 0i."""
    f32 = ir.F32Type.get()
    pole = arith.andi(arith.cmpf(fpred("oeq"), cx.re(x), arith.constant(f32, -1.0)),
                      arith.cmpf(fpred("oeq"), cx.im(x), arith.constant(f32, 0.0)))
    return arith.select(pole, cx.log(_plus_real(x, 1.0)), cx.log1p(x))


def _complex_const(v):
    from .lowering import complex_const

    return complex_const(v)


def _times_i(x, sign: float = 1.0):
    """x * (sign i) with the zeros' signs kept exact (they pick the side of a branch cut):
    (a + bi) i = -b + ai."""
    re, im = cx.re(x), cx.im(x)
    if sign > 0:
        return cx.create_(x.type, arith.negf(im), re)
    return cx.create_(x.type, im, arith.negf(re))


def _plus_real(x, v: float):
    """x + v for a real v, on the real part only: as C++'s complex + double, so the sign of a
    zero imaginary part (the side of a branch cut) survives (-0.0 + 0.0 would be +0.0)."""
    return cx.create_(x.type, arith.addf(cx.re(x), arith.constant(ir.F32Type.get(), v)),
                      cx.im(x))


def _complex_asinh(x):
    """log(z + sqrt(z^2 + 1)) on the half-plane with a non-negative real part (by its sign
    bit: no cancellation), odd symmetry for the other half."""
    f32 = ir.F32Type.get()
    neg = arith.cmpf(fpred("olt"), math.copysign(arith.constant(f32, 1.0), cx.re(x)),
                     arith.constant(f32, 0.0))
    z = arith.select(neg, cx.neg(x), x)
    r = cx.log(cx.add(z, cx.sqrt(_plus_real(cx.mul(z, z), 1.0))))
    return arith.select(neg, cx.neg(r), r)


def _complex_atanh(x):
    return _scale(cx.sub(_complex_log1p(x), _complex_log1p(cx.neg(x))), 0.5)


def _complex_asin(x):  # -i asinh(i z)
    return _times_i(_complex_asinh(_times_i(x)), -1.0)


def _complex_acos(x):
    return cx.sub(_complex_const(complex(np.pi / 2)), _complex_asin(x))


def _complex_atan(x):  # -i atanh(i z)
    return _times_i(_complex_atanh(_times_i(x)), -1.0)


def _complex_acosh(x):
    """2 log(sqrt((z + 1)/2) + sqrt((z - 1)/2)): the principal branch, with no product of
    the square roots (whose zero signs decide the side of the cut at z < -1)."""
    f32 = ir.F32Type.get()

    def half(z):
        h = arith.constant(f32, 0.5)
        return cx.create_(z.type, arith.mulf(cx.re(z), h), arith.mulf(cx.im(z), h))

    r = cx.log(cx.add(cx.sqrt(half(_plus_real(x, 1.0))), cx.sqrt(half(_plus_real(x, -1.0)))))
    return cx.create_(x.type, arith.mulf(cx.re(r), arith.constant(f32, 2.0)),
                      arith.mulf(cx.im(r), arith.constant(f32, 2.0)))


def _acosh_deriv(b, x, y):
    """1 / sqrt(x^2 - 1); on complex values 1 / (sqrt(x - 1) sqrt(x + 1)), which is the
    derivative of the principal branch where Re x < 0 too."""
    if not is_complex(b.type(x).dtype):
        return b.rsqrt(b.subtract(b.square(x), _c(b, x, 1)))
    one = _c(b, x, 1)
    return b.multiply(b.rsqrt(b.subtract(x, one)), b.rsqrt(b.add(x, one)))


def _complex_sinh_cosh(sign):
    """(exp(z) + sign exp(-z)) / 2: the complex dialect has no sinh/cosh."""
    def fn(x):
        e, f = cx.exp(x), cx.exp(cx.neg(x))
        return cx.mul(cx.add(e, f) if sign > 0 else cx.sub(e, f), _complex_const(0.5 + 0j))
    return fn


def _c(b, like, v):
    return b.full_like(like, v)


def _erfinv_np(x):
    x = np.asarray(x)
    y = _erfinv_poly(np.asarray(x, np.float64))
    with np.errstate(invalid="ignore", over="ignore"):  # +-1: inf, replaced below
        for _ in range(3):  # Newton on erf(y) = x: the reference exact to float64 rounding
            err = _np_erf(y) - x
            y = y - err / (2 / np.sqrt(np.pi) * np.exp(-y * y))
        return np.where(np.abs(x) == 1, np.copysign(np.inf, x), y).astype(x.dtype)


def _np_erf(x):
    import math as m

    return np.vectorize(m.erf, otypes=[np.float64])(x)


def _erfinv_poly(x):
    """The same approximation as the lowering, in float64 (Newton above makes it exact)."""
    t = np.log(np.maximum(1.0 - x * x, 1e-300))
    return np.where(np.abs(t) > _ERFINV_SPLIT, np.polyval(_ERFINV_TAIL, t),
                    np.polyval(_ERFINV_CORE, t)) * x


# MLX's single-precision erfinv (its CPU kernel's coefficients, so float32 results agree bit
# for bit): x * p(t), t = log(1 - x^2), one polynomial for |t| > 6.125 and one below
_ERFINV_SPLIT = 6.125
_ERFINV_TAIL = [3.03697567e-10, 2.93243101e-8, 1.22150334e-6, 2.84108955e-5, 3.93552968e-4,
                3.02698812e-3, 4.83185798e-3, -2.64646143e-1, 8.40016484e-1]
_ERFINV_CORE = [5.43877832e-9, 1.43285448e-7, 1.22774793e-6, 1.12963626e-7, -5.61530760e-5,
                -1.47697632e-4, 2.31468678e-3, 1.15392581e-2, -2.32015476e-1, 8.86226892e-1]


def _erfinv_scalar(s, x):
    f32 = ir.F32Type.get()
    a = x if s.dtype == "float32" else arith.truncf(f32, x) if s.dtype == "float64" else \
        arith.extf(f32, x)  # in float32, as MLX (float64 is refined below)
    t = math.log(math.fma(a, arith.negf(a), arith.constant(f32, 1.0)))

    def horner(coeffs):
        acc = arith.constant(f32, coeffs[0])
        for c in coeffs[1:]:
            acc = math.fma(acc, t, arith.constant(f32, c))
        return acc

    tail = arith.cmpf(fpred("ogt"), math.absf(t), arith.constant(f32, _ERFINV_SPLIT))
    y = arith.mulf(a, arith.select(tail, horner(_ERFINV_TAIL), horner(_ERFINV_CORE)))
    if s.dtype != "float64":
        return y if s.dtype == "float32" else arith.truncf(x.type, y)
    y = arith.extf(x.type, y)
    for _ in range(2):  # float64: Newton on erf(y) = x from the single-precision start
        slope = arith.mulf(s.const(2 / np.sqrt(np.pi)), math.exp(arith.negf(arith.mulf(y, y))))
        y = arith.subf(y, arith.divf(arith.subf(math.erf(y), x), slope))
    # erfinv(+-1) = +-inf (Newton from inf would give NaN)
    edge = arith.cmpf(fpred("oeq"), math.absf(x), s.const(1.0))
    return arith.select(edge, math.copysign(s.const(float("inf")), x), y)


def _sign_scalar(s, x):
    if s.complex:  # z / |z|, 0 at 0
        return cx.sign(x)
    zero, one = s.const(0), s.const(1)
    if s.dtype == "bool":
        return x
    pos = s.select(s.cmp("gt", x, zero), one, zero)
    if s.unsigned:
        return pos
    neg = s.select(s.cmp("lt", x, zero), s.const(-1), zero)
    r = s.add(pos, neg)
    if s.float:  # sign(nan) = nan
        return s.select(arith.cmpf(fpred("uno"), x, x), x, r)
    return r


def _sigmoid_scalar(s, x):
    """MLX's: y = 1 / (1 + exp(|x|)), then y for x < 0 and 1 - y otherwise."""
    one = s.const(1.0)
    y = arith.divf(one, arith.addf(one, math.exp(math.absf(x))))
    return arith.select(arith.cmpf(fpred("olt"), x, s.const(0.0)), y, arith.subf(one, y))


def _abs_scalar(s, x):
    if s.complex:
        return cx.abs(x)
    if s.float:
        return math.absf(x)
    return x if s.unsigned else math.absi(x)


def _square_scalar(s, x):
    return s.mul(x, x)


def _np_sigmoid(x):
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


def is_float_np(x) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)


# name, NumPy, scalar body, derivative d(b, x, y)
@register
class AbsOp(Unary):
    """|x|; of a complex64 value, its float32 modulus. The complex rules are MLX's: the vjp of
    a real cotangent c is c x/|x|, the jvp of t is Re(conj(x) t)/|x|."""

    name = "abs"
    float_only = False
    bool_ok = True
    complex_ok = True
    np_fn = staticmethod(np.abs)
    scalar = staticmethod(_abs_scalar)
    deriv = staticmethod(lambda b, x, y: b.sign(x))

    def infer(self, types):
        (t,) = super().infer(types)
        return [t.with_dtype("float32") if is_complex(t.dtype) else t]

    def _vjp(self, b, primals, outputs, cotangents):
        (x,), (ct,) = primals, cotangents
        if not is_complex(b.type(x).dtype):
            return super()._vjp(b, primals, outputs, cotangents)
        return [b.multiply(b.astype(ct, dtype="complex64"), b.sign(x))]

    def _jvp(self, b, primals, tangents, outputs):
        (x,), (t,) = primals, tangents
        if t is None or not is_complex(b.type(x).dtype):
            return super()._jvp(b, primals, tangents, outputs)
        return [b.real(b.multiply(b.conjugate(b.sign(x)), t))]


class _ComplexPart(Unary):
    """real, imag, conjugate: ops on complex64 operands (the frontend answers real ones)."""

    float_only = False
    complex_ok = True
    to_real = True

    def infer(self, types):
        (t,) = types
        if not is_complex(t.dtype):
            raise MxError(f"'mx.{self.name}' expects a complex64 operand, got {t}",
                          exc_type=TypeError)
        return [t.with_dtype("float32") if self.to_real else t]

    def batch(self, b, operands, axes):
        return [b.emit(self.name, operands)], [axes[0]]


@register
class RealOp(_ComplexPart):
    name = "real"
    np_fn = staticmethod(lambda x: np.real(x).astype(np.float32))
    scalar = staticmethod(lambda s, x: cx.re(x))

    def vjp(self, b, primals, outputs, cotangents):  # MLX: c -> c + 0j
        return [b.astype(cotangents[0], dtype="complex64")]

    def jvp(self, b, primals, tangents, outputs):
        return [None if tangents[0] is None else b.real(tangents[0])]


@register
class ImagOp(_ComplexPart):
    name = "imag"
    np_fn = staticmethod(lambda x: np.imag(x).astype(np.float32))
    scalar = staticmethod(lambda s, x: cx.im(x))

    def vjp(self, b, primals, outputs, cotangents):  # MLX: c -> 0 + cj
        ct = b.astype(cotangents[0], dtype="complex64")
        return [b.multiply(ct, b.full_like(ct, 1j))]

    def jvp(self, b, primals, tangents, outputs):
        return [None if tangents[0] is None else b.imag(tangents[0])]


@register
class ConjugateOp(_ComplexPart):
    name = "conjugate"
    to_real = False
    np_fn = staticmethod(np.conjugate)
    scalar = staticmethod(lambda s, x: cx.conj(x))

    def vjp(self, b, primals, outputs, cotangents):
        return [b.conjugate(cotangents[0])]

    def jvp(self, b, primals, tangents, outputs):
        return [None if tangents[0] is None else b.conjugate(tangents[0])]


unary("negative", np.negative, lambda s, x: s.neg(x), lambda b, x, y: _c(b, x, -1),
      float_only=False, complex_ok=True)
unary("sign", lambda x: x if x.dtype == np.bool_ else np.sign(x), _sign_scalar, ZERO,
      float_only=False, bool_ok=True, complex_ok=True)
unary("exp", np.exp, _math(math.exp, cx.exp), lambda b, x, y: y, complex_ok=True)
unary("expm1", np.expm1, _math(math.expm1), lambda b, x, y: b.add(y, _c(b, y, 1)))
unary("log", np.log, _math(math.log, cx.log), lambda b, x, y: b.reciprocal(x), complex_ok=True)
unary("log1p", np.log1p, _math(math.log1p, _complex_log1p),
      lambda b, x, y: b.reciprocal(b.add(x, _c(b, x, 1))), complex_ok=True)
unary("log2", np.log2, _math(math.log2, _complex_log_base(2.0)),
      lambda b, x, y: b.reciprocal(b.multiply(x, _c(b, x, np.log(2.0)))), complex_ok=True)
unary("log10", np.log10, _math(math.log10, _complex_log_base(10.0)),
      lambda b, x, y: b.reciprocal(b.multiply(x, _c(b, x, np.log(10.0)))), complex_ok=True)
unary("sin", np.sin, _math(math.sin, cx.sin), lambda b, x, y: b.cos(x), complex_ok=True)
unary("cos", np.cos, _math(math.cos, cx.cos), lambda b, x, y: b.negative(b.sin(x)),
      complex_ok=True)
unary("tan", np.tan, _math(math.tan, cx.tan), lambda b, x, y: b.add(_c(b, y, 1), b.square(y)),
      complex_ok=True)
unary("arcsin", np.arcsin, _math(math.asin, _complex_asin),
      lambda b, x, y: b.rsqrt(b.subtract(_c(b, x, 1), b.square(x))), complex_ok=True)
unary("arccos", np.arccos, _math(math.acos, _complex_acos),
      lambda b, x, y: b.negative(b.rsqrt(b.subtract(_c(b, x, 1), b.square(x)))),
      complex_ok=True)
unary("arctan", np.arctan, _math(math.atan, _complex_atan),
      lambda b, x, y: b.reciprocal(b.add(_c(b, x, 1), b.square(x))), complex_ok=True)
unary("sinh", np.sinh, _math(math.sinh, _complex_sinh_cosh(-1)), lambda b, x, y: b.cosh(x),
      complex_ok=True)
unary("cosh", np.cosh, _math(math.cosh, _complex_sinh_cosh(1)), lambda b, x, y: b.sinh(x),
      complex_ok=True)
unary("tanh", np.tanh, _math(math.tanh, cx.tanh),
      lambda b, x, y: b.subtract(_c(b, y, 1), b.square(y)), complex_ok=True)
unary("arcsinh", np.arcsinh, _math(math.asinh, _complex_asinh),
      lambda b, x, y: b.rsqrt(b.add(b.square(x), _c(b, x, 1))), complex_ok=True)
unary("arccosh", np.arccosh, _math(math.acosh, _complex_acosh), _acosh_deriv,
      complex_ok=True)
unary("arctanh", np.arctanh, _math(math.atanh, _complex_atanh),
      lambda b, x, y: b.reciprocal(b.subtract(_c(b, x, 1), b.square(x))), complex_ok=True)
unary("sigmoid", _np_sigmoid, _sigmoid_scalar,
      lambda b, x, y: b.multiply(y, b.subtract(_c(b, y, 1), y)))
unary("erf", lambda x: _np_erf(x).astype(x.dtype), _math(math.erf),
      lambda b, x, y: b.multiply(_c(b, x, 2 / np.sqrt(np.pi)), b.exp(b.negative(b.square(x)))))
unary("erfinv", _erfinv_np, _erfinv_scalar,
      lambda b, x, y: b.multiply(_c(b, y, np.sqrt(np.pi) / 2), b.exp(b.square(y))))
unary("sqrt", np.sqrt, _math(math.sqrt, cx.sqrt),
      lambda b, x, y: b.divide(_c(b, y, 0.5), y), complex_ok=True)
unary("rsqrt", lambda x: (1 / np.sqrt(x)).astype(x.dtype), _math(math.rsqrt, cx.rsqrt),
      lambda b, x, y: b.multiply(_c(b, y, -0.5), b.divide(y, x)), complex_ok=True)
unary("square", lambda x: x if x.dtype == np.bool_ else np.square(x), _square_scalar,
      lambda b, x, y: b.multiply(_c(b, x, 2), x), float_only=False, bool_ok=True,
      complex_ok=True)
unary("reciprocal", lambda x: (1 / x).astype(x.dtype), lambda s, x: s.div(s.const(1.0), x),
      lambda b, x, y: b.negative(b.square(y)), complex_ok=True)
def _rounding(np_fn, fn):
    """(NumPy, scalar body) of floor/ceil/round: integers and bools pass through unchanged,
    keeping their dtype, as in MLX."""
    return (lambda x: np_fn(x) if is_float_np(x) else x,
            lambda s, x: fn(x) if s.float else x)


unary("floor", *_rounding(np.floor, math.floor), ZERO, float_only=False, bool_ok=True)
unary("ceil", *_rounding(np.ceil, math.ceil), ZERO, float_only=False, bool_ok=True)
def _round_scalar(s, x):
    if s.complex:  # each part
        return cx.create_(s.type, math.roundeven(cx.re(x)), math.roundeven(cx.im(x)))
    return math.roundeven(x) if s.float else x


unary("round", lambda x: np.round(x) if np.iscomplexobj(x) or is_float_np(x) else x,
      _round_scalar, ZERO, float_only=False, bool_ok=True,
      complex_ok=True)  # half to even, as NumPy and MLX


@register
class StopGradientOp(Unary):
    """Identity whose derivative is zero (blocks cotangents and tangents)."""

    name = "stop_gradient"
    float_only = False
    bool_ok = True
    complex_ok = True
    np_fn = staticmethod(lambda x: x)
    deriv = ZERO

    def lower(self, lo, xs, in_types, out_types):
        return xs[0]


@register
class LogicalNotOp(Unary):
    name = "logical_not"
    np_fn = staticmethod(np.logical_not)
    deriv = ZERO
    scalar = staticmethod(lambda s, x: arith.xori(x, s.const(True)))

    def infer(self, types):
        (t,) = types
        if t.dtype != "bool":
            raise MxError(f"'mx.logical_not' expects a bool operand, got {t}", exc_type=TypeError)
        return [t]


# ---------------------------------------------------------------------------------------------
class Binary(Op):
    arity = 2
    dynamic = True
    float_only = False
    bool_ok = True
    complex_ok = False
    result_bool = False  # comparisons
    np_fn = None
    scalar = None  # (s, x, y) -> scalar
    # partials(b, x, y, out) -> (d out/dx, d out/dy), None entries = zero; or ZERO; None: no
    # rule, so the op has no vjp/jvp (a transform reports that with the op's location)
    partials = None

    def infer(self, types):
        a, c = types
        if a != c:
            raise MxError(f"'mx.{self.name}' expects operands of equal type, got {a} and {c}")
        if is_complex(a.dtype):
            _check_complex(self, a)
        elif self.float_only:
            _check_float(self, a)
        if not self.bool_ok and a.dtype == "bool":
            raise MxError(f"'mx.{self.name}' does not accept bool operands", exc_type=TypeError)
        return [a.with_dtype("bool") if self.result_bool else a]

    def reference(self, x, y):
        r = type(self).np_fn(x, y)
        return r if self.result_bool else np.asarray(r).astype(x.dtype)

    def lower(self, lo, xs, in_types, out_types):
        return lo.elementwise(out_types[0], xs, in_types, type(self).scalar)

    @property
    def vjp(self):
        return None if type(self).partials is None else self._vjp

    @property
    def jvp(self):
        return None if type(self).partials is None else self._jvp

    def _vjp(self, b, primals, outputs, cotangents):
        (x, y), (out,), (ct,) = primals, outputs, cotangents
        if type(self).partials is ZERO:
            return [None, None]
        return [None if d is None else b.multiply(ct, conj(b, d))
                for d in type(self).partials(b, x, y, out)]

    def _jvp(self, b, primals, tangents, outputs):
        (x, y), (out,) = primals, outputs
        if type(self).partials is ZERO:
            return [None]
        terms = [b.multiply(t, d) for t, d in zip(tangents, type(self).partials(b, x, y, out))
                 if t is not None and d is not None]
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else b.add(terms[0], terms[1])]

    def batch(self, b, operands, axes):
        return [b.emit(self.name, align_batch(b, operands, axes))], [0]

    # (index of the operand that may be dropped, the unit value there); a float zero's sign
    # counts: x + (-0.0) is x for every x, but x + (+0.0) is +0.0 for x = -0.0
    identities = ()

    def simplify(self, b, operands, out_types):
        signed_zero = is_float(out_types[0].dtype)
        for drop, unit in self.identities:
            keep, v = operands[1 - drop], b.splat(operands[drop])
            if (keep.type == operands[drop].type and v is not None and v == unit
                    and not (signed_zero and np.signbit(v) != np.signbit(unit))):
                return [keep]
        return None


def binary(name, np_fn, scalar, partials, float_only=False, bool_ok=True, result_bool=False,
           identities=(), complex_ok=False):
    cls = type(f"{name.title()}Op", (Binary,), {
        "name": name, "np_fn": staticmethod(np_fn), "scalar": staticmethod(scalar),
        "partials": partials if partials in (None, ZERO) else staticmethod(partials),
        "float_only": float_only, "complex_ok": complex_ok,
        "bool_ok": bool_ok, "result_bool": result_bool, "identities": identities})
    register(cls)
    return cls


def _py_remainder_scalar(s, x, y):
    if s.float:
        r = arith.remf(x, y)
        fix = arith.andi(s.cmp("ne", r, s.const(0)),
                         arith.xori(s.cmp("lt", r, s.const(0)), s.cmp("lt", y, s.const(0))))
        return s.select(fix, arith.addf(r, y), r)
    if s.unsigned:
        return arith.remui(x, y)
    r = arith.remsi(x, y)
    fix = arith.andi(s.cmp("ne", r, s.const(0)),
                     arith.xori(s.cmp("lt", r, s.const(0)), s.cmp("lt", y, s.const(0))))
    return s.select(fix, arith.addi(r, y), r)


def _floor_divide_scalar(s, x, y):
    if s.float:
        return math.floor(arith.divf(x, y))
    return arith.divui(x, y) if s.unsigned else arith.floordivsi(x, y)


def _power_scalar(s, x, y):
    if s.complex:
        return cx.pow(x, y)
    if s.float:
        return math.powf(x, y)
    width = ir.IntegerType(s.type).width
    if s.unsigned and width < 64:
        # ipowi reads the exponent as signed (2**31 would be negative): widen, then wrap back
        i64 = ir.IntegerType.get_signless(64)
        r = math.ipowi(arith.extui(i64, x), arith.extui(i64, y))
        return arith.trunci(s.type, r)
    if s.unsigned:
        return math.ipowi(x, y)
    # MLX: a negative integer exponent gives 0 (ipowi gives 1 / x**-y rounded: 1 for x = 1)
    return arith.select(s.cmp("lt", y, s.const(0)), s.const(0), math.ipowi(x, y))


def _logaddexp_scalar(s, x, y):
    if s.complex:  # MLX's formula on the lexicographic max and min
        from .lowering import complex_const

        big, small = s.max(x, y), s.min(x, y)
        r = cx.add(big, cx.log1p(cx.exp(cx.sub(small, big))))
        edge = arith.ori(cx.eq(small, complex_const(complex(-np.inf, 0))),
                         cx.eq(big, complex_const(complex(np.inf, 0))))
        return s.select(edge, big, r)
    big = arith.maximumf(x, y)
    small = arith.minimumf(x, y)
    r = arith.addf(big, math.log1p(math.exp(arith.subf(small, big))))
    # an infinite max is the answer itself (inf - inf would give nan)
    infinite = arith.cmpf(fpred("oeq"), math.absf(big), s.const(float("inf")))
    return s.select(infinite, big, r)


def _np_logaddexp(x, y):
    if np.iscomplexobj(x):  # NumPy's has no complex loop: MLX's formula
        big, small = np.maximum(x, y), np.minimum(x, y)
        with np.errstate(invalid="ignore", over="ignore"):
            r = big + np.log1p(np.exp(small - big))
        return np.where((small == -np.inf) | (big == np.inf), big, r).astype(x.dtype)
    return np.logaddexp(x, y)


def _np_floor_divide(x, y):
    if is_float_np(x):
        return np.floor(x / y)
    with np.errstate(divide="ignore"):
        return np.floor_divide(x, y)


def _np_extremum(real_fn, wins):
    """NumPy's maximum/minimum; on complex values MLX's rule (a NaN first operand, else the
    lexicographic winner: NumPy's complex comparisons are lexicographic too)."""
    def fn(x, y):
        if not np.iscomplexobj(x):
            return real_fn(x, y)
        return np.where(np.isnan(x) | wins(x, y), x, y)
    return fn


def _np_power(x, y):
    if is_float_np(x):
        return np.power(x, y)
    y = y.astype(x.dtype)
    if np.issubdtype(x.dtype, np.signedinteger):  # MLX: a negative integer exponent gives 0
        neg = y < 0
        return np.where(neg, 0, np.power(x, np.where(neg, 0, y))).astype(x.dtype)
    return np.power(x, y)


def _power_exponent_partial(b, x, o):
    """d x**y / dy = x**y log x; integers take the log in float32 and round back (as MLX)."""
    dtype = b.type(x).dtype
    if is_float(dtype) or is_complex(dtype):
        return b.multiply(o, b.log(x))
    xf, of = b.astype(x, dtype="float32"), b.astype(o, dtype="float32")
    return b.astype(b.multiply(of, b.log(xf)), dtype=dtype)


# a tie sends the whole gradient to the second operand, as MLX
def _max_partials(b, x, y, out):
    mask = b.astype(b.greater(x, y), dtype=b.type(x).dtype)
    return mask, b.subtract(b.ones_like(x), mask)


def _min_partials(b, x, y, out):
    mask = b.astype(b.less(x, y), dtype=b.type(x).dtype)
    return mask, b.subtract(b.ones_like(x), mask)


def _power_partials(b, x, y, out):
    """d/dx = y x^(y-1); d/dy = x^y log x, taken as 0 where x^y is 0 (0 * log 0 would be NaN:
    `(x - y) ** x` at x = y has gradient 1, as in MLX)."""
    dx = b.multiply(y, b.power(x, b.subtract(y, b.ones_like(y))))
    zero = b.zeros_like(out)
    return dx, b.select(b.equal(out, zero), zero, _power_exponent_partial(b, x, out))


binary("add", np.add, lambda s, x, y: s.add(x, y) if s.dtype != "bool" else arith.ori(x, y),
       lambda b, x, y, o: (b.ones_like(x), b.ones_like(y)), identities=((0, -0.0), (1, -0.0)),
       complex_ok=True)
binary("subtract", np.subtract, lambda s, x, y: s.sub(x, y),
       lambda b, x, y, o: (b.ones_like(x), b.full_like(y, -1)), bool_ok=False,
       identities=((1, 0.0),), complex_ok=True)
binary("multiply", np.multiply,
       lambda s, x, y: s.mul(x, y) if s.dtype != "bool" else arith.andi(x, y),
       lambda b, x, y, o: (y, x), identities=((0, 1), (1, 1)), complex_ok=True)
binary("divide", np.divide, lambda s, x, y: s.div(x, y),
       lambda b, x, y, o: (b.reciprocal(y), b.negative(b.divide(o, y))), float_only=True,
       identities=((1, 1),), complex_ok=True)
binary("power", _np_power, _power_scalar, _power_partials, bool_ok=False, complex_ok=True)
binary("maximum", _np_extremum(np.maximum, np.greater), lambda s, x, y: s.max(x, y),
       _max_partials, complex_ok=True)
binary("minimum", _np_extremum(np.minimum, np.less), lambda s, x, y: s.min(x, y),
       _min_partials, complex_ok=True)
binary("remainder", lambda x, y: np.remainder(x, y), _py_remainder_scalar,
       lambda b, x, y, o: (b.ones_like(x), b.negative(b.floor_divide(x, y))), bool_ok=False)
binary("floor_divide", _np_floor_divide, _floor_divide_scalar, ZERO, bool_ok=False)
binary("arctan2", np.arctan2, lambda s, x, y: math.atan2(x, y),
       lambda b, x, y, o: (b.divide(y, b.add(b.square(x), b.square(y))),
                           b.divide(b.negative(x), b.add(b.square(x), b.square(y)))),
       float_only=True)
binary("logaddexp", _np_logaddexp, _logaddexp_scalar,
       lambda b, x, y, o: (b.exp(b.subtract(x, o)), b.exp(b.subtract(y, o))), float_only=True,
       complex_ok=True)

for _name, _np, _pred in [("equal", np.equal, "eq"), ("not_equal", np.not_equal, "ne"),
                          ("less", np.less, "lt"), ("less_equal", np.less_equal, "le"),
                          ("greater", np.greater, "gt"), ("greater_equal", np.greater_equal, "ge")]:
    binary(_name, _np, (lambda p: lambda s, x, y: s.cmp(p, x, y))(_pred), ZERO,
           result_bool=True, complex_ok=True)  # complex: lexicographic, as MLX


class _LogicalBinary(Binary):
    partials = ZERO
    def infer(self, types):
        a, c = types
        if a != c or a.dtype != "bool":
            raise MxError(f"'mx.{self.name}' expects two bool operands of equal shape, "
                          f"got {a} and {c}", exc_type=TypeError)
        return [a]


@register
class LogicalAndOp(_LogicalBinary):
    name = "logical_and"
    np_fn = staticmethod(np.logical_and)
    scalar = staticmethod(lambda s, x, y: arith.andi(x, y))


@register
class LogicalOrOp(_LogicalBinary):
    name = "logical_or"
    np_fn = staticmethod(np.logical_or)
    scalar = staticmethod(lambda s, x, y: arith.ori(x, y))


@register
class SelectOp(Op):
    """`where(cond, x, y)`: cond is bool, x and y share a type, all three the same shape."""

    name = "select"
    arity = 3
    dynamic = True

    def infer(self, types):
        c, x, y = types
        if c.dtype != "bool" or c.shape != x.shape or x != y:
            raise MxError(f"'mx.select' expects (bool, T, T) of one shape, got {c}, {x}, {y}")
        return [x]

    def reference(self, c, x, y):
        return np.where(c, x, y)

    def lower(self, lo, xs, in_types, out_types):
        rank = out_types[0].ndim  # a plain generic: no dtype promotion needed to pick
        ident = ir.AffineMap.get_identity(rank)
        out = lo.empty(out_types[0], lo.common_dims(xs, in_types))
        return lo.generic(xs, [out], [ident] * 4, [PARALLEL] * rank,
                          lambda c, x, y, _o: arith.select(load(c, "bool"), x, y))

    def vjp(self, b, primals, outputs, cotangents):
        c, x, y = primals
        (ct,) = cotangents
        zero = b.zeros_like(ct)
        return [None, b.select(c, ct, zero), b.select(c, zero, ct)]

    def jvp(self, b, primals, tangents, outputs):
        c, x, y = primals
        _, tx, ty = tangents
        if tx is None and ty is None:
            return [None]
        tx = tx if tx is not None else b.zeros_like(x)
        ty = ty if ty is not None else b.zeros_like(y)
        return [b.select(c, tx, ty)]

    def batch(self, b, operands, axes):
        return [b.select(*align_batch(b, operands, axes))], [0]
