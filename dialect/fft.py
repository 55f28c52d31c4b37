"""`mx.fft`: a discrete Fourier transform along one axis (the frontend composes n-d transforms,
pads or truncates to `n`, and applies `norm`).

The op is the contraction of its operand along `axis` with a DFT matrix whose entries are read
from a table of the n twiddles (computed in float64, rounded once to complex64): O(n^2) per
line, no size restriction; the float32 sums make the error grow with n (about 1e-6 relative
at n = 1024, where NumPy's pocketfft in complex64 has 3e-8). On the CPU, power-of-two lengths
from FAST_MIN (complex transforms, rfft, irfft) take the radix-2 form instead: O(n log n), with
an error that grows with log n (1.3e-7 at 1024, 1.8e-7 at 2^20). `inverse` gives
e^{+2 pi i kj/n}/n; `real` makes it rfft (real input, n//2+1 outputs) or, with `inverse`, irfft
(n//2+1 complex inputs weighted 1, 2, ..., 2, 1 for the Hermitian half; the real part of the
sum). `adjoint` is the conjugate transpose (what the vjp applies: the transform is linear, so
its jvp is itself and its vjp, in MLX's conjugate convention, is its adjoint).
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor
from mlir.dialects import complex as cx

from .core import BOOL, INT, MxError, TensorType, is_complex
from .lowering import PARALLEL, REDUCTION, cast, complex_const
from .op import Op, register
from .shape import move_axis_to_front


def sizes(n: int, inverse: bool, real: bool, adjoint: bool) -> tuple[int, int]:
    """(input length, output length) along the axis."""
    m = n // 2 + 1 if real else n
    io = (m, n) if real and inverse else (n, m)
    return io[::-1] if adjoint else io


def realness(inverse: bool, real: bool, adjoint: bool) -> tuple[bool, bool]:
    """(input is real, output is real)."""
    io = (real and not inverse, real and inverse)
    return io[::-1] if adjoint else io


def matrix(n: int, inverse: bool, real: bool, adjoint: bool) -> np.ndarray:
    """The (input length, output length) complex128 matrix the op contracts with."""
    m_in, m_out = sizes(n, inverse, real, adjoint)
    p, q = np.arange(m_in)[:, None], np.arange(m_out)[None, :]
    k, j = (q, p) if adjoint else (p, q)
    return _entry(n, inverse, real, adjoint, k, j, np)


def _entry(n, inverse, real, adjoint, k, j, lib):
    sign = (1.0 if inverse else -1.0) * (-1.0 if adjoint else 1.0)
    angle = sign * 2 * math.pi / n * ((k * j) % n)
    value = (lib.cos(angle) + 1j * lib.sin(angle)) * (1.0 / n if inverse else 1.0)
    if real and inverse:  # the Hermitian half: interior bins count twice
        value = value * lib.where((k == 0) | (2 * k == n), 1.0, 2.0)
    return value


@register
class FftOp(Op):
    name = "fft"
    attrs = {"axis": INT, "n": INT, "inverse": BOOL, "real": BOOL, "adjoint": BOOL}

    def infer(self, types, axis, n, inverse, real, adjoint):
        (t,) = types
        if not 0 <= axis < t.ndim or n < 1:
            raise MxError(f"'mx.fft' expects 0 <= axis < rank and n >= 1, got axis {axis}, n {n} "
                          f"for {t}")
        m_in, m_out = sizes(n, inverse, real, adjoint)
        in_real, out_real = realness(inverse, real, adjoint)
        want = "float32" if in_real else "complex64"
        if t.dtype != want or t.shape[axis] != m_in:
            raise MxError(f"'mx.fft' expects {want} with {m_in} entries along axis {axis}, "
                          f"got {t}")
        shape = list(t.shape)
        shape[axis] = m_out
        return [TensorType(tuple(shape), "float32" if out_real else "complex64")]

    def reference(self, x, axis, n, inverse, real, adjoint):
        m = matrix(n, inverse, real, adjoint)
        y = np.moveaxis(np.tensordot(x.astype(np.complex128), m, axes=([axis], [0])), -1, axis)
        _, out_real = realness(inverse, real, adjoint)
        return y.real.astype(np.float32) if out_real else y.astype(np.complex64)

    def lower(self, lo, xs, in_types, out_types, axis, n, inverse, real, adjoint):
        (x,), (t,), (out,) = xs, in_types, out_types
        sign = (1.0 if inverse else -1.0) * (-1.0 if adjoint else 1.0)
        if lo.serial_loops and n >= FAST_MIN and n & (n - 1) == 0 and not (real and adjoint):
            return _radix2(lo, x, t, out, axis, n, sign, 1.0 / n if inverse else 1.0)
        rank = out.ndim
        dims = [ir.AffineDimExpr.get(i) for i in range(rank + 1)]
        x_map = ir.AffineMap.get(rank + 1, 0, [dims[rank] if d == axis else dims[d]
                                               for d in range(rank)])
        out_map = ir.AffineMap.get(rank + 1, 0, dims[:rank])
        f32, i64 = ir.F32Type.get(), ir.IntegerType.get_signless(64)
        out_real = not is_complex(out.dtype)
        # the n twiddles e^{sign 2 pi i r/n}, computed in float64 and rounded once: the loop
        # reads entry (k j mod n) (a table lookup instead of cos/sin per term)
        table = _twiddles(lo, n, sign)

        def twiddle():
            p = arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, rank)).result)
            q = arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, axis)).result)
            k, j = (q, p) if adjoint else (p, q)
            r = arith.remsi(arith.muli(k, j), arith.constant(i64, n))
            w = tensor.extract(table, [arith.index_cast(ir.IndexType.get(), r)])
            if not inverse:
                return w
            scale = arith.constant(f32, 1.0 / n)
            if real:  # the Hermitian half: interior bins count twice
                edge = arith.ori(arith.cmpi(_eq(), k, arith.constant(i64, 0)),
                                 arith.cmpi(_eq(), arith.muli(k, arith.constant(i64, 2)),
                                            arith.constant(i64, n)))
                scale = arith.select(edge, scale, arith.constant(f32, 2.0 / n))
            return cx.create_(w.type, arith.mulf(cx.re(w), scale), arith.mulf(cx.im(w), scale))

        def body(v, acc):
            v = cast(v, t.dtype, "complex64")
            term = cx.mul(v, twiddle())
            return arith.addf(acc, cx.re(term)) if out_real else cx.add(acc, term)

        init = lo.fill_value(out, arith.constant(f32, 0.0) if out_real else complex_const(0j))
        return lo.generic([x], [init], [x_map, out_map], [PARALLEL] * rank + [REDUCTION], body)

    def jvp(self, b, primals, tangents, outputs, **attrs):
        return [None if tangents[0] is None else b.fft(tangents[0], **attrs)]

    def vjp(self, b, primals, outputs, cotangents, adjoint, **attrs):
        return [b.fft(cotangents[0], adjoint=not adjoint, **attrs)]

    def batch(self, b, operands, axes, axis, **attrs):
        x = move_axis_to_front(b, operands[0], axes[0])
        return [b.fft(x, axis=axis + 1, **attrs)], [0]


FAST_MIN = 64  # power-of-two lengths from here take the radix-2 form on the CPU


def _twiddles(lo, n: int, sign: float):
    """The n twiddles e^{sign 2 pi i r/n} as a complex64 constant (float64, rounded once)."""
    return lo.constant(TensorType((n,), "complex64"),
                       np.exp(sign * 2j * np.pi * np.arange(n) / n).astype(np.complex64))


def _radix2(lo, x, t: TensorType, out: TensorType, axis: int, n: int, sign: float,
            scale: float):
    """The transform of power-of-two length n in O(n log n): the operand in bit-reversed order,
    then log2(n) butterfly passes (Cooley-Tukey, decimation in time), each a parallel generic
    where element i of a pair combines a[i & ~h] and w a[i | h], w the twiddle of i mod h;
    scaled in the last pass; an rfft keeps the first n/2 + 1 bins; an irfft reads its n/2 + 1
    bins as the Hermitian spectrum (bin n - k is bin k's conjugate) and keeps the real part.
    Rounding grows with log n, not n (65536 points: 2.7 s in the O(n^2) form)."""
    rank = t.ndim
    bits = n.bit_length() - 1
    i64, index = ir.IntegerType.get_signless(64), ir.IndexType.get()
    full = TensorType(tuple(n if d == axis else s for d, s in enumerate(t.shape)), "complex64")
    table = _twiddles(lo, n, sign)
    ident = ir.AffineMap.get_identity(rank)

    def c(v):
        return arith.constant(i64, v)

    def at(pos):
        return [arith.index_cast(index, pos) if d == axis
                else linalg.IndexOp(ir.IntegerAttr.get(i64, d)).result for d in range(rank)]

    def position():
        return arith.index_cast(i64, linalg.IndexOp(ir.IntegerAttr.get(i64, axis)).result)

    hermitian = t.shape[axis] != n  # irfft: n/2 + 1 bins in

    def reversed_order(_o):
        i, r = position(), c(0)
        for b in range(bits):
            bit = arith.andi(arith.shrui(i, c(b)), c(1))
            r = arith.ori(r, arith.shli(bit, c(bits - 1 - b)))
        if not hermitian:
            return cast(tensor.extract(x, at(r)), t.dtype, "complex64")
        mirrored = arith.cmpi(arith.CmpIPredicate.sgt, r, c(n // 2))
        v = tensor.extract(x, at(arith.select(mirrored, arith.subi(c(n), r), r)))
        return arith.select(mirrored, cx.conj(v), v)

    a = lo.generic([], [lo.empty(full)], [ident], [PARALLEL] * rank, reversed_order)
    for stage in range(bits):
        half = 1 << stage

        def butterfly(_o, a=a, half=half, last=stage == bits - 1):
            i = position()
            w = tensor.extract(table, [arith.index_cast(index, arith.muli(
                arith.andi(i, c(half - 1)), c(n // (2 * half))))])
            u = tensor.extract(a, at(arith.andi(i, c(~half))))
            v = cx.mul(tensor.extract(a, at(arith.ori(i, c(half)))), w)
            upper = arith.cmpi(arith.CmpIPredicate.ne, arith.andi(i, c(half)), c(0))
            r = arith.select(upper, cx.sub(u, v), cx.add(u, v))
            if last and not is_complex(out.dtype):  # irfft: the real part
                r = arith.mulf(cx.re(r), arith.constant(ir.F32Type.get(), scale))
            elif last and scale != 1.0:
                k = arith.constant(ir.F32Type.get(), scale)
                r = cx.create_(r.type, arith.mulf(cx.re(r), k), arith.mulf(cx.im(r), k))
            return r

        dest = out if stage == bits - 1 and not is_complex(out.dtype) else full
        a = lo.generic([], [lo.empty(dest)], [ident], [PARALLEL] * rank, butterfly)
    if out.shape[axis] == n:
        return a
    return tensor.extract_slice(lo.ir_type(out), a, [], [], [], [0] * rank, list(out.shape),
                                [1] * rank)


def _eq():
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0)
