"""Every dtype against MLX: promotion, the dtype API (finfo, iinfo, result_type, can_cast,
isdtype, issubdtype and the categories), ops on generated values of the narrow and wide
integers, and integer derivatives (MLX differentiates integers in their own dtype)."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

NAMES = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
         "float16", "bfloat16", "float32", "float64", "complex64"]
CATEGORIES = ["generic", "number", "integer", "signedinteger", "unsignedinteger", "inexact",
              "floating", "complexfloating"]


def _name(d) -> str:
    return str(d).split(".")[-1]


def test_promotion_table_is_mlx():
    for a in NAMES:
        for b in NAMES:
            want = (mlx.zeros(1, getattr(mlx, a)) + mlx.zeros(1, getattr(mlx, b))).dtype
            got = mx.promote_types(getattr(mx, a), getattr(mx, b))
            assert got.name == _name(want), (a, b)
            assert mx.result_type(getattr(mx, a), mx.zeros(1, getattr(mx, b))).name \
                == _name(mlx.result_type(getattr(mlx, a), mlx.zeros(1, getattr(mlx, b))))
            assert mx.can_cast(getattr(mx, a), getattr(mx, b)) \
                == mlx.can_cast(getattr(mlx, a), getattr(mlx, b)), (a, b)
            assert mx.issubdtype(getattr(mx, a), getattr(mx, b)) \
                == mlx.issubdtype(getattr(mlx, a), getattr(mlx, b))


def test_categories_and_isdtype_are_mlx():
    for a in NAMES + CATEGORIES:
        for b in NAMES + CATEGORIES:
            assert mx.issubdtype(getattr(mx, a), getattr(mx, b)) \
                == mlx.issubdtype(getattr(mlx, a), getattr(mlx, b)), (a, b)
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
             "complex floating", "numeric", ("integral", "real floating")]
    for a in NAMES:
        for k in kinds + NAMES:
            kk = getattr(mx, k) if k in NAMES else k
            kw = getattr(mlx, k) if k in NAMES else k
            assert mx.isdtype(getattr(mx, a), kk) == mlx.isdtype(getattr(mlx, a), kw), (a, k)
    assert repr(mx.floating) == repr(mlx.floating)


def test_finfo_iinfo_are_mlx():
    for a in NAMES:
        for info in ("finfo", "iinfo"):
            try:
                want = getattr(mlx, info)(getattr(mlx, a))
            except ValueError as e:
                with pytest.raises(ValueError, match=str(e).replace("[", r"\[").replace(
                        "]", r"\]")):
                    getattr(mx, info)(getattr(mx, a))
                continue
            got = getattr(mx, info)(getattr(mx, a))
            assert repr(got) == repr(want)
            fields = ("min", "max", "eps", "smallest_normal", "bits") if info == "finfo" \
                else ("min", "max")
            for f in fields:
                assert getattr(got, f) == getattr(want, f), (a, f)


def test_dtype_api_errors_are_mlx():
    for m in (mx, mlx):
        with pytest.raises(ValueError, match="At least one"):
            m.result_type()
        with pytest.raises(ValueError, match="Unknown data type kind"):
            m.isdtype(m.int8, "foo")
        with pytest.raises(ValueError, match="must be a dtype, a string"):
            m.isdtype(m.int8, m.integer)


INT_NAMES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
BINARY = ["add", "subtract", "multiply", "floor_divide", "remainder", "maximum", "minimum",
          "equal", "less", "greater_equal", "bitwise_and", "bitwise_or", "bitwise_xor",
          "left_shift", "right_shift", "divide", "power"]
UNARY = ["negative", "abs", "square", "sign", "sqrt", "sin", "bitwise_invert"]


def _values(name: str, rng, shape, positive=False):
    info = np.iinfo(name)
    lo = 1 if positive else max(int(info.min), -(2**40))
    hi = min(int(info.max), 2**40)
    return rng.integers(lo, hi, shape, dtype=np.int64 if name != "uint64" else np.uint64,
                        endpoint=True).astype(name)


@pytest.mark.parametrize("a_name", INT_NAMES)
def test_integer_ops_match_mlx(a_name):
    """Binary ops with itself and a random partner dtype, unary ops and reductions, on random values
    of the whole range; all results of one dtype pair are evaluated in one program."""
    rng = np.random.default_rng(sum(map(ord, a_name)))
    partners = [a_name, rng.choice([n for n in INT_NAMES if n != a_name])]
    checks = []  # (label, mxir result, MLX result)
    for b_name in partners:
        shape_a, shape_b = [(3, 4), (4,)][rng.integers(2)], [(3, 4), (1, 4)][rng.integers(2)]
        a, b = _values(a_name, rng, shape_a), _values(b_name, rng, shape_b, positive=True)
        for op in BINARY:
            if op in ("left_shift", "right_shift"):
                b = (b % 8).astype(b.dtype) + 1
            if op == "power":
                b = (b % 3).astype(b.dtype)
            try:
                want = getattr(mlx, op)(mlx.array(a), mlx.array(b))
            except Exception as e:  # noqa: BLE001 (MLX's refusal is the expectation)
                with pytest.raises(type(e)) as got:
                    getattr(mx, op)(mx.array(a), mx.array(b))
                assert str(got.value) == str(e)
                continue
            checks.append((f"{op} {a_name} {b_name}",
                           getattr(mx, op)(mx.array(a), mx.array(b)), want))
    a = _values(a_name, rng, (5,))
    for op in UNARY + ["sum", "prod", "max", "min", "cumsum", "mean", "argmax"]:
        checks.append((op, getattr(mx, op)(mx.array(a)), getattr(mlx, op)(mlx.array(a))))
    x = rng.uniform(-300, 300, 6).astype(np.float32)
    checks.append(("astype", mx.array(x).astype(getattr(mx, a_name)),
                   mlx.array(x).astype(getattr(mlx, a_name))))
    mx.eval([g for _, g, _ in checks])
    for label, got, want in checks:
        assert got.dtype.name == _name(want.dtype), label
        w, g = np.array(want), np.array(got)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=1e-6, err_msg=label)
        else:
            np.testing.assert_array_equal(g, w, err_msg=label)
    assert repr(mx.array(a)) == repr(mlx.array(a))


def test_scalar_overflow_errors_as_mlx():
    for name in INT_NAMES:
        for v in (300, -1, 70000, 2**40):
            try:
                want = mlx.array([1], getattr(mlx, name)) + v
            except ValueError as e:
                with pytest.raises(ValueError, match=str(e)):
                    mx.array([1], getattr(mx, name)) + v
                continue
            got = mx.array([1], getattr(mx, name)) + v
            assert got.dtype.name == _name(want.dtype) and got.tolist() == want.tolist()


# -- integer derivatives ------------------------------------------------------------------------
GRAD_FUNS = {
    "scale": lambda m, x: x * 3, "square": lambda m, x: m.square(x), "sin": lambda m, x: m.sin(x),
    "exp": lambda m, x: m.exp(x), "float": lambda m, x: x.astype(m.float32) * 2.5,
    "abs": lambda m, x: m.abs(x), "neg sub": lambda m, x: 7 - x,
    "where": lambda m, x: m.where(x > 0, x * x, -x), "cumsum": lambda m, x: m.cumsum(x),
    "prod": lambda m, x: m.prod(x), "take": lambda m, x: x[m.array([0, 0, 2])],
    "sort": lambda m, x: m.sort(x) * m.arange(x.size), "reshape": lambda m, x: x.reshape(1, -1),
    "maximum": lambda m, x: m.maximum(x, 1), "power": lambda m, x: x ** 2,
    "mean": lambda m, x: m.mean(x), "floor_divide": lambda m, x: x // 2,
}


# int8/int16/uint8/uint16 differ on purpose in the gradient's dtype: MLX's cotangent of their
# sum is int32 (the accumulator) and stays so, mxir gives each value's cotangent its own dtype
# (the values agree while they fit)
@pytest.mark.parametrize("name", GRAD_FUNS)
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_derivatives_match_mlx(name, dtype):
    f = GRAD_FUNS[name]
    rng = np.random.default_rng(len(name))
    x = rng.integers(-4, 5, 4).astype(dtype)
    x[x == 0] = 1
    t = rng.integers(-3, 4, 4).astype(dtype)
    res = []
    for m in (mlx, mx):
        g = m.grad(lambda a, m=m: m.sum(f(m, a)))(m.array(x))
        _, (tan,) = m.jvp(lambda a, m=m: f(m, a), (m.array(x),), (m.array(t),))
        res.append((_name(g.dtype), np.array(g).tolist(), _name(tan.dtype),
                    np.round(np.array(tan).astype(np.float64), 3).tolist()))
    assert res[1] == res[0]
