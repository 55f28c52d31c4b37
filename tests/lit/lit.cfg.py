"""lit configuration: `.mlir` tests driven by mxir-opt / mxir-run and checked with FileCheck."""

import os
import sys

import lit.formats
import llvm
import mlir.ir

config.name = "mxir"  # noqa: F821 - `config` is provided by lit
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir"]  # noqa: F821
config.excludes = ["mx.irdl.mlir"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821

# FileCheck/not/count from the llvm-tools wheel, mlir-opt from the mlir-tools wheel, our console
# scripts from the interpreter's bin directory (the venv lit runs in).
_paths = [
    os.path.dirname(sys.executable),
    os.path.join(os.path.dirname(mlir.ir.__file__), "bin"),
    os.path.join(os.path.dirname(llvm.__file__), "bin"),
    os.environ.get("PATH", ""),
]
config.environment["PATH"] = os.pathsep.join(_paths)  # noqa: F821
config.substitutions.append(("%python", sys.executable))  # noqa: F821
_irdl = os.path.join(os.path.dirname(__file__), "..", "..", "dialect", "mx.irdl.mlir")
config.substitutions.append(("%irdl", os.path.abspath(_irdl)))  # noqa: F821
