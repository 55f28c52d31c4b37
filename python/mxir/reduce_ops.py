"""Reductions and the composites built on them (MLX signatures): prod, max, min, all, any,
argmax, argmin, logsumexp, softmax; also installs the matching `array` methods."""

from __future__ import annotations

from . import dtypes as dt
from . import ops
from .array import array

__all__ = ["all", "any", "argmax", "argmin", "logsumexp", "max", "min", "prod", "softmax"]


def _reduce(name: str, a, axis, keepdims) -> array:
    axes = ops.normalize_axes(axis, a.ndim)
    return array._op(name, [a], axes=axes, keepdims=bool(keepdims))


def prod(a, /, axis=None, keepdims=False, *, stream=None) -> array:
    a = ops.as_array(a)
    return _reduce("prod", ops.widen_for_sum(a, axis), axis, keepdims)


def _extremum(name: str):
    def fn(a, /, axis=None, keepdims=False, *, stream=None) -> array:
        a = ops.as_array(a)
        axes = ops.normalize_axes(axis, a.ndim)  # MLX checks the axes first
        for ax in sorted(axes):  # an empty array reduced over nonempty axes is fine
            if a.shape[ax] == 0:
                raise ValueError(f"[{name}] Cannot {name} reduce over axis {ax} with size 0.")
        return _reduce(name, a, axis, keepdims)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name.title()} reduction over `axis` (all axes when None); NaN propagates."
    return fn


max = _extremum("max")  # noqa: A001
min = _extremum("min")  # noqa: A001


def all(a, /, axis=None, keepdims=False, *, stream=None) -> array:  # noqa: A001
    """True where every element along `axis` is nonzero (an empty reduction is True)."""
    return _reduce("min", ops.astype(ops.as_array(a), dt.bool_), axis, keepdims)


def any(a, /, axis=None, keepdims=False, *, stream=None) -> array:  # noqa: A001
    """True where some element along `axis` is nonzero (an empty reduction is False)."""
    return _reduce("max", ops.astype(ops.as_array(a), dt.bool_), axis, keepdims)


def _arg_reduce(name: str):
    def fn(a, /, axis=None, keepdims=False, *, stream=None) -> array:
        a = ops.as_array(a)
        if axis is not None and not isinstance(axis, int):
            raise TypeError(f"{name}(): axis must be an int or None, got {type(axis).__name__}")
        if a.size == 0:
            raise ValueError(f"[{name}] Cannot {name} reduce zero size array.")
        if axis is None:  # over the flattened array, as MLX
            r = array._op(name, [ops.reshape(a, (a.size,))], axis=0, keepdims=True)
            return ops.reshape(r, (1,) * a.ndim if keepdims else ())
        (ax,) = ops.normalize_axes(axis, a.ndim)
        return array._op(name, [a], axis=ax, keepdims=bool(keepdims))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Indices (uint32) of the first {name[3:]}imum along `axis` (of the flattened "
                  "array when None).")
    return fn


argmax = _arg_reduce("argmax")
argmin = _arg_reduce("argmin")


def _isinf(x: array) -> array:
    return ops.equal(ops.abs(x), ops.constant(float("inf"), x.dtype))


def logsumexp(a, /, axis=None, keepdims=False, *, stream=None) -> array:
    """log(sum(exp(a))) along `axis`, shifted by the maximum so it neither overflows nor
    underflows; an infinite maximum is the result itself (as MLX)."""
    a = ops._float(a)
    if a.size == 0:
        raise ValueError("[logsumexp] Received empty array.")
    axes = ops.normalize_axes(axis, a.ndim)
    peak = ops.stop_gradient(_reduce("max", a, axes, True))
    shifted = ops.exp(ops.subtract(a, peak))  # noqa: F821  (exp comes from the op table)
    out = ops.log(_reduce("sum", shifted, axes, keepdims))  # noqa: F821
    peak_out = peak if keepdims else ops.squeeze(peak, axes)
    return ops.where(_isinf(peak_out), peak_out, ops.add(out, peak_out))


def softmax(a, /, axis=None, *, precise=False, stream=None) -> array:
    """exp(a - max) / sum(exp(a - max)) along `axis` (all axes when None); `precise` computes
    half-precision inputs in float32."""
    if type(a) is array and type(axis) is int and ops.shapeless.recording is None:
        t = a._node.types[a._index]  # the nodes the general path makes, without its checks
        shape = t.shape
        if (t.dtype == "float32" or t.dtype in dt.FLOATS and not precise) and (
                -len(shape) <= axis < len(shape) and 0 not in shape):
            keep = {"axes": (axis % len(shape),), "keepdims": True}
            peak = array._op("stop_gradient", [array._op("max", [a], **keep)])
            if peak._node.types[0] is not t:
                peak = array._op("broadcast_to", [peak], shape=shape)
            e = array._op("exp", [array._op("subtract", [a, peak])])
            total = array._op("sum", [e], **keep)
            if total._node.types[0] is not t:
                total = array._op("broadcast_to", [total], shape=shape)
            return array._op("divide", [e, total])
    a = ops._float(a)
    if a.size == 0:
        return a
    out_dtype = a.dtype
    if precise and a.dtype in (dt.float16, dt.bfloat16):
        a = ops.astype(a, dt.float32)
    axes = ops.normalize_axes(axis, a.ndim)
    peak = ops.stop_gradient(_reduce("max", a, axes, True))
    e = ops.exp(ops.subtract(a, peak))  # noqa: F821
    return ops.astype(ops.divide(e, _reduce("sum", e, axes, True)), out_dtype)


def _install_methods() -> None:
    def method(fn):
        return lambda self, axis=None, keepdims=False, *, stream=None: fn(self, axis, keepdims)

    for fn in (max, min, prod, all, any, argmax, argmin, logsumexp):
        setattr(array, fn.__name__, method(fn))


_install_methods()
