"""MLX's quantized and gathered matmuls as compositions of existing ops: `quantize` /
`dequantize` (b-bit values packed little-endian into a uint32 bit stream, as MLX packs them),
`quantized_matmul`, `gather_mm`, `gather_qmm`, `segmented_mm` and `block_masked_mm`, in MLX's
four modes: "affine" (scales and biases per group) and the floating-point ones, "mxfp4" and
"mxfp8" (e2m1 / e4m3 values, a power-of-two e8m0 scale per 32) and "nvfp4" (e2m1 values, an
e4m3 scale per 16, an optional float32 global scale), written as MLX's CPU computes them."""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array
from .array_ops import view
from .indexing import take
from .join_ops import matmul
from .scan_ops import bitwise_and, bitwise_or, left_shift, right_shift

_BITS = (1, 2, 3, 4, 5, 6, 8)
_GROUPS = (32, 64, 128)


# mode -> (default group size, default bits); the floating-point modes allow only these
_MODES = {"affine": (64, 4), "nvfp4": (16, 4), "mxfp4": (32, 4), "mxfp8": (32, 8)}
# the e2m1 (fp4) value of each 4-bit code
_FP4 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
                 -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0], np.float32)


def _check_mode(fn: str, mode: str, group_size, bits) -> tuple[int, int]:
    """(group_size, bits), the mode's defaults filled in."""
    if mode not in _MODES:
        raise ValueError(f"[{fn}] Invalid quantization mode '{mode}'.")
    gs, b = _MODES[mode]
    return gs if group_size is None else int(group_size), b if bits is None else int(bits)


def _check_fp_sizes(fn: str, mode: str, group_size: int, bits: int) -> None:
    gs, b = _MODES[mode]
    if group_size != gs:
        raise ValueError(f"[{fn}] {mode} quantization requires group size {gs} but got "
                         f"{group_size}.")
    if bits != b:
        raise ValueError(f"[{fn}] {mode} quantization requires bits to be {b} but got {bits}.")


def _check_global_scale(fn: str, mode: str, global_scale) -> array | None:
    if global_scale is None:
        return None
    if mode != "nvfp4":
        raise ValueError(f"[{fn}] Global scale is only supported for 'nvfp4' quantization "
                         "mode.")
    g = ops.as_array(global_scale)
    if g.size != 1:
        raise ValueError(f"[{fn}] Global scale must be a scalar but got shape "
                         f"({','.join(map(str, g.shape))}).")
    if g.dtype != dt.float32:
        raise ValueError(f"[{fn}] Global scale must have dtype float32 but got "
                         f"{g.dtype.name}.")
    return g


def _check_sizes(fn: str, group_size: int, bits: int) -> None:
    if group_size not in _GROUPS:
        raise ValueError(f"[{fn}] The requested group size {group_size} is not supported. The "
                         f"supported group sizes are 32, 64, and 128.")
    if bits not in _BITS:
        raise ValueError(f"[{fn}] The requested number of bits {bits} is not supported. The "
                         f"supported bits are 1, 2, 3, 4, 5, 6 and 8.")


def _check(fn: str, mode: str, group_size, bits) -> tuple[int, int]:
    group_size, bits = _check_mode(fn, mode, group_size, bits)
    if mode == "affine":
        _check_sizes(fn, group_size, bits)
    else:
        _check_fp_sizes(fn, mode, group_size, bits)
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
    integers q with w ~ scales * q + biases, with MLX's choice of scale and bias; in the
    floating-point modes (w_q, scales), see `_fp_quantize`."""
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
    global_scale = _check_global_scale("quantize", mode, global_scale)
    if mode != "affine":
        _check_fp_sizes("quantize", mode, group_size, bits)
        return _fp_quantize(w, group_size, bits, global_scale)
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


def _fp_quantize(w: array, group_size: int, bits: int, global_scale) -> list[array]:
    """MLX's floating-point quantization, in w's dtype as MLX computes it: per group, the
    scale maps the largest magnitude to the format's largest value (6 or 448), stored as e4m3
    (group 16, times 448 * 6 / global_scale when given) or as a rounded power of two (e8m0,
    biased by 127); values are the nearest e2m1 codes (the first on a tie) or e4m3 codes."""
    rows = w.shape[:-1] + (-1,)
    wq = ops.reshape(w, (-1, group_size))
    scales = ops.divide(ops.max(ops.abs(wq), axis=-1, keepdims=True),
                        array(6.0 if bits == 4 else 448.0, w.dtype))
    if group_size == 16:
        encode = (array(1.0) if global_scale is None
                  else ops.divide(array(448.0 * 6.0), global_scale))  # float32, as MLX's
        scales = to_fp8(ops.multiply(scales, encode))
        wq = ops.multiply(ops.divide(wq, from_fp8(scales, w.dtype)), encode)
    else:  # the exponent from the float32 scale: mlx 0.32's CPU takes the ceiling
        scales = ops.astype(scales, dt.float32) if bits == 8 else ops.divide(
            ops.max(ops.abs(ops.astype(wq, dt.float32)), axis=-1, keepdims=True), 6.0)
        zero = ops.zeros((), scales.dtype)
        exponent = ops.where(ops.equal(scales, zero), zero,
                             ops.astype(ops.ceil(ops.log2(scales)), dt.int32))
        wq = ops.divide(wq, ops.power(array(2.0, w.dtype), exponent))
        scales = ops.astype(ops.add(exponent, array(127, dt.int32)), dt.uint8)
    if bits == 4:
        lut = ops.astype(array(_FP4), w.dtype)
        codes = ops.argmin(ops.abs(ops.subtract(ops.expand_dims(wq, -1), lut)), -1)
        packed = _pack(ops.reshape(codes, (-1, 8)), 4)
    else:
        packed = view(to_fp8(wq), dt.uint32)
    return [ops.reshape(packed, rows), ops.reshape(scales, rows)]


def _fp_dequantize(w: array, scales: array, group_size: int, bits: int, out_dtype,
                   global_scale) -> array:
    """The values of `_fp_quantize`'s codes times their groups' scales (MLX's formula)."""
    rows = w.shape[:-1] + (-1,)
    if bits == 4:
        codes = _unpack(ops.reshape(w, (-1, 1)), 4, 8)
        q = take(ops.astype(array(_FP4), out_dtype), ops.astype(codes, dt.int32), 0)
    else:
        q = from_fp8(view(w, dt.uint8), out_dtype)
    q = ops.reshape(q, (-1, group_size))
    s = ops.reshape(scales, (-1, 1))
    if group_size == 16:
        inverse = (array(1.0, out_dtype) if global_scale is None
                   else ops.divide(global_scale, array(448.0 * 6.0, out_dtype)))
        s = ops.multiply(from_fp8(s, out_dtype), inverse)
    else:
        s = ops.power(array(2.0, out_dtype),
                      ops.subtract(ops.astype(s, out_dtype), array(127, out_dtype)))
    return ops.reshape(ops.multiply(q, s), rows)


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
    """scales * q + biases for the packed `bits`-bit values q of `w` (uint32); in the
    floating-point modes the format's values times the decoded scales (bfloat16 by default)."""
    if mode not in _MODES:
        raise ValueError(f"[dequantize] Invalid quantization mode '{mode}'.")
    w, scales = ops.as_array(w), ops.as_array(scales)
    if dtype is not None and not dt.issubdtype(dt.to_dtype(dtype), dt.floating):
        raise ValueError(f"[dequantize] Only real floating types are supported but output "
                         f"dtype == {dt.to_dtype(dtype).name}.")
    if mode != "affine":
        return _dequantize_fp(w, scales, biases, group_size, bits, mode, global_scale, dtype)
    group_size, bits = _check("dequantize", mode, group_size, bits)
    if biases is None:
        raise ValueError("[dequantize] Biases must be provided for affine quantization.")
    biases = ops.as_array(biases)
    if w.dtype != dt.uint32:
        raise ValueError("[dequantize] The matrix should be given as a uint32")
    _check_global_scale("dequantize", mode, global_scale)
    k = w.shape[-1] * 32 // bits
    if scales.shape != w.shape[:-1] + (k // group_size,) or biases.shape != scales.shape:
        raise ValueError(f"[dequantize] Shape of scales and biases does not match the matrix "
                         f"given the quantization parameters. Provided matrix of shape "
                         f"{w.shape} and scales/biases of shape {scales.shape}/"
                         f"{biases.shape} with group_size={group_size} and bits={bits}.")
    if 0 in w.shape[:-1]:  # MLX's kernel reshapes the rows with a -1 first, and refuses
        raise ValueError("[reshape] Cannot infer the shape of an empty array")
    out_dtype = scales.dtype if dtype is None else dt.to_dtype(dtype)
    q = ops.astype(_unpack(w, bits, k), scales.dtype)
    q = ops.reshape(q, w.shape[:-1] + (k // group_size, group_size))
    out = ops.add(ops.multiply(q, ops.expand_dims(scales, -1)), ops.expand_dims(biases, -1))
    return ops.astype(ops.reshape(out, w.shape[:-1] + (k,)), out_dtype)


def _dequantize_fp(w: array, scales: array, biases, group_size, bits, mode: str,
                   global_scale, dtype) -> array:
    """`dequantize` in a floating-point mode, with MLX's checks in MLX's order."""
    if scales.dtype != dt.uint8:
        raise ValueError(f"[dequantize] Scale type must be uint8 but received type "
                         f"{scales.dtype.name}.")
    if biases is not None:
        raise ValueError(f"[dequantize] Biases must be null for quantization mode '{mode}'.")
    out_dtype = dt.bfloat16 if dtype is None else dt.to_dtype(dtype)
    group_size, bits = _check_mode("dequantize", mode, group_size, bits)
    if w.dtype != dt.uint32:
        raise ValueError("[dequantize] The matrix should be given as a uint32")
    if w.ndim < 2:
        raise ValueError(f"[dequantize] The matrix to be dequantized must have at least 2 "
                         f"dimension but it has only {w.ndim}.")
    global_scale = _check_global_scale("dequantize", mode, global_scale)
    _check_fp_sizes("dequantize", mode, group_size, bits)
    if w.ndim != scales.ndim or w.shape[:-1] != scales.shape[:-1]:
        raise ValueError("[dequantize] Shape of scales does not match the matrix")
    if w.shape[-1] * 32 // bits != scales.shape[-1] * group_size:
        raise ValueError(f"[dequantize] Shape of scales does not match the matrix given the "
                         f"quantization parameters. Provided matrix of shape "
                         f"({','.join(map(str, w.shape))}) and scales of shape "
                         f"({','.join(map(str, scales.shape))}).")
    return _fp_dequantize(w, scales, group_size, bits, out_dtype, global_scale)


def _fp_dtype(x: array, mode: str):
    """The dtype a floating-point mode's weights are decoded to for a product with x (MLX
    computes in x's dtype); None for the affine mode (decoded in the scales' dtype)."""
    if mode == "affine" or mode not in _MODES:
        return None
    if not dt.issubdtype(x.dtype, dt.floating):
        raise ValueError(f"[quantized_matmul] Only real floating types are supported but "
                         f"x.dtype() == {x.dtype.name}.")
    return x.dtype


def quantized_matmul(x, w, /, scales, biases=None, transpose=True, group_size=None, bits=None,
                     mode="affine", *, stream=None) -> array:
    """x @ dequantize(w).T (`transpose`) or x @ dequantize(w)."""
    x = ops.as_array(x)
    dw = dequantize(w, scales, biases, group_size, bits, mode, dtype=_fp_dtype(x, mode))
    dw = ops.swapaxes(dw, -1, -2) if transpose else dw
    return ops.astype(matmul(x, ops.astype(dw, x.dtype)), x.dtype)


def _shape_str(shape) -> str:
    return f"({','.join(map(str, shape))})"


def _validate_qqmm(tag: str, x: array, w: array, scales, group_size: int, bits: int, mode: str,
                   global_scale_x, global_scale_w) -> int:
    """MLX's checks of qqmm's inputs, in its order; the output's last dim."""
    if x.ndim > 2 or w.ndim > 2:
        raise ValueError(f"[{tag}] Only 2D inputs are supported but x.ndim() == {x.ndim} and "
                         f"w.ndim() == {w.ndim}.")
    if w.dtype == dt.uint32:
        if scales is None:
            raise ValueError(f"[{tag}] Scales must be provided if second argument is "
                             "quantized.")
        if w.shape[:-2] != scales.shape[:w.ndim - 2]:
            raise ValueError(f"[{tag}] Weight and scales should have the same batch shape. "
                             f"Received weight with shape {_shape_str(w.shape)}, scales with "
                             f"{_shape_str(scales.shape)}.")
        if w.shape[-1] * 32 // bits != scales.shape[-1] * group_size:
            raise ValueError(f"[{tag}] The shapes of the weight and scales are incompatible "
                             f"based on bits and group_size. w.shape() == "
                             f"{_shape_str(w.shape)} and scales.shape() == "
                             f"{_shape_str(scales.shape)} with group_size={group_size} and "
                             f"bits={bits}")
    elif not dt.issubdtype(w.dtype, dt.floating) or w.dtype == dt.float64:
        raise ValueError(f"[{tag}] Only real floating types except float64 are supported but "
                         f"second argument dtype == {w.dtype.name}.")
    if not dt.issubdtype(x.dtype, dt.floating) or x.dtype == dt.float64:
        raise ValueError(f"[{tag}] Only real floating types except float64 are supported but "
                         f"first argument dtype == {x.dtype.name}.")
    _check_global_scale(tag, mode, global_scale_x)
    _check_global_scale(tag, mode, global_scale_w)
    if mode == "nvfp4" and (global_scale_x is None) != (global_scale_w is None):
        raise ValueError(f"[{tag}] For nvfp4 mode, either both global_scale_x and "
                         "global_scale_w must be provided, or neither.")
    if w.dtype != dt.uint32:
        if x.shape[-1] != w.shape[-1]:
            raise ValueError(f"[{tag}] Last dimension of first input with shape "
                             f"{_shape_str(x.shape)} must match last dimension of second "
                             f"input with shape {_shape_str(w.shape)}.")
        return w.shape[-2]
    inner = w.shape[-1] * 32 // bits
    if inner != x.shape[-1]:
        raise ValueError(f"[{tag}] Last dimension of first input with shape (..., "
                         f"{x.shape[-1]}) does not match the expanded quantized matrix "
                         f"({inner}, {w.shape[-2]}) computed from shape "
                         f"{_shape_str(w.shape)} with group_size={group_size}, bits={bits} "
                         f"and transpose=true")
    return w.shape[-2]


def _fp_quantize_dequantize(x: array, group_size: int, bits: int) -> array:
    """x through a floating-point format and back, as MLX's CPU does to qqmm's activations:
    per group the scale max|x| / (6 or 448) as e4m3 (group 16) or as the power of two
    2**round(log2) (e8m0), each value to the nearest e2m1 (ties to the even code) or e4m3."""
    g = ops.reshape(ops.astype(x, dt.float32), (-1, group_size))
    scale = ops.divide(ops.max(ops.abs(g), axis=-1, keepdims=True), 6.0 if bits == 4 else 448.0)
    if group_size == 16:
        scale = from_fp8(to_fp8(scale), dt.float32)
    else:
        scale = ops.power(2.0, ops.clip(ops.ceil(ops.log2(scale)), -127.0, 127.0))
    v = ops.where(ops.equal(scale, 0.0), 0.0, ops.divide(g, scale))
    if bits == 8:
        out = from_fp8(to_fp8(v), dt.float32)
    else:  # e2m1: the code is the number of thresholds passed (> on odd codes' ties)
        a = ops.abs(v)
        code = ops.astype(ops.greater(a, 0.25), dt.int32)
        for t, strict in ((0.75, False), (1.25, True), (1.75, False), (2.5, True),
                          (3.5, False), (5.0, True)):
            passed = ops.greater(a, t) if strict else ops.greater_equal(a, t)
            code = ops.add(code, ops.astype(passed, dt.int32))
        magnitude = take(array(_FP4[:8]), code, 0)
        negative = ops.logical_and(ops.logical_not(ops.isnan(v)), ops.less(
            ops.where(ops.equal(v, 0.0), ops.divide(1.0, v), v), 0.0))  # -0.0 keeps its sign
        out = ops.where(ops.isnan(v), 6.0, ops.where(negative, ops.negative(magnitude),
                                                      magnitude))
    return ops.astype(ops.reshape(ops.multiply(scale, out), x.shape), x.dtype)


def qqmm(x, w, scales=None, group_size=None, bits=None, mode="nvfp4", global_scale_x=None,
         global_scale_w=None, *, stream=None) -> array:
    """x @ w.T with both operands quantized. As MLX 0.32's CPU: only a single row of x
    against a quantized w (x quantized and dequantized per group, then quantized_matmul; the
    global scales are checked, not applied); any other case raises MLX's RuntimeError."""
    group_size, bits = _check_mode("qqmm", mode, group_size, bits)
    x, w = ops.as_array(x), ops.as_array(w)
    scales = None if scales is None else ops.as_array(scales)
    shape = x.shape
    if x.ndim == 1:
        x = ops.expand_dims(x, 0)
    elif w.ndim == 2 and x.ndim > 2:
        x = ops.flatten(x, 0, -2)
    outer = _validate_qqmm("qqmm", x, w, scales, group_size, bits, mode, global_scale_x,
                           global_scale_w)
    if w.dtype != dt.uint32 or x.shape[-2] != 1:
        raise RuntimeError("[QQMatmul] NYI for the general case")
    xhat = _fp_quantize_dequantize(x, group_size, bits)
    out = quantized_matmul(xhat, w, scales, None, True, group_size, bits, mode)
    return ops.reshape(out, shape[:-1] + (outer,))


def gather_qqmm(x, w, /, scales=None, lhs_indices=None, rhs_indices=None, group_size=None,
                bits=None, mode="nvfp4", global_scale_x=None, global_scale_w=None, *,
                sorted_indices=False, stream=None) -> array:
    """MLX 0.32's CPU has no gather_qqmm: its checks, then MLX's RuntimeError."""
    group_size, bits = _check_mode("gather_qqmm", mode, group_size, bits)
    x, w = ops.as_array(x), ops.as_array(w)
    scales = None if scales is None else ops.as_array(scales)
    _check_global_scale("gather_qqmm", mode, global_scale_x)
    _check_global_scale("gather_qqmm", mode, global_scale_w)
    raise RuntimeError("[GatherQQMM] NYI")


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
               transpose=True, group_size=None, bits=None, mode="affine", global_scale=None, *,
               sorted_indices=False, stream=None) -> array:
    x = ops.as_array(x)
    dw = dequantize(w, scales, biases, group_size, bits, mode, global_scale,
                    dtype=_fp_dtype(x, mode))
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


__all__ = ["block_masked_mm", "dequantize", "from_fp8", "gather_mm", "gather_qmm",
           "gather_qqmm", "qqmm", "quantize", "quantized_matmul", "segmented_mm", "to_fp8"]
