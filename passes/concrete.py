"""Concrete shapes of a program with dynamic dims, for one set of argument shapes.

A function whose types have dynamic dims (`tensor<?x4xf32>`, from shapeless compile) runs every
shape that fits them, but its caller allocates the outputs, so it must know their shapes before
the call. `concrete_results` finds them by re-inferring each op's types from the arguments' shapes;
`concrete_op` is the per-op step, which the reference interpreter uses too. Both raise MxError at
the op's location where the shapes do not fit what the op's dynamic code computes (e.g. operands
of an elementwise op whose dynamic dims turn out different), so no run can read out of bounds.
"""

from __future__ import annotations

from mlir import ir
from mxir.dialect import MxError, TensorType, infer_types
from mxir.dialect.shape import broadcast_size_source

from .ir_utils import MxOp, body_ops, function_table, is_mx, read_op, symbol_name

PREPARE = ["mx-verify", "mx-transforms", "mx-simplify"]


def fits(t: TensorType, declared: TensorType) -> bool:
    """Whether `t` is a shape `declared` admits: same dtype and rank, equal static dims."""
    return (t.dtype == declared.dtype and t.ndim == declared.ndim
            and all(d is None or d == s for s, d in zip(t.shape, declared.shape)))


def _op_error(op, e: MxError) -> MxError:
    prefix = f"'{op.name}' "
    text = e.message if e.message.startswith(prefix) else f"{prefix}op {e.message}"
    return MxError(text, op.location)


def _broadcast_shape(m: MxOp, types: list[TensorType]) -> tuple:
    """broadcast_to's target: a dynamic dim is sized by the operand its lowering reads it from;
    a dynamic dim of the broadcast operand itself is copied, never broadcast, by that code."""
    declared, shape = m.in_types, m.attrs["shape"]
    rank = len(shape)
    out = list(shape)
    for i, d in enumerate(shape):
        k = broadcast_size_source(declared, rank, i) if d is None else None
        if k is not None:
            out[i] = types[k].shape[i - rank + types[k].ndim]
    src, lead = types[0], rank - types[0].ndim
    for j, d in enumerate(declared[0].shape):
        if d is None and 0 <= lead + j < rank and src.shape[j] != out[lead + j]:
            raise MxError(f"dynamic dim {j} of the operand is {src.shape[j]} but the result's "
                          f"dim {lead + j} is {out[lead + j]}: a dynamic dim does not broadcast")
    return tuple(out)


def _reshape_shape(m: MxOp, types: list[TensorType]) -> tuple:
    """A dynamic reshape only adds or drops unit dims: the other dims keep their order, so each
    dynamic target dim is the operand's matching dim."""
    shape = m.attrs["shape"]
    src = [i for i, d in enumerate(m.in_types[0].shape) if d != 1]
    dst = [j for j, d in enumerate(shape) if d != 1]
    out = list(shape)
    if len(src) == len(dst):  # else the op's infer reports the bad reshape
        for i, j in zip(src, dst):
            if shape[j] is None:
                out[j] = types[0].shape[i]
    return tuple(out)


RESOLVE = {"broadcast_to": _broadcast_shape, "reshape": _reshape_shape}


def concrete_op(m: MxOp, types: list[TensorType]) -> tuple[dict, list[TensorType]]:
    """(attributes, result types) of the mx op `m` when its operands have the static `types`:
    dynamic dims of a target shape attribute filled in, results inferred by the op's `infer`
    and checked against the op's declared result types."""
    for n, (t, d) in enumerate(zip(types, m.in_types), start=1):
        if not fits(t, d):
            raise MxError(f"'{m.op.name}' op operand {n} is {t}, which does not fit {d}",
                          m.location)
    attrs = dict(m.attrs)
    try:
        if m.name in RESOLVE and any(t.dynamic for t in m.in_types):
            attrs["shape"] = RESOLVE[m.name](m, types)
        outs = infer_types(m.name, types, attrs)
    except MxError as e:
        raise _op_error(m.op, e) from None
    for n, (t, d) in enumerate(zip(outs, m.out_types), start=1):
        if not fits(t, d) or t.dynamic:
            raise MxError(f"'{m.op.name}' op result {n} would be {t}, which does not fit its "
                          f"type {d}", m.location)
    return attrs, outs


def concrete_results(module, entry: str, arg_types: list[TensorType]) -> list[TensorType]:
    """The result types of function `entry` called with arguments of the static `arg_types`.
    Works on a copy of `module` (verified, transforms expanded, simplified); MxError with a
    location where the arguments' shapes do not fit the program."""
    from .registry import run_pipeline  # the registry imports the interpreter, which imports us

    text = module.operation.get_asm(enable_debug_info=True)
    work = ir.Module.parse(text)  # a copy that keeps the locations for the diagnostics
    run_pipeline(work, PREPARE)
    table = function_table(work)
    if entry not in table:
        raise MxError(f"no function named @{entry} in the module")
    return _walk(table, table[entry], list(arg_types))


def _walk(table, func, arg_types):
    env = dict(zip(func.regions[0].blocks[0].arguments, arg_types))
    for op in body_ops(func):
        name = op.operation.name
        if name == "func.return":
            return [env[v] for v in op.operands]
        if name == "func.call":
            callee = table[ir.FlatSymbolRefAttr(op.attributes["callee"]).value]
            outs = _walk(table, callee, [env[v] for v in op.operands])
        elif is_mx(op):
            outs = concrete_op(read_op(op), [env[v] for v in op.operands])[1]
        else:
            raise MxError(f"cannot infer the shapes of '{name}'", op.location)
        for r, t in zip(op.results, outs):
            env[r] = t
    raise MxError(f"function @{symbol_name(func)} has no return")
