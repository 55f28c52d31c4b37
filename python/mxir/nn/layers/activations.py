"""MLX's activations, each as a function and as a parameter-free Module class."""

from __future__ import annotations

import math

import mxir as mx

from .base import Module

__all__ = ["CELU", "ELU", "GELU", "GLU", "HardShrink", "HardTanh", "Hardswish", "LeakyReLU",
           "LogSigmoid", "LogSoftmax", "Mish", "PReLU", "ReLU", "ReLU2", "ReLU6", "SELU", "SiLU",
           "Sigmoid", "Softmax", "Softmin", "Softplus", "Softshrink", "Softsign", "Step", "Tanh",
           "celu", "elu", "gelu", "gelu_approx", "gelu_fast_approx", "glu", "hard_shrink",
           "hard_tanh", "hardswish", "leaky_relu", "log_sigmoid", "log_softmax", "mish", "prelu",
           "relu", "relu2", "relu6", "selu", "sigmoid", "silu", "softmax", "softmin", "softplus",
           "softshrink", "softsign", "step", "tanh"]


def sigmoid(x):
    return mx.sigmoid(x)


def relu(x):
    return mx.maximum(x, 0)


def relu2(x):
    return mx.square(mx.maximum(x, 0))


def relu6(x):
    return mx.minimum(mx.maximum(x, 0), 6.0)


def leaky_relu(x, negative_slope=0.01):
    return mx.maximum(negative_slope * x, x)


def log_softmax(x, axis=-1):
    # shifted by the max first, as MLX: x - logsumexp(x) of large equal logits loses the
    # normalizer (1e8 - (1e8 + log 2) rounds to 0)
    x = x - mx.stop_gradient(mx.max(x, axis=axis, keepdims=True))
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    return mx.where(x > 0, x, alpha * (mx.exp(x) - 1))


def softmax(x, axis=-1):
    return mx.softmax(x, axis=axis)


def softplus(x):
    return mx.logaddexp(x, 0)


def softsign(x):
    return mx.divide(x, 1 + mx.abs(x))


def softshrink(x, lambd: float = 0.5):
    return mx.where(mx.abs(x) > lambd, x - mx.sign(x) * lambd, 0)


def celu(x, alpha=1.0):
    return mx.maximum(x, 0.0) + alpha * (mx.exp(mx.minimum(x, 0.0) / alpha) - 1)


def silu(x):
    return x * mx.sigmoid(x)


def log_sigmoid(x):
    return -softplus(-x)


def gelu(x) -> mx.array:
    return x * (1 + mx.erf(x / math.sqrt(2))) / 2


def gelu_approx(x):
    return 0.5 * x * (1 + mx.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_fast_approx(x):
    return x * mx.sigmoid(1.702 * x)


def glu(x: mx.array, axis: int = -1) -> mx.array:
    a, b = mx.split(x, indices_or_sections=2, axis=axis)
    return a * mx.sigmoid(b)


def step(x: mx.array, threshold: float = 0.0):
    return mx.where(x >= threshold, 1, 0)  # the threshold itself steps up, as MLX


def selu(x):
    return elu(x, 1.67326) * 1.0507


def prelu(x: mx.array, alpha: mx.array) -> mx.array:
    return mx.maximum(0, x) + alpha * mx.minimum(0, x)


def mish(x: mx.array) -> mx.array:
    return x * mx.tanh(softplus(x))


def hardswish(x):
    return x * mx.minimum(mx.maximum(x + 3, 0), 6) / 6


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    return mx.minimum(mx.maximum(x, min_val), max_val)


def hard_shrink(x, lambd=0.5):
    return mx.where(mx.abs(x) > lambd, x, 0)


def softmin(x, axis=-1):
    return mx.softmax(-x, axis=axis)


def tanh(x):
    return mx.tanh(x)


def _activation(fn):
    """A parameter-free Module class calling `fn`."""
    def make(cls):
        cls.__call__ = lambda self, x: fn(x)
        return cls
    return make


@_activation(sigmoid)
class Sigmoid(Module):
    pass


@_activation(mish)
class Mish(Module):
    pass


@_activation(relu)
class ReLU(Module):
    pass


@_activation(relu2)
class ReLU2(Module):
    pass


@_activation(relu6)
class ReLU6(Module):
    pass


@_activation(softmax)
class Softmax(Module):
    pass


@_activation(softplus)
class Softplus(Module):
    pass


@_activation(softsign)
class Softsign(Module):
    pass


@_activation(silu)
class SiLU(Module):
    pass


@_activation(log_softmax)
class LogSoftmax(Module):
    pass


@_activation(log_sigmoid)
class LogSigmoid(Module):
    pass


@_activation(tanh)
class Tanh(Module):
    pass


@_activation(hardswish)
class Hardswish(Module):
    pass


@_activation(selu)
class SELU(Module):
    pass


@_activation(hard_tanh)
class HardTanh(Module):
    pass


@_activation(softmin)
class Softmin(Module):
    pass


class _WithParameter(Module):
    """An activation with one hyper-parameter `name` (a plain attribute, not state)."""

    fn = staticmethod(lambda x, p: x)
    name = ""

    def __init__(self, value):
        super().__init__()
        setattr(self, "_" + self.name, value)

    def __call__(self, x):
        return type(self).fn(x, getattr(self, "_" + self.name))


class GLU(_WithParameter):
    fn, name = staticmethod(lambda x, a: glu(x, a)), "axis"

    def __init__(self, axis: int = -1):
        super().__init__(axis)


class LeakyReLU(_WithParameter):
    fn, name = staticmethod(leaky_relu), "negative_slope"

    def __init__(self, negative_slope=1e-2):
        super().__init__(negative_slope)


class ELU(_WithParameter):
    fn, name = staticmethod(elu), "alpha"

    def __init__(self, alpha=1.0):
        super().__init__(alpha)


class CELU(_WithParameter):
    fn, name = staticmethod(celu), "alpha"

    def __init__(self, alpha=1.0):
        super().__init__(alpha)


class Softshrink(_WithParameter):
    fn, name = staticmethod(softshrink), "lambd"

    def __init__(self, lambd=0.5):
        super().__init__(lambd)


class HardShrink(_WithParameter):
    fn, name = staticmethod(hard_shrink), "lambd"

    def __init__(self, lambd=0.5):
        super().__init__(lambd)


class Step(_WithParameter):
    fn, name = staticmethod(step), "threshold"

    def __init__(self, threshold: float = 0.0):
        super().__init__(threshold)


class PReLU(Module):
    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.weight = mx.full([num_parameters], init)

    def __call__(self, x: mx.array):
        return prelu(x, self.weight)


class GELU(Module):
    def __init__(self, approx="none"):
        super().__init__()
        allowed = ["none", "precise", "tanh", "fast"]
        if approx not in allowed:
            raise ValueError(f"The approximation should be in {allowed} but '{approx}' was "
                             "given")
        self._approx = approx

    def __call__(self, x):
        if self._approx == "none":
            return gelu(x)
        return gelu_approx(x) if self._approx in ("precise", "tanh") else gelu_fast_approx(x)
