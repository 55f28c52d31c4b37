"""Reading `mx` ops back from MLIR: name, typed operands, Python attribute values."""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import func
from mxir.dialect import OPS, TRANSFORM_OPS, MxError, TensorType


def is_mx(op) -> bool:
    return op.operation.name.startswith("mx.")


def mx_name(op) -> str:
    return op.operation.name[3:]


def read_attrs(op) -> dict:
    """The Python values of an `mx` op's declared attributes (MxError if one is malformed)."""
    opdef = OPS[mx_name(op)]
    out = {}
    for key, kind in opdef.attrs.items():
        if key not in op.attributes:
            raise MxError(f"'{op.name}' op attribute \"{key}\" is expected but not provided",
                          op.location)
        try:
            out[key] = kind.from_ir(op.attributes[key])
        except MxError as e:
            raise MxError(f"'{op.name}' op attribute \"{key}\": {e.message}", op.location) from None
        except (TypeError, ValueError) as e:  # e.g. complex elements: the bindings cannot cast
            raise MxError(f"'{op.name}' op attribute \"{key}\": unsupported value ({e})",
                          op.location) from None
    return out


@dataclass
class MxOp:
    """An `mx` op read back from IR."""

    op: object
    name: str
    operands: list
    in_types: list[TensorType]
    out_types: list[TensorType]
    attrs: dict

    @property
    def location(self):
        return self.op.location


def read_op(op) -> MxOp:
    name = mx_name(op)
    try:
        in_types = [TensorType.from_ir(v.type) for v in op.operands]
        out_types = [TensorType.from_ir(r.type) for r in op.results]
    except MxError as e:
        raise MxError(f"'{op.name}' op {e.message}", op.location) from None
    attrs = read_attrs(op) if name in OPS else {}
    return MxOp(op, name, list(op.operands), in_types, out_types, attrs)


def functions(module) -> list:
    """The defined functions (declarations, e.g. the LAPACK calls of mx.linalg, have no body)."""
    return [op for op in module.body.operations
            if op.operation.name == "func.func" and op.regions[0].blocks]


def symbol_name(func) -> str:
    return ir.StringAttr(func.attributes["sym_name"]).value


def function_table(module) -> dict:
    return {symbol_name(f): f for f in functions(module)}


def body_ops(func) -> list:
    """The ops of a function's single block (a snapshot list)."""
    return list(func.regions[0].blocks[0].operations)


def is_transform(op) -> bool:
    return is_mx(op) and mx_name(op) in TRANSFORM_OPS


def copy_attributes(op) -> dict:
    """name -> attribute of every attribute of `op` (iterating the map yields names)."""
    return {k: op.attributes[k] for k in op.attributes}


def first_op(module, predicate):
    """The first op of `module` (in walk order) for which `predicate(op)` holds, or None."""
    found = []

    def visit(op):
        if predicate(op):
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found[0] if found else None


def call_external(module, name: str, args, declared: set[str]) -> None:
    """A call of the external function `name` on `args` at the insertion point, declared
    (private, of the arguments' types, no results) once per module; `declared` remembers."""
    if name not in declared:
        declared.add(name)
        if name not in ir.SymbolTable(module.operation):
            with ir.InsertionPoint.at_block_begin(module.body), ir.Location.unknown():
                f = func.FuncOp(name, ir.FunctionType.get([a.type for a in args], []))
                f.attributes["sym_visibility"] = ir.StringAttr.get("private")
    func.call([], ir.FlatSymbolRefAttr.get(name), args)
