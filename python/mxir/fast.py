"""`mx.fast`: MLX's fused kernels, here compositions of `mx` ops (so every transform applies to
them through the ops they expand to; the CPU codegen fuses the elementwise parts).

`metal_kernel` runs a user's MSL kernel on mxir's Metal device (python/mxir/custom_kernel.py);
`cuda_kernel` is not provided.
"""

from __future__ import annotations

import math

from . import dtypes as dt
from . import ops
from .array import array
from .custom_kernel import metal_kernel
from .join_ops import concatenate, matmul, stack
from .reduce_ops import logsumexp, softmax

__all__ = ["cross_entropy", "gated_delta_update", "layer_norm", "metal_kernel", "rms_norm",
           "rope", "scaled_dot_product_attention"]


def _check_weight(name: str, x: array, w, what: str) -> None:
    if w is not None and (w.ndim != 1 or w.shape[0] != x.shape[-1]):
        raise ValueError(f"[{name}] {what} must have the same size as the last dimension of "
                         f"x but has {w.shape[0] if w.ndim == 1 else w.ndim} elements.")


def _out_dtype(*xs) -> dt.Dtype:
    return dt.result_type(*[x for x in xs if x is not None])


def rms_norm(x: array, weight: array | None, eps: float, *, stream=None) -> array:
    """x / sqrt(mean(x**2, -1) + eps) * weight, over the last axis, accumulated in float32."""
    x = ops.as_array(x)
    weight = None if weight is None else ops.as_array(weight)
    if x.ndim == 0:
        raise ValueError("[rms_norm] Input must have at least 1 dimension but got input with 0 "
                         "dimensions.")
    _check_weight("rms_norm", x, weight, "weight")
    out_dtype = _out_dtype(x, weight)
    xf = ops.astype(x, dt.promote_types(x.dtype, dt.float32))
    scale = ops.rsqrt(ops.add(ops.mean(ops.square(xf), axis=-1, keepdims=True), eps))
    y = ops.astype(ops.multiply(xf, scale), out_dtype)
    return y if weight is None else ops.multiply(y, ops.astype(weight, out_dtype))


def layer_norm(x: array, weight: array | None, bias: array | None, eps: float, *,
               stream=None) -> array:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, in float32."""
    x = ops.as_array(x)
    weight = None if weight is None else ops.as_array(weight)
    bias = None if bias is None else ops.as_array(bias)
    if x.ndim == 0:
        raise ValueError("[layer_norm] Input must have at least 1 dimension but got input with "
                         "0 dimensions.")
    _check_weight("layer_norm", x, weight, "weight")
    _check_weight("layer_norm", x, bias, "bias")
    out_dtype = _out_dtype(x, weight, bias)
    xf = ops.astype(x, dt.promote_types(x.dtype, dt.float32))
    centred = ops.subtract(xf, ops.mean(xf, axis=-1, keepdims=True))
    var = ops.mean(ops.square(centred), axis=-1, keepdims=True)
    y = ops.astype(ops.multiply(centred, ops.rsqrt(ops.add(var, eps))), out_dtype)
    if weight is not None:
        y = ops.multiply(y, ops.astype(weight, out_dtype))
    if bias is not None:
        y = ops.add(y, ops.astype(bias, out_dtype))
    return y


def rope(a: array, dims: int, *, traditional: bool, base: float | None, scale: float, offset,
         freqs: array | None = None, stream=None) -> array:
    """Rotary position encoding of the first `dims` features along the second-to-last axis
    (positions `offset + i` times `scale`); `traditional` rotates consecutive pairs, otherwise
    the two halves of the rotated features."""
    a = ops.as_array(a)
    if a.ndim < 3:
        raise ValueError(f"[rope] Input must have at least 3 dimensions but got input with "
                         f"{a.ndim} dimensions.")
    if dims <= 0:
        raise ValueError(f"[rope] dims must be positive but got {dims}.")
    if dims % 2:
        raise ValueError(f"[rope] dims must be even but got {dims}.")
    if dims > a.shape[-1]:
        raise ValueError(f"[rope] dims must not exceed the input's last dimension "
                         f"({a.shape[-1]}) but got {dims}.")
    if not dt.issubdtype(a.dtype, dt.floating):
        raise ValueError(f"[rope] Input must be a floating type but got {a.dtype.name}.")
    if (base is None) == (freqs is None):
        raise ValueError("[rope] Only one of base or freqs can have a value.")
    half = dims // 2
    if freqs is None:
        exps = ops.divide(ops.arange(0, half, dtype=dt.float32), float(half))
        inv_freq = ops.exp(ops.multiply(exps, -math.log(base)))
    else:
        freqs = ops.as_array(freqs)
        if freqs.ndim != 1 or freqs.shape[0] != half:
            raise ValueError(f"[rope] freqs must be one dimensional with size {half} but got "
                             f"shape {freqs.shape}.")
        inv_freq = ops.reciprocal(ops.astype(freqs, dt.float32))
    t = a.shape[-2]
    pos = ops.arange(0, t, dtype=dt.float32)
    off = ops.astype(ops.as_array(offset), dt.float32)
    if off.ndim == 1:  # one offset per batch element: (B, 1, ..., 1, T)
        off = ops.reshape(off, (off.shape[0],) + (1,) * (a.ndim - 2))
    elif off.ndim > 1:
        raise ValueError("[rope] offset must be a scalar or vector of offsets.")
    pos = ops.multiply(ops.add(pos, off), scale)                # (..., T)
    theta = ops.multiply(ops.expand_dims(pos, -1), inv_freq)     # (..., T, half)
    cos, sin = ops.cos(theta), ops.sin(theta)
    af = ops.astype(a, dt.promote_types(a.dtype, dt.float32))
    rotated, rest = af[..., :dims], af[..., dims:]
    if traditional:
        pairs = ops.reshape(rotated, rotated.shape[:-1] + (half, 2))
        x1, x2 = pairs[..., 0], pairs[..., 1]
    else:
        x1, x2 = rotated[..., :half], rotated[..., half:]
    y1 = ops.subtract(ops.multiply(x1, cos), ops.multiply(x2, sin))
    y2 = ops.add(ops.multiply(x1, sin), ops.multiply(x2, cos))
    if traditional:
        out = ops.reshape(ops.stack([y1, y2], axis=-1), y1.shape[:-1] + (dims,))
    else:
        out = concatenate([y1, y2], axis=-1)
    if dims < a.shape[-1]:
        out = concatenate([out, rest], axis=-1)
    return ops.astype(out, a.dtype)


def scaled_dot_product_attention(q: array, k: array, v: array, *, scale: float, mask=None,
                                 sinks: array | None = None, force_fused: bool = False,
                                 stream=None) -> array:
    """softmax(scale * q @ k^T + mask) @ v with MLX's conventions: keys and values may have
    fewer heads than the queries (grouped-query attention), the softmax runs in float32, a
    "causal" mask aligns the last query with the last key, a boolean mask keeps the True
    positions, any other mask array is added, and `sinks` add one logit per head."""
    q, k, v = ops.as_array(q), ops.as_array(k), ops.as_array(v)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"[scaled_dot_product_attention] queries, keys and values must be 4D "
                         f"but got {q.ndim}, {k.ndim}, {v.ndim} dimensions.")
    n_q, n_kv = q.shape[1], k.shape[1]
    if n_q % n_kv or v.shape[1] != n_kv:
        raise ValueError(f"[scaled_dot_product_attention] The number of query heads must be a "
                         f"multiple of the number of key/value heads, got {n_q} and {n_kv}.")
    out_dtype = _out_dtype(q, k, v)
    if n_q != n_kv:  # each key/value head serves n_q // n_kv query heads
        rep = n_q // n_kv
        k = ops.reshape(ops.broadcast_to(ops.expand_dims(k, 2), (k.shape[0], n_kv, rep) +
                                         k.shape[2:]), (k.shape[0], n_q) + k.shape[2:])
        v = ops.reshape(ops.broadcast_to(ops.expand_dims(v, 2), (v.shape[0], n_kv, rep) +
                                         v.shape[2:]), (v.shape[0], n_q) + v.shape[2:])
    scores = matmul(ops.multiply(q, ops.astype(ops.as_array(scale), q.dtype)),
                    ops.swapaxes(k, -1, -2))
    scores = ops.astype(scores, dt.promote_types(scores.dtype, dt.float32))
    t_q, t_kv = q.shape[2], k.shape[2]
    if isinstance(mask, str):
        if mask != "causal":
            raise ValueError(f"[scaled_dot_product_attention] Invalid mask_mode {mask}.")
        rows = ops.expand_dims(ops.arange(t_kv - t_q, t_kv), -1)
        mask = ops.less_equal(ops.arange(t_kv), rows)
    if mask is not None:
        mask = ops.as_array(mask)
        if mask.dtype == dt.bool_:
            scores = ops.where(mask, scores, ops.astype(ops.as_array(-float("inf")),
                                                          scores.dtype))
        else:
            if dt.promote_types(mask.dtype, out_dtype) != out_dtype:
                raise ValueError(f"[scaled_dot_product_attention] Mask type must promote to "
                                 f"output type {out_dtype}.")
            scores = ops.add(scores, ops.astype(mask, scores.dtype))
    if sinks is not None:  # an extra logit per head that takes weight but contributes no value
        sink = ops.astype(ops.reshape(ops.as_array(sinks), (1, n_q, 1, 1)), scores.dtype)
        sink = ops.broadcast_to(sink, scores.shape[:-1] + (1,))
        weights = softmax(concatenate([sink, scores], axis=-1), axis=-1)[..., 1:]
    else:
        weights = softmax(scores, axis=-1)
    return matmul(ops.astype(weights, out_dtype), ops.astype(v, out_dtype))


def cross_entropy(logits: array, targets: array, *, stream=None) -> array:
    """logsumexp(logits, -1) - logits[..., targets], per element."""
    logits, targets = ops.as_array(logits), ops.as_array(targets)
    picked = ops.take_along_axis(logits, ops.expand_dims(targets, -1), axis=-1)
    return ops.subtract(logsumexp(logits, axis=-1), ops.squeeze(picked, -1))


def gated_delta_update(q: array, k: array, v: array, gamma: array, beta: array,
                       initial_state: array | None = None, mask: array | None = None,
                       stream=None) -> list[array]:
    """The gated delta rule over time, per batch and value head h (key heads shared by
    Hv / Hk value heads), with a float32 state S of shape (B, Hv, Dv, Dk):
    S = gamma_t S; S += beta_t (v_t - S k_t) k_t^T; y_t = S q_t; where mask[:, t] is False the
    state keeps its previous value and y_t is 0 (as MLX). Returns (y (B, T, Hv, Dv) in q's
    dtype, the final S). Written as ops, a step per time index, so every transform applies."""
    from .composites import repeat

    q, k, v = ops.as_array(q), ops.as_array(k), ops.as_array(v)
    gamma, beta = ops.as_array(gamma), ops.as_array(beta)
    b, t_len, hk, dk = q.shape
    hv, dv = v.shape[2], v.shape[3]
    if hv != hk:  # each key head serves hv // hk consecutive value heads
        q, k = repeat(q, hv // hk, axis=2), repeat(k, hv // hk, axis=2)
    state = (ops.zeros((b, hv, dv, dk), dt.float32) if initial_state is None
             else ops.astype(ops.as_array(initial_state), dt.float32))
    ys = []
    for t in range(t_len):
        previous = state
        state = ops.multiply(state, ops.expand_dims(gamma[:, t], (-1, -2)))
        k_t = ops.expand_dims(k[:, t], -2)                                  # (B, Hv, 1, Dk)
        remembered = ops.sum(ops.multiply(state, k_t), axis=-1)             # (B, Hv, Dv)
        delta = ops.multiply(ops.subtract(v[:, t], remembered), ops.expand_dims(beta[:, t], -1))
        state = ops.add(state, ops.multiply(k_t, ops.expand_dims(delta, -1)))
        y = ops.sum(ops.multiply(state, ops.expand_dims(q[:, t], -2)), axis=-1)
        if mask is not None:
            keep = ops.reshape(ops.as_array(mask)[:, t], (b, 1, 1, 1))
            state = ops.where(keep, state, previous)
            y = ops.where(keep[..., 0], y, ops.zeros((), y.dtype))
        ys.append(y)
    return [ops.astype(stack(ys, axis=1), q.dtype), state]
