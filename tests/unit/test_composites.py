"""MLX functions built from other ops, against NumPy."""

import mxir as mx
import numpy as np
import pytest

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4)).astype(np.float32)
SPECIAL = np.array([0.0, -1.5, np.nan, np.inf, -np.inf, 2.0], np.float32)

CASES = [
    ("degrees", lambda m: m.degrees(m_(A)), lambda: np.degrees(A)),
    ("radians", lambda m: m.radians(m_(A)), lambda: np.radians(A)),
    ("isnan", lambda m: m.isnan(m_(SPECIAL)), lambda: np.isnan(SPECIAL)),
    ("isinf", lambda m: m.isinf(m_(SPECIAL)), lambda: np.isinf(SPECIAL)),
    ("isfinite", lambda m: m.isfinite(m_(SPECIAL)), lambda: np.isfinite(SPECIAL)),
    ("isposinf", lambda m: m.isposinf(m_(SPECIAL)), lambda: np.isposinf(SPECIAL)),
    ("isneginf", lambda m: m.isneginf(m_(SPECIAL)), lambda: np.isneginf(SPECIAL)),
    ("nan_to_num", lambda m: m.nan_to_num(m_(SPECIAL)), lambda: np.nan_to_num(SPECIAL)),
    ("isclose", lambda m: m.isclose(m_(SPECIAL), m_(SPECIAL + 1e-7)),
     lambda: np.isclose(SPECIAL, SPECIAL + 1e-7)),
    ("moveaxis", lambda m: m.moveaxis(m_(A.reshape(3, 2, 2)), 0, -1),
     lambda: np.moveaxis(A.reshape(3, 2, 2), 0, -1)),
    ("swapaxes", lambda m: m.swapaxes(m_(A), 0, 1), lambda: np.swapaxes(A, 0, 1)),
    ("tril", lambda m: m.tril(m_(A), -1), lambda: np.tril(A, -1)),
    ("triu", lambda m: m.triu(m_(A), 1), lambda: np.triu(A, 1)),
    ("tri", lambda m: m.tri(3, 4, 1), lambda: np.tri(3, 4, 1, dtype=np.float32)),
    ("diag_of_vector", lambda m: m.diag(m_(A[0]), 1), lambda: np.diag(A[0], 1)),
    ("diag_of_vector_below", lambda m: m.diag(m_(A[0]), -2), lambda: np.diag(A[0], -2)),
    ("diag_of_matrix", lambda m: m.diag(m_(A), -1), lambda: np.diag(A, -1)),
    ("diagonal", lambda m: m.diagonal(m_(A), 1), lambda: np.diagonal(A, 1)),
    ("trace", lambda m: m.trace(m_(A)), lambda: np.trace(A)),
    ("repeat", lambda m: m.repeat(m_(A), 2, axis=1), lambda: np.repeat(A, 2, axis=1)),
    ("repeat_flat", lambda m: m.repeat(m_(A), 3), lambda: np.repeat(A, 3)),
    ("tile", lambda m: m.tile(m_(A), (2, 1, 3)), lambda: np.tile(A, (2, 1, 3))),
    ("roll", lambda m: m.roll(m_(A), 2, axis=1), lambda: np.roll(A, 2, axis=1)),
    ("roll_flat", lambda m: m.roll(m_(A), -5), lambda: np.roll(A, -5)),
    ("kron", lambda m: m.kron(m_(A[:2, :2]), m_(A[1:, 1:3])),
     lambda: np.kron(A[:2, :2], A[1:, 1:3])),
    ("atleast_3d", lambda m: m.atleast_3d(m_(A[0])), lambda: np.atleast_3d(A[0])),
    ("unflatten", lambda m: m.unflatten(m_(A), 1, (2, 2)), lambda: A.reshape(3, 2, 2)),
    ("addmm", lambda m: m.addmm(m_(A[:, :3]), m_(A[:, :2]), m_(A[:2, :3]), 2.0, 0.5),
     lambda: 2.0 * A[:, :2] @ A[:2, :3] + 0.5 * A[:, :3]),
]


def m_(x):
    return mx.array(x)


@pytest.mark.parametrize("name,got,want", CASES, ids=[c[0] for c in CASES])
def test_composite_matches_numpy(name, got, want):
    g, w = np.array(got(mx)), want()
    assert g.shape == w.shape
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-5,
                               atol=1e-6, equal_nan=True)


def test_meshgrid_both_indexings():
    x, y = np.arange(3.0), np.arange(4.0)
    for indexing in ("xy", "ij"):
        got = mx.meshgrid(mx.array(x), mx.array(y), indexing=indexing)
        for g, w in zip(got, np.meshgrid(x, y, indexing=indexing)):
            np.testing.assert_array_equal(np.array(g), w)


def test_allclose_and_array_equal():
    assert mx.allclose(mx.array(A), mx.array(A + 1e-9)).item()
    assert not mx.array_equal(mx.array(A), mx.array(A + 1)).item()
    assert mx.array_equal(mx.array(SPECIAL), mx.array(SPECIAL), equal_nan=True).item()


def test_save_and_load_round_trip(tmp_path):
    mx.save(tmp_path / "a.npy", mx.array(A))
    np.testing.assert_array_equal(np.array(mx.load(tmp_path / "a.npy")), A)
    mx.savez(tmp_path / "b.npz", first=mx.array(A))
    np.testing.assert_array_equal(np.array(mx.load(tmp_path / "b.npz")["first"]), A)


def test_composites_are_differentiable():
    g = mx.grad(lambda x: mx.sum(mx.tile(mx.roll(x, 1), 2) * mx.arange(8.0)))(
        mx.array(np.arange(4.0, dtype=np.float32)))
    w = np.tile(np.arange(8.0).reshape(2, 4).sum(0), 1)
    np.testing.assert_allclose(np.array(g), np.roll(w, -1))
