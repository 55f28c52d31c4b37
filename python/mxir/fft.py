"""`mx.fft` with MLX's signatures: each transform is one `mx.fft` op per axis (dialect/fft.py),
the axis padded with zeros or truncated to the requested size first, `norm` a scale after."""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import dtypes as dt
from . import ops
from .array import array
from .join_ops import pad

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn", "ifftshift",
           "irfft", "irfft2", "irfftn", "istft", "rfft", "rfft2", "rfftfreq", "rfftn", "stft"]


def _resize(a: array, axis: int, size: int) -> array:
    """`a` truncated or zero-padded to `size` entries along `axis`."""
    have = a.shape[axis]
    if have > size:
        index = (builtins.slice(None),) * axis + (builtins.slice(0, size),)
        return a[index]
    if have < size:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, size - have)
        return pad(a, widths)
    return a


def _scale(y: array, n: int, inverse: bool, norm: str) -> array:
    """The op computes MLX's default ('backward': 1/n on the inverse); other norms rescale."""
    if norm == "backward":
        return y
    if norm == "ortho":
        factor = math.sqrt(n) if inverse else 1 / math.sqrt(n)
    elif norm == "forward":
        factor = n if inverse else 1 / n
    return ops.multiply(y, ops.constant(factor, y.dtype if y.dtype == dt.float32
                                        else dt.float32).astype(y.dtype))


def _axes_and_sizes(name: str, a: array, s, axes, real: bool, inverse: bool):
    if s is not None and axes is None:
        raise ValueError(f"[{name}] `axes` should not be `None` if `s` is not `None`.")
    if axes is None:
        axes = list(range(a.ndim)) if s is None else list(range(a.ndim - len(s), a.ndim))
    axes = [int(x) for x in axes]
    if len(set(x % a.ndim if a.ndim else x for x in axes)) != len(axes):
        raise ValueError(f"[{name}] Duplicated axis received "
                         f"({','.join(str(x) for x in axes)})")
    for x in axes:
        if not -a.ndim <= x < a.ndim:
            raise IndexError("SmallVector out of range.")  # MLX's message for a bad axis
    axes = [x % a.ndim for x in axes]
    if s is None:
        s = [a.shape[x] for x in axes]
        if real and inverse and axes:
            s[-1] = 2 * (a.shape[axes[-1]] - 1)
    s = [int(v) for v in s]
    if len(s) != len(axes):
        raise ValueError(f"[{name}] Shape and axes have different sizes.")
    if any(v <= 0 for v in s):
        raise ValueError(f"[{name}] Invalid FFT output size requested ({min(s)})")
    return axes, s


def _transform(name: str, a, s, axes, inverse: bool, real: bool, norm: str, stream) -> array:
    if norm not in ("backward", "ortho", "forward"):
        raise ValueError("[fft] Invalid norm. Expected one of {'backward', 'ortho', "
                         "'forward'}.")
    a = ops.as_array(a)
    axes, s = _axes_and_sizes(name, a, s, axes, real, inverse)
    if real and not inverse:  # rfft: the real part of complex input, floats in float32
        a = ops.astype(ops.real(a) if a.dtype == dt.complex64 else a, dt.float32)
    else:
        a = ops.astype(a, dt.complex64)
    # rfftn: the real transform on the last axis first, then complex ones; irfftn: the complex
    # inverses first, the real one (to real output) last
    order = list(zip(axes, s))
    if real:
        order = order[::-1] if not inverse else order
    for i, (axis, n) in enumerate(order):
        is_real = real and ((not inverse and i == 0) or (inverse and i == len(order) - 1))
        a = _resize(a, axis, n // 2 + 1 if is_real and inverse else n)
        a = array._op("fft", [a], axis=axis, n=n, inverse=inverse, real=is_real,
                      adjoint=False)
        a = _scale(a, n, inverse, norm)
    return a


def fft(a, n=None, axis=-1, norm="backward", stream=None) -> array:
    return _transform("fftn", a, None if n is None else [n], [axis], False, False, norm, stream)


def ifft(a, n=None, axis=-1, norm="backward", stream=None) -> array:
    return _transform("fftn", a, None if n is None else [n], [axis], True, False, norm, stream)


def rfft(a, n=None, axis=-1, norm="backward", stream=None) -> array:
    return _transform("fftn", a, None if n is None else [n], [axis], False, True, norm, stream)


def irfft(a, n=None, axis=-1, norm="backward", stream=None) -> array:
    return _transform("fftn", a, None if n is None else [n], [axis], True, True, norm, stream)


def fft2(a, s=None, axes=(-2, -1), norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, False, False, norm, stream)


def ifft2(a, s=None, axes=(-2, -1), norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, True, False, norm, stream)


def rfft2(a, s=None, axes=(-2, -1), norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, False, True, norm, stream)


def irfft2(a, s=None, axes=(-2, -1), norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, True, True, norm, stream)


def fftn(a, s=None, axes=None, norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, False, False, norm, stream)


def ifftn(a, s=None, axes=None, norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, True, False, norm, stream)


def rfftn(a, s=None, axes=None, norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, False, True, norm, stream)


def irfftn(a, s=None, axes=None, norm="backward", stream=None) -> array:
    return _transform("fftn", a, s, axes, True, True, norm, stream)


def _shift(a, axes, sign: int) -> array:
    a = ops.as_array(a)
    axes = list(range(a.ndim)) if axes is None else [int(x) for x in axes]
    from .composites import roll

    shifts = [sign * (a.shape[x] // 2) for x in axes]
    return roll(a, shifts, axis=axes) if axes else a


def fftshift(a, axes=None, stream=None) -> array:
    return _shift(a, axes, 1)


def ifftshift(a, axes=None, stream=None) -> array:
    return _shift(a, axes, -1)


def fftfreq(n: int, d: float = 1.0, stream=None) -> array:
    if n <= 0:
        raise ValueError("[fftfreq] `n` must be greater than 0.")
    k = [(i if i < (n + 1) // 2 else i - n) for i in range(n)]
    return ops.divide(array(k, dt.float32), ops.constant(n * d, dt.float32))


def rfftfreq(n: int, d: float = 1.0, stream=None) -> array:
    if n <= 0:
        raise ValueError("[rfftfreq] `n` must be greater than 0.")
    return ops.divide(array(list(range(n // 2 + 1)), dt.float32),
                      ops.constant(n * d, dt.float32))


# -- short-time transforms: frames gathered by index, windowed, one fft per frame -----------
def _window(window, win_length: int, n_fft: int) -> array:
    """The window (ones by default), centered and zero-padded to n_fft."""
    w = ops.ones((win_length,), dt.float32) if window is None else ops.as_array(window)
    left = (n_fft - w.shape[0]) // 2
    return pad(w, [(left, n_fft - w.shape[0] - left)]) if w.shape[0] < n_fft else w


def _source_index(length: int, padded: int, left: int, mode: str) -> np.ndarray:
    """For each position of the padded signal, the sample it reads (`length` = a zero)."""
    i = np.arange(padded) - left
    if mode == "reflect":
        period = max(2 * (length - 1), 1)
        i = np.abs(i) % period
        return np.where(i >= length, period - i, i)
    if mode == "edge":
        return np.clip(i, 0, length - 1)
    if mode == "constant":
        return np.where((i < 0) | (i >= length), length, i)
    raise ValueError(f"Invalid padding mode ({mode}) passed to pad")


def stft(x, n_fft: int = 2048, hop_length=None, win_length=None, window=None,
         center: bool = True, pad_mode: str = "reflect", norm: str = "backward",
         onesided=None, stream=None) -> array:
    x = ops.as_array(x)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    w = _window(window, n_fft if win_length is None else int(win_length), n_fft)
    length = x.shape[-1]
    left = n_fft // 2 if center else 0
    padded = length + 2 * left
    if padded < n_fft:
        raise ValueError("[stft] Input is too short for the given n_fft.")
    frames = 1 + (padded - n_fft) // hop
    source = _source_index(length, padded, left, pad_mode if center else "constant")
    index = source[np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]]
    if (index == length).any():  # constant padding reads an appended zero
        zero = ops.zeros((*x.shape[:-1], 1), x.dtype)
        from .join_ops import concatenate

        x = concatenate([x, zero], axis=-1)
    from .indexing import take

    framed = ops.multiply(take(x, array(index.astype(np.int32)), axis=-1), w)
    real = x.dtype != dt.complex64 if onesided is None else bool(onesided)
    out = (rfft if real else fft)(framed, n=n_fft, axis=-1, norm=norm)
    return ops.swapaxes(out, -1, -2)


def istft(stft_matrix, n_fft=None, hop_length=None, win_length=None, window=None,
          center: bool = True, norm: str = "backward", onesided=None, length=None,
          stream=None) -> array:
    s = ops.as_array(stft_matrix)
    onesided = True if onesided is None else bool(onesided)
    n_freq, frames = s.shape[-2], s.shape[-1]
    n_fft = (2 * (n_freq - 1) if onesided else n_freq) if n_fft is None else int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    w = _window(window, n_fft if win_length is None else int(win_length), n_fft)
    spectra = ops.swapaxes(s, -1, -2)
    if onesided:
        chunks = irfft(spectra, n=n_fft, axis=-1, norm=norm)
    else:
        from .array_ops import real as real_part

        chunks = real_part(ifft(spectra, n=n_fft, axis=-1, norm=norm))
    chunks = ops.multiply(chunks, w)
    total = n_fft + hop * (frames - 1)
    position = (np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
    # overlap-add: the samples axis first, so that one scatter-add serves any batch
    lead = chunks.shape[:-2]
    flat = ops.reshape(chunks, (*lead, frames * n_fft))
    flat = ops.moveaxis(flat, -1, 0)
    signal = ops.zeros((total, *lead), dt.float32).at[array(position.astype(np.int32))].add(flat)
    signal = ops.moveaxis(signal, 0, -1)
    envelope = np.zeros(total)
    np.add.at(envelope, position, np.tile(np.square(np.array(w, np.float64)), frames))
    safe = envelope > 1e-11
    scale = np.where(safe, 1 / np.where(safe, envelope, 1), 0).astype(np.float32)
    signal = ops.multiply(signal, array(scale))
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center else total
    if length is not None:
        end = start + int(length)
    signal = signal[..., start:min(end, total)]
    if end > total:
        signal = pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, end - total)])
    return signal
