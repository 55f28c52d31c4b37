"""Identity, Linear, Bilinear, Embedding (parameters drawn in MLX's order from mxir's random
stream, which equals MLX's, so a seeded model starts with MLX's very weights)."""

from __future__ import annotations

import math
from typing import Any

import mxir as mx

from .base import Module


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def __call__(self, x: mx.array) -> mx.array:
        return x


class Linear(Module):
    """y = x W^T + b, with W and b uniform in ±sqrt(1 / input_dims)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True) -> None:
        super().__init__()
        scale = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, input_dims))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (output_dims,))

    def _extra_repr(self) -> str:
        return (f"input_dims={self.weight.shape[1]}, output_dims={self.weight.shape[0]}, "
                f"bias={'bias' in self}")

    def __call__(self, x: mx.array) -> mx.array:
        if "bias" in self:
            return mx.addmm(self["bias"], x, self["weight"].T)
        return x @ self["weight"].T


class Bilinear(Module):
    """y_i = x1^T W_i x2 + b_i, with W of shape (output_dims, input2_dims, input1_dims)."""

    def __init__(self, input1_dims: int, input2_dims: int, output_dims: int,
                 bias: bool = True) -> None:
        super().__init__()
        scale = math.sqrt(1.0 / input1_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, input2_dims, input1_dims))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (output_dims,))

    def _extra_repr(self) -> str:
        out, in2, in1 = self.weight.shape
        return f"input1_dims={in1}, input2_dims={in2}, output_dims={out}, bias={'bias' in self}"

    def __call__(self, x1: mx.array, x2: mx.array) -> mx.array:
        out, in2, in1 = self.weight.shape
        batch = x1.shape[:-1]
        # (n, in1) @ (in1, out*in2) then contract in2 with x2 as a batched matmul
        y = x1.reshape(-1, in1) @ self.weight.reshape(out * in2, in1).T
        y = (x2.reshape(-1, 1, in2) @ mx.swapaxes(y.reshape(-1, out, in2), -2, -1)).squeeze(1)
        y = y.reshape(*batch, out)
        return y + self.bias if "bias" in self else y


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
