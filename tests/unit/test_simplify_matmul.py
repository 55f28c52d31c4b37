"""mx-simplify rules of matmul (outer products, a batch times one broadcast matrix, batches
of dot products) and of transpose (unit dims only): compiled results against NumPy, through
the frontend and through vmap(grad), and the rewritten IR."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from mlir import ir
from mxir.evaluate import build_module, context, trace_program
from mxir.passes import run_pipeline


def _simplified(outputs) -> str:
    main, _ = trace_program(list(outputs))
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-verify", "mx-transforms", "mx-simplify"])
        return str(module)


def _rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("sa,sb", [((4, 1), (1, 3)), ((2, 5, 1), (2, 1, 7)), ((1, 1), (1, 1))])
def test_outer_products_match_numpy(sa, sb, dtype):
    a, b = _rand(sa, 0, dtype), _rand(sb, 1, dtype)
    out = mx.matmul(mx.array(a), mx.array(b))
    assert "mx.matmul" not in _simplified([out])
    np.testing.assert_allclose(np.array(out), np.matmul(a, b), rtol=1e-3 if dtype == np.float16
                               else 1e-6)


@pytest.mark.parametrize("wshape", [(5, 3), (1, 5, 3), (3,), (5, 1), ()])
def test_batch_times_broadcast_matrix_is_one_matmul(wshape):
    a, w = _rand((2, 4, 5), 2), _rand(wshape, 3)
    wb = mx.broadcast_to(mx.array(w), (2, 5, 3))
    out = mx.matmul(mx.array(a), wb)
    text = _simplified([out])
    assert text.count("mx.matmul") == 1 and "tensor<8x5xf32>, tensor<5x3xf32>" in text
    np.testing.assert_allclose(np.array(out), a @ np.broadcast_to(w, (2, 5, 3)), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_dots_are_multiply_and_sum(dtype):
    a, b = _rand((6, 1, 9), 4, dtype), _rand((6, 9, 1), 5, dtype)
    out = mx.matmul(mx.array(a), mx.array(b))
    text = _simplified([out])
    assert "mx.matmul" not in text and "mx.sum" in text
    np.testing.assert_allclose(np.array(out), a @ b, rtol=1e-5)


def test_half_batched_dots_keep_the_matmul():
    a, b = _rand((6, 1, 9), 4, np.float16), _rand((6, 9, 1), 5, np.float16)
    out = mx.matmul(mx.array(a), mx.array(b))
    assert "mx.matmul" in _simplified([out])
    ref = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_allclose(np.array(out), ref, rtol=2e-3)


def test_nan_and_inf_propagate_through_outer_products():
    a = np.array([[np.nan], [np.inf], [1.0]], np.float32)
    b = np.array([[0.0, 2.0]], np.float32)
    with np.errstate(invalid="ignore"):
        ref = a @ b
    np.testing.assert_array_equal(np.array(mx.matmul(mx.array(a), mx.array(b))), ref)


def test_unit_dim_transposes_become_reshapes():
    x = _rand((1, 5, 3), 6)
    y = mx.transpose(mx.array(x), (1, 0, 2))
    z = mx.transpose(mx.array(_rand((2, 5, 1), 7)), (1, 0, 2))
    text = _simplified([y, z])
    assert text.count("mx.transpose") == 1 and "mx.reshape" in text
    np.testing.assert_array_equal(np.array(y), np.transpose(x, (1, 0, 2)))


def test_per_example_grads_w4_match_numpy_eager_and_compiled():
    w, x, y = _rand((128,), 8), _rand((64, 128), 9), _rand((64,), 10)

    def loss(w, x, y):
        return mx.square(mx.inner(x, w) - y)

    pe = mx.vmap(mx.grad(loss), in_axes=(None, 0, 0))
    args = [mx.array(v) for v in (w, x, y)]
    text = _simplified([pe(*args)])
    assert "mx.transpose" not in text and text.count("mx.matmul") == 1  # one matrix-vector
    ref = (2 * (x @ w - y))[:, None] * x
    for f in (pe, mx.compile(pe)):
        np.testing.assert_allclose(np.array(f(*args)), ref, rtol=1e-4, atol=1e-4)


def test_grad_through_batched_shared_matrix_matches_numpy():
    a, w = _rand((3, 4, 5), 11), _rand((5, 2), 12)

    def f(a, w):
        return mx.sum(mx.matmul(a, mx.broadcast_to(w, (3, 5, 2))) ** 2)

    ga, gw = mx.grad(f, argnums=(0, 1))(mx.array(a), mx.array(w))
    out = a @ w
    np.testing.assert_allclose(np.array(ga), 2 * out @ w.T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.array(gw), np.einsum("bmk,bmn->kn", a, 2 * out), rtol=1e-4,
                               atol=1e-5)


def test_per_example_grads_codegen_is_one_gemm_and_vectorised():
    """Unit dims are dropped before fusion: the matrix-vector product stays a linalg.matmul
    (a BLAS call) and the 1024x128(x1) elementwise tail is vectorised."""
    from mxir.passes import run_pipeline as run

    w, x, y = (mx.array(_rand(s, i)) for i, s in enumerate([(128,), (1024, 128), (1024,)]))
    pe = mx.vmap(mx.grad(lambda w, x, y: mx.square(mx.inner(x, w) - y)), in_axes=(None, 0, 0))
    main, _ = trace_program([pe(w, x, y)])
    with context(), ir.Location.unknown():
        module = build_module(main)
        run(module, ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg",
                     "mx-emit-c-interface", "mx-cpu-codegen"])
        text = str(module)
    assert text.count("linalg.matmul") == 1 and "vector<64xf32>" in text
