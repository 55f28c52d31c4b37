"""Eager evaluation without a compile per shape, and MLX's keep-what-Python-holds rule.

`evaluate.eval_arrays` asks this module twice:

- `held_of(uses, roots)`: the lazy arrays inside the graph being evaluated that something
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

from .graph import attrs_tuple
from .program import operand_refs, walk_refs

# -- materialising what Python holds -------------------------------------------------------------


def held_of(uses: dict, roots) -> list:
    """The unevaluated arrays of `uses` (id -> [array, uses by the graph's own nodes], counted
    while program.trace_program_held linearises the graph of `roots`), not themselves roots
    nor traced, that are referenced from outside the graph: their reference count exceeds the
    graph's own uses."""
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
    """The references `held_of` itself holds on an array that only the graph uses (its list
    entry, the loop's variable, getrefcount's argument), measured on this interpreter rather
    than assumed."""
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

_NOT_EAGER: set = set()  # Programs compiled whole: they repeated exactly
_KERNELS: dict[tuple, object] = {}  # kernel key -> executable, or None: no dynamic kernel
KERNEL_RUNS = [0]  # kernels run op by op (tests count them)
CLASS_RUNS = [0]  # Programs run as one call of their structure class's program (tests count)


def run(main: tuple, inputs: list) -> list | None:
    """The results of Program `main` on `inputs` computed op by op, or through its structure
    class's program (below), or None: compile it whole."""
    if not has_kernels(main) or main in _NOT_EAGER:
        return None
    if _one_compute_op(main):  # one kernel call either way: the Program is its own class
        key, vals = main, None  # (and, repeated, gets its static fused program, threads)
    else:
        key, vals = structure(main)
    cls = _CLASSES.get(key)
    if cls is None:
        if len(_CLASSES) > 4096:  # a long session of distinct graphs: keep the map bounded
            _CLASSES.clear()
        cls = _CLASSES[key] = _Class(vals)
    elif cls.vals != vals:
        cls.widen(vals)
    if cls.spent >= COMPILE_AFTER_S:  # its graphs repeat: one program pays off from here
        if not cls.varying:  # every graph of it was this very Program: compile it whole
            _forget(main)
            return None
        if cls.program is None and not cls.failed:
            cls.compile(main)
        if cls.program is not None:
            CLASS_RUNS[0] += 1
            _SERVING[0] = True
            return cls.call(main, inputs)
    t0 = time.perf_counter() - _BUILD_TIME[0]  # kernel builds are not eager time
    same = vals == cls.vals  # this very Program again (key and sizes equal): its schedule
    schedule = cls.schedule if same else None
    if schedule is None:
        schedule = _schedule(main)
        if schedule is None:  # an op without a kernel here
            _forget(main)
            return None
        if same:
            cls.schedule = schedule
    values = list(inputs)
    for step, how, attrs, refs, out_types in schedule:
        if step is not None:  # layout steps need no operand types
            values.extend(step(how, attrs, [values[r] for r in refs], None, out_types))
        else:
            values.extend(_run_plan(how, [values[r] for r in refs]))
    outputs = [v if v.flags.c_contiguous else np.ascontiguousarray(v)
               for v in (values[r] for r in main[2])]
    cls.spent += time.perf_counter() - _BUILD_TIME[0] - t0
    return outputs


# -- structure classes: graphs that repeat with other sizes ---------------------------------------
# A decode step with a growing KV cache builds the same graph every token with a new length, so
# its Program never repeats exactly. Programs are grouped by their structure: the op sequence,
# operands, dtypes and attributes, with each dim replaced by a symbol (equal dims one symbol;
# 0 and 1 stay literal, since broadcasting and empty arrays differ there), as a shapeless
# compile groups shapes. The attributes that only restate a result's shape (broadcast_to's and
# reshape's) are left out, and so are the bounds of a slice of an argument (a step taking a
# row of the embeddings): such a slice can be taken in NumPy before the call. Once a class has
# spent COMPILE_AFTER_S op by op, it is compiled once, with the dims that varied among its
# Programs dynamic and its varying slices taken outside, and every later Program of the class
# is one call of that program.
_CLASSES: dict[tuple, _Class] = {}
CLASS_COMPILES = [0]  # structure-class programs compiled (tests count them)
_SHAPE_ATTR = {"broadcast_to", "reshape"}  # ops whose one attribute is the result's shape
_PEELED = (("peeled slice", None),)  # a slice of an argument, bounds outside the key


def structure(main: tuple) -> tuple[tuple, tuple]:
    """(structure key, (dims per symbol, bounds per argument slice)) of Program `main`."""
    arg_types, instrs, results = main
    n = len(arg_types)
    codes = {0: 0, 1: 1}
    dims: list = []
    memo: dict = {}  # TensorType -> its symbolic type
    outs_memo: dict = {}  # an instruction's result types (a shared tuple) -> theirs
    sig_args = tuple([memo.get(t) or _symbolic(t, codes, dims, memo) for t in arg_types])
    slices = []
    sig = []
    append = sig.append
    for op, attrs, refs, outs, _ in instrs:
        if op in _SHAPE_ATTR:
            attrs = ()
        elif op == "slice" and refs[0] < n:
            slices.append(attrs)
            attrs = _PEELED
        sym = outs_memo.get(outs)
        if sym is None:
            sym = outs_memo[outs] = tuple([memo.get(t) or _symbolic(t, codes, dims, memo)
                                           for t in outs])
        append((op, attrs, refs, sym))
    return (sig_args, tuple(sig), results), (tuple(dims), tuple(slices))


def run_walk(walk, arrays: list) -> list | None:
    """The values of `arrays` (roots and held arrays of the graph that program.Walk `walk`
    ordered) through their structure class's compiled program, the key made straight from the
    walk's nodes: no Program is built (W12's decode step past its first tokens). None when
    no class program serves these sizes: then the Program is built and `run` decides. Tried
    only while class programs serve evaluations (the key is wasted work otherwise)."""
    if not (_SERVING[0] and ENABLED):
        return None
    key, vals = walk_structure(walk, arrays)
    last = _SERVED[0]  # a decode step serves one class token after token: compared, not hashed
    cls = last[1] if last is not None and last[0] == key else _CLASSES.get(key)
    if cls is None or cls.program is None or not cls.covers(vals):
        _SERVING[0] = False
        return None
    _SERVED[0] = (key, cls)
    CLASS_RUNS[0] += 1
    exe, peel, where = cls.program
    order, inputs, arg_types = walk.order, walk.inputs, walk.arg_types
    if peel:
        inputs = list(inputs)
        for j in peel:  # this graph's own bounds
            node = order[j]
            a = node.inputs[0]
            x = walk.inputs[walk.base[id(a._node)] + a._index]
            inputs.append(_slice("slice", attrs_tuple(node.attrs), [x], None, None)[0])
    outputs = [pooled((arg_types[k] if j < 0 else order[j].types[k]).shape, dtype)
               for j, k, dtype in where]
    exe(inputs, outputs)
    return outputs


_SERVING = [False]  # whether the last evaluation tried as a class program was one
_SERVED: list = [None]  # (key, class) run_walk served last


def serving() -> bool:
    """Whether evaluations are being served by class programs (then run_walk is tried)."""
    return _SERVING[0]


def walk_structure(walk, arrays: list) -> tuple[tuple, tuple]:
    """structure(walk.main(arrays)) without the Program: the same key and sizes."""
    base, n = walk.base, walk.n_args
    codes = {0: 0, 1: 1}
    dims: list = []
    memo: dict = {}
    outs_memo: dict = {}
    sig_args = tuple([memo.get(t) or _symbolic(t, codes, dims, memo) for t in walk.arg_types])
    slices = []
    sig = []
    append = sig.append
    m = n
    for node in walk.order:
        op, attrs = node.head or (node.op, attrs_tuple(node.attrs))
        ins = node.inputs
        if len(ins) == 2:  # (most ops: operand_refs without its call)
            a, b = ins
            refs = (base[id(a._node)] + a._index, base[id(b._node)] + b._index)
        else:
            refs = operand_refs(ins, base)
        if op in _SHAPE_ATTR:
            attrs = ()
        elif op == "slice" and refs[0] < n:
            slices.append(attrs)
            attrs = _PEELED
        outs = node.types
        sym = outs_memo.get(outs)
        if sym is None:
            sym = outs_memo[outs] = tuple([memo.get(t) or _symbolic(t, codes, dims, memo)
                                           for t in outs])
        append((op, attrs, refs, sym))
        base[id(node)] = m
        m += len(outs)
    return (sig_args, tuple(sig), walk_refs(base, arrays)), (tuple(dims), tuple(slices))


def _symbolic(t: TensorType, codes: dict, dims: list, memo: dict) -> tuple:
    shape = []
    for d in t.shape:
        c = codes.get(d)
        if c is None:
            c = codes[d] = len(codes)
            dims.append(d)
        shape.append(c)
    memo[t] = s = (t.dtype, tuple(shape))
    return s


class _Class:
    """The Programs of one structure: the sizes of the first, which of them have varied
    (("d", symbol index) or ("s", slice index)), time spent op by op, the program once
    compiled: (executable, slices taken outside, where the results' types are), whether that
    failed, and the first Program's op-by-op schedule."""

    __slots__ = ("vals", "varying", "spent", "program", "failed", "schedule")

    def __init__(self, vals: tuple):
        self.vals, self.varying, self.spent = vals, frozenset(), 0.0
        self.program, self.failed, self.schedule = None, False, None

    def covers(self, vals: tuple) -> bool:
        """Whether the compiled program (dynamic where sizes varied) serves sizes `vals`."""
        if vals == self.vals:
            return True
        (dims0, slices0), (dims, slices) = self.vals, vals
        varying = self.varying
        for i, (a, b) in enumerate(zip(dims0, dims)):
            if a != b and ("d", i) not in varying:
                return False
        for i, (a, b) in enumerate(zip(slices0, slices)):
            if a != b and ("s", i) not in varying:
                return False
        return True

    def widen(self, vals: tuple) -> None:
        (dims0, slices0), (dims, slices) = self.vals, vals
        new = {("d", i) for i, (a, b) in enumerate(zip(dims0, dims)) if a != b}
        new.update(("s", i) for i, (a, b) in enumerate(zip(slices0, slices)) if a != b)
        if not new <= self.varying:  # sizes the compiled program has static: build again
            self.varying = self.varying | new
            self.program = None

    def compile(self, main: tuple) -> None:
        from .evaluate import compile_program

        try:
            program, peel = class_program(main, self.varying)
            exe = compile_program(program, "cpu", KERNEL_PIPELINE)
        except (MxError, RuntimeError):  # a rule or lowering that needs static dims, or the
            self.failed = True  # JIT's refusal: its Programs stay op by op
            return
        CLASS_COMPILES[0] += 1
        # where each result's type is, the same in every Program of the class: (-1, argument)
        # or (instruction, result of it)
        at = [(-1, k) for k in range(len(main[0]))]
        for j, ins in enumerate(main[1]):
            at.extend((j, k) for k in range(len(ins[3])))
        types = [*main[0], *(t for ins in main[1] for t in ins[3])]
        where = [(*at[r], numpy_dtype(types[r].dtype)) for r in main[2]]
        self.program = (exe, peel, where)

    def call(self, main: tuple, inputs: list) -> list:
        exe, peel, where = self.program
        arg_types, instrs, _ = main
        if peel:
            inputs = list(inputs)
            for j in peel:  # this Program's own bounds
                op, attrs, refs, _, _ = instrs[j]
                inputs.append(_slice(op, attrs, [inputs[refs[0]]], None, None)[0])
        # the results' own (concrete) shapes; their dtypes are the class's
        outputs = [pooled((arg_types[k] if j < 0 else instrs[j][3][k]).shape, dtype)
                   for j, k, dtype in where]
        exe(inputs, outputs)
        return outputs


def class_program(main: tuple, varying) -> tuple[tuple, list]:
    """(the Program of `main`'s class: the dims in `varying` dynamic, the varying slices of
    arguments taken as extra arguments after the others; the indices of those slices'
    instructions). Raises DynamicDimsError where an op cannot take the dynamic dims."""
    from mxir.dialect import DynamicDimsError, infer_types
    from mxir.dialect.shape import broadcast_size_source

    arg_types, instrs, results = main
    n = len(arg_types)
    codes = {0: 0, 1: 1}
    dims: list = []
    memo: dict = {}
    dynamic = {i + 2 for kind, i in varying if kind == "d"}  # symbol codes

    def typed(t):
        sym = (memo.get(t) or _symbolic(t, codes, dims, memo))[1]
        return TensorType(tuple(None if c in dynamic else d for d, c in zip(t.shape, sym)),
                          t.dtype), sym

    vtypes, vsyms = [], []
    for t in arg_types:
        dt, sym = typed(t)
        vtypes.append(dt)
        vsyms.append(sym)
    # the varying slices of arguments become arguments, after the others
    peel, peeled, k = [], {}, 0
    for j, (op, _attrs, refs, outs, _) in enumerate(instrs):
        if op == "slice" and refs[0] < n:
            if ("s", k) in varying:
                peeled[j] = len(vtypes)
                peel.append(j)
                dt, sym = typed(outs[0])
                vtypes.append(dt)
                vsyms.append(sym)
            k += 1
    n_args = len(vtypes)
    new_ref = list(range(n))  # old ref -> new ref
    body = []
    for j, (op, attrs, refs, outs, _) in enumerate(instrs):
        if j in peeled:
            new_ref.append(peeled[j])
            continue
        nrefs = [new_ref[r] for r in refs]
        typed_outs = [typed(t) for t in outs]
        out_types = tuple(dt for dt, _ in typed_outs)
        in_types = [vtypes[r] for r in nrefs]
        if not OPS[op].dynamic and any(t.dynamic for t in (*in_types, *out_types)):
            raise DynamicDimsError(f"'mx.{op}' cannot take dynamic dims")
        if op in _SHAPE_ATTR:
            shape = out_types[0].shape
            attrs = (("shape", shape),)
            if op == "broadcast_to":  # a dynamic dim's size is lent by a value that has it
                for i, d in enumerate(shape):
                    if d is None and broadcast_size_source(in_types, len(shape), i) is None:
                        w = _size_lender(vsyms, typed_outs[0][1], i)
                        if w is None:
                            raise DynamicDimsError("no value gives a broadcast's dynamic size")
                        nrefs.append(w)
                        in_types.append(vtypes[w])
        if tuple(infer_types(op, in_types, dict(attrs))) != out_types:
            raise DynamicDimsError(f"'mx.{op}' infers other types with dynamic dims")
        for dt, sym in typed_outs:
            new_ref.append(len(vtypes))
            vtypes.append(dt)
            vsyms.append(sym)
        body.append((op, attrs, tuple(nrefs), out_types, None))
    program = (tuple(vtypes[:n_args]), tuple(body), tuple(new_ref[r] for r in results))
    return program, peel


def _size_lender(vsyms: list, sym: tuple, i: int) -> int | None:
    """A value defined so far whose dim aligned (on the right) with dim `i` of a result of
    symbols `sym` has the same symbol."""
    code, rank = sym[i], len(sym)
    for w, s in enumerate(vsyms):
        j = i - rank + len(s)
        if 0 <= j < len(s) and s[j] == code:
            return w
    return None


def has_kernels(main: tuple) -> bool:
    """Whether every op of Program `main` runs op by op (a kernel or a layout step): all or
    nothing, decided before hashing the Program (W5's latency)."""
    if not ENABLED:
        return False
    for ins in main[1]:
        if ins[4] is not None or ins[0] not in _STEPS and not OPS[ins[0]].dynamic:
            return False
    return True


def _one_compute_op(main: tuple) -> bool:
    """Whether Program `main` has at most one op that is not a layout step."""
    seen = False
    for ins in main[1]:
        if ins[0] not in _STEPS:
            if seen:
                return False
            seen = True
    return True


def _forget(main) -> None:
    if len(_NOT_EAGER) > 4096:
        _NOT_EAGER.clear()
    _NOT_EAGER.add(main)


def _schedule(main: tuple) -> list | None:
    """Per instruction of Program `main`: (layout step, op, attrs, refs, result types) or
    (None, kernel plan, attrs, refs, result types); None if some op has no kernel here. Kept
    on the class while the same Program repeats (W1's loop before it compiles)."""
    types = list(main[0])
    schedule = []
    spread: dict[int, int] = {}  # a broadcast_to's result -> its operand
    for op, attrs, refs, out_types, _ in main[1]:  # (no callee: has_kernels)
        step = _STEPS.get(op)
        if step is not None:
            if op == "broadcast_to" and len(refs) == 1 and _spreads_well(types[refs[0]],
                                                                          out_types[0]):
                spread[len(types)] = refs[0]
            schedule.append((step, op, attrs, refs, out_types))
        else:
            plan = None
            if any(r in spread for r in refs) and (_KIND.get(op) or _kind(op)) == "elementwise":
                # the operand before its broadcast, read in place by a kernel that broadcasts
                # it: the broadcast view would be copied out whole first (`x * 2.0` on 1000^2
                # f32: 0.83 ms, MLX 0.41)
                sources = tuple([spread.get(r, r) for r in refs])
                flags = tuple([r in spread for r in refs])
                if not all(flags):  # another operand lends the sizes
                    plan = _plan_of(op, attrs, tuple([types[r] for r in sources]), out_types,
                                    flags)
                    if plan[0] is not None:
                        refs = sources
            if plan is None or plan[0] is None:
                plan = _plan_of(op, attrs, tuple([types[r] for r in refs]), out_types)
            if plan[0] is None:
                return None
            schedule.append((None, plan, attrs, refs, out_types))
        types.extend(out_types)
    return schedule


def _spreads_well(src: TensorType, full: TensorType) -> bool:
    """Whether a kernel reads `src` broadcast to `full` in place: a scalar, or a row that is
    `full`'s trailing dims (a bias), read again for each (outer, inner) row. Not a column, read
    across each row: slower than the copy (1000^2 f32 + a column: 0.84 -> 1.06 ms)."""
    dims = src.shape
    while dims and dims[0] == 1:
        dims = dims[1:]
    return math.prod(dims) == 1 or (0 not in full.shape and full.shape[-len(dims):] == dims)


def _plan_of(op, attrs, in_types, out_types, spread: tuple = ()) -> tuple:
    key = (op, attrs, in_types, out_types, spread)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(op, attrs, in_types, out_types, spread)
        if len(_PLANS) > 8192:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _run_plan(plan: tuple, xs: list) -> list:
    """A compute op's outputs through its library kernel, shapes canonicalised."""
    call, arg_shapes, out_specs, result_shapes = plan
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


def _plan(op, attrs, in_types, out_types, spread: tuple = ()) -> tuple:
    """(bound kernel call or None, canonical operand shapes, output (shape, NumPy dtype)s,
    canonical result shapes) for `_run_plan`; canonical shapes None: the types' own.
    `spread`: per operand of an elementwise op, whether it is given before its broadcast to
    the result's shape (the kernel broadcasts it)."""
    kind = _KIND.get(op) or _kind(op)
    out_specs = tuple((t.shape, numpy_dtype(t.dtype)) for t in out_types)
    arg_shapes = result_shapes = None
    if any(spread):  # flat, or (outer, inner) rows of a spread row's length
        rows = {math.prod(t.shape) for t, f in zip(in_types, spread) if f} - {1}
        if len(rows) > 1:
            return None, None, out_specs, None
        n = math.prod(out_types[0].shape)
        full = (n // rows.copy().pop(), *rows) if rows else (n,)
        arg_shapes = tuple((() if math.prod(t.shape) == 1 else full[1:]) if f else full
                           for t, f in zip(in_types, spread))
        result_shapes = (full,) * len(out_types)
        kernel = _spread_kernel(
            op, attrs, tuple(TensorType((None,) * len(s), t.dtype)
                             for s, t in zip(arg_shapes, in_types)),
            tuple(TensorType((None,) * len(full), t.dtype) for t in out_types), spread)
    elif kind == "elementwise" and all(t.shape == out_types[0].shape for t in in_types):
        kernel = _kernel(op, attrs, tuple(_FLAT[t.dtype] for t in in_types),
                         tuple(_FLAT[t.dtype] for t in out_types))
        n = (math.prod(out_types[0].shape),)
        arg_shapes, result_shapes = (n,) * len(in_types), (n,) * len(out_types)
    elif kind == "reduction" and (split := _contiguous_axes(in_types[0], attrs)):
        t, o = in_types[0], out_types[0]
        if split[2] == 1 and split[1] >= _ROW_MIN:  # rows, reduced by the inner loop
            kernel = _kernel(op, _MIDDLE, (TensorType((None,) * 2, t.dtype),),
                             (TensorType((None,), o.dtype),))
            arg_shapes, result_shapes = (split[:2],), ((split[0],),)
        else:
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


# a reduction over axis 1 of (outer, reduced, inner), or of (outer, reduced) when inner is 1
# and rows have at least _ROW_MIN elements: a unit innermost loop kept the reduction out of the
# innermost one, a serial chain of scalar adds (1000x1000 f32 summed over rows 4.5 ms, NumPy
# 0.2). Shorter rows keep the serial order, which is MLX's CPU order for them (the reassociated
# row kernel changed a bit of mx.fast.gated_delta_update's 4-long sums)
_MIDDLE = (("axes", (1,)), ("keepdims", False))
_ROW_MIN = 64
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
    n = len(in_types)
    main = (tuple(in_types), ((op, attrs, tuple(range(n)), tuple(out_types), None),),
            tuple(range(n, n + len(out_types))))
    return _compiled(key, main)


def _spread_kernel(op, attrs, in_types, out_types, spread):
    """The kernel of elementwise `op` whose `spread` operands come before their broadcast to
    the result's shape: each is broadcast inside it (the sizes lent by an operand that is not
    spread), a loop that codegen fuses into the op's."""
    key = ("spread", op, attrs, in_types, out_types, spread)
    try:
        return _KERNELS[key]
    except KeyError:
        pass
    n = len(in_types)
    lender = spread.index(False)
    full = out_types[0].shape  # (elementwise operands have the result's shape)
    instrs, refs = [], []
    for i, (t, flag) in enumerate(zip(in_types, spread)):
        if flag:
            instrs.append(("broadcast_to", (("shape", full),), (i, lender),
                           (t.with_shape(full),), None))
            refs.append(n + len(instrs) - 1)
        else:
            refs.append(i)
    instrs.append((op, attrs, tuple(refs), tuple(out_types), None))
    first = n + len(instrs) - 1
    return _compiled(key, (tuple(in_types), tuple(instrs),
                           tuple(range(first, first + len(out_types)))))


def _compiled(key, main):
    """Program `main` compiled by KERNEL_PIPELINE (or its machine code from an earlier
    process), kept under `key`; None when its ops need static dims."""
    from mxir.runtime import native

    from .evaluate import compile_program, program_digest

    t0 = time.perf_counter()
    digest = program_digest(main) + "-" + KERNEL_PIPELINE
    kernel = native.load(digest)  # machine code from an earlier process
    if kernel is None:
        try:
            types = list(main[0])
            for op, attrs, refs, _, _ in main[1]:  # the rules themselves must take `?` dims
                types.extend(OPS[op].infer([types[r] for r in refs], **dict(attrs)))
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
            if kind == "reduction":  # both forms of _plan
                forms = [((TensorType((None,) * rank, dtype),), _MIDDLE) for rank in (2, 3)]
            else:
                ins = (_FLAT[dtype],) * (spec.arity or 1)
                forms = [(((_FLAT["bool"],) + ins[1:]) if op == "select" else ins, ())]
            for ins, attrs in forms:
                try:
                    outs = tuple(infer_types(op, list(ins), dict(attrs)))
                except MxError:
                    continue
                ready += _kernel(op, attrs, ins, outs) is not None
                if len(ins) == 2 and op != "select":  # with a scalar (`x * 2`, `1 - x`)
                    scalar = TensorType((), dtype)
                    for spread in ((False, True), (True, False)):
                        pair = tuple(scalar if f else t for t, f in zip(ins, spread))
                        ready += _spread_kernel(op, attrs, pair, outs, spread) is not None
    return ready

