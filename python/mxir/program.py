"""From the lazy graph to a Program (hashable, the compile-cache key) and from that to `mx` IR.

A Function is `(arg_types, instrs, results)`; an instruction is
`(op, attrs, operand_refs, result_types, callee_function_or_None)`; refs number the function's
values: arguments first, then each instruction's results in order. Data never enters the key:
evaluated arrays become arguments of @main.
"""

from __future__ import annotations

from mxir.dialect import OPS, TRANSFORM_OPS, TensorType

from .graph import DATA, PARAM, Node

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
    """Linearises the part of the graph that one function computes."""

    def __init__(self, trace=None, open_traces=(), parent=None):
        self.trace = trace  # None for @main
        self.open_traces = open_traces  # traces whose functions enclose this one
        self.parent = parent
        self.arg_types: list[TensorType] = []
        self.arg_refs: list[int] = []
        self.instrs: list[tuple] = []
        self.n_values = 0
        self.node_base: dict[int, int] = {}  # id(node) -> ref of its first result
        self.keep: list[Node] = []  # keeps ids stable while emitting
        self.inputs: list = []  # @main: host arrays for its arguments
        self.captures: list = []  # callee: arrays of the enclosing function it reads
        if trace is not None:
            for p in trace.params:
                self._bind(p, self._new_arg(p.types[0]))

    def _new_arg(self, ttype) -> int:
        # refs are numbered in creation order; `finish` renumbers arguments first
        self.arg_types.append(ttype)
        self.arg_refs.append(self.n_values)
        self.n_values += 1
        return self.n_values - 1

    def _bind(self, node: Node, base: int) -> None:
        self.node_base[id(node)] = base
        self.keep.append(node)

    def _leaf(self, node: Node):
        """How this function sees a node without emitting its op, or None to emit it."""
        if node.op == PARAM and node.trace is not self.trace:
            if node.trace in self.open_traces:
                return "capture"
            if node.bound is None:
                raise ValueError(EVAL_IN_TRANSFORM)
            return "bound"
        if node.op == DATA:
            return "capture" if self.trace is not None else "input"
        if self.trace is None and node.values is not None and all(
                v is not None for v in node.values):
            return "input"
        return None

    def ref(self, arr) -> int:
        """Emit what `arr` needs and return its value ref."""
        stack = [(arr._node, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in self.node_base:
                continue
            kind = self._leaf(node)
            if kind == "input":
                base = self.n_values
                for t, v in zip(node.types, node.values):
                    self._new_arg(t)
                    self.inputs.append(v)
                self._bind(node, base)
            elif kind == "capture":
                base = self.n_values
                for i, t in enumerate(node.types):
                    self._new_arg(t)
                    self.captures.append((node, i))
                self._bind(node, base)
            elif kind == "bound":
                b = node.bound
                if id(b._node) in self.node_base:
                    self._bind(node, self.node_base[id(b._node)] + b._index)
                elif expanded:
                    raise AssertionError("bound argument was not emitted")
                else:
                    stack.append((node, True))
                    stack.append((b._node, False))
            elif not expanded:
                stack.append((node, True))
                for a in reversed(node.inputs):
                    if id(a._node) not in self.node_base:
                        stack.append((a._node, False))
            else:
                self._emit(node)
        return self.node_base[id(arr._node)] + arr._index

    def _emit(self, node: Node) -> None:
        operands = [self.node_base[id(a._node)] + a._index for a in node.inputs]
        callee = None
        if node.callee is not None:
            open_traces = self.open_traces + (self.trace,) if self.trace else self.open_traces
            emitted = node.callee.emitted.get(open_traces)
            if emitted is None:
                sub = FunctionEmitter(node.callee, open_traces, self)
                emitted = (Function(sub.finish(node.callee.outputs)), sub.captures)
                node.callee.emitted[open_traces] = emitted
            callee, captures = emitted
            # captured values are extra callee arguments, after the traced parameters
            cap_refs = [self._ref_of(n, i) for n, i in captures]
            cap_types = [callee[0][len(node.callee.params) + k] for k in range(len(cap_refs))]
            operands, attrs = self._with_captures(node, operands, cap_refs, cap_types)
        else:
            attrs = dict(node.attrs)
        attrs = tuple(sorted(attrs.items()))
        self.instrs.append((node.op, attrs, tuple(operands), node.types, callee))
        self._bind(node, self.n_values)
        self.n_values += len(node.types)

    def _with_captures(self, node: Node, operands: list, caps: list, cap_types: list):
        """Operands and attributes of a transform op whose callee also reads `caps`."""
        n = len(node.callee.params)
        attrs = dict(node.attrs)
        if node.op == "jvp":  # captures get zero tangents
            zeros = [self._zeros(t) for t in cap_types]
            return operands[:n] + caps + operands[n:] + zeros, attrs
        if node.op == "vmap":  # captures are unmapped
            attrs["in_axes"] = tuple(attrs["in_axes"]) + (None,) * len(caps)
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

    def _ref_of(self, node: Node, index: int) -> int:
        from .array import array

        return self.ref(array._from(node, index))

    def finish(self, outputs) -> tuple:
        results = [self.ref(a) for a in outputs]
        order = {r: i for i, r in enumerate(self.arg_refs)}
        n = len(order)
        # results of instructions follow the arguments, in instruction order
        instr_refs = sorted(set(range(self.n_values)) - set(order))
        order.update({r: n + i for i, r in enumerate(instr_refs)})
        instrs = tuple((op, attrs, tuple(order[r] for r in operands), types, callee)
                       for op, attrs, operands, types, callee in self.instrs)
        return (tuple(self.arg_types), instrs, tuple(order[r] for r in results))


def trace_program(outputs) -> tuple[tuple, list]:
    """(@main Function, host input arrays) for evaluating `outputs`."""
    em = FunctionEmitter()
    main = em.finish(outputs)
    return main, em.inputs


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
                if callee is not None:
                    ir_attrs["callee"] = ir.FlatSymbolRefAttr.get(callee_name(callee))
                kinds = TRANSFORM_OPS[op] if callee is not None else OPS[op].attrs
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
