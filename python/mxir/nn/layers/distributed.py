"""Tensor-parallel linear layers and fully sharded modules over `mx.distributed` groups, as MLX's
`mlx.nn.layers.distributed`.

mxir's only group is MLX's singleton group (size 1): each member then holds the whole weight and
every collective returns its input. Nothing here special-cases that size beyond what MLX does
(`sum_gradients` and `fully_shard` are the identity on one process); the sharding, the gathers
and their gradients are written for N members, so they are the multi-process algorithm too."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import mxir as mx
from mxir.utils import tree_flatten, tree_map_with_path, tree_unflatten

from .base import Module
from .linear import Linear
from .quantized import _Quantized

Group = mx.distributed.Group
Segments = int | list
# what a sharding predicate returns: an axis, (axis, segments), or None to leave a weight whole
ShardingPredicate = Callable[[str, mx.array], Any]


@lru_cache
def sum_gradients(group: Group) -> Callable[[mx.array], mx.array]:
    """The identity whose gradient is summed over `group`: each member's input gets the
    cotangents of every member's shard of the output."""
    if group.size() == 1:
        return lambda x: x

    @mx.custom_function
    def identity(x):
        return x

    @identity.vjp
    def identity(x, cotangent, _output):
        return mx.distributed.all_sum(cotangent, group=group)

    return identity


def _split(weight: mx.array, segments, axis: int) -> list[mx.array]:
    """`mx.split`, with `segments` also given as fractions of the axis (a fused QKV matrix
    split as [1/3, 2/3])."""
    if isinstance(segments, int) or isinstance(segments[0], int):
        return mx.split(weight, segments, axis=axis)
    size = weight.shape[axis]
    return mx.split(weight, [int(f * size) for f in segments], axis=axis)


def _shard(parameters: dict, predicate: ShardingPredicate, group: Group | None = None) -> dict:
    """`parameters` with each array the predicate names replaced by this member's shard: every
    segment of the axis is split in N and the member's parts of the segments are joined."""
    group = group or mx.distributed.init()
    members, rank = group.size(), group.rank()

    def shard_one(path: str, weight):
        if not isinstance(weight, mx.array):
            return weight
        how = predicate(path, weight)
        if how is None:
            return weight
        if isinstance(how, int):
            axis, segments = how, 1
        elif isinstance(how, tuple):
            axis, segments = how
        else:
            raise ValueError("The sharding function should return int or tuple[int, list]")
        mine = [_split(part, members, axis)[rank] for part in _split(weight, segments, axis)]
        return mx.contiguous(mx.concatenate(mine, axis=axis))

    return tree_map_with_path(shard_one, parameters)


def _all_to_sharded(segments: Segments) -> ShardingPredicate:
    """Shard the output features: a weight's rows (axis -2), a bias's entries."""
    def predicate(path: str, weight: mx.array):
        if path.endswith("bias"):
            return -1, segments
        return max(weight.ndim - 2, 0), segments
    return predicate


def _sharded_to_all(segments: Segments) -> ShardingPredicate:
    """Shard the input features: a weight's columns; the bias is added once, after the sum."""
    def predicate(path: str, weight: mx.array):
        return None if path.endswith("bias") else (-1, segments)
    return predicate


def _check_sharding(sharding: str) -> None:
    if sharding not in ("all-to-sharded", "sharded-to-all"):
        raise ValueError(f"Sharding type {sharding=} not supported, choose one of "
                         "'all-to-sharded' or 'sharded-to-all'")


def shard_inplace(module: Module, sharding: str | ShardingPredicate, *,
                  segments: Segments = 1, group: Group | None = None) -> None:
    """Replace `module`'s parameters by this member's shards. `sharding` is "all-to-sharded",
    "sharded-to-all" or a predicate `(path, weight) -> axis | (axis, segments) | None`. The
    module's computation is unchanged: it must communicate by itself for the result to be
    right."""
    if isinstance(sharding, str):
        _check_sharding(sharding)
        sharding = (_all_to_sharded if sharding == "all-to-sharded"
                    else _sharded_to_all)(segments)
    module.update(_shard(module.parameters(), sharding, group))


def shard_linear(module: Module, sharding: str, *, segments: Segments = 1,
                 group: Group | None = None) -> Module:
    """A new sharded layer made from a Linear or QuantizedLinear (which is left unchanged)."""
    _check_sharding(sharding)
    if isinstance(module, Linear):
        cls = AllToShardedLinear if sharding == "all-to-sharded" else ShardedToAllLinear
        return cls.from_linear(module, segments=segments, group=group)
    cls = (QuantizedAllToShardedLinear if sharding == "all-to-sharded"
           else QuantizedShardedToAllLinear)
    return cls.from_quantized_linear(module, segments=segments, group=group)


def _shard_count(group: Group, dims: int, output: bool) -> int:
    """dims / N, refused (MLX's message) when the group does not divide it."""
    members = group.size()
    if dims % members:
        raise ValueError(f"Cannot shard the output of size {dims} across {members} devices."
                         if output else
                         f"The input of size {dims} cannot be sharded across {members} "
                         "devices.")
    return dims // members


def _uniform(input_dims: int, shape: tuple[int, ...]) -> mx.array:
    """Linear's initialisation: uniform in ±sqrt(1 / input_dims)."""
    bound = math.sqrt(1.0 / input_dims)
    return mx.random.uniform(low=-bound, high=bound, shape=shape)


class AllToShardedLinear(Module):
    """Each member computes its slice of the output features from the whole input; the input's
    gradient is summed over the group."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group: Group | None = None) -> None:
        super().__init__()
        self.group = group or mx.distributed.init()
        rows = _shard_count(self.group, output_dims, output=True)
        self.weight = _uniform(input_dims, (rows, input_dims))
        if bias:
            self.bias = _uniform(input_dims, (rows,))

    def _extra_repr(self) -> str:
        rows, in_dims = self.weight.shape
        return (f"input_dims={in_dims}, output_dims={rows * self.group.size()}, "
                f"bias={'bias' in self}")

    def __call__(self, x: mx.array) -> mx.array:
        x = sum_gradients(self.group)(x)
        if "bias" in self:
            return mx.addmm(self["bias"], x, self["weight"].T)
        return x @ self["weight"].T

    @classmethod
    def from_linear(cls, linear_layer: Module, *, segments: Segments = 1,
                    group: Group | None = None) -> AllToShardedLinear:
        group = group or mx.distributed.init()
        output_dims, input_dims = linear_layer.weight.shape
        layer = cls(input_dims, output_dims, hasattr(linear_layer, "bias"), group)
        layer.update(_shard(linear_layer.parameters(), _all_to_sharded(segments), group))
        return layer


class ShardedToAllLinear(Module):
    """Each member applies its slice of the input features; the partial products are summed
    over the group, so every member ends with the same output."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group: Group | None = None) -> None:
        super().__init__()
        self.group = group or mx.distributed.init()
        cols = _shard_count(self.group, input_dims, output=False)
        self.weight = _uniform(input_dims, (output_dims, cols))
        if bias:
            self.bias = _uniform(input_dims, (output_dims,))

    def _extra_repr(self) -> str:
        out_dims, cols = self.weight.shape
        return (f"input_dims={cols * self.group.size()}, output_dims={out_dims}, "
                f"bias={'bias' in self}")

    def __call__(self, x: mx.array) -> mx.array:
        y = mx.distributed.all_sum(x @ self["weight"].T, group=self.group)
        return y + self["bias"] if "bias" in self else y

    @classmethod
    def from_linear(cls, linear_layer: Module, *, segments: Segments = 1,
                    group: Group | None = None) -> ShardedToAllLinear:
        group = group or mx.distributed.init()
        output_dims, input_dims = linear_layer.weight.shape
        layer = cls(input_dims, output_dims, hasattr(linear_layer, "bias"), group)
        layer.update(_shard(linear_layer.parameters(), _sharded_to_all(segments), group))
        return layer


class _QuantizedSharded(_Quantized):
    """A sharded layer with a quantized, frozen weight (its bias starts at zero)."""

    def _setup(self, group: Group | None, group_size: int, bits: int, mode: str,
               input_dims: int, shape: tuple[int, ...], bias_dims: int | None) -> None:
        # group_size / bits go to mx.quantize as given, without QuantizedLinear's per-mode
        # defaults, as in MLX (so "nvfp4" with the default 64 is mx.quantize's error)
        self.group_size, self.bits, self.mode = group_size, bits, mode
        self.group = group
        self._set_quantized(_uniform(input_dims, shape))
        if bias_dims is not None:
            self.bias = mx.zeros((bias_dims,))
        self.freeze()

    def unfreeze(self, *args, **kwargs) -> None:
        """Unfreeze the sub-modules; this layer's own parameters stay frozen."""
        super().unfreeze(*args, **kwargs)
        self.freeze(recurse=False)

    def _repr_dims(self, in_dims: int, out_dims: int) -> str:
        return (f"input_dims={in_dims}, output_dims={out_dims}, bias={'bias' in self}, "
                f"group_size={self.group_size}, bits={self.bits}, mode={self.mode}")

    @classmethod
    def _from_quantized(cls, layer: Module, predicate: ShardingPredicate,
                        group: Group | None) -> _QuantizedSharded:
        group = group or mx.distributed.init()
        output_dims, words = layer.weight.shape
        sharded = cls(words * 32 // layer.bits, output_dims, hasattr(layer, "bias"),
                      group_size=layer.group_size, bits=layer.bits,
                      mode=getattr(layer, "mode", "affine"), group=group)
        sharded.update(_shard(layer.parameters(), predicate, group))
        return sharded


class QuantizedAllToShardedLinear(_QuantizedSharded):
    """AllToShardedLinear with a quantized weight (frozen, as QuantizedLinear's)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group_size: int = 64, bits: int = 4, mode: str = "affine",
                 group: Group | None = None) -> None:
        super().__init__()
        group = group or mx.distributed.init()
        rows = _shard_count(group, output_dims, output=True)
        self._setup(group, group_size, bits, mode, input_dims, (rows, input_dims),
                    rows if bias else None)

    def _extra_repr(self) -> str:
        rows, words = self.weight.shape
        return self._repr_dims(words * 32 // self.bits, rows * self.group.size())

    def __call__(self, x: mx.array) -> mx.array:
        y = self._qmatmul(sum_gradients(self.group)(x))
        return y + self["bias"] if "bias" in self else y

    @classmethod
    def from_quantized_linear(cls, quantized_linear_layer: Module, *, segments: Segments = 1,
                              group: Group | None = None) -> QuantizedAllToShardedLinear:
        return cls._from_quantized(quantized_linear_layer, _all_to_sharded(segments), group)


class QuantizedShardedToAllLinear(_QuantizedSharded):
    """ShardedToAllLinear with a quantized weight (frozen, as QuantizedLinear's)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group_size: int = 64, bits: int = 4, mode: str = "affine",
                 group: Group | None = None) -> None:
        super().__init__()
        group = group or mx.distributed.init()
        cols = _shard_count(group, input_dims, output=False)
        self._setup(group, group_size, bits, mode, input_dims, (output_dims, cols),
                    output_dims if bias else None)

    def _extra_repr(self) -> str:
        out_dims, words = self.weight.shape
        return self._repr_dims(words * 32 // self.bits * self.group.size(), out_dims)

    def __call__(self, x: mx.array) -> mx.array:
        y = mx.distributed.all_sum(self._qmatmul(x), group=self.group)
        return y + self["bias"] if "bias" in self else y

    @classmethod
    def from_quantized_linear(cls, quantized_linear_layer: Module, *, segments: Segments = 1,
                              group: Group | None = None) -> QuantizedShardedToAllLinear:
        return cls._from_quantized(quantized_linear_layer, _sharded_to_all(segments), group)


def _make_gather_fn(group: Group, full_shapes: list[tuple[int, ...]], shard_sizes: list[int],
                    compute_dtype: mx.Dtype | None) -> Callable[[list], list]:
    """shards -> full parameters: one all_gather of every shard flattened side by side (cast to
    `compute_dtype`); its gradient is the reduce-scatter of the cotangents, averaged over the
    group and cast back to each shard's dtype."""
    members = group.size()
    bounds = list(itertools.accumulate(shard_sizes))[:-1]
    shard_shapes = [(shape[0] // members, *shape[1:]) for shape in full_shapes]

    def cast(x: mx.array, dtype) -> mx.array:
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)

    @mx.custom_function
    def gather(shards):
        row = mx.concatenate([cast(s.reshape(1, -1), compute_dtype) for s in shards], axis=1)
        full = mx.distributed.all_gather(row, group=group)  # (N, sum of shard sizes)
        return [p.reshape(shape) for p, shape in
                zip(mx.split(full, bounds, axis=1), full_shapes)]

    @gather.vjp
    def gather(shards, cotangents, _outputs):
        rows = mx.concatenate([c.reshape(members, -1) for c in cotangents], axis=1)
        mine = mx.distributed.sum_scatter(rows, group=group) / members
        return [cast(p.reshape(shape), s.dtype) for p, shape, s in
                zip(mx.split(mine, bounds, axis=1), shard_shapes, shards)]

    return gather


def _shardable(module: Module, key: str, value) -> bool:
    """Parameters that a FullyShardedModule shards: all but those of nested sharded modules."""
    return (not isinstance(value, FullyShardedModule)
            and Module.valid_parameter_filter(module, key, value))


class FullyShardedModule(Module):
    """`module` with each parameter split along axis 0 over the group: the full parameters are
    gathered for each call and the gradients reduce-scattered, so each member stores and updates
    only its shard."""

    def __init__(self, module: Module, group: Group | None = None,
                 compute_dtype: mx.Dtype | None = None) -> None:
        super().__init__()
        group = group or mx.distributed.init()
        members = group.size()
        shardable = module.filter_and_map(_shardable)
        flat = tree_flatten(shardable)
        for path, a in flat:
            if a.ndim == 0:
                raise ValueError(f"Cannot shard parameter '{path}' because it is a scalar.")
            if a.shape[0] % members:
                raise ValueError(f"Cannot shard parameter '{path}' with shape {a.shape} across "
                                 f"{members} devices: axis 0 must be divisible by {members}.")
        # a plain attribute, not module state (a list would become a parameter container)
        object.__setattr__(self, "_paths", [path for path, _ in flat])
        module.update(_shard(shardable, lambda p, w: 0, group))
        self.module = module
        self._gather_fn = _make_gather_fn(group, [a.shape for _, a in flat],
                                          [a.size // members for _, a in flat], compute_dtype)

    def _extra_repr(self) -> str:
        return f"num_sharded_params={len(self._paths)}"

    def _gathered_call(self, fn: Callable, *args, **kwargs):
        shards = self.module.filter_and_map(_shardable)
        fulls = self._gather_fn([a for _, a in tree_flatten(shards)])
        self.module.update(tree_unflatten(list(zip(self._paths, fulls))))
        try:
            return fn(*args, **kwargs)
        finally:
            self.module.update(shards)

    def __call__(self, *args, **kwargs):
        return self._gathered_call(self.module, *args, **kwargs)

    def as_linear(self, *args, **kwargs):
        return self._gathered_call(self.module.as_linear, *args, **kwargs)


def fully_shard(module: Module, *, group: Group | None = None,
                compute_dtype: mx.Dtype | None = None) -> Module:
    """`module` wrapped in a FullyShardedModule; unchanged on one process, when it is wrapped
    already, or when it has no parameters to shard."""
    group = group or mx.distributed.init()
    if group.size() == 1 or isinstance(module, FullyShardedModule):
        return module
    wrapped = FullyShardedModule(module, group=group, compute_dtype=compute_dtype)
    return wrapped if wrapped._paths else module
