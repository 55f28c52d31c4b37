"""Frontend fuzzer: random programs through `import mxir as mx`, each checked against NumPy.

    python -m mxir.tools.fuzz --seed S --count N --budget SECONDS [--out DIR]

A program is Python source. Three kinds are generated:

- forward: a chain of ops on random inputs (dtypes float32/float16/bfloat16/float64/int32/bool,
  shapes with 0 and 1 dims, broadcasting), plain or under `mx.compile`, returning every
  intermediate; each step is checked against its NumPy expression applied to mxir's own values of
  its inputs (so an error is charged to the op that made it, not amplified downstream), and its
  result dtype against MLX's promotion rules;
- transform: a smooth float program of one argument under a random stack of 1-4 of grad,
  value_and_grad, vjp, jvp, vmap and compile, checked against the same stack of reference
  transforms on the NumPy program in float64 (central finite differences, Python loops); a point
  where two step sizes disagree is a kink and counts as inconclusive, not as a mismatch;
- vmap: any program under one or two `mx.vmap` (maybe compiled) against a Python loop of mxir.

Programs run in batches in a child interpreter, so a crash of the MLIR wheels (assertions on) or
a hang is counted rather than fatal; the program a child died on is re-run alone to tell a
crash of its own from one that needs the batch before it. Each finding is shrunk (fewer steps,
fewer transforms) and written to DIR as a runnable reproducer, one per distinct pattern.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

FLOATS = ["float32", "float16", "bfloat16", "float64"]
ALL_DTYPES = FLOATS + ["int32", "bool"]
NP_STORAGE = {"float32": np.float32, "float16": np.float16, "bfloat16": np.float32,
              "float64": np.float64, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
              "bool": np.bool_}
# (rtol, atol) per result dtype; atol is scaled by the magnitude of the op's inputs.
TOL = {"float64": (1e-10, 1e-12), "float32": (2e-5, 2e-6), "float16": (4e-3, 1e-3),
       "bfloat16": (3e-2, 8e-3)}
HANG_SECONDS = 60.0
MX_NAME = {"bool": "bool_"}  # where mx spells a dtype differently
FRESH = " (first program of a fresh child)"


# ---------------------------------------------------------------- reference helpers (NumPy)

def to_bf16(x):
    """Round float values to bfloat16 (nearest even), as float32."""
    f = np.ascontiguousarray(np.asarray(x, np.float32))
    bits = f.view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = bits.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(f), np.float32(np.nan), out)


def round_to(x, dtype: str):
    """A reference value stored in `dtype`, as mxir stores it."""
    x = np.asarray(x)
    if dtype == "bfloat16":
        return to_bf16(x)
    with np.errstate(all="ignore"):
        return x.astype(NP_STORAGE[dtype])


def compute_view(x, dtype: str):
    """How the reference computes on a value: floats in float64, integers in int64."""
    x = np.asarray(x)
    if dtype == "bool":
        return x.astype(bool)
    if dtype in FLOATS:
        return x.astype(np.float64)
    return x.astype(np.int64)


class R:
    """NumPy spellings of mx ops that NumPy lacks or spells differently (used by `np` exprs)."""

    _erf = np.vectorize(math.erf, otypes=[np.float64])

    @staticmethod
    def erf(a):
        return R._erf(np.asarray(a, np.float64)) if np.size(a) else np.asarray(a, np.float64)

    @staticmethod
    def sigmoid(a):
        return 1.0 / (1.0 + np.exp(-a))

    @staticmethod
    def rsqrt(a):
        return 1.0 / np.sqrt(a)

    @staticmethod
    def reciprocal(a):
        return 1.0 / np.asarray(a, np.float64)

    @staticmethod
    def logsumexp(a, axis=None, keepdims=False):
        a = np.asarray(a, np.float64)
        if a.size == 0:
            return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))
        m = np.max(a, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
        return r if keepdims else np.squeeze(r, axis=axis) if axis is not None else r.reshape(())

    @staticmethod
    def softmax(a, axis):
        a = np.asarray(a, np.float64)
        e = np.exp(a - np.max(a, axis=axis, keepdims=True)) if a.size else a
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def scan(kind, a, axis, reverse, inclusive):
        a = np.asarray(a)
        if a.ndim == 0:
            a = a.reshape(1)
            axis = 0
        if reverse:
            a = np.flip(a, axis)
        if kind == "cumsum":
            r = np.cumsum(a, axis=axis)
        elif kind == "cumprod":
            r = np.cumprod(a, axis=axis)
        elif kind == "cummax":
            r = np.maximum.accumulate(a, axis=axis)
        elif kind == "cummin":
            r = np.minimum.accumulate(a, axis=axis)
        else:
            r = np.logaddexp.accumulate(np.asarray(a, np.float64), axis=axis)
        if not inclusive and a.shape[axis]:  # an empty axis stays empty (MLX)
            ident = {"cumsum": 0, "cumprod": 1, "logcumsumexp": -np.inf}[kind]
            r = np.moveaxis(r, axis, 0)
            r = np.concatenate([np.full((1,) + r.shape[1:], ident, r.dtype), r[:-1]], 0)
            r = np.moveaxis(r, 0, axis)
        if reverse:
            r = np.flip(r, axis)
        return r

    @staticmethod
    def astype(a, dtype):
        a = np.asarray(a)
        if dtype == "bool":
            return a != 0
        if dtype in FLOATS:
            return a.astype(np.float64)
        return np.trunc(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.int64)

    @staticmethod
    def floor_divide(a, b, dtype=None):
        """MLX's floor_divide; on floats the quotient is rounded to the result `dtype` (when
        given) before the floor, as MLX divides in that dtype."""
        if np.asarray(a).dtype.kind == "f" or np.asarray(b).dtype.kind == "f":
            q = np.true_divide(a, b)
            return np.floor(round_to(q, dtype) if dtype else q)
        return np.floor_divide(a, b)


# ---------------------------------------------------------------- program generation

@dataclass
class Aval:
    shape: tuple
    dtype: str

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class Step:
    id: int           # its value is v<id>; inputs and steps share one numbering
    mx: str           # expression over v<i> names, in mx
    np: str           # the same over reference values, in NumPy (floats in float64)
    args: list        # value indices the expressions use
    aval: Aval
    op: str
    tol: str = "elem"  # elem | acc (accumulates over n values) | exact | argsort | kink
    n: int = 1
    smooth: bool = True


@dataclass
class Program:
    kind: str                       # forward | transform | vmap
    inputs: list                    # [{"shape", "dtype", "data"}]
    steps: list                     # [Step]
    outputs: list                   # value indices the function returns
    compiled: bool = False
    transforms: list = field(default_factory=list)  # outer first: [name, {params}]
    label: str = ""

    def to_json(self):
        d = dict(self.__dict__)
        d["steps"] = [dict(s.__dict__, aval=[list(s.aval.shape), s.aval.dtype]) for s in self.steps]
        return d

    @staticmethod
    def from_json(d):
        d = dict(d)
        d["steps"] = [Step(**dict(s, aval=Aval(tuple(s["aval"][0]), s["aval"][1])))
                      for s in d["steps"]]
        return Program(**d)

    def avals(self):
        return avals_of(self.inputs, self.steps)


def avals_of(inputs, steps) -> dict:
    d = {i["id"]: Aval(tuple(i["shape"]), i["dtype"]) for i in inputs}
    d.update({s.id: s.aval for s in steps})
    return d


def mx_dtype(name: str):
    import mxir as mx
    return {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16,
            "float64": mx.float64, "int32": mx.int32, "bool": mx.bool_, "uint32": mx.uint32,
            "int64": mx.int64}[name]


def promote(a: str, b: str) -> str:
    import mxir as mx
    r = mx.promote_types(mx_dtype(a), mx_dtype(b))
    return next(n for n in NP_STORAGE if mx_dtype(n) == r)


def float_of(d: str) -> str:
    return d if d in FLOATS else "float32"


def literal(values, dtype="int32"):
    return f"mx.array({values!r}, dtype=mx.{dtype})", f"np.array({values!r}, dtype=np.int64)"


class Gen:
    """Builds one random program; ops pick operands among the values made so far."""

    def __init__(self, rng: np.random.Generator, kind: str):
        self.rng = rng
        self.kind = kind
        self.smooth_only = kind == "transform"
        self.inputs: list = []
        self.steps: list = []

    # values -------------------------------------------------------------------------------
    def avals(self):
        return avals_of(self.inputs, self.steps)

    def fresh(self):
        return len(self.inputs) + len(self.steps)

    def name(self, i):
        return f"v{i}"

    def random_shape(self, max_rank=3, max_size=24):
        while True:
            rank = int(self.rng.integers(0, max_rank + 1))
            shape = tuple(int(self.rng.choice([0, 1, 1, 2, 2, 3, 3, 4])) for _ in range(rank))
            if self.rng.random() > 0.15 and 0 in shape:
                continue  # size-0 arrays: some, not most
            if int(np.prod(shape)) <= max_size:
                return shape

    def data(self, shape, dtype, specials=False):
        n = int(np.prod(shape))
        if dtype == "bool":
            vals = (self.rng.random(n) < 0.5).tolist()
        elif dtype == "int32":
            vals = self.rng.integers(-5, 6, n).tolist()
        elif dtype == "uint32":
            vals = self.rng.integers(0, 6, n).tolist()
        else:
            v = self.rng.uniform(-3, 3, n)
            if specials and n:
                k = self.rng.integers(0, n, max(1, n // 4))
                v[k] = self.rng.choice([0.0, -0.0, np.inf, -np.inf, np.nan], len(k))
            vals = [float(x) for x in round_to(v, dtype).astype(np.float64)]
        return vals

    def new_input(self, shape, dtype, specials=False):
        k = self.fresh()
        self.inputs.append({"id": k, "shape": list(shape), "dtype": dtype,
                            "data": self.data(shape, dtype, specials)})
        return k

    def pick(self, pred=lambda a: True):
        cands = [i for i, a in self.avals().items() if pred(a)]
        if not cands:
            return None
        # prefer recent values, so programs are chains more than fans
        w = np.arange(1, len(cands) + 1, dtype=float) ** 2
        return int(self.rng.choice(cands, p=w / w.sum()))

    def axis(self, ndim, allow_none=True):
        if ndim == 0 or (allow_none and self.rng.random() < 0.2):
            return None
        ax = int(self.rng.integers(0, ndim))
        return ax - ndim if self.rng.random() < 0.4 else ax

    def axes(self, ndim):
        r = self.rng.random()
        if ndim == 0 or r < 0.2:
            return None
        if r < 0.6:
            return self.axis(ndim, allow_none=False)
        k = int(self.rng.integers(1, ndim + 1))
        ax = sorted(self.rng.choice(ndim, k, replace=False).tolist())
        return tuple(a - ndim if self.rng.random() < 0.3 else a for a in ax)

    def float_operand(self):
        i = self.pick(lambda a: a.dtype in FLOATS)
        if i is None or self.rng.random() < 0.1:
            base = self.kind == "transform" and self.inputs and self.inputs[0]["dtype"]
            i = self.new_input(self.random_shape(), base or str(self.rng.choice(FLOATS)))
        return i

    def add(self, mx_expr, np_expr, args, aval, op, **kw):
        self.steps.append(Step(self.fresh(), mx_expr, np_expr, list(args), aval, op, **kw))

    def second_operand(self, a: Aval, dtypes):
        """An operand broadcastable with a: an existing value, a new input, or a scalar."""
        r = self.rng.random()
        if r < 0.15:
            if self.smooth_only or a.dtype in FLOATS:
                v = round(float(self.rng.uniform(-2, 2)), 2)
                return None, repr(v), "float_scalar"
            v = int(self.rng.integers(0 if a.dtype == "uint32" else -3, 4))
            return None, repr(v), "int_scalar"  # MLX refuses a negative int with uint32
        if r < 0.6:
            j = self.pick(lambda b: b.dtype in dtypes and _broadcasts(a.shape, b.shape))
            if j is not None:
                return j, None, None
        shape = list(a.shape[int(self.rng.integers(0, len(a.shape) + 1)):])
        shape = [1 if self.rng.random() < 0.3 else d for d in shape]
        if self.rng.random() < 0.2:
            shape = [int(self.rng.choice([1, 2]))] + shape
        dtype = a.dtype if (self.smooth_only or self.rng.random() < 0.6) else \
            str(self.rng.choice(dtypes))
        return self.new_input(tuple(shape), dtype), None, None


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _shape_of(expr_np, args, avals):
    """The shape a NumPy expression gives on dummy values of the operands' shapes."""
    env = {"np": np, "R": R}
    for i in args:
        env[f"v{i}"] = np.ones(avals[i].shape, np.float64)
    with np.errstate(all="ignore"):
        return tuple(np.shape(eval(expr_np, env)))  # noqa: S307 (our own generated text)


# ops -------------------------------------------------------------------------------------
UNARY_FLOAT = ["sin", "cos", "exp", "log", "sqrt", "tanh", "sigmoid", "erf", "arctan", "log1p",
               "expm1", "rsqrt", "reciprocal", "sinh", "arcsin", "cosh"]
UNARY_SAFE = {  # transform mode: keep the argument in the op's smooth domain
    "log": "mx.log(mx.square({a}) + 0.5)", "sqrt": "mx.sqrt(mx.square({a}) + 0.5)",
    "log1p": "mx.log1p(mx.square({a}))", "rsqrt": "mx.rsqrt(mx.square({a}) + 0.5)",
    "reciprocal": "mx.reciprocal(mx.square({a}) + 0.5)", "arcsin": "mx.arcsin(mx.tanh({a}) * 0.9)",
    "exp": "mx.exp(mx.tanh({a}) * 2)", "sinh": "mx.sinh(mx.tanh({a}) * 2)",
    "cosh": "mx.cosh(mx.tanh({a}) * 2)", "expm1": "mx.expm1(mx.tanh({a}) * 2)"}
NP_UNARY = {"erf": "R.erf(", "sigmoid": "R.sigmoid(", "rsqrt": "R.rsqrt(",
            "reciprocal": "R.reciprocal("}
UNARY_SAME = ["abs", "negative", "square", "floor", "ceil", "round", "sign"]
BINARY_ARITH = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power",
                "floor_divide", "remainder", "logaddexp", "arctan2"]
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
REDUCE = ["sum", "prod", "mean", "max", "min", "all", "any", "argmax", "argmin", "logsumexp",
          "var", "std"]
SCANS = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]


def op_unary(g: Gen):
    i = g.pick(lambda a: a.dtype != "bool" or not g.smooth_only)
    if i is None:
        return False
    a = g.avals()[i]
    v = g.name(i)
    if g.rng.random() < 0.7:
        op = str(g.rng.choice(UNARY_FLOAT))
        tpl = UNARY_SAFE.get(op, "mx.{op}({a})") if g.smooth_only else "mx.{op}({a})"
        mx_expr = tpl.format(op=op, a=v)
        np_expr = mx_expr.replace(f"mx.{op}(", "OUTER(").replace("mx.", "np.")
        np_expr = np_expr.replace("OUTER(", NP_UNARY.get(op, f"np.{op}("))
        if a.dtype == "bool":  # NumPy's math on bool computes in float16
            np_expr = np_expr.replace(f"({v})", f"(np.float64({v}))")
        g.add(mx_expr, np_expr, [i],
              Aval(a.shape, float_of(a.dtype)), op)
        return True
    op = str(g.rng.choice(UNARY_SAME))
    if a.dtype == "bool" and op == "negative":
        op = "abs"
    smooth = op in ("negative", "square")
    if g.smooth_only and not smooth and op != "abs":
        op = "square"
        smooth = True
    np_expr = f"np.{op}({v})" if a.dtype != "bool" else v  # each is the identity on bool
    g.add(f"mx.{op}({v})", np_expr, [i], a, op,
          tol="kink" if op == "abs" else "elem", smooth=op != "abs" and smooth)
    return True


def op_binary(g: Gen):
    i = g.pick(lambda a: a.dtype != "bool")
    if i is None:
        return False
    a = g.avals()[i]
    ops = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "logaddexp",
           "arctan2", "power"] if g.smooth_only else BINARY_ARITH
    op = str(g.rng.choice(ops))
    dtypes = FLOATS if g.smooth_only else ["float32", "float16", "bfloat16", "float64", "int32"]
    j, scalar, kind = g.second_operand(a, dtypes)
    avals = g.avals()
    va = g.name(i)
    if j is not None:
        vb = g.name(j)
        bdt = avals[j].dtype
        bshape = avals[j].shape
        args = [i, j]
    else:
        vb = scalar
        bdt = a.dtype if (kind == "int_scalar" or a.dtype in FLOATS) else "float32"
        bshape = ()
        args = [i]
    if g.rng.random() < 0.3 and j is not None:  # operand order matters for broadcasting
        va, vb = vb, va
    out = promote(a.dtype, bdt)
    if op in ("divide", "logaddexp", "arctan2"):
        out = float_of(out)
    if op == "power" and out == "int32":
        op = "multiply"
    mx_b, np_b = vb, vb
    if g.smooth_only and op in ("divide", "arctan2"):  # both are singular at b = 0 (and a = 0)
        mx_b, np_b = f"(mx.square({vb}) + 0.5)", f"(np.square({vb}) + 0.5)"
    if op == "power":
        base = f"(mx.abs({va}) + 0.5)" if g.smooth_only else va
        mx_expr = f"mx.power({base}, {mx_b})"
        np_expr = f"np.power({base.replace('mx.', 'np.')}, {np_b})"
    elif op in ("floor_divide", "remainder") and out in ("int32", "uint32"):  # no x / 0
        # a scalar divisor stays a Python scalar (mx.abs(3) would be an int32 array: other
        # promotion); the order is kept, so the scalar is always the divisor here
        mx_b = repr(abs(int(vb)) + 1) if j is None else f"mx.abs({mx_b}) + 1"
        np_b = mx_b.replace("mx.", "np.")
        mx_expr = f"mx.{op}({va}, {mx_b})"
        np_expr = (f"R.floor_divide({va}, {np_b})" if op == "floor_divide"
                   else f"np.remainder({va}, {np_b})")
    else:
        mx_expr = f"mx.{op}({va}, {mx_b})"
        if op == "floor_divide" and out in ("float16", "bfloat16"):
            np_expr = f"R.floor_divide({va}, {np_b}, {out!r})"
        else:
            np_fn = "R.floor_divide" if op == "floor_divide" else f"np.{op}"
            np_expr = f"{np_fn}({va}, {np_b})"
    shape = np.broadcast_shapes(a.shape, bshape)
    kink = op in ("maximum", "minimum")
    g.add(mx_expr, np_expr, args, Aval(shape, out), op, tol="kink" if kink else "elem",
          smooth=not kink)
    return True


def op_compare_where(g: Gen):
    i = g.pick(lambda a: a.dtype != "bool") if g.rng.random() < 0.8 else g.pick()
    if i is None:
        return False
    a = g.avals()[i]
    dtypes = FLOATS + ["int32"] if a.dtype != "bool" else ["bool"]
    j, scalar, kind = g.second_operand(a, dtypes)
    avals = g.avals()
    vb = g.name(j) if j is not None else scalar
    bshape = avals[j].shape if j is not None else ()
    args = [i] + ([j] if j is not None else [])
    if a.dtype == "bool":
        op = str(g.rng.choice(["logical_and", "logical_or", "equal", "not_equal"]))
        if j is None:
            vb = "True"
    else:
        op = str(g.rng.choice(COMPARE))
    cond = f"mx.{op}({g.name(i)}, {vb})"
    cond_np = f"np.{op}({g.name(i)}, {vb})"
    shape = np.broadcast_shapes(a.shape, bshape)
    if g.smooth_only or g.rng.random() < 0.5:  # select between the operands
        if a.dtype == "bool" or (j is None and g.smooth_only and a.dtype not in FLOATS):
            return False
        if j is None:
            x_mx, x_np, out = f"mx.negative({g.name(i)})", f"np.negative({g.name(i)})", a.dtype
        else:
            x_mx = x_np = vb
            out = promote(a.dtype, avals[j].dtype)
        g.add(f"mx.where({cond}, {g.name(i)}, {x_mx})", f"np.where({cond_np}, {g.name(i)}, {x_np})",
              args, Aval(shape, out), "where", tol="kink", smooth=False)
    else:
        g.add(cond, cond_np, args, Aval(shape, "bool"), op, tol="exact")
    return True


def op_reduce(g: Gen):
    i = g.pick(lambda a: a.dtype != "bool" or not g.smooth_only)
    if i is None:
        return False
    a = g.avals()[i]
    # no std under transforms: it has equal values often (broadcasts, tiles), where its
    # derivative is d sqrt(0), NaN in MLX too
    ops = ["sum", "prod", "mean", "max", "min", "logsumexp", "var"] if g.smooth_only else REDUCE
    op = str(g.rng.choice(ops))
    if op in ("argmax", "argmin"):
        ax = g.axis(a.ndim if hasattr(a, "ndim") else len(a.shape))
        keep = bool(g.rng.random() < 0.3)
        if a.size == 0:
            return False
        axs = f", axis={ax}" if ax is not None else ""
        mx_expr = f"mx.{op}({g.name(i)}{axs}, keepdims={keep})"
        np_expr = f"np.{op}({g.name(i)}{axs}, keepdims={keep})"
        shape = _shape_of(np_expr, [i], g.avals())
        g.add(mx_expr, np_expr, [i], Aval(shape, "uint32"), op, tol="exact", smooth=False)
        return True
    ax = g.axes(len(a.shape))
    keep = bool(g.rng.random() < 0.3)
    if op in ("max", "min", "logsumexp") and a.size == 0:
        return False  # MLX refuses these (NumPy too, but for logsumexp)
    if op in ("max", "min") and ax is not None:
        red = [x % len(a.shape) for x in (ax if isinstance(ax, tuple) else (ax,))]
        if any(a.shape[x] == 0 for x in red):
            return False
    axs = f", axis={ax!r}" if ax is not None else ""
    ddof = ""
    mx_expr = f"mx.{op}({g.name(i)}{axs}, keepdims={keep}{ddof})"
    np_fn = {"logsumexp": "R.logsumexp"}.get(op, f"np.{op}")
    np_expr = f"{np_fn}({g.name(i)}{axs}, keepdims={keep})"
    shape = _shape_of(np_expr, [i], g.avals())
    if op in ("all", "any"):
        out = "bool"
    elif op in ("sum", "prod"):
        # MLX widens bool to int32 only where an axis is reduced (a 0-d input keeps bool)
        out = "int32" if a.dtype == "bool" and a.shape else a.dtype
    elif op in ("max", "min"):
        out = a.dtype
    else:
        out = float_of(a.dtype)
    n = max(1, a.size // max(1, int(np.prod(shape))))
    if g.smooth_only and op == "var" and n < 2:
        return False  # identically 0: a later op singular at 0 would make NaN derivatives
    kinky = op in ("max", "min")
    g.add(mx_expr, np_expr, [i], Aval(shape, out), op,
          tol="exact" if out in ("bool",) else ("kink" if kinky else "acc"), n=n,
          smooth=not kinky)
    return True


def op_scan(g: Gen):
    i = g.pick(lambda a: a.dtype in FLOATS + ["int32"])
    if i is None:
        return False
    a = g.avals()[i]
    ops = ["cumsum", "cumprod", "logcumsumexp", "cummax"] if g.smooth_only else SCANS
    op = str(g.rng.choice(ops))
    if op == "logcumsumexp" and a.dtype not in FLOATS:
        op = "cumsum"
    ax = g.axis(len(a.shape))
    rev = bool(g.rng.random() < 0.3)
    inc = bool(g.rng.random() < 0.7) or op in ("cummax", "cummin")
    # an exclusive logcumsumexp starts at -inf, where later smooth ops' derivatives are inf * 0
    # (NaN in MLX too, finite differences say otherwise): smooth programs scan inclusively
    inc = inc or (g.smooth_only and op == "logcumsumexp")
    flat = f"mx.flatten({g.name(i)})" if ax is None else g.name(i)
    flat_np = f"np.reshape({g.name(i)}, -1)" if ax is None else g.name(i)
    axv = 0 if ax is None else ax
    mx_expr = (f"mx.{op}({g.name(i)}" + (f", axis={ax}" if ax is not None else "") +
               f", reverse={rev}, inclusive={inc})")
    np_expr = f"R.scan({op!r}, {flat_np}, {axv}, {rev}, {inc})"
    del flat
    shape = (a.size,) if ax is None else a.shape
    out = float_of(a.dtype) if op == "logcumsumexp" else a.dtype
    n = shape[axv] if shape else 1
    g.add(mx_expr, np_expr, [i], Aval(shape, out), op,
          tol="kink" if op in ("cummax", "cummin") else "acc", n=n,
          smooth=op not in ("cummax", "cummin"))
    return True


def op_shape(g: Gen):
    i = g.pick()
    a = g.avals()[i]
    v = g.name(i)
    nd = len(a.shape)
    r = str(g.rng.choice(["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to",
                          "flatten", "swapaxes", "moveaxis", "concatenate", "stack", "split",
                          "tile", "repeat", "pad", "roll", "tril", "diagonal"]))
    if r == "reshape":
        dims = _factor(a.size, g.rng) if a.size else [int(g.rng.choice([0, 1, 2])), 0]
        if a.size and g.rng.random() < 0.3 and dims:
            dims[int(g.rng.integers(0, len(dims)))] = -1
        mx_expr, np_expr = f"mx.reshape({v}, {tuple(dims)!r})", f"np.reshape({v}, {tuple(dims)!r})"
    elif r == "transpose":
        perm = tuple(g.rng.permutation(nd).tolist())
        if g.rng.random() < 0.3:
            mx_expr, np_expr = f"mx.transpose({v})", f"np.transpose({v})"
        else:
            mx_expr, np_expr = f"mx.transpose({v}, {perm!r})", f"np.transpose({v}, {perm!r})"
    elif r == "expand_dims":
        ax = int(g.rng.integers(-nd - 1, nd + 1))
        mx_expr, np_expr = f"mx.expand_dims({v}, {ax})", f"np.expand_dims({v}, {ax})"
    elif r == "squeeze":
        ones = [k for k, d in enumerate(a.shape) if d == 1]
        if ones and g.rng.random() < 0.6:
            ax = int(g.rng.choice(ones)) - (nd if g.rng.random() < 0.5 else 0)
            mx_expr, np_expr = f"mx.squeeze({v}, {ax})", f"np.squeeze({v}, {ax})"
        else:
            mx_expr, np_expr = f"mx.squeeze({v})", f"np.squeeze({v})"
    elif r == "broadcast_to":
        shape = [int(g.rng.choice([2, 3])) if d == 1 and g.rng.random() < 0.6 else d
                 for d in a.shape]
        if g.rng.random() < 0.4:
            shape = [int(g.rng.choice([1, 2]))] + shape
        mx_expr = f"mx.broadcast_to({v}, {tuple(shape)!r})"
        np_expr = f"np.broadcast_to({v}, {tuple(shape)!r})"
    elif r == "flatten":
        if nd == 0:
            mx_expr, np_expr = f"mx.flatten({v})", f"np.reshape({v}, -1)"
        else:
            s, e = sorted(g.rng.integers(0, nd, 2).tolist())
            s = s - nd if g.rng.random() < 0.3 else s
            shape = a.shape[:s % nd] + (int(np.prod(a.shape[s % nd:e + 1])),) + a.shape[e + 1:]
            mx_expr = f"mx.flatten({v}, {s}, {e})"
            np_expr = f"np.reshape({v}, {shape!r})"
    elif r in ("swapaxes", "moveaxis"):
        if nd == 0:
            return False
        x, y = (int(t) for t in g.rng.integers(-nd, nd, 2))
        mx_expr, np_expr = f"mx.{r}({v}, {x}, {y})", f"np.{r}({v}, {x}, {y})"
    elif r in ("concatenate", "stack"):
        if r == "concatenate" and nd == 0:
            return False
        ax = int(g.rng.integers(-nd, nd)) if r == "concatenate" else \
            int(g.rng.integers(-nd - 1, nd + 1))
        shape = list(a.shape)
        if r == "concatenate":
            shape[ax] = int(g.rng.integers(0, 4))
        j = g.pick(lambda b: b.shape == tuple(shape) and (b.dtype in FLOATS or not g.smooth_only))
        if j is None:
            j = g.new_input(tuple(shape), a.dtype if g.smooth_only or g.rng.random() < 0.7 else
                            str(g.rng.choice(ALL_DTYPES)))
        w = g.name(j)
        bdt = g.avals()[j].dtype
        mx_expr = f"mx.{r}([{v}, {w}], axis={ax})"
        np_expr = f"np.{r}([{v}, {w}], axis={ax})"
        if bdt != a.dtype and (bdt == "bool" or a.dtype == "bool"):
            np_expr = (f"np.{r}([np.asarray({v}, np.float64), np.asarray({w}, np.float64)], "
                       f"axis={ax})")
        shape = _shape_of(np_expr, [i, j], g.avals())
        g.add(mx_expr, np_expr, [i, j], Aval(shape, promote(a.dtype, bdt)), r, tol="exact")
        return True
    elif r == "split":
        if nd == 0:
            return False
        ax = int(g.rng.integers(-nd, nd))
        d = a.shape[ax]
        if g.rng.random() < 0.5 and d:
            parts = int(g.rng.choice([p for p in (1, 2, 3, 4) if d % p == 0]))
            k = int(g.rng.integers(0, parts))
            mx_expr = f"mx.split({v}, {parts}, axis={ax})[{k}]"
            np_expr = f"np.split({v}, {parts}, axis={ax})[{k}]"
        else:
            idx = sorted(g.rng.integers(0, d + 2, int(g.rng.integers(1, 3))).tolist())
            k = int(g.rng.integers(0, len(idx) + 1))
            mx_expr = f"mx.split({v}, {idx!r}, axis={ax})[{k}]"
            np_expr = f"np.split({v}, {idx!r}, axis={ax})[{k}]"
    elif r == "tile":
        reps = tuple(int(t) for t in g.rng.integers(1, 3, int(g.rng.integers(1, nd + 2))))
        mx_expr, np_expr = f"mx.tile({v}, {reps!r})", f"np.tile({v}, {reps!r})"
    elif r == "repeat":
        rep = int(g.rng.integers(0, 3))
        ax = g.axis(nd)
        axs = f", axis={ax}" if ax is not None else ""
        mx_expr, np_expr = f"mx.repeat({v}, {rep}{axs})", f"np.repeat({v}, {rep}{axs})"
    elif r == "pad":
        if nd == 0:
            return False
        widths = tuple((int(g.rng.integers(0, 3)), int(g.rng.integers(0, 3))) for _ in range(nd))
        cv = 0 if a.dtype == "bool" else int(g.rng.integers(-2, 3))
        if a.dtype == "uint32":  # MLX refuses a negative fill for unsigned (as mxir does)
            cv = abs(cv)
        mx_expr = f"mx.pad({v}, {widths!r}, constant_values={cv})"
        np_expr = f"np.pad({v}, {widths!r}, constant_values={cv})"
    elif r == "roll":
        shift = int(g.rng.integers(-4, 5))
        ax = g.axis(nd)
        axs = f", axis={ax}" if ax is not None else ""
        mx_expr, np_expr = f"mx.roll({v}, {shift}{axs})", f"np.roll({v}, {shift}{axs})"
    else:  # tril / triu / diagonal need a matrix
        if nd < 2:
            return False
        k = int(g.rng.integers(-2, 3))
        if r == "tril":
            which = str(g.rng.choice(["tril", "triu"]))
            mx_expr, np_expr = f"mx.{which}({v}, {k})", f"np.{which}({v}, {k})"
        else:
            x, y = (int(t) for t in g.rng.choice(nd, 2, replace=False))
            mx_expr = f"mx.diagonal({v}, {k}, {x}, {y})"
            np_expr = f"np.diagonal({v}, {k}, {x}, {y})"
    shape = _shape_of(np_expr, [i], g.avals())
    g.add(mx_expr, np_expr, [i], Aval(shape, a.dtype), r, tol="exact")
    return True


def _factor(n, rng):
    dims = []
    while n > 1:
        p = next(d for d in range(2, n + 1) if n % d == 0)
        if dims and rng.random() < 0.5:
            dims[-1] *= p
        else:
            dims.append(p)
        n //= p
    rng.shuffle(dims)
    if rng.random() < 0.3:
        dims.insert(int(rng.integers(0, len(dims) + 1)), 1)
    return dims


def op_index(g: Gen):
    i = g.pick(lambda a: len(a.shape) > 0)
    if i is None:
        return False
    a = g.avals()[i]
    v = g.name(i)
    nd = len(a.shape)
    r = str(g.rng.choice(["slice", "slice", "take", "gather", "take_along_axis"]))
    if r == "slice":
        parts = []
        for d in a.shape[:int(g.rng.integers(1, nd + 1))]:
            c = g.rng.random()
            if c < 0.25 and d > 0:
                parts.append(str(int(g.rng.integers(-d, d))))
            elif c < 0.35:
                parts.append("None")
            else:
                step = int(g.rng.choice([1, 1, 2, -1, -2, 3]))
                lo, hi = (("" if g.rng.random() < 0.3 else str(int(g.rng.integers(-d - 2, d + 3))))
                          for _ in range(2))
                parts.append(f"{lo}:{hi}" + (f":{step}" if step != 1 else ""))
        if g.rng.random() < 0.15:
            parts.insert(int(g.rng.integers(0, len(parts) + 1)), "...")
        idx = ", ".join(parts) if len(parts) != 1 else \
            parts[0] + ("," if parts[0] == "None" else "")
        mx_expr = np_expr = f"{v}[{idx}]"
        shape = _shape_of(np_expr, [i], g.avals())
        g.add(mx_expr, np_expr, [i], Aval(shape, a.dtype), "slice", tol="exact")
        return True
    ax = int(g.rng.integers(-nd, nd))
    d = a.shape[ax]
    if d == 0:
        return False
    n = int(g.rng.integers(0, 5))
    idx_shape = (n,) if g.rng.random() < 0.7 else (n, 2)
    if r == "take_along_axis":
        ishape = list(a.shape)
        ishape[ax] = n
        vals = g.rng.integers(0, d, int(np.prod(ishape))).reshape(ishape).tolist()
        imx, inp = literal(vals)
        mx_expr = f"mx.take_along_axis({v}, {imx}, {ax})"
        np_expr = f"np.take_along_axis({v}, {inp}, {ax})"
    else:
        vals = g.rng.integers(-d, d, int(np.prod(idx_shape))).reshape(idx_shape).tolist()
        imx, inp = literal(vals)
        if r == "take":
            if g.rng.random() < 0.2:
                flat = g.rng.integers(-a.size, a.size, n).tolist() if a.size else []
                imx, inp = literal(flat)
                mx_expr, np_expr = f"mx.take({v}, {imx})", f"np.take({v}, {inp})"
            else:
                mx_expr = f"mx.take({v}, {imx}, axis={ax})"
                np_expr = f"np.take({v}, {inp}, axis={ax})"
        else:  # advanced indexing, one or two index arrays
            if nd >= 2 and a.shape[1] and g.rng.random() < 0.5:
                vals2 = g.rng.integers(-a.shape[1], a.shape[1], idx_shape[-1:]).tolist()
                jmx, jnp = literal(vals2)
                mx_expr, np_expr = f"{v}[{imx}, {jmx}]", f"{v}[{inp}, {jnp}]"
                if a.shape[0] == 0:
                    return False
                vals = g.rng.integers(-a.shape[0], a.shape[0], idx_shape).tolist()
                imx, inp = literal(vals)
                mx_expr, np_expr = f"{v}[{imx}, {jmx}]", f"{v}[{inp}, {jnp}]"
            else:
                if a.shape[0] == 0:
                    return False
                vals = g.rng.integers(-a.shape[0], a.shape[0], idx_shape).tolist()
                imx, inp = literal(vals)
                mx_expr, np_expr = f"{v}[{imx}]", f"{v}[{inp}]"
    shape = _shape_of(np_expr, [i], g.avals())
    g.add(mx_expr, np_expr, [i], Aval(shape, a.dtype), r, tol="exact")
    return True


def op_matmul(g: Gen):
    i = g.pick(lambda a: a.dtype in FLOATS and len(a.shape) >= 1)
    if i is None:
        return False
    a = g.avals()[i]
    k = a.shape[-1]
    c = g.rng.random()
    if c < 0.3:
        bshape = (k,)
    elif c < 0.8:
        bshape = (k, int(g.rng.integers(1, 4)))
    else:
        bshape = (int(g.rng.choice([1, 2])), k, int(g.rng.integers(0, 4)))
    j = g.pick(lambda b: b.shape == bshape and b.dtype in FLOATS)
    if j is None:
        j = g.new_input(bshape, a.dtype if g.rng.random() < 0.8 else str(g.rng.choice(FLOATS)))
    va, vb = g.name(i), g.name(j)
    mx_expr, np_expr = f"mx.matmul({va}, {vb})", f"np.matmul({va}, {vb})"
    shape = _shape_of(np_expr, [i, j], g.avals())
    g.add(mx_expr, np_expr, [i, j], Aval(shape, promote(a.dtype, g.avals()[j].dtype)), "matmul",
          tol="acc", n=max(1, k))
    return True


def op_sort(g: Gen):
    i = g.pick(lambda a: a.dtype != "bool" and len(a.shape) > 0)
    if i is None:
        return False
    a = g.avals()[i]
    v = g.name(i)
    ax = g.axis(len(a.shape), allow_none=False)
    c = g.rng.random()
    if g.smooth_only or c < 0.5:
        g.add(f"mx.sort({v}, axis={ax})", f"np.sort({v}, axis={ax})", [i], a, "sort",
              tol="kink", smooth=False)
    elif c < 0.8:
        g.add(f"mx.argsort({v}, axis={ax})", f"np.argsort({v}, axis={ax}, kind='stable')", [i],
              Aval(a.shape, "uint32"), "argsort", tol="argsort", smooth=False)
    else:
        if a.dtype not in FLOATS:
            return False
        g.add(f"mx.softmax({v}, axis={ax})", f"R.softmax({v}, {ax})", [i],
              Aval(a.shape, a.dtype), "softmax", tol="acc", n=a.shape[ax])
    return True


def op_astype(g: Gen):
    i = g.pick()
    a = g.avals()[i]
    v = g.name(i)
    # under transforms, float32/float64 only: the reference does not model float16 overflow
    to = str(g.rng.choice(["float32", "float64"] if g.smooth_only else ALL_DTYPES))
    if g.smooth_only and a.dtype not in FLOATS:
        return False
    if a.dtype in FLOATS and to == "int32":  # out of range or NaN to int is undefined
        src = f"mx.clip(mx.nan_to_num({v}), -100, 100)"
        src_np = f"np.clip(np.nan_to_num({v}), -100, 100)"
    else:
        src, src_np = v, v
    g.add(f"{src}.astype(mx.{MX_NAME.get(to, to)})", f"R.astype({src_np}, {to!r})", [i],
          Aval(a.shape, to),
          "astype", tol="elem" if to in FLOATS else "exact")
    return True


OPS = [(op_unary, 5), (op_binary, 5), (op_compare_where, 2), (op_reduce, 3), (op_scan, 1.5),
       (op_shape, 4), (op_index, 3), (op_matmul, 1.5), (op_sort, 1.5), (op_astype, 1)]


def generate(seed: int, index: int) -> Program:
    rng = np.random.default_rng([seed, index])
    r = rng.random()
    kind = "forward" if r < 0.45 else ("transform" if r < 0.85 else "vmap")
    for _ in range(100):
        p = _try_generate(rng, kind)
        if p is not None:
            p.label = f"seed {seed} index {index}"
            return p
    raise RuntimeError("no program generated")


def _try_generate(rng, kind) -> Program | None:
    g = Gen(rng, kind)
    if kind == "transform":
        dtype = "float64" if rng.random() < 0.6 else "float32"
        g.new_input(g.random_shape(max_rank=2, max_size=6), dtype)
    else:
        for _ in range(int(rng.integers(1, 3))):
            g.new_input(g.random_shape(), str(rng.choice(ALL_DTYPES, p=[.3, .15, .15, .1, .2, .1])),
                        specials=kind == "forward" and rng.random() < 0.1)
    nsteps = int(rng.integers(1, 7 if kind == "transform" else 9))
    funcs, weights = zip(*OPS)
    w = np.array(weights) / sum(weights)
    tries = 0
    while len(g.steps) < nsteps and tries < 60:
        tries += 1
        fn = funcs[int(rng.choice(len(funcs), p=w))]
        before = (len(g.inputs), len(g.steps))
        try:
            ok = fn(g)
        except (ValueError, IndexError, TypeError, StopIteration):
            ok = False
        if not ok:
            del g.steps[before[1]:]
            continue
        last = g.steps[-1]
        if g.smooth_only and (not last.smooth and last.tol != "kink"):
            del g.steps[-1]
            continue
        if last.aval.size > 64:
            del g.steps[-1]
    if not g.steps:
        return None
    if kind == "forward":
        outputs = [st.id for st in g.steps]
        return Program(kind, g.inputs, g.steps, outputs, compiled=bool(rng.random() < 0.5))
    out = g.steps[-1].id
    if kind == "transform":
        if g.steps[-1].aval.dtype not in FLOATS:
            return None
        # x (input 0) must reach the output, or every derivative is trivially zero
        if not _depends(g.steps, out, 0):
            return None
        transforms = _transform_stack(rng, Aval(tuple(g.inputs[0]["shape"]), g.inputs[0]["dtype"]),
                                      g.steps[-1].aval)
        if transforms is None:
            return None
        return Program(kind, g.inputs, g.steps, [out], transforms=transforms)
    xs = [i["id"] for i in g.inputs if _depends(g.steps, out, i["id"])]
    if not xs:
        return None
    transforms = []
    for _ in range(int(rng.integers(1, 3))):
        transforms.append(["vmap", {"in_axes": 0, "size": int(rng.integers(1, 4)), "out_axes": 0}])
    return Program(kind, g.inputs, g.steps, [out], compiled=bool(rng.random() < 0.4),
                   transforms=transforms)


def _depends(steps, value, target):
    if value == target:
        return True
    by_id = {s.id: s for s in steps}
    return value in by_id and any(_depends(steps, a, target) for a in by_id[value].args)


def _transform_stack(rng, x: Aval, y: Aval) -> list | None:
    """Outer-first layers; each knows the input/output shapes its function sees."""
    depth = int(rng.integers(1, 5))
    layers = []
    xin, yout, cost = x.shape, y.shape, 1
    for _ in range(depth):  # built inner to outer
        t = str(rng.choice(["grad", "vjp", "jvp", "vmap", "compile"], p=[.3, .15, .2, .25, .1]))
        if t in ("grad", "vjp"):
            cost *= 2 * max(1, int(np.prod(xin)))
            layers.append([t, {"wshape": list(yout), "value": bool(rng.random() < 0.3)}])
            yout = xin
        elif t == "jvp":
            cost *= 2
            layers.append([t, {"tshape": list(xin)}])
        elif t == "vmap":
            b = int(rng.integers(1, 4))
            ia = int(rng.integers(0, len(xin) + 1))
            oa = int(rng.integers(0, len(yout) + 1))
            if rng.random() < 0.3:
                oa = -1 if len(yout) + 1 > 0 else 0
            cost *= b
            layers.append([t, {"in_axes": ia, "out_axes": oa, "size": b}])
            xin = xin[:ia] + (b,) + xin[ia:]
            yout = _insert(yout, oa, b)
        else:
            layers.append([t, {}])
        if cost > 3000:
            return None
    return layers[::-1]


def _insert(shape, axis, d):
    axis = axis if axis >= 0 else len(shape) + 1 + axis
    return shape[:axis] + (d,) + shape[axis:]


# ---------------------------------------------------------------- rendering (the reproducer)

def render(p: Program) -> str:
    """The program as a runnable script of mx code; `run()` returns its outputs."""
    lines = ["import mxir as mx", "import numpy as np", ""]
    for inp in p.inputs:
        k = inp["id"]
        data = inp["data"]
        lines.append(f"v{k} = mx.array(np.array({_lit(data)}, dtype=np.float64)"
                     f".reshape({tuple(inp['shape'])!r}), dtype=mx.{inp['dtype']})"
                     if inp["dtype"] in FLOATS else
                     f"v{k} = mx.array(np.array({data!r}, dtype=np.{_np_int(inp['dtype'])})"
                     f".reshape({tuple(inp['shape'])!r}), "
                     f"dtype=mx.{MX_NAME.get(inp['dtype'], inp['dtype'])})")
    params = [f"v{i['id']}" for i in (p.inputs[:1] if p.kind == "transform" else p.inputs)]
    lines += ["", "", f"def f({', '.join(params)}):"]
    for s in p.steps:
        lines.append(f"    v{s.id} = {s.mx}")
    outs = ", ".join(f"v{o}" for o in p.outputs)
    tuple_comma = "," if len(p.outputs) == 1 and p.kind == "forward" else ""
    lines.append(f"    return {outs}{tuple_comma}")
    lines += ["", ""]
    if p.kind == "forward":
        lines.append("F = mx.compile(f)" if p.compiled else "F = f")
        lines += ["", "", "def run():", f"    outs = F({', '.join(params)})",
                  "    mx.eval(*outs)", "    return outs"]
    elif p.kind == "vmap":
        fn = "f"
        for _, prm in p.transforms[::-1]:
            fn = f"mx.vmap({fn}, in_axes={prm['in_axes']}, out_axes={prm['out_axes']})"
        if p.compiled:
            fn = f"mx.compile({fn})"
        lines += [f"F = {fn}", "", "", "def run():",
                  f"    out = F({', '.join(_batched(k, p) for k in range(len(p.inputs)))})",
                  "    mx.eval(out)", "    return [out]"]
    else:
        lines += ["def W(shape, dtype):  # a fixed cotangent / tangent of a given shape",
                  "    n = int(np.prod(shape))",
                  "    return (mx.cos(mx.arange(n) * 0.7 + 0.3).astype(dtype)).reshape(shape)",
                  "", ""]
        xdt = p.inputs[0]["dtype"]
        ydt = p.steps[-1].aval.dtype
        prev = "f"
        for n, (t, prm) in enumerate(p.transforms[::-1]):
            name = f"F{n}"
            if t == "compile":
                lines.append(f"{name} = mx.compile({prev})")
            elif t == "vmap":
                lines.append(f"{name} = mx.vmap({prev}, in_axes={prm['in_axes']}, "
                             f"out_axes={prm['out_axes']})")
            elif t == "grad":
                w = f"W({tuple(prm['wshape'])!r}, mx.{ydt})"
                if prm["value"]:
                    lines.append(f"{name} = lambda x, F={prev}: mx.value_and_grad("
                                 f"lambda x: mx.sum(F(x) * {w}))(x)[1]")
                else:
                    lines.append(f"{name} = lambda x, F={prev}: mx.grad("
                                 f"lambda x: mx.sum(F(x) * {w}))(x)")
                ydt = xdt
            elif t == "vjp":
                w = f"W({tuple(prm['wshape'])!r}, mx.{ydt})"
                lines.append(f"{name} = lambda x, F={prev}: mx.vjp(F, [x], [{w}])[1][0]")
                ydt = xdt
            else:
                w = f"W({tuple(prm['tshape'])!r}, mx.{xdt})"
                lines.append(f"{name} = lambda x, F={prev}: mx.jvp(F, [x], [{w}])[1][0]")
            prev = name
        lines += ["", "", "def run():", f"    out = {prev}({_batched(0, p)})", "    mx.eval(out)",
                  "    return [out]"]
    return "\n".join(lines) + "\n"


def _np_int(dtype):
    return "bool_" if dtype == "bool" else "int64"


def _lit(data):
    return "[" + ", ".join(_float_lit(x) for x in data) + "]"


def _float_lit(x):
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def batched_input(k, p: Program):
    """Input k as the outermost function sees it: vmapped layers add axes of batch copies."""
    base = np.asarray([_unlit(x) for x in p.inputs[k]["data"]] if p.inputs[k]["dtype"] in FLOATS
                      else p.inputs[k]["data"]).reshape(p.inputs[k]["shape"])
    vm = [prm for t, prm in p.transforms if t == "vmap"]
    if p.kind == "vmap" or k == 0:
        for prm in vm[::-1]:  # innermost first
            copies = [_perturb(base, c) for c in range(prm["size"])]
            base = np.stack(copies, axis=prm["in_axes"])
    dtype = p.inputs[k]["dtype"]
    return round_to(base, dtype).astype(np.float64) if dtype in FLOATS else base


def _unlit(x):
    return float(x)


def _perturb(x, c):
    if c == 0:
        return x
    if x.dtype == bool:
        return np.logical_xor(x, (np.arange(x.size).reshape(x.shape) + c) % 2 == 0)
    if x.dtype.kind in "iu":
        return x + c
    return x * (1 + 0.25 * c) - 0.1 * c


def _batched(k, p: Program):
    vm = [prm for t, prm in p.transforms if t == "vmap"]
    if not vm or (p.kind == "transform" and k != 0):
        return f"v{p.inputs[k]['id']}"
    return f"BATCHED[{k}]"


# ---------------------------------------------------------------- checking (in the child)

@dataclass
class Finding:
    category: str   # mismatch | dtype | mx-exception | crash | hang | crash-in-batch
    detail: str
    step: int | None = None


def run_program(p: Program) -> list:
    """Run one program in this process; findings (empty: pass), or 'refused' where NumPy too
    refuses the input, or 'inconclusive' at a kink."""
    import mxir as mx
    src = render(p)
    env = {"__name__": "fuzz_program"}
    env["BATCHED"] = [mx.array(batched_input(k, p), dtype=mx_dtype(p.inputs[k]["dtype"]))
                      for k in range(len(p.inputs))]
    try:
        exec(compile(src, "<fuzz program>", "exec"), env)  # noqa: S102 (our generated text)
        outs = env["run"]()
        got = [np.array(o) for o in outs]
        dtypes = [str(o.dtype).split(".")[-1] for o in outs]
    except Exception as e:  # an mxir exception: fine only where NumPy refuses too
        msg = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        if type(e).__name__ == "CompilerCrash":  # the compiler died in mxir's forked child
            return [Finding("crash", msg)]
        try:
            _numpy_program(p)
        except Exception as ne:
            return ["refused", f"{msg} / numpy: {type(ne).__name__}"]
        tb = traceback.format_exc().splitlines()[-6:]
        return [Finding("mx-exception", msg + "\n" + "\n".join(tb))]
    if p.kind == "forward":
        return _check_forward(p, got, dtypes)
    if p.kind == "vmap":
        return _check_vmap(p, env, got)
    return _check_transform(p, got)


def _numpy_program(p: Program):
    env = {"np": np, "R": R}
    env.update({f"v{i['id']}": compute_view(np.asarray(i["data"]).reshape(i["shape"]), i["dtype"])
                for i in p.inputs})
    with np.errstate(all="ignore"):
        for s in p.steps:
            env[f"v{s.id}"] = compute_view(round_to(eval(s.np, env), s.aval.dtype),  # noqa: S307
                                           s.aval.dtype)
    return env


def _check_forward(p: Program, got, dtypes) -> list:
    vals = {i["id"]: (np.asarray(i["data"]).reshape(i["shape"]), i["dtype"]) for i in p.inputs}
    vals.update({o: (g, d) for o, g, d in zip(p.outputs, got, dtypes)})
    findings = []
    for s in p.steps:
        k = s.id
        if k not in vals or any(a not in vals for a in s.args):
            continue  # not returned, or its operands are not: nothing to check it on
        if vals[k][1] != s.aval.dtype:
            findings.append(Finding("dtype", f"step v{k} = {s.mx}: dtype {vals[k][1]}, "
                                    f"MLX gives {s.aval.dtype}", k))
            continue
        env = {"np": np, "R": R}
        env.update({f"v{a}": compute_view(*vals[a]) for a in s.args})
        try:
            with np.errstate(all="ignore"):
                ref = eval(s.np, env)  # noqa: S307
        except Exception as e:
            findings.append(Finding("mismatch", f"step v{k} = {s.mx}: reference failed on "
                                    f"mxir's operands: {type(e).__name__}: {e}", k))
            continue
        inputs = [env[f"v{a}"] for a in s.args]
        err = _compare(s, vals[k][0], ref, inputs)
        if err:
            findings.append(Finding("mismatch", f"step v{k} = {s.mx}: {err}", k))
    return findings


def _scale(inputs):
    m = 1.0
    for x in inputs:
        x = np.asarray(x)
        if x.size and x.dtype.kind in "fiu":
            f = np.abs(x[np.isfinite(x)]) if x.dtype.kind == "f" else np.abs(x)
            if f.size:
                m = max(m, float(f.max()))
    return m


def _compare(s: Step, got, ref, inputs) -> str | None:
    dt = s.aval.dtype
    ref = np.asarray(ref)
    if tuple(got.shape) != tuple(ref.shape):
        return f"shape {tuple(got.shape)}, NumPy gives {tuple(ref.shape)}"
    if s.tol == "argsort":
        x = inputs[0]
        ax = int(re.search(r"axis=(-?\d+)", s.mx).group(1))
        if not np.array_equal(np.take_along_axis(x, got.astype(np.int64), ax),
                              np.sort(x, axis=ax), equal_nan=True):
            return "argsort indices do not sort the array"
        return None
    want = round_to(ref, dt)
    if dt not in TOL:
        if not np.array_equal(got, want):
            return _diff(got, want)
        return None
    g64, w64 = got.astype(np.float64), want.astype(np.float64)
    rtol, atol = TOL[dt]
    scale = _scale(inputs)
    if s.tol == "acc":
        rtol *= max(1, s.n)
        atol *= max(1, s.n) * scale * (scale if s.op in ("var", "std", "prod", "cumprod") else 1)
        if s.op in ("std",):
            atol = math.sqrt(atol)
        if s.op in ("prod", "cumprod"):
            atol = TOL[dt][1] * max(1, s.n) * scale ** max(1, s.n)
    else:
        atol *= scale
    # exp-like growth: 1 ulp of the input moves the output by |f'(x)| * ulp(x)
    if s.op in ("exp", "expm1", "sinh", "cosh", "power", "logaddexp", "tan"):
        rtol *= 1 + scale
    bad = ~(np.isclose(g64, w64, rtol=rtol, atol=atol, equal_nan=True))
    # float16/bfloat16 results near overflow: one rounding step can reach inf
    if dt in ("float16", "bfloat16") and bad.any():
        big = np.finfo(np.float16).max if dt == "float16" else 3.0e38
        bad &= ~((np.abs(w64) >= big * 0.99) & (np.abs(g64) >= big * 0.99))
    if bad.any():
        return _diff(got, want, bad)
    return None


def _diff(got, want, bad=None):
    if bad is None:
        bad = got != want
    idx = np.argwhere(np.atleast_1d(bad))[:3]
    g, w = np.atleast_1d(got), np.atleast_1d(want)
    pairs = "; ".join(f"at {tuple(i.tolist())}: got {g[tuple(i)]!r}, NumPy {w[tuple(i)]!r}"
                      for i in idx)
    return f"{int(np.sum(bad))} of {got.size} differ ({pairs})"


def _check_vmap(p: Program, env, got) -> list:
    """vmap(f) against a Python loop of f over the batch copies."""
    import mxir as mx
    f = env["f"]
    vm = [prm for t, prm in p.transforms if t == "vmap"]
    batched = [batched_input(k, p) for k in range(len(p.inputs))]

    def loop(xs, layers):
        if not layers:
            return np.array(f(*[mx.array(x, dtype=mx_dtype(i["dtype"]))
                                for x, i in zip(xs, p.inputs)]))
        prm = layers[0]
        outs = [loop([np.take(x, b, axis=prm["in_axes"]) for x in xs], layers[1:])
                for b in range(prm["size"])]
        return np.stack(outs, axis=prm["out_axes"])

    try:
        want = loop(batched, vm)
    except Exception as e:
        return [Finding("mx-exception",
                        f"the loop of f failed, vmap did not: {type(e).__name__}: {e}")]
    s = p.steps[-1]
    if tuple(got[0].shape) != tuple(want.shape):
        return [Finding("mismatch", f"vmap shape {got[0].shape}, loop gives {want.shape}")]
    if s.aval.dtype in TOL:
        rtol, atol = TOL[s.aval.dtype]
        scale = _scale([want])
        ok = np.isclose(got[0].astype(np.float64), want.astype(np.float64), rtol=rtol * 64,
                        atol=atol * 64 * scale, equal_nan=True)
        if not ok.all():
            return [Finding("mismatch", "vmap vs loop: " + _diff(got[0], want, ~ok))]
    elif not np.array_equal(got[0], want):
        return [Finding("mismatch", "vmap vs loop: " + _diff(got[0], want))]
    return []


def _reference_transform(p: Program, h: float):
    """The NumPy program (float64) under the same stack of reference transforms."""
    consts = {f"v{i['id']}": compute_view(np.asarray(i["data"]).reshape(i["shape"]), i["dtype"])
              for i in p.inputs[1:]}

    def f(x):
        env = {"np": np, "R": R, f"v{p.inputs[0]['id']}": x, **consts}
        for s in p.steps:
            env[f"v{s.id}"] = np.asarray(eval(s.np, env), np.float64)  # noqa: S307
        return env[f"v{p.outputs[0]}"]

    def W(shape):
        n = int(np.prod(shape))
        return np.cos(np.arange(n) * 0.7 + 0.3).reshape(shape)

    def grad(F, wshape):
        def g(x):
            out = np.zeros(x.shape)
            w = W(wshape)
            for idx in np.ndindex(x.shape):
                d = np.zeros(x.shape)
                d[idx] = h
                out[idx] = (np.sum(F(x + d) * w) - np.sum(F(x - d) * w)) / (2 * h)
            return out
        return g

    def jvp(F, tshape):
        return lambda x: (F(x + h * W(tshape)) - F(x - h * W(tshape))) / (2 * h)

    def vmap(F, prm):
        def v(x):
            outs = [F(np.take(x, b, axis=prm["in_axes"])) for b in range(prm["size"])]
            return np.stack(outs, axis=prm["out_axes"])
        return v

    F = f
    for t, prm in p.transforms[::-1]:
        if t in ("grad", "vjp"):
            F = grad(F, tuple(prm["wshape"]))
        elif t == "jvp":
            F = jvp(F, tuple(prm["tshape"]))
        elif t == "vmap":
            F = vmap(F, prm)
    with np.errstate(all="ignore"):
        return F(batched_input(0, p).astype(np.float64))


def _check_transform(p: Program, got) -> list:
    r1 = _reference_transform(p, 1e-3)
    r2 = _reference_transform(p, 5e-4)
    g = got[0].astype(np.float64)
    if g.shape != r1.shape:
        return [Finding("mismatch", f"transformed shape {g.shape}, reference {r1.shape}")]
    low = min((s.aval.dtype for s in p.steps if s.aval.dtype in FLOATS),
              key=lambda d: -TOL[d][0])
    low = p.inputs[0]["dtype"] if TOL[p.inputs[0]["dtype"]][0] > TOL[low][0] else low
    rtol = 2e-4 if low == "float64" else 5e-3
    if low in ("float16", "bfloat16"):
        rtol = 1e-1
    scale = _scale([r1])
    if not np.isfinite(r1).all() or not np.allclose(r1, r2, rtol=rtol / 4, atol=rtol / 4 * scale):
        return ["inconclusive", "the reference is not smooth here"]
    ok = np.isclose(g, r1, rtol=rtol, atol=rtol * scale)
    if not ok.all():
        return [Finding("mismatch", "transform vs finite differences: " + _diff(g, r1, ~ok))]
    return []


# ---------------------------------------------------------------- the child

def worker():
    """Read programs (JSON, one a line) on stdin; for each, print 'S k' then 'R k <json>'."""
    import mxir  # noqa: F401  (import before the first program, so it is not timed)
    out = sys.stdout
    for line in sys.stdin:
        d = json.loads(line)
        k = d.pop("_k")
        out.write(f"S {k}\n")
        out.flush()
        try:
            res = run_program(Program.from_json(d))
        except Exception as e:  # a bug in the fuzzer itself: say so, don't count it as mxir's
            res = ["fuzzer-error", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-800:]}"]
        enc = [r.__dict__ if isinstance(r, Finding) else r for r in res]
        out.write(f"R {k} {json.dumps(enc)}\n")
        out.flush()


class Child:
    def __init__(self):
        env = dict(os.environ, MXIR_CACHE_DIR="0", PYTHONFAULTHANDLER="")
        self.err = open(os.devnull, "w")  # noqa: SIM115
        import tempfile
        self.err = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "mxir.tools.fuzz", "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, env=env, bufsize=1)

    def send(self, k, p: Program):
        d = p.to_json()
        d["_k"] = k
        self.proc.stdin.write(json.dumps(d) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout):
        """A line, or None at EOF (child died), or 'timeout'."""
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return "timeout"
        line = self.proc.stdout.readline()
        return line or None

    def stderr_tail(self):
        self.err.seek(0)
        text = self.err.read()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return "\n".join(lines[-8:])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()


def run_batch(programs: list, hang: float = HANG_SECONDS) -> list:
    """[(status, payload)] per program, status in pass|finding|refused|inconclusive|crash|hang|
    fuzzer-error; one child runs them in order, a new one after a crash or hang."""
    results: list = [None] * len(programs)
    k = 0
    while k < len(programs):
        first = k
        child = Child()
        for j in range(k, len(programs)):
            child.send(j, programs[j])
        child.proc.stdin.close()
        current = None
        while k < len(programs):
            line = child.read(hang if current is not None else hang + 30)
            if line == "timeout":
                results[k] = ("hang", f"no result after {hang:.0f} s")
                k += 1
                break
            if line is None:
                rc = child.proc.wait()
                how = f"signal {-rc}" if rc < 0 else f"exit {rc}"
                alone = FRESH if k == first else ""
                results[k] = ("crash", f"{how}{alone}: {child.stderr_tail()}")
                k += 1
                break
            tag, idx, *rest = line.split(" ", 2)
            if tag == "S":
                current = int(idx)
                continue
            res = json.loads(rest[0])
            results[k] = _classify(res)
            k += 1
            current = None
        child.kill()
    return results


def _classify(res):
    if not res:
        return ("pass", None)
    if res[0] in ("refused", "inconclusive", "fuzzer-error"):
        return (res[0], res[1])
    return ("finding", [Finding(**f) for f in res])


# ---------------------------------------------------------------- shrinking and reporting

def cone(p: Program, keep: int) -> Program:
    """p reduced to the steps value `keep` needs; a forward program returns all of them (each
    step is checked on its returned operands), the others return `keep`."""
    by_id = {s.id: s for s in p.steps}
    need, stack = set(), [keep]
    while stack:
        v = stack.pop()
        if v not in need:
            need.add(v)
            stack.extend(by_id[v].args if v in by_id else [])
    steps = [s for s in p.steps if s.id in need]
    inputs = [i for i in p.inputs
              if i["id"] in need or (p.kind == "transform" and i is p.inputs[0])]
    outputs = [s.id for s in steps] if p.kind == "forward" else [keep]
    return Program(p.kind, inputs, steps, outputs, p.compiled, p.transforms, p.label)


def _variant(p: Program, **kw) -> Program:
    d = dict(p.__dict__)
    d.update(kw)
    return Program(**d)


def candidates(p: Program, status: str, payload) -> list:
    """Smaller programs to try, most promising first."""
    out = []
    if status == "finding" and p.kind == "forward":
        out += [cone(p, f.step) for f in payload[:1] if f.step is not None]
    if p.kind == "forward":
        outs = p.outputs
        if len(outs) > 1:
            out.append(_variant(p, outputs=outs[len(outs) // 2:]))
            out.append(_variant(p, outputs=outs[:len(outs) // 2]))
        for o in outs[::-1]:
            c = cone(p, o)
            if len(c.steps) < len(p.steps):
                out.append(c)
    else:
        by_id = {s.id: s for s in p.steps}
        for a in p.steps[-1].args if len(p.steps) > 1 else []:
            if a in by_id and by_id[a].aval.dtype in FLOATS:
                c = cone(p, a)
                if p.kind == "transform":
                    if not _depends(c.steps, a, p.inputs[0]["id"]):
                        continue
                    c.transforms = _restack(c, c.transforms, None)
                    if c.transforms is None:
                        continue
                out.append(c)
        for n in range(len(p.transforms)):
            t = p.transforms[:n] + p.transforms[n + 1:]
            if p.kind == "vmap" and not t:
                continue
            if p.kind == "transform":
                t = _restack(p, p.transforms, n)
                if t is None or not t:
                    continue
            out.append(_variant(p, transforms=t))
    if p.compiled:
        out.append(_variant(p, compiled=False))
    return out


def _restack(p: Program, transforms, drop):
    """The transform stack (without layer `drop`) with the shapes its layers see recomputed for
    p's input and output; None where a vmap axis no longer fits."""
    layers = [t for n, t in enumerate(transforms) if n != drop][::-1]
    x = tuple(p.inputs[0]["shape"])
    y = p.steps[-1].aval.shape
    new = []
    for t, prm in layers:
        prm = dict(prm)
        if t in ("grad", "vjp"):
            prm["wshape"] = list(y)
            y = x
        elif t == "jvp":
            prm["tshape"] = list(x)
        elif t == "vmap":
            if prm["in_axes"] > len(x) or prm["out_axes"] > len(y):
                return None
            x = x[:prm["in_axes"]] + (prm["size"],) + x[prm["in_axes"]:]
            y = _insert(y, prm["out_axes"], prm["size"])
        new.append([t, prm])
    return new[::-1]


def same_failure(status, payload, want_status, want_payload) -> bool:
    if status != want_status:
        return False
    if status == "finding":
        return {f.category for f in payload} & {f.category for f in want_payload} != set()
    return True


def shrink(p: Program, status, payload, deadline, hang) -> tuple:
    """Greedy: take the first smaller candidate that fails the same way, until none does."""
    while time.time() < deadline:
        cands = candidates(p, status, payload)
        if not cands:
            break
        for c in cands:
            if time.time() > deadline:
                return p, status, payload
            (st, pl), = run_batch([c], hang)
            if same_failure(st, pl, status, payload):
                p, status, payload = c, st, pl
                break
        else:
            break
    return p, status, payload


def signature(p: Program, status, payload) -> str:
    ops = sorted({s.op for s in p.steps})
    if status == "finding":
        f = payload[0]
        head = f.category
        if f.step is not None:
            ops = [s.op for s in p.steps if s.id == f.step]
        elif f.category == "mx-exception":  # the message, less its numbers and names
            return "mx-exception:" + re.sub(r"\d+|'[^']*'", "#", f.detail.splitlines()[0])
    else:
        head = status
    ts = "+".join(t for t, _ in p.transforms) or ("compile" if p.compiled else "eager")
    return f"{head}:{p.kind}:{ts}:{','.join(ops)}"


def _category(status, payload) -> str:
    return payload[0].category if status == "finding" else status


def write_reproducer(out_dir, n, p: Program, status, payload) -> str:
    os.makedirs(out_dir, exist_ok=True)
    cat = _category(status, payload)
    path = os.path.join(out_dir, f"{n:03d}-{cat}.py")
    detail = "\n".join(f.detail for f in payload) if status == "finding" else str(payload)
    head = [f"# mxir fuzz finding: {cat} ({p.label}, kind {p.kind})"]
    head += ["# " + ln for ln in detail.splitlines()]
    if p.kind == "forward":
        head += ["# NumPy reference of each step (v<k> are mxir's values of its operands):"]
        head += [f"#   v{s.id} = {s.np}" for s in p.steps]
    elif p.kind == "transform":
        head += [f"# transforms (outer first): {json.dumps(p.transforms)}",
                 "# reference: the NumPy steps in float64 under central finite differences",
                 *(f"#   v{s.id} = {s.np}" for s in p.steps)]
    body = render(p)
    batched = ""
    if any(t == "vmap" for t, _ in p.transforms):
        ks = [0] if p.kind == "transform" else range(len(p.inputs))
        batched = "BATCHED = {" + ", ".join(
            f"{k}: mx.array(np.array({batched_input(k, p).tolist()!r}), "
            f"dtype=mx.{MX_NAME.get(p.inputs[k]['dtype'], p.inputs[k]['dtype'])})"
            for k in ks) + "}\n"
        body = body.replace("\n\ndef f(", "\n" + batched + "\n\ndef f(", 1)
    with open(path, "w") as fh:
        fh.write("\n".join(head) + "\n\n" + body + "\nprint(run())\n")
    return path


# ---------------------------------------------------------------- main

def fuzz(seed: int, count: int, budget: float, out_dir: str | None, batch: int = 25,
         hang: float = HANG_SECONDS, shrink_budget: float = 120.0, log=print,
         first: int = 0) -> dict:
    """Programs first .. first+count-1 of `seed` (a shard of a longer run: the same programs
    as in one run, on another core)."""
    start = time.time()
    counts = {k: 0 for k in ("programs", "pass", "mismatch", "dtype", "mx-exception", "crash",
                             "crash-in-batch", "hang", "refused", "inconclusive",
                             "fuzzer-error")}
    by_kind = {"forward": 0, "transform": 0, "vmap": 0}
    findings: dict = {}
    index, end = first, first + count
    while index < end and time.time() - start < budget:
        n = min(batch, end - index)
        progs = [generate(seed, index + j) for j in range(n)]
        results = run_batch(progs, hang)
        for j, (status, payload) in enumerate(results):
            p = progs[j]
            counts["programs"] += 1
            by_kind[p.kind] += 1
            if status == "crash" and FRESH not in payload:
                # alone in a fresh child: its own crash, or one that needs the programs before it
                (st, pl), = run_batch([p], hang)
                if st != "crash":
                    status, payload = "crash-in-batch", f"{payload} (not alone: {st})"
                    log(f"crash needs batch context: {p.label}; batch {index}..{index + n - 1}")
            if status == "finding":
                for f in payload:
                    counts[f.category] += 1
                cat = payload[0].category
            elif status in ("pass", "refused", "inconclusive", "fuzzer-error"):
                counts[status] += 1
                if status == "fuzzer-error":
                    log(f"fuzzer error on {p.label}: {payload}")
                continue
            else:
                counts[status] += 1
                cat = status
            log(f"{cat}: {p.label}")
            findings.setdefault(signature(p, status, payload), []).append((p, status, payload))
        index += n
        log(f"[{time.time() - start:.0f}s] {counts['programs']} programs: " +
            ", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "programs"))
    counts["seconds"] = round(time.time() - start, 1)
    counts.update({f"kind-{k}": v for k, v in by_kind.items()})
    reproducers = []
    if out_dir is not None:
        deadline = time.time() + shrink_budget
        seen = {}
        n = 0
        for items in findings.values():
            p, status, payload = min(items, key=lambda it: len(it[0].steps))
            if status not in ("crash-in-batch",):
                p, status, payload = shrink(p, status, payload,
                                            min(deadline, time.time() + 30), hang)
            sig2 = signature(p, status, payload)
            if sig2 in seen:
                continue
            seen[sig2] = True
            reproducers.append(write_reproducer(out_dir, n, p, status, payload))
            n += 1
    counts["patterns"] = len(findings)
    counts["findings"] = sorted(f"{p.label}: {_category(st, pl)}"
                                for items in findings.values() for p, st, pl in items)
    counts["reproducers"] = reproducers
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m mxir.tools.fuzz",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--first", type=int, default=0, help="index of the first program (shards)")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds for running programs")
    ap.add_argument("--out", default="fuzz-findings", help="folder for reproducers")
    ap.add_argument("--batch", type=int, default=25, help="programs per child process")
    ap.add_argument("--hang", type=float, default=HANG_SECONDS, help="seconds before a hang")
    ap.add_argument("--show", type=int, default=None, help="print program INDEX and exit")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker()
    if args.show is not None:
        print(render(generate(args.seed, args.show)))
        return 0
    counts = fuzz(args.seed, args.count, args.budget, args.out, args.batch, args.hang,
                  log=lambda s: print(s, flush=True), first=args.first)
    print(json.dumps(counts, indent=1))
    bad = sum(counts[k] for k in ("mismatch", "dtype", "mx-exception", "crash", "crash-in-batch",
                                  "hang"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
