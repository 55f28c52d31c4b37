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
                if n is not None:
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
    """(per value of `fn` after its arguments: (instruction index, result index), per
    instruction: its attributes as a dict), made once per Function."""
    plan = fn.__dict__.get("_plan")
    if plan is None:
        owner = [(j, k) for j, ins in enumerate(fn[1]) for k in range(len(ins[3]))]
        plan = fn.__dict__["_plan"] = (owner, [dict(ins[1]) for ins in fn[1]])
    return plan


def _match_function(fn, trace, open_traces: tuple, stack: list) -> list | None:
    """Whether the graph values on `stack` ((node, result index, ref) each) are, one to one,
    the values `fn` computes at those refs when emitted for `trace` (None: @main) inside
    `open_traces`. Returns the node at the first argument of each argument node (parameters
    of `trace`, then captures; @main: inputs), None at the others, or None: no match."""
    if type(fn) is not Function:
        return None
    arg_types, instrs, _ = fn
    n_args = len(arg_types)
    owner, attrs_of = _plan(fn)
    args: list = [None] * n_args
    placed: dict[int, int] = {}  # id(node) -> ref of its first result
    claimed: set[int] = set()  # instructions matched to a node
    n_params = 0
    is_main = trace is None
    if not is_main:
        params = trace.params
        n_params = len(params)
        if n_params > n_args:
            return None
        for i, p in enumerate(params):
            if p.types[0] is not arg_types[i]:
                return None
            placed[id(p)] = i
            args[i] = p
    pop, push = stack.pop, stack.append
    while stack:
        node, idx, ref = pop()
        base = placed.get(id(node))
        if base is not None:
            if base + idx != ref:
                return None
            continue
        op = node.op
        if op == PARAM:  # not one of `trace`'s own (those are placed)
            if node.trace() not in open_traces:
                b = node.bound
                if b is None:
                    return None  # the emitter raises (eval inside vmap/compile)
                push((b._node, b._index, ref))  # stands for the array it is bound to
                continue
            argument = True  # captured
        elif op == DATA:
            argument = True
        elif is_main and (v := node.values) is not None:  # evaluated: an input
            argument = True
            for x in v:
                if x is None:
                    argument = False
        else:
            argument = False
        if argument:  # an input of @main or a capture of a callee: all its results
            types = node.types
            base = ref - idx
            if base < n_params or base + len(types) > n_args or args[base] is not None:
                return None
            for t in types:
                if arg_types[base] is not t:
                    return None
                base += 1
            base = ref - idx
            args[base] = node
            placed[id(node)] = base
            continue
        if ref < n_args:
            return None
        j, k = owner[ref - n_args]
        ins = instrs[j]
        if k != idx or j in claimed or op != ins[0] or node.types != ins[3]:
            return None
        claimed.add(j)
        placed[id(node)] = ref - k
        inputs = node.inputs
        operands = ins[2]
        if is_main and not node.traced:  # the uses eager.held_of would weigh: not here
            for a in inputs:
                n = a._node
                if n.op != DATA and n.inputs:
                    return None
        callee = node.callee
        if callee is None:
            if ins[4] is not None or len(inputs) != len(operands) or node.attrs != attrs_of[j]:
                return None
            for a, r in zip(inputs, operands):
                push((a._node, a._index, r))
            continue
        sub = ins[4]
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
        for c in found[n:]:
            if c is not None:
                caps.extend((c, i) for i in range(len(c.types)))
        m = len(caps)
        if len(operands) != len(inputs) + (2 * m if op == "jvp" else m):
            return None  # (a jvp's zero tangents of the captures follow, fixed by their types)
        if (transform_attrs(node, m) if m else node.attrs) != attrs_of[j]:
            return None
        for p, a in enumerate(inputs):
            push((a._node, a._index, operands[p if p < n else p + m]))
        for t, (c, i) in enumerate(caps):
            push((c, i, operands[n + t]))
    # every argument bound to a node (the emitter only makes arguments for what it meets)
    r = n_params
    while r < n_args:
        node = args[r]
        if node is None:
            return None
        r += len(node.types)
    return args
