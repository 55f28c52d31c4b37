"""QuantizedLinear, QuantizedEmbedding, QQLinear and `quantize` (swap a model's layers for quantized
ones) on mx.quantize / mx.dequantize / mx.quantized_matmul. Quantized weights are frozen, as in
MLX; every MLX mode ("affine", "mxfp4", "mxfp8", "nvfp4": the latter three have no biases)."""

from __future__ import annotations

import math
from collections.abc import Callable

import mxir as mx
from mxir.utils import tree_map_with_path

from .base import Module

# MLX's (group_size, bits) defaults per mode; unknown modes are refused here, as in MLX
_MODE_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}


def _config(mode: str, group_size: int | None, bits: int | None) -> tuple[int, int]:
    if mode not in _MODE_DEFAULTS:
        raise ValueError(f"Invalid quantization mode '{mode}'. Valid modes are: "
                         f"{', '.join(_MODE_DEFAULTS)}.")
    default_group, default_bits = _MODE_DEFAULTS[mode]
    return group_size or default_group, bits or default_bits


class _Quantized(Module):
    """Holds `weight` (packed uint32), `scales` and `biases` (None in the floating-point
    modes) of a float matrix, frozen."""

    def _set_quantized(self, weight: mx.array) -> None:
        self.weight, self.scales, *biases = mx.quantize(
            weight, self.group_size, self.bits, mode=self.mode)
        self.biases = biases[0] if biases else None

    def _qmatmul(self, x: mx.array) -> mx.array:
        return mx.quantized_matmul(x, self["weight"], scales=self["scales"],
                                   biases=self.get("biases"), transpose=True,
                                   group_size=self.group_size, bits=self.bits, mode=self.mode)


class QuantizedLinear(_Quantized):
    """Linear with a quantized weight: y = x dequantize(W)^T + b."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group_size: int | None = None, bits: int | None = None,
                 mode: str = "affine") -> None:
        super().__init__()
        self.group_size, self.bits = _config(mode, group_size, bits)
        self.mode = mode
        scale = math.sqrt(1 / input_dims)  # Linear's initialisation, then quantized
        self._set_quantized(mx.random.uniform(-scale, scale, (output_dims, input_dims)))
        if bias:
            self.bias = mx.zeros((output_dims,))
        self.freeze()

    def _extra_repr(self) -> str:
        out_dims, words = self.weight.shape
        return (f"input_dims={words * 32 // self.bits}, output_dims={out_dims}, "
                f"bias={'bias' in self}, group_size={self.group_size}, bits={self.bits}, "
                f"mode={self.mode}")

    def __call__(self, x: mx.array) -> mx.array:
        y = self._qmatmul(x)
        return y + self["bias"] if "bias" in self else y

    @classmethod
    def from_linear(cls, linear_layer: Module, group_size: int | None = None,
                    bits: int | None = None, mode: str = "affine") -> QuantizedLinear:
        # built like MLX (a fresh layer, then its weight replaced), so the random stream
        # advances as in MLX; the bias is set after the freeze, so it stays trainable as there
        output_dims, input_dims = linear_layer.weight.shape
        ql = cls(input_dims, output_dims, False, group_size, bits, mode=mode)
        ql._set_quantized(linear_layer.weight)
        if "bias" in linear_layer:
            ql.bias = linear_layer.bias
        return ql


class QuantizedEmbedding(_Quantized):
    """Embedding with a quantized table: rows are dequantized as they are looked up."""

    def __init__(self, num_embeddings: int, dims: int, group_size: int | None = None,
                 bits: int | None = None, mode: str = "affine") -> None:
        super().__init__()
        self.group_size, self.bits = _config(mode, group_size, bits)
        self.mode = mode
        self._set_quantized(mx.random.normal(shape=(num_embeddings, dims),
                                             scale=math.sqrt(1 / dims)))
        self.num_embeddings = num_embeddings
        self.dims = dims
        self.freeze()

    def _extra_repr(self) -> str:
        return (f"{self.num_embeddings}, {self.dims}, group_size={self.group_size}, "
                f"bits={self.bits}, mode={self.mode}")

    def __call__(self, x: mx.array) -> mx.array:
        biases = self.get("biases")
        return mx.dequantize(self["weight"][x], scales=self["scales"][x],
                             biases=None if biases is None else biases[x],
                             group_size=self.group_size,
                             bits=self.bits, mode=self.mode)

    def as_linear(self, x: mx.array) -> mx.array:
        """The table as an output projection (tied weights): x dequantize(W)^T."""
        return self._qmatmul(x)

    @classmethod
    def from_embedding(cls, embedding_layer: Module, group_size: int | None = None,
                       bits: int | None = None, mode: str = "affine") -> QuantizedEmbedding:
        num_embeddings, dims = embedding_layer.weight.shape
        qe = cls(num_embeddings, dims, group_size, bits, mode=mode)
        qe._set_quantized(embedding_layer.weight)
        return qe


class QQLinear(Module):
    """x dequantize(W)^T with x quantized too (mx.qqmm): no bias; "nvfp4" and "mxfp8" are the
    modes qqmm serves. Training keeps W in floating point, quantized on the fly inside qqmm, so
    it has a gradient; `eval()` stores it quantized (`weight` packed, `scales`), `train()`
    dequantizes it back."""

    def __init__(self, input_dims: int, output_dims: int, group_size: int | None = None,
                 bits: int | None = None, mode: str = "nvfp4") -> None:
        super().__init__()
        self.group_size, self.bits = _config(mode, group_size, bits)
        self.mode = mode
        scale = math.sqrt(1 / input_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, input_dims))
        self._quantized = False

    def _extra_repr(self) -> str:
        out_dims, in_dims = self.weight.shape
        if self.weight.dtype == mx.uint32:
            in_dims = in_dims * 32 // self.bits
        return (f"input_dims={in_dims}, output_dims={out_dims}, group_size={self.group_size}, "
                f"bits={self.bits}, mode={self.mode}")

    def quantize(self) -> None:
        if not self._quantized:
            # two results: the modes without biases (an "affine" layer fails to unpack, as MLX)
            self.weight, self.scales = mx.quantize(self.weight, self.group_size, self.bits,
                                                   mode=self.mode)
            self._quantized = True

    def dequantize(self) -> None:
        if self._quantized:
            self.weight = mx.dequantize(self.weight, scales=self.scales,
                                        group_size=self.group_size, bits=self.bits,
                                        mode=self.mode)
            del self.scales
            self._quantized = False

    def _set_training_mode(self, mode: bool) -> None:
        super()._set_training_mode(mode)
        if self._training:
            self.dequantize()
        else:
            self.quantize()

    def __call__(self, x: mx.array) -> mx.array:
        return mx.qqmm(x, self["weight"], scales=self.get("scales"),
                       group_size=self.group_size, bits=self.bits, mode=self.mode)

    @classmethod
    def from_linear(cls, linear_layer: Module, group_size: int | None = None,
                    bits: int | None = None, mode: str = "nvfp4") -> QQLinear:
        """A QQLinear holding `linear_layer`'s weight, in its training mode."""
        output_dims, input_dims = linear_layer.weight.shape
        if linear_layer.get("bias") is not None:
            raise NotImplementedError("QQLinear does not support bias yet.")
        layer = cls(input_dims, output_dims, group_size, bits, mode=mode)
        layer.weight = linear_layer.weight
        layer.train(linear_layer.training)
        return layer


def quantize(model: Module, group_size: int | None = None, bits: int | None = None, *,
             mode: str = "affine", quantize_input: bool = False,
             class_predicate: Callable[[str, Module], bool | dict] | None = None) -> None:
    """Replace, in place, each leaf module of `model` that `class_predicate(path, module)`
    selects (default: those with `to_quantized`) by `module.to_quantized(...)`; a dict from
    the predicate gives that module's own `to_quantized` arguments."""
    if class_predicate is None:
        def class_predicate(_path, m):
            return hasattr(m, "to_quantized")

    def swap(path: str, m: Module) -> Module:
        chosen = class_predicate(path, m)
        if not chosen:
            return m
        if not hasattr(m, "to_quantized"):
            raise ValueError(f"Unable to quantize model of type {type(m)}")
        if isinstance(chosen, bool):
            kwargs = {"group_size": group_size, "bits": bits, "mode": mode}
            if quantize_input:
                kwargs["quantize_input"] = True
            return m.to_quantized(**kwargs)
        if isinstance(chosen, dict):
            if not chosen.get("quantize_input", True):
                chosen.pop("quantize_input")
            return m.to_quantized(**chosen)
        raise ValueError("``class_predicate`` must return a bool or a dict of parameters to "
                         "pass to ``to_quantized``")

    model.update_modules(tree_map_with_path(swap, model.leaf_modules(),
                                            is_leaf=Module.is_module))
