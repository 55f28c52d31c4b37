"""The frontend basics as MLX users meet them: creating arrays, their properties, conversions to
Python and NumPy, dtype promotion of operators, comparisons, `mx.eval` of trees, devices and
streams, and `mxir.utils`' trees.

Expected values and messages are what MLX 0.32.4 (Linux CPU build) gives for the same calls.
"""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from mxir.utils import (
    tree_flatten,
    tree_map,
    tree_map_with_path,
    tree_merge,
    tree_reduce,
    tree_unflatten,
)


def same(a, values, dtype):
    assert isinstance(a, mx.array)
    assert a.dtype == dtype, (a.dtype, dtype)
    got = np.array(a)
    np.testing.assert_array_equal(got, np.asarray(values, dtype=got.dtype))
    assert got.shape == np.shape(values)


# -- creation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make,values,dtype", [
    (lambda: mx.array(3), 3, mx.int32),
    (lambda: mx.array(2.5), 2.5, mx.float32),
    (lambda: mx.array(True), True, mx.bool_),
    (lambda: mx.array([1, 2.5]), [1, 2.5], mx.float32),
    (lambda: mx.array([True, 2]), [1, 2], mx.int32),
    (lambda: mx.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]], mx.int32),
    (lambda: mx.array([]), np.zeros((0,)), mx.float32),
    (lambda: mx.array(2**40), 2**40, mx.int64),
    (lambda: mx.array([1, -(2**40)]), [1, -(2**40)], mx.int64),
    (lambda: mx.array(np.array([1.5, 2.0])), [1.5, 2.0], mx.float32),  # NumPy float64 -> f32
    (lambda: mx.array(np.array([1, 2])), [1, 2], mx.int64),
    (lambda: mx.array(np.array([1, 2], np.uint8)), [1, 2], mx.uint8),
    (lambda: mx.array(np.array([True])), [True], mx.bool_),
    (lambda: mx.array(np.array([1.5], np.float16)), [1.5], mx.float16),
    (lambda: mx.array(np.float64(1.5)), 1.5, mx.float32),
    (lambda: mx.array(np.int64(2)), 2, mx.int64),
    (lambda: mx.array([1, 2], dtype=mx.float16), [1, 2], mx.float16),
    (lambda: mx.array([1.7, -2.7], dtype=mx.int32), [1, -2], mx.int32),
    (lambda: mx.array(mx.array([1, 2]), dtype=mx.float32), [1, 2], mx.float32),
    (lambda: mx.array([mx.array([1, 2]), mx.array([3, 4])]), [[1, 2], [3, 4]], mx.int32),
    (lambda: mx.array([mx.array(1.5), 2]), [1.5, 2], mx.float32),
    (lambda: mx.zeros((2, 3)), np.zeros((2, 3)), mx.float32),
    (lambda: mx.zeros(3), [0, 0, 0], mx.float32),
    (lambda: mx.zeros((2,), dtype=mx.int32), [0, 0], mx.int32),
    (lambda: mx.ones((2,), mx.bool_), [True, True], mx.bool_),
    (lambda: mx.full((2, 2), 7), [[7, 7], [7, 7]], mx.int32),
    (lambda: mx.full((2,), 2.5), [2.5, 2.5], mx.float32),
    (lambda: mx.full((2,), 2**40), [2**40, 2**40], mx.int64),
    (lambda: mx.full((2, 3), mx.array([1, 2, 3])), [[1, 2, 3], [1, 2, 3]], mx.int32),
    (lambda: mx.full((2,), 3, dtype=mx.float32), [3, 3], mx.float32),
    (lambda: mx.zeros_like(mx.array([1, 2])), [0, 0], mx.int32),
    (lambda: mx.ones_like(mx.array([1.5])), [1.0], mx.float32),
    (lambda: mx.full_like(mx.array([1, 2]), 2.5), [2, 2], mx.int32),
    (lambda: mx.eye(3), np.eye(3), mx.float32),
    (lambda: mx.eye(2, 3, k=1), np.eye(2, 3, k=1), mx.float32),
    (lambda: mx.eye(2, dtype=mx.int32), np.eye(2), mx.int32),
    (lambda: mx.identity(2), np.eye(2), mx.float32),
])
def test_creation(make, values, dtype):
    same(make(), values, dtype)


@pytest.mark.parametrize("make,values,dtype", [
    (lambda: mx.arange(5), [0, 1, 2, 3, 4], mx.int32),
    (lambda: mx.arange(0.5, 2.0, 0.5), [0.5, 1.0, 1.5], mx.float32),
    (lambda: mx.arange(5, 0, -2), [5, 3, 1], mx.int32),
    (lambda: mx.arange(1.0, -1.0, -0.5), [1.0, 0.5, 0.0, -0.5], mx.float32),
    (lambda: mx.arange(5, 0), np.zeros((0,)), mx.int32),
    (lambda: mx.arange(3, dtype=mx.float32), [0, 1, 2], mx.float32),
    (lambda: mx.arange(3.0), [0, 1, 2], mx.float32),
    (lambda: mx.arange(0, 3, 1.5), [0, 1.5], mx.float32),
    (lambda: mx.arange(0, 1, 0.25, dtype=mx.float16), [0, 0.25, 0.5, 0.75], mx.float16),
    (lambda: mx.arange(start=1, stop=4, step=1), [1, 2, 3], mx.int32),
    (lambda: mx.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1], mx.float32),
    (lambda: mx.linspace(0, 1, 1), [0], mx.float32),
    (lambda: mx.linspace(0, 10, 4, dtype=mx.int32), [0, 3, 6, 10], mx.int32),
])
def test_ranges(make, values, dtype):
    same(make(), values, dtype)
    assert mx.linspace(0, 1).shape == (50,)


@pytest.mark.parametrize("make,exc,msg", [
    (lambda: mx.arange(0, 3, 0), ValueError, "[arange] step must be nonzero."),
    (lambda: mx.array([[1, 2], [3]]), ValueError, None),
    (lambda: mx.array("a"), ValueError, "Invalid type str received in array initialization."),
    (lambda: mx.array(None), TypeError, None),
    (lambda: mx.array([1, 2]).item(), ValueError,
     "[convert] Only length-1 arrays can be converted to Python scalars."),
    (lambda: bool(mx.array([1, 2])), ValueError,
     "[convert] Only length-1 arrays can be converted to Python scalars."),
    (lambda: len(mx.array(3)), TypeError, None),
    (lambda: mx.array([1], mx.uint8) + 300, ValueError,
     "Converting 300 to uint8 would result in overflow."),
    (lambda: mx.array([1], mx.uint32) + -1, ValueError,
     "Converting -1 to uint32 would result in overflow."),
    (lambda: mx.array([1]) + 2**31, ValueError,
     "Converting 2147483648 to int32 would result in overflow."),
    (lambda: mx.array([1]) == None, TypeError, None),  # noqa: E711
    (lambda: mx.linspace(0, 1, -1), ValueError, None),
])
def test_creation_and_conversion_errors(make, exc, msg):
    with pytest.raises(exc) as info:
        make()
    if msg is not None:
        assert str(info.value) == msg


# -- properties and conversions ----------------------------------------------------------------
def test_properties():
    a = mx.array([[1, 2, 3], [4, 5, 6]], dtype=mx.float16)
    assert (a.shape, a.ndim, a.size, a.itemsize, a.nbytes, len(a)) == ((2, 3), 2, 6, 2, 12, 2)
    assert a.dtype == mx.float16 and a.T.shape == (3, 2)
    assert (mx.float16.size, mx.bool_.size, mx.int64.size, mx.bfloat16.size) == (2, 1, 8, 2)


def test_item_and_tolist():
    assert mx.array(2.5).item() == 2.5 and type(mx.array(2.5).item()) is float
    assert mx.array(3).item() == 3 and type(mx.array(3).item()) is int
    assert mx.array(True).item() is True
    assert mx.array([[5]]).item() == 5
    assert mx.array(0.1, dtype=mx.float16).item() == 0.0999755859375
    assert mx.array(0.1, dtype=mx.bfloat16).item() == 0.10009765625
    assert mx.array([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mx.array([0.5, 0.25]).tolist() == [0.5, 0.25]
    assert mx.array([0.1], dtype=mx.bfloat16).tolist() == [0.10009765625]
    assert mx.array(3).tolist() == 3
    assert (int(mx.array(3.7)), float(mx.array(3)), bool(mx.array([1]))) == (3, 3.0, True)
    assert [x.item() for x in mx.array([1, 2])] == [1, 2]


def test_numpy_interop_both_ways():
    assert np.array(mx.array([1, 2])).dtype == np.int32
    assert np.array(mx.array([1.5], mx.float16)).dtype == np.float16
    assert np.array(mx.array([True])).dtype == np.bool_
    assert np.array(mx.array([1], mx.uint32)).dtype == np.uint32
    np.testing.assert_array_equal(np.asarray(mx.array([[1.5]])), [[1.5]])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(np.array(mx.array(x) * 1), x)
    assert np.array(mx.array(x), copy=True) is not x


# -- operators: MLX's dtype promotion ----------------------------------------------------------
@pytest.mark.parametrize("make,dtype", [
    (lambda: mx.array([1, 2]) * 2.5, mx.float32),
    (lambda: mx.array([1, 2], mx.float16) * 2, mx.float16),
    (lambda: mx.array([1, 2], mx.float16) * 2.5, mx.float16),
    (lambda: mx.array([1], mx.int32) + mx.array([1], mx.uint32), mx.int64),
    (lambda: mx.array([1], mx.int64) + mx.array([1], mx.uint32), mx.int64),
    (lambda: mx.array([1], mx.uint8) + mx.array([1], mx.int32), mx.int32),
    (lambda: mx.array([1], mx.uint8) + mx.array([1], mx.uint32), mx.uint32),
    (lambda: mx.array([1], mx.float16) + mx.array([1], mx.bfloat16), mx.float32),
    (lambda: mx.array([1], mx.float16) + mx.array([1], mx.float32), mx.float32),
    (lambda: mx.array([1], mx.float32) + mx.array([1], mx.float64), mx.float64),
    (lambda: mx.array([1], mx.int32) + mx.array([1], mx.int64), mx.int64),
    (lambda: mx.array([1], mx.int64) + mx.array([1], mx.float16), mx.float16),
    (lambda: mx.array([1], mx.uint32) + mx.array([1], mx.float16), mx.float16),
    (lambda: mx.array([True]) + mx.array([True]), mx.bool_),
    (lambda: mx.array([True]) + 1, mx.int32),
    (lambda: mx.array([True]) + 1.5, mx.float32),
    (lambda: mx.array([3]) / 2, mx.float32),
    (lambda: mx.array([3], mx.float16) / mx.array([2]), mx.float16),
    (lambda: 1 + mx.array(2.5), mx.float32),
    (lambda: mx.array([1], mx.float16) + np.float32(1.5), mx.float16),
])
def test_operator_promotion(make, dtype):
    assert make().dtype == dtype


@pytest.mark.parametrize("make,values,dtype", [
    (lambda: mx.array([1, 2]) * 2.5, [2.5, 5.0], mx.float32),
    (lambda: mx.array([1, 2]) / mx.array([2, 2]), [0.5, 1.0], mx.float32),
    (lambda: mx.array([7, -7]) // 2, [3, -4], mx.int32),
    (lambda: mx.array([7, -7]) % 3, [1, 2], mx.int32),
    (lambda: 2 ** mx.array([1, 2]), [2, 4], mx.int32),
    (lambda: mx.array([4, 9]) ** 0.5, [2, 3], mx.float32),
    (lambda: 10 - mx.array([1, 2]), [9, 8], mx.int32),
    (lambda: mx.array([1], mx.uint8) + 255, [0], mx.uint8),
    (lambda: mx.array([True]) + mx.array([True]), [True], mx.bool_),
    (lambda: abs(mx.array([-1, 2])), [1, 2], mx.int32),
    (lambda: ~mx.array([True, False]), [False, True], mx.bool_),
    (lambda: mx.array([True, False]) & mx.array([True, True]), [True, False], mx.bool_),
    (lambda: +mx.array([1]), [1], mx.int32),
    (lambda: mx.array([1.7, -1.7]).astype(mx.int32), [1, -1], mx.int32),
    (lambda: mx.array([0, 2]).astype(mx.bool_), [False, True], mx.bool_),
])
def test_operator_values(make, values, dtype):
    same(make(), values, dtype)


@pytest.mark.parametrize("make,values", [
    (lambda: mx.array([1, 2]) == mx.array([1, 3]), [True, False]),
    (lambda: mx.array([1, 2]) == 2, [False, True]),
    (lambda: mx.array([1, 2]) < 1.5, [True, False]),
    (lambda: mx.array([1.0, float("nan")]) != mx.array([1.0, float("nan")]), [False, True]),
    (lambda: mx.array([1.0, float("nan")]) == mx.array([1.0, float("nan")]), [True, False]),
    (lambda: mx.array([True, False]) >= mx.array([False, False]), [True, True]),
    (lambda: mx.array([1], mx.uint32) > mx.array([-1]), [True]),
    (lambda: mx.array([[1], [2]]) <= mx.array([1, 2]), [[True, True], [False, True]]),
])
def test_comparisons(make, values):
    same(make(), values, mx.bool_)


def test_eval_of_nested_structures():
    a, b, c = mx.array([1]) + 1, mx.array(2) * 3, mx.array([1.5]) - 1
    assert mx.eval({"a": [a, (b,)], "c": c}) is None
    assert all(x._has_value() for x in (a, b, c))
    mx.eval([1, mx.array(1)], None)  # non-array leaves are ignored
    same(a, [2], mx.int32)
    same(b, 6, mx.int32)


# -- devices and streams -----------------------------------------------------------------------
def test_devices_and_streams_as_mlx():
    assert repr(mx.default_device()) == "Device(cpu, 0)"
    assert repr(mx.cpu) == "DeviceType.cpu" and str(mx.gpu) == "DeviceType.gpu"
    assert repr(mx.Device(mx.gpu, 1)) == "Device(gpu, 1)"
    d = mx.default_device()
    assert d.type == mx.cpu and d == mx.cpu and d == mx.Device(mx.cpu) and d != mx.gpu
    s = mx.default_stream(mx.cpu)
    assert repr(s) == "Stream(Device(cpu, 0), 0)" and s.device == mx.cpu
    s2 = mx.new_stream(mx.cpu)
    assert s2 != s and s2.device == d
    with mx.stream(s2):
        assert mx.default_stream(mx.cpu) == s2
    assert mx.default_stream(mx.cpu) == s
    assert mx.synchronize() is None and mx.synchronize(s) is None
    assert mx.is_available(mx.cpu)
    with pytest.raises(TypeError):
        mx.Stream(mx.cpu)
    assert mx.add(1, 2, stream=mx.cpu).item() == 3


def test_gpu_default_refuses_evaluation_with_a_clear_error():
    x = mx.array([1.0, 2.0]) * 2
    mx.set_default_device(mx.gpu)
    try:
        assert mx.default_device() == mx.gpu
        with pytest.raises(RuntimeError, match="no gpu backend.*Available backends: cpu"):
            mx.eval(x)
    finally:
        mx.set_default_device(mx.cpu)
    with mx.stream(mx.gpu):
        assert mx.default_device() == mx.Device(mx.gpu)
        with pytest.raises(RuntimeError):
            np.array(x)
    assert mx.default_device() == mx.cpu
    same(x, [2.0, 4.0], mx.float32)


# -- mxir.utils ---------------------------------------------------------------------------------
TREE = {"a": [1, {"b": 2}], "c": (3, 4)}


def test_tree_flatten_paths():
    assert tree_flatten(TREE) == [("a.0", 1), ("a.1.b", 2), ("c.0", 3), ("c.1", 4)]
    assert tree_flatten(TREE, prefix=".x")[0] == ("x.a.0", 1)
    assert tree_flatten(TREE, prefix="x")[0] == (".a.0", 1)  # MLX drops the first character
    assert tree_flatten([1, 2]) == [("0", 1), ("1", 2)]
    assert tree_flatten(5) == [("", 5)]
    assert tree_flatten({"a": None, "b": []}) == [("a", None)]
    assert tree_flatten(TREE, is_leaf=lambda x: isinstance(x, list))[0] == ("a", [1, {"b": 2}])
    assert tree_flatten(TREE, destination={}) == {"a.0": 1, "a.1.b": 2, "c.0": 3, "c.1": 4}


def test_tree_unflatten():
    assert tree_unflatten(tree_flatten(TREE)) == {"a": [1, {"b": 2}], "c": [3, 4]}
    assert tree_unflatten([("0", 1), ("1", 2)]) == [1, 2]
    assert tree_unflatten([("a.2", 1)]) == {"a": [{}, {}, 1]}
    assert tree_unflatten({"hello.world": 42}) == {"hello": {"world": 42}}
    assert tree_unflatten([("", 5)]) == 5
    assert tree_unflatten([("01", 1), ("1", 2)]) == {"01": 1, "1": 2}


def test_tree_map_reduce_merge():
    assert tree_map(lambda x: x * 2, TREE) == {"a": [2, {"b": 4}], "c": (6, 8)}
    assert tree_map(lambda x, y: x + y, [1, 2], [3, 4]) == [4, 6]
    assert tree_map_with_path(lambda p, x: p, TREE) == {"a": ["a.0", {"b": "a.1.b"}],
                                                        "c": ("c.0", "c.1")}
    assert tree_map_with_path(lambda p, x: p, 5) is None
    assert tree_map_with_path(lambda p, x: p, [1], path="m") == ["m.0"]
    assert tree_reduce(lambda acc, x: acc + x, TREE, 0) == 10
    assert tree_reduce(lambda acc, x: acc + x, TREE) == 10
    assert tree_merge({"a": [1, {}], "b": 2}, {"a": [None, {"c": 3}, 5]}) == {
        "a": [1, {"c": 3}, 5], "b": 2}
    assert tree_merge({"a": 1}, {"a": 2}, lambda x, y: x + y) == {"a": 3}
    with pytest.raises(ValueError):
        tree_merge({"a": 1}, {"a": 2})


def test_trees_of_arrays():
    params = {"w": mx.ones((2, 2)), "layers": [{"b": mx.zeros((2,))}]}
    flat = tree_flatten(params)
    assert [k for k, _ in flat] == ["w", "layers.0.b"]
    doubled = tree_unflatten([(k, v * 2) for k, v in flat])
    same(doubled["w"], np.full((2, 2), 2.0), mx.float32)
    total = tree_reduce(lambda acc, x: acc + mx.sum(x), params, mx.array(0.0))
    assert total.item() == 4.0


def test_scalar_operands_keep_the_sign_of_zero():
    """Scalar operands are cached by value: -0.0 and 0.0 compare equal, yet 1 / (x * -0.0) is
    -inf, in every float kind (NumPy's included), as in MLX."""
    x = mx.array([1.0])
    for neg, pos in ((-0.0, 0.0), (np.float32(-0.0), np.float32(0.0)),
                     (np.float64(-0.0), np.float64(0.0))):
        assert np.array(1 / (x * neg))[0] == -np.inf
        assert np.array(1 / (x * pos))[0] == np.inf
        assert np.array(1 / (x * neg))[0] == -np.inf  # the cache holds both
