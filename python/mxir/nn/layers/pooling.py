"""Max and average pooling over channels-last inputs: the sliding windows of mx.conv's im2col
(one strided slice per window position), reduced over the window axis."""

from __future__ import annotations

import mxir as mx
from mxir.conv import windows

from .base import Module


def _ints(x, n: int, msg: str) -> list[int]:
    if isinstance(x, (list, tuple)):
        if len(x) != n:
            raise ValueError(msg)
        return list(x)
    if not isinstance(x, int):
        raise ValueError(msg)
    return [x] * n


class _Pool(Module):
    n = 0
    reduce = staticmethod(mx.max)
    padding_value = 0.0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        count = "1 integer" if self.n == 1 else f"{self.n} integers"
        msg = "[{}] '{}' must be an integer or a tuple containing " + count
        kernel = _ints(kernel_size, self.n, msg.format(name, "kernel_size"))
        stride = kernel if stride is None else _ints(stride, self.n, msg.format(name, "stride"))
        padding = _ints(padding, self.n, msg.format(name, "padding"))
        for what, values in (("kernel_size", kernel), ("stride", stride)):
            if any(v <= 0 for v in values):
                raise ValueError(f"[{name}] '{what}' must be positive but got {tuple(values)}.")
        if any(p < 0 for p in padding):
            raise ValueError(f"[{name}] 'padding' must be non-negative but got "
                             f"{tuple(padding)}.")
        self._kernel_size, self._stride, self._padding = kernel, stride, padding

    def _extra_repr(self) -> str:
        return (f"kernel_size={tuple(self._kernel_size)}, stride={tuple(self._stride)}, "
                f"padding={tuple(self._padding)}")

    def __call__(self, x):
        if x.ndim < 3:
            raise ValueError("To extract sliding windows at least 1 spatial dimension (3 total) "
                             f"is needed but the input only has {x.ndim} dimensions.")
        if x.ndim - 2 != self.n:
            raise ValueError("To extract sliding windows the window shapes and strides must have "
                             "the same number of spatial dimensions as the signal but the signal "
                             f"has {x.ndim - 2} dims and the window shape has {self.n} and "
                             f"strides have {self.n}.")
        if any(self._padding):
            x = mx.pad(x, [(0, 0)] + [(p, p) for p in self._padding] + [(0, 0)],
                       constant_values=self.padding_value)
        return type(self).reduce(windows(x, self._kernel_size, self._stride), axis=-2)


class MaxPool1d(_Pool):
    n, reduce, padding_value = 1, staticmethod(mx.max), -float("inf")


class MaxPool2d(_Pool):
    n, reduce, padding_value = 2, staticmethod(mx.max), -float("inf")


class MaxPool3d(_Pool):
    n, reduce, padding_value = 3, staticmethod(mx.max), -float("inf")


class AvgPool1d(_Pool):
    n, reduce = 1, staticmethod(mx.mean)


class AvgPool2d(_Pool):
    n, reduce = 2, staticmethod(mx.mean)


class AvgPool3d(_Pool):
    n, reduce = 3, staticmethod(mx.mean)
