"""Verifier: MLIR's own checks (IRDL arity, bases) plus each op's `infer` on its types."""

from __future__ import annotations

from mlir import ir
from mxir.dialect import OPS, OPTIONAL_ATTRS, TRANSFORM_OPS, MxError, infer_types

from .ir_utils import function_table, is_mx, is_transform, mx_name, read_op


def verify(module) -> None:
    """Raise MxError (with a location) on the first invalid op."""
    try:
        module.operation.verify()
    except ir.MLIRError as e:
        diag = e.error_diagnostics[0] if e.error_diagnostics else None
        raise MxError(diag.message if diag else str(e), diag.location if diag else None) from None
    table = function_table(module)
    for op in walk_ops(module.operation):
        if not is_mx(op):
            dialect = op.name.split(".", 1)[0]
            if not op.context.is_registered_operation(op.name):
                raise MxError(f"unregistered operation '{op.name}' (dialect '{dialect}' is not "
                              "loaded)", op.location)
            continue
        if len(op.regions):  # checked for transform ops too: --inline aborts on such regions
            raise MxError(f"'{op.name}' op must have no regions", op.location)
        if is_transform(op):
            optional = OPTIONAL_ATTRS.get(mx_name(op), {})
            for key, kind in {**TRANSFORM_OPS[mx_name(op)], **optional}.items():
                if key not in op.attributes:
                    if key in optional:
                        continue
                    raise MxError(f"'{op.name}' op attribute \"{key}\" is expected but not "
                                  "provided", op.location)
                try:
                    kind.from_ir(op.attributes[key])
                except (MxError, TypeError, ValueError) as e:
                    raise MxError(f"'{op.name}' op attribute \"{key}\": "
                                  f"{getattr(e, 'message', e)}", op.location) from None
            for key in ("callee", "vjp", "jvp", "vmap"):
                if key in op.attributes and \
                        ir.FlatSymbolRefAttr(op.attributes[key]).value not in table:
                    raise MxError(f"'{op.name}' op {key} {op.attributes[key]} does not name a "
                                  "function in this module", op.location)
            if "vmap" in op.attributes and "vmap_mapped" not in op.attributes:
                raise MxError(f"'{op.name}' op attribute \"vmap_mapped\" is expected with "
                              "\"vmap\"", op.location)
            continue
        if mx_name(op) not in OPS:
            raise MxError(f"unknown op '{op.name}'", op.location)
        m = read_op(op)
        if len(op.regions):
            raise MxError(f"'{op.name}' op must have no regions", op.location)
        try:
            OPS[m.name].check_arity(len(m.in_types))
            expected = infer_types(m.name, m.in_types, m.attrs)
        except MxError as e:
            prefix = f"'{op.name}' "
            text = e.message if e.message.startswith(prefix) else f"{prefix}op {e.message}"
            raise MxError(text, op.location) from None
        if expected != m.out_types:
            raise MxError(f"'{op.name}' op result type mismatch: expected "
                          f"{', '.join(map(str, expected))} but got "
                          f"{', '.join(map(str, m.out_types))}", op.location)


def walk_ops(root):
    """All ops nested under `root`, in pre-order."""
    out = []

    def visit(op):
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    out.append(inner.operation if hasattr(inner, "operation") else inner)
                    visit(inner)

    visit(root)
    return out
