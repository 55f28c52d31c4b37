"""The CUDA backend through the whole frontend, on a machine with an NVIDIA GPU (skipped
elsewhere; benchmarks/cuda_frontend.sh runs it on the device machine): every op of the op table
compiled to PTX and run against the reference interpreter, the seed's examples and grad / vmap /
compile of an MLP with `mx.gpu` as the default device, against NumPy."""

from __future__ import annotations

import mxir as mx
import numpy as np
import pytest
from harness import context, random_values, single_op_module
from mlir import ir
from mxir.dialect import TensorType, to_storage
from mxir.dialect.core import from_storage, is_float
from mxir.passes.reference import interpret
from mxir.runtime import cuda

if not cuda.is_available():
    pytest.skip("no CUDA device here", allow_module_level=True)

from test_gpu_ops import LIBRARY_CASES, SEED_CHECKS, all_cases  # noqa: E402
from test_gpu_pipeline import CASES  # noqa: E402
from test_transform_rules import DOMAIN  # noqa: E402


@pytest.fixture
def on_cuda(monkeypatch):
    monkeypatch.setenv("MXIR_GPU_BACKEND", "cuda")
    mx.set_default_device(mx.gpu)
    yield
    mx.set_default_device(mx.cpu)


@pytest.mark.parametrize("name,operands,attrs,fixed", all_cases(),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(all_cases())])
def test_op_on_cuda_matches_reference(name, operands, attrs, fixed):
    from mxir.passes.ptx import compile_for_ptx
    from mxir.runtime.plan import run_plan

    device = cuda.open_device()
    rng = np.random.default_rng(0)
    in_types = [TensorType(s, d) for s, d in operands]
    inputs = []
    for t, value in zip(in_types, fixed):
        if value is None:
            lo, hi = DOMAIN.get(name, (-2, 2))
            value = random_values(t.shape, t.dtype, rng, lo, hi)
        inputs.append(to_storage(np.asarray(value), t.dtype))
    with context(), ir.Location.unknown():
        module, out_types = single_op_module(name, in_types, attrs)
        ref = interpret(module, "main", inputs)
        exe = compile_for_ptx(module, chip=device.chip())
    outs = [np.empty(t.shape, to_storage(np.zeros(()), t.dtype).dtype) for t in out_types]
    run_plan(exe, device, inputs, outs)
    for g, r, t in zip(outs, ref, out_types):
        g, r = from_storage(g, t.dtype), from_storage(r, t.dtype)
        if is_float(t.dtype):
            np.testing.assert_allclose(g, r, rtol=3e-5, atol=3e-6, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("index", range(len(SEED_CHECKS)))
def test_seed_examples_on_cuda(index, on_cuda):
    fn, expected = SEED_CHECKS[index]
    assert repr(fn()) == expected


def _arr(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("case", sorted(CASES))
def test_frontend_cases_on_cuda_match_the_cpu(case, monkeypatch):
    x, y = mx.array(_arr((37, 300))), mx.array(_arr((300, 21), seed=1))
    i = mx.array(np.array([0, 36, 36], np.int32))
    expect = np.array(CASES[case](x, y, i))
    monkeypatch.setenv("MXIR_GPU_BACKEND", "cuda")
    mx.set_default_device(mx.gpu)
    try:
        got = np.array(CASES[case](x, y, i))
    finally:
        mx.set_default_device(mx.cpu)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    np.testing.assert_allclose(got, expect, rtol=2e-5, atol=2e-4)


@pytest.mark.parametrize("case", sorted(LIBRARY_CASES))
def test_gemm_cases_on_cuda_match_numpy(case, on_cuda):
    fn, shapes = LIBRARY_CASES[case]
    rng = np.random.default_rng(len(case))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    got = [np.array(o) for o in fn(*[mx.array(a) for a in arrays])]
    mx.set_default_device(mx.cpu)
    ref = [np.array(o) for o in fn(*[mx.array(a) for a in arrays])]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-5)


def _mlp_loss(w1, b1, w2, b2, x, y):
    h = mx.maximum(x @ w1 + b1, 0.0)
    return mx.mean(mx.sum(mx.square(h @ w2 + b2 - y), axis=1))


def _mlp_numpy(w1, b1, w2, b2, x, y):
    """Loss and gradients of _mlp_loss in float64, by hand."""
    w1, b1, w2, b2, x, y = (a.astype(np.float64) for a in (w1, b1, w2, b2, x, y))
    pre = x @ w1 + b1
    h = np.maximum(pre, 0.0)
    d = h @ w2 + b2 - y
    loss = np.mean(np.sum(d * d, axis=1))
    dd = 2 * d / x.shape[0]
    dh = (dd @ w2.T) * (pre > 0)
    return loss, (x.T @ dh, dh.sum(0), h.T @ dd, dd.sum(0))


def _mlp_data(n=64):
    rng = np.random.default_rng(7)
    return [(rng.standard_normal(s) * sc).astype(np.float32) for s, sc in
            [((784, 128), 0.05), ((128,), 0.1), ((128, 10), 0.1), ((10,), 0.1),
             ((n, 784), 1.0), ((n, 10), 1.0)]]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_mlp_value_and_grad_on_cuda_matches_numpy(compiled, on_cuda):
    data = _mlp_data()
    step = mx.value_and_grad(_mlp_loss, argnums=(0, 1, 2, 3))
    if compiled:
        step = mx.compile(step)
    for _ in range(2):  # the second call reuses the compiled program
        loss, grads = step(*[mx.array(a) for a in data])
    ref_loss, ref_grads = _mlp_numpy(*data)
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=1e-4)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(np.array(g), r, rtol=1e-3, atol=1e-5)


def test_per_example_grads_by_vmap_on_cuda_match_numpy(on_cuda):
    w1, b1, w2, b2, x, y = _mlp_data(16)

    def loss_one(w2, h, t):
        return mx.sum(mx.square(h @ w2 - t))

    h = np.maximum(x @ w1 + b1, 0.0)
    per_example = mx.vmap(mx.grad(loss_one), in_axes=(None, 0, 0))(
        mx.array(w2), mx.array(h), mx.array(y))
    ref = np.stack([np.outer(hi, 2 * (hi @ w2 - yi)) for hi, yi in
                    zip(h.astype(np.float64), y.astype(np.float64))])
    np.testing.assert_allclose(np.array(per_example), ref, rtol=1e-4, atol=1e-4)
