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

from .eager import held_of
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
        own = main.__dict__
        generated = own.get("_generated")
        args = generated(None, (), pending) if generated else False
        if args is False:  # no code of its own (yet), or a case only the walk handles
            uses: dict = {}
            args = _match_function(
                main, None, (), [(a._node, a._index, r) for a, r in zip(pending, results)],
                uses)
            if args is not None and uses and held_of(uses, pending):
                return None  # Python holds some of them: evaluated apart, as eval_arrays does
            if args is not None and generated is None:
                own["_walked"] = walked = own.get("_walked", 0) + 1
                if walked >= GENERATE_AFTER:  # it repeats: its own code (0: cannot have it)
                    own["_generated"] = _generate(main, 0, True) or 0
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
    else:
        for i, known in enumerate(recent):
            if known == main:  # (it matched, but Python held an array of it)
                recent.insert(0, recent.pop(i))
                return
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


def _match_function(fn, trace, open_traces: tuple, stack: list,
                    uses: dict | None = None) -> list | None:
    """Whether the graph values on `stack` ((node, result index, ref) each) are, one to one,
    the values `fn` computes at those refs when emitted for `trace` (None: @main) inside
    `open_traces`. Returns the argument nodes, each at its first argument's slot (parameters
    of `trace`, then captures; @main: inputs), or None: no match. @main fills `uses` as
    program.trace_program_held does (the lazy arrays its non-traced nodes read)."""
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
        if op != iop or node.types != types or is_main and _evaluated(node):
            return None  # (evaluated: an input of @main)
        at[slot] = node
        inputs = node.inputs
        if uses is not None and not node.traced:  # counted as the emitter counts them
            for a in inputs:
                n = a._node
                if n.op != DATA and n.inputs:
                    u = uses.get(id(a))
                    if u is None:
                        uses[id(a)] = [a, 1]
                    else:
                        u[1] += 1
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


# -- matchers generated for a Program that keeps matching ---------------------------------------
# The walk above costs ~1 µs per function and ~0.5 µs per node in Python; W5's three
# functions and eight nodes cost more than MLX's whole call. A template that matched twice gets
# straight-line Python of its own (`_generate`): the same checks, each place known when the
# code is written. It handles plain ops and vjp callees with single-result arguments; anything
# else (jvp, vmap, call, custom callees, a multi-result argument) answers False and the walk
# above decides. Generated once per template, never for one that does not repeat.
GENERATE_AFTER = 2  # matches by the walk before a template gets its own code
MAX_LINES = 20000  # of a generated function (~15 per instruction; a callee's code apart)


def _resolve(node, idx: int, trace, open_traces: tuple):
    """What a parameter node stands for inside `trace` (within `open_traces`): itself when it
    is `trace`'s or an open trace's, else the array it is bound to, (None, 0) if unbound."""
    while True:
        t = node.trace()
        if t is trace or t in open_traces:
            return node, idx
        b = node.bound
        if b is None:
            return None, 0
        node, idx = b._node, b._index
        if node.op != PARAM:
            return node, idx


def _generate(fn, n_params: int, is_main: bool):
    """A function (trace, open traces, arrays at `fn`'s results) -> the argument nodes in
    slot order (parameters first), None (no match) or False (ask the walk), checking what
    `_match_function` checks; None when `fn` has parts the walk alone handles."""
    if type(fn) is not Function:
        return None
    arg_types, instrs, results = fn
    n_args = len(arg_types)
    if n_params > n_args:
        return None
    owner = {}
    ref = n_args
    for j, ins in enumerate(instrs):
        for k in range(len(ins[3])):
            owner[ref] = (j, k)
            ref += 1
    consts: dict = {"Trace": Trace, "_resolve": _resolve, "_evaluated": _evaluated}
    seen_refs: set = set()
    reached: set = set()
    out = ["def match(trace, open_traces, outs):"]
    body: list = []
    emit = body.append

    def const(value) -> str:
        name = f"C{len(consts)}"
        consts[name] = value
        return name

    def read(expr: str | None, r: int, ind: str, resolve: bool = True) -> None:
        """Code that checks the value `expr` (an array or pin; None: `m`, `i` already set)
        is the value at ref `r`."""
        if expr is not None:
            emit(f"{ind}m = {expr}._node")
            emit(f"{ind}i = {expr}._index")
        if r < n_params:  # an own parameter
            emit(f"{ind}if m is not P{r}:")
            emit(f"{ind}    if m.op != 'param':")
            emit(f"{ind}        return None")
            emit(f"{ind}    m, i = _resolve(m, i, trace, open_traces)")
            emit(f"{ind}    if m is not P{r}:")
            emit(f"{ind}        return None")
            emit(f"{ind}if i:")
            emit(f"{ind}    return None")
            return
        if resolve:
            emit(f"{ind}if m.op == 'param':")
            emit(f"{ind}    m, i = _resolve(m, i, trace, open_traces)")
            emit(f"{ind}    if m is None:")
            emit(f"{ind}        return None")
        if r < n_args:  # a capture, or an input of @main
            if r in seen_refs:
                emit(f"{ind}if m is not A{r} or i:")
                emit(f"{ind}    return None")
                return
            seen_refs.add(r)
            kinds = "m.op == 'data' or m.op == 'param' and m.trace() in open_traces"
            if is_main:
                kinds += " or _evaluated(m)"
            emit(f"{ind}if not ({kinds}):")
            emit(f"{ind}    return None")
            emit(f"{ind}if len(m.types) != 1:")
            emit(f"{ind}    return False")
            emit(f"{ind}if i or m.types[0] is not {const(arg_types[r])}:")
            emit(f"{ind}    return None")
            emit(f"{ind}A{r} = m")
            return
        j, k = owner[r]
        if j in reached:
            emit(f"{ind}if m is not N{j} or i != {k}:")
            emit(f"{ind}    return None")
            return
        reached.add(j)
        emit(f"{ind}if i != {k}:")
        emit(f"{ind}    return None")
        emit(f"{ind}N{j} = m")

    if not is_main:
        emit("    params = trace.params")
        emit(f"    if len(params) != {n_params}:")
        emit("        return False")
        for r in range(n_params):
            emit(f"    P{r} = params[{r}]")
            emit(f"    if P{r}.types[0] is not {const(arg_types[r])}:")
            emit("        return None")
        inner = "open_traces + (trace,)"
    else:
        inner = "open_traces"
    if any(ins[4] is not None for ins in instrs):
        emit(f"    inner = {inner}")
    emit(f"    if len(outs) != {len(results)}:")
    emit("        return None")
    for q, r in enumerate(results):
        read(f"outs[{q}]", r, "    ")
    for j in range(len(instrs) - 1, -1, -1):
        if j not in reached:
            continue  # (the walk makes no instruction the results do not reach)
        op, attrs, operands, types, sub = instrs[j]
        emit(f"    n = N{j}")
        emit(f"    if n.op != {op!r} or n.types != {const(types)}:")
        emit("        return None")
        if is_main:  # an evaluated node is an input of @main, not an instruction
            emit("    if n.values is not None and _evaluated(n):")
            emit("        return None")
            emit("    if not n.traced:")
            emit("        for a in n.inputs:")
            emit("            x = a._node")
            emit("            if x.op != 'data' and x.inputs:")
            emit("                return False  # (uses to weigh: the walk counts them)")
        attrs_check = f"n.attrs != {const(dict(attrs))}" if attrs else "n.attrs"
        if sub is None:
            emit(f"    if n.callee is not None or {attrs_check}:")
            emit("        return None")
            emit("    ins = n.inputs")
            emit(f"    if len(ins) != {len(operands)}:")
            emit("        return None")
            for p, r in enumerate(operands):
                read(f"ins[{p}]", r, "    ")
            continue
        if op != "vjp" or type(sub) is not Function:
            return None
        n_sub = len(dict(attrs).get("argnums", ()))
        n_caps = len(sub[0]) - n_sub
        sub_match = _generate(sub, n_sub, False)
        if sub_match is None or n_caps < 0:
            return None
        emit("    c = n.callee")
        emit(f"    if type(c) is not Trace or {attrs_check}:")
        emit("        return None")
        emit(f"    if len(c.params) != {n_sub}:")
        emit("        return False")
        emit(f"    f = {const(sub_match)}(c, inner, c.outputs)")
        emit("    if not f:")
        emit("        return f")
        emit("    ins = n.inputs")
        emit(f"    if len(ins) != {len(operands) - n_caps}:")
        emit("        return None")
        for p in range(len(operands) - n_caps):
            read(f"ins[{p}]", operands[p if p < n_sub else p + n_caps], "    ")
        for t in range(n_caps):
            emit(f"    m = f[{n_sub + t}]")
            emit("    i = 0")
            read(None, operands[n_sub + t], "    ", resolve=False)
    if any(r not in seen_refs for r in range(n_params, n_args)):
        return None  # an argument the results do not reach: not the emitter's
    places = [f"A{r}" for r in range(n_params, n_args)] + [f"N{j}" for j in sorted(reached)]
    if len(places) > 1:
        emit(f"    if len({{{', '.join(f'id({p})' for p in places)}}}) != {len(places)}:")
        emit("        return None")
    if len(body) > MAX_LINES:
        return None  # compiling the code would cost more than the walks it saves
    slots = [f"P{r}" for r in range(n_params)] + places[:n_args - n_params]
    emit(f"    return [{', '.join(slots)}]")
    namespace = dict(consts)
    exec("\n".join(out + body), namespace)  # noqa: S102 - our own code, made from a Program
    return namespace["match"]
