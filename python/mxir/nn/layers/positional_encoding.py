"""RoPE, sinusoidal positional encoding, ALiBi."""

from __future__ import annotations

import math

import mxir as mx

from .base import Module


class RoPE(Module):
    """Rotary positional encoding of the first `dims` features of (..., L, D) inputs."""

    def __init__(self, dims: int, traditional: bool = False, base: float = 10000,
                 scale: float = 1.0):
        super().__init__()
        self.dims = dims
        self.traditional = traditional
        self.base = base
        self.scale = scale

    def _extra_repr(self) -> str:
        return f"{self.dims}, traditional={self.traditional}"

    def __call__(self, x, offset: int = 0):
        return mx.fast.rope(x, self.dims, traditional=self.traditional, base=self.base,
                           scale=self.scale, offset=offset)


class SinusoidalPositionalEncoding(Module):
    def __init__(self, dims: int, min_freq: float = 0.0001, max_freq: float = 1,
                 scale: float | None = None, cos_first: bool = False, full_turns: bool = False):
        super().__init__()
        if dims <= 0 or dims % 2 != 0:
            raise ValueError("[SinusoidalPositionalEncoding] dims must be positive and even but "
                             f"got {dims}.")
        # frequencies spaced geometrically from max_freq down to min_freq
        one_zero = mx.array([1.0]) if dims == 2 else 1 - mx.arange(0, dims // 2) / (dims // 2 - 1)
        lo, hi = math.log(min_freq), math.log(max_freq)
        self._sigmas = mx.exp(one_zero * (hi - lo) + lo)
        if full_turns:
            self._sigmas = self._sigmas * (2 * math.pi)
        self.scale = scale if scale is not None else (2 / dims) ** 0.5
        self.cos_first = cos_first

    def __call__(self, x):
        y = x[..., None] * self._sigmas
        parts = [mx.cos(y), mx.sin(y)] if self.cos_first else [mx.sin(y), mx.cos(y)]
        y = mx.concatenate(parts, axis=-1)
        return y * self.scale if self.scale != 1 else y


class ALiBi(Module):
    @staticmethod
    def create_alibi_matrix(q_sequence_length: int, k_sequence_length: int, num_heads: int,
                            offset: int = 0, dtype=mx.float32) -> mx.array:
        q = mx.arange(offset, q_sequence_length)
        k = mx.arange(0, k_sequence_length)
        distance = -mx.abs(mx.expand_dims(q[:, None] - k[None, :], axis=(0, 1)))
        return (distance * ALiBi.create_alibi_slope(num_heads, dtype)).astype(dtype)

    @staticmethod
    def create_alibi_slope(num_heads: int, dtype=mx.float32) -> mx.array:
        def slopes(n: int) -> list[float]:
            if math.log2(n).is_integer():
                start = 2 ** (-(2 ** -(math.log2(n) - 3)))
                return [start * start**i for i in range(n)]
            p = 2 ** math.floor(math.log2(n))
            return slopes(p) + slopes(2 * p)[0::2][: n - p]

        return mx.expand_dims(mx.array(slopes(num_heads), dtype=dtype), axis=(-1, -2))

    def __call__(self, attention_scores: mx.array, offset: int = 0, mask=None) -> mx.array:
        alibi = ALiBi.create_alibi_matrix(attention_scores.shape[-2] + offset,
                                          attention_scores.shape[-1], attention_scores.shape[1],
                                          offset, attention_scores.dtype)
        if mask is not None:
            alibi = alibi + mask
        return attention_scores + alibi
