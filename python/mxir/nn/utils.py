"""`value_and_grad` and `checkpoint` over a model's trainable parameters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import mxir as mx

from .layers.base import Module


def value_and_grad(model: Module, fn: Callable) -> Callable:
    """`fn(*args)`'s value and its gradient with respect to `model.trainable_parameters()`:
    the parameters become the differentiated argument, swapped into the model for the call."""
    def with_params(params, *args, **kwargs):
        model.update(params)
        return fn(*args, **kwargs)

    value_grad = mx.value_and_grad(with_params)

    @wraps(fn)
    def wrapped(*args, **kwargs):
        return value_grad(model.trainable_parameters(), *args, **kwargs)
    return wrapped


def checkpoint(module: Module, fn: Callable | None = None) -> Callable:
    """`fn` (default: the module itself) recomputed in the backward pass (`mx.checkpoint`)."""
    if not hasattr(mx, "checkpoint"):
        raise NotImplementedError("[checkpoint] needs mx.checkpoint, which mxir lacks so far")
    fn = fn or module

    def with_params(params, *args, **kwargs):
        module.update(params)
        return fn(*args, **kwargs)

    checkpointed = mx.checkpoint(with_params)

    @wraps(fn)
    def wrapped(*args, **kwargs):
        return checkpointed(module.trainable_parameters(), *args, **kwargs)
    return wrapped
