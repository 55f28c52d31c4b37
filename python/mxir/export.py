"""`mx.export_function` / `mx.import_function` / `mx.exporter`, `mx.export_to_dot`, `mx.depends`.

The exported form is the `mx` module itself, as text: a public function per exported trace
(@main, @main_1, ... for the traces an `exporter` adds) taking the arrays (positional first,
then keyword arguments in name order; the names are the function's `mxir.kwargs` attribute),
the arrays the function read from outside as `mx.constant`s, and transform ops still as ops
(`mx.vjp`, ...). So `mxir-opt` reads it and `mxir-run` runs it without the Python that made
it. `shapeless=True` exports the trace with dynamic dims (`?`) where the function allows it,
as `compile(shapeless=True)` does.

`import_function` rebuilds the lazy graph from the IR, op by op (each op's `infer` gives the
types for the arguments it is called with), so an imported function composes with every
transform and with `compile`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .array import array
from .graph import Trace, make_node, param_node
from .tree import tree_flatten


# ---------------------------------------------------------------------------------------------
def _check_inputs(args, kwargs) -> list:
    ok = all(isinstance(x, array) for x in args) and all(
        isinstance(v, array) for v in kwargs.values())
    if not ok:
        raise ValueError("[export_function] Inputs can either be a variable number of positional "
                         "and keyword arrays or a single tuple and/or dictionary of arrays.")
    return [*args, *(kwargs[k] for k in sorted(kwargs))]


def _traced(fun: Callable, args, kwargs, shapeless: bool) -> tuple[Trace, list]:
    """The trace of `fun` on parameters for the arrays, and its output arrays."""
    from .compile import _class_type, _respecialise, _trace

    arrays = _check_inputs(args, kwargs)
    names = sorted(kwargs)
    tree = (list(args), {k: kwargs[k] for k in names})
    trace, _, _, recipes = _trace(fun, tree, tree_flatten(tree), None, None, shapeless)
    outs = trace.outputs
    if shapeless:
        types = tuple(_class_type(x._node.types[x._index]) for x in arrays)
        trace = _respecialise(trace, types, recipes or {}, {}, {})
        outs = trace.outputs
    return trace, outs


def _check_outputs(out) -> None:
    if isinstance(out, array):
        return
    if not (isinstance(out, (tuple, list)) and all(isinstance(o, array) for o in out)):
        raise ValueError("[export_function] Outputs can be either a single array, a tuple, or a "
                         "list of arrays.")


def _module_text(entries, metadata: str | None = None) -> str:
    """The module of exported traces: [(trace, kwarg names), ...]; the user's metadata string
    rides along as the module's `mxir.metadata` attribute."""
    from mlir import ir

    from .evaluate import context
    from .program import FunctionEmitter, build_module

    def tagged(module) -> str:
        if metadata is not None:
            module.operation.attributes["mxir.metadata"] = ir.StringAttr.get(metadata)
        return str(module)

    if not entries:  # an exporter before its first trace
        with context(), ir.Location.unknown():
            return tagged(ir.Module.create())
    mains = []
    for trace, names in entries:
        em = FunctionEmitter(trace)
        callee = em.finish(trace.outputs)
        mains.append((_with_constants(callee, em.captures), names))
    with context(), ir.Location.unknown():
        module = build_module(mains[0][0])
        for i, (main, _) in enumerate(mains[1:], 1):
            extra = build_module(main)
            for f in list(extra.body.operations):
                name = ir.StringAttr(f.attributes["sym_name"]).value
                f.attributes["sym_name"] = ir.StringAttr.get(
                    f"main_{i}" if name == "main" else f"{name}_{i}")
                for op in _walk(f):
                    if "callee" in op.attributes:
                        for key in ("callee", "vjp", "jvp", "vmap"):
                            if key in op.attributes:
                                sym = ir.FlatSymbolRefAttr(op.attributes[key]).value
                                op.attributes[key] = ir.FlatSymbolRefAttr.get(f"{sym}_{i}")
                f.move_after(list(module.body.operations)[-1])
        for i, (_, names) in enumerate(mains):
            f = _public(module, "main" if i == 0 else f"main_{i}")
            f.attributes["mxir.kwargs"] = ir.ArrayAttr.get(
                [ir.StringAttr.get(n) for n in names])
        return tagged(module)


def _walk(func):
    for op in func.regions[0].blocks[0].operations:
        yield op.operation


def _public(module, name: str):
    from mlir import ir

    return next(f for f in module.body.operations
                if ir.StringAttr(f.attributes["sym_name"]).value == name)


def _with_constants(function: tuple, captures: list) -> tuple:
    """`function` (a trace's Function whose trailing arguments are captured arrays) as a
    public function of its own arguments, the captured arrays inlined as constants."""
    from mxir.dialect import ConstValue, to_storage

    from .evaluate import eval_arrays
    from .program import Function

    arg_types, instrs, results = function
    n = len(arg_types) - len(captures)
    values = []
    for node, i in captures:
        if node.values is None or node.values[i] is None:
            eval_arrays([array._from(node, i)])
        values.append((node.values[i], node.types[i]))
    consts = [("constant", (("value", ConstValue(to_storage(np.asarray(v), t.dtype), t.dtype)),),
               (), (t,), None) for v, t in values]
    # captures were the arguments after the first n; the constants, emitted first, have the
    # numbers that follow the arguments: the same ones, so no operand changes
    return Function((tuple(arg_types[:n]), tuple(consts) + tuple(instrs), tuple(results)))


def export_function(file: str, fun: Callable, *args, shapeless: bool = False,
                    metadata: str | None = None, **kwargs) -> None:
    """Trace `fun` on the arrays `args`/`kwargs` and write its `mx` module to `file`, with
    the string `metadata` (read back by `import_function(file, return_metadata=True)`)."""
    with exporter(file, fun, shapeless=shapeless, metadata=metadata) as ex:
        ex(*args, **kwargs)


class FunctionExporter:
    """Exports several traces of one function to one file, as MLX's: made by `mx.exporter`
    (no public constructor), called with arrays to add a trace, a context manager that closes
    it. As in MLX the file is written from the start and after each trace, so it always imports
    (with no trace yet, as a function that matches no call); after `close`, calls raise."""

    def __init__(self, *args, **kwargs):
        raise TypeError("mxir.FunctionExporter: no constructor defined!")

    @classmethod
    def _make(cls, file: str, fun: Callable, shapeless: bool,
              metadata: str | None = None) -> FunctionExporter:
        ex = cls.__new__(cls)
        ex.file, ex.fun, ex.shapeless, ex.metadata = file, fun, shapeless, metadata
        ex.entries, ex.closed = [], False
        ex._write()
        return ex

    def _write(self) -> None:
        text = _module_text(self.entries, self.metadata)
        try:
            with open(self.file, "w") as f:
                f.write(text)
        except OSError:
            raise RuntimeError(f"[export_function] Failed to open {self.file}") from None

    def __call__(self, *args, **kwargs) -> None:
        if self.closed:
            raise RuntimeError("[export_function] Attempting to write after exporting is "
                               "closed.")

        def checked(*a, **k):
            out = self.fun(*a, **k)
            _check_outputs(out)
            return out

        trace, _ = _traced(checked, args, kwargs, self.shapeless)
        self.entries.append((trace, sorted(kwargs)))
        self._write()

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FunctionExporter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close()


def exporter(file: str, fun: Callable, *, shapeless: bool = False,
             metadata: str | None = None) -> FunctionExporter:
    """A `FunctionExporter` that writes the traces of `fun` to `file`:
    `with mx.exporter(file, fun) as ex: ex(*args); ex(*other_args)`."""
    if metadata is not None and not isinstance(metadata, str):
        raise TypeError(f"exporter(): metadata must be a str or None, got "
                        f"{type(metadata).__name__}")
    if metadata is not None and callable(file):
        raise ValueError("[export_function] The metadata argument is only supported when "
                         "exporting to a file, not when using a callback.")
    return FunctionExporter._make(file, fun, shapeless, metadata)


# ---------------------------------------------------------------------------------------------
def import_function(file: str, return_metadata: bool = False):
    """The function an exported `mx` module holds: called with arrays, it returns a tuple of
    arrays (as MLX), and composes with every transform. With `return_metadata`, the pair
    (function, the metadata string saved with it, "" when none)."""
    from mlir import ir

    from mxir.passes import run_pipeline

    from .evaluate import context

    with open(file) as f:
        text = f.read()
    with context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, ["mx-verify"])
        program = _Program(module)
        attrs = module.operation.attributes
        metadata = ir.StringAttr(attrs["mxir.metadata"]).value if "mxir.metadata" in attrs else ""
    return (program, metadata) if return_metadata else program


class _Program:
    """The exported functions as Python: the IR read once into plain tuples, turned into graph
    nodes at each call (so each op's `infer` types them for the arguments given)."""

    def __init__(self, module):
        from mlir import ir

        self.functions: dict = {}
        self.entries: list = []
        for f in module.body.operations:
            name = ir.StringAttr(f.attributes["sym_name"]).value
            self.functions[name] = _read_function(f)
            if "sym_visibility" not in f.attributes:
                names = ([ir.StringAttr(a).value
                          for a in ir.ArrayAttr(f.attributes["mxir.kwargs"])]
                         if "mxir.kwargs" in f.attributes else [])
                self.entries.append((name, names))

    def __call__(self, *args, **kwargs):
        arrays = [*args, *(kwargs[k] for k in sorted(kwargs))]
        if not all(isinstance(x, array) for x in arrays):
            raise ValueError("[import_function::call] Inputs must be arrays.")
        for name, names in self.entries:
            types = self.functions[name][0]
            if sorted(kwargs) == names and len(arrays) == len(types) and all(
                    _fits(x, t) for x, t in zip(arrays, types)):
                return tuple(self._run(name, arrays))
        raise ValueError(self._mismatch(args, kwargs))

    def _mismatch(self, args, kwargs) -> str:
        def sig(types, names, indent):
            keys = [str(i) for i in range(1, len(types) - len(names) + 1)]
            keys += [f'"{n}"' for n in names]
            return "".join(f"{indent}{k}: ("
                           f"{','.join('?' if d is None else str(d) for d in t.shape)}) "
                           f"{t.dtype}\n" for k, t in zip(keys, types))

        lines = ["[import_function::call] No imported function found which matches the given "
                 "positional and keyword arguments. Possible functions include:"]
        for k, (name, names) in enumerate(self.entries, 1):
            types = self.functions[name][0]
            lines.append(f" {k}. Function with {len(types) - len(names)} positional inputs and "
                         f"{len(names)} keyword inputs:\n" + sig(types, names, "   "))
        given = [x._node.types[x._index] for x in [*args, *(kwargs[k] for k in sorted(kwargs))]
                 if isinstance(x, array)]
        lines.append(f"Called with {len(args)} positional inputs and {len(kwargs)} keyword "
                     "inputs:\n" + sig(given, sorted(kwargs), "  "))
        return "\n".join(lines)

    def _run(self, name: str, inputs: list) -> list:
        _, ops = self.functions[name]
        env = list(inputs)
        for kind, attrs, operands, n_results, callees in ops:
            xs = [env[v] for v in operands]
            if kind == "return":
                return xs
            if isinstance(attrs, _Dynamic):
                attrs, xs = attrs.concrete(xs)
            if callees is None:
                node = make_node(kind, xs, attrs)
            else:
                node = self._transform(kind, attrs, xs, dict(callees))
            env.extend(array._from(node, i) for i in range(n_results))
        raise ValueError(f"[import_function] @{name} has no return")

    def _transform(self, kind, attrs, xs, callees):
        from .custom import _CustomTrace

        declared = self.functions[callees["callee"]][0]
        types = [x._node.types[x._index] for x in xs]
        size = None
        if kind == "vmap":
            params = []
            for t, ax in zip(types, attrs["in_axes"]):
                if ax is not None:
                    size = t.shape[ax]
                    t = t.with_shape(t.shape[:ax] + t.shape[ax + 1:])
                params.append(t)
        else:
            params = types[:len(declared)]
        main = _CustomTrace(callees["callee"]) if kind == "custom" else Trace(
            callees["callee"], "import")
        self._trace_into(main, callees["callee"], params)
        for rule in ("vjp", "jvp", "vmap"):
            if rule in callees:
                trace = Trace(callees[rule], "import")
                main.rules[rule] = self._trace_into(trace, callees[rule],
                                                    self.functions[callees[rule]][0])
        outs = [o._node.types[o._index] for o in main.outputs]
        if kind in ("call", "custom"):
            result = outs
        elif kind == "vjp":
            result = outs + [params[i] for i in attrs["argnums"]]
        elif kind == "jvp":
            result = outs * 2
        else:
            result = [t if ax is None else t.with_shape(t.shape[:ax] + (size,) + t.shape[ax:])
                      for t, ax in zip(outs, attrs["out_axes"])]
        return make_node(kind, xs, attrs, callee=main, types=result)

    def _trace_into(self, trace: Trace, name: str, types) -> Trace:
        params = [array._from(param_node(t, trace)) for t in types]
        trace.outputs = self._run(name, params)
        return trace


class _Dynamic:
    """An op of a shapeless export whose attributes depend on the argument shapes."""

    def __init__(self, name, attrs, in_types, out_types):
        self.name, self.attrs, self.in_types, self.out_types = name, attrs, in_types, out_types

    def concrete(self, xs):
        """(attributes, operands) of the op for operands `xs` of static shapes."""
        from mxir.dialect import MxError
        from mxir.passes.concrete import concrete_op
        from mxir.passes.ir_utils import MxOp

        op = _Stub(f"mx.{self.name}")
        m = MxOp(op, self.name, [], self.in_types, self.out_types, self.attrs)
        try:
            attrs, _ = concrete_op(m, [x._node.types[x._index] for x in xs])
        except MxError as e:
            raise e.exc_type(e.message) from None
        if self.name == "broadcast_to":  # the operands that lent sizes are not needed now
            xs = xs[:1]
        return attrs, xs


class _Stub:
    def __init__(self, name):
        self.name, self.location = name, None


def _read_function(f) -> tuple:
    """(argument types, ops): each op (kind, attrs, operand numbers, result count, callees or
    None); values are numbered as program.py does: arguments, then each op's results."""
    from mlir import ir

    from mxir.dialect import OPTIONAL_ATTRS, TRANSFORM_OPS, TensorType
    from mxir.passes.ir_utils import is_transform, mx_name, read_op

    block = f.regions[0].blocks[0]
    numbers = {}
    for i, a in enumerate(block.arguments):
        numbers[a] = i
    k = len(block.arguments)
    ops = []
    for op in block.operations:
        op = op.operation
        operands = [numbers[v] for v in op.operands]
        if op.name == "func.return":
            ops.append(("return", None, operands, 0, None))
            break
        for r in op.results:
            numbers[r] = k
            k += 1
        if op.name == "func.call" or is_transform(op):
            kind = "call" if op.name == "func.call" else mx_name(op)
            kinds = {**TRANSFORM_OPS[kind], **OPTIONAL_ATTRS.get(kind, {})}
            attrs = {key: kinds[key].from_ir(op.attributes[key]) for key in kinds
                     if key in op.attributes and key not in ("callee", "vjp", "jvp", "vmap")}
            callees = tuple((key, ir.FlatSymbolRefAttr(op.attributes[key]).value)
                            for key in ("callee", "vjp", "jvp", "vmap") if key in op.attributes)
            ops.append((kind, attrs, operands, len(op.results), callees))
        else:
            m = read_op(op)
            attrs = m.attrs
            if any(t.dynamic for t in [*m.in_types, *m.out_types]):  # shapeless: resolved per call
                attrs = _Dynamic(m.name, m.attrs, m.in_types, m.out_types)
            ops.append((m.name, attrs, operands, len(op.results), None))
    return [TensorType.from_ir(a.type) for a in block.arguments], ops


def _fits(x: array, t) -> bool:
    got = x._node.types[x._index]
    return got.dtype == t.dtype and len(got.shape) == len(t.shape) and all(
        d is None or d == g for d, g in zip(t.shape, got.shape))


def export_to_dot(file, *args, **kwargs) -> None:
    """Write the lazy graph that computes the arrays in `args`/`kwargs` as Graphviz DOT."""
    from .graph import DATA, PARAM

    roots = [x for x in tree_flatten((list(args), kwargs)) if isinstance(x, array)]
    names: dict = {}
    lines = ["digraph {"]

    def label(node, i):
        key = (id(node), i)
        if key not in names:
            names[key] = _letters(len(names))
        return names[key]

    seen: set = set()
    stack = [r._node for r in roots]
    order = []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(a._node for a in node.inputs)
    for node in reversed(order):
        if node.op in (DATA, PARAM):
            lines.append(f'{{ rank=source; "{label(node, 0)}"; }}')
            continue
        op_id = f"op{id(node)}"
        lines.append(f'{{ {op_id} [label ="{node.op}", shape=rectangle]; }}')
        for a in node.inputs:
            lines.append(f'"{label(a._node, a._index)}" -> {op_id}')
        for i in range(len(node.types)):
            lines.append(f'{{ "{label(node, i)}"; }}')
            lines.append(f'{op_id} -> "{label(node, i)}"')
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if hasattr(file, "write"):
        file.write(text)
    else:
        with open(file, "w") as f:
            f.write(text)


def _letters(k: int) -> str:
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def depends(inputs, dependencies):
    """`inputs` as arrays that are computed only after `dependencies` (as `mx.depends`): the
    float ones pass through an mx.barrier on a scalar of the first float dependency (a
    program has no side effects, so this only orders the computation)."""
    from .ops import astype
    from .ops import sum as _sum

    single = isinstance(inputs, array)
    xs = [inputs] if single else list(inputs)
    deps = [dependencies] if isinstance(dependencies, array) else list(dependencies)
    floats = [d for d in deps if d.dtype in _FLOATS()]
    out = xs
    if floats:
        s = astype(_sum(floats[0]), _f32())
        out = [make_barrier(x, s) if x.dtype in _FLOATS() else x for x in xs]
    return out[0] if single else out


def make_barrier(x: array, s: array) -> array:
    return array._from(make_node("barrier", [x, s], {}), 0)


def _FLOATS():  # noqa: N802
    from . import dtypes as dt

    return (dt.float16, dt.bfloat16, dt.float32, dt.float64)


def _f32():
    from . import dtypes as dt

    return dt.float32


__all__ = ["FunctionExporter", "depends", "export_function", "export_to_dot", "exporter",
           "import_function"]
