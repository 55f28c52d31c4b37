"""mx-to-linalg: each `mx` op is replaced by what its `lower` rule emits."""

from __future__ import annotations

from mlir import ir
from mxir.dialect import OPS, DynamicDimsError, MxError, TensorType
from mxir.dialect.lowering import Lowering

from .ir_utils import body_ops, functions, is_mx, is_transform, read_op


def mx_to_linalg(module, serial_loops: bool = True) -> None:
    """`serial_loops`: see dialect.lowering.Lowering (False for the GPU pipeline)."""
    for func in functions(module):
        # read every op's `mx` types first: once a producer is lowered, its consumers' operands
        # carry storage types (bool -> i8), which no longer say the dtype
        ops = []
        for op in body_ops(func):
            if is_transform(op):
                raise MxError(f"'{op.name}' must be expanded before lowering (run mx-transforms)",
                              op.location)
            if is_mx(op):
                ops.append((op, read_op(op)))
        _storage_signature(func)
        _read_only_arguments(func)
        for op, m in ops:
            if not OPS[m.name].dynamic and any(t.dynamic for t in m.in_types + m.out_types):
                raise DynamicDimsError(f"'mx.{m.name}' has no lowering for dynamic dims",
                                       op.location)
            with Lowering(ir.InsertionPoint(op), op.location, serial_loops) as lo:
                try:
                    new = OPS[m.name].lower(lo, list(op.operands), m.in_types, m.out_types,
                                            **m.attrs)
                except MxError as e:
                    raise type(e)(e.message, op.location, e.exc_type) from None
            new = _values(new)
            for old, value in zip(op.results, new):
                old.replace_all_uses_with(value)
            op.erase()


def _read_only_arguments(func) -> None:
    """Arguments are the caller's arrays: without this, one-shot-bufferize may update them in
    place (e.g. tensor.insert into an argument in scatter_add) instead of copying first."""
    n = len(func.regions[0].blocks[0].arguments)
    readonly = ir.DictAttr.get({"bufferization.writable": ir.BoolAttr.get(False)})
    func.attributes["arg_attrs"] = ir.ArrayAttr.get([readonly] * n)


def _storage_signature(func) -> None:
    """Function arguments and results take the storage types of their dtypes."""
    block = func.regions[0].blocks[0]
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)

    def conv(t):
        if isinstance(t, ir.RankedTensorType):
            return TensorType.from_ir(t).to_ir(storage=True)
        return t

    inputs = [conv(t) for t in ftype.inputs]
    results = [conv(t) for t in ftype.results]
    if inputs == list(ftype.inputs) and results == list(ftype.results):
        return
    for arg, t in zip(block.arguments, inputs):
        arg.set_type(t)
    func.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, results))


def _values(lowered) -> list:
    """A lowering's result(s) as values (some binding helpers return the op itself)."""
    if isinstance(lowered, (list, tuple)):
        return [v for x in lowered for v in _values(x)]
    if isinstance(lowered, ir.Value):
        return [lowered]
    return list(lowered.results)
