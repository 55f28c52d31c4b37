"""MLX's convolutions (channels last: input (N, *spatial, C_in), weight (C_out, *kernel,
C_in / groups)) as composites of existing ops, im2col style: zeros inserted for input dilation,
pad (or crop, for negative padding), one strided slice per kernel position, stacked and
contracted with the weight by a matmul (batched over groups). So grad, vmap, jvp and compile
apply with no rule of their own."""

from __future__ import annotations

import math
from collections.abc import Sequence

from . import dtypes as dt
from . import ops
from .array import array


def _shape_str(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def _tuple(value, n: int, what: str) -> tuple[int, ...]:
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n:
        raise ValueError(f"[conv] Invalid {what} {_shape_str(values)} for {n}D convolution.")
    return values


def _dilate(x: array, axis: int, factor: int) -> array:
    """Insert factor - 1 zeros between neighbours along `axis`."""
    if factor == 1 or x.shape[axis] <= 1:
        return x
    n = x.shape[axis]
    y = ops.expand_dims(x, axis + 1)
    widths = [(0, 0)] * y.ndim
    widths[axis + 1] = (0, factor - 1)
    y = ops.pad(y, widths)
    y = y.reshape(*x.shape[:axis], n * factor, *x.shape[axis + 1:])
    return _slice(y, axis, 0, (n - 1) * factor + 1, 1)


def _slice(x: array, axis: int, start: int, stop: int, step: int) -> array:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


def _pad(x: array, axis: int, lo: int, hi: int) -> array:
    if not (lo or hi):
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    return ops.pad(x, widths)


def conv_general(input: array, weight: array, /, stride: int | Sequence[int] = 1,  # noqa: A002
                 padding: int | Sequence[int] | tuple[Sequence[int], Sequence[int]] = 0,
                 kernel_dilation: int | Sequence[int] = 1,
                 input_dilation: int | Sequence[int] = 1, groups: int = 1, flip: bool = False,
                 *, stream=None) -> array:
    """General N-D (N = 1, 2, 3) convolution with strides, padding (symmetric, or (low, high)
    lists), kernel and input dilation, groups; `flip` flips the kernel (true convolution)."""
    x, w = ops.as_array(input), ops.as_array(weight)
    n = x.ndim - 2
    for a, name in ((x, "input"), (w, "weight")):
        if not dt.issubdtype(a.dtype, dt.floating):
            raise ValueError(f"[conv] Invalid {name} array with type {a.dtype.name}. "
                             "Convolution currently only supports floating point types")
    if n < 1 or n > 3:
        raise ValueError("[conv] Only works for inputs with 1-3 spatial dimensions. The inputs "
                         "must be in the format [N, ..., C_in]")
    if w.ndim != x.ndim:
        raise ValueError(f"[conv] Invalid weight array with {w.ndim} dimensions for {n}D "
                         f"convolution. Expected an array with {x.ndim} dimensions following "
                         "the format [C_out, ..., C_in].")
    c_in, c_out = x.shape[-1], w.shape[0]
    if groups < 1 or c_in % groups:
        raise ValueError("[conv] The input channels must be divisible by the number of groups. "
                         f"Got input with shape {_shape_str(x.shape)} and {groups} groups.")
    if groups > 1 and c_out % groups:
        raise ValueError("[conv] If groups > 1, the output channels must be divisible by the "
                         f"number of groups. Got {c_out} output channels and {groups} groups.")
    if w.shape[-1] * groups != c_in:
        raise ValueError("[conv] Expect the input channels in the input and weight array to "
                         f"match but got shapes - input: {_shape_str(x.shape)} and weight: "
                         f"{_shape_str(w.shape)}")
    strides = _tuple(stride, n, "strides")
    k_dil = _tuple(kernel_dilation, n, "kernel dilation")
    i_dil = _tuple(input_dilation, n, "input dilation")
    for values, what in ((strides, "Stride"), (k_dil, "Kernel dilation"),
                         (i_dil, "Input dilation")):
        if min(values) < 1:
            plural = "strides" if what == "Stride" else what.lower()
            raise ValueError(f"[conv] {what} sizes must be positive. Got {plural} "
                             f"{_shape_str(values)}.")
    if isinstance(padding, tuple) and len(padding) == 2 and not isinstance(padding[0], int):
        lo, hi = tuple(padding[0]), tuple(padding[1])
        if len(lo) != n or len(hi) != n:
            raise ValueError(f"[conv] Invalid padding {_shape_str(lo)} | {_shape_str(hi)} for "
                             f"{n}D convolution.")
    else:
        lo = hi = _tuple(padding, n, "padding")

    kernel = w.shape[1:-1]
    # negative padding crops the input itself, before any dilation (as MLX does)
    for i in range(n):
        x = _slice(x, i + 1, max(-lo[i], 0), x.shape[i + 1] - max(-hi[i], 0), 1)
    lo, hi = tuple(max(p, 0) for p in lo), tuple(max(p, 0) for p in hi)
    cropped = x.shape
    for i in range(n):
        x = _pad(_dilate(x, i + 1, i_dil[i]), i + 1, lo[i], hi[i])
        if x.shape[i + 1] < (kernel[i] - 1) * k_dil[i] + 1:
            raise ValueError("[conv] Spatial dimensions of input after padding cannot be smaller "
                             f"than weight spatial dimensions. Got error at axis {i + 1} for "
                             f"input with shape {_shape_str(cropped)}, padding low "
                             f"{_shape_str(lo)}, padding high {_shape_str(hi)}, and weight of "
                             f"shape {_shape_str(w.shape)}.")
    cols = windows(x, kernel, strides, k_dil, flip)  # (N, *out, K, C_in)
    out, k = cols.shape[1:-2], math.prod(kernel)
    m = x.shape[0] * math.prod(out)
    cg, og = c_in // groups, c_out // groups
    if groups == 1:
        y = cols.reshape(m, k * c_in) @ w.reshape(c_out, k * c_in).T
    else:
        cols = cols.reshape(m, k, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, k * cg)
        wg = w.reshape(groups, og, k * cg).transpose(0, 2, 1)
        y = (cols @ wg).transpose(1, 0, 2)
    return y.reshape(x.shape[0], *out, c_out)


def windows(x: array, kernel: Sequence[int], strides: Sequence[int],
            dilation: Sequence[int] | None = None, flip: bool = False) -> array:
    """The sliding windows of x (N, *spatial, C) as (N, *out, prod(kernel), C): one strided
    slice per kernel position, positions in row-major order (reversed when `flip`)."""
    n = len(kernel)
    dilation = dilation or (1,) * n
    out = [(x.shape[i + 1] - (kernel[i] - 1) * dilation[i] - 1) // strides[i] + 1
           for i in range(n)]
    patches = []
    for pos in _positions(kernel):
        window = x
        for i, p in enumerate(pos):
            start = (kernel[i] - 1 - p if flip else p) * dilation[i]
            window = _slice(window, i + 1, start, start + (out[i] - 1) * strides[i] + 1,
                            strides[i])
        patches.append(window)
    return ops.stack(patches, axis=-2)


def _positions(kernel: Sequence[int]):
    if not kernel:
        yield ()
        return
    for p in range(kernel[0]):
        for rest in _positions(kernel[1:]):
            yield (p, *rest)


def _conv_n(n: int, input, weight, stride, padding, dilation, groups) -> array:
    x, w = ops.as_array(input), ops.as_array(weight)
    if x.ndim != n + 2 and x.ndim >= 3 and x.ndim <= 5:
        raise ValueError(f"[conv] Invalid input array with {x.ndim} dimensions for {n}D "
                         f"convolution. Expected an array with {n + 2} dimensions following "
                         "the format [N, ..., C_in].")
    if x.ndim != n + 2:
        raise ValueError("[conv] Only works for inputs with 1-3 spatial dimensions. The inputs "
                         "must be in the format [N, ..., C_in]")
    return conv_general(x, w, _tuple(stride, n, "strides"), _tuple(padding, n, "padding"),
                        _tuple(dilation, n, "kernel dilation"), 1, groups)


def conv1d(input: array, weight: array, /, stride: int = 1, padding: int = 0,  # noqa: A002
           dilation: int = 1, groups: int = 1, *, stream=None) -> array:
    return _conv_n(1, input, weight, stride, padding, dilation, groups)


def conv2d(input: array, weight: array, /, stride: int | tuple[int, int] = 1,  # noqa: A002
           padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
           groups: int = 1, *, stream=None) -> array:
    return _conv_n(2, input, weight, stride, padding, dilation, groups)


def conv3d(input: array, weight: array, /, stride: int | tuple[int, int, int] = 1,  # noqa: A002
           padding: int | tuple[int, int, int] = 0, dilation: int | tuple[int, int, int] = 1,
           groups: int = 1, *, stream=None) -> array:
    return _conv_n(3, input, weight, stride, padding, dilation, groups)


def _conv_transpose_n(n: int, input, weight, stride, padding, dilation, output_padding,
                      groups) -> array:
    """The transpose (gradient) of a strided convolution: the input dilated by the stride, then
    a flipped-kernel convolution padded by dilation * (k - 1) - padding (+ output_padding at
    the high end)."""
    w = ops.as_array(weight)
    strides = _tuple(stride, n, "strides")
    pads = _tuple(padding, n, "padding")
    dils = _tuple(dilation, n, "kernel dilation")
    outs = _tuple(output_padding, n, "output padding")
    kernel = w.shape[1:-1] if w.ndim == n + 2 else (1,) * n
    lo = [d * (k - 1) - p for d, k, p in zip(dils, kernel, pads)]
    hi = [low + o for low, o in zip(lo, outs)]
    x = ops.as_array(input)
    if x.ndim != n + 2:
        raise ValueError("[conv] Only works for inputs with 1-3 spatial dimensions. The inputs "
                         "must be in the format [N, ..., C_in]")
    return conv_general(x, w, 1, (lo, hi), dils, strides, groups, flip=True)


def conv_transpose1d(input: array, weight: array, /, stride: int = 1,  # noqa: A002
                     padding: int = 0, dilation: int = 1, output_padding: int = 0,
                     groups: int = 1, *, stream=None) -> array:
    return _conv_transpose_n(1, input, weight, stride, padding, dilation, output_padding, groups)


def conv_transpose2d(input: array, weight: array, /,  # noqa: A002
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     dilation: int | tuple[int, int] = 1,
                     output_padding: int | tuple[int, int] = 0, groups: int = 1, *,
                     stream=None) -> array:
    return _conv_transpose_n(2, input, weight, stride, padding, dilation, output_padding, groups)


def conv_transpose3d(input: array, weight: array, /,  # noqa: A002
                     stride: int | tuple[int, int, int] = 1,
                     padding: int | tuple[int, int, int] = 0,
                     dilation: int | tuple[int, int, int] = 1,
                     output_padding: int | tuple[int, int, int] = 0, groups: int = 1, *,
                     stream=None) -> array:
    return _conv_transpose_n(3, input, weight, stride, padding, dilation, output_padding, groups)


def convolve(a: array, v: array, /, mode: str = "full", *, stream=None) -> array:
    """NumPy's 1-D `convolve` (modes full, same, valid)."""
    a, v = ops.as_array(a), ops.as_array(v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("[convolve] Inputs must be 1D.")
    if mode not in ("full", "same", "valid"):
        raise ValueError("[convolve] Invalid mode.")
    if a.size < v.size:
        a, v = v, a
    n, k = a.size, v.size
    # "same" is NumPy's centred part of the full result: it starts at (k - 1) // 2
    pad = {"full": (k - 1, k - 1), "same": (k // 2, (k - 1) // 2), "valid": (0, 0)}[mode]
    dtype = dt.promote_types(a.dtype, v.dtype)
    y = conv_general(a.astype(dtype).reshape(1, n, 1), v.astype(dtype).reshape(1, k, 1),
                     padding=([pad[0]], [pad[1]]), flip=True)
    return y.reshape(-1)
