"""Upsample (nearest, linear, cubic; align_corners; antialias) over channels-last inputs
(batch, *spatial, channels). The sampling grid of each spatial axis depends only on its size and
scale, so it is computed in NumPy, in float32 as MLX computes it, and each axis is resampled in
turn as a weighted sum of `take`s (interpolation is separable; gradients flow through take)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np

import mxir as mx

from .base import Module

F32 = np.float32
Taps = list[tuple[np.ndarray, np.ndarray]]  # (source index, weight) per tap, one per output


def _grid(n: int, scale: float, align_corners: bool) -> np.ndarray:
    """The source coordinate of each of the int(scale * n) outputs."""
    m = int(scale * n)
    pos = np.arange(m, dtype=F32)
    if align_corners:
        return pos * F32((n - 1) / max(m - 1, 1))
    step = 1 / scale
    return pos * F32(step) - F32(((m - 1) * step - n + 1) / 2)


def _nearest(n: int, scale: float) -> np.ndarray:
    m = int(scale * n)
    pos = np.arange(m, dtype=F32)
    if m > n:
        return np.round((pos + F32(0.5)) * F32(n / m) - F32(0.5)).astype(np.int32)
    return (pos * F32(n / m)).astype(np.int32)


def _linear_taps(n: int, scale: float, align_corners: bool) -> Taps:
    x = np.clip(_grid(n, scale, align_corners), F32(0), F32(n - 1))
    lo, hi = np.floor(x), np.ceil(x)
    w = x - lo
    return [(lo, F32(1) - w), (hi, w)]


def _keys(x: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel at distance x (support 2)."""
    a = F32(a)
    near = ((a + F32(2)) * x - (a + F32(3))) * x * x + F32(1)
    far = (((x - F32(5)) * x + F32(8)) * x - F32(4)) * a
    return np.where(x <= 1, near, np.where(x <= 2, far, F32(0))).astype(F32)


def _cubic_taps(n: int, scale: float, align_corners: bool) -> Taps:
    x = _grid(n, scale, align_corners)
    left = np.floor(x)
    right = np.floor(x + F32(1))
    # a = -0.75 (OpenCV's choice, MLX's without antialias); indices clamp to the border
    return [(g, _keys(np.abs(x - g), -0.75)) for g in (left, right, left - 1, right + 1)]


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(F32(1) - x, F32(0))


def _antialiased_taps(kernel: Callable[[np.ndarray], np.ndarray], radius: float) -> Callable:
    """Taps of `kernel` widened by 1 / scale when downsampling (a low-pass filter), the taps
    outside the input dropped and the rest renormalised to sum to one."""
    def taps(n: int, scale: float, align_corners: bool) -> Taps:
        x = _grid(n, scale, align_corners)
        widen = 1.0 / scale if scale < 1 else 1.0
        reach = math.ceil(radius * widen) + 1
        idx = [np.floor(x) + k for k in range(1 - reach, reach)]
        ws = [np.where((i >= 0) & (i < n), kernel(np.abs(x - i) / F32(widen)), F32(0))
              .astype(F32) for i in idx]
        total = sum(ws)
        total = np.where(total > 0, total, F32(1))
        return [(i, w / total) for i, w in zip(idx, ws)]
    return taps


def _check_spatial(x: mx.array, scale_factor: tuple) -> None:
    if x.ndim - 2 != len(scale_factor):
        raise ValueError("A scale needs to be provided for each spatial dimension")


def _resample(x: mx.array, scale_factor: tuple, taps_fn: Callable, align_corners: bool
              ) -> mx.array:
    _check_spatial(x, scale_factor)
    for axis, scale in enumerate(scale_factor, start=1):
        n = x.shape[axis]
        trailing = (1,) * (x.ndim - axis - 1)  # weights broadcast over the later axes
        terms = [mx.take(x, mx.array(np.clip(i, 0, n - 1).astype(np.int32)), axis)
                 * mx.array(w.reshape(w.shape + trailing))
                 for i, w in taps_fn(n, scale, align_corners)]
        x = sum(terms[1:], terms[0])
    return x


def upsample_nearest(x: mx.array, scale_factor: tuple) -> mx.array:
    _check_spatial(x, scale_factor)
    for axis, scale in enumerate(scale_factor, start=1):
        if scale == int(scale):  # each element repeated
            x = mx.repeat(x, int(scale), axis=axis)
        else:
            x = mx.take(x, mx.array(_nearest(x.shape[axis], scale)), axis)
    return x


def _check_antialias(align_corners: bool, antialias: bool) -> None:
    if antialias and align_corners:
        raise ValueError("[Upsample] antialias=True with align_corners=True is not supported. "
                         "Use align_corners=False for antialiased interpolation.")


def upsample_linear(x: mx.array, scale_factor: tuple, align_corners: bool = False,
                    antialias: bool = False) -> mx.array:
    _check_antialias(align_corners, antialias)
    taps = _antialiased_taps(_triangle, 1.0) if antialias else _linear_taps
    return _resample(x, scale_factor, taps, align_corners)


def upsample_cubic(x: mx.array, scale_factor: tuple, align_corners: bool = False,
                   antialias: bool = False) -> mx.array:
    _check_antialias(align_corners, antialias)
    # with antialias MLX (as PyTorch) takes Keys' a = -0.5, Pillow's choice
    taps = _antialiased_taps(lambda d: _keys(d, -0.5), 2.0) if antialias else _cubic_taps
    return _resample(x, scale_factor, taps, align_corners)


class Upsample(Module):
    """Resize the spatial axes (1 .. ndim-2) of a channels-last input by `scale_factor`."""

    def __init__(self, scale_factor: float | tuple,
                 mode: Literal["nearest", "linear", "cubic"] = "nearest",
                 align_corners: bool = False, antialias: bool = False) -> None:
        super().__init__()
        if mode not in ("nearest", "linear", "cubic"):
            raise ValueError(f"[Upsample] Got unsupported upsampling algorithm: {mode}")
        if antialias and mode == "nearest":
            raise ValueError("[Upsample] Antialiasing is not supported for nearest neighbor "
                             "upsampling")
        _check_antialias(align_corners, antialias)
        if isinstance(scale_factor, (list, tuple)):
            self.scale_factor = tuple(map(float, scale_factor))
        else:
            self.scale_factor = float(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.antialias = antialias

    def _extra_repr(self) -> str:
        text = (f"scale_factor={self.scale_factor}, mode={self.mode!r}, "
                f"align_corners={self.align_corners}")
        return text + (", antialias=True" if self.antialias else "")

    def __call__(self, x: mx.array) -> mx.array:
        dims = x.ndim - 2
        if dims <= 0:
            raise ValueError(f"[Upsample] The input should have at least 1 spatial dimension "
                             f"which means it should be at least 3D but {x.ndim}D was provided")
        scale = self.scale_factor
        if isinstance(scale, tuple):
            if len(scale) != dims:
                raise ValueError(f"[Upsample] One scale per spatial dimension is required but "
                                 f"scale_factor={scale} and the number of spatial dimensions "
                                 f"were {dims}")
        else:
            scale = (scale,) * dims
        if self.mode == "nearest":
            return upsample_nearest(x, scale)
        if self.mode == "linear":
            return upsample_linear(x, scale, self.align_corners, self.antialias)
        return upsample_cubic(x, scale, self.align_corners, self.antialias)
