"""mx-cpu-codegen: bounded fusion, tiling + vectorisation (+ threads) of big elementwise ops,
checked on the IR it produces and on results against NumPy for shapes and dtypes at and around
its thresholds."""

from __future__ import annotations

import re

import mxir as mx
import numpy as np
import pytest
from mlir import ir
from mxir.evaluate import build_module, context, trace_program
from mxir.passes import cpu_codegen, run_pipeline

BEFORE = ["mx-verify", "mx-transforms", "mx-simplify", "mx-to-linalg", "mx-emit-c-interface"]


def _codegen_ir(outputs) -> str:
    main, _ = trace_program(list(outputs))
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, [*BEFORE, "mx-cpu-codegen"])
        return str(module)


def w3(lib, x):
    return lib.sin(x) * lib.cos(x) + lib.exp(-x * x)


def test_big_elementwise_is_vectorised_threaded_and_fused():
    x = mx.array(np.ones(cpu_codegen.THREAD_MIN, np.float32))
    text = _codegen_ir([w3(mx, x)])
    assert "scf.forall" in text and f"vector<{cpu_codegen.math_lanes()}xf32>" in text
    assert text.count("linalg.generic") == 0  # one fused op, tiled away
    assert "math.sin" not in text and "math.exp" not in text  # approximations expanded


def test_scalar_operands_broadcast_into_vectors():
    """A program's scalar inputs (Python numbers of a compiled function) are read once in
    front of the op: the op is still vectorised and threaded (W8, `x * 2 + 1`)."""
    x = np.random.default_rng(3).standard_normal((cpu_codegen.THREAD_MIN // 64, 64))
    x = x.astype(np.float32)
    text = _codegen_ir([mx.array(x) * 2.0 + 1.0])
    assert "scf.forall" in text and "vector<64xf32>" in text
    assert text.count("linalg.generic") == 0
    f = mx.compile(lambda v, a: mx.maximum(v * a + 1.0, 0.5))
    np.testing.assert_array_equal(np.array(f(mx.array(x), 3.0)), np.maximum(x * 3 + 1, 0.5))


def test_small_elementwise_stays_plain_loops():
    x = mx.array(np.ones(64, np.float32))
    text = _codegen_ir([w3(mx, x)])
    assert "vector<" not in text and "scf.forall" not in text
    assert text.count("linalg.generic") == 1


def test_long_chain_fuses_in_bounded_groups():
    x = mx.array(np.linspace(0, 1, 16, dtype=np.float32))
    y, ref = x, np.linspace(0, 1, 16, dtype=np.float32)
    for i in range(3 * cpu_codegen.FUSE_GROUP):
        y = y * 0.5 + 0.25 if i % 2 else y + 1.0
        ref = ref * np.float32(0.5) + np.float32(0.25) if i % 2 else ref + np.float32(1.0)
    groups = _codegen_ir([y]).count("linalg.generic")
    assert 3 <= groups <= 8
    np.testing.assert_allclose(np.array(y), ref, rtol=1e-6)


@pytest.mark.parametrize("shape", [(1 << 20,), (cpu_codegen.THREAD_MIN | 1,), (1000,), (1024,),
                                   (1023, 64), (3, 5, 4096), (4097, 40), (2, 1 << 17), (0,),
                                   (0, 4096), ()])
def test_w3_matches_numpy_at_every_shape(shape):
    rng = np.random.default_rng(len(shape) + sum(shape))
    x = rng.uniform(-20, 20, shape).astype(np.float32)
    got = np.array(w3(mx, mx.array(x)))
    np.testing.assert_allclose(got, w3(np, x), rtol=1e-5, atol=1e-6)
    assert got.shape == shape


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "uint32", "float64", "float16",
                                   "bfloat16"])
def test_big_elementwise_other_dtypes(dtype):
    x = (np.arange(1 << 17) % 200).astype(np.float32) - (100 if dtype[0] in "if" else 0)
    a = mx.array(x).astype(getattr(mx, dtype))
    got = np.array((a * a + a).astype(mx.float32)).astype(np.float64)
    if dtype == "bfloat16":  # no NumPy dtype: integers up to 256 are exact, then 8 bits
        np.testing.assert_allclose(got, x.astype(np.float64) ** 2 + x, rtol=1e-2)
        return
    xa = x.astype(dtype)
    np.testing.assert_array_equal(got, (xa * xa + xa).astype(np.float64))


@pytest.mark.parametrize("shape", [(256, 10), (100, 100), (342, 3), (2, 3, 171), (1030,)])
def test_narrow_rows_are_vectorised(shape):
    """Rows whose length no power-of-two width divides (10 classes, 100 features) are tiled by
    their widest divisor, at most one host vector when the body calls math: vectors of odd
    lengths, not scalar loops (W2's 256x10 softmax: 14.7 -> 8.8 µs; exp(x) * 2 + sin(x) on
    512x100: 253 -> 46 µs). Checked against NumPy for math, integer division, narrow and wide
    element types."""
    rng = np.random.default_rng(sum(shape))
    a, b = (rng.uniform(0.5, 3, shape).astype(np.float32) for _ in range(2))
    i, j = rng.integers(-50, 50, shape).astype(np.int32), rng.integers(1, 9, shape).astype(np.int32)
    n = shape[-1]
    width = cpu_codegen._vector_width(n, heavy=True)
    assert width is not None and n % width == 0 and width <= cpu_codegen.math_lanes()
    assert width >= 2  # 3 lanes of 171 on an 8-lane AVX2 host, 2 of 10 on a 4-lane one
    assert f"vector<{width}xf32>" in _codegen_ir([w3(mx, mx.array(a))])
    cases = [(lambda x, y: mx.exp(x) * mx.sin(y) + mx.log(x) - mx.tanh(y), (a, b),
              lambda x, y: np.exp(x) * np.sin(y) + np.log(x) - np.tanh(y), 1e-5),
             (lambda x, y: mx.exp(x - mx.max(x, axis=-1, keepdims=True)), (a, b),
              lambda x, y: np.exp(x - x.max(-1, keepdims=True)), 1e-6),
             (lambda x, y: mx.where(x > y, x, y * 2), (a, b),
              lambda x, y: np.where(x > y, x, y * 2), 0),
             (lambda x, y: x // y + x % y, (i, j), lambda x, y: x // y + x % y, 0),
             (lambda x, y: x.astype(mx.uint8) * 3 + y.astype(mx.uint8), (i, j),
              lambda x, y: x.astype(np.uint8) * np.uint8(3) + y.astype(np.uint8), 0),
             (lambda x, y: (x.astype(mx.float16) * y.astype(mx.float16)).astype(mx.float32),
              (a, b), lambda x, y: (x.astype(np.float16) * y.astype(np.float16)).astype(np.float32),
              1e-3),
             (lambda x, y: mx.exp(x.astype(mx.float64)) * y, (a, b),
              lambda x, y: np.exp(x.astype(np.float64)) * y, 1e-6)]
    for f, args, ref, tol in cases:
        want = ref(*args)
        for fn in (f, mx.compile(f)):
            got = np.array(fn(*[mx.array(v) for v in args]))
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape,axis", [((256, 512), 0), ((512, 256), 1), ((64, 48, 64), 1),
                                        ((2, 256, 512), (0, 1)), ((4096, 33), 1),
                                        ((33, 4096), 0), ((1 << 17, 2), 0)])
def test_big_reductions_are_threaded(shape, axis):
    """A reduction that keeps a parallel loop and reads at least THREAD_MIN elements runs its
    outermost parallel loop in scf.forall chunks (one block per core when a reduction loop is
    outside it); the values match NumPy for sums, products, extrema, integers and float64."""
    rng = np.random.default_rng(len(shape))
    x = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    outer = (axis if isinstance(axis, int) else min(axis)) == 0
    text = _codegen_ir([mx.sum(mx.array(x), axis=axis)])
    keeps = any(d not in ((axis,) if isinstance(axis, int) else axis) and shape[d] > 1
                for d in range(len(shape)))
    assert ("scf.forall" in text) == (keeps and not (outer and shape[-1] < 64))
    i = rng.integers(-9, 9, shape).astype(np.int32)
    cases = [(lambda a: mx.sum(a, axis=axis), x, lambda a: a.sum(axis), 1e-5),
             (lambda a: mx.prod(a, axis=axis), x, lambda a: a.prod(axis), 1e-4),
             (lambda a: mx.max(a * 2, axis=axis), x, lambda a: (a * 2).max(axis), 0),
             (lambda a: mx.min(a, axis=axis, keepdims=True), x,
              lambda a: a.min(axis, keepdims=True), 0),
             (lambda a: mx.sum(a, axis=axis), i, lambda a: a.sum(axis, dtype=np.int32), 0),
             (lambda a: mx.mean(a.astype(mx.float64), axis=axis), x,
              lambda a: a.astype(np.float64).mean(axis), 1e-12)]
    for f, a, ref, tol in cases:
        want = ref(a)
        for fn in (f, mx.compile(f)):
            got = np.array(fn(mx.array(a)))
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape", [(64, 1024), (3, 128, 48), (512, 10)])
def test_max_and_min_over_rows_run_in_vector_lanes(shape, dtype):
    """A float max/min over the innermost axis (softmax's) is split into partial results in
    16 lanes, a vector per step, then a reduction of the lanes: exact and NaN-propagating, as
    MLX's. Rows that 16 does not divide keep the plain loop."""
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    rows = x.reshape(-1, shape[-1])  # a view
    rows[1, 3] = np.nan  # a row with a NaN
    rows[2] = -0.0
    rows[2, 1::2] = 0.0  # a row of signed zeros
    a = mx.array(x, dtype=getattr(mx, dtype))
    text = _codegen_ir([mx.max(a, axis=-1)])
    assert ("vector<16x" in text and "arith.maximumf" in text) == (shape[-1] % 16 == 0)
    for f, ref in ((lambda v: mx.max(v, axis=-1), lambda v: v.max(-1)),
                   (lambda v: mx.min(v * 2, axis=-1, keepdims=True),
                    lambda v: (v * 2).min(-1, keepdims=True))):
        want = ref(x)
        for fn in (f, mx.compile(f)):
            got = np.array(fn(a))
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    probs = np.array(mx.softmax(a, axis=-1)).astype(np.float64).sum(-1).reshape(-1)
    assert np.isnan(probs[1]) and not np.isnan(np.delete(probs, 1)).any()
    np.testing.assert_allclose(np.delete(probs, 1), 1, rtol=2e-3)


def test_max_and_min_of_a_vector_run_in_vector_lanes():
    """The same split for a whole 1-D array (16M f32: 33 -> 2.5 ms, NumPy 2.4)."""
    x = np.random.default_rng(7).standard_normal(1 << 16).astype(np.float32)
    assert "vector<16xf32>" in _codegen_ir([mx.max(mx.array(x))])
    got = [np.array(f(mx.array(x))).item() for f in (mx.compile(mx.max), mx.compile(mx.min))]
    assert got == [x.max(), x.min()]
    x[4097] = np.nan
    assert np.isnan(np.array(mx.compile(mx.max)(mx.array(x))))


@pytest.mark.parametrize("op", ["max", "min"])
def test_dynamic_max_and_min_reduce_through_llvm_intrinsics(op):
    """Rows of unknown length (eager kernels, shapeless programs) cannot take the static
    split: their combiner becomes `llvm.intr.maximum`/`minimum`, which LLVM's vectoriser
    reduces in lanes (eager max over the rows of 1000x1000 f32: 1.35 -> 0.21 ms, NumPy 0.19).
    Exact and NaN-propagating on every row length."""
    from mxir.dialect import TensorType
    from mxir.passes import registry

    attrs = (("axes", (1,)), ("keepdims", False))
    main = ((TensorType((None, None), "float32"),),
            ((op, attrs, (0,), (TensorType((None,), "float32"),), None),), (1,))
    stages = registry.PIPELINES["mx-kernel-to-cpu"]
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, stages[:stages.index("mx-cpu-loop-hints") + 1])
        text = str(module)
    assert f"llvm.intr.{op}imum" in text and f"arith.{op}imumf" not in text
    rng = np.random.default_rng(5)
    ref = getattr(np, op)
    for n in (63, 64, 200, 1001):
        x = rng.standard_normal((40, n)).astype(np.float32)
        x[3, n // 2] = np.nan
        x[5, -1] = -np.inf if op == "min" else np.inf
        shapeless = mx.compile(lambda v: getattr(mx, op)(v, axis=1), shapeless=True)
        for got in (getattr(mx, op)(mx.array(x), axis=1), shapeless(mx.array(x)),
                    getattr(mx, op)(mx.array(x))):
            want = ref(x, axis=1) if got.ndim else ref(x)
            np.testing.assert_array_equal(np.array(got), want)


def test_big_bool_results_and_broadcasts():
    x = np.random.default_rng(3).normal(size=(512, 256)).astype(np.float32)
    row = np.linspace(-1, 1, 256, dtype=np.float32)
    col = np.linspace(-1, 1, 512, dtype=np.float32)[:, None]
    mask = mx.array(x) > mx.array(row)
    got = np.array(mask)
    assert got.dtype == np.bool_ and np.array_equal(got, x > row)
    both = np.array(mx.where(mask, mx.array(x) + mx.array(col), mx.tanh(mx.array(x))))
    np.testing.assert_allclose(both, np.where(x > row, x + col, np.tanh(x)), rtol=1e-6,
                               atol=1e-7)


def test_shared_broadcast_fuses_into_each_reader():
    """relu and its vjp both read `maximum`'s broadcast 0.0 (W2): each reader fuses its own
    copy, so no 256x512 buffer of zeros is written (one vectorised loop, not two)."""
    rng = np.random.default_rng(4)
    h_np, g_np = (rng.standard_normal((256, 512)).astype(np.float32) for _ in range(2))
    h, g = mx.array(h_np), mx.array(g_np)
    vg = mx.value_and_grad(lambda h, g: mx.sum(mx.maximum(h, 0.0) * g))
    assert _codegen_ir(list(vg(h, g))).count("vector.transfer_write") == 1
    bias = mx.array(rng.standard_normal(512).astype(np.float32))
    for f in (vg, mx.compile(vg)):
        value, grad = f(h, g)
        np.testing.assert_array_equal(np.array(grad), g_np * (h_np > 0))
        np.testing.assert_allclose(value.item(), np.sum(np.maximum(h_np, 0) * g_np), rtol=1e-4)
    # a broadcast of a row read by two ops and returned as well
    two = mx.compile(lambda b, h: (b + h, b * h, mx.broadcast_to(b, h.shape)))
    got = [np.array(r) for r in two(bias, h)]
    b_np = np.array(bias)
    for x, want in zip(got, (b_np + h_np, b_np * h_np, np.broadcast_to(b_np, h_np.shape))):
        np.testing.assert_array_equal(x, want)


def test_compiled_function_uses_the_fast_path():
    x = np.random.default_rng(5).uniform(-5, 5, cpu_codegen.THREAD_MIN).astype(np.float32)
    f = mx.compile(lambda v: w3(mx, v))
    np.testing.assert_allclose(np.array(f(mx.array(x))), w3(np, x), rtol=1e-5, atol=1e-6)


def test_innermost_reductions_reassociate_only_their_combiner():
    """A float sum over the innermost axis may keep partial sums in vector lanes (LLVM's
    vectoriser needs `reassoc` on the add); the rest of the body (here x * x) keeps its order,
    and a reduction over an outer axis (already vectorised over its parallel inner axis) and
    max are left alone."""
    x = mx.array(np.ones((64, 300), np.float32))
    text = _codegen_ir([mx.sum(x * x, axis=-1)])
    assert text.count("fastmath<reassoc>") == 1
    assert re.search(r"arith\.addf [^\n]*fastmath<reassoc>", text)
    text = _codegen_ir([mx.sum(x, axis=0), mx.max(x, axis=-1)])
    assert "fastmath" not in text


@pytest.mark.parametrize("shape,axis", [((1000,), None), ((1023, 37), -1), ((37, 4097), 1),
                                        ((5, 6, 257), (1, 2)), ((1 << 20,), None)])
def test_reassociated_reductions_match_numpy(shape, axis):
    """Compiled programs (static shapes: the path whose innermost reductions are marked) against
    float64 NumPy; partial sums in lanes are closer to it than one serial chain (a 1M-term
    sum of squares: 3e-6 relative against the serial 4.5e-4). Eager kernels reduce the middle
    axis of (outer, reduced, inner) and are not affected."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    small = (1 + x / 1024).astype(np.float32)
    ints = rng.integers(-1000, 1000, shape).astype(np.int32)
    want, n = x.astype(np.float64), x.size // np.prod(np.sum(x, axis=axis, keepdims=True).shape)
    f = mx.compile(lambda v, s, i: (mx.sum(v, axis=axis), mx.sum(v * v, axis=axis),
                                    mx.prod(s, axis=axis), mx.max(v, axis=axis),
                                    mx.sum(i, axis=axis)))
    total, squares, product, top, isum = (np.array(r) for r in f(*map(mx.array, (x, small, ints))))
    tol = 1e-6 * np.abs(want).sum(axis=axis) + 1e-6  # any summation order is this close
    assert np.all(np.abs(total - want.sum(axis=axis)) <= tol)
    np.testing.assert_allclose(squares, (want * want).sum(axis=axis), rtol=1e-5)
    np.testing.assert_allclose(product, small.astype(np.float64).prod(axis=axis),
                               rtol=4e-7 * np.sqrt(n))
    np.testing.assert_array_equal(top, x.max(axis=axis))
    np.testing.assert_array_equal(isum, ints.sum(axis=axis, dtype=np.int32))


@pytest.mark.parametrize("threads", ["pool", "async"])
def test_parallel_loops_run_on_the_chosen_pool(threads, monkeypatch):
    """mx-cpu-parallel: each chunked loop becomes a task of mxir's pool (passes/pool_tasks.py:
    its memrefs, a scalar input and the dynamic bound of a shapeless program carried in a
    table), or with MXIR_POOL=0 an async-runtime loop; the results are NumPy's either way."""
    from mxir.schema import pool

    if threads == "pool" and not pool.supported():
        pytest.skip("no pool on this host")
    monkeypatch.setenv("MXIR_POOL", "1" if threads == "pool" else "0")
    xs = np.linspace(-3, 3, 3 * cpu_codegen.CHUNK, dtype=np.float32)
    x = mx.array(xs)
    mx.eval(x)  # an input of the program, not a constant to fold
    main, _ = trace_program([w3(mx, x) * 0.5])
    with context(), ir.Location.unknown():
        module = build_module(main)
        run_pipeline(module, ["mx-to-cpu"])
        text = str(module)
    assert ("mxir_pool_run" in text) == (threads == "pool")
    assert ("mlirAsyncRuntime" in text) == (threads == "async")
    f = mx.compile(lambda v, a: w3(mx, v) * a)
    np.testing.assert_allclose(np.array(f(mx.array(xs), 0.5)), w3(np, xs) * 0.5, atol=2e-6)
    g = mx.compile(lambda v, a: w3(mx, v) * a, shapeless=True)
    for n in (3 * cpu_codegen.CHUNK + 5, 5 * cpu_codegen.CHUNK):
        ys = np.linspace(-2, 2, n, dtype=np.float32)
        np.testing.assert_allclose(np.array(g(mx.array(ys), 2.0)), w3(np, ys) * 2, atol=4e-6)


def test_big_complex_fills_and_pads_stay_loops():
    """A complex op is never vectorised (no vectors of complex): a compiled pad of complex64
    with a VECTOR_MIN-sized result broadcast its pad value in an op that the vectoriser
    refused, failing the whole program."""
    v = (np.arange(3 * cpu_codegen.VECTOR_MIN) * (1 + 2j)).astype(np.complex64).reshape(3, -1)
    pad = mx.compile(lambda a: mx.pad(a, ((0, 0), (0, v.shape[1]))))
    np.testing.assert_array_equal(np.array(pad(mx.array(v))), np.pad(v, ((0, 0), (0, v.shape[1]))))
    fill = mx.compile(lambda s: mx.broadcast_to(s, v.shape) * 1)
    np.testing.assert_array_equal(np.array(fill(mx.array(1 + 2j, dtype=mx.complex64))),
                                  np.full(v.shape, 1 + 2j, np.complex64))
