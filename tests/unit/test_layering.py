"""The layering of DESIGN.md ("Layout"), read from the imports of every module (function-level
imports included): dependencies point downwards only."""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# folder -> its package, and the packages of ours it may import (itself included)
LAYERS = {
    "dialect": ("mxir.dialect", {"dialect"}),
    "schema": ("mxir.schema", {"schema"}),
    "passes": ("mxir.passes", {"passes", "dialect", "schema"}),
    "runtime": ("mxir.runtime", {"runtime", "schema"}),
    "tools": ("mxir.tools", {"tools", "passes", "runtime", "dialect", "schema"}),
    "python/mxir": ("mxir", {"frontend", "passes", "runtime", "dialect", "schema"}),
}
NO_MLIR = {"schema", "runtime"}  # the executable runs where only the runtime is installed
MLIR_IN_RUNTIME = {"runtime/cpu.py", "runtime/pool.py"}  # the CPU device and its pool: the JIT
FRONTEND_IN_TOOLS = {"tools/fuzz.py"}  # the fuzzer is a user of the frontend, as MLX programs are


def modules(folder: str):
    for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
        for f in sorted(files):
            if f.endswith(".py"):
                yield os.path.join(dirpath, f)


def package_of(path: str, folder: str) -> str:
    """The dotted package that holds the module at `path` (under the layer's `folder`)."""
    sub = os.path.relpath(os.path.dirname(path), os.path.join(ROOT, folder))
    return ".".join([LAYERS[folder][0]] + ([] if sub == "." else sub.split(os.sep)))


def imported(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of `package`."""
    here = package.split(".")
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):  # a name imported may be a module
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return out


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "mxir":
        return None
    if len(parts) > 1 and parts[1] in {"dialect", "schema", "passes", "runtime", "tools"}:
        return parts[1]
    return "frontend"


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_imports_point_downwards(folder):
    allowed = LAYERS[folder][1]
    bad = []
    for path in modules(folder):
        rel = os.path.relpath(path, ROOT)
        with open(path) as f:
            source = f.read()
        for line, name in imported(source, package_of(path, folder)):
            layer = layer_of(name)
            if layer is not None and layer not in allowed and not (
                    layer == "frontend" and rel in FRONTEND_IN_TOOLS):
                bad.append(f"{rel}:{line} imports {name}")
            if (folder in NO_MLIR and name.split(".")[0] == "mlir"
                    and rel not in MLIR_IN_RUNTIME):
                bad.append(f"{rel}:{line} imports {name} (this layer runs without MLIR)")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_relative_and_function_level_imports():
    # a module of passes/ that reaches into runtime/ as passes/gpu.py once did
    src = ("from . import msl\nfrom .. import schema\n"
           "def f():\n    from ..runtime.plan import run_plan\n    import mxir.runtime.cpu\n")
    assert [n for _, n in imported(src, "mxir.passes")] == [
        "mxir.passes.msl", "mxir.schema", "mxir.runtime.plan.run_plan", "mxir.runtime.cpu"]
    assert [layer_of(n) for _, n in imported(src, "mxir.passes")] == [
        "passes", "schema", "runtime", "runtime"]
