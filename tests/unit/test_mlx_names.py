"""Every public name of `mlx.core` and of its public submodules is in mxir (same submodule) or
listed in mxir._mlx_exceptions.MISSING with a reason. MLX is the test-only oracle."""

from __future__ import annotations

import types

import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402
from mxir._mlx_exceptions import MISSING, PARTIAL  # noqa: E402


def _public(obj) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def mlx_names() -> list[str]:
    """Dotted paths below mlx.core of its public names, submodules' members included."""
    out = []
    for name in _public(mlx):
        out.append(name)
        sub = getattr(mlx, name)
        if isinstance(sub, types.ModuleType):
            out += [f"{name}.{m}" for m in _public(sub)]
    return out


def in_mxir(path: str) -> bool:
    obj = mxir
    for part in path.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _covered(path: str) -> bool:
    head = path.split(".")[0]
    return path in MISSING or (head != path and head in MISSING)


def test_every_mlx_name_is_present_or_listed():
    absent = [p for p in mlx_names() if not in_mxir(p) and not _covered(p)]
    assert not absent, f"mlx.core names neither in mxir nor in _mlx_exceptions: {absent}"


def test_listed_names_are_mlx_names_that_mxir_lacks():
    names = set(mlx_names())
    unknown = [p for p in MISSING if p not in names]
    assert not unknown, f"listed names that mlx.core does not have: {unknown}"
    stale = [p for p in MISSING if in_mxir(p)]
    assert not stale, f"listed as missing but present in mxir (remove them): {stale}"


def test_every_reason_is_written():
    assert all(isinstance(r, str) and len(r) > 10 for r in MISSING.values())
    assert all(isinstance(r, str) and len(r) > 10 for r in PARTIAL.values())


def test_partial_names_are_present_and_not_missing():
    """A name with part of MLX's semantics (a submodule with some of its behaviour) is in
    mxir, is an MLX name, and is not also listed as missing."""
    names = set(mlx_names())
    for path in PARTIAL:
        assert path in names and in_mxir(path) and path not in MISSING, path


def test_submodules_are_modules():
    """`mx.random`, `mx.metal`, ... are importable submodules in mxir, as in MLX."""
    for name in _public(mlx):
        if isinstance(getattr(mlx, name), types.ModuleType) and hasattr(mxir, name):
            assert isinstance(getattr(mxir, name), types.ModuleType), name


def test_names_count_report(capsys):
    names = mlx_names()
    present = sum(in_mxir(p) for p in names)
    listed = sum(not in_mxir(p) and _covered(p) for p in names)
    with capsys.disabled():
        print(f"\nmlx.core names: {present} present, {listed} listed, {len(names)} total")
    assert present + listed == len(names)


def _keyword_parameters(doc: str) -> list[str] | None:
    """The parameters MLX's signature line (the docstring's first line) lets a caller name:
    those after a `/`, without `stream` (mxir's devices take no stream argument by name)."""
    import re

    m = re.match(r"[\w.]+\((.*)\)\s*(->.*)?$", doc.strip().split("\n")[0])
    if m is None:
        return None
    parts, depth, cur = [], 0, ""
    for ch in m.group(1):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts, cur = [*parts, cur.strip()], ""
        else:
            cur += ch
    parts.append(cur.strip())
    if "/" in parts:
        parts = parts[parts.index("/") + 1:]
    names = [re.match(r"\*{0,2}(\w*)", p).group(1) for p in parts]
    return [n for n in names if n and n != "stream" and not parts[names.index(n)].startswith("*")]


def test_every_mlx_keyword_parameter_is_accepted():
    """A call that names an argument as MLX documents it (`mx.cumsum(x, dtype=...)`,
    `mx.linspace(..., endpoint=False)`) must not raise TypeError in mxir."""
    import inspect

    lacking = []
    for path in mlx_names():
        if not in_mxir(path) or path.split(".")[0] in ("fast", "distributed", "metal"):
            continue
        want, got = mlx, mxir
        for part in path.split("."):
            want, got = getattr(want, part), getattr(got, part)
        if isinstance(want, (type, types.ModuleType)) or not callable(want):
            continue
        names = _keyword_parameters(want.__doc__ or "")
        try:
            params = inspect.signature(got).parameters
        except (TypeError, ValueError):
            continue
        if names is None or any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        lacking += [f"{path}({n}=)" for n in names if n not in params]
    assert not lacking, f"MLX keyword parameters mxir does not take: {lacking}"
