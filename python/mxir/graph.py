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


def pin(a):
    """A handle on `a`'s current value that is never rebound, made once per array and kept in
    `a._pin` until `a[...] = v` rebinds `a` (indexing.py clears it then). Graph nodes hold pins,
    so what they read cannot change under them, and a pin is referenced from outside the graph
    exactly while its array lives (what eager.held_of counts)."""
    p = a._pin = _new(type(a))
    p._node, p._index, p._pin = a._node, a._index, None
    return p


_new = object.__new__


class Node:
    __slots__ = ("op", "inputs", "attrs", "types", "callee", "values", "traced", "trace",
                 "bound", "head", "__weakref__")

    def __init__(self, op, inputs, attrs, types, callee=None):
        self.op = op
        # the inputs' pins, not the arrays themselves: `a[i] = v` rebinds the array `a` to a new
        # value, and a node built before that must keep reading the value it saw (see pin)
        pins = []
        # does this node depend on a parameter of some trace? (then it must never be detached)
        traced = False
        for a in inputs:
            p = a._pin
            if p is None:
                p = pin(a)
            pins.append(p)
            if p._node.traced:
                traced = True
        self.inputs = tuple(pins)
        self.traced = traced
        self.attrs = attrs  # dict of Python attribute values
        self.types = types  # tuple of TensorType, one per result
        self.callee = callee  # Trace, for transform nodes
        self.values = None  # list of host-storage arrays once evaluated
        # owning trace of a parameter, as a weak reference: the trace holds its parameters,
        # and a cycle would keep every traced graph (and its buffers) until the cyclic GC
        self.trace = None
        self.bound = None  # the argument a parameter stands for (None: unbound, e.g. vmap)
        # (op, attributes as an instruction holds them), shared by the nodes of one op, operand
        # types and attributes (make_node); None: worked out when emitted
        self.head = None

    def detach(self) -> None:
        """Once evaluated and not part of a trace, forget the inputs (frees the graph)."""
        values = self.values
        if self.traced or values is None:
            return
        for v in values:  # (a loop, not all() of a generator: ~0.4 µs less per evaluation)
            if v is None:
                return
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
    """Create an op node, inferring result types with the op's own `infer` rule (asked once
    per op, operand types and attributes: _INFERRED)."""
    # Node.__init__ inlined, pins made and the inference key gathered in one loop: a node per
    # op of every eager graph (W12's decode step: 50 per token)
    node = _new(Node)
    pins = []
    key = [op]  # types are interned and attribute items are pairs: a flat key, cheap to hash
    traced = False
    for a in inputs:
        p = a._pin
        if p is None:
            p = a._pin = _new(type(a))
            p._node, p._index, p._pin = a._node, a._index, None
        pins.append(p)
        n = p._node
        key.append(n.types[p._index])
        if n.traced:
            traced = True
    head = None
    if types is None:
        if pins and callee is None:  # (no inputs: a constant, whose value is no cheap key)
            if attrs:
                key.extend(attrs.items())
            key = tuple(key)
            try:
                known = _INFERRED.get(key)
            except TypeError:  # an unhashable attribute
                key = known = None
            if known is None:
                types = _infer(op, [p._node.types[p._index] for p in pins], attrs)
                if key is not None:
                    if len(_INFERRED) > 8192:
                        _INFERRED.clear()
                    head = (op, attrs_tuple(attrs))
                    _INFERRED[key] = (types, head)
            else:
                types, head = known
        else:
            types = _infer(op, key[1:], attrs)
    node.op, node.inputs, node.traced, node.attrs, node.types = (
        op, tuple(pins), traced, attrs, tuple(types))
    node.callee, node.values, node.trace, node.bound, node.head = callee, None, None, None, head
    return node


def attrs_tuple(attrs: dict) -> tuple:
    """A node's attributes as an instruction holds them: (name, value) pairs sorted."""
    if not attrs:
        return ()
    return tuple(attrs.items()) if len(attrs) == 1 else tuple(sorted(attrs.items()))


def _infer(op: str, in_types, attrs: dict) -> tuple:
    try:
        return tuple(infer_types(op, list(in_types), attrs))
    except MxError as e:
        raise e.exc_type(e.message) from None


# (op, operand types, attributes) -> (result types, head): `infer` is pure, and building a graph
# in a loop (the seed's naive loop, a decode step) asks the same question every iteration
_INFERRED: dict[tuple, tuple] = {}
