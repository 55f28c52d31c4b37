"""Conv1d/2d/3d over channels-last inputs (mx.conv* composites)."""

from __future__ import annotations

import math

import mxir as mx

from .base import Module


def _ntuple(value, n: int) -> tuple:
    return (value,) * n if isinstance(value, int) else tuple(value)


class _Conv(Module):
    """A convolution of `n` spatial dims: weight (out, *kernel, in / groups), bias zeros."""

    n = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError(f"The number of input channels ({in_channels}) must be divisible "
                             f"by the number of groups ({groups})")
        kernel = _ntuple(kernel_size, self.n)
        if self.n > 1:
            stride, padding = _ntuple(stride, self.n), _ntuple(padding, self.n)
        scale = math.sqrt(1 / (in_channels // groups * math.prod(kernel)))
        self.weight = mx.random.uniform(-scale, scale, (out_channels, *kernel,
                                                        in_channels // groups))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.padding = padding
        self.dilation = dilation
        self.stride = stride
        self.groups = groups

    def _extra_repr(self) -> str:
        kernel = self.weight.shape[1] if self.n == 1 else self.weight.shape[1:self.n + 1]
        groups = "" if self.n == 3 else f"groups={self.groups}, "
        channels = self.weight.shape[-1] * (self.groups if self.n < 3 else 1)
        return (f"{channels}, {self.weight.shape[0]}, kernel_size={kernel}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"{groups}bias={'bias' in self}")

    def __call__(self, x):
        conv = (mx.conv1d, mx.conv2d, mx.conv3d)[self.n - 1]
        y = conv(x, self.weight, self.stride, self.padding, self.dilation, self.groups)
        return y + self.bias if "bias" in self else y


class Conv1d(_Conv):
    n = 1


class Conv2d(_Conv):
    n = 2


class Conv3d(_Conv):
    n = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 1,
                         bias)

