"""Reductions (prod, max, min, argmax, argmin), matmul, concatenate and pad: each op compiled vs
its NumPy reference, the frontend functions vs NumPy, MLX's error messages, and the transform
rules (vjp vs finite differences, jvp vs vjp, vmap vs a Python loop)."""

import mxir as mx
import numpy as np
import pytest
from harness import check_op, random_values
from mxir.dialect import MxError, TensorType, infer_types

FLOATS = ["float32", "float16", "bfloat16", "float64"]
ALL = FLOATS + ["int32", "int64", "uint32", "uint8", "bool"]
HALF_TOL = {"float16": (5e-3, 5e-3), "bfloat16": (3e-2, 3e-2)}


# -- ops compiled vs reference ----------------------------------------------------------------
REDUCE_CASES = [((3, 4), (1,)), ((3, 4), (0, 1)), ((2, 3, 4), (0, 2)), ((5,), ()), ((), ()),
                ((0, 3), (0,)), ((2, 0), (1,))]


@pytest.mark.parametrize("name", ["prod", "max", "min"])
@pytest.mark.parametrize("dtype", ALL)
def test_reduction_matches_reference(name, dtype):
    if name == "prod" and dtype == "bool":
        pytest.skip("the frontend widens bool before prod")
    rng = np.random.default_rng(0)
    for shape, axes in REDUCE_CASES:
        for keepdims in (False, True):
            x = random_values(shape, dtype, rng, -2, 2)
            check_op(name, [x], [TensorType(shape, dtype)], axes=axes, keepdims=keepdims)


def test_max_min_propagate_nan_and_infinities():
    x = np.array([[1, np.nan, 3], [np.inf, 2, -np.inf], [-np.inf] * 3], np.float32)
    for name in ("max", "min"):
        got = check_op(name, [x], [TensorType((3, 3), "float32")], axes=(1,), keepdims=False)[0]
        assert np.isnan(got[0])
    assert check_op("max", [x], [TensorType((3, 3), "float32")], axes=(1,),
                    keepdims=False)[0][2] == -np.inf


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dtype", ALL)
def test_arg_reduction_matches_reference(name, dtype):
    rng = np.random.default_rng(1)
    for shape, axis in [((3, 4), 1), ((3, 4), 0), ((6,), 0), ((2, 3, 4), 1), ((1, 5), 0)]:
        for keepdims in (False, True):
            x = random_values(shape, dtype, rng, -2, 2)
            if dtype in FLOATS:
                x = np.round(x)  # ties: the first occurrence must win
            got = check_op(name, [x], [TensorType(shape, dtype)], axis=axis, keepdims=keepdims)
            assert got[0].dtype == np.uint32


def test_arg_reduction_nan_first_occurrence_as_numpy():
    x = np.array([[1, np.nan, 3, np.nan], [np.inf, 2, np.inf, 1], [-np.inf] * 4,
                  [np.nan, 0, 0, np.nan]], np.float32)
    t = [TensorType((4, 4), "float32")]
    assert check_op("argmax", [x], t, axis=1, keepdims=False)[0].tolist() == [1, 0, 0, 0]
    assert check_op("argmin", [x], t, axis=1, keepdims=False)[0].tolist() == [1, 3, 0, 0]


@pytest.mark.parametrize("n", [17, 64, 1000, 1024])
def test_arg_reduction_of_long_rows_is_two_reductions(n):
    """argmax/argmin lower to the extremum, then the least position holding it, two reductions
    that vectorise (argmax over the rows of 1000x1000 f32: 5.2 -> 0.37 ms, NumPy 0.25): the
    first occurrence wins ties, a NaN wins (the first NaN), in any row length."""
    from mxir.evaluate import program_ir

    rng = np.random.default_rng(n)
    x = np.round(rng.standard_normal((9, n)) * 2).astype(np.float32)  # many ties
    x[2, n // 3] = x[2, n - 1] = np.nan
    x[4] = -0.0
    x[4, n // 2] = 0.0
    ir_text = program_ir([mx.argmax(mx.array(x), axis=1)], lowered=True)
    assert ir_text.count("linalg.generic") == 2 and "arith.minui" in ir_text
    for name in ("argmax", "argmin"):
        want = getattr(np, name)(x, axis=1)
        f = getattr(mx, name)
        for got in (f(mx.array(x), axis=1), mx.compile(lambda v, f=f: f(v, axis=1))(mx.array(x)),
                    f(mx.array(x.astype(np.float16)), axis=1)):
            np.testing.assert_array_equal(np.array(got), want)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((1, 1), (1, 1)), ((2, 3, 4), (2, 4, 5)),
                 ((2, 2, 3, 4), (2, 2, 4, 1)), ((3, 0), (0, 2)), ((0, 3), (3, 2)),
                 ((2, 0, 3), (2, 3, 4)), ((0, 2, 2), (0, 2, 2))]


@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul_matches_reference(dtype):
    rng = np.random.default_rng(2)
    for sa, sb in MATMUL_SHAPES:
        a, c = random_values(sa, dtype, rng), random_values(sb, dtype, rng)
        check_op("matmul", [a, c], [TensorType(sa, dtype), TensorType(sb, dtype)],
                 tol=HALF_TOL.get(dtype))


@pytest.mark.parametrize("dtype", ALL)
def test_concatenate_matches_reference(dtype):
    rng = np.random.default_rng(3)
    cases = [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 0), (2, 2)], 1), ([(5,)], 0),
             ([(0, 2), (0, 3)], 1), ([(0, 2), (0, 2)], 0), ([(2, 1, 2), (2, 3, 2)], 1)]
    for shapes, axis in cases:
        xs = [random_values(s, dtype, rng) for s in shapes]
        check_op("concatenate", xs, [TensorType(s, dtype) for s in shapes], axis=axis)


@pytest.mark.parametrize("dtype", ALL)
def test_pad_matches_reference(dtype):
    rng = np.random.default_rng(4)
    cases = [((2, 3), (1, 0), (2, 3)), ((), (), ()), ((0, 2), (1, 1), (0, 2)), ((4,), (0,), (0,)),
             ((2, 1, 2), (1, 2, 0), (0, 1, 1))]
    for shape, low, high in cases:
        x, v = random_values(shape, dtype, rng), random_values((), dtype, rng)
        check_op("pad", [x, v], [TensorType(shape, dtype), TensorType((), dtype)],
                 low=low, high=high)


def test_op_verifiers_reject_bad_operands():
    f32 = TensorType((2, 3), "float32")
    with pytest.raises(MxError, match=r"\[max\] Invalid axes \(2,\)"):
        infer_types("max", [f32], {"axes": (2,), "keepdims": False})
    with pytest.raises(MxError, match=r"\[argmax\] Invalid axis 2"):
        infer_types("argmax", [f32], {"axis": 2, "keepdims": False})
    with pytest.raises(MxError, match="zero size"):
        infer_types("argmin", [TensorType((0, 3), "float32")], {"axis": 0, "keepdims": False})
    with pytest.raises(MxError, match="Only inexact types"):
        infer_types("matmul", [TensorType((2, 2), "int32")] * 2, {})
    with pytest.raises(MxError, match="Last dimension of first input with shape \\(2,3\\)"):
        infer_types("matmul", [f32, f32], {})
    with pytest.raises(MxError, match="batch dimensions"):
        infer_types("matmul", [TensorType((2, 2, 3), "float32"), TensorType((3, 3, 2),
                                                                            "float32")], {})
    with pytest.raises(MxError, match="must match exactly"):
        infer_types("concatenate", [f32, TensorType((3, 3), "float32")], {"axis": 1})
    with pytest.raises(MxError, match="one dtype"):
        infer_types("concatenate", [f32, TensorType((2, 3), "int32")], {"axis": 1})
    with pytest.raises(MxError, match="Padding sizes must be non-negative"):
        infer_types("pad", [f32, TensorType((), "float32")], {"low": (0, -1), "high": (0, 0)})
    with pytest.raises(MxError, match="rank-0 pad value"):
        infer_types("pad", [f32, TensorType((1,), "float32")], {"low": (0, 0), "high": (0, 0)})


# -- frontend vs NumPy ------------------------------------------------------------------------
def _np(a):
    return np.asarray(a)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, -3), ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_frontend_reductions_match_numpy(axis, keepdims):
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    a = mx.array(x)
    for fn, ref in [(mx.prod, np.prod), (mx.max, np.max), (mx.min, np.min)]:
        got = fn(a, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(_np(got), ref(x, axis=axis, keepdims=keepdims), rtol=1e-5)
    b = x > 0
    for fn, ref in [(mx.all, np.all), (mx.any, np.any)]:
        got = fn(mx.array(b), axis=axis, keepdims=keepdims)
        assert got.dtype == mx.bool_
        np.testing.assert_array_equal(_np(got), ref(b, axis=axis, keepdims=keepdims))
    lse = np.log(np.sum(np.exp(x.astype(np.float64)), axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(_np(mx.logsumexp(a, axis, keepdims)), lse, rtol=1e-5)


def test_frontend_reduction_dtypes_follow_mlx():
    assert mx.prod(mx.array([True, False])).dtype == mx.int32
    assert mx.prod(mx.array([1, 2], dtype=mx.uint8)).dtype == mx.uint32
    assert mx.prod(mx.array([1, 2], dtype=mx.int64)).dtype == mx.int64
    assert mx.max(mx.array([1, 2], dtype=mx.uint8)).dtype == mx.uint8
    assert mx.argmax(mx.array([1.0, 3.0])).dtype == mx.uint32
    assert mx.all(mx.array([1, 2])).dtype == mx.bool_
    assert mx.logsumexp(mx.array([1, 2])).dtype == mx.float32
    assert mx.softmax(mx.array([1, 2])).dtype == mx.float32
    assert mx.softmax(mx.array([1, 2], dtype=mx.float16), precise=True).dtype == mx.float16


def test_frontend_all_any_of_empty_and_scalars():
    assert mx.all(mx.zeros((0,))).item() is True
    assert mx.any(mx.zeros((0, 3)), axis=0).tolist() == [False, False, False]
    assert mx.all(mx.array(2.0)).item() is True
    assert mx.max(mx.array(3)).item() == 3
    assert mx.prod(mx.zeros((0,))).item() == 1.0


@pytest.mark.parametrize("axis", [None, 0, 1, -1, -2])
@pytest.mark.parametrize("keepdims", [False, True])
def test_frontend_argmax_argmin_match_numpy(axis, keepdims):
    x = np.array([[3, 1, 3, 0], [2, 7, 7, -1], [5, 5, 5, 5]], np.float32)
    for fn, ref in [(mx.argmax, np.argmax), (mx.argmin, np.argmin)]:
        got = fn(mx.array(x), axis=axis, keepdims=keepdims)
        want = ref(x, axis=axis, keepdims=keepdims)
        assert got.shape == want.shape
        np.testing.assert_array_equal(_np(got), want)
    assert mx.argmax(mx.array(4.0)).item() == 0


def test_frontend_logsumexp_is_stable():
    x = mx.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    got = _np(mx.logsumexp(x, axis=1))
    np.testing.assert_allclose(got[:2], [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-6)
    assert got[2] == -np.inf and got[3] == np.inf


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
def test_frontend_softmax_matches_numpy(axis):
    x = np.random.default_rng(6).uniform(-50, 50, (3, 4)).astype(np.float32)
    ax = tuple(range(x.ndim)) if axis is None else axis
    e = np.exp(x - x.max(axis=ax, keepdims=True))
    want = e / e.sum(axis=ax, keepdims=True)
    np.testing.assert_allclose(_np(mx.softmax(mx.array(x), axis=axis)), want, rtol=1e-5,
                               atol=1e-7)


def test_array_methods():
    x = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)
    a = mx.array(x)
    assert a.max().item() == 4.0 and a.min(axis=0).tolist() == [0.5, -2.0, -1.0]
    np.testing.assert_allclose(_np(a.prod(1, keepdims=True)), x.prod(1, keepdims=True))
    assert a.argmax(axis=1).tolist() == [2, 1] and a.argmin().item() == 1
    assert a.any().item() is True and (a > 0).all(axis=1).tolist() == [False, False]
    np.testing.assert_allclose(_np(a.logsumexp(axis=0)), np.log(np.exp(x).sum(0)), rtol=1e-6)


MATMUL_FRONTEND = [((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 5)), ((3, 4), (4,)),
                   ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                   ((1, 3, 4), (6, 4, 2)), ((0, 4), (4, 3))]


@pytest.mark.parametrize("sa,sb", MATMUL_FRONTEND)
def test_frontend_matmul_matches_numpy(sa, sb):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    want = np.matmul(a, b)
    got = mx.matmul(mx.array(a), mx.array(b))
    assert got.shape == want.shape
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(mx.array(a) @ mx.array(b)), want, rtol=1e-5, atol=1e-5)


def test_frontend_matmul_promotes_and_rmatmul():
    a = mx.array([[1, 2], [3, 4]])
    b = mx.array([[1.0, 0.5], [0.0, 1.0]], dtype=mx.float16)
    r = a.astype(mx.float32) @ b
    assert r.dtype == mx.float32 and r.tolist() == [[1.0, 2.5], [3.0, 5.5]]
    r = mx.array.__rmatmul__(b, a.astype(mx.float16))
    assert r.dtype == mx.float16 and r.tolist() == [[1.0, 2.5], [3.0, 5.5]]


def test_frontend_inner_outer_tensordot():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(
        np.float32)
    np.testing.assert_allclose(_np(mx.inner(mx.array(a), mx.array(b))), np.inner(a, b),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(mx.outer(mx.array(a), mx.array(b))), np.outer(a, b),
                               rtol=1e-6)
    assert mx.outer(mx.array([1, 2]), mx.array([3, 4])).tolist() == [[3, 4], [6, 8]]
    assert mx.inner(mx.array(2.0), mx.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    c, d = rng.standard_normal((2, 3, 4)).astype(np.float32), rng.standard_normal(
        (4, 3, 5)).astype(np.float32)
    for axes in (1, ([1, 2], [1, 0]), 0):
        want = np.tensordot(c, d, axes=axes)
        got = mx.tensordot(mx.array(c), mx.array(d), axes=axes)
        np.testing.assert_allclose(_np(got), want, rtol=1e-4, atol=1e-5)


def test_frontend_concatenate_stack_split():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    y = np.ones((2, 2), np.float32)
    got = mx.concatenate([mx.array(x), mx.array(y)], axis=-1)
    assert got.dtype == mx.float32
    np.testing.assert_array_equal(_np(got), np.concatenate([x, y], axis=-1))
    np.testing.assert_array_equal(_np(mx.concatenate([mx.array(x), mx.array(y)], axis=None)),
                                  np.concatenate([x.ravel(), y.ravel()]))
    np.testing.assert_array_equal(_np(mx.concatenate([mx.array(x)])), x)
    for axis in (0, 1, 2, -1, -3):
        np.testing.assert_array_equal(_np(mx.stack([mx.array(x), mx.array(x + 1)], axis=axis)),
                                      np.stack([x, x + 1], axis=axis))
    z = np.arange(24).reshape(4, 6)
    for spec, axis in [(2, 0), (3, 1), ([1, 4], 1), ([2], -1), ([4, 1], 1), ([-2], 0), ([], 0)]:
        got = mx.split(mx.array(z), spec, axis=axis)
        want = np.split(z, spec, axis=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(_np(g), w)


def test_frontend_pad_and_clip():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = mx.array(x)
    for width, want in [(1, np.pad(x, 1)), ((1, 2), np.pad(x, (1, 2))), ((2,), np.pad(x, 2)),
                        ([(0, 1), (2, 0)], np.pad(x, [(0, 1), (2, 0)]))]:
        np.testing.assert_array_equal(_np(mx.pad(a, width)), want)
    np.testing.assert_array_equal(_np(mx.pad(a, 1, constant_values=-2.5)),
                                  np.pad(x, 1, constant_values=-2.5))
    np.testing.assert_array_equal(_np(mx.pad(a, [(1, 2), (0, 3)], mode="edge")),
                                  np.pad(x, [(1, 2), (0, 3)], mode="edge"))
    assert mx.pad(mx.array([1, 2]), 1, constant_values=7).tolist() == [7, 1, 2, 7]
    assert mx.pad(mx.array([True]), 1).tolist() == [False, True, False]
    np.testing.assert_array_equal(_np(mx.clip(a, 1, 4)), np.clip(x, 1, 4))
    np.testing.assert_array_equal(_np(mx.clip(a, None, 2)), np.minimum(x, 2))
    np.testing.assert_array_equal(_np(mx.clip(a, mx.array([1.0, 2.0, 3.0]), None)),
                                  np.maximum(x, [1, 2, 3]))


# -- frontend errors (MLX's types and messages) -----------------------------------------------
def test_frontend_errors():
    x = mx.zeros((2, 3))
    with pytest.raises(ValueError, match="Invalid axis 2 for array with 2 dimensions"):
        mx.max(x, axis=2)
    with pytest.raises(ValueError, match="Invalid axis -3 for array with 2 dimensions"):
        mx.argmin(x, axis=-3)
    with pytest.raises(ValueError, match=r"\[max\] Cannot max reduce over axis 0 with size 0."):
        mx.max(mx.zeros((0, 2)), axis=0)
    assert mx.max(mx.zeros((0, 2)), axis=1).shape == (0,)  # nonempty axis: MLX gives (0,)
    with pytest.raises(ValueError, match=r"\[argmax\] Cannot argmax reduce zero size array."):
        mx.argmax(mx.zeros((0,)))
    with pytest.raises(ValueError, match=r"\[logsumexp\] Received empty array."):
        mx.logsumexp(mx.zeros((0,)))
    with pytest.raises(ValueError, match=r"\[matmul\] Got 0 dimension input"):
        mx.matmul(mx.array(1.0), x)
    with pytest.raises(ValueError, match=r"Last dimension of first input with shape \(2,3\) "
                                         r"must match second to last dimension of second "
                                         r"input with shape \(2,3\)\."):
        x @ x
    with pytest.raises(ValueError, match=r"Only inexact types are supported but int32 and int32"):
        mx.array([[1]]) @ mx.array([[2]])
    with pytest.raises(ValueError, match="No arrays provided for concatenation"):
        mx.concatenate([])
    with pytest.raises(ValueError, match=r"\[concatenate\] Axis 2 is out of bounds"):
        mx.concatenate([x, x], axis=2)
    with pytest.raises(ValueError, match=r"shapes are \(2,3\), \(3,3\), and the "
                                         r"concatenation axis is 1\."):
        mx.concatenate([x, mx.zeros((3, 3))], axis=1)
    with pytest.raises(ValueError, match="same number of dimensions"):
        mx.concatenate([x, mx.zeros((2,))])
    with pytest.raises(ValueError, match=r"\[stack\] All arrays must have the same shape"):
        mx.stack([x, mx.zeros((3, 2))])
    with pytest.raises(ValueError, match="Array split does not result in sub arrays"):
        mx.split(x, 2, axis=1)
    with pytest.raises(ValueError, match=r"Invalid low padding size \(-1\) passed to pad for "
                                         "axis 0"):
        mx.pad(x, (-1, 0))
    with pytest.raises(ValueError, match=r"Invalid number of padding sizes passed to pad with "
                                         "axes of size 2"):
        mx.pad(x, [(1, 1)] * 3)
    with pytest.raises(ValueError, match=r"Invalid padding mode \(wrap\)"):
        mx.pad(x, 1, mode="wrap")
    with pytest.raises(ValueError, match="At most one of a_min and a_max may be None"):
        mx.clip(x, None, None)


# -- transform rules --------------------------------------------------------------------------
F64 = mx.float64


def _numeric_grad(f, x: np.ndarray, eps=1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(hi) - f(lo)) / (2 * eps)
    return g


# (name, function of one float64 array, input shape); inputs avoid ties and zeros except where
# named, so finite differences are valid
RULE_CASES = [
    ("prod_axis", lambda a: mx.prod(a, axis=1), (2, 3)),
    ("prod_keepdims", lambda a: mx.prod(a, axis=(0, 2), keepdims=True), (2, 2, 2)),
    ("max", lambda a: mx.max(a, axis=0), (3, 2)),
    ("min_all", lambda a: mx.min(a), (2, 3)),
    ("logsumexp", lambda a: mx.logsumexp(a, axis=-1), (2, 3)),
    ("softmax", lambda a: mx.softmax(a, axis=0), (3, 2)),
    ("matmul", lambda a: a @ mx.reshape(a, (3, 2)), (2, 3)),
    ("matmul_batch", lambda a: mx.matmul(a, mx.transpose(a, (0, 2, 1))), (2, 2, 3)),
    ("concatenate", lambda a: mx.concatenate([a, mx.square(a), a[:1]], axis=0), (2, 3)),
    ("pad", lambda a: mx.pad(a, [(1, 0), (2, 1)], constant_values=0.5) * 2.0, (2, 3)),
]


def _weights(shape):
    return np.linspace(0.5, 1.5, int(np.prod(shape)) or 1)[:int(np.prod(shape))].reshape(shape)


@pytest.mark.parametrize("name,fn,shape", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_vjp_matches_finite_differences(name, fn, shape):
    rng = np.random.default_rng(9)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    w = _weights(fn(mx.array(x, dtype=F64)).shape)

    def loss_np(v):
        return float(np.sum(np.asarray(fn(mx.array(v, dtype=F64))) * w))

    g = mx.grad(lambda a: mx.sum(fn(a) * mx.array(w, dtype=F64)))(mx.array(x, dtype=F64))
    np.testing.assert_allclose(_np(g), _numeric_grad(loss_np, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,fn,shape", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_jvp_matches_vjp(name, fn, shape):
    rng = np.random.default_rng(10)
    x = mx.array(rng.uniform(0.5, 1.5, shape), dtype=F64)
    t = mx.array(rng.standard_normal(shape), dtype=F64)
    (out,), (tangent,) = mx.jvp(fn, [x], [t])
    c = mx.array(rng.standard_normal(out.shape), dtype=F64)
    _, (ct,) = mx.vjp(fn, [x], [c])
    # <J t, c> == <t, J^T c>
    np.testing.assert_allclose(np.sum(_np(tangent) * _np(c)), np.sum(_np(t) * _np(ct)),
                               rtol=1e-10)


def test_prod_gradient_with_zeros_is_exact():
    g = mx.grad(lambda a: mx.prod(a))
    assert g(mx.array([2.0, 0.0, 3.0])).tolist() == [0.0, 6.0, 0.0]
    assert g(mx.array([2.0, 0.0, 3.0, 0.0])).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert g(mx.array([2.0, 4.0, 3.0])).tolist() == [12.0, 6.0, 8.0]


def test_max_gradient_splits_ties_and_ignores_nan():
    g = mx.grad(lambda a: mx.max(a, axis=1).sum())
    assert g(mx.array([[1.0, 5.0, 5.0], [2.0, 0.0, 3.0]])).tolist() == [[0, 0.5, 0.5], [0, 0, 1]]
    assert g(mx.array([[1.0, np.nan]])).tolist() == [[0.0, 0.0]]


def test_pad_value_gradient_sums_the_padding():
    gx, gv = mx.grad(lambda a, v: mx.sum(array_pad(a, v) * 3.0), argnums=(0, 1))(
        mx.ones((2, 2)), mx.array(1.0))
    assert gx.tolist() == [[3.0, 3.0], [3.0, 3.0]] and gv.item() == 3.0 * (12 - 4)


def array_pad(a, v):
    return mx.pad(a, [(1, 0), (0, 2)], constant_values=v)


def test_arg_reductions_are_not_differentiable():
    g = mx.grad(lambda a: mx.sum(mx.argmax(a, axis=0).astype(mx.float32) * a[0]))(
        mx.array([[1.0, 2.0], [3.0, 0.0]]))
    assert g.tolist() == [[1.0, 0.0], [0.0, 0.0]]


VMAP_CASES = [
    ("prod", lambda a: mx.prod(a, axis=0), 0),
    ("max_keepdims", lambda a: mx.max(a, axis=-1, keepdims=True), 1),
    ("min", lambda a: mx.min(a), 0),
    ("argmax", lambda a: mx.argmax(a, axis=0), 1),
    ("argmin_flat", lambda a: mx.argmin(a), 0),
    ("matmul", lambda a: a @ mx.transpose(a), 1),
    ("concatenate", lambda a: mx.concatenate([a, a * 2.0], axis=1), 0),
    ("pad", lambda a: mx.pad(a, [(0, 1), (1, 1)], constant_values=-1.0), 1),
]


@pytest.mark.parametrize("name,fn,in_axis", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_loop(name, fn, in_axis):
    x = np.random.default_rng(11).standard_normal((3, 4, 2)).astype(np.float32)
    got = mx.vmap(fn, in_axes=in_axis)(mx.array(x))
    want = np.stack([_np(fn(mx.array(np.take(x, i, axis=in_axis))))
                     for i in range(x.shape[in_axis])])
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)


def test_vmap_with_unbatched_operands():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((3, 2, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    got = mx.vmap(lambda x, y: x @ y, in_axes=(0, None))(mx.array(a), mx.array(b))
    np.testing.assert_allclose(_np(got), a @ b, rtol=1e-5, atol=1e-5)
    got = mx.vmap(lambda y, x: y @ x, in_axes=(None, 0))(mx.array(b.T), mx.array(a[:, 0]))
    np.testing.assert_allclose(_np(got), a[:, 0] @ b, rtol=1e-5, atol=1e-5)
    vals = rng.standard_normal(3).astype(np.float32)
    got = mx.vmap(lambda x, v: mx.pad(x, 1, constant_values=v))(mx.array(a[:, 0]),
                                                                  mx.array(vals))
    want = np.stack([np.pad(a[i, 0], 1, constant_values=vals[i]) for i in range(3)])
    np.testing.assert_allclose(_np(got), want, rtol=1e-6)
    got = mx.vmap(lambda x, y: mx.concatenate([x, y]), in_axes=(0, None))(
        mx.array(a[:, 0]), mx.array(b[0]))
    np.testing.assert_allclose(_np(got), np.stack([np.concatenate([a[i, 0], b[0]])
                                                   for i in range(3)]), rtol=1e-6)
