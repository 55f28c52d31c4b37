"""The `mx` dialect: IRDL definition, op table, and the rules that live with each op."""

from __future__ import annotations

import os

from . import (  # noqa: F401  (importing a module registers its ops)
    elementwise,
    indexing,
    join,
    linalg_ops,
    misc,
    random,
    reduction,
    shape,
)
from .builder import Builder
from .core import (
    AXES,
    DTYPES,
    INTS,
    SYMBOL,
    FLOATS,
    INTEGERS,
    ConstValue,
    MxError,
    TensorType,
    from_storage,
    is_float,
    is_integer,
    numpy_dtype,
    to_storage,
)
from .op import OPS, Op, infer_types, register

IRDL_PATH = os.path.join(os.path.dirname(__file__), "mx.irdl.mlir")
# Transform ops name a callee (`callee = @f`); operands and results are variadic and their
# meaning is checked by the pass that expands them. "call" is func.call (compile's trace).
TRANSFORM_OPS = {
    "vjp": {"callee": SYMBOL, "argnums": INTS},
    "jvp": {"callee": SYMBOL},
    "vmap": {"callee": SYMBOL, "in_axes": AXES, "out_axes": AXES},
    "call": {"callee": SYMBOL},
}


def irdl_text() -> str:
    """The IRDL definition generated from the op table (what `mx.irdl.mlir` must contain)."""
    lines = ["// Generated from the op table by `python -m mxir.dialect`; do not edit by hand.",
             "irdl.dialect @mx {"]

    def operation(name, attrs, variadic_operands, n_operands, n_results):
        # one constraint value per operand/result: a shared value would force equal types
        lines.append(f"  irdl.operation @{name} {{")
        operands = ["args"] if variadic_operands else [f"x{i}" for i in range(n_operands)]
        results = ["res"] if n_results is None else [f"r{i}" for i in range(n_results)]
        for v in operands + results:
            lines.append(f'    %{v} = irdl.base "!builtin.tensor"')
        var = "variadic " if variadic_operands else ""
        if operands:
            lines.append("    irdl.operands(" + ", ".join(f"{v}: {var}%{v}" for v in operands) + ")")
        for key in sorted(attrs):
            lines.append(f'    %{key} = irdl.base "{attrs[key]}"')
        if attrs:
            lines.append("    irdl.attributes {" + ", ".join(
                f'"{k}" = %{k}' for k in sorted(attrs)) + "}")
        var = "variadic " if n_results is None else ""
        lines.append("    irdl.results(" + ", ".join(f"{v}: {var}%{v}" for v in results) + ")")
        lines.append("  }")

    for name in sorted(OPS):
        op = OPS[name]
        operation(name, {k: v.irdl_base for k, v in op.attrs.items()}, op.arity is None,
                  op.arity or 0, op.num_results)
    lines.append("}")
    return "\n".join(lines) + "\n"


def load_dialect(ctx) -> None:
    """Load the `mx` dialect into `ctx` (at most once per context: a second load aborts)."""
    from mlir import ir
    from mlir.dialects import irdl

    if getattr(ctx, "_mx_loaded", False):
        return
    with ctx, ir.Location.unknown():
        with open(IRDL_PATH) as f:
            irdl.load_dialects(ir.Module.parse(f.read()))
    ctx._mx_loaded = True


def new_context():
    """A fresh MLIR context for `mx` IR.

    IRDL in LLVM 22 binds one constraint variable across all elements of a variadic operand
    group, so the transform ops (`mx.vjp` with operands of different types) cannot be declared
    in it. `mx` is therefore parsed as an unregistered dialect, and `mx-verify` (arity,
    attributes, `infer` on the types) is the dialect's verifier; it also rejects every other
    unregistered dialect. `mx.irdl.mlir` still defines the op table's ops for `mlir-opt
    --irdl-file` (tested in lit)."""
    from mlir import ir

    ctx = ir.Context()
    ctx.allow_unregistered_dialects = True
    return ctx


__all__ = [
    "Builder", "ConstValue", "DTYPES", "FLOATS", "INTEGERS", "IRDL_PATH", "MxError", "OPS",
    "Op", "TRANSFORM_OPS", "TensorType", "from_storage", "infer_types", "irdl_text", "is_float",
    "is_integer", "load_dialect", "new_context", "numpy_dtype", "register", "to_storage",
]
