"""Eager evaluation without a compile per shape, and MLX's keep-what-Python-holds rule.

`evaluate.eval_arrays` asks this module twice:

- `held_intermediates(roots)`: the lazy arrays inside the graph being evaluated that something
  besides that graph still refers to (a Python variable, a list, another lazy graph). They are
  evaluated first, as a graph of their own, and keep their buffers, as MLX keeps every array
  it computes while it is referenced; the roots' graph and later graphs take them as inputs
  instead of computing them again (and a random array keeps its values). Evaluated apart, an
  op without a kernel among them (random bits, gathers) does not force the whole graph into
  one per-shape compile.
- `run(main, inputs)`: the Program's values computed op by op through a kernel library, or None
  when the whole program must be compiled (an op without a kernel, a transform or call op, a GPU
  target, or a Program that has repeated long enough for its fused compile to pay off).

The kernel library holds one compiled single-op program per op x attributes x dtypes x shape
class, with dynamic dims (the ops with `dynamic = True`), compiled once by the pipeline
"mx-kernel-to-cpu" (evaluate.compile_program) and kept in memory, and on disk as machine code
(runtime/native.py) so that later processes load it instead of JIT-compiling it. Shapes
are canonicalised so that few kernels serve everything: an elementwise op runs on its operands
flattened to one dynamic dim; a reduction over contiguous axes runs as a reduction over the
middle axis of (outer, reduced, inner). Layout ops (reshape, transpose, broadcast_to, slice,
concatenate) are NumPy views or copies: they move data, they compute nothing, as in MLX's
strided arrays. A compute op on a new shape therefore runs an existing kernel: no pipeline.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from mxir.dialect import OPS, MxError, TensorType, numpy_dtype
from mxir.runtime.memory import empty as pooled

from .graph import DATA, PARAM

# -- materialising what Python holds -------------------------------------------------------------


def held_intermediates(roots) -> list:
    """Unevaluated arrays reachable from `roots` (not themselves roots, not traced) that are
    referenced from outside the graph: their reference count exceeds the graph's own uses."""
    uses: dict[int, list] = {}  # id(array) -> [array, uses by the inputs of the graph's nodes]
    stack = [r._node for r in roots]
    seen = {id(n) for n in stack}
    while stack:
        node = stack.pop()
        if node.op == DATA or node.op == PARAM or node.traced:
            continue
        for a in node.inputs:
            n = a._node
            # data: nothing to compute; an op without inputs (a constant, a shared grad seed,
            # zeros, arange): recomputing costs nothing, and folded into the program it lets
            # the compiler simplify around it, where as data it would be an opaque input
            if n.op == DATA or not n.inputs:
                continue
            u = uses.get(id(a))
            if u is None:
                uses[id(a)] = [a, 1]
                if id(n) not in seen and not _evaluated(n):
                    seen.add(id(n))
                    stack.append(n)
            else:
                u[1] += 1
    if not uses:
        return []
    roots_ids = {id(r if r._pin is None else r._pin) for r in roots}  # graphs hold pins
    base = _BASE_REFS or _calibrate()
    held = []
    for u in uses.values():
        a = u[0]
        if (_getrefcount(a) - u[1] > base and id(a) not in roots_ids and not a._node.traced
                and not _is_value(a)):
            held.append(a)
    return held


def _evaluated(node) -> bool:
    v = node.values
    return v is not None and all(x is not None for x in v)


def _is_value(a) -> bool:
    v = a._node.values
    return v is not None and v[a._index] is not None


_getrefcount = sys.getrefcount
_BASE_REFS = 0


def _calibrate() -> int:
    """The references `held_intermediates` itself holds on an array that only the graph uses
    (its list entry, the loop's variable, getrefcount's argument), measured on this
    interpreter rather than assumed."""
    global _BASE_REFS

    class Probe:
        __slots__ = ("_node", "_index", "__weakref__")

    class Leaf:
        __slots__ = ("op", "inputs", "traced", "values")

        def __init__(self, inputs):
            self.op, self.inputs, self.traced, self.values = "probe", inputs, False, None

    inner = Probe()
    inner._node, inner._index = Leaf(()), 0
    root = Probe()
    root._node, root._index = Leaf((inner,)), 0
    del inner
    uses: dict[int, list] = {}
    for a in root._node.inputs:
        uses[id(a)] = [a, 1]
    del a
    for u in uses.values():
        a = u[0]
        _BASE_REFS = _getrefcount(a) - u[1]
    return _BASE_REFS


# -- op-by-op evaluation -------------------------------------------------------------------------

# cumulative seconds a Program has spent evaluated op by op; past this the whole program is
# compiled (fused, one call): ski rental against a compile measured at 60-300 ms on the dev box
COMPILE_AFTER_S = 0.1
ENABLED = os.environ.get("MXIR_EAGER", "1") not in ("0", "")

_EAGER_TIME: dict[tuple, float] = {}  # Program -> seconds spent op by op
_NOT_EAGER: set = set()  # Programs compiled whole: repeated, or a kernel failed to build
_KERNELS: dict[tuple, object] = {}  # kernel key -> executable, or None: no dynamic kernel
KERNEL_RUNS = [0]  # kernels run op by op (tests count them)


def run(main: tuple, inputs: list) -> list | None:
    """The results of Program `main` on `inputs` computed op by op, or None: compile it."""
    if not has_kernels(main):
        return None
    arg_types, instrs, results = main
    if main in _NOT_EAGER:
        return None
    spent = _EAGER_TIME.get(main, 0.0)
    if spent >= COMPILE_AFTER_S:  # it repeats: its fused program pays off from here
        _forget(main)
        return None
    t0 = time.perf_counter() - _BUILD_TIME[0]  # kernel builds are not eager time
    types = list(arg_types)
    values = list(inputs)
    for op, attrs, refs, out_types, _ in instrs:  # (no callee: has_kernels)
        step = _STEPS.get(op)
        if step is not None:  # layout steps need no operand types
            outs = step(op, attrs, [values[r] for r in refs], None, out_types)
        else:
            outs = _compute(op, attrs, [values[r] for r in refs],
                            tuple([types[r] for r in refs]), out_types)
        if outs is None:
            _forget(main)
            return None
        values.extend(outs)
        types.extend(out_types)
    outputs = [v if v.flags.c_contiguous else np.ascontiguousarray(v)
               for v in (values[r] for r in results)]
    if len(_EAGER_TIME) > 4096:  # a long session of distinct graphs: keep the map bounded
        _EAGER_TIME.clear()
    _EAGER_TIME[main] = spent + time.perf_counter() - _BUILD_TIME[0] - t0
    return outputs


def has_kernels(main: tuple) -> bool:
    """Whether every op of Program `main` runs op by op (a kernel or a layout step): all or
    nothing, decided before hashing the Program (W5's latency)."""
    if not ENABLED:
        return False
    for ins in main[1]:
        if ins[4] is not None or ins[0] not in _STEPS and not OPS[ins[0]].dynamic:
            return False
    return True


def _forget(main) -> None:
    _EAGER_TIME.pop(main, None)
    if len(_NOT_EAGER) > 4096:
        _NOT_EAGER.clear()
    _NOT_EAGER.add(main)


def _compute(op, attrs, xs, in_types, out_types):
    """A compute op through its library kernel, shapes canonicalised; None without one."""
    key = (op, attrs, in_types, out_types)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(op, attrs, in_types, out_types)
        if len(_PLANS) > 8192:
            _PLANS.clear()
        _PLANS[key] = plan
    call, arg_shapes, out_specs, result_shapes = plan
    if call is None:
        return None
    outs = [pooled(s, d) for s, d in out_specs]  # counted as MLX counts
    if arg_shapes is None:
        arrays = [x if x.flags.c_contiguous else _contiguous(x) for x in xs]
        arrays += outs
    else:  # (a reshape may keep a strided view as it is)
        arrays = [x if (x := y.reshape(s)).flags.c_contiguous else _contiguous(x)
                  for y, s in zip(xs, arg_shapes)]
        arrays += [o.reshape(s) for o, s in zip(outs, result_shapes)]
    KERNEL_RUNS[0] += 1
    call(arrays)
    return outs


def _contiguous(x):
    return np.ascontiguousarray(x).reshape(x.shape)  # (a 0-d array stays 0-d)


# (op, attrs, operand types, result types) -> how to run it (_plan): the types are exact, so
# the kernel, the canonical shapes and the output specs are worked out once per op and shapes,
# and the kernel's call is bound to those shapes (a decode loop asks again for every layer and
# token; working all that out, and laying out descriptors, was most of a dispatch)
_PLANS: dict[tuple, tuple] = {}


def _plan(op, attrs, in_types, out_types) -> tuple:
    """(bound kernel call or None, canonical operand shapes, output (shape, NumPy dtype)s,
    canonical result shapes) for `_compute`; canonical shapes None: the types' own."""
    kind = _KIND.get(op) or _kind(op)
    out_specs = tuple((t.shape, numpy_dtype(t.dtype)) for t in out_types)
    arg_shapes = result_shapes = None
    if kind == "elementwise" and all(t.shape == out_types[0].shape for t in in_types):
        kernel = _kernel(op, attrs, tuple(_FLAT[t.dtype] for t in in_types),
                         tuple(_FLAT[t.dtype] for t in out_types))
        n = (math.prod(out_types[0].shape),)
        arg_shapes, result_shapes = (n,) * len(in_types), (n,) * len(out_types)
    elif kind == "reduction" and (split := _contiguous_axes(in_types[0], attrs)):
        t, o = in_types[0], out_types[0]
        kernel = _kernel(op, _MIDDLE, (TensorType((None,) * 3, t.dtype),),
                         (TensorType((None,) * 2, o.dtype),))
        arg_shapes, result_shapes = (split,), ((split[0], split[2]),)
    else:
        kernel = _kernel(op, attrs, tuple(_SHAPE_CLASS[t] for t in in_types),
                         tuple(_SHAPE_CLASS[t] for t in out_types))
    if kernel is None:
        return None, None, out_specs, None
    shapes = [*(arg_shapes or (t.shape for t in in_types)),
              *(result_shapes or (t.shape for t in out_types))]
    call = kernel.bind(shapes)
    if call is None:  # threaded code: the executable's own call
        n = len(in_types)

        def call(arrays):
            kernel(arrays[:n], arrays[n:])
    return call, arg_shapes, out_specs, result_shapes


_MIDDLE = (("axes", (1,)), ("keepdims", False))  # a reduction over (outer, reduced, inner)
_KIND: dict[str, str] = {}  # op -> "elementwise", "reduction" or "other" (dynamic ops only)


class _Flat(dict):
    def __missing__(self, dtype):
        self[dtype] = t = TensorType((None,), dtype)
        return t


_FLAT = _Flat()  # dtype -> its one-dynamic-dim type


def _kind(op: str) -> str:
    from mxir.dialect.elementwise import Binary, SelectOp, Unary
    from mxir.dialect.misc import AstypeOp
    from mxir.dialect.reduction import Reduction

    spec = OPS[op]
    if isinstance(spec, (Unary, Binary, SelectOp, AstypeOp)):
        kind = "elementwise"
    elif isinstance(spec, Reduction):
        kind = "reduction"
    else:
        kind = "other"
    _KIND[op] = kind
    return kind


def _contiguous_axes(t: TensorType, attrs) -> tuple | None:
    """(outer, reduced, inner) sizes when the reduced axes are one contiguous run."""
    axes = sorted(dict(attrs)["axes"])
    shape = t.shape
    if not axes:
        return (math.prod(shape), 1, 1)
    lo, hi = axes[0], axes[-1]
    if hi - lo + 1 != len(axes):
        return None
    return (math.prod(shape[:lo]), math.prod(shape[lo:hi + 1]), math.prod(shape[hi + 1:]))


class _ShapeClass(dict):
    """TensorType -> the type with its dims dynamic except those of size 1 (broadcasting
    differs only there)."""

    def __missing__(self, t):
        if len(self) > 4096:
            self.clear()
        self[t] = c = TensorType(tuple(1 if d == 1 else None for d in t.shape), t.dtype)
        return c


_SHAPE_CLASS = _ShapeClass()


def _kernel(op, attrs, in_types, out_types):
    """The library kernel for `op` on these (dynamic) types: compiled once, None if the op's
    rules or lowering need static dims there."""
    key = (op, attrs, tuple(in_types), tuple(out_types))
    try:
        return _KERNELS[key]
    except KeyError:
        pass
    from mxir.runtime import native

    from .evaluate import compile_program, program_digest

    n = len(in_types)
    main = (tuple(in_types), ((op, attrs, tuple(range(n)), tuple(out_types), None),),
            tuple(range(n, n + len(out_types))))
    t0 = time.perf_counter()
    digest = program_digest(main) + "-" + KERNEL_PIPELINE
    kernel = native.load(digest)  # machine code from an earlier process
    if kernel is None:
        try:
            OPS[op].infer(list(in_types), **dict(attrs))  # the rule itself must take `?` dims
            kernel = compile_program(main, "cpu", KERNEL_PIPELINE)
        except (MxError, TypeError, ValueError):  # needs static dims: whole programs compile
            kernel = None
        except RuntimeError:  # the JIT refused it: whole programs compile
            kernel = None
        else:
            BUILDS[0] += 1
            native.store(digest, kernel)
    _BUILD_TIME[0] += time.perf_counter() - t0
    _KERNELS[key] = kernel
    return kernel


KERNEL_PIPELINE = "mx-kernel-to-cpu"
BUILDS = [0]  # kernels compiled in this process (not loaded from the native cache)
_BUILD_TIME = [0.0]  # seconds spent building kernels (not counted as a program's eager time)


# -- layout ops: views and copies (they move data; they compute nothing) -------------------------
def _constant(op, attrs, xs, in_types, out_types):
    return [np.array(dict(attrs)["value"].array)]  # a fresh buffer: constants are shared


def _reshape(op, attrs, xs, in_types, out_types):
    return [xs[0].reshape(out_types[0].shape)]


def _transpose(op, attrs, xs, in_types, out_types):
    return [xs[0].transpose(dict(attrs)["perm"])]


def _broadcast_to(op, attrs, xs, in_types, out_types):
    x, shape = xs[0], out_types[0].shape
    if not x.flags.c_contiguous:
        return [np.broadcast_to(x, shape)]
    # a strided view over x's own buffer: what np.broadcast_to makes, in a third of its time
    # (never written: kernels write fresh outputs, and results leave run() contiguous)
    pad = len(shape) - x.ndim
    strides = (0,) * pad + tuple(0 if d != e else k
                                 for d, e, k in zip(x.shape, shape[pad:], x.strides))
    return [np.ndarray(shape, x.dtype, x, 0, strides)]


def _slice(op, attrs, xs, in_types, out_types):
    index = _INDEXES.get(attrs)
    if index is None:
        a = dict(attrs)
        index = tuple(slice(s, e, k) for s, e, k in zip(a["start"], a["stop"], a["strides"]))
        if len(_INDEXES) > 4096:
            _INDEXES.clear()
        _INDEXES[attrs] = index
    return [xs[0][index]]


_INDEXES: dict[tuple, tuple] = {}  # a slice op's attributes -> its NumPy index (loops repeat)


def _concatenate(op, attrs, xs, in_types, out_types):
    return [np.concatenate(xs, axis=dict(attrs)["axis"])]


def _identity(op, attrs, xs, in_types, out_types):
    return xs  # stop_gradient outside a transform: the value itself (buffers are immutable)


_STEPS = {"constant": _constant, "reshape": _reshape, "transpose": _transpose,
          "broadcast_to": _broadcast_to, "slice": _slice, "concatenate": _concatenate,
          "stop_gradient": _identity}


def warm(dtypes=("float32",)) -> int:
    """Build (or load from disk) the elementwise and reduction kernels for `dtypes`, so that
    a first eager use does not JIT: `python -m mxir.warm [dtype ...]`. Returns how many are
    ready (ops that refuse a dtype are skipped)."""
    from mxir.dialect import infer_types

    ready = 0
    for op, spec in OPS.items():
        kind = _kind(op) if spec.dynamic else None
        if kind not in ("elementwise", "reduction") or (kind == "elementwise" and spec.attrs):
            continue
        for dtype in dtypes:
            if kind == "reduction":
                ins, attrs = (TensorType((None,) * 3, dtype),), _MIDDLE
            else:
                ins, attrs = (_FLAT[dtype],) * (spec.arity or 1), ()
                if op == "select":
                    ins = (_FLAT["bool"],) + ins[1:]
            try:
                outs = tuple(infer_types(op, list(ins), dict(attrs)))
            except MxError:
                continue
            ready += _kernel(op, attrs, ins, outs) is not None
    return ready

