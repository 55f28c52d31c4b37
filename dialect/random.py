"""Random bits: a counter-based generator (threefry-2x32, 20 rounds), as in MLX and JAX.

`mx.random_bits(key)` maps a key of shape (..., 2) (uint32) to bits of shape (..., *shape).
Each key owns a stream of 32-bit words, laid out as MLX lays them out, so a key gives the same
bits as in MLX: with `n` words per key and `h = n // 2`, word `i < h` is the first half of
`threefry(key, (i, i + ceil(n / 2)))`, word `i >= ceil(n / 2)` the second half of
`threefry(key, (i - ceil(n / 2), i))`, and for odd `n` word `h` is the first half of
`threefry(key, (h, 0))`. Widths 1 and 2 (uint8, uint16) read that word stream as little-endian
pieces.
Every output element is computed independently of the others (one hash per element), so the
lowering is a plain parallel linalg.generic.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg

from .core import INT, INTS, MxError, TensorType
from .lowering import PARALLEL, ipred
from .op import Op, register

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KS_PARITY = 0x1BD11BDA
WIDTH_DTYPES = {4: "uint32", 2: "uint16", 1: "uint8"}


def _shape_str(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def words_per_key(n_elements: int, width: int) -> int:
    return (n_elements * width + 3) // 4


# ---------------------------------------------------------------------------------------------
# NumPy (the reference)
def threefry2x32(k0, k1, c0, c1):
    """threefry-2x32 with 20 rounds on uint32 NumPy arrays (broadcasting); returns (x0, x1)."""
    u = np.uint32
    k0, k1, c0, c1 = (np.asarray(v, dtype=u) for v in (k0, k1, c0, c1))
    ks = (k0, k1, k0 ^ k1 ^ u(KS_PARITY))
    x0, x1 = c0 + k0, c1 + k1
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = (x1 << u(r)) | (x1 >> u(32 - r))
            x1 = x1 ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + u(i + 1)
    return x0, x1


def _counters(i, n: int):
    """(c0, c1, take_first) of word `i` in a stream of `n` words (see the module docstring)."""
    half, upper = n // 2, (n + 1) // 2
    c0 = np.where(i < upper, i, i - upper)
    c1 = np.where(i < half, i + upper, np.where(i < upper, 0, i))
    return c0, c1, i < upper


def random_bits_numpy(keys: np.ndarray, shape, width: int) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.uint32)
    batch = keys.shape[:-1]
    m = math.prod(shape)
    n = words_per_key(m, width)
    w = np.arange(n, dtype=np.int64)
    c0, c1, first = _counters(w, n)
    k0, k1 = keys[..., 0:1], keys[..., 1:2]  # (..., 1) broadcasts against the n words
    with np.errstate(over="ignore"):
        x0, x1 = threefry2x32(k0, k1, c0.astype(np.uint32), c1.astype(np.uint32))
    words = np.where(first, x0, x1).astype("<u4")
    if width == 4:
        return words.reshape(batch + tuple(shape))
    per_word = 4 // width  # narrower widths read the word stream as little-endian pieces
    stream = words.reshape(batch + (n,)).view(f"<u{width}").reshape(batch + (per_word * n,))
    return stream[..., :m].reshape(batch + tuple(shape))


# ---------------------------------------------------------------------------------------------
# arith (the lowering): the same function on i32, one output element per body invocation
def _threefry_ir(k0, k1, c0, c1):
    i32 = ir.IntegerType.get_signless(32)

    def c(v):
        return arith.constant(i32, ir.IntegerAttr.get(i32, v if v < 2**31 else v - 2**32))

    ks = (k0, k1, arith.xori(arith.xori(k0, k1), c(KS_PARITY)))
    x0, x1 = arith.addi(c0, k0), arith.addi(c1, k1)
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = arith.addi(x0, x1)
            x1 = arith.ori(arith.shli(x1, c(r)), arith.shrui(x1, c(32 - r)))
            x1 = arith.xori(x1, x0)
        x0 = arith.addi(x0, ks[(i + 1) % 3])
        x1 = arith.addi(arith.addi(x1, ks[(i + 2) % 3]), c(i + 1))
    return x0, x1


@register
class RandomBitsOp(Op):
    """Random bits from keys of shape (..., 2): result shape (..., *shape), uint32 (width 4),
    uint16 (width 2) or uint8 (width 1). A batch of keys (what vmap over keys makes) gives one
    stream per key."""

    name = "random_bits"
    attrs = {"shape": INTS, "width": INT}

    def infer(self, types, shape, width):
        (k,) = types
        if k.dtype != "uint32":
            raise MxError(f"[bits] Expected key type uint32 but received {k.dtype}.")
        if k.ndim < 1 or k.shape[-1] != 2:
            raise MxError(f"[bits] Expected key shape (2) but received {_shape_str(k.shape)}.")
        if width not in (1, 2, 4):
            raise MxError(f"[bits] Bit width must be in {{1, 2, 4}} but got {width}.")
        if any(d < 0 for d in shape):
            raise MxError(f"[bits] Invalid shape {_shape_str(shape)}.")
        return [TensorType(k.shape[:-1] + tuple(shape), WIDTH_DTYPES[width])]

    def reference(self, keys, shape, width):
        return random_bits_numpy(keys, shape, width)

    def lower(self, lo, xs, in_types, out_types, shape, width):
        (key,), (kt,), (out,) = xs, in_types, out_types
        nb, rank = kt.ndim - 1, out.ndim
        m = math.prod(shape)
        n = words_per_key(m, width)
        half, upper = n // 2, (n + 1) // 2
        i32 = ir.IntegerType.get_signless(32)
        batch_dims = [ir.AffineDimExpr.get(d) for d in range(nb)]
        key_maps = [ir.AffineMap.get(rank, 0, batch_dims + [ir.AffineExpr.get_constant(j)])
                    for j in (0, 1)]
        strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]

        def const(v):
            return arith.constant(i32, ir.IntegerAttr.get(i32, v))

        def body(k0, k1, _o):
            # the element's position in its key's stream (row-major over `shape`)
            e = const(0)
            for d, stride in enumerate(strides):
                idx = linalg.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64),
                                                        nb + d)).result
                term = arith.index_cast(i32, idx)
                e = arith.addi(e, arith.muli(term, const(stride)) if stride != 1 else term)
            per_word = 4 // width
            w = e if width == 4 else arith.shrui(e, const(per_word.bit_length() - 1))
            lt_upper = arith.cmpi(ipred("ult"), w, const(upper))
            c0 = arith.select(lt_upper, w, arith.subi(w, const(upper)))
            c1 = arith.select(arith.cmpi(ipred("ult"), w, const(half)), arith.addi(w, const(upper)),
                              arith.select(lt_upper, const(0), w))
            x0, x1 = _threefry_ir(k0, k1, c0, c1)
            word = arith.select(lt_upper, x0, x1)
            if width == 4:
                return word
            shift = arith.muli(arith.andi(e, const(per_word - 1)), const(8 * width))
            return arith.trunci(ir.IntegerType.get_signless(8 * width), arith.shrui(word, shift))

        out_map = ir.AffineMap.get_identity(rank)
        return lo.generic([key, key], [lo.empty(out)], key_maps + [out_map], [PARALLEL] * rank,
                          body)

    # Bits have no derivative: nothing flows back to the key, and the tangent is zero.
    def vjp(self, b, primals, outputs, cotangents, shape, width):
        return [None]

    def jvp(self, b, primals, tangents, outputs, shape, width):
        return [None]

    def batch(self, b, operands, axes, shape, width):
        from .shape import move_axis_to_front

        (key,), (ax,) = operands, axes
        # keys (N, ..., 2) -> bits (N, ..., *shape): one independent stream per key
        return [b.random_bits(move_axis_to_front(b, key, ax), shape=shape, width=width)], [0]


__all__ = ["RandomBitsOp", "random_bits_numpy", "threefry2x32"]
