"""Initializers as in `mlx.nn.init`: each factory returns `initializer(array) -> array` that
draws an array of the argument's shape from mxir's random stream."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np

import mxir as mx


def constant(value: float, dtype=mx.float32) -> Callable[[mx.array], mx.array]:
    return lambda a: mx.full(a.shape, value, dtype=dtype)


def normal(mean: float = 0.0, std: float = 1.0, dtype=mx.float32
           ) -> Callable[[mx.array], mx.array]:
    return lambda a: mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)


def uniform(low: float = 0.0, high: float = 1.0, dtype=mx.float32
            ) -> Callable[[mx.array], mx.array]:
    return lambda a: mx.random.uniform(low, high, a.shape, dtype=dtype)


def identity(dtype=mx.float32) -> Callable[[mx.array], mx.array]:
    def initializer(arr: mx.array) -> mx.array:
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"The input array must be a square matrix but got shape "
                             f"{arr.shape}.")
        return mx.eye(arr.shape[0], dtype=dtype)
    return initializer


def _fans(x: mx.array) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, *kernel, in): kernel sizes multiply both."""
    if x.ndim < 2:
        raise ValueError("Glorot / He initialization requires at least 2 dimensional input but "
                         f"input with {x.ndim} dimensions.")
    receptive = math.prod(x.shape[1:-1])
    return x.shape[-1] * receptive, x.shape[0] * receptive


def _fan(a: mx.array, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Invalid mode: {mode}. Valid modes are: fan_in, fan_out")
    return _fans(a)[mode == "fan_out"]


def glorot_normal(dtype=mx.float32) -> Callable[..., mx.array]:
    def initializer(a: mx.array, gain: float = 1.0) -> mx.array:
        std = gain * math.sqrt(2.0 / sum(_fans(a)))
        return mx.random.normal(shape=a.shape, scale=std, dtype=dtype)
    return initializer


def glorot_uniform(dtype=mx.float32) -> Callable[..., mx.array]:
    def initializer(a: mx.array, gain: float = 1.0) -> mx.array:
        limit = gain * math.sqrt(6.0 / sum(_fans(a)))
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)
    return initializer


def he_normal(dtype=mx.float32) -> Callable[..., mx.array]:
    def initializer(a: mx.array, mode: Literal["fan_in", "fan_out"] = "fan_in",
                    gain: float = 1.0) -> mx.array:
        std = gain / math.sqrt(_fan(a, mode))
        return mx.random.normal(shape=a.shape, scale=std, dtype=dtype)
    return initializer


def he_uniform(dtype=mx.float32) -> Callable[..., mx.array]:
    def initializer(a: mx.array, mode: Literal["fan_in", "fan_out"] = "fan_in",
                    gain: float = 1.0) -> mx.array:
        limit = gain * math.sqrt(3.0 / _fan(a, mode))
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)
    return initializer


def sparse(sparsity: float, mean: float = 0.0, std: float = 1.0, dtype=mx.float32
           ) -> Callable[[mx.array], mx.array]:
    """Normal entries with ceil(sparsity * columns) zeros at random places in every row."""
    def initializer(a: mx.array) -> mx.array:
        if a.ndim != 2:
            raise ValueError("Only tensors with 2 dimensions are supported")
        rows, cols = a.shape
        n_zeros = int(math.ceil(sparsity * cols))
        order = mx.argsort(mx.random.uniform(shape=a.shape), axis=1)
        out = mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)
        out[mx.arange(rows).reshape(rows, 1), order[:, :n_zeros]] = 0
        return out
    return initializer


def orthogonal(gain: float = 1.0, dtype=mx.float32) -> Callable[[mx.array], mx.array]:
    """Q of the QR factorisation of a square normal matrix, signs fixed by R's diagonal (which
    makes Q unique), cut to the argument's shape."""
    def initializer(a: mx.array) -> mx.array:
        if a.ndim != 2:
            raise ValueError("Orthogonal initialization requires a 2D array but got a "
                             f"{a.ndim}D array.")
        rows, cols = a.shape
        n = max(rows, cols)
        q, r = np.linalg.qr(np.array(mx.random.normal(shape=(n, n))))
        q = q * np.sign(np.diag(r))
        return (mx.array(q[:rows, :cols]) * gain).astype(dtype)
    return initializer
