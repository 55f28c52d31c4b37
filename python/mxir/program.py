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


class FunctionEmitter:
    """Linearises the part of the graph that one function computes."""

    def __init__(self, trace=None, open_traces=(), parent=None):
        self.trace = trace  # None for @main
        self.open_traces = open_traces  # traces whose functions enclose this one
        self.parent = parent
        self.arg_types: list[TensorType] = []
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
        self.arg_types.append(ttype)
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
            sub = FunctionEmitter(node.callee, self.open_traces + (self.trace,) if self.trace
                                  else self.open_traces, self)
            callee = sub.finish(node.callee.outputs)
            # captured values are extra callee arguments, after the traced parameters
            n_params = len(node.callee.params)
            cap_refs = [self._ref_of(n, i) for n, i in sub.captures]
            operands = _insert_captures(node.op, operands, n_params, cap_refs)
        attrs = tuple(sorted(node.attrs.items()))
        self.instrs.append((node.op, attrs, tuple(operands), node.types, callee))
        self._bind(node, self.n_values)
        self.n_values += len(node.types)

    def _ref_of(self, node: Node, index: int) -> int:
        from .array import array

        return self.ref(array._from(node, index))

    def finish(self, outputs) -> tuple:
        results = tuple(self.ref(a) for a in outputs)
        return (tuple(self.arg_types), tuple(self.instrs), results)


def _insert_captures(op: str, operands: list, n_params: int, caps: list) -> list:
    """Transform operands are (callee args..., extra...) where the callee args are the traced
    parameters followed by the captures."""
    return operands[:n_params] + caps + operands[n_params:]


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
