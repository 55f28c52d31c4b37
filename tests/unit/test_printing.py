"""Array printing, character for character as MLX prints.

Each expected string was printed by MLX 0.32.4 (Linux CPU build) for the same constructor.
"""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest

# (constructor, what MLX prints)
CASES = [
    ('mx.array(7)',
     'array(7, dtype=int32)'),
    ('mx.array(1.0)',
     'array(1, dtype=float32)'),
    ('mx.array(1 / 3)',
     'array(0.333333, dtype=float32)'),
    ('mx.array(3.14159265)',
     'array(3.14159, dtype=float32)'),
    ('mx.array([1e-08, 1e+08])',
     'array([1e-08, 1e+08], dtype=float32)'),
    ('mx.array([1.5, -2.25, 3])',
     'array([1.5, -2.25, 3], dtype=float32)'),
    ('mx.array([1e16, 123456789.0, 0.0001, 1e-05, 100000.0, 1e6])',
     'array([1e+16, 1.23457e+08, 0.0001, 1e-05, 100000, 1e+06], dtype=float32)'),
    ('mx.array([-0.0, 0.0])',
     'array([-0, 0], dtype=float32)'),
    ("mx.array([float('nan'), -float('nan'), float('inf'), -float('inf')])",
     'array([nan, -nan, inf, -inf], dtype=float32)'),
    ('mx.array([1, 2, 3])',
     'array([1, 2, 3], dtype=int32)'),
    ('mx.array([-1, 2**40])',
     'array([-1, 1099511627776], dtype=int64)'),
    ('mx.array([0, 4294967295], dtype=mx.uint32)',
     'array([0, 4294967295], dtype=uint32)'),
    ('mx.array([0, 255], dtype=mx.uint8)',
     'array([0, 255], dtype=uint8)'),
    ('mx.array([True, False, True])',
     'array([True, False, True], dtype=bool)'),
    ('mx.array(False)',
     'array(False, dtype=bool)'),
    ('mx.array([0.1, 65504], dtype=mx.float16)',
     'array([0.0999756, 65504], dtype=float16)'),
    ('mx.array([1 / 3, 2], dtype=mx.bfloat16)',
     'array([0.333984, 2], dtype=bfloat16)'),
    ('mx.array([1 / 3, 1e-300], dtype=mx.float64)',
     'array([0.333333, 1e-300], dtype=float64)'),
    ('mx.array([])',
     'array([], dtype=float32)'),
    ('mx.zeros((2, 0))',
     'array([[],\n'
     '       []], dtype=float32)'),
    ('mx.zeros((0, 3))',
     'array([], dtype=float32)'),
    ('mx.zeros((2, 0, 3))',
     'array([[],\n'
     '       []], dtype=float32)'),
    ('mx.array([[1, 2], [3, 4]], dtype=mx.float32)',
     'array([[1, 2],\n'
     '       [3, 4]], dtype=float32)'),
    ('mx.array([[1.5, 2], [3, -4]])',
     'array([[1.5, 2],\n'
     '       [3, -4]], dtype=float32)'),
    ('mx.array([[5]])',
     'array([[5]], dtype=int32)'),
    ('mx.arange(24).reshape(2, 3, 4)',
     'array([[[0, 1, 2, 3],\n'
     '        [4, 5, 6, 7],\n'
     '        [8, 9, 10, 11]],\n'
     '       [[12, 13, 14, 15],\n'
     '        [16, 17, 18, 19],\n'
     '        [20, 21, 22, 23]]], dtype=int32)'),
    ('mx.arange(16).reshape(2, 2, 2, 2)',
     'array([[[[0, 1],\n'
     '         [2, 3]],\n'
     '        [[4, 5],\n'
     '         [6, 7]]],\n'
     '       [[[8, 9],\n'
     '         [10, 11]],\n'
     '        [[12, 13],\n'
     '         [14, 15]]]], dtype=int32)'),
    ('mx.arange(7)',
     'array([0, 1, 2, ..., 4, 5, 6], dtype=int32)'),
    ('mx.arange(6)',
     'array([0, 1, 2, 3, 4, 5], dtype=int32)'),
    ('mx.arange(2000)',
     'array([0, 1, 2, ..., 1997, 1998, 1999], dtype=int32)'),
    ('mx.arange(80).reshape(8, 10)',
     'array([[0, 1, 2, ..., 7, 8, 9],\n'
     '       [10, 11, 12, ..., 17, 18, 19],\n'
     '       [20, 21, 22, ..., 27, 28, 29],\n'
     '       ...,\n'
     '       [50, 51, 52, ..., 57, 58, 59],\n'
     '       [60, 61, 62, ..., 67, 68, 69],\n'
     '       [70, 71, 72, ..., 77, 78, 79]], dtype=int32)'),
    ('(mx.arange(8 * 2 * 2).reshape(8, 2, 2))',
     'array([[[0, 1],\n'
     '        [2, 3]],\n'
     '       [[4, 5],\n'
     '        [6, 7]],\n'
     '       [[8, 9],\n'
     '        [10, 11]],\n'
     '       ...,\n'
     '       [[20, 21],\n'
     '        [22, 23]],\n'
     '       [[24, 25],\n'
     '        [26, 27]],\n'
     '       [[28, 29],\n'
     '        [30, 31]]], dtype=int32)'),
    ('mx.ones((2, 3))',
     'array([[1, 1, 1],\n'
     '       [1, 1, 1]], dtype=float32)'),
]


@pytest.mark.parametrize("source,expected", CASES, ids=[c[0] for c in CASES])
def test_prints_as_mlx(source, expected):
    a = eval(source)
    assert repr(a) == expected
    assert str(a) == expected


def test_precision_option_prints_fixed_decimals():
    try:
        mx.set_printoptions(precision=3)
        assert mx.get_printoptions().precision == 3
        assert (str(mx.array([1.123456789, 2, 1e-08, 1e+08, float("nan")]))
                == 'array([1.123, 2.000, 0.000, 100000000.000, nan], dtype=float32)')
        assert str(mx.array([1, 2])) == 'array([1, 2], dtype=int32)'
    finally:
        mx.set_printoptions(precision=-1)
    with mx.printoptions(precision=1):
        assert str(mx.array([0.25, 0.35])) == 'array([0.2, 0.3], dtype=float32)'
    assert str(mx.array([1.123456789])) == 'array([1.12346], dtype=float32)'


def test_format_spec_on_arrays():
    assert f"{mx.array(1.5)}|{mx.array(2.5):.3f}|{mx.array(3):d}" == '1.5|2.500|3'
    assert f"{mx.array([1, 2])}" == "array([1, 2], dtype=int32)"
    with pytest.raises(TypeError):
        format(mx.array([1.5, 2.0]), ".3f")


def test_printing_a_lazy_result_evaluates_it():
    x = mx.array([1.0, 2.0]) * 3
    assert repr(x) == "array([3, 6], dtype=float32)"


def test_dtypes_print_as_module_attributes():
    assert repr(mx.float32) == "mxir.float32" and str(mx.int32) == "mxir.int32"


def _generated_prints(mod):
    """repr of generated arrays: every dtype, ranks 0-3, empty shapes, long rows (elided), values
    from 1e-6 to 1e8 scales with inf, NaN, -0.0 and repeating fractions mixed in."""
    rng = np.random.default_rng(1)
    specials = [1e-5, 123456.7, -0.0, np.inf, np.nan, 1e10, 3.0, 0.1, 1 / 3]
    out = []
    for dtype in ["float32", "float16", "bfloat16", "int32", "uint8", "bool_", "int64",
                  "complex64", "float64"]:
        for shape in [(), (3,), (2, 3), (12,), (1001,), (3, 4, 5), (0,), (2, 0)]:
            n = int(np.prod(shape))
            x = rng.standard_normal(n) * rng.choice([1e-6, 1, 1e3, 1e8])
            if n > 2:
                x[:3] = rng.choice(specials, 3)
            x = x.reshape(shape).astype(np.float32)
            if dtype == "complex64":
                a = mod.array(x) + 1j * mod.array(x * 0.5)
            elif dtype == "bool_":
                a = mod.array(x > 0)
            elif dtype in ("int32", "uint8", "int64"):
                ints = np.nan_to_num(x, nan=0, posinf=7, neginf=-7).clip(-1e9, 1e9)
                a = mod.array(ints.astype(np.int64)).astype(getattr(mod, dtype))
            else:
                a = mod.array(x).astype(getattr(mod, dtype))
            with mod.stream(mod.cpu):
                out.append(repr(a).replace(mod.__name__, "mx"))
    return out


def test_generated_arrays_print_as_mlx():
    mlx = pytest.importorskip("mlx.core")
    want, got = _generated_prints(mlx), _generated_prints(mx)
    assert [(w, g) for w, g in zip(want, got) if w != g] == []
