"""Every public name of MLX's Python packages (mlx.nn, mlx.nn.init, mlx.nn.losses, mlx.nn.utils,
mlx.nn.layers.distributed, mlx.optimizers, mlx.utils) is in mxir's counterpart module.

Names that MLX's modules merely import for their own use are not its API and are skipped: the
typing and standard-library helpers (Callable, List, Optional, defaultdict, math, ...), `mx`
(mlx.core itself), and mlx.utils' tree helpers or nn's Module seen inside mlx.optimizers. A name
is skipped only when it is defined outside the MLX package being checked, and the skipped set
is pinned below, so a new re-export (or a new API name mistaken for one) fails the test."""

from __future__ import annotations

import importlib
import types

import pytest

pytest.importorskip("mlx.core")

PACKAGES = {  # MLX module -> the MLX package whose own definitions count as API
    "mlx.nn": "mlx.nn", "mlx.nn.init": "mlx.nn", "mlx.nn.losses": "mlx.nn",
    "mlx.nn.utils": "mlx.nn", "mlx.nn.layers.distributed": "mlx.nn",
    "mlx.optimizers": "mlx.optimizers", "mlx.utils": "mlx.utils"}

# the imports-for-own-use of MLX 0.32 that the rule above skips (and nn.losses' `Reduction`,
# a typing alias that only says where it was made: checked by hand below)
_TYPING = {"Any", "Callable", "Dict", "List", "Literal", "Optional", "Tuple", "Union"}
_TREES = {"tree_flatten", "tree_map", "tree_reduce", "tree_unflatten"}
SKIPPED = {
    "mlx.nn.init": {"Callable", "Literal", "math", "mx"},
    "mlx.nn.layers.distributed": {"Callable", "Optional", "Union", "lru_cache", "math", "mx",
                                  "reduce", "tree_flatten", "tree_map_with_path",
                                  "tree_unflatten"},
    "mlx.nn.losses": {"Literal", "Optional", "Reduction", "get_args", "math", "mx"},
    "mlx.nn.utils": {"Any", "Callable", "Optional", "mx", "reduce", "wraps"} | _TREES,
    "mlx.optimizers": (_TYPING - {"Any", "Dict", "Literal"}) | {"Module", "math", "mx",
                                                                "tree_merge"} | _TREES,
    "mlx.utils": (_TYPING - {"Literal"}) | {"defaultdict", "zip_longest"},
}


def _origin(obj) -> str:
    """The module an object was defined in ('' when it does not say)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return getattr(obj, "__module__", None) or ""


def _is_import(obj, package: str) -> bool:
    origin = _origin(obj)
    if isinstance(obj, types.ModuleType) and origin.startswith(package):
        return False  # a submodule (mlx.nn.init) is API
    return origin != "" and not (origin == package or origin.startswith(package + "."))


def _names(module: str) -> tuple[list[str], set[str]]:
    """(public API names, skipped imports) of an MLX module."""
    mod = importlib.import_module(module)
    package = PACKAGES[module]
    public = sorted(n for n in dir(mod) if not n.startswith("_"))
    skipped = {n for n in public if _is_import(getattr(mod, n), package)}
    return [n for n in public if n not in skipped], skipped


@pytest.mark.parametrize("module", sorted(PACKAGES))
def test_every_mlx_python_name_is_in_mxir(module):
    names, _ = _names(module)
    ours = importlib.import_module("mxir" + module[len("mlx"):])
    absent = [n for n in names if not hasattr(ours, n)]
    assert not absent, f"{module} names that mxir{module[3:]} lacks: {absent}"


@pytest.mark.parametrize("module", sorted(PACKAGES))
def test_skipped_names_are_the_known_imports(module):
    _, skipped = _names(module)
    assert skipped == SKIPPED.get(module, set())


def test_api_names_are_not_skipped():
    """The rule keeps what MLX defines in these packages, classes re-exported by mlx.nn from
    mlx.nn.layers included."""
    names, _ = _names("mlx.nn")
    assert {"Linear", "QQLinear", "fully_shard", "average_gradients", "init", "losses"} <= set(
        names)
    names, _ = _names("mlx.optimizers")
    assert {"Adam", "clip_grad_norm", "cosine_decay", "optimizers"} <= set(names)
    import mxir.nn.losses

    assert mxir.nn.losses.Reduction == importlib.import_module("mlx.nn.losses").Reduction
