"""Embedding: a lookup table (drawn in MLX's order from mxir's random stream)."""

from __future__ import annotations

import math

import mxir as mx

from .base import Module
from .quantized import QuantizedEmbedding


class Embedding(Module):
    """A lookup table of `num_embeddings` vectors of size `dims`, normal with std sqrt(1/dims)."""

    def __init__(self, num_embeddings: int, dims: int):
        super().__init__()
        self.weight = mx.random.normal(shape=(num_embeddings, dims), scale=math.sqrt(1 / dims))

    def _extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

    def __call__(self, x: mx.array) -> mx.array:
        return self.weight[x]

    def as_linear(self, x: mx.array) -> mx.array:
        """The embedding as an output projection (tied weights): x @ W^T."""
        return x @ self.weight.T

    def to_quantized(self, group_size: int | None = None, bits: int | None = None,
                     mode: str = "affine", quantize_input: bool = False) -> Module:
        """This layer as a QuantizedEmbedding."""
        if quantize_input:
            raise ValueError("Quantized input is not supported.")
        return QuantizedEmbedding.from_embedding(self, group_size, bits, mode)
