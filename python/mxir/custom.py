"""`mx.custom_function` and `mx.checkpoint`: functions whose transforms are given, not derived.

A call traces the body into a callee and adds ONE `mx.custom` node naming it; each rule the
user gave (`.vjp`, `.jvp`, `.vmap`) is traced into a function of its own, named by the node
(passes/transforms.py calls them in place of transforming the body). The rules are traced at
call time, on parameters of the types they will see: a vjp rule on (primals, cotangents,
outputs), a jvp rule on (primals, tangents), a vmap rule on the batched arguments of the
innermost `vmap` being traced (mapped arguments with their batch axis first, the others as
they are), which is why the node records which arguments were mapped.

As in MLX, the arguments a rule sees are the positional arguments (the one argument itself
when there is one, else a tuple), cotangents and outputs have the structure of the output,
and arrays the body reads from outside (captured) are constants of the rules: no derivative
reaches them through a rule (where a rule is absent, the body is differentiated, captures
included). Rules are traced only where an argument is a tracer of some transform.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .array import array
from .graph import Trace, make_node, param_node
from .tree import tree_flatten, tree_structure


class _CustomTrace(Trace):
    """The trace of a custom function's body, with the traces of its rules (`rules`)."""

    def __init__(self, name: str):
        super().__init__(name, "custom_function")
        self.rules: dict[str, Trace] = {}


def _type(x: array):
    return x._node.types[x._index]


def _params(types, trace: Trace) -> list[array]:
    return [array._from(param_node(t, trace)) for t in types]


def _as_given(args: tuple):
    """The primals as a rule sees them: the argument itself when there is one."""
    return args[0] if len(args) == 1 else tuple(args)


def _rule_outputs(result, expected_types, rule: str) -> list[array]:
    """The arrays a rule returned, one per expected type, cast to its dtype."""
    from .ops import astype

    leaves = tree_flatten(result)
    if not all(isinstance(x, array) for x in leaves):
        raise ValueError(f"[custom_function] The {rule} must return arrays.")
    if len(leaves) != len(expected_types):
        raise ValueError(f"[custom_function] The {rule} returned {len(leaves)} arrays where "
                         f"{len(expected_types)} are expected.")
    for x, t in zip(leaves, expected_types):
        if tuple(x.shape) != t.shape:
            raise ValueError(f"[custom_function] The {rule} returned shape "
                             f"({','.join(map(str, x.shape))}) where "
                             f"({','.join(map(str, t.shape))}) is expected.")
    return [x if _type(x).dtype == t.dtype else astype(x, t.dtype)
            for x, t in zip(leaves, expected_types)]


class custom_function:  # noqa: N801 - MLX's name
    """A function with custom `vjp`, `jvp` and `vmap` rules (as `mx.custom_function`):
    decorate the function, then its rules with `@f.vjp`, `@f.jvp`, `@f.vmap`."""

    def __init__(self, fun: Callable):
        self._fun = fun
        self._rules: dict[str, Callable] = {}
        self._checkpoint = False
        functools.update_wrapper(self, fun)

    def vjp(self, fun: Callable) -> custom_function:
        """`fun(primals, cotangents, outputs)` returns one cotangent per primal."""
        self._rules["vjp"] = fun
        return self

    def jvp(self, fun: Callable) -> custom_function:
        """`fun(primals, tangents)` returns one tangent per output."""
        self._rules["jvp"] = fun
        return self

    def vmap(self, fun: Callable) -> custom_function:
        """`fun(inputs, axes)` returns `(outputs, out_axes)`."""
        self._rules["vmap"] = fun
        return self

    def __call__(self, *args, **kwargs):
        from .ops import zeros, zeros_like

        name = getattr(self._fun, "__name__", "f")
        leaves = tree_flatten(list(args))
        primals = [x for x in leaves if isinstance(x, array)]
        rebuild = tree_structure(list(args))

        def with_arrays(arrays):
            it = iter(arrays)
            return tuple(rebuild([next(it) if isinstance(x, array) else x for x in leaves]))

        trace = _CustomTrace(name)
        params = [array._from(param_node(_type(x), trace, x)) for x in primals]
        out = self._fun(*with_arrays(params), **kwargs)
        outs = tree_flatten(out)
        if not all(isinstance(o, array) for o in outs):
            raise ValueError("[custom_function] The return value of the function should be "
                             "an array or a tree of arrays.")
        trace.outputs = outs
        in_types = [_type(x) for x in primals]
        out_types = [_type(o) for o in outs]
        out_tree = tree_structure(out)
        attrs: dict = {"primals": len(primals)}
        if self._checkpoint:
            attrs["checkpoint"] = True
        # the user's rules are traced where some argument is a tracer (MLX calls them only
        # when a derivative is taken: a rule that raises does not stop a plain call); else a
        # rule of zeros stands in: no argument is differentiated, and captures stay constants
        derived = any(x._node.traced for x in primals)
        if "vjp" in self._rules:
            rule = Trace(f"{name}_vjp", "custom_function")
            p, c, o = (_params(in_types, rule), _params(out_types, rule),
                       _params(out_types, rule))
            result = (self._rules["vjp"](_as_given(with_arrays(p)), out_tree(c), out_tree(o))
                      if derived else [zeros_like(x) for x in p])
            rule.outputs = _rule_outputs(result, in_types, "vjp")
            trace.rules["vjp"] = rule
        if "jvp" in self._rules:
            rule = Trace(f"{name}_jvp", "custom_function")
            p, t = _params(in_types, rule), _params(in_types, rule)
            result = (self._rules["jvp"](_as_given(with_arrays(p)), _as_given(with_arrays(t)))
                      if derived else [zeros(o.shape, o.dtype) for o in outs])
            rule.outputs = _rule_outputs(result, out_types, "jvp")
            trace.rules["jvp"] = rule
        if "vmap" in self._rules:
            mapped = _mapped(primals)
            if mapped is not None:
                trace.rules["vmap"] = self._vmap_rule(name, with_arrays, in_types, out_types,
                                                      *mapped)
                attrs["vmap_mapped"] = tuple(int(m) for m in mapped[0])
        node = make_node("custom", primals, attrs, callee=trace, types=out_types)
        return out_tree([array._from(node, i) for i in range(len(out_types))])

    def _vmap_rule(self, name, with_arrays, in_types, out_types, mapped, size) -> Trace:
        """The vmap rule traced on the batched arguments; its outputs batched at axis 0."""
        from .ops import broadcast_to, expand_dims, moveaxis

        rule = Trace(f"{name}_vmap", "custom_function")
        inputs = _params([t.with_shape((size, *t.shape)) if m else t
                          for t, m in zip(in_types, mapped)], rule)
        axes = [0 if m else None for m in mapped]
        result = self._rules["vmap"](_as_given(with_arrays(inputs)), _as_given(tuple(axes)))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ValueError("[custom_function] The vmap must return a tuple (outputs, "
                             "out_axes).")
        outs = tree_flatten(result[0])
        out_axes = result[1]
        out_axes = ([out_axes] * len(outs) if out_axes is None or isinstance(out_axes, int)
                    else tree_flatten(out_axes, is_leaf=lambda a: a is None))
        if len(out_axes) != len(outs) or not all(isinstance(o, array) for o in outs):
            raise ValueError("[custom_function] The vmap must return arrays and one axis "
                             "(int or None) for each.")
        first = []
        for o, ax in zip(outs, out_axes):
            if ax is None:
                o = broadcast_to(expand_dims(o, 0), (size, *o.shape))
            elif ax != 0:
                o = moveaxis(o, ax, 0)
            first.append(o)
        rule.outputs = _rule_outputs(first, [t.with_shape((size, *t.shape)) for t in out_types],
                                     "vmap")
        return rule


def _mapped(primals):
    """(which primals the innermost vmap being traced maps, its size), or None when it maps
    none of them (or no vmap is being traced)."""
    from .transforms import _VMAPS, _depends_on

    if not _VMAPS:
        return None
    params, size = _VMAPS[-1]
    mapped = [_depends_on(x, params) for x in primals]
    return (mapped, size) if any(mapped) else None


def checkpoint(fun: Callable) -> Callable:
    """`fun` whose intermediates autodiff recomputes in the backward pass instead of keeping
    them (as `mx.checkpoint`): an `mx.custom` node marked `checkpoint`, with no rules."""
    wrapped = custom_function(fun)
    wrapped._checkpoint = True
    return wrapped


__all__ = ["checkpoint", "custom_function"]
