"""`mx.random`: keys, splitting, and samplers built on the `random_bits` op, as in MLX 0.32.

Every sampler draws one set of bits, from `key` when given, else from the global key sequence
(`state[0]`), which is split on each draw as MLX does; so with the same seed or key the values
equal MLX's up to the rounding of the float math after the bits (the bits are exactly MLX's).
"""

from __future__ import annotations

import math
import numbers
import time

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array

# MLX: the upper end of [0, 1) draws per dtype, so that low + range * u stays below high
_BELOW_ONE = {
    "float32": float(np.nextafter(np.float32(1), np.float32(0))),
    "float16": 1.0 - 2.0**-11,
    "bfloat16": 1.0 - 2.0**-8,
}
_UINT32_MAX = 4294967295.0


def _dtype(dtype, default: dt.Dtype) -> dt.Dtype:
    """MLX's `dtype=None` is the default type (float32, or int32 for randint)."""
    return default if dtype is None else dt.to_dtype(dtype)
_ABOVE_MINUS_ONE = float(np.nextafter(np.float32(-1), np.float32(0)))


def _shape_str(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (numbers.Integral,)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _check_seed(fn: str, seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not (
            0 <= int(seed) < 2**64):
        raise TypeError(f"{fn}(): incompatible function arguments: the seed must be an integer "
                        "in [0, 2**64).")
    return int(seed)


def key(seed: int) -> array:
    """A PRNG key (uint32, shape (2,)) from a 64-bit seed: its high and low words."""
    seed = _check_seed("key", seed)
    return array(np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32), dt.uint32)


# The global key sequence; a list so that `mx.compile(inputs=mx.random.state, ...)` can hold it.
state: list[array] = [key(time.time_ns() & (2**64 - 1))]


def seed(seed: int) -> None:
    """Seed the global key sequence."""
    state[0] = key(_check_seed("seed", seed))


def _next_key() -> array:
    """Split the global key: keep one half as the new state, hand out the other.

    The split is evaluated at once (a tiny cached program): left lazy, the chain of splits
    would grow with every draw, and so would every program that uses a drawn key. Inside a
    trace that reads the key (`mx.compile(inputs=mx.random.state, ...)`) it cannot be evaluated:
    there the split stays in the traced program."""
    if state[0]._node.traced:
        keys = split(state[0])
        state[0] = keys[0]
        return keys[1]
    keys = np.array(split(state[0]))
    state[0] = array(keys[0], dt.uint32)
    return array(keys[1], dt.uint32)


def _check_key(k) -> array:
    if not isinstance(k, array):
        raise TypeError("[bits] The key must be an array.")
    if k.dtype != dt.uint32:
        raise ValueError(f"[bits] Expected key type uint32 but received {k.dtype.name}.")
    if k.shape != (2,):
        raise ValueError(f"[bits] Expected key shape (2) but received {_shape_str(k.shape)}.")
    return k


def bits(shape=(), width: int = 4, key: array | None = None, stream=None) -> array:
    """Random bits: uint32, uint16 or uint8 for width 4, 2 or 1 (the same stream as MLX's)."""
    shape = _shape(shape)
    if width not in (1, 2, 4):
        raise ValueError(f"[bits] Bit width must be in {{1, 2, 4}} but got {width}.")
    k = _check_key(key) if key is not None else _next_key()
    return array._op("random_bits", [k], shape=shape, width=width)


def split(key: array, num: int = 2, stream=None) -> array:
    """`num` new keys from `key`, as an array of shape (num, 2)."""
    return bits((num, 2), 4, key)


def _scalar_or_array(x) -> array:
    return x if isinstance(x, array) else ops.as_array(x)


def uniform(low=0, high=1, shape=(), dtype=dt.float32, key: array | None = None,
            stream=None) -> array:
    """Uniform samples in [low, high)."""
    shape, dtype = _shape(shape), _dtype(dtype, dt.float32)
    if not dt.issubdtype(dtype, dt.floating):
        raise ValueError("[uniform] Can only generate uniform numbers with real floating point "
                         "type.")
    lo = ops.astype(_scalar_or_array(low), dtype)
    hi = ops.astype(_scalar_or_array(high), dtype)
    span = ops.subtract(hi, lo)
    out_shape = ops.broadcast_shapes(shape, span.shape)
    if out_shape != shape:
        raise ValueError(f"[uniform] Cannot generate random values of shape {_shape_str(shape)} "
                         f"from broadcasted shape {_shape_str(out_shape)}.")
    if dtype.name not in _BELOW_ONE:
        raise RuntimeError("[uniform] Unsupported type.")
    upper = ops.constant(_BELOW_ONE[dtype.name], dt.float32)
    u = ops.divide(bits(shape, 4, key), ops.constant(_UINT32_MAX, dt.float32))
    u = ops.astype(ops.minimum(u, upper), dtype)
    return ops.add(ops.multiply(span, u), lo)


def normal(shape=(), dtype=dt.float32, loc=None, scale=None, key: array | None = None,
           stream=None) -> array:
    """Normal samples: sqrt(2) * erfinv of uniform samples in (-1, 1), scaled and shifted."""
    shape, dtype = _shape(shape), _dtype(dtype, dt.float32)
    if dtype == dt.complex64:
        return _complex_normal(shape, loc, scale, key)
    if not dt.issubdtype(dtype, dt.floating):
        raise ValueError("[normal] Only floating point and complex64 types are supported.")
    u = uniform(ops.constant(_ABOVE_MINUS_ONE, dt.float32), ops.constant(1.0, dt.float32), shape,
                dt.float32, key)
    applied_scale = ops.constant(math.sqrt(2.0), dtype)
    if scale is not None:
        applied_scale = ops.multiply(applied_scale, ops.astype(_scalar_or_array(scale), dtype))
    samples = ops.multiply(applied_scale, ops.astype(ops.erfinv(u), dtype))
    if loc is not None:
        samples = ops.add(ops.astype(_scalar_or_array(loc), dtype), samples)
    return samples


def _complex_normal(shape, loc, scale, key) -> array:
    """MLX's: erfinv of (shape..., 2) uniform draws read as (re, im) pairs, so that each part
    has variance 1/2; then scale * z + loc."""
    u = uniform(ops.constant(_ABOVE_MINUS_ONE, dt.float32), ops.constant(1.0, dt.float32),
                tuple(shape) + (2,), dt.float32, key)
    e = ops.erfinv(u)
    re, im = e[..., 0], e[..., 1]
    samples = ops.add(ops.astype(re, dt.complex64),
                      ops.multiply(im, ops.constant(1j, dt.complex64)))
    if scale is not None:
        samples = ops.multiply(_scalar_or_array(scale), samples)
    if loc is not None:
        samples = ops.add(_scalar_or_array(loc), samples)
    return samples


def randint(low, high, shape=(), dtype=dt.int32, key: array | None = None, stream=None) -> array:
    """Integers in [low, high) from a float32 uniform draw, floored, as MLX. low and high may
    not be float32 numbers, so the draw's range can be wider: clamped to [low, high - 1] (a
    draw of 2**24 + 2 for randint(2**24, 2**24 + 2) was returned as it was)."""
    dtype = _dtype(dtype, dt.int32)
    if dt.issubdtype(dtype, dt.floating):
        raise ValueError("[randint] randint only accepts integer dtypes and bool.")
    lo, hi = _scalar_or_array(low), _scalar_or_array(high)
    out = ops.astype(ops.floor(uniform(lo, hi, shape, dt.float32, key)), dtype)
    top = ops.astype(ops.subtract(hi, ops.constant(1, hi.dtype)), dtype)
    return ops.maximum(ops.minimum(out, top), ops.astype(lo, dtype))


def bernoulli(p=0.5, shape=None, key: array | None = None, stream=None) -> array:
    """Booleans that are True with probability `p`."""
    p = _scalar_or_array(p)
    if not dt.issubdtype(p.dtype, dt.floating):
        raise ValueError("[bernoulli] bernoulli probability `p` must be a float type.")
    shape = p.shape if shape is None else _shape(shape)
    res = ops.less(uniform(shape=shape, dtype=p.dtype, key=key), p)
    if res.shape != shape:
        raise ValueError("[bernoulli] shape of `p` is incompatible with argument `shape`.")
    return res


def truncated_normal(lower, upper, shape=None, dtype=dt.float32, key: array | None = None,
                     stream=None) -> array:
    """Normal samples restricted to [lower, upper] (inverse CDF of a narrowed uniform)."""
    dtype = _dtype(dtype, dt.float32)
    if not dt.issubdtype(dtype, dt.floating):
        raise ValueError("[trunc_normal] trunc_normal only accepts floating point dtypes.")
    lower_t = ops.astype(_scalar_or_array(lower), dtype)
    upper_t = ops.astype(_scalar_or_array(upper), dtype)
    if shape is None:
        shape = ops.broadcast_shapes(lower_t.shape, upper_t.shape)
    sqrt2 = ops.constant(math.sqrt(2.0), dtype)
    a = ops.erf(ops.divide(lower_t, sqrt2))
    b = ops.erf(ops.divide(upper_t, sqrt2))
    out = ops.multiply(sqrt2, ops.erfinv(uniform(a, b, shape, dtype, key)))
    return ops.maximum(ops.minimum(upper_t, out), lower_t)


def gumbel(shape=(), dtype=dt.float32, key: array | None = None, stream=None) -> array:
    """Standard Gumbel samples: -log(-log(u))."""
    u = uniform(shape=shape, dtype=dtype, key=key)
    return ops.negative(ops.log(ops.negative(ops.log(u))))


def laplace(shape=(), dtype=dt.float32, loc: float = 0.0, scale: float = 1.0,
            key: array | None = None, stream=None) -> array:
    """Laplace samples by the inverse CDF of a uniform draw in (-1, 1)."""
    dtype = _dtype(dtype, dt.float32)
    if not dt.issubdtype(dtype, dt.floating):
        raise ValueError("[laplace] Can only generate uniform numbers with realfloating point "
                         "type.")
    u = uniform(ops.constant(_ABOVE_MINUS_ONE, dt.float32), ops.constant(1.0, dt.float32),
                shape, dt.float32, key)
    samples = ops.multiply(ops.sign(u), ops.log1p(ops.multiply(ops.constant(-1.0, dt.float32),
                                                               ops.abs(u))))
    samples = ops.astype(samples, dtype)
    if scale != 1.0:
        samples = ops.multiply(ops.constant(scale, dtype), samples)
    if loc != 0.0:
        samples = ops.add(ops.constant(loc, dtype), samples)
    return samples


def categorical(logits, axis: int = -1, shape=None, num_samples=None, key: array | None = None,
                stream=None) -> array:
    """Indices (uint32) sampled from the softmax of `logits` along `axis` (Gumbel-max)."""
    logits = _scalar_or_array(logits)
    if shape is not None and num_samples is not None:
        raise ValueError("[categorical] At most one of shape or num_samples can be specified.")
    nd = logits.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"[categorical] Invalid axis {axis} for logits with {nd} dimensions.")
    axis %= nd
    reduced = logits.shape[:axis] + logits.shape[axis + 1:]
    if num_samples is not None:
        logits = ops.expand_dims(logits, -1)
        shape = reduced + (int(num_samples),)
    elif shape is None:
        shape = reduced
    else:
        shape = _shape(shape)
        if ops.broadcast_shapes(shape, reduced) != shape:
            raise ValueError(f"[categorical] Requested shape {_shape_str(shape)} is not broadcast "
                             f"compatible with reduced logits shape{_shape_str(reduced)}.")
    n = logits.shape[axis]
    if n > 0 and logits.size == n and shape:  # one distribution: MLX inverts its CDF
        return _categorical_inverse_cdf(ops.reshape(logits, (n,)), shape, key)
    offset = axis + len(shape) - logits.ndim + 1
    gumbel_shape = shape[:offset] + (logits.shape[axis],) + shape[offset:]
    scores = ops.add(gumbel(gumbel_shape, dt.float32, key), logits)
    return array._op("argmax", [scores], axis=offset, keepdims=False)


def _categorical_inverse_cdf(logits: array, shape: tuple, key) -> array:
    """MLX's sampler for a single distribution: uniform draws scaled by the total weight,
    located in the exclusive running sum of exp(logits - max) (the maximal entries, uniformly,
    when the max is infinite)."""
    from .array_ops import searchsorted
    from .scan_ops import cumsum

    x = ops.astype(logits, dt.promote_types(logits.dtype, dt.float32))
    top = ops.max(x)
    w = ops.where(ops.isinf(top), ops.astype(ops.equal(x, top), x.dtype),
                  ops.exp(ops.subtract(x, top)))
    cdf = cumsum(w, 0, inclusive=False)
    u = ops.multiply(uniform(shape=shape, dtype=dt.float32, key=key), ops.sum(w))
    return ops.subtract(searchsorted(cdf, u, side="right"), ops.constant(1, dt.uint32))


def permutation(x, axis: int = 0, key: array | None = None, stream=None) -> array:
    """A random permutation of `arange(x)` (uint32), or `x` shuffled along `axis`: the order
    that sorts a draw of random bits (MLX's stream: the same key gives the same order)."""
    from .scan_ops import argsort

    if isinstance(x, int):
        return ops.astype(argsort(bits((x,), key=key)), dt.uint32)
    x = ops.as_array(x)
    return ops.take(x, argsort(bits((x.shape[axis],), key=key)), axis)


def multivariate_normal(mean: array, cov: array, shape=(), dtype=dt.float32,
                        key: array | None = None, stream=None) -> array:
    """Samples of N(mean, cov) (float32 only), batch shapes of `mean`, `cov` and `shape`
    broadcast: mean + z @ sqrt(cov), with z standard normal and the square root from the SVD
    cov = U S Vt as U sqrt(S) Vt, as MLX (so the same key gives MLX's samples). Like MLX's
    linalg, this runs on the CPU."""
    from . import linalg
    from .join_ops import matmul

    if not (isinstance(mean, array) and isinstance(cov, array)):
        raise TypeError("multivariate_normal(): incompatible function arguments: mean and cov "
                        "must be arrays.")
    k = key if key is not None else _next_key()  # drawn first, as MLX's binding does
    if dtype is not None and dt.to_dtype(dtype) != dt.float32:
        raise ValueError("[multivariate_normal] dtype must be float32.")
    if mean.ndim < 1:
        raise ValueError("[multivariate_normal] mean must have at least one dimension.")
    if cov.ndim < 2:
        raise ValueError("[multivariate_normal] cov must have at least two dimensions.")
    n = mean.shape[-1]
    if cov.shape[-1] != cov.shape[-2]:
        raise ValueError("[multivariate_normal] last two dimensions of cov must be equal.")
    if cov.shape[-1] != n:
        raise ValueError("[multivariate_normal] mean and cov must have compatible shapes.")
    batch = ops.broadcast_shapes(ops.broadcast_shapes(cov.shape[:-2], mean.shape[:-1]),
                                 _shape(shape))
    u, s, vt = linalg.svd(ops.astype(cov, dt.float32), stream=stream)
    root = matmul(ops.multiply(u, ops.expand_dims(ops.sqrt(s), -2)), vt)
    z = normal(batch + (n,), dt.float32, key=k)
    return ops.add(mean, ops.squeeze(matmul(ops.expand_dims(z, -2), root), -2))


__all__ = ["bernoulli", "bits", "categorical", "gumbel", "key", "laplace", "multivariate_normal",
           "normal", "permutation", "randint", "seed", "split", "state", "truncated_normal",
           "uniform"]
