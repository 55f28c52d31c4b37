"""`value_and_grad` and `checkpoint` over a model's trainable parameters; gradient averaging
and sharded norm clipping over an `mx.distributed` group (mxir's is the singleton group, but
the code is the N-member algorithm)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import wraps
from typing import Any

import mxir as mx
from mxir.utils import tree_flatten, tree_map, tree_reduce, tree_unflatten

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


def _size_groups(sizes: list[int], itemsize: int, limit: int) -> list[list[int]]:
    """Consecutive indices of the arrays, cut after each run that reaches `limit` bytes."""
    groups, current, nbytes = [], [], 0
    for i, size in enumerate(sizes):
        current.append(i)
        nbytes += size * itemsize
        if nbytes >= limit:
            groups.append(current)
            current, nbytes = [], 0
    return groups + [current] if current else groups


def average_gradients(gradients: Any, group: mx.distributed.Group | None = None,
                      all_reduce_size: int = 32 * 1024**2,
                      communication_stream: mx.Stream | None = None) -> Any:
    """The gradient tree averaged over the group's processes (unchanged on one process). Arrays
    of one dtype are sent as flat runs of at least `all_reduce_size` bytes, one all_sum per run;
    `all_reduce_size <= 0` (or mixed dtypes) sends each array alone."""
    group = group or mx.distributed.init()
    members = group.size()
    if members == 1:
        return gradients

    def mean(x: mx.array) -> mx.array:
        return mx.distributed.all_sum(x, group=group, stream=communication_stream) / members

    if all_reduce_size <= 0:
        return tree_map(mean, gradients)
    flat = tree_flatten(gradients)
    if not flat:
        return gradients
    dtypes = {g.dtype for _, g in flat}
    if len(dtypes) > 1:
        return average_gradients(gradients, group, 0, communication_stream)
    sizes = [g.size for _, g in flat]
    averaged = []
    for run in _size_groups(sizes, flat[0][1].dtype.size, all_reduce_size):
        joined = mean(mx.concatenate([flat[i][1].reshape(-1) for i in run]))
        bounds = list(itertools.accumulate(sizes[i] for i in run))[:-1]
        averaged += [(flat[i][0], part.reshape(flat[i][1].shape))
                     for i, part in zip(run, mx.split(joined, bounds))]
    return tree_unflatten(averaged)


def clip_grad_norm_sharded(gradients: Any, max_norm: float,
                           group: mx.distributed.Group | None = None) -> tuple[Any, mx.array]:
    """`optimizers.clip_grad_norm` for gradients sharded over a group: the squared norms of
    the shards are summed over the group before the common rescaling."""
    local = tree_reduce(lambda acc, g: acc + g.square().sum(), gradients, 0.0)
    norm = mx.sqrt(mx.distributed.all_sum(local, group=group))
    factor = mx.minimum(max_norm / (norm + 1e-6), 1.0)
    return tree_map(lambda g: g * factor, gradients), norm
