"""Pytrees: list, tuple, dict, and (beyond MLX) registrable node types."""

from __future__ import annotations

from collections.abc import Callable

_NODES: dict[type, tuple[Callable, Callable]] = {}


def register_tree_node(cls: type, flatten: Callable, unflatten: Callable) -> None:
    """Make instances of `cls` pytree nodes: `flatten(x) -> (children, aux)`,
    `unflatten(aux, children) -> x`."""
    _NODES[cls] = (flatten, unflatten)


def _children(tree):
    """(children, rebuild) for a node, or None for a leaf. As MLX: tuple subclasses (named
    tuples too) are rebuilt as their own type, list and dict subclasses as plain lists and
    dicts."""
    kind = type(tree)
    if kind is list or kind is tuple:
        return list(tree), kind
    if kind in _NODES:
        flatten, unflatten = _NODES[kind]
        children, aux = flatten(tree)
        return list(children), (lambda cs, a=aux, u=unflatten: u(a, cs))
    if isinstance(tree, tuple):
        if hasattr(tree, "_fields"):  # namedtuple
            return list(tree), lambda cs: kind(*cs)
        return list(tree), kind
    if isinstance(tree, list):
        return list(tree), list
    if isinstance(tree, dict):
        keys = list(tree.keys())
        return [tree[k] for k in keys], lambda cs: dict(zip(keys, cs))
    return None


def tree_flatten(tree, prefix: str = "", is_leaf: Callable | None = None) -> list:
    """The leaves of `tree` in order (MLX's `tree_flatten` without key paths is `tree_leaves`)."""
    out: list = []
    _flatten_into(tree, out, is_leaf)
    return out


def plain_values(tree):
    """The children of a list, tuple or dict (a dict subclass that reads items as dicts do,
    such as nn.Module) without building a rebuild function, or None for any other node or a
    leaf: the fast path of tree walks that only read (a training step's state is walked
    several times per call)."""
    kind = type(tree)
    if kind is list or kind is tuple:
        return tree
    if (isinstance(tree, dict) and kind.__getitem__ is dict.__getitem__
            and kind.keys is dict.keys and kind not in _NODES):
        return dict.values(tree)
    return None


_CONTAINERS = (tuple, list, dict)  # what _children takes apart besides registered types


def _flatten_into(t, out: list, is_leaf) -> None:
    # module-level, not a closure: a recursive closure is a reference cycle that would keep
    # `out` (the caller's arrays and their buffers) alive until the cyclic GC runs
    if is_leaf is not None and is_leaf(t):
        out.append(t)
        return
    children = plain_values(t)
    if children is None:
        node = _children(t) if type(t) in _NODES or isinstance(t, _CONTAINERS) else None
        if node is None:
            out.append(t)
            return
        children = node[0]
    for c in children:
        _flatten_into(c, out, is_leaf)


def tree_structure(tree, is_leaf: Callable | None = None):
    """A function that rebuilds `tree`'s structure from a list of leaves."""
    def build(t, leaves):
        node = None if (is_leaf and is_leaf(t)) else _children(t)
        if node is None:
            return leaves.pop(0)
        children, rebuild = node
        return rebuild([build(c, leaves) for c in children])

    return lambda leaves: build(tree, list(leaves))


def tree_map(fn: Callable, tree, *rest, is_leaf: Callable | None = None):
    """Apply `fn` to the leaves of `tree` (and the matching subtrees of `rest`)."""
    node = None if (is_leaf and is_leaf(tree)) else _children(tree)
    if node is None:
        return fn(tree, *rest)
    children, rebuild = node
    if isinstance(tree, dict):  # as MLX: `rest` matched by key (extra keys allowed), plain dict
        if not all(isinstance(r, dict) and tree.keys() <= r.keys() for r in rest):
            raise ValueError("[tree_map] Additional input tree is not a valid prefix of the "
                             "first tree.")
        return {k: tree_map(fn, v, *(r[k] for r in rest), is_leaf=is_leaf)
                for k, v in tree.items()}
    rest_children = []
    for r in rest:
        rn = _children(r)
        if rn is None or len(rn[0]) != len(children) or type(r) is not type(tree):
            raise ValueError("[tree_map] Additional input tree is not a valid prefix of the "
                             "first tree.")
        rest_children.append(rn[0])
    return rebuild([tree_map(fn, c, *(rc[i] for rc in rest_children), is_leaf=is_leaf)
                    for i, c in enumerate(children)])
