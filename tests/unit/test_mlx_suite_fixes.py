"""Regressions found by running MLX's own Python test suite against mxir (our cases, not MLX's
text): each case runs the same function on mxir and on MLX (the test-only oracle) and compares
values (NaN where NaN), dtype and shape, or the exception type. Special values (inf, nan, signed
zeros, int limits) are what the generated cases of mlx_diff.py do not draw."""
# ruff: noqa: B023  (the lambdas in loops are called at once, by same_as_mlx)

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

INF, NAN = float("inf"), float("nan")
SPECIAL = [0.0, -0.0, 1.5, -2.0, INF, -INF, NAN]
CSPECIAL = [complex(0, INF), complex(INF, 0), complex(-INF, 0), complex(INF, INF),
            complex(NAN, 0), complex(0, NAN), complex(3, 4), 0j]


def _result(L, fn):
    try:
        out = fn(L)
    except Exception as e:  # compared by type
        return type(e).__name__
    outs = out if isinstance(out, (list, tuple)) else [out]
    res = []
    for o in outs:
        dtype = str(o.dtype).split(".")[-1]
        if dtype == "bfloat16":
            o = o.astype(L.float32)
        res.append((dtype, tuple(o.shape), np.array(o)))
    return res


def same_as_mlx(fn, rtol=1e-6, atol=1e-6):
    got, want = _result(mx, fn), _result(mlx, fn)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return
    assert len(got) == len(want)
    for (gd, gs, gv), (wd, ws, wv) in zip(got, want):
        assert (gd, gs) == (wd, ws)
        np.testing.assert_allclose(gv, wv, rtol=rtol, atol=atol, equal_nan=True)


# -- complex special values: isnan/isinf/isfinite/isclose were constant for complex64 ----------
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "complex64", "int32"])
def test_special_value_predicates(name, dtype):
    vals = CSPECIAL if dtype == "complex64" else SPECIAL if dtype != "int32" else [0, -3, 7]
    same_as_mlx(lambda L: getattr(L, name)(L.array(vals, dtype=getattr(L, dtype))))


@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_and_array_equal_on_specials(equal_nan):
    for vals in (SPECIAL, CSPECIAL):
        rng = np.random.default_rng(0)
        a = list(vals)
        b = [vals[i] for i in rng.permutation(len(vals))]
        same_as_mlx(lambda L: L.isclose(L.array(a), L.array(b), equal_nan=equal_nan))
        same_as_mlx(lambda L: L.isclose(L.array(a), L.array(a), equal_nan=equal_nan))
        same_as_mlx(lambda L: L.array_equal(L.array(a), L.array(a), equal_nan=equal_nan))


# -- erfinv(+-1) was -+inf: the large-argument polynomial at w = inf is -inf for both signs ---
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_erfinv_at_and_beyond_one(dtype):
    vals = [-5.0, -1.0, -0.999, 0.5, 0.0, -0.0, 0.999, 1.0, 5.0, 0.9999999403953552]
    same_as_mlx(lambda L: L.erfinv(L.array(vals, dtype=getattr(L, dtype))), rtol=2e-6)


def test_erfinv_reference_at_one():
    from mxir.dialect.elementwise import _erfinv_np

    np.testing.assert_array_equal(_erfinv_np(np.array([-1.0, 1.0])), [-np.inf, np.inf])


# -- sort of complex64 with NaN parts: ranks were no permutation (garbage values) ------------
def test_sort_complex_with_nan_parts():
    rng = np.random.default_rng(1)
    for _ in range(4):
        re = rng.choice([0.0, -0.0, 1.0, 2.0, NAN, INF], size=9)
        im = rng.choice([0.0, 1.0, -1.0, NAN], size=9)
        vals = [complex(r, i) for r, i in zip(re, im)]
        same_as_mlx(lambda L: L.sort(L.array(vals)))
        same_as_mlx(lambda L: L.argsort(L.array(vals)))


# -- searchsorted of NaN: NaN sorts after everything (was counted before nothing) -------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_nan(side):
    for seq in ([1.0, 2.0, 3.0], [1.0, 2.0, NAN], [NAN, NAN], []):
        same_as_mlx(lambda L: L.searchsorted(L.array(seq), L.array([NAN, 0.0, 2.0, 5.0]),
                                             side=side))


# -- median of a line with a NaN is NaN (was the middle of the sorted line) -------------------
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "complex64"])
def test_median_nan(dtype):
    for vals in ([1.0, NAN, 0.0], [NAN, 1.0, 0.0], [1.0, 2.0, NAN, 4.0], [[1.0, NAN, 3.0],
                                                                          [4.0, 5.0, 6.0]]):
        for axis in (None, 0, -1):
            same_as_mlx(lambda L: L.median(L.array(vals, dtype=getattr(L, dtype)), axis=axis))


# -- nan_to_num of bfloat16: +-inf became float32's max, which is inf in bfloat16 -------------
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_nan_to_num_specials(dtype):
    vals = [INF, 6.9, NAN, -INF, 0.0]
    same_as_mlx(lambda L: L.nan_to_num(L.array(vals, dtype=getattr(L, dtype))))
    same_as_mlx(lambda L: L.nan_to_num(L.array(vals, dtype=getattr(L, dtype)), nan=1.0,
                                       posinf=1000, neginf=-1000))


# -- in-place operators update the array object (other names of it see the new value) --------
INPLACE = ["__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__",
           "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"]


@pytest.mark.parametrize("op", INPLACE)
@pytest.mark.parametrize("dtype,other", [("int32", 3), ("float32", 1.5), ("bool", True),
                                         ("float32", "array")])
def test_inplace_operators_alias(op, dtype, other):
    def fn(L):
        a = L.array([1, 2, 3], dtype=getattr(L, dtype))
        before = a * 1
        b = a
        o = L.array([2.0, 1.0, 0.5]) if other == "array" else other
        res = getattr(b, op)(o)
        assert res is b
        return [a, b, before]

    same_as_mlx(fn)


def test_inplace_matmul_and_refusals():
    def mm(L):
        a = L.array([[1.0, 2.0], [3.0, 4.0]])
        b = a
        b @= a
        return a

    same_as_mlx(mm)
    for bad in ("s", [1, 2, 3], (1, 2, 3)):
        for op in ("__add__", "__radd__", "__lt__", "__ge__", "__and__", "__pow__", "__iadd__",
                   "__itruediv__"):
            same_as_mlx(lambda L: getattr(L.array([1.0, 2.0, 3.0]), op)(bad))
        assert (mx.array([1, 2, 3]) == bad) is False and (mx.array([1, 2, 3]) != bad) is True


def test_inplace_in_transforms():
    def f(x, y):
        x += y
        x *= x
        return x.sum()

    for L in (mx, mlx):
        x, y = L.array([1.0, 2.0]), L.array(0.5)
        want = L.grad(f)(x, y), L.compile(f)(x, y), L.vmap(lambda x: f(x, y))(L.ones((2, 3)))
        if L is mx:
            got = [np.array(v) for v in want]
        else:
            np.testing.assert_allclose(got[0], np.array(want[0]))
            np.testing.assert_allclose(got[1], np.array(want[1]))
            np.testing.assert_allclose(got[2], np.array(want[2]))


# -- mx.array([x, ...]) of arrays keeps them in the graph (its gradient was 0) ----------------
def test_array_of_arrays_keeps_the_graph():
    def f(L):
        def g(x):
            return (2 * L.array([x, L.array([2.0]), [x[0] * 3]])).sum()

        x = L.array([1.0])
        return [L.grad(g)(x), L.vmap(lambda t: L.array([t, t * 2]))(L.array([1.0, 2.0])),
                L.array([[L.array([True], L.int8), [2.0]], [[3.0], L.array([0.5], L.float16)]])]

    same_as_mlx(f)
    same_as_mlx(lambda L: L.array([L.array([1.0]), 1.0]))


# -- a[idx] = v with repeated positions: the last update wins (they were added up) -----------
def test_setitem_repeated_indices_last_wins():
    rng = np.random.default_rng(3)
    for case in range(12):
        shape = (4, 3, 5)
        idx0 = rng.integers(0, 4, size=int(rng.integers(1, 6))).tolist()
        idx2 = rng.integers(-5, 5, size=len(idx0)).tolist()
        forms = [lambda L: (L.array(idx0),), lambda L: (L.array(idx0), slice(None), L.array(idx2)),
                 lambda L: (L.array(idx0), slice(0, 2)), lambda L: (Ellipsis, L.array(idx2)),
                 lambda L: (L.array(idx0)[:, None], L.array(idx0)[None] % 3)]
        form = forms[case % len(forms)]

        def f(L):
            a = L.zeros(shape, L.int32)
            sel = a[form(L)]
            a[form(L)] = L.arange(sel.size, dtype=L.int32).reshape(sel.shape) + 1
            b = L.zeros(shape)
            b[form(L)] = 7.0
            return [a, b]

        same_as_mlx(f)


# -- roll: several shifts on one axis (or the flattened array) add up (only the first counted)
def test_roll_shift_and_axis_combinations():
    from itertools import product

    for s, ax in product([1, -2, (1, 1), (-1, 2), (33, 33), (1, 2, 3), (2,)],
                         [None, 0, 1, (1, 0), (0, 0), (1, 1), (0, 1, 1)]):
        same_as_mlx(lambda L: L.roll(L.arange(10).reshape(2, 5), s, ax))


# -- arange: MLX's dtype inference (int64 past int32), increment dtype(start + step) -
#    dtype(start) for integer dtypes, one element for an infinite step, its errors -----------
ARANGE = [(0, 3, 0.2, "int32"), (-1, -4, -0.9, "int32"), (-1, -20, -1.2, "int32"),
          (0, 10, 100, None), (10, 0, 1, None), (10, 0, INF, None), (0, 10, INF, None),
          (0, -10, -INF, None), (2**31 - 2, 2**31 + 2, None, None),
          (2**31 - 2, 2**31 + 2, None, "int32"), (2**40, 2**40 + 3, None, None),
          (-(2**31) - 1, -(2**31) + 1, None, None), (2**40, 2**40 + 3, 2**40, None),
          (2**40 + 3, 2**40, -1, None), (0, 2**40, -1, None), (0.5, 2**40, 2**39, None),
          (5, None, None, None), (5.0, None, None, None), (1, 3.0, None, None),
          (1.0, 3.0, 0.2, "int32"), (0, 3, 0.5, "float16"), (3, 0, -0.7, "uint8"),
          (NAN, 1, 5, None), (0, 2, NAN, None), (0, INF, 1, None), (0, 2**31, 1, None),
          (2, 2, 0, None), (0, 5, 1, "bool_"), (0.0, 1.0, 0.25, "float64")]


@pytest.mark.parametrize("start,stop,step,dtype", ARANGE)
def test_arange_as_mlx(start, stop, step, dtype):
    def f(L):
        args = [start] + ([] if stop is None else [stop]) + ([] if step is None else [step])
        return L.arange(*args, **({} if dtype is None else {"dtype": getattr(L, dtype)}))

    same_as_mlx(f, rtol=0, atol=0)


@pytest.mark.parametrize("args", [(0, 1, 5), (0, 10, 0, False), (0, 10, 1, False),
                                  (0, 10, 50, False), (-2.7, -0.7, 7, False),
                                  (0, 10, 5, False, "int64"), (0, 1, 7, True, "float16"),
                                  (1.5, 2, 1), (0, 1, -1), (-1, 1, 9, True, "float64")])
def test_linspace_as_mlx(args):
    def f(L):
        a = list(args)
        if len(a) == 5:
            a[4] = getattr(L, a[4])
        return L.linspace(*a)

    same_as_mlx(f, rtol=0, atol=0)


# -- integer power with a negative exponent is 0 in MLX (1 ** -9 and (-1) ** -1 were 1, -1) ---
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_integer_power_negative_exponent(dtype):
    x = [2, -2, 1, -1, 0, 3, 1, 5] if not dtype.startswith("u") else [2, 1, 0, 3]
    y = [-1, -3, -9, -1, -2, 2, 0, 3] if not dtype.startswith("u") else [3, 0, 2, 1]
    same_as_mlx(lambda L: L.power(L.array(x, getattr(L, dtype)), L.array(y, getattr(L, dtype))))


def test_integer_power_reference_negative_exponent():
    from mxir.dialect.elementwise import _np_power

    np.testing.assert_array_equal(_np_power(np.array([1, -1, 2], np.int32),
                                            np.array([-9, -1, 2], np.int32)), [0, 0, 4])


# -- NumPy arrays on the left of an operator with an array give NumPy results, as with MLX ----
def test_numpy_left_operand_gives_numpy_results():
    a = np.array([1.0, 2.0])
    for L in (mx, mlx):
        b = L.array([1.0, 3.0])
        for r in (a + b, a == b, a * b, a < b, np.float32(2) * b):
            assert isinstance(r, np.ndarray)
        assert isinstance(b + a, L.array)
        assert not np.all(a == b)  # np.all on the result: no .all(out=...) on our array
    np.testing.assert_array_equal(a * mx.array([1.0, 3.0]), a * np.array(mlx.array([1.0, 3.0])))


# -- random.normal(dtype=complex64): MLX's draw (parts of variance 1/2), was refused ------------
def test_complex_normal_as_mlx():
    def f(L):
        k = L.random.key(7)
        return [L.random.normal((3, 4), dtype=L.complex64, key=k),
                L.random.normal((5,), dtype=L.complex64, loc=1.0, scale=2.0, key=k)]

    same_as_mlx(f, rtol=1e-5, atol=1e-5)
    z = mx.random.normal((20000,), dtype=mx.complex64, key=mx.random.key(1))
    assert abs(mx.var(mx.real(z)).item() - 0.5) < 0.03
    assert abs(mx.var(mx.imag(z)).item() - 0.5) < 0.03


# -- arange's overloads (stop by name, arange(stop, None, step)) and zeros_like/ones_like dtype
ARANGE_CALLS = [((5,), {}), ((-3,), {"step": -1}), ((-3, None, -1), {}),
                ((), {"stop": 2, "step": 0.5}), ((), {"start": 1, "step": 2}), ((), {"stop": 3}),
                ((1,), {"stop": 4}), ((0, 5, 1, "float16"), {}), ((5,), {"dtype": "int8"}),
                ((2,), {"start": 1}), ((), {}), ((None,), {}), ((3, None), {})]


@pytest.mark.parametrize("args,kwargs", ARANGE_CALLS)
def test_arange_overloads(args, kwargs):
    def f(L):
        a = [getattr(L, v) if isinstance(v, str) else v for v in args]
        k = {n: getattr(L, v) if isinstance(v, str) else v for n, v in kwargs.items()}
        return L.arange(*a, **k)

    same_as_mlx(f, rtol=0, atol=0)


def test_like_constructors_take_a_dtype():
    same_as_mlx(lambda L: [L.zeros_like(L.array([1, 2], L.int32), L.float16),
                           L.ones_like(L.array([1, 2], L.int32), dtype=L.float32),
                           L.zeros_like(L.array([1, 2], L.int32))])


# -- spectral/nuclear norms over two axes that are not the last two moved the wrong axes -------
@pytest.mark.parametrize("ord_", ["nuc", 2, -2])
def test_matrix_norm_over_any_axes(ord_):
    from itertools import permutations

    x = np.random.default_rng(5).normal(size=(2, 3, 4)).astype(np.float32)
    for axes in permutations(range(3), 2):
        for keepdims in (False, True):
            same_as_mlx(lambda L: L.linalg.norm(L.array(x), ord=ord_, axis=axes,
                                                keepdims=keepdims, stream=L.cpu), rtol=1e-5)


# -- an int-indexed element of an evaluated array is a 0-d array (was a NumPy scalar, which
#    NumPy refused from __array__) -------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "bool_", "int64", "complex64"])
def test_scalar_view_converts_to_numpy(dtype):
    x = mx.array([[1, 0]], getattr(mx, dtype))
    mx.eval(x)
    y = np.asanyarray(x[0, 1])
    assert isinstance(y, np.ndarray) and y.shape == ()
    same_as_mlx(lambda L: L.array([[1, 0]], getattr(L, dtype))[0, 0] + 0)


# -- linalg on zero-size matrices (svd's U/Vt were uninitialised memory; qr, pinv, det, slogdet
#    raised) and det/slogdet of integer matrices (MLX takes them as float32) --------------------
@pytest.mark.parametrize("shape", [(0, 4, 4), (2, 5, 0), (2, 0, 5), (5, 0), (0, 5)])
def test_linalg_zero_size(shape):
    a = np.zeros(shape, np.float32)
    u, s, vt = mx.linalg.svd(mx.array(a), stream=mx.cpu)
    for got, want in zip((u, s, vt), np.linalg.svd(a)):
        np.testing.assert_array_equal(np.array(got), want)
    q, r = mx.linalg.qr(mx.array(a), stream=mx.cpu)
    assert (q.shape, r.shape) == tuple(x.shape for x in np.linalg.qr(a))
    assert mx.linalg.pinv(mx.array(a), stream=mx.cpu).shape == np.linalg.pinv(a).shape


@pytest.mark.parametrize("shape", [(0, 0), (3, 0, 0)])
def test_det_of_empty_matrices(shape):
    same_as_mlx(lambda L: [L.linalg.det(L.zeros(shape), stream=L.cpu),
                           *L.linalg.slogdet(L.zeros(shape), stream=L.cpu)])


def test_det_of_integer_matrix():
    same_as_mlx(lambda L: [L.linalg.det(L.array([[2, 1], [1, 3]]), stream=L.cpu),
                           *L.linalg.slogdet(L.array([[2, 1], [1, 3]]), stream=L.cpu)], rtol=1e-6)


# -- randint: draws clamped to [low, high - 1] (float32 cannot hold every bound) --------------
@pytest.mark.parametrize("dtype,low,high", [("uint32", 2**24, 2**24 + 2),
                                            ("int32", 2**24, 2**24 + 2),
                                            ("int64", 2**40, 2**40 + 1024), ("int32", -5, 5),
                                            ("int8", -3, 3), ("bool_", 0, 2), ("int32", 10, -10),
                                            ("int32", -10.5, 10.2)])
def test_randint_bounds_as_mlx(dtype, low, high):
    same_as_mlx(lambda L: L.random.randint(low, high, [64], dtype=getattr(L, dtype),
                                           key=L.random.key(1)), rtol=0, atol=0)


def test_random_dtype_none_is_the_default():
    same_as_mlx(lambda L: [L.random.uniform(dtype=None, key=L.random.key(0)),
                           L.random.normal(dtype=None, key=L.random.key(0)),
                           L.random.laplace(dtype=None, key=L.random.key(0)),
                           L.random.randint(0, 9, dtype=None, key=L.random.key(0))], rtol=1e-5)


# -- logaddexp / logcumsumexp of complex64 (were refused / cast to float32, losing the
#    imaginary part) ------------------------------------------------------------------------
def test_complex_logaddexp_and_logcumsumexp():
    x = [1 + 1j, 2 - 1j, complex(-INF, 0), 0.5j, 3 + 0j]
    y = [0.5 + 2j, 2 - 1j, 1 + 1j, complex(INF, 0), -1 - 1j]
    same_as_mlx(lambda L: L.logaddexp(L.array(x), L.array(y)), rtol=1e-6)
    m = np.random.default_rng(2).normal(size=(3, 4)) + 1j * np.random.default_rng(3).normal(
        size=(3, 4))
    for axis in (0, 1):
        for reverse in (False, True):
            for inclusive in (True, False):
                same_as_mlx(lambda L: L.logcumsumexp(L.array(m.astype(np.complex64)), axis=axis,
                                                     reverse=reverse, inclusive=inclusive),
                            rtol=2e-6, atol=2e-6)


def test_complex_logaddexp_gradient_finite_differences():
    # real loss |logaddexp(z, w)|^2: the gradient is dL/dRe z + i dL/dIm z (MLX's convention)
    z, w = mx.array(0.3 + 0.7j), mx.array(-0.4 + 0.2j)

    def loss(z):
        return mx.abs(mx.logaddexp(z, w)) ** 2

    g = mx.grad(loss)(z).item()
    eps = 1e-3
    fd = [(loss(z + d).item() - loss(z - d).item()) / (2 * eps) for d in (eps, 1j * eps)]
    np.testing.assert_allclose([g.real, g.imag], fd, rtol=2e-3, atol=2e-3)


# -- broadcast errors at the call, as MLX (a negative dim failed only at evaluation) ----------
@pytest.mark.parametrize("call", [lambda L: L.broadcast_to(L.ones((10, 20)), (-1, 10, 20)),
                                  lambda L: L.broadcast_shapes(),
                                  lambda L: L.broadcast_shapes((3, 4), (4, 3)),
                                  lambda L: L.broadcast_shapes((1, 2)),
                                  lambda L: L.broadcast_arrays()])
def test_broadcast_errors(call):
    def f(L):
        out = call(L)  # no evaluation: the error must come from the call itself
        return L.array(out) if isinstance(out, tuple) else out

    same_as_mlx(f)


def test_broadcast_to_negative_dim_raises_at_the_call():
    with pytest.raises(ValueError, match="Negative dimensions"):
        mx.broadcast_to(mx.ones((10, 20)), (-1, 10, 20))


# -- pad: reflect and symmetric modes (were refused); one (before, after) pair in a list applies
#    to every axis (was refused) -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge", "constant"])
@pytest.mark.parametrize("pw", [(5, 5), (2, 2), (0, 3), [(1, 2)], ((1, 2), (2, 1)), 1])
def test_pad_modes(mode, pw):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    same_as_mlx(lambda L: L.pad(L.array(x), pw, mode=mode))
    ct = np.random.default_rng(0).normal(size=np.pad(x, pw if not isinstance(pw, list) else pw * 2,
                                                     mode=mode).shape).astype(np.float32)
    same_as_mlx(lambda L: L.vjp(lambda a: L.pad(a, pw, mode=mode), [L.array(x)], [L.array(ct)])[1],
                rtol=1e-5)


def test_hadamard_of_empty_arrays_raises_mlx_error():
    same_as_mlx(lambda L: L.hadamard_transform(L.array([])))
    same_as_mlx(lambda L: L.hadamard_transform(L.zeros((2, 0))))


# -- max/min of arrays empty along a kept axis reduce to empty results (were refused) ---------
@pytest.mark.parametrize("shape,axis", [((0,), None), ((2, 0), None), ((2, 0), -1),
                                        ((0, 2), 0), ((3, 0, 2), (0, 1)), ((0, 2), -1),
                                        ((2, 0), 0), ((3, 0, 2), -1), ((0, 3, 2), (1, 2))])
@pytest.mark.parametrize("op", ["max", "min"])
def test_extremum_of_empty_arrays(shape, axis, op):
    same_as_mlx(lambda L: getattr(L, op)(L.zeros(shape), axis=axis))


# -- fast.rope's argument checks, with MLX's messages ------------------------------------------
@pytest.mark.parametrize("dims,dtype", [(0, "float32"), (-2, "float32"), (7, "float32"),
                                        (128, "float32"), (8, "int32"), (8, "float16")])
def test_rope_checks(dims, dtype):
    def f(L):
        x = L.ones((1, 4, 64), getattr(L, dtype))
        return L.fast.rope(x, dims, traditional=False, base=10000.0, scale=1.0, offset=0)

    same_as_mlx(f, rtol=2e-3, atol=2e-3)
    if dims != 8 or dtype == "int32":
        with pytest.raises(ValueError, match=str(abs(dims)) if dtype == "float32" else "int32"):
            f(mx)


# -- complex(a) of a complex64 array (went through float()); x.at without an index ------------
def test_complex_conversion_and_at_without_index():
    for v in (1, 1.5, 1 + 2j, True):
        assert complex(mx.array(v)) == complex(mlx.array(v))
    with pytest.raises(ValueError):
        complex(mx.zeros((2, 1)))
    with pytest.raises(ValueError, match="Must give indices"):
        mx.array([1, 2]).at.add(1)


# -- mx.array of a NumPy array copies it (a later x += 10 changed the mxir array) -------------
@pytest.mark.parametrize("make", [lambda L, x: L.array(x), lambda L, x: L.asarray(x),
                                  lambda L, x: L.from_dlpack(x), lambda L, x: L.array(x[::2]),
                                  lambda L, x: L.array(x, dtype=L.float32)])
def test_array_from_numpy_does_not_alias(make):
    def f(L):
        x = np.arange(4, dtype=np.float32)
        a = make(L, x)
        x += 10
        return a

    same_as_mlx(f, rtol=0, atol=0)


def test_var_std_methods_take_ddof_positionally():
    x = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    same_as_mlx(lambda L: [L.array(x).std(1, True, 1), L.array(x).var(0, False, 2)], rtol=1e-5)


# -- nn.log_softmax of large equal logits (was 0, not log 1/2); nn.step at the threshold ------
def test_log_softmax_and_step_as_mlx():
    import mlx.nn as mlx_nn
    import mxir.nn as mx_nn

    for v in (1.0, 1e4, 1e8, 1e20, 1e36):
        x = [[v, v], [v, -v]]
        np.testing.assert_allclose(np.array(mx_nn.log_softmax(mx.array(x))),
                                   np.array(mlx_nn.log_softmax(mlx.array(x))), atol=1e-6)
    for t in (0.0, 0.5, 1.0):
        x = [-1.0, 0.0, 0.5, 1.0]
        assert mx_nn.step(mx.array(x), t).tolist() == mlx_nn.step(mlx.array(x), t).tolist()


# -- nn.InstanceNorm of float16: statistics in float32 (the variance overflowed to inf) -------
def test_instance_norm_half_statistics():
    import mlx.nn as mlx_nn
    import mxir.nn as mx_nn

    board = (np.indices((8, 8)).sum(axis=0) % 2).astype(bool)
    x = np.stack([np.where(board, -512, 512), np.where(board, -256, 256)], -1)[None]
    for dtype in ("float16", "bfloat16", "float32"):
        got = mx_nn.InstanceNorm(dims=2)(mx.array(x, getattr(mx, dtype)))
        want = mlx_nn.InstanceNorm(dims=2)(mlx.array(x, getattr(mlx, dtype)))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(np.array(got.astype(mx.float32)),
                                   np.array(want.astype(mlx.float32)), atol=1e-3)
