"""Every elementwise op, compiled vs the NumPy reference, for each dtype it accepts."""

import numpy as np
import pytest
from harness import check_op, random_values
from mxir.dialect import OPS, MxError, TensorType, infer_types
from mxir.dialect.elementwise import Binary, Unary

FLOATS = ["float32", "float16", "bfloat16", "float64"]
ALL = FLOATS + ["int32", "int64", "uint32", "bool"]
# inputs inside each op's domain
DOMAIN = {"log": (0.1, 5), "log2": (0.1, 5), "log10": (0.1, 5), "log1p": (-0.9, 5),
          "sqrt": (0.0, 5), "rsqrt": (0.1, 5), "arcsin": (-0.99, 0.99),
          "arccos": (-0.99, 0.99), "arctanh": (-0.99, 0.99), "arccosh": (1.01, 5),
          "erfinv": (-0.99, 0.99), "reciprocal": (0.5, 3), "divide": (0.5, 3),
          "power": (0.5, 2)}
UNARY = sorted(n for n, op in OPS.items() if isinstance(op, Unary))
BINARY = sorted(n for n, op in OPS.items() if isinstance(op, Binary))


def _accepts(name, dtype, arity):
    try:
        infer_types(name, [TensorType((3,), dtype)] * arity, {})
        return True
    except MxError:
        return False


@pytest.mark.parametrize("name,dtype", [(n, d) for n in UNARY for d in ALL if _accepts(n, d, 1)])
def test_unary_matches_reference(name, dtype):
    rng = np.random.default_rng(0)
    lo, hi = DOMAIN.get(name, (-3, 3))
    for shape in [(7,), (2, 3), (), (0,)]:
        x = random_values(shape, dtype, rng, lo, hi)
        check_op(name, [x], [TensorType(shape, dtype)])


@pytest.mark.parametrize("name,dtype", [(n, d) for n in BINARY for d in ALL
                                        if _accepts(n, d, 2)])
def test_binary_matches_reference(name, dtype):
    rng = np.random.default_rng(1)
    lo, hi = DOMAIN.get(name, (-3, 3))
    for shape in [(5,), (2, 3), ()]:
        x = random_values(shape, dtype, rng, lo, hi)
        y = random_values(shape, dtype, rng, lo, hi)
        if name in ("remainder", "floor_divide") and dtype != "bool":
            y = np.where(y == 0, 3, y)
        if name == "power" and not dtype.startswith("float"):
            y = np.abs(y) % 4
        check_op(name, [x, y], [TensorType(shape, dtype)] * 2)
        if name not in ("remainder", "floor_divide", "divide", "power") or dtype.startswith(
                "float"):
            check_op(name, [x, x], [TensorType(shape, dtype)] * 2)  # equal operands


def test_logaddexp_of_infinities_and_equal_values():
    inf = np.inf
    x = np.array([1.0, -inf, inf, -inf, 2.0, inf])
    y = np.array([1.0, -inf, inf, 3.0, -inf, -inf])
    got = check_op("logaddexp", [x, y], [TensorType((6,), "float64")] * 2)
    np.testing.assert_allclose(got[0], np.logaddexp(x, y))


def test_binary_rejects_mismatched_types():
    with pytest.raises(MxError, match="equal type"):
        infer_types("add", [TensorType((3,), "float32"), TensorType((4,), "float32")], {})


def test_float_only_op_rejects_int():
    with pytest.raises(MxError, match="floating-point"):
        infer_types("sin", [TensorType((3,), "int32")], {})


@pytest.mark.parametrize("case", ["x + zeros", "zeros + x", "x + negzeros", "x - zeros",
                                  "x - negzeros", "x * ones", "x / ones"])
def test_signed_zeros_as_mlx(case):
    """mx-simplify drops a unit operand only where that is exact for -0.0 as well (the
    constants here are what it sees; x + (+0.0) is +0.0 for x = -0.0)."""
    import mlx.core as mlx
    import mxir as mx

    got, want = [], []
    for lib, out in ((mx, got), (mlx, want)):
        env = {"x": lib.array([-0.0, 0.0, -1.5]), "zeros": lib.zeros((3,)),
               "negzeros": -lib.zeros((3,)), "ones": lib.ones((3,))}
        out.append(np.array(eval(case, {}, env)))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(want[0]))
