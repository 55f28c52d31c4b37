"""Differential testing of mxir against MLX (the test-only oracle): generated random cases.

An op spec says how to call an op on either library (`fn(L, *arrays, **params)` with L =
mlx.core or mxir) and what it takes: the input dtypes, the value domain, how many arrays,
whether they must share a shape, and which parameters (axis, keepdims, n, ...) to draw. For
every case the two libraries get the same input values; `run_op` compares

- values (a tolerance per dtype), result dtype and shape, or the exception type;
- for float32 and complex64 cases of differentiable ops: `vjp` (random cotangents), `jvp`
  (random tangents);
- `vmap` of the op over every axis of a stacked batch of its first input.

All mxir results of one case are evaluated together (`mx.eval` once), so that a case costs one
compiled program, not one per check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

FLOATS = ("float32", "float16", "bfloat16")
INTS = ("int32", "uint8", "uint32", "int64")
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ("bool",)
C64 = ("complex64",)
FC = FLOATS + C64  # ops that MLX also takes (or refuses with its own error) on complex64
TOL = {"float32": (2e-5, 2e-5), "complex64": (3e-5, 3e-5), "float16": (2e-3, 2e-3),
       "bfloat16": (2e-2, 2e-2), "float64": (1e-10, 1e-10)}
GRAD_TOL = (1e-4, 1e-4)


@dataclasses.dataclass
class Spec:
    name: str
    fn: Callable  # fn(L, *arrays, **params)
    dtypes: tuple[str, ...] = FLOATS
    domain: str = "real"  # real | pos | unit | ge1 | small
    arity: int = 1
    params: Callable | None = None  # params(rng, shape) -> dict
    min_ndim: int = 0
    max_ndim: int = 3
    same_shape: bool = False  # binary ops: else the second shape broadcasts against the first
    grad: bool = True
    jvp: bool = True  # False where MLX has no jvp rule (mxir has one)
    vmap: bool = True
    bad: Callable | None = None  # bad(rng, shape) -> params that make the op raise
    tol_scale: float = 1.0


# -- generation ------------------------------------------------------------------------------
def random_shape(rng, min_ndim=0, max_ndim=3) -> tuple[int, ...]:
    nd = int(rng.integers(min_ndim, max_ndim + 1))
    # mostly 1..4, sometimes a size-0 or size-1 axis
    return tuple(int(rng.choice([0, 1, 2, 3, 4], p=[0.06, 0.2, 0.3, 0.24, 0.2]))
                 for _ in range(nd))


def _broadcast_partner(rng, shape):
    """A shape that broadcasts with `shape`: a suffix of it with some axes set to 1."""
    k = int(rng.integers(0, len(shape) + 1))
    tail = list(shape[len(shape) - k:])
    return tuple(1 if rng.random() < 0.3 else d for d in tail)


def random_values(rng, shape, dtype: str, domain: str) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in INTS:
        lo, hi = (0, 10) if dtype.startswith("u") or domain in ("pos", "ge1") else (-6, 7)
        if domain == "bytes":
            lo, hi = 0, 256
        if domain in ("pos", "ge1"):
            lo = 1
        return rng.integers(lo, hi, size=shape).astype(dtype)
    lo, hi = {"real": (-3, 3), "pos": (0.2, 3), "unit": (-0.9, 0.9), "ge1": (1.2, 3),
              "small": (-1, 1)}[domain]
    if dtype == "complex64":  # both parts from the domain
        parts = rng.uniform(lo, hi, size=(2, *shape))
        return (parts[0] + 1j * parts[1]).astype(np.complex64)
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def axis_param(rng, shape, allow_none=True):
    if not shape or (allow_none and rng.random() < 0.2):
        return None
    nd = len(shape)
    return int(rng.integers(-nd, nd))


def axes_param(rng, shape):
    if not shape or rng.random() < 0.2:
        return None
    nd = len(shape)
    k = int(rng.integers(1, nd + 1))
    axes = rng.choice(nd, size=k, replace=False)
    return [int(a) - nd if rng.random() < 0.5 else int(a) for a in axes]


def bad_axis(rng, shape):
    nd = len(shape)
    return {"axis": nd + int(rng.integers(0, 2)) if rng.random() < 0.5 else -nd - 1}


# -- conversion ------------------------------------------------------------------------------
def to_lib(L, x: np.ndarray, dtype: str):
    a = L.array(x)
    return a.astype(getattr(L, "bool_" if dtype == "bool" else dtype))


def to_numpy(L, a) -> np.ndarray:
    if str(a.dtype).endswith("bfloat16"):
        a = a.astype(L.float32)
    return np.array(a)


def dtype_name(a) -> str:
    return str(a.dtype).rsplit(".", 1)[-1]


def _leaves(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


# -- checks ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Result:
    op: str
    check: str  # value | error | vjp | jvp | vmap
    detail: str
    ok: bool


class Case:
    """One generated call: the NumPy inputs (already rounded to their dtype) and params."""

    def __init__(self, spec: Spec, rng, bad=False):
        self.spec = spec
        self.dtype = str(rng.choice(spec.dtypes))
        shape = random_shape(rng, spec.min_ndim, spec.max_ndim)
        shapes = [shape]
        for _ in range(spec.arity - 1):
            shapes.append(shape if spec.same_shape else _broadcast_partner(rng, shape))
            if rng.random() < 0.5 and not spec.same_shape:
                shapes = [shapes[-1]] + shapes[:-1]  # the larger one second
        self.params = spec.params(rng, shapes[0]) if spec.params else {}
        if bad:
            self.params = spec.bad(rng, shapes[0]) if spec.bad else self.params
        import mlx.core as mlx

        # round through MLX's dtype so that both libraries see identical values
        self.inputs = [to_numpy(mlx, to_lib(mlx, random_values(rng, s, self.dtype, spec.domain),
                                            self.dtype)) for s in shapes]
        self.rng = rng

    def describe(self) -> str:
        return (f"{self.spec.name}({', '.join(f'{self.dtype}{list(x.shape)}' for x in self.inputs)}"
                f"{''.join(f', {k}={v!r}' for k, v in self.params.items())})")

    def call(self, L, arrays):
        return self.spec.fn(L, *arrays, **self.params)


def _compare(ours, theirs, tol) -> str | None:
    """None when equal, else what differs."""
    import mlx.core as mlx
    import mxir as mx

    ours, theirs = _leaves(ours), _leaves(theirs)
    if len(ours) != len(theirs):
        return f"{len(ours)} results, MLX {len(theirs)}"
    for a, b in zip(ours, theirs):
        if dtype_name(a) != dtype_name(b):
            return f"dtype {dtype_name(a)}, MLX {dtype_name(b)}"
        if tuple(a.shape) != tuple(b.shape):
            return f"shape {tuple(a.shape)}, MLX {tuple(b.shape)}"
        x, y = to_numpy(mx, a), to_numpy(mlx, b)
        rtol, atol = tol.get(dtype_name(b), (0, 0)) if isinstance(tol, dict) else tol
        if x.dtype.kind in "fc":
            wide = np.complex128 if "c" in (x.dtype.kind, y.dtype.kind) else np.float64
            if not np.allclose(x.astype(wide), y.astype(wide), rtol=rtol, atol=atol,
                               equal_nan=True):
                err = np.nanmax(np.abs(x.astype(wide) - y.astype(wide)))
                return f"values differ (max abs err {err:.3g})"
        elif not np.array_equal(x, y):
            return "values differ"
    return None


def _scaled(tol, s):
    return {k: (r * s, a * s) for k, (r, a) in tol.items()}


def run_op(spec: Spec, n_cases: int, seed: int, transforms: bool = True) -> list[Result]:
    """All checks of `n_cases` generated cases (plus one bad-input case if the spec has one)."""
    import mlx.core as mlx
    import mxir as mx

    rng = np.random.default_rng(seed)
    cases = [Case(spec, rng) for _ in range(n_cases)]
    if spec.bad is not None:
        cases.append(Case(spec, rng, bad=True))
    pending = []  # one case's (check, description, lazy mxir result, MLX result, tolerance)
    results = []
    tol = _scaled(TOL, spec.tol_scale)
    gtol = (GRAD_TOL[0] * spec.tol_scale, GRAD_TOL[1] * spec.tol_scale)

    def attempt(check, case, ours_fn, theirs_fn, tol_):
        try:
            theirs = theirs_fn()
            mlx.eval(theirs)
            theirs_exc = None
        except Exception as e:  # noqa: BLE001  (the exception type is what is compared)
            theirs_exc = e
        try:
            ours = ours_fn()
            ours_exc = None
        except Exception as e:  # noqa: BLE001
            ours_exc = e
        where = case.describe()
        if theirs_exc is not None or ours_exc is not None:
            if ours_exc is None:
                try:
                    mx.eval(ours)
                    results.append(Result(spec.name, check, f"{where}: MLX raised "
                                          f"{type(theirs_exc).__name__}, mxir did not", False))
                except Exception as e:  # noqa: BLE001
                    results.append(Result(spec.name, check, where, isinstance(e, type(theirs_exc))))
                return
            same = theirs_exc is not None and isinstance(ours_exc, type(theirs_exc))
            results.append(Result(spec.name, "error" if theirs_exc else check,
                                  f"{where}: mxir {type(ours_exc).__name__}: {ours_exc}; MLX "
                                  f"{type(theirs_exc).__name__ if theirs_exc else 'ok'}", same))
            return
        pending.append((check, where, ours, theirs, tol_))

    for case in cases:
        mx_in = [to_lib(mx, x, case.dtype) for x in case.inputs]
        ml_in = [to_lib(mlx, x, case.dtype) for x in case.inputs]
        attempt("value", case, lambda c=case, a=mx_in: c.call(mx, a),
                lambda c=case, a=ml_in: c.call(mlx, a), tol)
        if transforms and case.dtype in ("float32", "complex64"):
            if spec.grad:
                _grad_checks(spec, case, attempt, gtol)
            if spec.vmap and case.inputs[0].ndim < 3:
                _vmap_checks(spec, case, attempt, tol)
        _finish(spec, pending, results)
        pending.clear()

    return results


def _finish(spec: Spec, pending: list, results: list[Result]) -> None:
    """Evaluate one case's mxir results together (one program) and compare them with MLX's."""
    import mxir as mx

    if not pending:
        return
    try:
        mx.eval([p[2] for p in pending])
    except Exception:  # noqa: BLE001  find the failing check(s) one by one
        for p in pending:
            try:
                mx.eval(p[2])
            except Exception as e:  # noqa: BLE001
                results.append(Result(spec.name, p[0], f"{p[1]}: eval raised "
                                      f"{type(e).__name__}: {e}", False))
        pending = [p for p in pending if _evaluates(p[2])]
    for check, where, ours, theirs, tol_ in pending:
        diff = _compare(ours, theirs, tol_)
        results.append(Result(spec.name, check, f"{where}: {diff}" if diff else where,
                              diff is None))


def _evaluates(x) -> bool:
    import mxir as mx

    try:
        mx.eval(x)
        return True
    except Exception:  # noqa: BLE001
        return False


def _grad_checks(spec, case, attempt, gtol):
    """vjp and jvp w.r.t. every input, with random cotangents/tangents."""
    import mlx.core as mlx
    import mxir as mx

    rng = case.rng
    tangents = [random_values(rng, x.shape, case.dtype, "small") for x in case.inputs]
    try:
        out = _leaves(case.call(mlx, [mlx.array(x) for x in case.inputs]))
    except Exception:  # noqa: BLE001  (a raising op has no derivative to compare)
        return
    if any(dtype_name(o) not in ("float32", "complex64") for o in out):
        return
    cots = [random_values(rng, tuple(o.shape), dtype_name(o), "small") for o in out]

    def fun_of(L):
        return lambda *xs: _leaves(case.call(L, list(xs)))

    attempt("vjp", case,
            lambda: mx.vjp(fun_of(mx), [mx.array(x) for x in case.inputs],
                           [mx.array(c) for c in cots])[1],
            lambda: mlx.vjp(fun_of(mlx), [mlx.array(x) for x in case.inputs],
                            [mlx.array(c) for c in cots])[1], gtol)
    if not spec.jvp:
        return
    attempt("jvp", case,
            lambda: mx.jvp(fun_of(mx), [mx.array(x) for x in case.inputs],
                           [mx.array(t) for t in tangents])[1],
            lambda: mlx.jvp(fun_of(mlx), [mlx.array(x) for x in case.inputs],
                            [mlx.array(t) for t in tangents])[1], gtol)


def _vmap_checks(spec, case, attempt, tol):
    """vmap over each axis of a batch of 2 first inputs (the other inputs unbatched)."""
    import mlx.core as mlx
    import mxir as mx

    rng = case.rng
    x = case.inputs[0]
    other = case.inputs[1:]
    extra = random_values(rng, x.shape, "complex64" if case.dtype == "complex64" else "float32",
                          spec.domain)
    for axis in range(x.ndim + 1):
        batch = np.stack([x, extra], axis=axis)
        in_axes = (axis,) + (None,) * len(other)

        def run(L, batch=batch, in_axes=in_axes):
            f = L.vmap(lambda *xs: case.call(L, list(xs)), in_axes=in_axes)
            return f(*[L.array(v) for v in (batch, *other)])

        attempt(f"vmap[{axis}]", case, lambda run=run: run(mx), lambda run=run: run(mlx), tol)


def summarize(results: list[Result]) -> str:
    by_check: dict[str, list[int]] = {}
    for r in results:
        c = by_check.setdefault(r.check.split("[")[0], [0, 0])
        c[0] += r.ok
        c[1] += 1
    total = sum(c[1] for c in by_check.values())
    passed = sum(c[0] for c in by_check.values())
    parts = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_check.items()))
    return f"{passed}/{total} ({100 * passed / max(total, 1):.1f}%): {parts}"


# -- the op specs ----------------------------------------------------------------------------
def _fp_mode(rng, shape):
    return {"mode": str(rng.choice(["mxfp4", "mxfp8", "nvfp4"]))}


def _axis(rng, shape):
    return {"axis": axis_param(rng, shape)}


def _axis_req(rng, shape):
    return {"axis": axis_param(rng, shape, allow_none=False)}


def _reduce(rng, shape):
    return {"axis": axes_param(rng, shape), "keepdims": bool(rng.random() < 0.3)}


def _unary(name, dtypes=FLOATS, domain="real", grad=True, attr=None, **kw):
    return Spec(name, lambda L, x, _n=attr or name: getattr(L, _n)(x), dtypes, domain,
                grad=grad, **kw)


def _binary(name, dtypes=FLOATS, domain="real", grad=True, **kw):
    return Spec(name, lambda L, x, y, _n=name: getattr(L, _n)(x, y), dtypes, domain, arity=2,
                grad=grad, **kw)


def _axis_op(name, params=_axis_req, dtypes=FLOATS, min_ndim=1, grad=True, **kw):
    return Spec(name, lambda L, x, _n=name, **p: getattr(L, _n)(x, **p), dtypes,
                params=params, min_ndim=min_ndim, grad=grad, bad=bad_axis, **kw)


SPECS = [
    # elementwise (existing ops)
    *[_unary(n, dtypes=FC) for n in ("exp", "sin", "cos", "tanh", "sigmoid", "erf", "expm1",
                                     "square", "negative", "abs", "sinh", "cosh")],
    *[_unary(n, dtypes=FC) for n in ("arctan", "arcsinh")],
    *[_unary(n, domain="pos", dtypes=FC) for n in ("log", "sqrt", "rsqrt", "log1p", "log2",
                                                   "log10", "reciprocal")],
    *[_unary(n, domain="unit", dtypes=FC) for n in ("arcsin", "arccos", "arctanh")],
    _unary("erfinv", domain="unit"),
    _unary("arccosh", domain="ge1", dtypes=FC),
    _unary("tan", domain="small", dtypes=FC),
    *[_unary(n, dtypes=NUMERIC + ("bool",) + C64, grad=False) for n in ("floor", "ceil")],
    _unary("round", dtypes=NUMERIC + ("bool",) + C64, grad=False),
    _unary("sign", dtypes=NUMERIC + C64, grad=False),
    Spec("round_decimals", lambda L, x, d: L.round(x, d), NUMERIC, grad=False,
         params=lambda rng, s: {"d": int(rng.integers(-1, 3))}),
    *[_binary(n, dtypes=NUMERIC + C64) for n in ("add", "subtract", "multiply")],
    *[_binary(n, dtypes=NUMERIC + C64) for n in ("maximum", "minimum")],
    _binary("divide", domain="pos", dtypes=FC),
    _binary("power", domain="pos"),
    # MLX's vjp of power on complex values does not conjugate (unlike its multiply: the
    # vjp of x**3 is ct * 3x^2, of x*x*x ct * conj(3x^2)); mxir conjugates throughout
    # (finite differences agree: test_complex.py)
    Spec("power_complex", lambda L, x, y: L.power(x, y), C64, "pos", arity=2, grad=False),
    _binary("arctan2", dtypes=FC), _binary("logaddexp"),
    *[_binary(n, dtypes=ALL + C64, grad=False) for n in ("equal", "not_equal")],
    *[_binary(n, dtypes=ALL + C64, grad=False) for n in ("less", "greater_equal")],
    _binary("logical_and", dtypes=("bool",), grad=False),
    _binary("bitwise_xor", dtypes=INTS + ("bool",), grad=False),
    # reductions and scans
    *[_axis_op(n, _reduce, min_ndim=0, dtypes=NUMERIC + C64) for n in ("sum", "mean")],
    *[_axis_op(n, _reduce, min_ndim=0, dtypes=NUMERIC + C64) for n in ("max", "min")],
    _axis_op("logsumexp", _reduce, min_ndim=0, dtypes=FC),
    _axis_op("prod", _reduce, min_ndim=0, dtypes=("float32", "uint8", "int32", "bool",
                                                  "complex64")),
    _axis_op("var", _reduce, min_ndim=0, dtypes=NUMERIC + C64),
    _axis_op("all", _reduce, min_ndim=0, dtypes=ALL, grad=False),
    _axis_op("argmax", _axis_req, dtypes=NUMERIC + C64, grad=False),
    _axis_op("cumsum", _axis, min_ndim=0, dtypes=NUMERIC + C64),
    _axis_op("cummax", _axis_req, jvp=False, dtypes=FC),  # MLX: no jvp for cummax
    _axis_op("softmax", _axis_req, tol_scale=5, dtypes=FC),
    _axis_op("sort", _axis_req, dtypes=NUMERIC + C64),
    # shapes and selection (existing)
    Spec("transpose", lambda L, x: L.transpose(x), NUMERIC + C64),
    Spec("reshape", lambda L, x: L.reshape(x, (-1,)), NUMERIC + C64),
    _axis_op("expand_dims", _axis_req, dtypes=ALL + C64, min_ndim=0),
    Spec("moveaxis", lambda L, x, s, d: L.moveaxis(x, s, d), NUMERIC + C64, min_ndim=1,
         params=lambda rng, shape: {"s": int(rng.integers(-len(shape), len(shape))),
                                    "d": int(rng.integers(-len(shape), len(shape)))}),
    Spec("swapaxes", lambda L, x: L.swapaxes(x, 0, -1), NUMERIC + C64, min_ndim=1),
    Spec("where_complex", lambda L, x, y: L.where(L.abs(x) > 1, x, y), C64, arity=2),
    Spec("where", lambda L, x, y: L.where(x > 0, x, y), FLOATS, arity=2),
    Spec("clip", lambda L, x: L.clip(x, -1.0, 1.5), NUMERIC),
    Spec("stack", lambda L, x, y, axis: L.stack([x, y], axis=axis), NUMERIC + C64, arity=2,
         same_shape=True, params=lambda rng, s: {"axis": int(rng.integers(-len(s) - 1,
                                                                           len(s) + 1))}),
    Spec("concatenate", lambda L, x, y, axis: L.concatenate([x, y], axis=axis), NUMERIC + C64,
         arity=2, same_shape=True, min_ndim=1, params=_axis_req, bad=bad_axis),
    Spec("tril", lambda L, x: L.tril(x, -1), NUMERIC, min_ndim=2, max_ndim=2),
    Spec("matmul", lambda L, x, y: L.matmul(x, L.swapaxes(y, -1, -2)), ("float32",) + C64,
         arity=2, same_shape=True, min_ndim=2, tol_scale=5),
    _axis_op("argmin", _axis_req, dtypes=NUMERIC, grad=False),
    # no `any`: in clean-clone CI, MLX 0.32's own CPU `any` spun for over 10 minutes three
    # times (gdb: its stream thread in nd_loop, float and then bool/int32 inputs), never in a
    # run by hand; mxir's `any` is checked against NumPy (test_reduce_linalg.py)
    _axis_op("std", _reduce, min_ndim=0, tol_scale=5, dtypes=FC),
    _axis_op("cumprod", _axis, min_ndim=0, dtypes=("float32", "int32"), jvp=False),
    _axis_op("logcumsumexp", _axis_req, tol_scale=5),
    _axis_op("argsort", _axis_req, dtypes=("float32", "int32"), grad=False),
    _axis_op("squeeze", lambda rng, s: {"axis": None}, dtypes=ALL, min_ndim=0),
    Spec("flatten", lambda L, x: L.flatten(x), ALL + C64),
    Spec("broadcast_to", lambda L, x: L.broadcast_to(x, (2,) + x.shape), NUMERIC + C64),
    Spec("take", lambda L, x, i: L.take(x, L.array(i), axis=0), NUMERIC + C64, min_ndim=1,
         params=lambda rng, s: {"i": [int(v) for v in rng.integers(0, max(s[0], 1), 3)]}
         if s[0] else {"i": []}),
    Spec("take_along_axis", lambda L, x: L.take_along_axis(
        x, L.zeros(x.shape[:-1] + (2,), L.int32) if x.shape[-1] else
        L.zeros(x.shape, L.int32), axis=-1), NUMERIC, min_ndim=1),
    Spec("getitem", lambda L, x: x[::-1, 1:], NUMERIC + C64, min_ndim=2),
    Spec("getitem_adv", lambda L, x: x[L.array([0, -1]), ..., None] if x.shape[0] else x,
         NUMERIC, min_ndim=1),
    Spec("pad", lambda L, x: L.pad(x, 1), NUMERIC),
    Spec("tile", lambda L, x: L.tile(x, (2, 1)), NUMERIC),
    Spec("repeat", lambda L, x, axis: L.repeat(x, 2, axis=axis), NUMERIC, min_ndim=1,
         params=_axis_req),
    Spec("roll", lambda L, x, axis: L.roll(x, 1, axis=axis), NUMERIC, min_ndim=1,
         params=_axis_req),
    Spec("outer", lambda L, x, y: L.outer(x, y), ("float32",), arity=2, same_shape=True,
         min_ndim=1, max_ndim=1),
    Spec("inner", lambda L, x, y: L.inner(x, y), ("float32",), arity=2, same_shape=True,
         min_ndim=1, tol_scale=5),
    Spec("tensordot", lambda L, x, y: L.tensordot(x, y, axes=1), ("float32",), arity=2,
         same_shape=True, min_ndim=1, max_ndim=1, tol_scale=5),
    Spec("diagonal", lambda L, x: L.diagonal(x, 0, 0, -1), NUMERIC, min_ndim=2),
    Spec("trace", lambda L, x: L.trace(x), NUMERIC, min_ndim=2, max_ndim=2),
    Spec("kron", lambda L, x, y: L.kron(x, y), NUMERIC, arity=2, same_shape=True, max_ndim=2),
    Spec("isclose", lambda L, x, y: L.isclose(x, y), FLOATS, arity=2, grad=False),
    Spec("nan_to_num", lambda L, x: L.nan_to_num(L.log(x)), ("float32",),
         params=None),
    _binary("remainder", dtypes=("float32", "int32", "complex64"), domain="pos"),
    _binary("floor_divide", dtypes=("float32", "int32"), domain="pos", grad=False),
    _binary("bitwise_and", dtypes=INTS + ("bool",), grad=False),
    _binary("right_shift", dtypes=("uint8", "int32"), domain="pos", grad=False),
    # MLX's addmm jvp disagrees with finite differences (mxir's agrees: tested in
    # test_mlx_diff.py), and MLX cannot vmap over c
    Spec("addmm", lambda L, c, a: L.addmm(c, a, L.swapaxes(a, -1, -2), 0.5, 2.0),
         ("float32",), arity=2, same_shape=True, min_ndim=2, max_ndim=2, tol_scale=5,
         jvp=False, vmap=False),
    Spec("unflatten", lambda L, x: L.unflatten(x, 0, (1, -1)), NUMERIC, min_ndim=1),
    Spec("atleast_3d", lambda L, x: L.atleast_3d(x), NUMERIC, max_ndim=2),
    # names added for parity (array_ops.py, einsum.py)
    *[_unary(n, domain="unit") for n in ("asin", "acos", "atanh")],
    *[_unary(n) for n in ("atan", "asinh")],
    *[_unary(n, dtypes=FC) for n in ("positive", "conjugate", "conj", "real")],
    _unary("acosh", domain="ge1"),
    _unary("imag", grad=False, dtypes=FLOATS),
    _unary("imag_complex", attr="imag", dtypes=C64),
    _unary("trunc", dtypes=NUMERIC, grad=False),
    _binary("atan2"),
    _binary("pow", domain="pos"),
    _binary("logical_xor", dtypes=ALL, grad=False),
    _binary("bitwise_left_shift", dtypes=("uint8", "uint32", "int32"), domain="pos",
            grad=False),
    _axis_op("flip", lambda rng, s: {"axis": axes_param(rng, s)}, dtypes=NUMERIC),
    _axis_op("diff", lambda rng, s: {"axis": axis_param(rng, s, False),
                                     "n": int(rng.integers(0, 3))}, dtypes=NUMERIC + ("bool",)),
    _axis_op("median", _reduce, dtypes=NUMERIC + C64, min_ndim=0),
    _axis_op("count_nonzero", _reduce, dtypes=ALL, min_ndim=0, grad=False),
    _axis_op("unstack", _axis_req, dtypes=NUMERIC),
    _axis_op("cumulative_sum", _axis, dtypes=NUMERIC, min_ndim=0),
    Spec("minmax", lambda L, x, **p: L.minmax(x, **p), NUMERIC, params=_reduce),
    Spec("unique", lambda L, x, size: L.unique(x, size, True, True, True, fill_value=0), ALL,
         grad=False, params=lambda rng, s: {"size": int(rng.integers(0, 8))}),
    # quantized and gathered matmuls (quantized.py); MLX has no vmap rule for most of them
    Spec("quantize", lambda L, x, bits: L.quantize(L.reshape(L.tile(x, (32,)), (-1, 32)),
                                                    group_size=32, bits=bits),
         FLOATS, min_ndim=1, grad=False, vmap=False,
         params=lambda rng, s: {"bits": int(rng.choice([1, 2, 3, 4, 5, 6, 8]))}),
    Spec("dequantize", lambda L, x, bits: L.dequantize(
        *L.quantize(L.reshape(L.tile(x, (64,)), (-1, 64)), group_size=64, bits=bits),
        group_size=64, bits=bits), FLOATS, min_ndim=1, grad=False, vmap=False,
         params=lambda rng, s: {"bits": int(rng.choice([2, 4, 8]))}),
    Spec("quantized_matmul", lambda L, x, w: L.quantized_matmul(
        L.reshape(L.tile(x, (32,)), (-1, 32)), *L.quantize(
            L.reshape(L.tile(w, (32,)), (-1, 32)), group_size=32, bits=4), group_size=32,
        bits=4), ("float32",), arity=2, same_shape=True, min_ndim=1, tol_scale=20,
         vmap=False, grad=False),  # MLX: no vjp/jvp through quantize
    # the floating-point modes: codes and scales bit for bit, decoded values exactly
    Spec("quantize[fp]", lambda L, x, mode: L.quantize(L.reshape(L.tile(x * 30, (32,)),
                                                                 (-1, 32)), mode=mode),
         FLOATS, min_ndim=1, grad=False, vmap=False, params=_fp_mode),
    Spec("dequantize[fp]", lambda L, x, mode: L.dequantize(
        *L.quantize(L.reshape(L.tile(x, (32,)), (-1, 32)), mode=mode), mode=mode,
        dtype=x.dtype), FLOATS, min_ndim=1, grad=False, vmap=False, params=_fp_mode),
    Spec("quantized_matmul[fp]", lambda L, x, w, mode: L.quantized_matmul(
        L.reshape(L.tile(x, (32,)), (-1, 32)), *L.quantize(
            L.reshape(L.tile(w, (32,)), (-1, 32)), mode=mode), mode=mode), ("float32",),
         arity=2, same_shape=True, min_ndim=1, tol_scale=20, vmap=False, grad=False,
         params=_fp_mode),
    Spec("gather_mm", lambda L, a, b: L.gather_mm(
        a, L.swapaxes(b, -1, -2), L.array([0, 0]), L.array([1 % max(b.shape[0], 1), 0])),
         ("float32",), arity=2, same_shape=True, min_ndim=3, tol_scale=5, vmap=False,
         jvp=False),  # MLX: no jvp for gather_mm
    Spec("segmented_mm", lambda L, a, b: L.segmented_mm(
        a, L.swapaxes(b, -1, -2), L.array([[0, a.shape[-1] // 2], [a.shape[-1] // 2,
                                                                  a.shape[-1]]])),
         ("float32",), arity=2, same_shape=True, min_ndim=2, max_ndim=2, tol_scale=5,
         vmap=False, grad=False),  # MLX: no vjp/jvp for segmented_mm
    Spec("block_masked_mm", lambda L, a, b: L.block_masked_mm(
        L.tile(a, (20, 20)), L.tile(L.swapaxes(b, -1, -2), (20, 20)), 32,
        L.array([[True, False], [False, True]]), None, None), ("float32",), arity=2,
         same_shape=True, min_ndim=2, max_ndim=2, tol_scale=20, vmap=False, grad=False),
    Spec("to_fp8", lambda L, x: L.to_fp8(x * 100), FLOATS, grad=False, vmap=False),  # MLX: no vmap
    Spec("from_fp8", lambda L, x: L.from_fp8(x, L.float32), ("uint8",), grad=False,
         domain="bytes"),
    Spec("view", lambda L, x, to: L.view(x, getattr(L, to)), ("float32", "int32", "uint8",
                                                              "int64", "uint32"),
         min_ndim=1, grad=False, params=lambda rng, s: {
             "to": str(rng.choice(["float32", "int32", "uint8", "uint32", "int64"]))}),
    Spec("matrix_transpose", lambda L, x: L.matrix_transpose(x), NUMERIC, min_ndim=1),
    Spec("permute_dims", lambda L, x: L.permute_dims(x), NUMERIC),
    Spec("vecdot", lambda L, x, y: L.vecdot(x, y), FLOATS, arity=2, min_ndim=1,
         same_shape=True),
    Spec("concat", lambda L, x, y, axis: L.concat([x, y], axis=axis), NUMERIC, arity=2,
         same_shape=True, min_ndim=1, params=_axis_req),
    Spec("searchsorted", lambda L, x, y, side: L.searchsorted(L.sort(L.flatten(y)), x, side),
         NUMERIC, arity=2, grad=False,
         params=lambda rng, s: {"side": str(rng.choice(["left", "right"]))}),
    Spec("hadamard_transform", lambda L, x: L.hadamard_transform(L.reshape(x, (-1, 4))),
         ("float32",), min_ndim=1, max_ndim=1, tol_scale=5,
         params=None),
    Spec("einsum_matmul", lambda L, x, y: L.einsum("...ij,...kj->...ik", x, y), ("float32",),
         arity=2, same_shape=True, min_ndim=2, tol_scale=5),
    Spec("einsum_trace", lambda L, x: L.einsum("...ii->...", x), ("float32",), min_ndim=2,
         max_ndim=2, params=None),
    # dynamic starts inside the array (MLX reads and writes out of bounds unchecked)
    Spec("slice", lambda L, x, start: L.slice(x, L.array([min(start, max(x.shape[0] - 2, 0))]),
                                                 [0], [min(x.shape[0], 2)] + list(x.shape[1:])),
         NUMERIC, min_ndim=1, params=lambda rng, s: {"start": int(rng.integers(0, 3))}),
    # MLX's vmap of slice_update leaves all but the first batch entry unchanged (a loop
    # updates each; mxir agrees with the loop: tested in test_mlx_diff.py)
    Spec("slice_update", lambda L, x, y, start: L.slice_update(
        x, y[:1], L.array([min(start, max(x.shape[0] - 1, 0))]), [0]), FLOATS, arity=2,
         same_shape=True, min_ndim=1, vmap=False,
         params=lambda rng, s: {"start": int(rng.integers(0, 3))}),
    Spec("put_along_axis", lambda L, x, y: L.put_along_axis(
        x, L.zeros((1,) * x.ndim, L.int32), y[..., :1] if y.ndim else y, axis=-1), FLOATS,
         arity=2, same_shape=True, min_ndim=1, grad=False),
    # MLX cannot vmap as_strided; mxir's composite (a take) can
    Spec("as_strided", lambda L, x: L.as_strided(x, (max(x.size - 1, 0), 2), (1, 1)), NUMERIC,
         min_ndim=1, max_ndim=1, vmap=False),
    # MLX has no vjp/jvp for a scatter that multiplies; mxir's composite has them
    Spec("at_multiply", lambda L, x, y: x.at[L.array([0, 0])].multiply(y[:2]), ("float32",),
         arity=2, same_shape=True, min_ndim=1, max_ndim=1, grad=False),
    Spec("at_maximum", lambda L, x, y: x.at[L.array([1, 1])].maximum(y[:2]), NUMERIC,
         arity=2, same_shape=True, min_ndim=1, max_ndim=1, grad=False),
    Spec("split", lambda L, x, n: x.split(n, axis=-1), NUMERIC, min_ndim=1,
         params=lambda rng, s: {"n": [1]}),
    Spec("empty_like", lambda L, x: L.empty_like(x), ALL, grad=False),
    # mx.fft (dialect/fft.py): complex and real transforms over the last axes
    *[Spec(n, lambda L, x, _n=n: getattr(L.fft, _n)(x), FC, min_ndim=1, tol_scale=5)
      for n in ("fft", "ifft")],
    Spec("fft_n", lambda L, x: L.fft.fft(x, n=3, axis=0), C64, min_ndim=1, tol_scale=5),
    Spec("rfft", lambda L, x: L.fft.rfft(x), ("float32",), min_ndim=1, tol_scale=5),
    Spec("irfft", lambda L, x: L.fft.irfft(x), C64, min_ndim=1, tol_scale=5),
    *[Spec(n, lambda L, x, _n=n: getattr(L.fft, _n)(x), C64, min_ndim=2, tol_scale=5)
      for n in ("fft2", "ifftn")],
    Spec("rfftn", lambda L, x: L.fft.rfftn(x), ("float32",), min_ndim=1, tol_scale=5),
    Spec("hanning", lambda L, x: L.hanning(x.size) * 1.0, ("float32",), grad=False, vmap=False),
    Spec("bartlett", lambda L, x: L.bartlett(x.size), ("float32",), grad=False, vmap=False),
    Spec("blackman", lambda L, x: L.blackman(x.size + 2), ("float32",), grad=False,
         vmap=False),
]


SPECS_BY_NAME = {s.name: s for s in SPECS}


def main(argv: list[str]) -> None:
    """`python mlx_diff.py N_CASES NAME...`: one JSON line per result, each spec's results
    after a `{"begin": NAME}` line (a crash is then charged to the spec that was running)."""
    import json
    import sys
    import zlib

    n_cases = int(argv[0])
    for name in argv[1:]:
        print(json.dumps({"begin": name}), flush=True)
        for r in run_op(SPECS_BY_NAME[name], n_cases, seed=zlib.crc32(name.encode())):
            print(json.dumps(dataclasses.asdict(r)), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
