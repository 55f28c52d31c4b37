"""MLX's quantized and gathered matmuls as compositions of existing ops: affine `quantize` /
`dequantize` (b-bit values packed little-endian into a uint32 bit stream, as MLX packs them),
`quantized_matmul`, `gather_mm`, `gather_qmm`, `segmented_mm` and `block_masked_mm`.
Only MLX's "affine" mode is here; "mxfp4", "mxfp8" and "nvfp4" are refused with a message."""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array
from .indexing import take
from .join_ops import matmul
from .scan_ops import bitwise_and, bitwise_or, left_shift, right_shift

_BITS = (1, 2, 3, 4, 5, 6, 8)
_GROUPS = (32, 64, 128)


def _check_mode(fn: str, mode: str, group_size, bits) -> tuple[int, int]:
    """(group_size, bits), MLX's defaults filled in, for the one mode mxir has."""
    if mode != "affine":
        raise ValueError(f"[{fn}] mxir supports mode 'affine' only, not {mode!r} (mxfp4, mxfp8 "
                         "and nvfp4 are not implemented).")
    return 64 if group_size is None else int(group_size), 4 if bits is None else int(bits)


def _check_sizes(fn: str, group_size: int, bits: int) -> None:
    if group_size not in _GROUPS:
        raise ValueError(f"[{fn}] The requested group size {group_size} is not supported. The "
                         f"supported group sizes are 32, 64, and 128.")
    if bits not in _BITS:
        raise ValueError(f"[{fn}] The requested number of bits {bits} is not supported. The "
                         f"supported bits are 1, 2, 3, 4, 5, 6 and 8.")


def _check(fn: str, mode: str, group_size, bits) -> tuple[int, int]:
    group_size, bits = _check_mode(fn, mode, group_size, bits)
    _check_sizes(fn, group_size, bits)
    return group_size, bits


def _pack(q: array, bits: int) -> array:
    """uint32 words of the little-endian bit stream of `q`'s last axis (values < 2**bits)."""
    k = q.shape[-1]
    n_words = k * bits // 32
    per = 32 // bits + 2  # elements that can touch one word
    idx = np.zeros((n_words, per), np.int32)
    shift = np.zeros((n_words, per), np.int64)
    valid = np.zeros((n_words, per), bool)
    for j in range(n_words):
        first = (32 * j) // bits
        for t in range(per):
            i = first + t
            start = i * bits - 32 * j
            if i < k and start < 32 and start + bits > 0:
                idx[j, t], shift[j, t], valid[j, t] = i, start, True
    parts = take(ops.astype(q, dt.uint32), array(idx.reshape(-1)), q.ndim - 1)
    parts = ops.reshape(parts, q.shape[:-1] + (n_words, per))
    up = left_shift(parts, array(np.maximum(shift, 0).astype(np.uint32)))
    down = right_shift(parts, array(np.maximum(-shift, 0).astype(np.uint32)))
    word = ops.where(array(shift >= 0), up, down)
    word = ops.where(array(valid), word, ops.constant(0, dt.uint32))
    return ops.sum(word, axis=-1)  # disjoint bits: the sum is the bitwise or


def _unpack(w: array, bits: int, k: int) -> array:
    """The `k` values of `bits` bits in each row of uint32 words `w` (inverse of _pack)."""
    start = np.arange(k) * bits
    word, sh = start // 32, start % 32
    straddles = sh + bits > 32
    lo = right_shift(take(w, array(word.astype(np.int32)), w.ndim - 1),
                     array(sh.astype(np.uint32)))
    nxt = np.minimum(word + 1, w.shape[-1] - 1).astype(np.int32)
    hi = left_shift(take(w, array(nxt), w.ndim - 1),
                    array(np.where(straddles, 32 - sh, 0).astype(np.uint32)))
    hi = ops.where(array(straddles), hi, ops.constant(0, dt.uint32))
    return bitwise_and(bitwise_or(lo, hi), ops.constant((1 << bits) - 1, dt.uint32))


def quantize(w, /, group_size=None, bits=None, mode="affine", *, global_scale=None,
             stream=None):
    """(w_q, scales, biases): each group of `group_size` in a row of `w` as `bits`-bit
    integers q with w ~ scales * q + biases, with MLX's choice of scale and bias."""
    # MLX's order of checks: dtype, rank, divisibility, then the group size and bits
    group_size, bits = _check_mode("quantize", mode, group_size, bits)
    w = ops.as_array(w)
    if not dt.issubdtype(w.dtype, dt.floating):
        raise ValueError(f"[quantize] Only real floating types can be quantized but w has type "
                         f"{w.dtype.name}.")
    if w.ndim < 2:
        raise ValueError(f"[quantize] The matrix to be quantized must have at least 2 dimension "
                         f"but it has only {w.ndim}.")
    if w.shape[-1] % group_size:
        raise ValueError(f"[quantize] The last dimension of the matrix needs to be divisible "
                         f"by the quantization group size {group_size}. However the provided  "
                         f"matrix has shape ({','.join(map(str, w.shape))})")
    _check_sizes("quantize", group_size, bits)
    n_bins = float(2 ** bits - 1)
    # in float32 whatever w's dtype, as MLX (only scales and biases are rounded to it)
    g = ops.reshape(ops.astype(w, dt.float32), w.shape[:-1] + (w.shape[-1] // group_size,
                                                                  group_size))
    hi, lo = ops.max(g, axis=-1), ops.min(g, axis=-1)
    if bits == 1:  # MLX: two levels, the group's min and max
        scale, bias = ops.maximum(ops.subtract(hi, lo), 1e-7), lo
    else:
        scale, bias = _zero_exact(hi, lo, n_bins)
    q = ops.round(ops.divide(ops.subtract(g, ops.expand_dims(bias, -1)),
                             ops.expand_dims(scale, -1)))
    q = ops.clip(q, 0.0, n_bins)
    q = ops.reshape(ops.astype(q, dt.uint32), w.shape)
    return [_pack(q, bits), ops.astype(scale, w.dtype), ops.astype(bias, w.dtype)]  # a list, as MLX


def _zero_exact(hi: array, lo: array, n_bins: float) -> tuple[array, array]:
    """(scale, bias) with the bias at the extreme of larger magnitude, a multiple of the
    scale (so that zero is exactly representable)."""
    low_wins = ops.greater(ops.abs(lo), ops.abs(hi))
    scale = ops.maximum(ops.divide(ops.subtract(hi, lo), n_bins), 1e-7)
    scale = ops.where(low_wins, scale, ops.negative(scale))
    edge = ops.where(low_wins, lo, hi)
    q0 = ops.round(ops.divide(edge, scale))
    nonzero = ops.not_equal(q0, 0)
    scale = ops.where(nonzero, ops.divide(edge, ops.where(nonzero, q0, 1)), scale)
    return scale, ops.where(nonzero, edge, ops.constant(0, edge.dtype))


def dequantize(w, /, scales, biases=None, group_size=None, bits=None, mode="affine",
               global_scale=None, dtype=None, *, stream=None) -> array:
    """scales * q + biases for the packed `bits`-bit values q of `w` (uint32)."""
    group_size, bits = _check("dequantize", mode, group_size, bits)
    w, scales = ops.as_array(w), ops.as_array(scales)
    if biases is None:
        raise ValueError("[dequantize] Biases must be provided for affine quantization.")
    biases = ops.as_array(biases)
    if w.dtype != dt.uint32:
        raise ValueError("[dequantize] The matrix should be given as a uint32")
    k = w.shape[-1] * 32 // bits
    if scales.shape != w.shape[:-1] + (k // group_size,) or biases.shape != scales.shape:
        raise ValueError(f"[dequantize] Shape of scales and biases does not match the matrix "
                         f"given the quantization parameters. Provided matrix of shape "
                         f"{w.shape} and scales/biases of shape {scales.shape}/"
                         f"{biases.shape} with group_size={group_size} and bits={bits}.")
    out_dtype = scales.dtype if dtype is None else dt.to_dtype(dtype)
    q = ops.astype(_unpack(w, bits, k), scales.dtype)
    q = ops.reshape(q, w.shape[:-1] + (k // group_size, group_size))
    out = ops.add(ops.multiply(q, ops.expand_dims(scales, -1)), ops.expand_dims(biases, -1))
    return ops.astype(ops.reshape(out, w.shape[:-1] + (k,)), out_dtype)


def quantized_matmul(x, w, /, scales, biases=None, transpose=True, group_size=None, bits=None,
                     mode="affine", *, stream=None) -> array:
    """x @ dequantize(w).T (`transpose`) or x @ dequantize(w)."""
    x = ops.as_array(x)
    dw = dequantize(w, scales, biases, group_size, bits, mode)
    dw = ops.swapaxes(dw, -1, -2) if transpose else dw
    return ops.astype(matmul(x, ops.astype(dw, x.dtype)), x.dtype)


def _batch_take(a: array, indices) -> array:
    """a's matrices (last two axes) at flat `indices` into its batch axes."""
    flat = ops.reshape(a, (math.prod(a.shape[:-2]),) + a.shape[-2:])
    return take(flat, indices, 0)


def gather_mm(a, b, /, lhs_indices=None, rhs_indices=None, *, sorted_indices=False,
              stream=None) -> array:
    """matmul of a's and b's matrices picked by flat batch indices (None: all, broadcast)."""
    a, b = ops.as_array(a), ops.as_array(b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError("[gather_mm] Inputs must have at least 2 dimensions.")
    if lhs_indices is not None:
        a = _batch_take(a, ops.as_array(lhs_indices))
    if rhs_indices is not None:
        b = _batch_take(b, ops.as_array(rhs_indices))
    return matmul(a, b)


def gather_qmm(x, w, /, scales, biases=None, lhs_indices=None, rhs_indices=None,
               transpose=True, group_size=None, bits=None, mode="affine", *,
               sorted_indices=False, stream=None) -> array:
    x = ops.as_array(x)
    dw = dequantize(w, scales, biases, group_size, bits, mode)
    dw = ops.astype(ops.swapaxes(dw, -1, -2) if transpose else dw, x.dtype)
    return gather_mm(x, dw, lhs_indices, rhs_indices)


def segmented_mm(a, b, /, segments, *, stream=None) -> array:
    """For each [start, end) in `segments` (..., 2), a[:, start:end] @ b[start:end, :]."""
    a, b, segments = ops.as_array(a), ops.as_array(b), ops.as_array(segments)
    k = a.shape[-1]
    pos = ops.arange(k)
    inside = ops.logical_and(ops.greater_equal(pos, segments[..., 0:1]),
                             ops.less(pos, segments[..., 1:2]))  # (..., S, K)
    masked = ops.multiply(ops.expand_dims(a, -3),
                          ops.expand_dims(ops.astype(inside, a.dtype), -2))  # (..., S, M, K)
    return matmul(masked, ops.expand_dims(b, -3))


def _expand_mask(mask, rows: int, cols: int, block: int, dtype) -> array:
    """A block mask (..., ceil(rows/block), ceil(cols/block)) as an element mask."""
    m = ops.as_array(mask)
    m = ops.repeat(ops.repeat(m, block, axis=-2), block, axis=-1)[..., :rows, :cols]
    return ops.astype(m, dtype)


def block_masked_mm(a, b, /, block_size=64, mask_out=None, mask_lhs=None, mask_rhs=None, *,
                    stream=None) -> array:
    """a @ b with block_size x block_size blocks of a, b and the result scaled by their masks
    (boolean masks zero blocks; float masks scale them)."""
    if block_size not in (32, 64):
        raise ValueError(f"[block_masked_mm] Only block_sizes 32, 64 are supported.Got "
                         f"block size {block_size}.")
    a, b = ops.as_array(a), ops.as_array(b)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if mask_lhs is not None:
        a = ops.multiply(a, _expand_mask(mask_lhs, m, k, block_size, a.dtype))
    if mask_rhs is not None:
        b = ops.multiply(b, _expand_mask(mask_rhs, k, n, block_size, b.dtype))
    out = matmul(a, b)
    if mask_out is not None:
        out = ops.multiply(out, _expand_mask(mask_out, m, n, block_size, out.dtype))
    return out


def _e4m3_values() -> np.ndarray:
    """The float value of each of the 256 fp8 e4m3 codes (sign, 4 exponent bits with bias 7,
    3 mantissa bits; exponent 0 is subnormal; 0x7f and 0xff are NaN, there is no inf)."""
    c = np.arange(256)
    exp, man = (c >> 3) & 15, (c & 7).astype(np.float64)
    mag = np.where(exp == 0, man / 8 * 2.0 ** -6, (1 + man / 8) * 2.0 ** (exp - 7))
    mag = np.where((exp == 15) & (man == 7), np.nan, mag)
    return np.where(c >= 128, -mag, mag).astype(np.float32)


_E4M3 = _e4m3_values()
_E4M3_MAX = 126  # the code of 448, the largest finite value


def from_fp8(x, dtype=dt.bfloat16, *, stream=None) -> array:
    """The values of fp8 (e4m3) codes held in a uint8 array."""
    x = ops.as_array(x)
    if x.dtype != dt.uint8:
        raise ValueError(f"[from_fp8] Input must have type uint8 but x.dtype() == "
                         f"{x.dtype.name}.")
    return ops.astype(take(array(_E4M3), ops.astype(x, dt.int32), 0), dtype)


def to_fp8(x, *, stream=None) -> array:
    """fp8 (e4m3) codes (uint8) of a float array: round to nearest, ties to the even code,
    saturating at +-448 (infinities too; NaN becomes 448, as MLX)."""
    x = ops.as_array(x)
    if not dt.issubdtype(x.dtype, dt.floating):
        raise ValueError(f"[to_fp8] Only real floating types are supported but x.dtype() == "
                         f"{x.dtype.name}.")
    x = ops.astype(x, dt.float32)
    finite = array(_E4M3[:_E4M3_MAX + 1])  # increasing: codes 0..126
    a = ops.minimum(ops.where(ops.isnan(x), 448.0, ops.abs(x)), 448.0)
    below = ops.subtract(ops.sum(ops.less_equal(finite, ops.expand_dims(a, -1)), axis=-1), 1)
    above = ops.minimum(ops.add(below, 1), _E4M3_MAX)
    d_lo = ops.subtract(a, take(finite, below, 0))
    d_hi = ops.subtract(take(finite, above, 0), a)
    odd = ops.equal(ops.remainder(below, 2), 1)
    up = ops.logical_or(ops.less(d_hi, d_lo), ops.logical_and(ops.equal(d_hi, d_lo), odd))
    code = ops.where(up, above, below)
    negative = ops.logical_or(ops.less(x, 0), ops.logical_and(
        ops.equal(x, 0), ops.less(ops.divide(1.0, x), 0)))  # -0.0 keeps its sign
    return ops.astype(ops.where(negative, ops.add(code, 128), code), dt.uint8)


__all__ = ["block_masked_mm", "dequantize", "from_fp8", "gather_mm", "gather_qmm", "quantize",
           "quantized_matmul", "segmented_mm", "to_fp8"]
