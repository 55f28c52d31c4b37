"""mx-simplify: constant folding, each op's own `simplify` rule, CSE and DCE for `mx` ops.

Upstream canonicalize/cse leave IRDL ops alone (they carry no traits: unknown side effects),
so the dialect needs its own. Folding runs each op's `reference` rule on constant operands.
"""

from __future__ import annotations

from mlir import ir
from mxir.dialect import OPS, Builder, ConstValue
from mxir.dialect.core import DENSE

from .ir_utils import body_ops, functions, is_mx, is_transform, mx_name, read_op
from .reference import run_op

FOLD_LIMIT = 256  # elements; larger constants stay computed at run time
MAX_ROUNDS = 8


def simplify(module) -> None:
    for func in functions(module):
        _fold_constants(func)
        for _ in range(MAX_ROUNDS):  # rewrites enable rewrites (reshape chains, x * 1 * 1)
            if not _rewrite(func):
                break
        _cse(func)
        _dce(func)


def _is_pure_mx(op) -> bool:
    return is_mx(op) and not is_transform(op) and mx_name(op) in OPS


def _constant_value(value):
    owner = value.owner
    if isinstance(owner, ir.Block) or owner is None:
        return None
    op = owner.operation if hasattr(owner, "operation") else owner
    if op.name != "mx.constant":
        return None
    return DENSE.from_ir(op.attributes["value"])


_NOT_FOLDED = ("constant", "random_bits", "metal_kernel")


def _fold_constants(func) -> None:
    for op in body_ops(func):
        # a user's kernel is not run at compile time (the compiler is a forked child)
        if not _is_pure_mx(op) or mx_name(op) in _NOT_FOLDED or not op.operands:
            continue
        consts = [_constant_value(v) for v in op.operands]
        if any(c is None for c in consts):
            continue
        m = read_op(op)
        if sum(t.size for t in m.out_types) > FOLD_LIMIT:
            continue
        outs = run_op(m.name, [c.array for c in consts], m.in_types, m.out_types, m.attrs)
        new = [ir.Operation.create("mx.constant", results=[r.type],
                                   attributes={"value": DENSE.to_ir(ConstValue(v, t.dtype))},
                                   loc=op.location, ip=ir.InsertionPoint(op)).results[0]
               for r, v, t in zip(op.results, outs, m.out_types)]
        for r, n in zip(op.results, new):
            r.replace_all_uses_with(n)
        op.operation.erase()


def _rewrite(func) -> bool:
    """Apply each op's own `simplify` rule once over the function; True if anything changed."""
    changed = False
    for op in body_ops(func):
        if not _is_pure_mx(op) or OPS[mx_name(op)].simplify is None:
            continue
        m = read_op(op)
        b = Builder(ir.InsertionPoint(op), op.location)
        new = OPS[m.name].simplify(b, list(op.operands), m.out_types, **m.attrs)
        if new is None:
            continue
        for r, v in zip(op.results, new):
            r.replace_all_uses_with(v)
        op.operation.erase()
        changed = True
    return changed


def _cse(func) -> None:
    seen: dict = {}
    for op in body_ops(func):
        if not _is_pure_mx(op):
            continue
        key = (op.operation.name, tuple(op.operands),
               tuple(sorted((k, str(op.attributes[k])) for k in op.attributes)),
               tuple(str(r.type) for r in op.results))
        prior = seen.get(key)
        if prior is None:
            seen[key] = op
            continue
        for r, p in zip(op.results, prior.results):
            r.replace_all_uses_with(p)
        op.operation.erase()


def _dce(func) -> None:
    for op in reversed(body_ops(func)):
        if _is_pure_mx(op) and all(_unused(r) for r in op.results):
            op.operation.erase()


def _unused(value) -> bool:
    return next(iter(value.uses), None) is None
