"""ConvTranspose1d/2d/3d over channels-last inputs (mx.conv_transpose* composites)."""

from __future__ import annotations

import math

import mxir as mx

from .base import Module
from .convolution import _ntuple


class _ConvTranspose(Module):
    n = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, output_padding=0, bias: bool = True):
        super().__init__()
        kernel = _ntuple(kernel_size, self.n)
        if self.n > 1:
            stride, padding = _ntuple(stride, self.n), _ntuple(padding, self.n)
            output_padding = _ntuple(output_padding, self.n)
        scale = math.sqrt(1 / (in_channels * math.prod(kernel)))
        self.weight = mx.random.uniform(-scale, scale, (out_channels, *kernel, in_channels))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.padding = padding
        self.dilation = dilation
        self.stride = stride
        self.output_padding = output_padding

    def _extra_repr(self) -> str:
        kernel = self.weight.shape[1] if self.n == 1 else self.weight.shape[1:self.n + 1]
        return (f"{self.weight.shape[-1]}, {self.weight.shape[0]}, kernel_size={kernel}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"output_padding={self.output_padding}, bias={'bias' in self}")

    def __call__(self, x):
        conv = (mx.conv_transpose1d, mx.conv_transpose2d, mx.conv_transpose3d)[self.n - 1]
        y = conv(x, self.weight, self.stride, self.padding, self.dilation, self.output_padding)
        return y + self.bias if "bias" in self else y


class ConvTranspose1d(_ConvTranspose):
    n = 1


class ConvTranspose2d(_ConvTranspose):
    n = 2


class ConvTranspose3d(_ConvTranspose):
    n = 3
