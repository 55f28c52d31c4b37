"""Composites of what MLX's layers take from `mlx.core.fast` (layer_norm, rms_norm, rope,
scaled_dot_product_attention): written from mxir ops, so every transform applies to them."""

from __future__ import annotations

import math

import mxir as mx


def layer_norm(x, weight=None, bias=None, eps: float = 1e-5):
    mean = mx.mean(x, axis=-1, keepdims=True)
    y = (x - mean) * mx.rsqrt(mx.var(x, axis=-1, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    return y + bias if bias is not None else y


def rms_norm(x, weight=None, eps: float = 1e-5):
    y = x * mx.rsqrt(mx.mean(mx.square(x), axis=-1, keepdims=True) + eps)
    return y * weight if weight is not None else y


def rope(x, dims: int, traditional: bool, base: float | None, scale: float, offset,
         freqs=None):
    """Rotate the first `dims` features of x (..., L, D) by position * frequency: pairs are
    (2i, 2i+1) when `traditional`, else (i, i + dims/2)."""
    length = x.shape[-2]
    half = dims // 2
    if freqs is None:
        freqs = mx.exp(-mx.arange(0.0, half) * (math.log(base) / half))
    else:
        freqs = 1.0 / freqs
    positions = (mx.arange(length).astype(mx.float32) + offset) * scale
    theta = positions[:, None] * freqs[None, :]
    cos, sin = mx.cos(theta).astype(x.dtype), mx.sin(theta).astype(x.dtype)
    rot, rest = x[..., :dims], x[..., dims:]
    if traditional:
        pairs = rot.reshape(*rot.shape[:-1], half, 2)
        a, b = pairs[..., 0], pairs[..., 1]
        out = mx.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(rot.shape)
    else:
        a, b = rot[..., :half], rot[..., half:]
        out = mx.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
    return mx.concatenate([out, rest], axis=-1) if dims < x.shape[-1] else out


def scaled_dot_product_attention(q, k, v, scale: float, mask=None):
    """softmax(q k^T * scale + mask) v over (B, heads, L, D); `mask` is an additive array, a
    boolean array (True keeps), or "causal"; grouped keys/values repeat over the query heads."""
    n_q, n_kv = q.shape[-3], k.shape[-3]
    if n_q != n_kv:
        k = mx.repeat(k, n_q // n_kv, axis=-3)
        v = mx.repeat(v, n_q // n_kv, axis=-3)
    scores = (q * scale) @ mx.swapaxes(k, -1, -2)
    if isinstance(mask, str):
        lq, lk = scores.shape[-2:]
        keep = mx.arange(lq)[:, None] + (lk - lq) >= mx.arange(lk)[None, :]
        scores = mx.where(keep, scores, -mx.inf)
    elif mask is not None:
        if mask.dtype == mx.bool_:
            scores = mx.where(mask, scores, -mx.inf)
        else:
            scores = scores + mask
    return mx.softmax(scores, axis=-1, precise=True) @ v
