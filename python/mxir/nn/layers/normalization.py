"""LayerNorm, RMSNorm, InstanceNorm, GroupNorm, BatchNorm (channels last, as in MLX)."""

from __future__ import annotations

import mxir as mx

from .base import Module


def _check_eps(name: str, eps: float) -> None:
    if eps <= 0.0:
        raise ValueError(f"[{name}] 'eps' must be positive but got {eps}.")


class InstanceNorm(Module):
    """Normalise each channel of each example over its spatial axes."""

    def __init__(self, dims: int, eps: float = 1e-5, affine: bool = False):
        super().__init__()
        _check_eps("InstanceNorm", eps)
        if affine:
            self.weight = mx.ones((dims,))
            self.bias = mx.zeros((dims,))
        self.dims = dims
        self.eps = eps

    def _extra_repr(self) -> str:
        return f"{self.dims}, eps={self.eps}, affine={'weight' in self}"

    def __call__(self, x: mx.array) -> mx.array:
        if x.ndim < 3:
            raise ValueError("InstanceNorm expects inputs with at least 3 dimensions (N, ..., C) "
                             f"but the input has {x.ndim} dimensions.")
        axes = tuple(range(1, x.ndim - 1))
        # statistics in float32, as MLX's (fast.layer_norm): a float16 variance overflows
        xf = x.astype(mx.float32) if x.dtype in (mx.float16, mx.bfloat16) else x
        mean = mx.mean(xf, axis=axes, keepdims=True)
        y = (xf - mean) * mx.rsqrt(mx.var(xf, axis=axes, keepdims=True) + self.eps)
        x = y.astype(x.dtype)
        return self.weight * x + self.bias if "weight" in self else x


class LayerNorm(Module):
    def __init__(self, dims: int, eps: float = 1e-5, affine: bool = True, bias: bool = True):
        super().__init__()
        _check_eps("LayerNorm", eps)
        if affine:
            self.weight = mx.ones((dims,))
            if bias:
                self.bias = mx.zeros((dims,))
        self.eps = eps
        self.dims = dims

    def _extra_repr(self) -> str:
        return f"{self.dims}, eps={self.eps}, affine={'weight' in self}"

    def __call__(self, x):
        return mx.fast.layer_norm(x, self.get("weight"), self.get("bias"), self.eps)


class RMSNorm(Module):
    def __init__(self, dims: int, eps: float = 1e-5):
        super().__init__()
        self.weight = mx.ones((dims,))
        self.eps = eps

    def _extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"

    def __call__(self, x):
        return mx.fast.rms_norm(x, self["weight"], self.eps)


class GroupNorm(Module):
    """Normalise groups of channels. MLX's default groups channels c with c % num_groups equal
    (interleaved); `pytorch_compatible=True` groups consecutive channels."""

    def __init__(self, num_groups: int, dims: int, eps: float = 1e-5, affine: bool = True,
                 pytorch_compatible: bool = False):
        super().__init__()
        _check_eps("GroupNorm", eps)
        if num_groups <= 0:
            raise ValueError(f"The number of groups ({num_groups}) must be a positive integer.")
        if dims <= 0:
            raise ValueError(f"The number of features ({dims}) must be a positive integer.")
        if dims % num_groups != 0:
            raise ValueError(f"The number of features ({dims}) must be evenly divisible by the "
                             f"number of groups ({num_groups}).")
        if affine:
            self.bias = mx.zeros((dims,))
            self.weight = mx.ones((dims,))
        self.num_groups = num_groups
        self.dims = dims
        self.eps = eps
        self.pytorch_compatible = pytorch_compatible

    def _extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.dims}, eps={self.eps}, affine={'weight' in self}, "
                f"pytorch_compatible={self.pytorch_compatible}")

    def __call__(self, x):
        batch, *rest, dims = x.shape
        g = self.num_groups
        if self.pytorch_compatible:
            y = x.reshape(batch, -1, g, dims // g).transpose(0, 2, 1, 3).reshape(batch, g, -1)
            y = mx.fast.layer_norm(y, None, None, self.eps).reshape(batch, g, -1, dims // g)
            x = y.transpose(0, 2, 1, 3).reshape(batch, *rest, dims)
        else:
            y = x.reshape(batch, -1, g)
            mean = mx.mean(y, axis=1, keepdims=True)
            y = (y - mean) * mx.rsqrt(mx.var(y, axis=1, keepdims=True) + self.eps)
            x = y.reshape(batch, *rest, dims)
        return self.weight * x + self.bias if "weight" in self else x


class BatchNorm(Module):
    """Normalise over every axis but the last; running statistics are frozen state (in
    `parameters()`, never in `trainable_parameters()`), updated in training mode."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        _check_eps("BatchNorm", eps)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = mx.ones((num_features,))
            self.bias = mx.zeros((num_features,))
        if track_running_stats:
            self.running_mean = mx.zeros((num_features,))
            self.running_var = mx.ones((num_features,))
            self.freeze(keys=["running_mean", "running_var"], recurse=False)

    def unfreeze(self, *args, **kwargs) -> Module:
        super().unfreeze(*args, **kwargs)
        if self.track_running_stats:
            self.freeze(keys=["running_mean", "running_var"], recurse=False)
        return self

    def _extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={'weight' in self}, track_running_stats={self.track_running_stats}")

    def __call__(self, x: mx.array) -> mx.array:
        if x.ndim < 2 or x.ndim > 4:
            raise ValueError("Expected input tensor to have 2, 3 or 4 dimensions, but got "
                             f"{x.ndim}")
        axes = tuple(range(x.ndim - 1))
        if self.training and x.size // x.shape[-1] == 1:
            raise ValueError("BatchNorm training requires more than one value per channel.")
        mean, var = mx.mean(x, axis=axes), mx.var(x, axis=axes)
        if self.training and self.track_running_stats:
            mu = self.momentum
            unbiased = mx.var(x, axis=axes, ddof=1)
            self.running_mean = (1 - mu) * self.running_mean + mu * mean
            self.running_var = (1 - mu) * self.running_var + mu * unbiased
        elif self.track_running_stats:
            mean, var = self.running_mean, self.running_var
        x = (x - mean) * mx.rsqrt(var + self.eps)
        return self.weight * x + self.bias if "weight" in self else x
