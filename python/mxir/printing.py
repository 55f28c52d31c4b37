"""MLX's array printing, character for character: `array([1, 2.5], dtype=float32)`.

The rules (measured on MLX 0.32.4, Linux CPU build):
- floats print as C++ streams print them: 6 significant digits, `%g` style (`1e-08`, `0.333333`,
  `3`), `nan`/`-nan` by the sign bit, `inf`/`-inf`; with `set_printoptions(precision=p)` they
  print in fixed notation with `p` decimals instead. Half types print their float value.
- complex64 prints `re+imj` / `re-imj` (each part as a float); the minus comes only from an
  imaginary part below zero: -0.0 and -nan print as `+-0j`, `+-nanj`.
- bools print `True`/`False`; integers in decimal. Columns are not padded.
- each axis of more than 6 entries shows its first 3 and last 3 entries around `...`, at every
  size (there is no total-size threshold);
- entries of the last axis are separated by `, `; outer axes put each entry on its own line,
  indented by 7 + depth spaces (under the first `[` of the block), with no blank lines.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

EDGE_ITEMS = 3
FLOATS = ("float16", "bfloat16", "float32", "float64")


class PrintOptions:
    """Global printing options (MLX: `precision=-1` means the default `%g` style)."""

    __slots__ = ("precision",)

    def __init__(self, precision: int = -1):
        self.precision = precision

    def __repr__(self) -> str:
        return f"PrintOptions(precision={self.precision})"


_OPTIONS = PrintOptions()


def set_printoptions(precision: int = -1) -> None:
    """Print floats with `precision` decimals in fixed notation (-1: the default style)."""
    _OPTIONS.precision = int(precision)


def get_printoptions() -> PrintOptions:
    return PrintOptions(_OPTIONS.precision)


@contextlib.contextmanager
def printoptions(precision: int = -1):
    """Set print options for the duration of a `with` block."""
    saved = _OPTIONS.precision
    set_printoptions(precision)
    try:
        yield get_printoptions()
    finally:
        _OPTIONS.precision = saved


def format_float(v: float, precision: int | None = None) -> str:
    """One float as a C++ stream prints it (what MLX prints)."""
    precision = _OPTIONS.precision if precision is None else precision
    f = float(v)
    if math.isnan(f):
        return "-nan" if math.copysign(1.0, f) < 0 else "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if precision >= 0:
        return f"{f:.{precision}f}"
    return f"{f:g}"


def format_complex(v: complex) -> str:
    re, im = float(v.real), float(v.imag)
    if im < 0:
        return f"{format_float(re)}-{format_float(-im)}j"
    return f"{format_float(re)}+{format_float(im)}j"


def _formatter(dtype_name: str):
    if dtype_name == "complex64":
        return format_complex
    if dtype_name == "bool":
        return lambda v: "True" if v else "False"
    if dtype_name in FLOATS:
        return format_float
    return lambda v: str(int(v))


def _format_block(values: np.ndarray, fmt, depth: int) -> str:
    n = values.shape[0]
    last = values.ndim == 1
    sep = ", " if last else ",\n" + " " * (7 + depth)
    if n > 2 * EDGE_ITEMS:
        index = list(range(EDGE_ITEMS)) + [None] + list(range(n - EDGE_ITEMS, n))
    else:
        index = list(range(n))
    parts = []
    for i in index:
        if i is None:
            parts.append("...")
        elif last:
            parts.append(fmt(values[i]))
        else:
            parts.append(_format_block(values[i], fmt, depth + 1))
    return "[" + sep.join(parts) + "]"


def format_values(values: np.ndarray, dtype_name: str) -> str:
    """The part between `array(` and `, dtype=`."""
    fmt = _formatter(dtype_name)
    if values.ndim == 0:
        return fmt(values.reshape(()).item() if dtype_name != "bool" else bool(values))
    return _format_block(values, fmt, 0)


def format_array(a) -> str:
    """`repr`/`str` of an `mx.array` (evaluates it)."""
    return f"array({format_values(np.asarray(a), a.dtype.name)}, dtype={a.dtype.name})"


def format_scalar(a, spec: str) -> str:
    """`format(a, spec)`: a scalar array formats as its Python value; others only with ''."""
    if a.ndim == 0:
        return format(a.item(), spec)
    if not spec:
        return format_array(a)
    raise TypeError("unsupported format string passed to mx.array.__format__")


__all__ = ["format_array", "get_printoptions", "printoptions", "set_printoptions"]
