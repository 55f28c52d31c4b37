"""The lazy graph behind `mx.array`: nodes, traces of functions, and node construction.

A node is one `mx` op (or a transform op naming a traced callee), a data leaf (an evaluated
array), or a parameter of a trace. Parameters of transforms that keep real values (grad, vjp,
jvp) are *bound* to the argument they stand for, so evaluating a tracer inside the traced
function evaluates the argument: data-dependent Python control flow works as in MLX.
"""

from __future__ import annotations

import itertools
from weakref import ref as _weakref

import numpy as np

from mxir.dialect import MxError, TensorType, infer_types

DATA = "data"
PARAM = "param"
TRANSFORMS = ("vjp", "jvp", "vmap", "call")
_ids = itertools.count()


class Trace:
    """A Python function being (or having been) traced into a callee function."""

    __slots__ = ("params", "outputs", "name", "transform", "emitted", "direct", "shapeless",
                 "__weakref__")

    def __init__(self, name: str, transform: str):
        self.params: list[Node] = []
        self.outputs: list = []
        self.name = name
        self.transform = transform  # "grad", "vmap", "compile", ... (for error messages)
        # () -> (Function, captures) once emitted at top level (program.py): a compiled
        # function's trace is emitted once
        self.emitted: dict = {}
        # evaluate.py: the executable that calls this trace on evaluated arrays, once built
        self.direct = None
        # compile(shapeless=True): the same trace with dynamic dims, which evaluate.py compiles
        # once for all the input shapes of its class (see compile.py)
        self.shapeless = None


class Node:
    __slots__ = ("op", "inputs", "attrs", "types", "callee", "values", "traced", "trace",
                 "bound", "__weakref__")

    def __init__(self, op, inputs, attrs, types, callee=None):
        self.op = op
        self.inputs = inputs  # tuple of arrays
        self.attrs = attrs  # dict of Python attribute values
        self.types = types  # tuple of TensorType, one per result
        self.callee = callee  # Trace, for transform nodes
        self.values = None  # list of host-storage arrays once evaluated
        # does this node depend on a parameter of some trace? (then it must never be detached)
        self.traced = False
        for a in inputs:
            if a._node.traced:
                self.traced = True
                break
        # owning trace of a parameter, as a weak reference: the trace holds its parameters,
        # and a cycle would keep every traced graph (and its buffers) until the cyclic GC
        self.trace = None
        self.bound = None  # the argument a parameter stands for (None: unbound, e.g. vmap)

    def detach(self) -> None:
        """Once evaluated and not part of a trace, forget the inputs (frees the graph)."""
        if not self.traced and self.values is not None and all(
                v is not None for v in self.values):
            self.op, self.inputs, self.attrs, self.callee = DATA, (), {}, None


def data_node(value: np.ndarray, dtype: str) -> Node:
    n = Node(DATA, (), {}, (TensorType(tuple(value.shape), dtype),))
    n.values = [value]
    return n


def param_node(ttype: TensorType, trace: Trace, bound=None) -> Node:
    n = Node(PARAM, (), {}, (ttype,))
    n.traced = True
    n.trace = _weakref(trace)
    n.bound = bound
    trace.params.append(n)
    return n


def make_node(op: str, inputs, attrs: dict, callee=None, types=None) -> Node:
    """Create an op node, inferring result types with the op's own `infer` rule."""
    if types is None:
        in_types = tuple([a._node.types[a._index] for a in inputs])
        key = None
        if in_types and callee is None:  # types are interned: a cheap key (no constants)
            try:
                key = (op, in_types, *attrs.items())
                types = _INFERRED.get(key)
            except TypeError:  # an unhashable attribute
                key = None
        if types is None:
            try:
                types = tuple(infer_types(op, list(in_types), attrs))
            except MxError as e:
                raise e.exc_type(e.message) from None
            if key is not None:
                if len(_INFERRED) > 8192:
                    _INFERRED.clear()
                _INFERRED[key] = types
    return Node(op, tuple(inputs), attrs, tuple(types), callee)


# (op, operand types, attributes) -> result types: `infer` is pure, and building a graph in a
# loop (the seed's naive loop, a decode step) asks the same question every iteration
_INFERRED: dict[tuple, tuple] = {}
