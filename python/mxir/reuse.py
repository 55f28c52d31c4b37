"""The Program of a transform's graph reused when the graph repeats (uncompiled `grad(f)(x)`).

An uncompiled transform re-traces its function on every call, as MLX re-runs it (side effects,
Python control flow, closures over arrays that change), so each call builds fresh traces.
Linearising them into a Program and hashing that against the compile cache cost more than the
trace itself (W5). Instead, a graph rooted in a transform node is matched against the Program
of the last graphs of the same kind: a walk from the results that pairs each node with the
instruction it became (op, attributes, types, operands, callee function, recursively) and each
input or capture with its argument, one to one. A match means that the emitter
(program.FunctionEmitter) would produce this very Program from the graph — it emits only what
the results reach, in an order fixed by the structure — so the cached executable runs on the
inputs the walk collected. Anything else (no candidate, a difference, an argument the emitter
would reject, a lazy array that Python may hold: eager.held_of) falls back to linearising.
"""

from __future__ import annotations

from .graph import DATA, PARAM, Trace
from .program import Function, transform_attrs

# (op, callee name, result types) of a root transform node -> recent @main Programs
_RECENT: dict[tuple, list[Function]] = {}
_PER_KIND = 4
HITS = [0]  # graphs that reused a Program (tests)


def match(pending: list) -> tuple | None:
    """(@main Program, host inputs) for evaluating `pending` (results of one transform node),
    when the graph matches a remembered Program, else None."""
    node = pending[0]._node
    callee = node.callee
    recent = _RECENT.get((node.op, callee.name, node.types))
    if recent is None:
        return None
    for main in recent:
        results = main[2]
        if len(results) != len(pending):
            continue
        args = _match_function(main, None, (),
                               [(a._node, a._index, r) for a, r in zip(pending, results)])
        if args is not None:
            HITS[0] += 1
            inputs = []
            for n in args:
                if n is not _COVERED:
                    inputs.extend(n.values)
            return main, inputs
    return None


def remember(main: tuple, pending: list) -> None:
    """Keep `main`, the Program just linearised for `pending`, as a candidate for its kind."""
    node = pending[0]._node
    key = (node.op, node.callee.name, node.types)
    recent = _RECENT.get(key)
    if recent is None:
        if len(_RECENT) > 1024:  # a long session of distinct transforms: keep the map bounded
            _RECENT.clear()
        recent = _RECENT[key] = []
    recent.insert(0, Function(main))  # Function: hashed once for every compile-cache lookup
    del recent[_PER_KIND:]


def _plan(fn: Function) -> tuple:
    """(argument types, number of arguments, number of instructions, per value after the
    arguments: (slot of its instruction in `_match_function`'s table, result index, op,
    result types, attributes as a dict, operand refs, callee)), made once per Function."""
    arg_types, instrs, _ = fn
    n_args = len(arg_types)
    specs = []
    for j, (op, attrs, operands, types, callee) in enumerate(instrs):
        for k in range(len(types)):
            specs.append((n_args + j, k, op, types, dict(attrs), operands, callee))
    plan = fn.__dict__["_plan"] = (arg_types, n_args, len(instrs), specs)
    return plan


_COVERED = object()  # an argument slot taken by an earlier result of a multi-result node


def _match_function(fn, trace, open_traces: tuple, stack: list) -> list | None:
    """Whether the graph values on `stack` ((node, result index, ref) each) are, one to one,
    the values `fn` computes at those refs when emitted for `trace` (None: @main) inside
    `open_traces`. Returns the argument nodes, each at its first argument's slot (parameters
    of `trace`, then captures; @main: inputs), or None: no match."""
    if type(fn) is not Function:
        return None
    plan = fn.__dict__.get("_plan") or _plan(fn)
    arg_types, n_args, n_instrs, specs = plan
    at: list = [None] * (n_args + n_instrs)  # the node matched to each argument, instruction
    claimed: set[int] = set()  # ids of the nodes matched (one node, one place)
    is_main = trace is None
    n_params = 0
    if not is_main:
        params = trace.params
        n_params = len(params)
        if n_params > n_args:
            return None
        for i in range(n_params):
            p = params[i]
            if p.types[0] is not arg_types[i]:
                return None
            at[i] = p
    pop, push = stack.pop, stack.append
    while stack:
        node, idx, ref = pop()
        if ref < n_args:
            slot = ref - idx
            spec = None
        else:
            spec = specs[ref - n_args]
            slot = spec[0]
            if idx != spec[1]:
                return None
        cur = at[slot] if slot >= 0 else _COVERED
        if cur is node:  # met before, at this place (own parameters are placed)
            continue
        if cur is not None:
            return None
        op = node.op
        if op == PARAM:
            t = node.trace()
            if t is trace:
                return None  # an own parameter elsewhere
            if t not in open_traces:
                b = node.bound
                if b is None:
                    return None  # the emitter raises (eval inside vmap/compile)
                push((b._node, b._index, ref))  # stands for the array it is bound to
                continue
        if id(node) in claimed:
            return None
        claimed.add(id(node))
        if spec is None:  # an input of @main or a capture of a callee: all its results
            if slot < n_params or not (op == DATA or op == PARAM or is_main and _evaluated(node)):
                return None
            types = node.types
            if slot + len(types) > n_args:
                return None
            for t in types:
                if arg_types[slot] is not t or at[slot] is not None:
                    return None
                at[slot] = _COVERED
                slot += 1
            at[ref - idx] = node
            continue
        _, k, iop, types, attrs, operands, sub = spec
        if op != iop or node.types != types:
            return None
        at[slot] = node
        inputs = node.inputs
        if is_main and not node.traced:  # the uses eager.held_of would weigh: not here
            for a in inputs:
                n = a._node
                if n.op != DATA and n.inputs:
                    return None
        callee = node.callee
        if callee is None:
            if sub is not None or len(inputs) != len(operands) or node.attrs != attrs:
                return None
            for a, r in zip(inputs, operands):
                push((a._node, a._index, r))
            continue
        if type(callee) is not Trace:
            return None  # a custom function's rules: linearised as usual
        outs = callee.outputs
        results = sub[2]
        if len(outs) != len(results):
            return None
        found = _match_function(sub, callee, open_traces + (trace,) if trace else open_traces,
                                [(o._node, o._index, r) for o, r in zip(outs, results)])
        if found is None:
            return None
        n = len(callee.params)
        caps = []
        if len(found) > n:
            for c in found[n:]:
                if c is not None and c is not _COVERED:
                    caps.extend((c, i) for i in range(len(c.types)))
        m = len(caps)
        if len(operands) != len(inputs) + (2 * m if op == "jvp" else m):
            return None  # (a jvp's zero tangents of the captures follow, fixed by their types)
        if (transform_attrs(node, m) if m else node.attrs) != attrs:
            return None
        for p, a in enumerate(inputs):
            push((a._node, a._index, operands[p if p < n else p + m]))
        for t, (c, i) in enumerate(caps):
            push((c, i, operands[n + t]))
    # every argument bound to a node (the emitter only makes arguments for what it meets)
    for r in range(n_params, n_args):
        if at[r] is None:
            return None
    return at[:n_args]


def _evaluated(node) -> bool:
    values = node.values
    if values is None:
        return False
    for v in values:
        if v is None:
            return False
    return True
