"""mx.fast (composites) against MLX on generated cases: values, dtypes, vjp and jvp; vmap against
a Python loop."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")


def _cases():
    """(name, f(m, *arrays), input arrays) with random shapes and data."""
    rng = np.random.default_rng(12)
    out = []
    for _ in range(3):
        b, t, d = (int(v) for v in rng.integers(1, 4, 3))
        d *= 4
        x = rng.standard_normal((b, t, d)).astype(np.float32)
        w, bias = (rng.standard_normal(d).astype(np.float32) for _ in range(2))
        eps = float(rng.uniform(1e-6, 1e-3))
        out.append(("rms_norm", lambda m, x, w, eps=eps: m.fast.rms_norm(x, w, eps), [x, w]))
        out.append(("layer_norm", lambda m, x, w, c, eps=eps: m.fast.layer_norm(x, w, c, eps),
                    [x, w, bias]))
        dims = int(rng.choice([d, d // 2])) // 2 * 2
        trad, off = bool(rng.integers(2)), int(rng.integers(0, 5))
        scale = float(rng.uniform(0.5, 2))
        out.append(("rope", lambda m, x, dims=dims, trad=trad, off=off, scale=scale: m.fast.rope(
            x, dims, traditional=trad, base=10000.0, scale=scale, offset=off), [x]))
        n_kv = int(rng.integers(1, 3))
        n_q = n_kv * int(rng.integers(1, 3))
        t_q, t_kv = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        q = rng.standard_normal((b, n_q, t_q, d)).astype(np.float32)
        k = rng.standard_normal((b, n_kv, t_kv, d)).astype(np.float32)
        v = rng.standard_normal((b, n_kv, t_kv, d)).astype(np.float32)
        sc = float(d ** -0.5)
        out.append(("sdpa", lambda m, q, k, v, sc=sc: m.fast.scaled_dot_product_attention(
            q, k, v, scale=sc), [q, k, v]))
        if t_kv >= t_q:
            out.append(("sdpa causal", lambda m, q, k, v, sc=sc:
                        m.fast.scaled_dot_product_attention(q, k, v, scale=sc, mask="causal"),
                        [q, k, v]))
        add = rng.standard_normal((1, n_q, t_q, t_kv)).astype(np.float32)
        out.append(("sdpa additive", lambda m, q, k, v, a, sc=sc:
                    m.fast.scaled_dot_product_attention(q, k, v, scale=sc, mask=a),
                    [q, k, v, add]))
        keep = rng.random((t_q, t_kv)) > 0.3
        keep[:, 0] = True  # no fully masked row (NaN in both)
        out.append(("sdpa bool", lambda m, q, k, v, keep=keep, sc=sc:
                    m.fast.scaled_dot_product_attention(q, k, v, scale=sc,
                                                        mask=m.array(keep)), [q, k, v]))
        sinks = rng.standard_normal(n_q).astype(np.float32)
        out.append(("sdpa sinks", lambda m, q, k, v, s, sc=sc: m.fast.scaled_dot_product_attention(
            q, k, v, scale=sc, sinks=s), [q, k, v, sinks]))
        out += _gated_delta_cases(rng)
    return out


def _gated_delta_cases(rng):
    """gated_delta_update's output and final state, with grouped heads, an initial state and a
    mask (gamma in (0.5, 1), beta in (0, 1), keys scaled by 1/sqrt(Dk) as in models)."""
    b, t = (int(v) for v in rng.integers(1, 4, 2))
    hk = int(rng.integers(1, 3))
    hv, dk, dv = hk * int(rng.integers(1, 3)), int(rng.integers(2, 6)), int(rng.integers(2, 6))
    q = rng.standard_normal((b, t, hk, dk)).astype(np.float32)
    k = (rng.standard_normal((b, t, hk, dk)) / np.sqrt(dk)).astype(np.float32)
    v = rng.standard_normal((b, t, hv, dv)).astype(np.float32)
    g = rng.uniform(0.5, 1, (b, t, hv)).astype(np.float32)
    beta = rng.uniform(0, 1, (b, t, hv)).astype(np.float32)
    s0 = rng.standard_normal((b, hv, dv, dk)).astype(np.float32)
    keep = rng.random((b, t)) > 0.3
    return [("gated_delta y", lambda m, *a: m.fast.gated_delta_update(*a)[0],
             [q, k, v, g, beta]),
            ("gated_delta state", lambda m, *a, keep=keep: m.fast.gated_delta_update(
                *a, mask=m.array(keep))[1], [q, k, v, g, beta, s0]),
            ("gated_delta masked y", lambda m, *a, keep=keep: m.fast.gated_delta_update(
                *a, mask=m.array(keep))[0], [q, k, v, g, beta, s0])]


CASES = _cases()


def _wrap(m, xs):
    return [m.array(x) for x in xs]


@pytest.mark.parametrize("name,f,xs", CASES, ids=[c[0] for c in CASES])
def test_fast_matches_mlx_values_vjp_jvp(name, f, xs):
    got, want = f(mx, *_wrap(mx, xs)), f(mlx, *_wrap(mlx, xs))
    assert got.shape == tuple(want.shape) and got.dtype.name == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(1)
    ct = rng.standard_normal(want.shape).astype(np.float32)
    tans = [rng.standard_normal(x.shape).astype(np.float32) for x in xs]
    argnums = tuple(range(len(xs)))
    g = mx.grad(lambda *a: mx.sum(f(mx, *a) * mx.array(ct)), argnums=argnums)(*_wrap(mx, xs))
    gw = mlx.grad(lambda *a: mlx.sum(f(mlx, *a) * mlx.array(ct)), argnums=argnums)(
        *_wrap(mlx, xs))
    for a, b in zip(g, gw):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-3, atol=1e-4)
    _, (t,) = mx.jvp(lambda *a: f(mx, *a), _wrap(mx, xs), _wrap(mx, tans))
    _, (tw,) = mlx.jvp(lambda *a: f(mlx, *a), _wrap(mlx, xs), _wrap(mlx, tans))
    np.testing.assert_allclose(np.array(t), np.array(tw), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name,f,xs", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_fast_vmap_matches_loop(name, f, xs):
    rng = np.random.default_rng(2)
    stacked = [np.stack([x, x + rng.standard_normal(x.shape).astype(np.float32)]) for x in xs]
    got = mx.vmap(lambda *a: f(mx, *a))(*_wrap(mx, stacked))
    for i in range(2):
        np.testing.assert_allclose(np.array(got[i]),
                                   np.array(f(mx, *[mx.array(s[i]) for s in stacked])),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gated_delta_update_half_inputs_bit_for_bit(dtype):
    """y in the inputs' dtype, the state in float32, every bit as MLX's CPU."""
    xs = _gated_delta_cases(np.random.default_rng(7))[0][2]
    ours = mx.fast.gated_delta_update(*[mx.array(x).astype(getattr(mx, dtype)) for x in xs])
    theirs = mlx.fast.gated_delta_update(*[mlx.array(x).astype(getattr(mlx, dtype)) for x in xs])
    for a, b in zip(ours, theirs):
        assert a.dtype.name == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(np.array(a.astype(mx.float32)),
                                      np.array(b.astype(mlx.float32)))


def test_gated_delta_update_vmap_matches_loop():
    for name, f, xs in _gated_delta_cases(np.random.default_rng(3)):
        stacked = [np.stack([x, x * 0.9]) for x in xs]
        got = mx.vmap(lambda *a, f=f: f(mx, *a))(*_wrap(mx, stacked))
        for i in range(2):
            np.testing.assert_allclose(np.array(got[i]),
                                       np.array(f(mx, *[mx.array(s[i]) for s in stacked])),
                                       rtol=1e-5, atol=1e-6, err_msg=name)


def test_fast_errors_as_mlx():
    x = mx.zeros((2, 3, 4))
    for m, a in ((mx, x), (mlx, mlx.zeros((2, 3, 4)))):
        with pytest.raises(ValueError):
            m.fast.rope(a, 4, traditional=False, base=None, scale=1.0, offset=0)
        with pytest.raises(ValueError):
            m.fast.scaled_dot_product_attention(a, a, a, scale=1.0)  # 3-D
        with pytest.raises(ValueError):
            m.fast.rms_norm(a, m.zeros((3,)), 1e-5)
