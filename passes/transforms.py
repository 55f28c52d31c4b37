"""Expansion of the transform ops `mx.vjp`, `mx.jvp`, `mx.vmap` (and `func.call`, inlined).

`mx.custom` (mx.custom_function) is a call of its `callee` that carries its own rules: the
symbols `vjp`, `jvp` and `vmap` name functions that the expanders call in place of
differentiating or batching the body; a rule that is absent falls back to transforming the
body. It stays in the IR through every transform (so an outer transform still finds its
rules) and is inlined as a call only at the end of `mx-transforms`. `checkpoint` on it marks
rematerialisation: autodiff recomputes the body in the reverse sweep instead of keeping its
intermediates.

The driver is generic: it visits functions callee-first, so transform ops inside a callee are
expanded before the callee itself is transformed (that is what makes `grad(grad(f))` and
`vmap(grad(f))` work to any depth), and replaces each transform op in place with the ops its
expander emits. The expanders know nothing about particular ops: every derivative and batching
rule lives with its op (`Op.vjp`, `Op.jvp`, `Op.batch`).
"""

from __future__ import annotations

from mlir import ir
from mxir.dialect import OPS, Builder, DynamicDimsError, MxError, TensorType, is_float

from .ir_utils import (
    body_ops,
    copy_attributes,
    function_table,
    functions,
    is_mx,
    mx_name,
    read_op,
)

TRANSFORM_KINDS = ("vjp", "jvp", "vmap", "call", "custom")
RULES = ("vjp", "jvp", "vmap")


def expand_transforms(module, kinds=TRANSFORM_KINDS) -> None:
    table = function_table(module)
    done: set[str] = set()
    active: list[str] = []

    def process(name: str, site) -> None:
        if name in done:
            return
        if name not in table:
            raise MxError(f"callee @{name} does not name a function in this module", site)
        if name in active:
            raise MxError(f"recursive transform or call of @{name}", site)
        active.append(name)
        func = table[name]
        for op in body_ops(func):
            for callee in _callees(op):
                process(callee, op.location)
        for op in body_ops(func):
            kind = _kind(op)
            if kind is None or kind == "custom":  # custom ops keep their rules for now
                continue
            if kind not in kinds:
                raise MxError(f"'{op.operation.name}' is not expanded by this pass; run "
                              "mx-transforms", op.location)
            EXPANDERS[kind](op, table[_callee(op)])
        active.pop()
        done.add(name)

    for name in list(table):
        process(name, None)
    if "custom" in kinds:  # what is left of custom functions runs as calls of their bodies
        for func in functions(module):
            pending = [op for op in body_ops(func) if _kind(op) == "custom"]
            while pending:
                op = pending.pop()
                ip = ir.InsertionPoint(op)
                cloned, outs, _ = _clone_body(table[_callee(op)], list(op.operands), ip)
                _replace(op, outs)
                pending.extend(new for m, new in cloned if m.name == "custom")
    _drop_unused_private(module)


def _kind(op) -> str | None:
    name = op.operation.name
    if name == "func.call":
        return "call"
    if is_mx(op) and mx_name(op) in ("vjp", "jvp", "vmap", "custom"):
        return mx_name(op)
    return None


def _callee(op) -> str | None:
    if _kind(op) is None:
        return None
    return ir.FlatSymbolRefAttr(op.attributes["callee"]).value


def _callees(op) -> list[str]:
    """Every function `op` names: its callee and, for mx.custom, its rules."""
    if _kind(op) is None:
        return []
    return [ir.FlatSymbolRefAttr(op.attributes[k]).value
            for k in ("callee", *RULES) if k in op.attributes]


def _rule_name(op, rule: str) -> str | None:
    return ir.FlatSymbolRefAttr(op.attributes[rule]).value if rule in op.attributes else None


def _function(op, name: str):
    """The function `name` of the module that holds `op`."""
    return ir.SymbolTable(op.operation.parent.parent.operation)[name]


def _drop_unused_private(module) -> None:
    used = set()
    for f in body_ops_all(module):
        if "callee" in f.attributes:
            used.add(ir.FlatSymbolRefAttr(f.attributes["callee"]).value)
    for f in list(module.body.operations):
        if f.operation.name != "func.func":
            continue
        vis = f.attributes["sym_visibility"] if "sym_visibility" in f.attributes else None
        name = ir.StringAttr(f.attributes["sym_name"]).value
        if vis is not None and ir.StringAttr(vis).value == "private" and name not in used:
            f.operation.erase()


def body_ops_all(module):
    for f in module.body.operations:
        if f.operation.name == "func.func":
            yield from body_ops(f)


# ---------------------------------------------------------------------------------------------
def _clone_body(func, args, ip):
    """Copy `func`'s body before `ip` with its arguments bound to `args`. Returns
    (list of (original op read as MxOp, cloned op), returned values, the callee's returned
    values). Autodiff keys cotangents by the callee's values, not the clones: two arguments
    bound to the same operand must still get separate gradients."""
    block = func.regions[0].blocks[0]
    if len(args) != len(block.arguments):
        raise MxError(f"callee expects {len(block.arguments)} arguments, got {len(args)}")
    env = {a: v for a, v in zip(block.arguments, args)}
    cloned = []
    for op in body_ops(func):
        name = op.operation.name
        if name == "func.return":
            return cloned, [env[v] for v in op.operands], list(op.operands)
        if not is_mx(op) or mx_name(op) not in (*OPS, "custom"):
            raise MxError(f"cannot transform '{name}' (only mx ops may appear in a callee)",
                          op.location)
        m = read_op(op)
        new = ir.Operation.create(
            name, results=[r.type for r in op.results], operands=[env[v] for v in op.operands],
            attributes=copy_attributes(op), loc=op.location, ip=ip)
        for r, n in zip(op.results, new.results):
            env[r] = n
        cloned.append((m, new))
    raise MxError("callee has no return")


def _replace(op, values) -> None:
    for r, v in zip(op.results, values):
        if r.type != v.type:
            raise MxError(f"transform result type {v.type} does not match declared {r.type}",
                          op.location)
        r.replace_all_uses_with(v)
    op.operation.erase()


def _rule(m, kind: str):
    op = OPS[m.name]
    rule = getattr(op, kind)
    if rule is None:
        raise MxError(f"mx-{'autodiff' if kind == 'vjp' else kind}: no {kind} rule for "
                      f"'mx.{m.name}'", m.location)
    if not op.dynamic and any(t.dynamic for t in m.in_types + m.out_types):
        raise DynamicDimsError(f"'mx.{m.name}' cannot take dynamic dims", m.location)
    return rule


def _check_result_count(op, expected: int, what: str) -> None:
    if len(op.results) != expected:
        raise MxError(f"'{op.operation.name}' op expects {expected} results ({what}), got "
                      f"{len(op.results)}", op.location)


def call_values(op, callee) -> list:
    ip = ir.InsertionPoint(op)
    _, outs, _ = _clone_body(callee, list(op.operands), ip)
    return outs


def differentiable(value) -> bool:
    """Whether a value carries tangents and cotangents: every dtype but bool (MLX
    differentiates integers in their own dtype, `grad(lambda x: x * 2)(1)` is int32 2)."""
    return TensorType.from_ir(value.type).dtype != "bool"


def vjp_values(op, callee) -> list:
    """Forward sweep (the callee's body), then the reverse sweep summing cotangents."""
    n_args = len(callee.regions[0].blocks[0].arguments)
    operands = list(op.operands)
    args, cotangents = operands[:n_args], operands[n_args:]
    argnums = [int(i) for i in ir.DenseI64ArrayAttr(op.attributes["argnums"])]
    if any(not 0 <= i < n_args for i in argnums):
        raise MxError(f"'mx.vjp' argnums {argnums} out of range for {n_args} arguments",
                      op.location)
    ip = ir.InsertionPoint(op)
    cloned, outs, returned = _clone_body(callee, args, ip)
    if len(cotangents) != len(outs):
        raise MxError(f"'mx.vjp' expects one cotangent per callee result ({len(outs)}), got "
                      f"{len(cotangents)}", op.location)
    _check_result_count(op, len(outs) + len(argnums), "callee results, then one gradient per "
                        "argnum")
    for c, o in zip(cotangents, outs):
        if c.type != o.type:
            raise MxError(f"'mx.vjp' cotangent type {c.type} does not match result type "
                          f"{o.type}", op.location)
    acc: dict = {}
    b0 = Builder(ip, op.location)

    def accumulate(value, ct, b):
        # as MLX, integer values carry cotangents in their own dtype; bools carry none
        if ct is None or not differentiable(value):
            return
        if ct.type != value.type:
            ct = b.astype(ct, dtype=TensorType.from_ir(value.type).dtype)
        acc[value] = ct if value not in acc else b.add(acc[value], ct)

    for o, c in zip(returned, cotangents):
        accumulate(o, c, b0)
    # values that depend on the differentiated arguments: as MLX's tape, the reverse sweep
    # visits only ops with such an operand (other cotangents reach no gradient, and an op
    # without a vjp rule, a custom kernel, may compute one)
    params = list(callee.regions[0].blocks[0].arguments)
    active = {params[i] for i in argnums}
    for m, _ in cloned:
        if any(v in active for v in m.op.operands):
            active.update(m.op.results)
    for m, new in reversed(cloned):
        original = m.op
        cts = [acc.get(r) for r in original.results]
        if all(c is None for c in cts) or not any(v in active for v in original.operands):
            continue
        b = Builder(ip, new.location)
        cts = [c if c is not None else b.zeros_like(r) for c, r in zip(cts, new.results)]
        if m.name == "custom":
            in_cts = _custom_vjp(new, cts, ip)
        else:
            in_cts = _rule(m, "vjp")(b, list(new.operands), list(new.results), cts, **m.attrs)
        if len(in_cts) != len(new.operands):
            raise MxError(f"vjp rule of 'mx.{m.name}' returned {len(in_cts)} cotangents for "
                          f"{len(new.operands)} operands", m.location)
        for v, c in zip(original.operands, in_cts):
            accumulate(v, c, b)
    grads = [acc[params[i]] if params[i] in acc else b0.zeros_like(args[i]) for i in argnums]
    return outs + grads


def jvp_values(op, callee) -> list:
    n_args = len(callee.regions[0].blocks[0].arguments)
    operands = list(op.operands)
    if len(operands) != 2 * n_args:
        raise MxError(f"'mx.jvp' expects {n_args} primals and {n_args} tangents, got "
                      f"{len(operands)} operands", op.location)
    args, tangents = operands[:n_args], operands[n_args:]
    ip = ir.InsertionPoint(op)
    tan: dict = {}  # keyed by the callee's values (see _clone_body)
    params = list(callee.regions[0].blocks[0].arguments)
    for p, a, t in zip(params, args, tangents):
        if a.type != t.type:
            raise MxError(f"'mx.jvp' tangent type {t.type} does not match primal {a.type}",
                          op.location)
        # a constant zero tangent is a symbolic zero (None): rules then skip its terms, so
        # 0 * inf or 0 * nan from an unused partial never reaches the result
        if differentiable(a) and Builder.splat(t) != 0:
            tan[p] = t
    cloned, outs, returned = _clone_body(callee, args, ip)
    _check_result_count(op, 2 * len(outs), "callee results, then one tangent per result")
    for m, new in cloned:
        ts = [tan.get(v) for v in m.op.operands]
        if m.name == "custom" and _rule_name(new, "jvp") is not None:
            ts[_primals(new):] = [None] * (len(ts) - _primals(new))  # captures: constants
        if all(t is None for t in ts):
            continue
        b = Builder(ip, new.location)
        if m.name == "custom":
            out_ts = _custom_jvp(new, ts, ip)
        else:
            out_ts = _rule(m, "jvp")(b, list(new.operands), ts, list(new.results), **m.attrs)
        for r, t in zip(m.op.results, out_ts):
            if t is not None and differentiable(r):
                if t.type != r.type:
                    t = b.astype(t, dtype=TensorType.from_ir(r.type).dtype)
                tan[r] = t
    b0 = Builder(ip, op.location)
    return outs + [tan[r] if r in tan else b0.zeros_like(o) for r, o in zip(returned, outs)]


def _axes_attr(op, key):
    from mxir.dialect.core import AXES

    return list(AXES.from_ir(op.attributes[key]))


def vmap_values(op, callee) -> list:
    block = callee.regions[0].blocks[0]
    n_args = len(block.arguments)
    args = list(op.operands)
    if len(args) != n_args:
        raise MxError(f"'mx.vmap' expects {n_args} operands for @{_callee(op)}, got {len(args)}",
                      op.location)
    in_axes = _axes_attr(op, "in_axes")
    out_axes = _axes_attr(op, "out_axes")
    if len(in_axes) != n_args:
        raise MxError(f"'mx.vmap' in_axes has {len(in_axes)} entries for {n_args} operands",
                      op.location)
    size = None
    for a, ax in zip(args, in_axes):
        if ax is None:
            continue
        t = TensorType.from_ir(a.type)
        if not 0 <= ax < t.ndim:
            raise MxError(f"'mx.vmap' in_axes entry {ax} out of range for {t}", op.location)
        if size is not None and t.shape[ax] != size:
            raise MxError(f"[vmap] Inconsistent axis sizes: {size} and {t.shape[ax]}.",
                          op.location)
        size = t.shape[ax]
    if size is None:
        raise MxError("'mx.vmap' needs at least one mapped operand", op.location)
    ip = ir.InsertionPoint(op)
    env: dict = {}
    axis: dict = {}
    for barg, a, ax in zip(block.arguments, args, in_axes):
        env[barg] = a
        axis[barg] = ax
    outs = None
    for inner in body_ops(callee):
        name = inner.operation.name
        if name == "func.return":
            outs = [(env[v], axis[v]) for v in inner.operands]
            break
        if not is_mx(inner) or mx_name(inner) not in (*OPS, "custom"):
            raise MxError(f"cannot vmap '{name}'", inner.location)
        m = read_op(inner)
        operands = [env[v] for v in inner.operands]
        axes = [axis[v] for v in inner.operands]
        if all(a is None for a in axes):
            new = ir.Operation.create(name, results=[r.type for r in inner.results],
                                      operands=operands,
                                      attributes=copy_attributes(inner),
                                      loc=inner.location, ip=ip)
            results, res_axes = list(new.results), [None] * len(new.results)
        elif m.name == "custom":
            results = _custom_vmap(inner, operands, axes, size, ip)
            res_axes = [0] * len(results)
        else:
            b = Builder(ip, inner.location)
            results, res_axes = _rule(m, "batch")(b, operands, axes, **m.attrs)
        for r, v, ax in zip(inner.results, results, res_axes):
            env[r] = v
            axis[r] = ax
    if len(out_axes) != len(outs):
        raise MxError(f"'mx.vmap' out_axes has {len(out_axes)} entries for {len(outs)} results",
                      op.location)
    b = Builder(ip, op.location)
    return [_place_batch_axis(b, v, ax, want, size, op) for (v, ax), want in zip(outs, out_axes)]


def _place_batch_axis(b, value, axis, want, size, op):
    """Move the batch axis of a result to `want` (or broadcast an unbatched result)."""
    t = b.type(value)
    if axis is None:
        if want is None:
            return value
        value = b.broadcast_to(b.reshape(value, shape=(1, *t.shape)), shape=(size, *t.shape))
        axis, t = 0, b.type(value)
    elif want is None:
        raise MxError("'mx.vmap' out_axes None for a result that depends on a mapped input",
                      op.location)
    if not 0 <= want < t.ndim:
        raise MxError(f"'mx.vmap' out_axes entry {want} out of range for {t}", op.location)
    if axis == want:
        return value
    perm = [i for i in range(t.ndim) if i != axis]
    perm.insert(want, axis)
    return b.transpose(value, perm=tuple(perm))


VALUES = {"vjp": vjp_values, "jvp": jvp_values, "vmap": vmap_values, "call": call_values}


def _expander(kind: str):
    return lambda op, callee: _replace(op, VALUES[kind](op, callee))


EXPANDERS = {kind: _expander(kind) for kind in VALUES}


# ---------------------------------------------------------------------------------------------
# mx.custom: the rules of a custom function, or its body transformed where a rule is absent
def _primals(op) -> int:
    """How many operands of an mx.custom are the function's arguments (the rest are arrays
    its body captured: constants of the custom function, with no derivative)."""
    return ir.IntegerAttr(op.attributes["primals"]).value


def _now(kind: str, op, ip, callee: str, operands, result_types, attrs=None) -> list:
    """The values of a transform op on `callee` (for the custom op `op`) emitted at `ip` and
    expanded at once."""
    attributes = {"callee": ir.FlatSymbolRefAttr.get(callee), **(attrs or {})}
    new = ir.Operation.create("func.call" if kind == "call" else f"mx.{kind}",
                              results=list(result_types), operands=list(operands),
                              attributes=attributes, loc=op.location, ip=ip)
    values = VALUES[kind](new, _function(op, callee))
    for v, t in zip(values, result_types):
        if v.type != t:
            raise MxError(f"custom function rule @{callee} returns {v.type} where {t} is "
                          "expected", op.location)
    new.erase()
    return values


def _custom_vjp(op, cts, ip) -> list:
    """Cotangents of an mx.custom's operands (a rule gives none to the captures)."""
    n = _primals(op)
    operands = list(op.operands)
    primal_types = [v.type for v in operands[:n]]
    rule = _rule_name(op, "vjp")
    if rule is not None:  # the rule takes (primals, cotangents, outputs, captures)
        grads = _now("call", op, ip, rule, operands[:n] + cts + list(op.results) + operands[n:],
                     primal_types)
        return grads + [None] * (len(operands) - n)  # captures: constants of the rule
    # the body's own vjp, captures included: its forward sweep is recomputed here, which
    # CSE merges with the first one, unless `checkpoint` orders it after the cotangents
    from mxir.dialect.core import INTS

    if "checkpoint" in op.attributes:
        operands = _after(operands, cts, Builder(ip, op.location))
    outs = _now("vjp", op, ip, _callee(op), operands + cts,
                [r.type for r in op.results] + [v.type for v in operands],
                {"argnums": INTS.to_ir(tuple(range(len(operands))))})
    return outs[len(op.results):]


def _after(values, cotangents, b) -> list:
    """`values` (the floats among them) behind an mx.barrier on the cotangents: computations
    from them cannot start before the reverse sweep reaches this point."""
    cts = [c for c in cotangents if is_float(b.type(c).dtype)]
    if not cts:
        return values
    t = b.type(cts[0])
    s = b.sum(cts[0], axes=tuple(range(t.ndim)), keepdims=False) if t.ndim else cts[0]
    if t.dtype != "float32":
        s = b.astype(s, dtype="float32")
    return [b.barrier(v, s) if is_float(b.type(v).dtype) else v for v in values]


def _custom_jvp(op, tangents, ip) -> list:
    """Tangents of an mx.custom's results, given its operands' tangents (None: zero)."""
    n = _primals(op)
    operands = list(op.operands)
    b = Builder(ip, op.location)
    ts = [t if t is not None else b.zeros_like(v) for t, v in zip(tangents, operands)]
    out_types = [r.type for r in op.results]
    rule = _rule_name(op, "jvp")
    if rule is not None:  # the rule takes (primals, tangents, captures)
        return _now("call", op, ip, rule, operands[:n] + ts[:n] + operands[n:], out_types)
    outs = _now("jvp", op, ip, _callee(op), operands + ts, out_types * 2)
    return outs[len(out_types):]


def _custom_vmap(op, operands, axes, size, ip) -> list:
    """An mx.custom's results with the batch axis first. Its vmap rule was traced for one
    pattern of mapped arguments (`vmap_mapped`: 1 mapped, at axis 0; 0 unmapped); any other
    pattern batches the body."""
    from mxir.dialect.core import AXES, INTS

    n = _primals(op)
    rule = _rule_name(op, "vmap")
    out_types = [TensorType.from_ir(r.type) for r in op.results]
    batched = [t.with_shape((size, *t.shape)).to_ir() for t in out_types]
    if rule is not None and all(ax is None for ax in axes[n:]):
        mapped = tuple(int(ax is not None) for ax in axes[:n])
        if mapped == tuple(INTS.from_ir(op.attributes["vmap_mapped"])):
            b = Builder(ip, op.location)
            moved = [v if ax is None else _place_batch_axis(b, v, ax, 0, size, op)
                     for v, ax in zip(operands, axes)]
            return _now("call", op, ip, rule, moved, batched)
    return _now("vmap", op, ip, _callee(op), operands, batched,
                {"in_axes": AXES.to_ir(tuple(axes)), "out_axes": AXES.to_ir((0,) * len(batched))})
