"""`mxir.utils`, as `mlx.utils`: pytrees with dotted key paths ("layers.0.weight").

Nodes are what `mxir.tree` says they are (list, tuple, dict, namedtuple, registered types);
a dict child's key is its dict key, any other child's key is its position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tree import _children, tree_map


def _node(tree, is_leaf):
    """(keys, children, rebuild) of a node, or None for a leaf."""
    if is_leaf is not None and is_leaf(tree):
        return None
    node = _children(tree)
    if node is None:
        return None
    children, rebuild = node
    keys = list(tree.keys()) if isinstance(tree, dict) else list(range(len(children)))
    return keys, children, rebuild


def tree_flatten(tree: Any, prefix: str = "", is_leaf: Callable | None = None,
                 destination: list | dict | None = None):
    """The leaves of `tree` with their key paths: `[("a.0", leaf), ...]`.

    As in MLX, a path is `prefix` plus ".key" per level with the first character dropped, so
    `prefix=".model"` gives "model.a.0"; with `destination` a dict, the pairs go into it."""
    out = [] if destination is None else destination

    def add(path, leaf):
        if isinstance(out, dict):
            out[path] = leaf
        else:
            out.append((path, leaf))

    def walk(t, path):
        node = _node(t, is_leaf)
        if node is None:
            add(path[1:], t)
            return
        for k, child in zip(node[0], node[1], strict=True):
            walk(child, f"{path}.{k}")

    walk(tree, prefix)
    return out


def tree_unflatten(tree: list | dict) -> Any:
    """Rebuild nested lists and dicts from `tree_flatten`'s pairs (or a dict of them): a level
    whose keys are all integers is a list (gaps filled with {}), any other level a dict."""
    items = list(tree.items()) if isinstance(tree, dict) else list(tree)
    if len(items) == 1 and items[0][0] == "":
        return items[0][1]
    groups: dict[str, list] = {}
    for path, value in items:
        head, _, rest = path.partition(".")
        groups.setdefault(head, []).append((rest, value))
    try:
        positions = {int(h): h for h in groups}
    except ValueError:
        positions = None
    if positions is not None and len(positions) == len(groups):  # "01" and "1" are two keys
        out: list = []
        for i in sorted(positions):
            out.extend({} for _ in range(i - len(out)))
            out.append(tree_unflatten(groups[positions[i]]))
        return out
    return {h: tree_unflatten(sub) for h, sub in groups.items()}


def tree_map_with_path(fn: Callable, tree: Any, *rest: Any, is_leaf: Callable | None = None,
                       path: Any = None) -> Any:
    """`tree_map` where `fn(path, leaf, *rest_leaves)` also gets the leaf's dotted path (None
    for a tree that is a single leaf, unless `path` is given)."""
    node = _node(tree, is_leaf)
    if node is None:
        return fn(path, tree, *rest)
    keys, children, rebuild = node
    prefix = f"{path}." if path else ""
    return rebuild([
        tree_map_with_path(fn, child, *(r[k] for r in rest), is_leaf=is_leaf,
                           path=f"{prefix}{k}")
        for k, child in zip(keys, children, strict=True)
    ])


def tree_reduce(fn: Callable, tree: Any, initializer: Any = None,
                is_leaf: Callable | None = None) -> Any:
    """Fold `fn(accumulator, leaf)` over the leaves; without `initializer` the first leaf
    starts the fold."""
    acc = initializer
    for _, leaf in tree_flatten(tree, is_leaf=is_leaf):
        acc = leaf if acc is None else fn(acc, leaf)
    return acc


def tree_merge(tree_a: Any, tree_b: Any, merge_fn: Callable | None = None) -> Any:
    """Merge two trees like a deep `dict.update`; empty containers count as absent, and leaves
    present in both go through `merge_fn`."""
    empty_a = isinstance(tree_a, (dict, list, tuple)) and len(tree_a) == 0
    empty_b = isinstance(tree_b, (dict, list, tuple)) and len(tree_b) == 0
    if empty_a and empty_b:
        if type(tree_a) is not type(tree_b):
            raise ValueError(f"Cannot merge {type(tree_a).__name__} with "
                             f"{type(tree_b).__name__}")
        return type(tree_a)()
    tree_a = None if empty_a else tree_a
    tree_b = None if empty_b else tree_b
    if tree_a is None or tree_b is None:
        return tree_b if tree_a is None else tree_a
    if isinstance(tree_a, (list, tuple)) and isinstance(tree_b, (list, tuple)):
        n = max(len(tree_a), len(tree_b))
        merged = [tree_merge(tree_a[i] if i < len(tree_a) else None,
                             tree_b[i] if i < len(tree_b) else None, merge_fn) for i in range(n)]
        return type(tree_a)(*merged) if hasattr(tree_a, "_fields") else type(tree_a)(merged)
    if isinstance(tree_a, dict) and isinstance(tree_b, dict):
        keys = list(tree_a) + [k for k in tree_b if k not in tree_a]
        return {k: tree_merge(tree_a.get(k), tree_b.get(k), merge_fn) for k in keys}
    if merge_fn is None:
        raise ValueError("Trees contain elements at the same locations but no merge function "
                         "was provided")
    return merge_fn(tree_a, tree_b)


__all__ = ["tree_flatten", "tree_map", "tree_map_with_path", "tree_merge", "tree_reduce",
           "tree_unflatten"]
