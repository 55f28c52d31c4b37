"""mx.linalg on generated matrices (sizes 1, 3, 5; unbatched and batched; every norm order),
against MLX itself (the test-only oracle): shapes, dtypes and values, or MLX's exception and
message."""

from __future__ import annotations

import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

import mxir  # noqa: E402


def _cases():
    rng = np.random.default_rng(5)
    for n in (1, 3, 5):
        for batch in ((), (2,)):
            a = rng.standard_normal(batch + (n, n)).astype(np.float32)
            g = rng.standard_normal(batch + (n, n))
            spd = (g @ np.swapaxes(g, -1, -2) + n * np.eye(n)).astype(np.float32)
            b = rng.standard_normal(batch + (n, 2)).astype(np.float32)
            tri = np.tril(a) + 3 * np.eye(n, dtype=np.float32)
            v3 = [rng.standard_normal(batch + (3,)).astype(np.float32) for _ in range(2)]
            yield from [("inv", (a,), {}), ("solve", (a, b), {}), ("cholesky", (spd,), {}),
                        ("cholesky", (spd,), {"upper": True}), ("pinv", (a,), {}),
                        ("tri_inv", (np.swapaxes(tri, -1, -2),), {"upper": True}),
                        ("cholesky_inv", (np.linalg.cholesky(spd).astype(np.float32),), {}),
                        ("solve_triangular", (tri, b), {}), ("eigvalsh", (spd,), {}),
                        ("svd", (a,), {"compute_uv": False}), ("lu_factor", (a,), {}),
                        ("cross", tuple(v3), {})]
            for kw in [{}, {"ord": "fro"}, {"ord": 1}, {"ord": -np.inf}, {"ord": 2},
                       {"ord": "nuc"}, {"axis": -1}, {"ord": 3, "axis": -1},
                       {"ord": 0, "axis": -1}]:
                yield "norm", (a,), kw


def _outcome(mx, name, args, kw):
    try:
        with mx.stream(mx.cpu):
            r = getattr(mx.linalg, name)(*[mx.array(x) for x in args], **kw)
            return [(x.shape, str(x.dtype).split(".")[-1], np.array(x))
                    for x in (r if isinstance(r, (list, tuple)) else [r])]
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("name, args, kw", list(_cases()))
def test_matches_mlx(name, args, kw):
    want, got = _outcome(mlx, name, args, kw), _outcome(mxir, name, args, kw)
    if isinstance(want, tuple):
        assert got == want
        return
    assert [(s, d) for s, d, _ in got] == [(s, d) for s, d, _ in want]
    for (_, _, g), (_, _, w) in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)
