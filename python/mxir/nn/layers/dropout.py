"""Dropout layers: masks from mxir's random state (so seeded runs equal MLX's), identity in
eval mode."""

from __future__ import annotations

import mxir as mx

from .base import Module


class Dropout(Module):
    """Zero each element with probability p and scale the rest by 1 / (1 - p)."""

    _spatial = 0  # how many axes before the channel axis share one mask value

    def __init__(self, p: float = 0.5):
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError(f"The dropout probability {p} is not in [0, 1)")
        self._p_1 = 1 - p

    def _extra_repr(self) -> str:
        return f"p={1 - self._p_1}"

    def __call__(self, x: mx.array) -> mx.array:
        n = self._spatial
        if n and x.ndim not in (n + 1, n + 2):
            raise ValueError(f"Received input with {x.ndim} dimensions. Expected {n + 1} or "
                             f"{n + 2} dimensions.")
        if self._p_1 == 1 or not self.training:
            return x
        shape = list(x.shape)
        for i in range(2, n + 2):
            shape[-i] = 1
        mask = mx.random.bernoulli(self._p_1, shape)
        return (mask * x) * (1 / self._p_1)


class Dropout2d(Dropout):
    """Drop whole channels of NWHC / WHC inputs."""

    _spatial = 2


class Dropout3d(Dropout):
    """Drop whole channels of NDHWC / DHWC inputs."""

    _spatial = 3
