"""Regressions found by the frontend fuzzer (tools/fuzz.py), each against NumPy and MLX's
documented result dtype; the fuzzer's reproducer is quoted in each test's docstring."""

import mxir as mx
import numpy as np
import pytest

INTS = np.array([-3, 0, 2, 7], dtype=np.int32)
BOOLS = np.array([True, False, True])


@pytest.mark.parametrize("name", ["floor", "ceil", "round"])
@pytest.mark.parametrize("compiled", [False, True])
def test_rounding_an_integer_or_bool_keeps_it(name, compiled):
    """`mx.floor(int32 array)` was float32; MLX keeps int32 (and bool for bool)."""
    fn = mx.compile(getattr(mx, name)) if compiled else getattr(mx, name)
    for x, dtype in ((INTS, mx.int32), (BOOLS, mx.bool_), (INTS.astype(np.uint32), mx.uint32)):
        got = fn(mx.array(x, dtype=dtype))
        assert got.dtype == dtype
        np.testing.assert_array_equal(np.array(got), x)


@pytest.mark.parametrize("name", ["abs", "square"])
@pytest.mark.parametrize("compiled", [False, True])
def test_abs_and_square_of_bool_are_bool(name, compiled):
    """`mx.abs(bool array)` raised TypeError; MLX returns the bool array (x * x is x)."""
    fn = mx.compile(getattr(mx, name)) if compiled else getattr(mx, name)
    got = fn(mx.array(BOOLS))
    assert got.dtype == mx.bool_
    np.testing.assert_array_equal(np.array(got), BOOLS)


def test_rounding_floats_is_unchanged():
    x = np.array([-2.5, -1.5, -0.2, 0.5, 1.5, 2.7], dtype=np.float32)
    for name in ("floor", "ceil", "round"):
        got = getattr(mx, name)(mx.array(x))
        assert got.dtype == mx.float32
        np.testing.assert_array_equal(np.array(got), getattr(np, name)(x))
    assert np.array(mx.grad(lambda v: mx.sum(mx.floor(v)))(mx.array(x))).tolist() == [0.0] * 6


def test_round_to_decimals():
    """`mx.round(x, 1)` ignored the decimals (they were taken as the stream)."""
    x = np.array([1.25, 2.675, -0.35, 1234.5678], dtype=np.float32)
    for d in (1, 2, -1, -2):
        got = mx.round(mx.array(x), d)
        scale = np.float32(10.0 ** d)  # float32 arithmetic, as MLX: -0.35 -> -0.4
        want = np.round(x * scale) / scale
        np.testing.assert_allclose(np.array(got), want, rtol=1e-6)
    np.testing.assert_array_equal(np.array(mx.array(x).round(1)),
                                  np.array(mx.round(mx.array(x), 1)))
    ints = mx.round(mx.array([15, 24, -35], dtype=mx.int32), -1)
    assert ints.dtype == mx.int32 and np.array(ints).tolist() == [20, 20, -40]


@pytest.mark.parametrize("compiled", [False, True])
def test_unsigned_power_with_a_large_exponent(compiled):
    """`mx.power(uint32 0, uint32 4294967295)` gave 1 (the exponent was read as signed -1);
    NumPy and MLX give 0. Fuzzer: seed 2026 index 1567."""
    base = np.array([0, 2, 3, 3, 7, 1], dtype=np.uint32)
    exp = np.array([4294967295, 2147483648, 4294967295, 2147483648, 2147483647, 4294967295],
                   dtype=np.uint32)
    fn = mx.compile(mx.power) if compiled else mx.power
    got = fn(mx.array(base), mx.array(exp))
    assert got.dtype == mx.uint32
    np.testing.assert_array_equal(np.array(got), np.power(base, exp))


def test_grad_of_prod_at_an_infinite_element():
    """The derivative of prod was prod / x_i: inf / inf = NaN at an infinite x_i (MLX: the
    product of the others). Fuzzer: seed 11 index 87, grad of erf(prod(logcumsumexp(x,
    inclusive=False))) on a scalar, whose exclusive scan is -inf."""
    inf = float("inf")
    grad = mx.grad(lambda x: mx.prod(x))
    assert np.array(grad(mx.array([-inf]))).tolist() == [1.0]
    assert np.array(grad(mx.array([inf, 2.0]))).tolist() == [2.0, inf]
    assert np.array(grad(mx.array([0.0, 2.0, 3.0]))).tolist() == [6.0, 0.0, 0.0]
    assert np.array(grad(mx.array([0.0, 0.0, 3.0]))).tolist() == [0.0, 0.0, 0.0]
    x = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3, 4))
    for axes in (None, 1, (0, 2), -1):
        got = mx.grad(lambda v, axes=axes: mx.sum(mx.prod(v, axis=axes)))(mx.array(x))
        want = np.prod(x, axis=axes, keepdims=True) / x  # no zeros or infinities here
        np.testing.assert_allclose(np.array(got), want, rtol=1e-5)


@pytest.mark.parametrize("kind", ["logcumsumexp", "cumprod", "cumsum"])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_vjp_ignores_the_cotangent_of_an_exclusive_identity_slot(kind, reverse):
    """Seed 2026 index 5051: the vjp of an exclusive scan multiplied the cotangent of its
    identity slot (which depends on no input) by a zero Jacobian, so a NaN there (as from
    square(-inf) downstream) made every gradient NaN. MLX gives the other slots' gradient."""
    x = mx.array(np.array([-1.6, -2.6, -2.8], np.float32))
    ct = np.array([1.0, 0.5, 0.25], np.float32)
    ct[-1 if reverse else 0] = np.nan  # the identity slot
    fn = getattr(mx, kind)
    (got,) = mx.vjp(lambda v: fn(v, reverse=reverse, inclusive=False), [x],
                    [mx.array(ct)])[1]
    assert np.isfinite(np.array(got)).all(), got
    # against finite differences of the slots that depend on x
    xs = np.array(x, np.float64)
    keep = np.where(np.isnan(ct), 0.0, ct)

    def total(v):
        out = np.array(fn(mx.array(v.astype(np.float32)), reverse=reverse, inclusive=False),
                       np.float64)
        return float(np.sum(np.where(keep != 0, out, 0.0) * keep))  # the slot's -inf: out

    eps = 1e-3
    fd = [(total(xs + eps * e) - total(xs - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(np.array(got), fd, rtol=2e-2, atol=2e-3)
