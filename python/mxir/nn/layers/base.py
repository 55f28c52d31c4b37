"""`Module`: a dict of parameters (arrays), sub-modules, lists and dicts, as in MLX.

Parameters are plain trees of arrays, so `value_and_grad`, `vmap` and `compile` apply to a model
through `parameters()` / `update()` with nothing nn-specific in the transforms."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import mxir as mx
from mxir.utils import tree_flatten, tree_unflatten

Filter = Callable[["Module", str, Any], bool]


class Module(dict):
    """Base class of layers and models: a dict whose entries are its state.

    Attributes set to arrays, dicts, lists or tuples are stored as dict entries (they are the
    module's state); anything else is an ordinary Python attribute."""

    __call__: Callable

    def __init__(self):
        self._no_grad: set[str] = set()
        self._training = True

    @property
    def training(self) -> bool:
        return self._training

    @property
    def state(self) -> Module:
        return self

    def _extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = tree_flatten(self.children(), is_leaf=self.is_module)
        lines = [f"{type(self).__name__}({self._extra_repr()}"]
        lines += [textwrap.indent(f"({k}): {v!r}", "  ") for k, v in children]
        return "\n".join(lines) + ("\n)" if children else ")")

    def __getattr__(self, key: str):
        value = self.get(key, None)
        if value is not None:
            return value
        return super().__getattribute__(key)

    def __setattr__(self, key: str, val: Any) -> None:
        if isinstance(val, (mx.array, dict, list, tuple)):
            if key not in self and key in self.__dict__:
                del self.__dict__[key]  # an earlier plain attribute would shadow the entry
            self[key] = val
        else:
            super().__setattr__(key, val)
            self.pop(key, None)

    def __delattr__(self, name: str) -> None:
        if self.get(name, None) is not None:
            del self[name]
        else:
            super().__delattr__(name)

    # -- filters ------------------------------------------------------------------------------
    @staticmethod
    def is_module(value) -> bool:
        return isinstance(value, Module)

    @staticmethod
    def valid_child_filter(module: Module, key: str, value) -> bool:
        return isinstance(value, (dict, list))

    @staticmethod
    def valid_parameter_filter(module: Module, key: str, value) -> bool:
        return isinstance(value, (dict, list, mx.array)) and not key.startswith("_")

    @staticmethod
    def trainable_parameter_filter(module: Module, key: str, value) -> bool:
        return Module.valid_parameter_filter(module, key, value) and key not in module._no_grad

    def filter_and_map(self, filter_fn: Filter, map_fn: Callable | None = None,
                       is_leaf_fn: Filter | None = None) -> dict:
        """The entries that `filter_fn(module, key, value)` keeps, recursively, with `map_fn`
        applied to the leaves (`is_leaf_fn` says what a leaf is: by default, not a container)."""
        map_fn = map_fn or (lambda x: x)
        is_leaf_fn = is_leaf_fn or (lambda m, k, v: not isinstance(v, (Module, dict, list)))
        return {k: _unwrap(self, k, v, filter_fn, map_fn, is_leaf_fn)
                for k, v in self.items() if filter_fn(self, k, v)}

    def parameters(self) -> dict:
        return self.filter_and_map(self.valid_parameter_filter)

    def trainable_parameters(self) -> dict:
        return self.filter_and_map(self.trainable_parameter_filter)

    def children(self) -> dict:
        return self.filter_and_map(self.valid_child_filter,
                                   is_leaf_fn=lambda m, k, v: isinstance(v, Module))

    def leaf_modules(self) -> dict:
        def leaf_module(m, k, v):
            return isinstance(v, Module) and not tree_flatten(v.children())

        return self.filter_and_map(self.valid_child_filter, is_leaf_fn=leaf_module)

    # -- updates ------------------------------------------------------------------------------
    def update(self, parameters: dict, strict: bool = True) -> Module:
        """Replace the arrays named in `parameters` (a tree shaped like `parameters()`)."""
        _update(self, parameters, strict, _replace_array)
        return self

    def update_modules(self, modules: dict, strict: bool = True) -> Module:
        """Replace the sub-modules named in `modules` (a tree shaped like `children()`)."""
        _update(self, modules, strict, _replace_module)
        return self

    def apply(self, map_fn: Callable[[mx.array], mx.array],
              filter_fn: Filter | None = None) -> Module:
        self.update(self.filter_and_map(filter_fn or Module.valid_parameter_filter, map_fn))
        return self

    def apply_to_modules(self, apply_fn: Callable[[str, Module], Any]) -> Module:
        stack = [("", self)]
        while stack:
            prefix, mod = stack.pop()
            apply_fn(prefix, mod)
            prefix = "." + prefix if prefix else ""
            stack.extend(tree_flatten(mod.children(), prefix=prefix, is_leaf=self.is_module))
        return self

    def modules(self) -> list[Module]:
        found = []
        self.apply_to_modules(lambda k, m: found.append(m))
        return found

    def named_modules(self) -> list[tuple[str, Module]]:
        found = []
        self.apply_to_modules(lambda k, m: found.append((k, m)))
        return found

    # -- freezing and modes -------------------------------------------------------------------
    def _validate_keys(self, keys, strict: bool) -> list[str]:
        keys = keys if isinstance(keys, list) else [keys]
        if strict:
            for k in keys:
                if k not in self:
                    raise KeyError(f"Module doesn't contain member {k}.")
        return keys

    def _validate_keys_recursive(self, keys) -> None:
        keys = keys if isinstance(keys, list) else [keys]
        modules = self.modules()
        for k in keys:
            if not any(k in m for m in modules):
                raise KeyError(f"Module doesn't contain member {k}.")

    def _for_modules(self, fn: Callable[[Module, bool], None], recurse: bool, keys,
                     strict: bool) -> Module:
        if not recurse:
            fn(self, strict)
            return self
        if strict and keys is not None:  # checked once over the whole tree, not per module
            self._validate_keys_recursive(keys)
            strict = False
        self.apply_to_modules(lambda _, m: fn(m, strict))
        return self

    def freeze(self, *, recurse: bool = True, keys: str | list[str] | None = None,
               strict: bool = False) -> Module:
        """Exclude parameters (all, or those named by `keys`) from `trainable_parameters()`."""
        def freeze_one(m: Module, strict: bool) -> None:
            local = keys
            if local is None:
                own = m.filter_and_map(lambda m, k, v: not isinstance(v, Module)
                                       and m.valid_parameter_filter(m, k, v))
                local = [k for k, _ in tree_flatten(own)]
            m._no_grad.update(m._validate_keys(local, strict))

        return self._for_modules(freeze_one, recurse, keys, strict)

    def unfreeze(self, *, recurse: bool = True, keys: str | list[str] | None = None,
                 strict: bool = False) -> Module:
        def unfreeze_one(m: Module, strict: bool) -> None:
            if keys is None:
                m._no_grad.clear()
            else:
                m._no_grad.difference_update(m._validate_keys(keys, strict))

        return self._for_modules(unfreeze_one, recurse, keys, strict)

    def _set_training_mode(self, mode: bool) -> None:
        self._training = mode

    def train(self, mode: bool = True) -> Module:
        self.apply_to_modules(lambda _, m: m._set_training_mode(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def set_dtype(self, dtype, predicate: Callable | None = lambda t: mx.issubdtype(
            t, mx.floating)) -> None:
        predicate = predicate or (lambda _: True)
        self.apply(lambda x: x.astype(dtype) if predicate(x.dtype) else x)

    # -- weights files ------------------------------------------------------------------------
    def load_weights(self, file_or_weights: str | list[tuple[str, mx.array]],
                     strict: bool = True) -> Module:
        """Load parameters from a `.npz` / `.safetensors` file or a list of (name, array)."""
        weights = file_or_weights
        if isinstance(weights, str):
            weights = list(mx.load(weights).items())
        if strict:
            new = dict(weights)
            current = tree_flatten(self.parameters(), destination={})
            if extras := new.keys() - current.keys():
                raise ValueError(f"Received {len(extras)} parameters not in model: \n"
                                 f"{f',{chr(10)}'.join(sorted(extras))}.")
            if missing := current.keys() - new.keys():
                raise ValueError(f"Missing {len(missing)} parameters: \n"
                                 f"{f',{chr(10)}'.join(sorted(missing))}.")
            for k, v in current.items():
                if not isinstance(new[k], mx.array):
                    raise ValueError(f"Expected mx.array but received {type(new[k])} for "
                                     f"parameter {k}")
                if new[k].shape != v.shape:
                    raise ValueError(f"Expected shape {v.shape} but received shape "
                                     f"{new[k].shape} for parameter {k}")
        if weights:
            self.update(tree_unflatten(list(weights)), strict=False)
        return self

    def save_weights(self, file: str) -> None:
        params = tree_flatten(self.parameters(), destination={})
        if file.endswith(".npz"):
            mx.savez(file, **params)
        elif file.endswith(".safetensors"):
            if not hasattr(mx, "save_safetensors"):
                raise ValueError("[save_weights] mxir has no save_safetensors yet; use '.npz'.")
            mx.save_safetensors(file, params)
        else:
            raise ValueError(f"Unsupported file extension for {file}. Use '.npz' or "
                             "'.safetensors'.")


def _unwrap(model, key, value, filter_fn, map_fn, is_leaf_fn):
    if is_leaf_fn(model, key, value):
        return map_fn(value)
    if isinstance(value, Module):
        return {k: _unwrap(value, k, v, filter_fn, map_fn, is_leaf_fn)
                for k, v in value.items() if filter_fn(value, k, v)}
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        out = {k: (_unwrap(model, f"{key}.{k}", v, filter_fn, map_fn, is_leaf_fn)
                   if filter_fn(model, f"{key}.{k}", v) else {}) for k, v in items}
        return out if isinstance(value, dict) else list(out.values())
    raise RuntimeError("Unexpected leaf found while traversing the module")


def _replace_array(dst, k, current, new, strict: bool) -> bool:
    """Set dst[k] = new when the current entry is an array; False: recurse into it instead."""
    if not isinstance(current, mx.array):
        return False
    if strict and not isinstance(new, mx.array):
        raise ValueError(f"Received invalid type: {type(new).__name__}.")
    dst[k] = new
    return True


def _replace_module(dst, k, current, new, strict: bool) -> bool:
    if isinstance(current, Module) and isinstance(new, Module):
        dst[k] = new
        return True
    if isinstance(current, (dict, list)):
        return False
    if strict and new != {}:
        raise ValueError(f"Received invalid type: {type(new).__name__}.")
    return True


def _update(dst, src, strict: bool, replace) -> None:
    """Walk `src` alongside `dst`, letting `replace` set leaves (MLX's update rules)."""
    what = "parameter" if replace is _replace_array else "sub-module"
    if isinstance(src, dict):
        for k, new in src.items():
            if k in dst:
                if not replace(dst, k, dst[k], new, strict):
                    _update(dst[k], new, strict, replace)
            elif strict:
                raise ValueError(f'Module does not have {what} named "{k}".')
    elif isinstance(src, list):
        for i, new in enumerate(src):
            if i >= len(dst):
                if strict:
                    raise ValueError(f"List index {i} is out of bounds for destination of "
                                     f"length {len(dst)}.")
                continue
            if not replace(dst, i, dst[i], new, strict):
                _update(dst[i], new, strict, replace)
    elif strict:
        raise ValueError(f"Received invalid type: {type(src).__name__}.")
