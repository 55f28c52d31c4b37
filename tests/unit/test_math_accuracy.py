"""mx-math-approx: float32 approximations vs NumPy float64, in ulps, over the whole float range
(random bit patterns: denormals, huge arguments), plus NumPy's inf/nan/signed-zero results.
Both forms are checked: vectorised (a big array, expanded in place) and scalar calls to the
shared function (a small array used by many ops)."""

from __future__ import annotations

import math

import mxir as mx
import numpy as np
import pytest
from mxir.passes import math_approx

MAX_ULPS = {"exp": 1.5, "log": 1.5, "log1p": 3, "expm1": 3, "sin": 2, "cos": 2, "tanh": 2.5,
            "erf": 3}
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.1754942e-38, 2.0**-126,
                    88.72, 88.73, -87.3, -103.9, -104.0, -200.0, 1.0, -1.0, 0.5, 3.4e38, -3.4e38,
                    1e-8, -1e-8, 0.7853982, 1.5707964, 3.1415927, 1e4, 8192.5, 1.6430e38,
                    2.0**20, 2.0**20 + 1, 1e-30, 7.0, -0.999999, 1e30], np.float32)


def _inputs(n=1 << 18, seed=0):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    scaled = [rng.uniform(-s, s, n // 8).astype(np.float32) for s in (1e-3, 1.0, 10.0, 1e3)]
    return np.concatenate([SPECIAL, bits, *scaled])


def _reference(name, x):
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        if name == "erf":
            return np.vectorize(math.erf, otypes=[np.float64])(x64)
        return getattr(np, name)(x64)


def _ulps(got, ref64):
    with np.errstate(all="ignore"):
        ref = ref64.astype(np.float32)
        spacing = np.maximum(np.spacing(np.abs(ref)).astype(np.float64), 2.0**-149)
        finite = np.isfinite(got) & np.isfinite(ref)
        return np.where(finite, np.abs(got.astype(np.float64) - ref64) / spacing, 0.0), ref


def _check(name, got, x):
    ref64 = _reference(name, x)
    ulps, ref = _ulps(got, ref64)
    assert np.array_equal(np.isnan(got), np.isnan(ref)), x[np.isnan(got) != np.isnan(ref)][:5]
    infs = np.isinf(ref) | np.isinf(got)
    assert np.array_equal(got[infs], ref[infs]), x[infs][got[infs] != ref[infs]][:5]
    zeros = ref == 0
    assert np.array_equal(np.signbit(got[zeros]), np.signbit(ref[zeros]))
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= MAX_ULPS[name], (name, x[worst], got[worst], ref[worst], ulps[worst])


@pytest.mark.parametrize("name", sorted(MAX_ULPS))
def test_vectorised_approximation_within_ulps_of_float64(name):
    x = _inputs()
    _check(name, np.array(getattr(mx, name)(mx.array(x))), x)


@pytest.mark.parametrize("name", sorted(MAX_ULPS))
def test_shared_scalar_function_within_ulps(name):
    # more uses than INLINE_SITES of one kind: calls to @__mx_<name>_f32, small scalar loops
    x = _inputs(n=256, seed=1)[: 256 + len(SPECIAL)]
    parts = np.array_split(x, math_approx.INLINE_SITES + 2)
    fn = getattr(mx, name)
    outs = [fn(mx.array(p)) for p in parts]
    mx.eval(*outs)
    _check(name, np.concatenate([np.array(o) for o in outs]), np.concatenate(parts))


def test_sin_cos_huge_arguments_use_exact_reduction():
    # beyond 2^20 (Payne-Hanek); known hard cases for float32 reduction included
    x = np.array([1.6430e38, 2.0**100, -3.0e37, 2.0**24 + 1, 1e22, 2.0**20 * 3.0],
                 np.float32)
    for name in ("sin", "cos"):
        _check(name, np.array(getattr(mx, name)(mx.array(np.tile(x, 300)))), np.tile(x, 300))


def test_two_over_pi_bits_are_those_of_two_over_pi():
    words = math_approx._PH_WORDS
    value = 0
    for w in words:
        value = (value << 64) | w
    pad = math_approx._PH_PAD
    assert value >> (64 * len(words) - pad - 1) == 0  # pad + 1 leading zero bits
    assert abs(value / 2.0 ** (64 * len(words) - 1 - pad) - 2 / math.pi) < 1e-16
    assert abs(math_approx._PIO2_HI + math_approx._PIO2_LO - math.pi / 2) < 1e-16


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_float_types_still_match_numpy(dtype):
    x = np.linspace(-6, 6, 4096).astype(np.float32)
    for name in ("exp", "sin", "tanh", "log1p"):
        xs = np.abs(x) if name == "log1p" else x
        got = np.array(getattr(mx, name)(mx.array(xs).astype(getattr(mx, dtype))).astype(
            mx.float32)).astype(np.float64)
        ref = _reference(name, np.array(mx.array(xs).astype(getattr(mx, dtype)).astype(
            mx.float32)))
        tol = {"float16": 2e-3, "bfloat16": 1.6e-2, "float64": 1e-6}[dtype]
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_sin_cos_near_multiples_of_half_pi_in_float32_reduction():
    # the float32 Cody-Waite range (|x| <= 4096): the floats nearest k pi/2 cancel the most
    # (an exhaustive run over all floats in [0, 4096] gave at most 1.53 ulps)
    k = np.arange(1, 2608, dtype=np.float64) * (np.pi / 2)
    near = k.astype(np.float32)
    x = np.concatenate([near, np.nextafter(near, np.float32(0)), np.nextafter(near, np.inf),
                        np.float32([4096.0, np.nextafter(np.float32(4096), np.inf)])])
    x = np.concatenate([x, -x])
    for name in ("sin", "cos"):
        _check(name, np.array(getattr(mx, name)(mx.array(x))), x)


def test_lanes_taking_the_wide_paths_leave_the_others_alone():
    # one huge argument (sin/cos: float64 or Payne-Hanek reduction) or one exp argument past
    # +-87 (two powers of two) sends its whole vector to the wide path
    rng = np.random.default_rng(3)
    x = rng.uniform(-6, 6, 4096).astype(np.float32)
    x[::37] = np.float32(1e30)
    x[5::41] = np.float32(5000.0)
    x[7::43] = np.inf
    for name in ("sin", "cos"):
        _check(name, np.array(getattr(mx, name)(mx.array(x))), x)
    y = rng.uniform(-20, 20, 4096).astype(np.float32)
    y[::29] = np.float32(-95.0)  # a denormal result
    y[3::31] = np.float32(88.5)
    _check("exp", np.array(mx.exp(mx.array(y))), y)
