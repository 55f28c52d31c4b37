"""MLX's optimizers. The state (step, learning rate, per-parameter moments) is one tree of
arrays, `optimizer.state`, so `mx.compile(step, inputs=state, outputs=state)` carries it through
a compiled training step exactly as in MLX."""

from __future__ import annotations

from collections.abc import Callable

import mxir as mx
from mxir.utils import tree_flatten, tree_map, tree_merge, tree_reduce, tree_unflatten

from ..nn.layers.base import Module

Schedule = float | Callable[[mx.array], mx.array]
# MLX counts steps in uint64; mxir has no 64-bit unsigned type yet, so uint32 until it does
_STEP_DTYPE = getattr(mx, "uint64", mx.uint32)


class Optimizer:
    """Base class: subclasses give `init_single` (a parameter's state) and `apply_single`
    (one parameter's update; it may write new arrays into its state dict)."""

    def __init__(self, schedulers=None):
        self._initialized = False
        self._state = {"step": mx.array(0, _STEP_DTYPE)}
        self._schedulers = dict(schedulers or {})

    def update(self, model: Module, gradients: dict) -> None:
        model.update(self.apply_gradients(gradients, model))

    def init(self, parameters: dict) -> None:
        """Create the state of every parameter not yet in the state (existing entries kept)."""
        def extend(params, state):
            if isinstance(params, (list, tuple)):
                state = list(state)
                for i in range(len(state)):
                    state[i] = extend(params[i], state[i])
                state.extend(tree_map(lambda _: {}, params[len(state):]))
                return type(params)(state)
            if isinstance(params, dict):
                for k, v in params.items():
                    state[k] = extend(v, state[k]) if k in state else tree_map(lambda _: {}, v)
            return state

        extend(parameters, self._state)
        tree_map(lambda p, s: s or self.init_single(p, s), parameters, self._state)
        self._initialized = True

    def init_single(self, parameter: mx.array, state: dict) -> None:
        raise NotImplementedError()

    def apply_gradients(self, gradients: dict, parameters: dict) -> dict:
        """The updated parameters (a tree shaped like `gradients`); advances the step."""
        if not self._initialized:
            self.init(gradients)
        for name, schedule in self._schedulers.items():
            self.state[name] = schedule(self.step)
        self.state["step"] = self.step + 1
        return tree_map(self.apply_single, gradients, parameters, self.state)

    def apply_single(self, gradient: mx.array, parameter: mx.array, state: dict) -> mx.array:
        raise NotImplementedError()

    @property
    def state(self) -> dict:
        return self._state

    @state.setter
    def state(self, state: dict) -> None:
        self._initialized = False
        self._state = state

    @property
    def step(self) -> mx.array:
        return self.state["step"]

    @property
    def learning_rate(self) -> mx.array:
        return self.state["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, learning_rate) -> None:
        self.state["learning_rate"] = mx.array(learning_rate)

    def _maybe_schedule(self, name: str, param: Schedule) -> None:
        """Keep `param` in the state; a callable is a schedule evaluated at every step."""
        if callable(param):
            self._schedulers[name] = param
            value = param(self.step)
        else:
            value = mx.array(param)
        self.state[name] = value

    def _lr(self, gradient: mx.array) -> mx.array:
        return self.learning_rate.astype(gradient.dtype)


class MultiOptimizer(Optimizer):
    """Several optimizers, each for the parameters its filter (path, array) accepts; the last
    takes the rest."""

    def __init__(self, optimizers, filters: list = []):  # noqa: B006 (MLX's signature)
        super().__init__()
        self._state = {}
        if len(filters) != len(optimizers) - 1:
            raise ValueError(f"Given {len(filters)} filters but {len(optimizers) - 1} needed.")
        self.optimizers = optimizers
        self.filters = list(filters) + [lambda *args, **kwargs: True]

    def _split(self, tree: dict) -> list[dict]:
        if len(self.optimizers) == 1:
            return [tree]
        parts = [[] for _ in self.optimizers]
        for k, g in tree_flatten(tree):
            i = next(i for i, fn in enumerate(self.filters) if fn(k, g))
            parts[i].append((k, g))
        return [tree_unflatten(p) if p else {} for p in parts]

    def init(self, parameters: dict) -> None:
        for o, p in zip(self.optimizers, self._split(parameters)):
            o.init(p)

    def apply_gradients(self, gradients: dict, parameters: dict) -> dict:
        out = {}
        for o, g in zip(self.optimizers, self._split(gradients)):
            out = tree_merge(out, o.apply_gradients(g, parameters))
        return out

    @property
    def state(self) -> dict:
        return {"states": [o.state for o in self.optimizers]}

    @state.setter
    def state(self, state: dict) -> None:
        if "states" not in state or len(state["states"]) != len(self.optimizers):
            raise ValueError("Invalid state provided")
        for o, s in zip(self.optimizers, state["states"]):
            o.state = s

    @property
    def learning_rate(self) -> mx.array:
        return self.optimizers[0].learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate) -> None:
        for o in self.optimizers:
            o.learning_rate = learning_rate


class SGD(Optimizer):
    """v <- momentum v + (1 - dampening) g;  w <- w - lr (g + momentum v if nesterov else v)."""

    def __init__(self, learning_rate: Schedule, momentum: float = 0.0, weight_decay: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening.")
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dampening = dampening
        self.nesterov = nesterov

    def init_single(self, parameter: mx.array, state: dict) -> None:
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        if self.momentum <= 0:
            return parameter - self._lr(gradient) * gradient
        v = self.momentum * state.get("v")
        v = v + ((1 - self.dampening) * gradient if self.dampening > 0 else gradient)
        state["v"] = v
        update = gradient + self.momentum * v if self.nesterov else v
        return parameter - self._lr(gradient) * update


def _check(name: str, ok: bool, what: str, value) -> None:
    if not ok:
        raise ValueError(f"{name} {what}, {value} was provided instead")


class RMSprop(Optimizer):
    def __init__(self, learning_rate: Schedule, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.alpha = alpha
        self.eps = eps
        _check("RMSprop", alpha >= 0.0, "alpha should be >=0", alpha)
        _check("RMSprop", eps > 0.0, "epsilon should be >0", eps)

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        v = self.alpha * state["v"] + (1 - self.alpha) * mx.square(gradient)
        state["v"] = v
        return parameter - self._lr(gradient) * gradient / (mx.sqrt(v) + self.eps)


class Adagrad(Optimizer):
    def __init__(self, learning_rate: Schedule, eps: float = 1e-8):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.eps = eps
        _check("Adagrad", eps > 0.0, "epsilon should be >0", eps)

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        v = state["v"] + mx.square(gradient)
        state["v"] = v
        return parameter - self._lr(gradient) * gradient / (mx.sqrt(v) + self.eps)


class AdaDelta(Optimizer):
    def __init__(self, learning_rate: Schedule, rho: float = 0.9, eps: float = 1e-6):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.rho = rho
        self.eps = eps
        _check("AdaDelta", rho >= 0.0, "rho should be >=0", rho)
        _check("AdaDelta", eps > 0.0, "epsilon should be >0", eps)

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)
        state["u"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        rho, eps = self.rho, self.eps
        v = rho * state["v"] + (1 - rho) * mx.square(gradient)
        d = mx.sqrt(state["u"] + eps) / mx.sqrt(v + eps) * gradient
        state["u"] = rho * state["u"] + (1 - rho) * mx.square(d)
        state["v"] = v
        return parameter - self._lr(gradient) * d


def _check_betas(name: str, betas) -> None:
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name} beta{i + 1} should be in [0, 1), {beta} was provided "
                             "instead")


class Adam(Optimizer):
    """m, v: moving averages of g and g²; w <- w - lr m / (sqrt(v) + eps) (no bias correction
    unless asked, as in MLX)."""

    def __init__(self, learning_rate: Schedule, betas: list[float] = [0.9, 0.999],  # noqa: B006
                 eps: float = 1e-8, bias_correction: bool = False):
        super().__init__()
        _check_betas("Adam", betas)
        _check("Adam", eps >= 0.0, "epsilon should be >=0", eps)
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas = betas
        self.eps = eps
        self.bias_correction = bias_correction

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self._lr(gradient)
        b1, b2 = self.betas
        m = b1 * state["m"] + (1 - b1) * gradient
        v = b2 * state["v"] + (1 - b2) * mx.square(gradient)
        state["m"], state["v"] = m, v
        if not self.bias_correction:
            return parameter - lr * m / (mx.sqrt(v) + self.eps)
        step = self.step
        c1 = (lr / (1 - b1**step)).astype(gradient.dtype)
        c2 = mx.rsqrt(1 - b2**step).astype(gradient.dtype)
        return parameter - c1 * m / (mx.sqrt(v) * c2 + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: w is scaled by (1 - lr weight_decay) first."""

    def __init__(self, learning_rate: Schedule, betas: list[float] = [0.9, 0.999],  # noqa: B006
                 eps: float = 1e-8, weight_decay: float = 0.01, bias_correction: bool = False):
        super().__init__(learning_rate=learning_rate, betas=betas, eps=eps,
                         bias_correction=bias_correction)
        self.weight_decay = weight_decay

    def apply_single(self, gradient, parameter, state):
        decayed = parameter * (1 - self._lr(gradient) * self.weight_decay)
        return super().apply_single(gradient, decayed, state)


class Adamax(Adam):
    """Adam with the infinity norm: v <- max(b2 v, |g|)."""

    def __init__(self, learning_rate: Schedule, betas: list[float] = [0.9, 0.999],  # noqa: B006
                 eps: float = 1e-8):
        super().__init__(learning_rate, betas, eps)

    def apply_single(self, gradient, parameter, state):
        b1, b2 = self.betas
        m = b1 * state["m"] + (1 - b1) * gradient
        v = mx.maximum(b2 * state["v"], mx.abs(gradient))
        state["m"], state["v"] = m, v
        return parameter - self._lr(gradient) * m / (v + self.eps)


class Lion(Optimizer):
    """w <- w - lr sign(b1 m + (1 - b1) g);  m <- b2 m + (1 - b2) g."""

    def __init__(self, learning_rate: Schedule, betas: list[float] = [0.9, 0.99],  # noqa: B006
                 weight_decay: float = 0.0):
        super().__init__()
        _check_betas("Lion", betas)
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas = betas
        self.weight_decay = weight_decay

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self._lr(gradient)
        b1, b2 = self.betas
        m = state["m"]
        c = b1 * m + (1 - b1) * gradient
        state["m"] = b2 * m + (1 - b2) * gradient
        if self.weight_decay > 0:
            parameter = (1 - lr * self.weight_decay) * parameter
        return parameter - lr * mx.sign(c)


class Adafactor(Optimizer):
    """Adafactor: second moments of matrices kept factored as row and column averages; relative
    step sizes and update clipping as in the paper (and MLX)."""

    def __init__(self, learning_rate: Schedule | None = None,
                 eps: tuple[float, float] = (1e-30, 1e-3), clip_threshold: float = 1.0,
                 decay_rate: float = -0.8, beta_1: float | None = None,
                 weight_decay: float = 0.0, scale_parameter: bool = True,
                 relative_step: bool = True, warmup_init: bool = False):
        super().__init__()
        if learning_rate is not None:
            self._maybe_schedule("learning_rate", learning_rate)
        self.eps = eps
        self.clip_threshold = clip_threshold
        self.decay_rate = decay_rate
        self.beta_1 = beta_1
        self.weight_decay = weight_decay
        self.scale_parameter = scale_parameter
        self.relative_step = relative_step
        self.warmup_init = warmup_init

    def init_single(self, parameter, state):
        if parameter.ndim >= 2:
            shape, dtype = parameter.shape, parameter.dtype
            state["exp_avg_sq_row"] = mx.zeros(shape[:-1], dtype=dtype)
            state["exp_avg_sq_col"] = mx.zeros(shape[:-2] + shape[-1:], dtype=dtype)
        else:
            state["exp_avg_sq"] = mx.zeros_like(parameter)
        if self.beta_1 is not None:
            state["exp_avg"] = mx.zeros_like(parameter)

    @staticmethod
    def _rms(x):
        return mx.sqrt(mx.mean(mx.square(x)))

    def _step_size(self, step, parameter_rms):
        if self.relative_step:
            min_step = 1e-6 * step if self.warmup_init else 1e-2
            size = mx.minimum(min_step, mx.rsqrt(step))
        else:
            size = self.learning_rate
        size = size.astype(parameter_rms.dtype)
        return (mx.maximum(self.eps[1], parameter_rms) if self.scale_parameter else 1.0) * size

    def apply_single(self, gradient, parameter, state):
        step = self.step
        parameter_rms = self._rms(parameter)
        lr = self._step_size(step, parameter_rms)
        beta_2 = 1.0 - (step**self.decay_rate).astype(parameter_rms.dtype)
        update = mx.square(gradient) + self.eps[0]
        if gradient.ndim >= 2:
            row = beta_2 * state["exp_avg_sq_row"] + (1 - beta_2) * mx.mean(update, axis=-1)
            col = beta_2 * state["exp_avg_sq_col"] + (1 - beta_2) * mx.mean(update, axis=-2)
            state["exp_avg_sq_row"], state["exp_avg_sq_col"] = row, col
            r = mx.rsqrt(row / mx.mean(row, axis=-1, keepdims=True))
            update = mx.expand_dims(r, -1) * mx.expand_dims(mx.rsqrt(col), -2) * gradient
        else:
            avg = beta_2 * state["exp_avg_sq"] + (1 - beta_2) * update
            state["exp_avg_sq"] = avg
            update = mx.rsqrt(avg) * gradient
        update = update / mx.maximum(1.0, self._rms(update) / self.clip_threshold)
        update = lr * update
        if self.beta_1 is not None:
            update = self.beta_1 * state["exp_avg"] + (1 - self.beta_1) * update
            state["exp_avg"] = update
        if self.weight_decay != 0:
            parameter = parameter + parameter * (-self.weight_decay * lr)
        return parameter - update


class Muon(Optimizer):
    """Momentum whose update of a matrix (or a reshaped higher-rank weight) is orthogonalised
    by five Newton-Schulz iterations; vectors and scalars get the plain momentum update."""

    def __init__(self, learning_rate: Schedule, momentum: float = 0.95,
                 weight_decay: float = 0.01, nesterov: bool = True, ns_steps: int = 5):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.ns_steps = ns_steps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    @staticmethod
    def _orthogonalise(x, steps: int):
        a, b, c = 3.4445, -4.7750, 2.0315  # the quintic's coefficients (Keller Jordan's)
        wide = x.shape[-2] > x.shape[-1]
        if wide:
            x = x.T
        x = x / (mx.sqrt(mx.sum(mx.square(x), keepdims=True)) + 1e-7)
        for _ in range(steps):
            g = x @ x.T
            x = mx.addmm(a * x, mx.addmm(b * g, g, g, alpha=c), x)
        return x.T if wide else x

    def apply_single(self, gradient, parameter, state):
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        v = self.momentum * state["v"] + (1 - self.momentum) * gradient
        state["v"] = v
        update = gradient * (1 - self.momentum) + v * self.momentum if self.nesterov else v
        lr = self._lr(gradient)
        if update.ndim >= 2:
            shape = update.shape
            update = self._orthogonalise(update.reshape(shape[0], -1), self.ns_steps)
            update = update.reshape(shape)
            lr = lr * max(1, update.shape[-2] / update.shape[-1]) ** 0.5
        return parameter - lr * update


def clip_grad_norm(grads, max_norm: float):
    """Scale the gradient tree so that its global L2 norm is at most `max_norm`; returns
    (clipped gradients, the norm before clipping)."""
    if max_norm < 0:
        raise ValueError(f"max_norm should be >=0, {max_norm} was provided instead")

    def squared_norm(g):
        return (g.astype(mx.float32) if g.dtype == mx.float16 else g).square().sum()

    total = mx.sqrt(tree_reduce(lambda acc, g: acc + squared_norm(g), grads, 0.0))
    factor = mx.minimum(max_norm / (total + 1e-6), 1.0)

    def scale(g):
        return (g * factor).astype(g.dtype) if mx.issubdtype(g.dtype, mx.floating) else g * factor

    return tree_map(scale, grads), total
