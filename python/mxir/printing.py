"""MLX's array printing: `array([1, 2], dtype=float32)`."""

from __future__ import annotations

import numpy as np


def _format_scalar(v, kind: str) -> str:
    if kind == "bool":
        return "True" if v else "False"
    if kind == "int":
        return str(int(v))
    f = float(v)
    if np.isnan(f):
        return "nan"
    if np.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f"{f:g}"


def format_array(a) -> str:
    values = np.asarray(a)
    name = a.dtype.name
    kind = "bool" if name == "bool" else ("float" if name in (
        "float16", "bfloat16", "float32", "float64") else "int")
    if values.ndim == 0:
        return f"array({_format_scalar(values.item(), kind)}, dtype={name})"
    summarize = values.size > 1000
    cells = None

    def rows(v, depth):
        if v.ndim == 1:
            items = [_format_scalar(x, kind) for x in v]
            if summarize and len(items) > 6:
                items = items[:3] + ["..."] + items[-3:]
            return "[" + ", ".join(items) + "]"
        inner = [rows(s, depth + 1) for s in v]
        if summarize and len(inner) > 6:
            inner = inner[:3] + ["..."] + inner[-3:]
        sep = "," + "\n" * (v.ndim - 1) + " " * (7 + depth)
        return "[" + sep.join(inner) + "]"

    del cells
    return f"array({rows(values, 0)}, dtype={name})"
