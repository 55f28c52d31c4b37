"""mx.conv* composites: values and result shapes vs MLX on generated cases, gradients vs
finite differences, vmap vs a loop, MLX's errors."""

import mxir as mx
import numpy as np
import pytest

mlx = pytest.importorskip("mlx.core")

RNG = np.random.default_rng(7)


def _generated_cases(count: int = 12):
    """Random valid conv_general configurations (1-3 spatial dims, strides, asymmetric and
    negative padding, both dilations, groups, flip)."""
    cases = []
    while len(cases) < count:
        n = int(RNG.integers(1, 4))
        groups = int(RNG.choice([1, 2]))
        c_in, c_out = groups * int(RNG.integers(1, 3)), groups * int(RNG.integers(1, 3))
        kernel = [int(RNG.integers(1, 4)) for _ in range(n)]
        spatial = [int(RNG.integers(3, 7)) for _ in range(n)]
        kw = dict(stride=[int(RNG.integers(1, 3)) for _ in range(n)],
                  padding=([int(RNG.integers(-1, 3)) for _ in range(n)],
                           [int(RNG.integers(0, 3)) for _ in range(n)]),
                  kernel_dilation=[int(RNG.integers(1, 3)) for _ in range(n)],
                  input_dilation=[int(RNG.integers(1, 3)) for _ in range(n)],
                  groups=groups, flip=bool(RNG.integers(0, 2)))
        x = RNG.standard_normal((2, *spatial, c_in)).astype(np.float32)
        w = RNG.standard_normal((c_out, *kernel, c_in // groups)).astype(np.float32)
        try:
            mlx.conv_general(mlx.array(x), mlx.array(w), **kw)
        except ValueError:  # e.g. kernel larger than the padded input
            continue
        cases.append((x, w, kw))
    return cases


def test_conv_general_generated_cases_match_mlx():
    cases = _generated_cases()
    got = [mx.conv_general(mx.array(x), mx.array(w), **kw) for x, w, kw in cases]
    mx.eval(got)
    for (x, w, kw), g in zip(cases, got):
        want = np.array(mlx.conv_general(mlx.array(x), mlx.array(w), **kw))
        assert g.shape == want.shape, kw
        np.testing.assert_allclose(np.array(g), want, rtol=1e-4, atol=1e-4, err_msg=str(kw))


NAMED = [
    ("conv1d", (2, 9, 4), (6, 3, 2), dict(stride=2, padding=2, dilation=2, groups=2)),
    ("conv2d", (1, 7, 6, 2), (3, 3, 2, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("conv3d", (1, 5, 6, 4, 2), (3, 2, 3, 2, 2), dict(stride=(1, 2, 1), padding=1)),
    ("conv_transpose1d", (2, 8, 4), (3, 3, 4), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (2, 8, 4), (4, 3, 2), dict(groups=2, dilation=2)),
    ("conv_transpose2d", (1, 4, 5, 2), (3, 3, 2, 2),
     dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    ("conv_transpose3d", (1, 3, 4, 3, 2), (2, 2, 3, 2, 2), dict(stride=2, padding=1)),
]


def test_named_convs_match_mlx():
    data = [(RNG.standard_normal(xs).astype(np.float32), RNG.standard_normal(ws).astype(
        np.float32)) for _, xs, ws, _ in NAMED]
    got = [getattr(mx, name)(mx.array(x), mx.array(w), **kw)
           for (name, _, _, kw), (x, w) in zip(NAMED, data)]
    mx.eval(got)
    for (name, _, _, kw), (x, w), g in zip(NAMED, data, got):
        want = np.array(getattr(mlx, name)(mlx.array(x), mlx.array(w), **kw))
        assert g.shape == want.shape and g.dtype == mx.float32, name
        np.testing.assert_allclose(np.array(g), want, rtol=1e-4, atol=1e-4, err_msg=name)


def test_convolve_modes_match_numpy():
    pairs = [(7, 3), (6, 4), (3, 5)]
    data = [(RNG.standard_normal(n).astype(np.float32), RNG.standard_normal(k).astype(
        np.float32)) for n, k in pairs]
    modes = ["full", "same", "valid"]
    got = [mx.convolve(mx.array(a), mx.array(v), mode) for a, v in data for mode in modes]
    mx.eval(got)
    want = [np.convolve(a, v, mode) for a, v in data for mode in modes]
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.array(g), w, rtol=1e-5, atol=1e-5)


def test_conv_grads_match_finite_differences():
    x = RNG.standard_normal((1, 5, 4, 2))
    w = RNG.standard_normal((4, 2, 3, 1))
    kw = dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)

    def f(x, w):
        return mx.sum(mx.sin(mx.conv2d(x, w, **kw)))

    gx, gw = mx.grad(f, argnums=(0, 1))(mx.array(x, mx.float32), mx.array(w, mx.float32))

    def f64(x, w):  # the same function in float64 NumPy, through MLX's float32 conv is too
        return float(np.sum(np.sin(np.array(mx.conv2d(mx.array(x, mx.float32),
                                                      mx.array(w, mx.float32), **kw)))))

    eps = 1e-2
    for arr, g, which in ((x, gx, 0), (w, gw, 1)):
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            hi, lo = arr.copy(), arr.copy()
            hi[i] += eps
            lo[i] -= eps
            args_hi = (hi, w) if which == 0 else (x, hi)
            args_lo = (lo, w) if which == 0 else (x, lo)
            num[i] = (f64(*args_hi) - f64(*args_lo)) / (2 * eps)
        np.testing.assert_allclose(np.array(g), num, rtol=2e-2, atol=2e-2)


def test_conv_transpose_grad_matches_mlx():
    x = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 3)).astype(np.float32)

    def loss(lib):
        return lambda x, w: lib.sum(lib.square(lib.conv_transpose1d(x, w, stride=2, padding=1)))

    got = mx.grad(loss(mx), argnums=(0, 1))(mx.array(x), mx.array(w))
    want = mlx.grad(loss(mlx), argnums=(0, 1))(mlx.array(x), mlx.array(w))
    for g, r in zip(got, want):
        np.testing.assert_allclose(np.array(g), np.array(r), rtol=1e-4, atol=1e-4)


def test_vmap_conv_matches_loop():
    xs = RNG.standard_normal((3, 2, 6, 2)).astype(np.float32)
    w = mx.array(RNG.standard_normal((3, 2, 2)).astype(np.float32))
    got = mx.vmap(lambda x: mx.conv1d(x, w, stride=2, padding=1))(mx.array(xs))
    want = mx.stack([mx.conv1d(mx.array(x), w, stride=2, padding=1) for x in xs])
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)


ERRORS = [
    lambda lib: lib.conv1d(lib.ones((2, 8, 4), dtype=lib.int32), lib.ones((3, 3, 4),
                                                                          dtype=lib.int32)),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 3, 5))),
    lambda lib: lib.conv1d(lib.ones((8, 4)), lib.ones((3, 3, 4))),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 3, 2)), groups=2),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 3, 2)), groups=3),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 3, 4)), stride=0),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 9, 4))),
    lambda lib: lib.conv1d(lib.ones((2, 8, 4)), lib.ones((3, 3, 3, 4))),
    lambda lib: lib.conv_general(lib.ones((2, 8, 4)), lib.ones((3, 3, 4)), input_dilation=0),
    lambda lib: lib.conv_general(lib.ones((2, 8, 4)), lib.ones((3, 3, 4)),
                                 padding=([1], [1, 2])),
    lambda lib: lib.convolve(lib.ones((3, 2)), lib.ones(5)),
    lambda lib: lib.convolve(lib.ones(3), lib.ones(5), mode="x"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_mlx(case):
    with pytest.raises(ValueError) as want:
        ERRORS[case](mlx)
    with pytest.raises(ValueError) as got:
        ERRORS[case](mx)
    assert str(got.value) == str(want.value)
