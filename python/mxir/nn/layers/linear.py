"""Identity, Linear, Bilinear (parameters drawn in MLX's order from mxir's random
stream, which equals MLX's, so a seeded model starts with MLX's very weights)."""

from __future__ import annotations

import math
from typing import Any

import mxir as mx

from .base import Module
from .quantized import QQLinear, QuantizedLinear


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

    def to_quantized(self, group_size: int | None = None, bits: int | None = None,
                     mode: str = "affine", quantize_input: bool = False) -> Module:
        """This layer as a QuantizedLinear (weights quantized) or, with `quantize_input`, a
        QQLinear (weights and activations)."""
        if quantize_input:
            if mode not in ("nvfp4", "mxfp8"):
                raise ValueError("Quantized activations are only supported for 'nvfp4' and "
                                 f"'mxfp8' modes, got {mode}.")
            return QQLinear.from_linear(self, group_size, bits, mode)
        return QuantizedLinear.from_linear(self, group_size, bits, mode)


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

