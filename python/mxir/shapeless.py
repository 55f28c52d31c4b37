"""Shape recipes for `mx.compile(fun, shapeless=True)`.

A shapeless compiled function re-infers its one trace for each new set of input shapes, and for
their shape class (the same trace with dynamic dims, which runs every shape of the class: see
compile.py). Most attributes do not depend on shapes; a few are
computed in Python from the operands' shapes by the frontend: the target of an implicit
broadcast, zeros_like/ones_like/full_like, the element count of mean and var, a reshape with -1,
flatten, expand_dims and squeeze. While a shapeless function is traced, those sites record how
their node's attributes follow the shapes of some arrays (`note`), and the re-inference replays
the recipe instead of reusing the traced value; for dynamic dims a recipe may instead rebuild
the node from its operands (a count becomes `mx.size`). Any other shape a function computes in
Python (`x.shape[0] * 2`, a slice's bounds, `x[-1]`) stays as traced, as MLX's docs warn for its
shapeless compile: where the re-inferred types no longer fit it raises, elsewhere the traced
value is used as it is.
"""

from __future__ import annotations

import math

import numpy as np

# node -> (deps, fn, dynamic) while a shapeless function is being traced, else None:
# fn(*dep_shapes) returns the node's attributes that follow those shapes; dynamic(*deps), if
# not None, returns the array that replaces the node when some of those shapes are dynamic
recording: dict | None = None


def note(result, deps, fn, dynamic=None) -> None:
    """Record that the attributes of `result`'s node are `fn(*shapes of deps)`."""
    if recording is not None:
        recording[result._node] = (tuple(deps), fn, dynamic)


def broadcasts(sources, results) -> None:
    """`results[i]` broadcasts `sources[i]` to the broadcast shape of all `sources`."""
    from .ops import broadcast_shapes

    for x, out in zip(sources, results):
        if out is not x:
            note(out, sources, lambda *shapes: {"shape": broadcast_shapes(*shapes)})


def count(result, a, axes, dtype: str, ddof: int = 0, inverted: bool = False) -> None:
    """`result` is the constant max(number of elements of `a` along `axes` - ddof, 0), or
    its reciprocal when `inverted` (1/n in double, then rounded to dtype: MLX's normalizer)."""
    from mxir.dialect import ConstValue, to_storage

    def fn(shape):
        n = max(math.prod(shape[i] for i in axes) - ddof, 0)
        host = np.asarray(1.0 / n if inverted else n,
                          dtype=np.float64 if dtype == "bfloat16" or inverted else None)
        return {"value": ConstValue(to_storage(host, dtype), dtype)}

    def dynamic(a):
        from .array import array
        from .ops import divide, maximum, subtract

        n = array._op("size", [a], axes=tuple(axes), dtype=dtype)
        n = maximum(subtract(n, ddof), 0) if ddof else n
        return divide(1, n) if inverted else n

    note(result, [a], fn, dynamic)


def reshape(result, a, shape_of) -> None:
    """`result` reshapes `a` to `shape_of(a's shape)`."""
    note(result, [a], lambda shape: {"shape": tuple(shape_of(tuple(shape)))})


def size(dims) -> int:
    """The number of elements of `dims`; a recipe that needs it refuses dynamic dims."""
    if None in dims:
        from mxir.dialect import DynamicDimsError

        raise DynamicDimsError("a size computed from dynamic dims")
    return math.prod(dims)


def infer_minus_one(spec):
    """A reshape target with one -1, resolved against an input shape (MLX's message)."""
    return lambda shape: resolve_minus_one(size(shape), spec)


def resolve_minus_one(n: int, spec) -> tuple[int, ...]:
    """`spec` with its -1 taken as n // (the other dims), as MLX does; a size that does not
    fit is then the reshape op's own error."""
    known = math.prod(d for d in spec if d != -1)
    if known == 0:
        raise ValueError("[reshape] Cannot infer the shape of an empty array")
    return tuple(n // known if d == -1 else d for d in spec)
