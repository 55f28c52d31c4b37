"""`mx.compile`: trace a function once per input structure, shapes and dtypes, and reuse the
trace. A call adds one `func.call` node naming the traced callee; the inliner (a pass) and
the compile cache do the rest, so compiled functions compose with every transform.

Implicit state, as MLX's `inputs=` / `outputs=`: trees (lists, dicts, tuples, registered tree
nodes; leaves that are not arrays are ignored) of arrays that the function reads and writes
besides its arguments, e.g. a model's parameters, an optimizer's state, `mx.random.state`.
At every call the arrays *currently* in `inputs` are extra arguments of the compiled program;
while tracing, the function sees placeholders in their place. After each call the array leaves
of `outputs` are replaced, in place, by the program's extra results: what the traced function
left in `outputs`. Arrays the function reads that are neither arguments nor in `inputs` are
constants of the trace, as in MLX: rebinding them later does not change the compiled function.

`shapeless=True`: the function is traced once per structure, dtypes and shape class: the number
of dimensions and which of them are 1 (where broadcasting differs; MLX keys on the number of
dimensions only). For new shapes it is NOT called again: its trace is re-inferred, every node
through its op's own `infer`, with the shape recipes the frontend recorded for attributes
derived from shapes (implicit broadcasts, *_like, the counts of mean and var, reshape with -1,
flatten, expand_dims, squeeze: see shapeless.py). That gives the result shapes and MLX's errors;
an attribute fixed at trace time that no longer fits raises a ValueError naming compile. The
class's program is the trace re-inferred once more with dynamic dims (`?`): compiled once, it
runs every shape of the class (evaluate.py). Where some op has no dynamic lowering (gathers,
scans, concatenation, batched matmul, a reshape that is not only unit dims, ...), or the call is
evaluated inside a larger lazy graph, or on a GPU, each shape compiles its own program.
"""

from __future__ import annotations

import functools
import os
from collections import ChainMap
from collections.abc import Callable

from mxir.dialect import OPS, DynamicDimsError, MxError, infer_types

from . import shapeless as _shapeless
from .array import array
from .graph import DATA, PARAM, Trace, make_node, param_node
from .tree import _NODES, _children, plain_values, tree_flatten, tree_structure

# MLX_DISABLE_COMPILE as in MLX; MXIR_DISABLE_COMPILE is the older name
_enabled = all(os.environ.get(k, "") in ("", "0")
               for k in ("MLX_DISABLE_COMPILE", "MXIR_DISABLE_COMPILE"))


def disable_compile() -> None:
    """Make `compile` a no-op (functions run eagerly), as `mx.disable_compile`."""
    global _enabled
    _enabled = False


def enable_compile() -> None:
    global _enabled
    _enabled = True


def compile(fun: Callable, inputs=None, outputs=None, shapeless: bool = False) -> Callable:  # noqa: A001
    """Compile `fun` (see the module's docstring for `inputs`, `outputs` and `shapeless`)."""
    if isinstance(outputs, array):
        raise ValueError("[compile] outputs must be a list, dict or other tree of arrays that "
                         "can be updated in place, not an array.")
    stateful = inputs is not None or outputs is not None
    name = getattr(fun, "__name__", "f")
    # (structure, shape key, constants) -> _Entry
    traces: dict = {}
    # positional arrays only, no implicit state (the common call): keyed by their types alone,
    # skipping the tree walk and the structure key (measured ~6 µs of a ~10 µs compiled call)
    fast: dict = {}

    @functools.wraps(fun)
    def compiled(*args, **kwargs):
        if not _enabled:
            return fun(*args, **kwargs)
        if not kwargs and not stateful:
            try:
                types = tuple([x._node.types[x._index] for x in args if type(x) is array])
            except AttributeError:
                types = None
            if types is not None and len(types) == len(args):
                spec = fast.get(types)
                if spec is None:
                    spec = fast[types] = _lookup(args, kwargs, [])
                trace, out_structure, out_types, _ = spec
                node = make_node("call", args, {}, callee=trace, types=out_types)
                if out_structure is None:  # a bare array
                    return array._from(node, 0)
                return out_structure([array._from(node, i) for i in range(len(out_types))])
        implicit = _arrays(inputs)
        trace, out_structure, out_types, n_out = _lookup(args, kwargs, implicit)
        arrays = [x for x in tree_flatten((list(args), kwargs)) if isinstance(x, array)]
        node = make_node("call", arrays + implicit, {}, callee=trace, types=out_types)
        results = [array._from(node, i) for i in range(len(out_types))]
        if outputs is not None:
            _update_outputs(outputs, results[n_out:])
        if out_structure is None:
            return results[0]
        return out_structure(results[:n_out])

    def _lookup(args, kwargs, implicit):
        """(trace, output structure or None for a bare array, output types, number of
        explicit outputs); the implicit outputs follow the explicit ones."""
        tree = (list(args), kwargs)
        leaves = tree_flatten(tree)
        for x in leaves:
            if not isinstance(x, (array, *_CONSTANTS)) and x is not None:
                kind = type(x)
                kind = (kind.__qualname__ if kind.__module__ == "builtins"
                        else f"{kind.__module__}.{kind.__qualname__}")
                raise ValueError("[compile] Function arguments must be trees of arrays or "
                                 "constants (floats, ints, strings, or None), but received "
                                 f"type {kind}.")
        arrays = [x for x in leaves if isinstance(x, array)] + implicit
        types = tuple(x._node.types[x._index] for x in arrays)
        # non-array leaves (Python scalars, strings, ...) are constants of the trace, as in MLX
        key = (tree_structure_key(tree),
               tree_structure_key(inputs) if inputs is not None else None,
               tuple(map(_class_type, types)) if shapeless else types,
               tuple(_constant_key(x) for x in leaves if not isinstance(x, array)))
        entry = traces.get(key)
        if entry is None:
            entry = traces[key] = _Entry(*_trace(fun, tree, leaves, inputs, outputs, shapeless))
            entry.specs[types] = entry.template, entry.types
        spec = entry.specs.get(types)
        if spec is None:  # shapeless: the same trace for other shapes
            spec = entry.specs[types] = _specialise(entry, types, name)
        if shapeless and spec[0].shapeless is None:
            spec[0].shapeless = entry.shape_class(types)
        return spec[0], entry.out_structure, spec[1], entry.n_out

    return compiled


class _Entry:
    """One traced function: the trace, how to rebuild its result, and its specialisations."""

    __slots__ = ("template", "out_structure", "n_out", "recipes", "types", "specs", "classes")

    def __init__(self, trace, out_structure, n_out, recipes):
        self.template = trace
        self.out_structure = out_structure
        self.n_out = n_out
        self.recipes = recipes or {}
        self.types = tuple(o._node.types[o._index] for o in trace.outputs)
        self.specs: dict = {}  # input types -> (trace, output types)
        self.classes: dict = {}  # shape class -> the trace with dynamic dims, or False

    def shape_class(self, types):
        """The trace re-inferred for the shape class of input `types` (their dims of size 1
        stay 1, all others become dynamic: broadcasting differs only there), or False when
        some node of it cannot take dynamic dims (a shape computed from sizes, say)."""
        key = tuple(map(_class_type, types))
        found = self.classes.get(key)
        if found is None:
            try:
                found = _respecialise(self.template, key, self.recipes, {}, {})
            except _Mismatch as e:
                from .evaluate import shapeless_fallback

                op = getattr(e, "op", None)
                shapeless_fallback(self.template.name, f"its {op} cannot take dynamic dims ({e})"
                                   if op else e)
                found = False
            self.classes[key] = found
        return found


def _trace(fun, tree, leaves, inputs, outputs, shapeless):
    """Call `fun` on placeholders: (trace, output structure, number of explicit outputs,
    shape recipes). The placeholders of `inputs` are put into its containers for the call and
    the original arrays put back after."""
    trace = Trace(getattr(fun, "__name__", "f"), "compile")
    substituted = [array._from(param_node(x._node.types[x._index], trace))
                   if isinstance(x, array) else x for x in leaves]
    args, kwargs = tree_structure(tree)(substituted)
    originals = _arrays(inputs)
    placeholders = [array._from(param_node(x._node.types[x._index], trace)) for x in originals]
    previous = _shapeless.recording
    if shapeless and previous is None:
        _shapeless.recording = {}
    recipes = _shapeless.recording
    if inputs is not None:
        _fill(inputs, iter(placeholders))
    try:
        out = fun(*args, **kwargs)
        leaves = tree_flatten(out)
        outs = [o for o in leaves if isinstance(o, array)]
        # flattened before `inputs` is restored: `outputs` is often the same tree
        written = _arrays(outputs)
    finally:
        _shapeless.recording = previous
        if inputs is not None:
            _restore(inputs, placeholders, originals)
    trace.outputs = outs + written
    structure = None if isinstance(out, array) else tree_structure(out)
    if len(outs) != len(leaves):  # other leaves are constants of the trace, returned as they are
        structure = functools.partial(_with_constants, structure, leaves)
    return trace, structure, len(outs), recipes


_CONSTANTS = (int, float, str)


def _with_constants(structure, leaves, arrays):
    """The output tree: the traced results in the places of the arrays, `leaves` elsewhere."""
    results = iter(arrays)
    return structure([next(results) if isinstance(x, array) else x for x in leaves])


def _class_type(t):
    """The type of the shape class of `t`: dims of size 1 stay, all others are dynamic."""
    return t.with_shape(1 if d == 1 else None for d in t.shape)


def _arrays(tree) -> list:
    if tree is None:
        return []
    return [x for x in tree_flatten(tree) if isinstance(x, array)]


def _fill(tree, values):
    """Replace the array leaves of `tree` by the next items of `values`, in place where the
    containers allow (lists, dicts, registered objects with a `__dict__`); returns the tree
    (a new one for tuples, whose parent container then holds it)."""
    if isinstance(tree, array):
        return next(values)
    kind = type(tree)
    if kind is list:
        tree[:] = [_fill(c, values) for c in tree]
        return tree
    if isinstance(tree, dict) and plain_values(tree) is not None:  # nn.Module too
        for k, v in dict.items(tree):
            new = _fill(v, values)
            if new is not v:
                tree[k] = new
        return tree
    node = _children(tree)
    if node is None:  # not an array: ignored, as in MLX
        return tree
    children, rebuild = node
    new = [_fill(c, values) for c in children]
    if type(tree) is list:
        tree[:] = new
        return tree
    if isinstance(tree, dict):
        for k, v in zip(list(tree.keys()), new):
            tree[k] = v
        return tree
    if all(a is b for a, b in zip(new, children)):
        return tree
    rebuilt = rebuild(new)
    if type(tree) in _NODES and hasattr(tree, "__dict__") and hasattr(rebuilt, "__dict__"):
        tree.__dict__.update(rebuilt.__dict__)
        return tree
    return rebuilt


def _restore(tree, placeholders, originals) -> None:
    """Put the original arrays back where the trace left placeholders, or values computed from
    them that `outputs` does not declare (those writes are not part of the compiled function:
    dropping them keeps the first call like the later ones and lets no placeholder escape)."""
    back = {id(p): o for p, o in zip(placeholders, originals)}
    current = _arrays(tree)
    if len(current) == len(originals):
        fixed = [back.get(id(c), o if c._node.traced and not o._node.traced else c)
                 for c, o in zip(current, originals)]
    else:
        fixed = [back.get(id(c), c) for c in current]
    _fill(tree, iter(fixed))


def _update_outputs(tree, values) -> None:
    n = len(_arrays(tree))
    if n != len(values):
        raise ValueError(f"[compile] The compiled function was traced writing {len(values)} "
                         f"arrays to its outputs tree, which now holds {n}.")
    _fill(tree, iter(values))


def tree_structure_key(tree):
    """The structure of a tree, hashable (the trace cache key): lists, tuples and dicts as
    nested tuples (a dict subclass as a dict, as it is rebuilt; keys with their types), leaves
    as "*", other nodes as the repr of their structure rebuilt with "*" leaves."""
    children = plain_values(tree)
    if children is not None:
        kind = type(tree)
        if kind is list or kind is tuple:
            return ("[" if kind is list else "(", *map(tree_structure_key, children))
        return ("{", *((type(k), k, tree_structure_key(v)) for k, v in dict.items(tree)))
    if _children(tree) is None:
        return "*"
    return repr(tree_structure(tree)(["*" for _ in tree_flatten(tree)]))


def _constant_key(x):
    try:
        hash(x)
        return (type(x).__name__, x)
    except TypeError:
        return (type(x).__name__, id(x))


# ---------------------------------------------------------------------------------------------
# shapeless: re-infer a trace for other input shapes
class _Mismatch(Exception):
    def __init__(self, op: str, message: str):
        super().__init__(message)
        self.op, self.message = op, message


def _specialise(entry: _Entry, types: tuple, name: str):
    """(trace, output types) of the entry's trace re-inferred for input `types`."""
    try:
        trace = _respecialise(entry.template, types, entry.recipes, {}, {})
    except _Mismatch as e:
        shapes = ", ".join("(" + ",".join(map(str, t.shape)) + ")" for t in types)
        detail = e.message.rstrip(".")
        raise ValueError(
            f"[compile] Cannot reuse the shapeless trace of {name} for input shapes {shapes}: "
            f"its {e.op} no longer fits ({detail}). A shape computed in Python when the "
            "function was traced is fixed; compile without shapeless=True to trace each "
            "shape.") from None
    return trace, tuple(o._node.types[o._index] for o in trace.outputs)


def _respecialise(trace: Trace, param_types, recipes: dict, memo, done: dict) -> Trace:
    """A copy of `trace` whose parameters have `param_types`, every node rebuilt with
    `make_node` (so its type re-inferred). `memo` maps the nodes rebuilt so far (id -> node),
    including those of enclosing traces that this one captures."""
    key = (id(trace), tuple(param_types))
    new = done.get(key)
    if new is not None:
        return new
    new = Trace(trace.name, trace.transform)
    local = ChainMap({}, memo)  # a callee's own nodes are rebuilt per specialisation
    for p, t in zip(trace.params, param_types):
        b = p.bound
        if b is not None and id(b._node) in local:
            b = array._from(local[id(b._node)], b._index)
        local[id(p)] = param_node(t, new, b)
    _rebuild([o._node for o in trace.outputs], local, recipes, done)
    new.outputs = [array._from(local[id(o._node)], o._index) for o in trace.outputs]
    done[key] = new
    return new


def _rebuild(roots, memo, recipes: dict, done: dict) -> None:
    stack = [(n, False) for n in roots]
    while stack:
        node, ready = stack.pop()
        nid = id(node)
        if nid in memo:
            continue
        if ready:
            memo[nid] = _rebuild_node(node, memo, recipes, done)
            continue
        if node.op in (DATA, PARAM) or (not node.traced and node not in recipes):
            memo[nid] = node  # a constant, or a value from outside this trace
            continue
        stack.append((node, True))
        deps = [a._node for a in node.inputs]
        if node in recipes:
            deps += [a._node for a in recipes[node][0]]
        stack.extend((d, False) for d in deps if id(d) not in memo)


def _rebuild_node(node, memo, recipes: dict, done: dict):
    inputs = [array._from(memo[id(a._node)], a._index) for a in node.inputs]
    attrs = node.attrs
    recipe = recipes.get(node)
    try:
        if recipe is not None:
            deps, fn, dynamic = recipe
            deps = [array._from(memo[id(d._node)], d._index) for d in deps]
            shapes = [d._node.types[d._index].shape for d in deps]
            if dynamic is not None and any(None in s for s in shapes):
                return dynamic(*deps)._node
            attrs = {**attrs, **fn(*shapes)}
            if node.op == "broadcast_to" and None in attrs["shape"]:
                inputs += deps  # they lend their dynamic sizes (mx.broadcast_to)
        if node.callee is None:
            types = [x._node.types[x._index] for x in inputs]
            if not OPS[node.op].dynamic and any(t.dynamic for t in types):
                raise DynamicDimsError(f"'mx.{node.op}' cannot take dynamic dims")
            return make_node(node.op, inputs, attrs, types=infer_types(node.op, types, attrs))
    except MxError as e:  # the op's infer refuses the types (DynamicDimsError included)
        raise _Mismatch(node.op, e.message) from None
    except ValueError as e:  # a recipe refuses the shapes (with MLX's message)
        raise _Mismatch(node.op, str(e)) from None
    return _rebuild_transform(node, inputs, attrs, memo, recipes, done)


def _rebuild_transform(node, inputs, attrs, memo, recipes, done):
    """A transform node (call, vjp, jvp, vmap) over its callee re-inferred for the operands."""
    op, callee = node.op, node.callee
    n = len(callee.params)
    in_types = [x._node.types[x._index] for x in inputs]
    size = None
    if op == "vmap":
        param_types = []
        for t, ax in zip(in_types[:n], attrs["in_axes"]):
            if ax is None:
                param_types.append(t)
                continue
            if size is not None and t.shape[ax] != size:
                raise _Mismatch(op, f"[vmap] Inconsistent axis sizes: {size} and {t.shape[ax]}.")
            size = t.shape[ax]
            param_types.append(t.with_shape(t.shape[:ax] + t.shape[ax + 1:]))
    else:
        param_types = in_types[:n]
    new_callee = _respecialise(callee, param_types, recipes, memo, done)
    outs = [o._node.types[o._index] for o in new_callee.outputs]
    if op == "call":
        types = outs
    elif op == "vjp":
        if in_types[n:] != outs:
            raise _Mismatch(op, "the cotangents' shapes no longer match the outputs' shapes")
        types = outs + param_types
    elif op == "jvp":
        if in_types[n:] != param_types:
            raise _Mismatch(op, "the tangents' shapes no longer match the primals' shapes")
        types = outs * 2
    else:
        types = [t if ax is None else t.with_shape(t.shape[:ax] + (size,) + t.shape[ax:])
                 for t, ax in zip(outs, attrs["out_axes"])]
    return make_node(op, inputs, attrs, callee=new_callee, types=types)
