"""Scans, sort and bitwise ops through the frontend, against NumPy."""

import itertools

import mxir as mx
import numpy as np
import pytest

RNG = np.random.default_rng(7)
SCAN_DTYPES = ["float32", "float16", "int32", "int64", "uint8", "uint32", "bool"]


def _mxd(dtype):
    return mx.bool_ if dtype == "bool" else getattr(mx, dtype)


def _values(shape, dtype):
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if dtype.startswith("float"):
        return RNG.uniform(-2, 2, shape).astype(dtype)
    if dtype.startswith("uint"):
        return RNG.integers(0, 4, shape).astype(dtype)
    return RNG.integers(-3, 4, shape).astype(dtype)


def _np_scan(name, x, axis, reverse, inclusive):
    if axis is None:
        x, axis = x.reshape(-1), 0
    out_dtype = np.int32 if (name == "cumsum" and x.dtype == np.bool_) else x.dtype
    v = np.flip(x, axis) if reverse else x
    fn = {"cumsum": lambda v: np.cumsum(v, axis, dtype=out_dtype),
          "cumprod": lambda v: np.cumprod(v, axis, dtype=out_dtype),
          "cummax": lambda v: np.maximum.accumulate(v, axis),
          "cummin": lambda v: np.minimum.accumulate(v, axis),
          "logcumsumexp": lambda v: np.logaddexp.accumulate(v.astype(np.float64), axis)}[name]
    r = fn(v)
    if not inclusive:
        init = {"cumsum": 0, "cumprod": 1, "logcumsumexp": -np.inf}.get(name)
        if init is None:
            big = name == "cummin"
            if x.dtype == np.bool_:
                init = big
            elif np.issubdtype(x.dtype, np.floating):
                init = np.inf if big else -np.inf
            else:
                info = np.iinfo(x.dtype)
                init = info.max if big else info.min
        first = np.full_like(np.take(r, [0], axis), init)
        r = np.concatenate([first, np.take(r, np.arange(r.shape[axis] - 1), axis)], axis)
    return np.flip(r, axis) if reverse else r


def _check(got, want, dtype):
    got = np.array(got)
    assert got.shape == want.shape
    if dtype.startswith("float"):
        tol = 3e-3 if dtype == "float16" else 1e-5
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol,
                                   atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", SCAN_DTYPES)
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin"])
def test_scans_match_numpy(name, dtype):
    x = _values((3, 4), dtype)
    fn = getattr(mx, name)
    for axis, reverse, inclusive in itertools.product([0, 1, -1, None], [False, True],
                                                      [True, False]):
        got = fn(mx.array(x), axis=axis, reverse=reverse, inclusive=inclusive)
        want = _np_scan(name, x, axis, reverse, inclusive)
        assert got.dtype == (mx.int32 if name == "cumsum" and dtype == "bool"
                             else _mxd(dtype))
        _check(got, want.astype(np.array(got).dtype), dtype)


def test_logcumsumexp_matches_numpy_and_promotes_integers():
    x = RNG.uniform(-3, 3, (2, 5)).astype(np.float32)
    x[0, 1] = -np.inf
    for axis, reverse, inclusive in itertools.product([0, 1], [False, True], [True, False]):
        got = mx.logcumsumexp(mx.array(x), axis=axis, reverse=reverse, inclusive=inclusive)
        _check(got, _np_scan("logcumsumexp", x, axis, reverse, inclusive), "float32")
    big = np.array([1000.0, 1000.0, -np.inf], np.float32)  # no overflow, -inf is neutral
    _check(mx.logcumsumexp(mx.array(big)), np.array([1000, 1000 + np.log(2), 1000 + np.log(2)]),
           "float32")
    got = mx.logcumsumexp(mx.array([1, 2, 3]))
    assert got.dtype == mx.float32
    _check(got, np.logaddexp.accumulate(np.array([1.0, 2, 3])), "float32")


def test_scan_nan_propagates_and_method_form():
    x = np.array([1.0, np.nan, 3.0, 0.5], np.float32)
    _check(mx.cummax(mx.array(x)), np.maximum.accumulate(x), "float32")
    _check(mx.cummin(mx.array(x)), np.minimum.accumulate(x), "float32")
    _check(mx.array(x).cumsum(), np.cumsum(x), "float32")
    a = mx.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    _check(a.cumprod(axis=1, reverse=True), np.flip(np.cumprod(np.flip(np.arange(6.0).reshape(
        2, 3), 1), 1), 1), "float32")


def test_scan_errors():
    with pytest.raises(ValueError, match=r"\[cumsum\] Axis 2"):
        mx.cumsum(mx.zeros((2, 3)), axis=2)


def _np_sort_order(x, axis):
    return np.argsort(x, axis=axis, kind="stable")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int32", "int64", "uint8",
                                   "uint32", "bool", "float64"])
def test_sort_and_argsort_match_numpy_with_ties(dtype):
    x = _values((4, 6), "bool" if dtype == "bool" else
                ("int32" if not dtype.startswith(("float", "bf")) else "float32"))
    if dtype.startswith("uint"):
        x = np.abs(x)
    x = x.astype(np.float32 if dtype == "bfloat16" else dtype)
    if dtype.startswith(("float", "bf")):
        x = np.round(x)  # ties
    a = mx.array(x, dtype=_mxd(dtype))
    for axis in (0, 1, -1, None):
        idx = _np_sort_order(x.reshape(-1) if axis is None else x, 0 if axis is None else axis)
        got_i = mx.argsort(a, axis=axis)
        assert got_i.dtype == mx.uint32
        np.testing.assert_array_equal(np.array(got_i), idx)
        want = np.sort(x, axis=axis, kind="stable")
        got = mx.sort(a, axis=axis)
        np.testing.assert_array_equal(np.array(got.astype(mx.float32) if dtype == "bfloat16"
                                               else got), want)


def test_sort_nan_last_and_signed_zeros_stable():
    x = np.array([2.0, np.nan, -1.0, 0.0, -0.0, np.inf, np.nan, -np.inf, 2.0], np.float32)
    np.testing.assert_array_equal(np.array(mx.argsort(mx.array(x))),
                                  np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(np.array(mx.sort(mx.array(x))), np.sort(x))


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "uint8", "bool", "float64"])
@pytest.mark.parametrize("shape,axis", [((129,), 0), ((3, 1000), 1), ((300, 4), 0),
                                        ((2, 257, 3), 1)])
def test_long_lines_merge_sort_stably(dtype, shape, axis):
    """Lines longer than RANK_SORT_MAX merge-sort on the CPU (O(n log n); a 100000-element
    sort 1.64 s -> 12 ms, MLX 7 ms): stable with many ties, NaN last, every run width (lines
    that no power of two divides), any axis; the gradient scatters back through the indices.
    The GPU pipeline keeps the parallel rank form."""
    from mlir import ir
    from mxir.dialect.scan import RANK_SORT_MAX
    from mxir.evaluate import build_module, context, trace_program
    from mxir.passes import run_pipeline

    x = _values(shape, "bool" if dtype == "bool" else "int32") % 7
    x = x.astype(dtype)
    if dtype.startswith("float"):
        x.flat[::11] = np.nan
        x.flat[5::13] = -0.0
    a = mx.array(x)
    np.testing.assert_array_equal(np.array(mx.argsort(a, axis=axis)),
                                  np.argsort(x, axis=axis, kind="stable"))
    np.testing.assert_array_equal(np.array(mx.compile(lambda v: mx.sort(v, axis=axis))(a)),
                                  np.sort(x, axis=axis, kind="stable"))
    if dtype == "float32":
        w = mx.array(RNG.standard_normal(shape).astype(np.float32))
        g = mx.grad(lambda v: mx.sum(mx.sort(v, axis=axis) * w))(mx.array(np.nan_to_num(x)))
        order = np.argsort(np.nan_to_num(x), axis=axis, kind="stable")
        want = np.zeros_like(x)
        np.put_along_axis(want, order, np.array(w), axis=axis)
        np.testing.assert_array_equal(np.array(g), want)
    main, _ = trace_program([mx.sort(a, axis=axis)])
    for pipeline, loops in (("mx-to-linalg", shape[axis] > RANK_SORT_MAX),
                            ("mx-to-linalg-gpu", False)):
        with context(), ir.Location.unknown():
            module = build_module(main)
            run_pipeline(module, ["mx-verify", "mx-transforms", "mx-simplify", pipeline])
            assert ("scf.for" in str(module)) == loops


def test_topk_and_partition():
    x = RNG.permutation(20).astype(np.float32).reshape(4, 5)
    got = np.array(mx.topk(mx.array(x), 2))
    np.testing.assert_array_equal(np.sort(got, axis=-1), np.sort(x, axis=-1)[:, -2:])
    got = np.array(mx.topk(mx.array(x), 3, axis=None))
    np.testing.assert_array_equal(np.sort(got), np.sort(x.reshape(-1))[-3:])
    assert mx.topk(mx.array(x), 0, axis=0).shape == (0, 5)
    with pytest.raises(ValueError, match="topk"):
        mx.topk(mx.array(x), 6)
    p = np.array(mx.partition(mx.array(x), 2, axis=1))
    assert (p[:, :2] <= p[:, 2:3]).all() and (p[:, 3:] >= p[:, 2:3]).all()
    ip = np.array(mx.argpartition(mx.array(x), 1, axis=0))
    v = np.take_along_axis(x, ip.astype(np.int64), 0)
    assert (v[:1] <= v[1:2]).all() and (v[2:] >= v[1:2]).all()


def test_sort_gradient_vmap_and_errors():
    x = mx.array([3.0, 1.0, 2.0, 5.0])
    w = mx.array([1.0, 10.0, 100.0, 1000.0])
    g = mx.grad(lambda x: mx.sum(mx.sort(x) * w))(x)
    np.testing.assert_array_equal(np.array(g), [100.0, 1.0, 10.0, 1000.0])
    xs = RNG.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(np.array(mx.vmap(mx.sort, in_axes=1)(mx.array(xs))),
                                  np.sort(xs.T, axis=-1))
    with pytest.raises(ValueError):
        mx.sort(mx.array(1.0))


def test_scan_gradients_against_numpy_formulas():
    x = np.array([1.5, -2.0, 0.0, 3.0], np.float32)  # a zero in cumprod
    got = np.array(mx.grad(lambda v: mx.sum(mx.cumprod(v)))(mx.array(x)))
    want = [sum(np.prod(np.delete(x[:k + 1], m)) for k in range(m, 4)) for m in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got = np.array(mx.grad(lambda v: mx.sum(mx.cumsum(v, reverse=True)))(mx.array(x)))
    np.testing.assert_allclose(got, [1, 2, 3, 4])
    got = np.array(mx.grad(lambda v: mx.sum(mx.cummax(v)))(mx.array(x)))
    np.testing.assert_allclose(got, [3, 0, 0, 1])  # y = [1.5, 1.5, 1.5, 3]
    y = np.logaddexp.accumulate(x.astype(np.float64))
    got = np.array(mx.grad(lambda v: mx.sum(mx.logcumsumexp(v)))(mx.array(x)))
    want = [sum(np.exp(x[m] - y[k]) for k in range(m, 4)) for m in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-5)


BITWISE = {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
           "bitwise_xor": np.bitwise_xor}


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "uint32", "bool"])
def test_bitwise_ops_match_numpy(dtype):
    if dtype == "bool":
        a, b = RNG.random((3, 4)) < 0.5, RNG.random((3, 4)) < 0.5
    else:
        lo = 0 if dtype.startswith("u") else -100
        a = RNG.integers(lo, 100, (3, 4)).astype(dtype)
        b = RNG.integers(lo, 100, (3, 4)).astype(dtype)
    for name, fn in BITWISE.items():
        got = getattr(mx, name)(mx.array(a), mx.array(b))
        assert got.dtype == _mxd(dtype)
        np.testing.assert_array_equal(np.array(got), fn(a, b))
    np.testing.assert_array_equal(np.array(mx.bitwise_invert(mx.array(a))), np.invert(a))
    np.testing.assert_array_equal(np.array(mx.array(a) & mx.array(b)), a & b)
    np.testing.assert_array_equal(np.array(mx.array(a) | mx.array(b)), a | b)
    np.testing.assert_array_equal(np.array(mx.array(a) ^ mx.array(b)), a ^ b)
    np.testing.assert_array_equal(np.array(~mx.array(a)), ~a)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "uint32"])
def test_shifts_match_numpy(dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(max(info.min, -1000), min(info.max, 1000), 16).astype(dtype)
    bits = info.bits
    b = np.array([0, 1, 2, 3, bits - 1, bits, bits + 3, 5] * 2, dtype)
    np.testing.assert_array_equal(np.array(mx.left_shift(mx.array(a), mx.array(b))),
                                  np.left_shift(a, b))
    np.testing.assert_array_equal(np.array(mx.right_shift(mx.array(a), mx.array(b))),
                                  np.right_shift(a, b))
    np.testing.assert_array_equal(np.array(mx.array(a) << mx.array(b)), a << b)
    np.testing.assert_array_equal(np.array(mx.array(a) >> 2), a >> 2)
    np.testing.assert_array_equal(np.array(1 << mx.array(b[:4])), 1 << b[:4])


def test_bitwise_scalars_broadcast_promotion_and_errors():
    a = mx.array([[1, 2, 3]], dtype=mx.uint8)
    got = mx.bitwise_or(a, mx.array([[4], [8]], dtype=mx.int32))
    assert got.dtype == mx.int32 and got.shape == (2, 3)
    np.testing.assert_array_equal(np.array(got), np.array([[1, 2, 3]]) | np.array([[4], [8]]))
    np.testing.assert_array_equal(np.array(a & 2), np.array([[0, 2, 2]]))
    assert (a & 2).dtype == mx.uint8
    t = mx.array([True, False, True])
    sh = mx.left_shift(t, mx.array([1, 1, 0], dtype=mx.bool_))
    assert sh.dtype == mx.uint8
    np.testing.assert_array_equal(np.array(sh), [2, 0, 1])
    with pytest.raises(ValueError, match="Floating point"):
        mx.array([1.0]) & mx.array([1.0])
    with pytest.raises(ValueError, match="Floating point"):
        ~mx.array([1.0])
    with pytest.raises(RuntimeError, match="got types float32 and float32"):  # MLX's
        mx.bitwise_and(mx.array([1.0]), 1)
    with pytest.raises(ValueError, match="bitwise_invert"):
        mx.bitwise_invert(mx.array([1.5]))


def test_bitwise_ops_have_zero_derivative_and_vmap():
    def f(x):
        k = mx.left_shift(mx.array([1, 2]), mx.array([1, 1]))
        return mx.sum(x * k.astype(mx.float32))

    np.testing.assert_array_equal(np.array(mx.grad(f)(mx.array([1.0, 1.0]))), [2.0, 4.0])
    a = RNG.integers(0, 50, (3, 4)).astype(np.int32)
    got = mx.vmap(lambda v: mx.bitwise_xor(v, mx.array([1, 2, 3, 4])))(mx.array(a))
    np.testing.assert_array_equal(np.array(got), a ^ np.array([1, 2, 3, 4]))
