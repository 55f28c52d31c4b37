"""From the lazy graph to a Program (hashable, the compile-cache key) and from that to `mx` IR.

A Function is `(arg_types, instrs, results)`; an instruction is
`(op, attrs, operand_refs, result_types, callee_function_or_None)`; refs number the function's
values: arguments first, then each instruction's results in order. Data never enters the key:
evaluated arrays become arguments of @main.
"""

from __future__ import annotations

import sys

from mxir.dialect import OPS, OPTIONAL_ATTRS, TRANSFORM_OPS, TensorType

from .graph import DATA, PARAM, Node, attrs_tuple

EVAL_IN_TRANSFORM = (
    "[eval] Attempting to eval an array during function transformations like compile or vmap "
    "is not allowed."
)


class Function(tuple):
    """(arg_types, instrs, results) with its hash computed once: callees of compiled functions
    are reused across calls, and hashing them is part of every compile-cache lookup."""

    def __hash__(self):
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = tuple.__hash__(self)
        return h


class FunctionEmitter:
    """Linearises the part of the graph that one function computes, in two passes: `_collect`
    orders the nodes (dependencies first) and numbers the arguments as it meets them, then
    `finish` emits the instructions, whose results follow the arguments, so refs are final
    when made (measured: half the time of emitting first and renumbering after)."""

    __slots__ = ("trace", "open_traces", "arg_types", "instrs", "base", "seen", "order",
                 "callees", "inputs", "captures", "n_values", "memo", "uses")

    def __init__(self, trace=None, open_traces=(), memo=None):
        self.trace = trace  # None for @main
        # (id of callee, ids of open traces) -> (Function, captures), for callees nested in
        # other traces, shared by the emitters of one program (all those objects stay alive
        # meanwhile); only top-level callees are cached on their Trace, whose emitted dict
        # would otherwise hold the enclosing traces in a reference cycle
        self.memo = {} if memo is None else memo
        self.open_traces = open_traces  # traces whose functions enclose this one
        self.arg_types: list[TensorType] = []
        self.instrs: list[tuple] = []
        self.base: dict[int, int] = {}  # id(node) -> ref of its first result
        self.seen: dict[int, Node] = {}  # nodes met (keeps their ids stable while emitting)
        self.order: list[Node] = []  # op nodes and bound parameters, dependencies first
        self.callees: dict[int, tuple] = {}  # id(node) -> (Function, captures)
        self.inputs: list = []  # @main: host arrays for its arguments
        self.captures: list = []  # callee: (node, index) of the enclosing values it reads
        self.n_values = 0
        # id(array) -> [array, uses by the graph's nodes], of the lazy arrays that non-traced
        # op nodes of @main read (eager.held_of picks the ones Python still holds); None: off
        self.uses: dict | None = None
        if trace is not None:
            seen, base = self.seen, self.base
            for i, p in enumerate(trace.params):
                seen[id(p)] = p
                base[id(p)] = i
                self.arg_types.append(p.types[0])
            self.n_values = len(trace.params)

    def _collect(self, roots) -> None:
        seen, order = self.seen, self.order
        trace, open_traces, is_main = self.trace, self.open_traces, self.trace is None
        uses = self.uses
        # a node is pushed once to expand it and again after _EXPAND to emit it after its deps
        stack = [r._node for r in reversed(roots)]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            if node is _EXPAND:
                order.append(pop())
                continue
            nid = id(node)
            if nid in seen:
                continue
            seen[nid] = node
            op = node.op
            if op == PARAM:  # not one of ours: ours are bound in __init__
                if node.trace() in open_traces:
                    self._capture(node)
                elif node.bound is None:
                    raise ValueError(EVAL_IN_TRANSFORM)
                else:  # stands for the array it is bound to
                    b = node.bound._node
                    push(node)
                    push(_EXPAND)
                    if id(b) not in seen:
                        push(b)
                continue
            if op == DATA:
                if is_main:
                    self._input(node)
                else:
                    self._capture(node)
                continue
            if is_main and _evaluated(node.values):
                self._input(node)
                continue
            push(node)
            push(_EXPAND)
            if uses is not None and not node.traced:
                for a in node.inputs:
                    n = a._node
                    # data: nothing to compute; an op without inputs (a constant, zeros):
                    # recomputing it costs nothing and lets the compiler fold around it
                    if n.op == DATA or not n.inputs:
                        continue
                    u = uses.get(id(a))
                    if u is None:
                        uses[id(a)] = [a, 1]
                    else:
                        u[1] += 1
            if node.callee is not None:
                deps = [a._node for a in node.inputs]
                emitted = self._callee(node, trace, open_traces)
                deps += [n for n, _ in emitted[1]]
                for d in reversed(deps):
                    if id(d) not in seen:
                        push(d)
            else:
                for a in reversed(node.inputs):
                    d = a._node
                    if id(d) not in seen:
                        push(d)

    def _input(self, node: Node) -> None:
        self.base[id(node)] = self.n_values
        self.arg_types.extend(node.types)
        self.inputs.extend(node.values)
        self.n_values += len(node.types)

    def _capture(self, node: Node) -> None:
        self.base[id(node)] = self.n_values
        self.arg_types.extend(node.types)
        self.captures.extend((node, i) for i in range(len(node.types)))
        self.n_values += len(node.types)

    def _callee(self, node: Node, trace, open_traces) -> tuple:
        inner = open_traces + (trace,) if trace is not None else open_traces
        callee = node.callee
        if inner:
            cache, key = self.memo, (id(callee), *[id(t) for t in inner])
        else:
            cache, key = callee.emitted, ()
        emitted = cache.get(key)
        if emitted is None:
            if getattr(callee, "rules", None) is not None:  # a custom function (custom.py)
                emitted = self._custom(callee, inner)
            else:
                sub = FunctionEmitter(callee, inner, self.memo)
                emitted = (Function(sub.finish(callee.outputs)), sub.captures)
            cache[key] = emitted
        self.callees[id(node)] = emitted
        return emitted

    def _custom(self, callee, inner) -> tuple:
        """(Custom, captures): the body and each rule as a function; the captures of all of
        them are one list, trailing arguments of each (the mx.custom op's extra operands)."""
        parts, union, index = [], [], {}
        for name, trace in (("callee", callee), *sorted(callee.rules.items())):
            sub = FunctionEmitter(trace, inner, self.memo)
            parts.append((name, len(trace.params), sub.finish(trace.outputs), sub.captures))
            for node, i in sub.captures:
                if (id(node), i) not in index:
                    index[(id(node), i)] = len(union)
                    union.append((node, i))
        types = tuple(node.types[i] for node, i in union)
        return Custom(
            (name, _with_captures_as(fn, n, [index[(id(c), i)] for c, i in caps], types))
            for name, n, fn, caps in parts), union

    def _emit_all(self) -> None:
        base, instrs = self.base, self.instrs
        append = instrs.append
        n_values = self.n_values
        for node in self.order:
            if node.op == PARAM:  # a bound parameter: the ref of its argument
                b = node.bound
                base[id(node)] = base[id(b._node)] + b._index
                continue
            if node.callee is None:
                attrs = node.attrs
                append((node.op, tuple(sorted(attrs.items())) if attrs else (),
                        tuple([base[id(a._node)] + a._index for a in node.inputs]),
                        node.types, None))
                base[id(node)] = n_values
                n_values += len(node.types)
                continue
            self.n_values = n_values  # _with_captures may emit zeros
            operands = [base[id(a._node)] + a._index for a in node.inputs]
            callee, captures = self.callees[id(node)]
            # captured values are extra callee arguments, after the traced parameters
            cap_refs = [base[id(n)] + i for n, i in captures]
            cap_types = [n.types[i] for n, i in captures]
            operands, attrs = self._with_captures(node, operands, cap_refs, cap_types)
            attrs = tuple(sorted(attrs.items()))
            append((node.op, attrs, tuple(operands), node.types, callee))
            n_values = self.n_values
            base[id(node)] = n_values
            n_values += len(node.types)
        self.n_values = n_values

    def _with_captures(self, node: Node, operands: list, caps: list, cap_types):
        """Operands and attributes of a transform op whose callee also reads `caps`."""
        n = len(node.callee.params)
        attrs = transform_attrs(node, len(caps))
        if not caps:
            return operands, attrs
        if node.op == "jvp":  # captures get zero tangents
            zeros = [self._zeros(t) for t in cap_types]
            return operands[:n] + caps + operands[n:] + zeros, attrs
        return operands[:n] + caps + operands[n:], attrs

    def _zeros(self, ttype) -> int:
        import numpy as np

        from mxir.dialect import ConstValue, to_storage

        scalar = ttype.with_shape(())
        value = ConstValue(to_storage(np.zeros(()), ttype.dtype), ttype.dtype)
        self.instrs.append(("constant", (("value", value),), (), (scalar,), None))
        self.n_values += 1
        if ttype.shape == ():
            return self.n_values - 1
        self.instrs.append(("broadcast_to", (("shape", ttype.shape),), (self.n_values - 1,),
                            (ttype,), None))
        self.n_values += 1
        return self.n_values - 1

    def finish(self, outputs) -> tuple:
        self._collect(outputs)
        self._emit_all()
        base = self.base
        results = tuple(base[id(a._node)] + a._index for a in outputs)
        return (tuple(self.arg_types), tuple(self.instrs), results)


_EXPAND = object()  # marker on _collect's stack: the node below it is ready to emit


def transform_attrs(node: Node, n_captures: int) -> dict:
    """A transform node's attributes once its callee also reads `n_captures` enclosing values
    (extra arguments after its parameters, unmapped for vmap)."""
    attrs = dict(node.attrs)
    if n_captures and node.op == "vmap":
        attrs["in_axes"] = tuple(attrs["in_axes"]) + (None,) * n_captures
    return attrs


class Custom(tuple):
    """The functions of an mx.custom op: ((attribute name, Function), ...), "callee" first."""


def _with_captures_as(fn: tuple, n_params: int, positions: list, cap_types: tuple) -> Function:
    """`fn` taking all of a custom op's captures (`cap_types`) after its `n_params`
    parameters, where it took only its own (the i-th of them is capture `positions[i]`)."""
    arg_types, instrs, results = fn
    own, extra = len(positions), len(cap_types) - len(positions)

    def ref(r):
        if r < n_params:
            return r
        if r < n_params + own:
            return n_params + positions[r - n_params]
        return r + extra

    return Function((tuple(arg_types[:n_params]) + cap_types,
                     tuple((op, attrs, tuple(map(ref, operands)), types, callee)
                           for op, attrs, operands, types, callee in instrs),
                     tuple(map(ref, results))))


def _evaluated(values) -> bool:
    if values is None:
        return False
    for v in values:  # not `None in values`: that compares arrays with ==
        if v is None:
            return False
    return True


def trace_program(outputs) -> tuple[tuple, list]:
    """(@main Function, host input arrays) for evaluating `outputs`."""
    em = FunctionEmitter()
    main = em.finish(outputs)
    return main, em.inputs


def trace_program_held(outputs, held_of, walk: Walk | None = None) -> tuple[tuple, list, list]:
    """(@main Function, host input arrays, held arrays) for evaluating `outputs`, where
    `held_of(uses, outputs)` picks from the use counts gathered while linearising the lazy
    arrays that Python still holds; they are further results of @main (one walk, not two).
    `walk`: the Walk of `outputs` if the caller has it already."""
    if walk is None:
        walk = Walk(outputs)
    if walk.order is None:  # transform ops or parameters: the general emitter
        em = FunctionEmitter()
        em.uses = uses = {}
        main = em.finish(outputs)
        held = held_of(uses, outputs) if uses else []
        if held:
            main = (main[0], main[1], main[2] + walk_refs(em.base, held))
        return main, em.inputs, held
    held = walk.held(held_of, outputs)
    return walk.main([*outputs, *held] if held else outputs), walk.inputs, held


def _single_holder() -> int:
    """What sys.getrefcount says of a pin that only the tuple being looped over holds, in
    Walk's loop: measured on this interpreter rather than assumed."""
    class Pin:
        __slots__ = ()

    for a in reversed((Pin(),)):
        return _getrefcount(a)


_getrefcount = sys.getrefcount
_SINGLE = _single_holder()


def walk_refs(base: dict, arrays) -> tuple:
    """The refs of `arrays` in a linearised function (`base`: id(node) -> its first ref)."""
    return tuple([base[id(a._node)] + a._index for a in arrays])


class Walk:
    """The graph of `outputs` ordered for @main when it holds only plain ops (no transform op,
    no parameter; else `order` is None): FunctionEmitter's first pass specialised, counting
    `uses` the same way. An eager step linearises its graph at every evaluation (W12's
    decode step: 50 ops, a quarter of its time before this), and a structure class's call
    needs no Program at all (eager.run_walk): the instructions are emitted only on demand."""

    __slots__ = ("order", "base", "arg_types", "inputs", "uses", "n_args")  # uses: then held

    def __init__(self, outputs):
        base: dict[int, int] = {}  # id(node) -> ref of its first result (-1: not emitted)
        order: list[Node] = []  # op nodes, dependencies first
        arg_types: list = []
        inputs: list = []
        uses: dict = {}
        self.base, self.arg_types, self.inputs, self.uses = base, arg_types, inputs, uses
        self.order = None
        n = 0
        single = _SINGLE
        stack = [r._node for r in reversed(outputs)]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            if node is _EXPAND:
                order.append(pop())
                continue
            nid = id(node)
            if nid in base:
                continue
            v = node.values
            if node.op == DATA or v is not None and _evaluated(v):  # an argument
                base[nid] = n
                types = node.types
                arg_types.extend(types)
                inputs.extend(v)
                n += len(types)
                continue
            if node.callee is not None or node.op == PARAM:
                uses.clear()  # its references to pins must not count as Python's (held)
                self.uses = []
                return
            base[nid] = -1
            push(node)
            push(_EXPAND)
            count = not node.traced
            for a in reversed(node.inputs):
                d = a._node
                # data and ops without inputs (constants) are not counted (see FunctionEmitter),
                # nor a pin that only this node holds: it cannot be held (most of a step's)
                if count and d.inputs and _getrefcount(a) > single:
                    u = uses.get(id(a))
                    if u is None:
                        uses[id(a)] = [a, 1]
                    else:
                        u[1] += 1
                if id(d) not in base:
                    push(d)
        self.order, self.n_args = order, n

    def held(self, held_of, outputs) -> list:
        """held_of(uses, outputs), asked once and kept: the use counts hold references to
        the pins, which must not outlive this (a nested evaluation would count them as
        Python's)."""
        uses = self.uses
        if type(uses) is dict:
            self.uses = held_of(uses, outputs) if uses else []
        return self.uses

    def main(self, results) -> tuple:
        """The @main Function computing `results` (arrays of the walked graph)."""
        base = self.base
        n = self.n_args
        instrs = []
        append = instrs.append
        for node in self.order:
            op, attrs = node.head or (node.op, attrs_tuple(node.attrs))
            append((op, attrs, operand_refs(node.inputs, base), node.types, None))
            base[id(node)] = n
            n += len(node.types)
        return tuple(self.arg_types), tuple(instrs), walk_refs(base, results)


def operand_refs(pins: tuple, base: dict) -> tuple:
    """The refs of a node's operands (`base`: id(node) -> its first ref)."""
    if len(pins) == 1:  # (a comprehension is a function call in Python 3.11)
        a = pins[0]
        return (base[id(a._node)] + a._index,)
    if len(pins) == 2:
        a, b = pins
        return (base[id(a._node)] + a._index, base[id(b._node)] + b._index)
    return tuple([base[id(a._node)] + a._index for a in pins])


# --------------------------------------------------------------------------------------------
def build_module(main: tuple):
    """`mx` IR for a Program: @main plus one private function per distinct callee."""
    from mlir import ir
    from mlir.dialects import func

    module = ir.Module.create()
    names: dict[tuple, str] = {}

    def define(function: tuple, name: str, private: bool) -> None:
        arg_types, instrs, results = function
        with ir.InsertionPoint(module.body):
            values_types = list(arg_types)
            for ins in instrs:
                values_types.extend(ins[3])
            ftype = ir.FunctionType.get([t.to_ir() for t in arg_types],
                                        [values_types[r].to_ir() for r in results])
            f = func.FuncOp(name, ftype, visibility="private" if private else None)
        block = f.add_entry_block()
        values = list(block.arguments)
        with ir.InsertionPoint(block):
            for op, attrs, operands, types, callee in instrs:
                ir_attrs = {}
                if isinstance(callee, Custom):
                    for key, fn in callee:
                        ir_attrs[key] = ir.FlatSymbolRefAttr.get(callee_name(fn))
                elif callee is not None:
                    ir_attrs["callee"] = ir.FlatSymbolRefAttr.get(callee_name(callee))
                kinds = ({**TRANSFORM_OPS[op], **OPTIONAL_ATTRS.get(op, {})}
                         if callee is not None else OPS[op].attrs)
                for k, v in attrs:
                    ir_attrs[k] = kinds[k].to_ir(v, types[0] if types else None)
                created = ir.Operation.create(
                    "func.call" if op == "call" else f"mx.{op}",
                    results=[t.to_ir() for t in types],
                    operands=[values[i] for i in operands],
                    attributes=ir_attrs,
                )
                values.extend(created.results)
            func.ReturnOp([values[r] for r in results])

    def callee_name(function: tuple) -> str:
        if function not in names:
            names[function] = f"f{len(names)}"
            define(function, names[function], True)
        return names[function]

    define(main, "main", False)
    return module
