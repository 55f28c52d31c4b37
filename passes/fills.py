"""mx-private-fills: each destination that a `linalg.fill` initialises gets a fill of its own.

CSE merges equal fills, so the zero accumulators of two matmuls of one shape (W6's gradient:
`a @ b` and the cotangent's `ones @ b.T`) become one tensor that both ops write into. One-shot
bufferization then keeps that buffer for one of them and copies it for the other, and neither
product starts right after its fill: W6's step filled 4 MB with zeros, copied them, and ran both
gemms with beta = 1 (reading C). A fill per destination, placed just before the op that writes
it, bufferizes in place, and cpu-blas-matmul then folds it into beta = 0. Run after the last CSE
before bufferization (CSE would merge the copies again). Fills read as inputs stay shared.
"""

from __future__ import annotations

from mlir import ir

from .ir_utils import functions


def private_fills(module) -> None:
    for fn in functions(module):
        for block in fn.regions[0].blocks:
            for op in list(block.operations):
                if op.operation.name == "linalg.fill" and _tensor_result(op):
                    _split(op)


def _tensor_result(op) -> bool:
    results = op.operation.results
    return len(results) == 1 and isinstance(results[0].type, ir.RankedTensorType)


def _split(fill) -> None:
    uses = [(u.owner, u.operand_number) for u in fill.operation.results[0].uses]
    inits = [(user, i) for user, i in uses if _is_init(user, i)]
    if len(uses) < 2 or not inits:
        return
    for user, i in inits:
        ip = ir.InsertionPoint(user)
        init = fill.operation.operands[1]
        owner = init.owner
        if isinstance(owner, ir.OpView) and owner.operation.name == "tensor.empty":
            init = owner.operation.clone(ip=ip).results[0]  # its own buffer, not a copy
        clone = fill.operation.clone(ip=ip)
        clone.operands[1] = init
        user.operands[i] = clone.results[0]
    if len(inits) == len(uses):
        fill.operation.erase()


def _is_init(user, operand: int) -> bool:
    """Whether operand `operand` of `user` is a destination (DPS init) of a linalg op."""
    op = user.operation if hasattr(user, "operation") else user
    if not op.name.startswith("linalg.") or "operandSegmentSizes" not in op.attributes:
        return False
    inputs, _ = ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])
    return operand >= inputs
