"""The fast matmul paths (passes/matmul.py, MatmulOp.lower): OpenBLAS calls for f32/f64, widened
halves, transposes folded into BLAS flags, strided and offset views, batched gemm, and the loop
fallback; every path compiled vs NumPy."""

from __future__ import annotations

import ctypes
import os

import mxir as mx
import numpy as np
import pytest
from harness import assert_close, check_op, context
from mlir import ir
from mlir.dialects import func
from mxir.dialect import Builder, TensorType, to_storage
from mxir.passes import matmul as blas
from mxir.passes import run_pipeline
from mxir.passes.registry import expand
from mxir.runtime.cpu import CpuExecutable
from mxir.schema import pool

FLOATS = ["float32", "float64", "float16", "bfloat16"]
SHAPES = [((1, 7), (7, 5)), ((6, 1), (1, 4)), ((5, 7), (7, 1)), ((1, 1), (1, 1)),
          ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)), ((37, 65), (65, 19)),
          ((2, 3, 4, 5), (2, 3, 5, 6)), ((3, 1, 5), (3, 5, 2)), ((0, 2, 3), (0, 3, 4)),
          ((4, 6, 0), (4, 0, 2))]


TARGETS = {"numpy": blas._numpy_openblas, "wheel": blas._wheel_openblas, "mkl": blas._mkl}


@pytest.fixture(params=sorted(TARGETS))
def target(request, monkeypatch):
    """Each BLAS the pass can call (NumPy's ILP64 OpenBLAS, the LP64 wheel, MKL where the `mkl`
    extra is installed) in turn."""
    found = TARGETS[request.param]()
    if found is None:
        pytest.skip(f"no {request.param} BLAS here")
    monkeypatch.setattr(blas, "blas_target", lambda: found)
    # the compiled pipeline's split gemms call a one-thread library (the wheel's, MKL): NumPy's
    # library is tested unsplit
    monkeypatch.setattr(blas, "serial_blas_target", lambda: found if found.set_threads else None)
    return found


def _values(shape, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    return x.astype(np.float32 if dtype in ("float16", "bfloat16") else dtype)


def _tol(dtype, k):
    """Half products round once at the end; the tolerance grows with the reduction length."""
    return {"float16": (4e-3, 2e-3 * k), "bfloat16": (2e-2, 1e-2 * k)}.get(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_op_matches_reference(sa, sb, dtype, target):
    a, c = _values(sa, dtype, 0), _values(sb, dtype, 1)
    with context(), ir.Location.unknown():
        check_op("matmul", [a, c], [TensorType(sa, dtype), TensorType(sb, dtype)],
                 tol=_tol(dtype, sa[-1]))


def _lowered(build, in_types, upto="cpu-blas-matmul-split"):
    """The module of `build(b, *args)` after the CPU pipeline up to `upto`."""
    module = _module(build, in_types)
    steps = expand(["mx-to-cpu"])
    run_pipeline(module, steps[:steps.index(upto) + 1])
    return str(module)


def _module(build, in_types):
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):
        f = func.FuncOp("main", ir.FunctionType.get([t.to_ir() for t in in_types], []))
    block = f.add_entry_block()
    with ir.InsertionPoint(block):
        b = Builder(ir.InsertionPoint(block), ir.Location.unknown())
        results = build(b, *block.arguments)
        results = results if isinstance(results, list) else [results]
        func.ReturnOp(results)
    f.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(
        [t.to_ir() for t in in_types], [r.type for r in results]))
    return module


def _run(build, inputs, in_types):
    """Compile `build` through the full CPU pipeline and run it on `inputs`."""
    module = _module(build, in_types)
    out_types = [TensorType.from_ir(t) for t in
                 ir.FunctionType(ir.TypeAttr(module.body.operations[0]
                                             .attributes["function_type"]).value).results]
    run_pipeline(module, ["mx-to-cpu"])
    outs = [np.empty(t.shape, to_storage(np.zeros(()), t.dtype).dtype) for t in out_types]
    CpuExecutable(module)(inputs, outs)
    return outs, out_types


def _swap(b, x):
    r = b.type(x).ndim
    return b.transpose(x, perm=(*range(r - 2), r - 1, r - 2))


TRANSPOSED = [
    ("a_t", lambda b, x, y: b.matmul(_swap(b, x), y), ((5, 4), (5, 3)), "112, 111"),
    ("b_t", lambda b, x, y: b.matmul(x, _swap(b, y)), ((4, 5), (3, 5)), "111, 112"),
    ("both", lambda b, x, y: b.matmul(_swap(b, x), _swap(b, y)), ((5, 4), (3, 5)), "112, 112"),
    ("batched", lambda b, x, y: b.matmul(_swap(b, x), y), ((2, 5, 4), (2, 5, 3)), "112, 111"),
    ("batched_rank4", lambda b, x, y: b.matmul(x, _swap(b, y)), ((2, 3, 4, 5), (2, 3, 6, 5)),
     "111, 112"),
]


@pytest.mark.parametrize("name,build,shapes,flags", TRANSPOSED, ids=[t[0] for t in TRANSPOSED])
def test_transposed_operands_become_blas_flags(name, build, shapes, flags, target):
    in_types = [TensorType(s, "float32") for s in shapes]
    with context(), ir.Location.unknown():
        text = _lowered(build, in_types)
    assert "linalg.transpose" not in text and "linalg.matmul" not in text
    assert "linalg.batch_matmul" not in text
    symbol = (target.batched or target.gemm)["f32"] if len(shapes[0]) > 2 else target.gemm["f32"]
    call = next(line for line in text.splitlines() if f"call @{symbol}(" in line)
    assert len(shapes[0]) == 2 or target.batched or "scf.for" in text
    # the transpose flags are the 2nd and 3rd arguments: look up the constants they name
    args = call.split("(", 1)[1].split(")", 1)[0].split(", ")
    consts = {line.split(" = ")[0].strip(): line.split("constant ")[1].split(" :")[0]
              for line in text.splitlines() if "arith.constant" in line and " = " in line}
    assert f"{consts[args[1]]}, {consts[args[2]]}" == flags


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name,build,shapes,flags", TRANSPOSED, ids=[t[0] for t in TRANSPOSED])
def test_transposed_operands_match_numpy(name, build, shapes, flags, dtype, target):
    xs = [_values(s, dtype, i) for i, s in enumerate(shapes)]
    in_types = [TensorType(s, dtype) for s in shapes]
    swap = {"a_t": (True, False), "b_t": (False, True), "both": (True, True),
            "batched": (True, False), "batched_rank4": (False, True)}[name]
    want = np.matmul(*[np.swapaxes(x, -1, -2) if s else x for x, s in zip(xs, swap)])
    with context(), ir.Location.unknown():
        (got,), (t,) = _run(build, [to_storage(x, dtype) for x in xs], in_types)
    assert_close(got, to_storage(want, dtype), t, _tol(dtype, shapes[0][-1]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loop_fallback_honours_transposed_maps(monkeypatch, dtype):
    """Without the BLAS package the pass leaves linalg loops, which read the folded maps."""
    monkeypatch.setattr(blas, "blas_target", lambda: None)
    shapes = ((2, 5, 4), (2, 3, 5))
    xs = [_values(s, dtype, i) for i, s in enumerate(shapes)]
    in_types = [TensorType(s, dtype) for s in shapes]

    def build(b, x, y):
        return b.matmul(_swap(b, x), _swap(b, y))

    with context(), ir.Location.unknown():
        text = _lowered(build, in_types)
        assert "scipy_cblas" not in text and "linalg.batch_matmul" in text
        (got,), (t,) = _run(build, xs, in_types)
    want = np.matmul(np.swapaxes(xs[0], 1, 2), np.swapaxes(xs[1], 1, 2))
    assert_close(got, want, t)


def test_half_matmul_widens_to_sgemm(target):
    in_types = [TensorType((4, 5), "bfloat16"), TensorType((5, 3), "bfloat16")]
    with context(), ir.Location.unknown():
        text = _lowered(lambda b, x, y: b.matmul(x, y), in_types)
    assert f"call @{target.gemm['f32']}(" in text and "linalg.matmul" not in text


def test_zero_fill_becomes_beta_zero(target):
    in_types = [TensorType((4, 5), "float64"), TensorType((5, 3), "float64")]
    with context(), ir.Location.unknown():
        text = _lowered(lambda b, x, y: b.matmul(x, y), in_types)
    assert "linalg.fill" not in text and f"call @{target.gemm['f64']}(" in text


def test_shared_zero_fill_gives_each_gemm_beta_zero(target):
    """Two products of one shape share one zero accumulator after CSE (W6's gradient: a @ b
    and the cotangent's product): mx-private-fills gives each its own fill, so neither runs
    on a copy of zeros with beta = 1."""
    in_types = [TensorType((8, 8), "float32")] * 2
    with context(), ir.Location.unknown():
        text = _lowered(lambda b, x, y: [b.matmul(x, y), b.matmul(y, x)], in_types)
    assert text.count(f"call @{target.gemm['f32']}(") == 2
    assert "linalg.fill" not in text and "memref.copy" not in text
    x, y = _values((8, 8), "float32", 9), _values((8, 8), "float32", 10)
    p, q = mx.array(x) @ mx.array(y), mx.array(y) @ mx.array(x)
    np.testing.assert_allclose(np.array(p), x @ y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(q), y @ x, rtol=1e-5, atol=1e-6)


def test_strided_views_and_offsets_match_numpy():
    """Slices feed BLAS with an offset and a leading dimension wider than the view; the
    concatenate makes each product write into a column block of the result (ldc > n)."""
    x = _values((9, 11), "float32", 0)
    y = _values((7, 6), "float32", 1)
    a = mx.array(x)
    r = mx.concatenate([a[1:5, 2:9] @ mx.array(y), a[2:6, 0:7] @ a[0:7, 3:8]], axis=1)
    want = np.concatenate([x[1:5, 2:9] @ y, x[2:6, 0:7] @ x[0:7, 3:8]], axis=1)
    np.testing.assert_allclose(np.array(r), want, rtol=2e-5, atol=1e-5)


def test_non_unit_inner_stride_matches_numpy():
    x = _values((6, 10), "float64", 2)
    a = mx.array(x, dtype=mx.float64)
    r = a[:, ::2] @ a[0:5, 1::2]  # every other column: a view BLAS can't take without a copy
    np.testing.assert_allclose(np.array(r), x[:, ::2] @ x[0:5, 1::2], rtol=1e-12)


@pytest.mark.parametrize("dtype", FLOATS)
def test_value_and_grad_of_sum_of_matmul(dtype):
    xa, xb = _values((33, 17), dtype, 3), _values((17, 9), dtype, 4)
    a, b = mx.array(xa).astype(dtype), mx.array(xb).astype(dtype)
    value, (ga, gb) = mx.value_and_grad(lambda a, b: mx.sum(a @ b), argnums=(0, 1))(a, b)
    rtol = {"float32": 1e-5, "float64": 1e-12, "float16": 1e-2, "bfloat16": 5e-2}[dtype]
    xa, xb = np.array(a.astype(mx.float64)), np.array(b.astype(mx.float64))
    ones = np.ones((33, 9))
    np.testing.assert_allclose(value.astype(mx.float64).item(), (xa @ xb).sum(), rtol=rtol)
    np.testing.assert_allclose(np.array(ga.astype(mx.float64)), ones @ xb.T, rtol=rtol,
                               atol=rtol)
    np.testing.assert_allclose(np.array(gb.astype(mx.float64)), xa.T @ ones, rtol=rtol,
                               atol=rtol)


def test_batched_grad_and_vmap_match_numpy():
    xa, xb = _values((3, 8, 5), "float32", 5), _values((3, 5, 4), "float32", 6)
    a, b = mx.array(xa), mx.array(xb)
    ga = mx.grad(lambda a: mx.sum(mx.sin(a @ b)))(a)
    want = np.matmul(np.cos(xa @ xb), np.swapaxes(xb, 1, 2))
    np.testing.assert_allclose(np.array(ga), want, rtol=1e-4, atol=1e-5)
    v = mx.vmap(lambda x: x @ b[0], in_axes=0)(a)
    np.testing.assert_allclose(np.array(v), xa @ xb[0], rtol=1e-5, atol=1e-6)


def test_large_matmul_matches_numpy():
    xa, xb = _values((130, 257), "float32", 7), _values((257, 66), "float32", 8)
    r = mx.array(xa) @ mx.array(xb)
    np.testing.assert_allclose(np.array(r), xa @ xb, rtol=1e-4, atol=1e-4)


SPLIT = [("rows", lambda b, x, y: b.matmul(x, y), ((300, 96), (96, 160))),
         ("rows_a_t", lambda b, x, y: b.matmul(_swap(b, x), y), ((96, 300), (96, 160))),
         ("columns", lambda b, x, y: b.matmul(x, y), ((120, 96), (96, 300))),
         ("columns_b_t", lambda b, x, y: b.matmul(x, _swap(b, y)), ((120, 96), (300, 96)))]


@pytest.mark.parametrize("pooled", [True, False], ids=["pool", "forall"])
@pytest.mark.parametrize("serial", ["wheel", "mkl"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,build,shapes", SPLIT, ids=[s[0] for s in SPLIT])
def test_split_gemm_panels_match_numpy(name, build, shapes, dtype, serial, pooled, monkeypatch):
    """cpu-blas-matmul-split: a gemm past SPLIT_MIN runs as gemms on panels of C's rows or
    columns (uneven: the last panel is short), on a one-thread BLAS (the wheel's OpenBLAS, or
    MKL where the `mkl` extra is installed): outlined into a task of mxir's pool
    (runtime/pool.py, Linux), or an scf.forall on the async runtime's elsewhere."""
    lib = TARGETS[serial]()
    if lib is None:
        pytest.skip(f"no {serial} BLAS here")
    if pooled and not pool.supported():
        pytest.skip("no pool on this host")
    monkeypatch.setattr(pool, "supported", lambda: pooled)
    monkeypatch.setattr(blas, "serial_blas_target", lambda: lib)
    monkeypatch.setattr(blas, "SPLIT_MIN", 1 << 20)
    monkeypatch.setattr(blas, "PANELS", 7)
    xs = [_values(s, dtype, i) for i, s in enumerate(shapes)]
    in_types = [TensorType(s, dtype) for s in shapes]
    with context(), ir.Location.unknown():
        text = _lowered(build, in_types)
        assert ("call @mxir_pool_run(" in text) == pooled and ("scf.forall" in text) != pooled
        assert f"@{lib.gemm[dtype[:1] + dtype[-2:]]}(" in text
        (got,), (t,) = _run(build, xs, in_types)
    a, c = xs
    a = a.T if name.endswith("a_t") else a
    c = c.T if name.endswith("b_t") else c
    assert_close(got, a @ c, t)


def test_split_gemms_set_the_wheel_to_one_thread_only_for_their_call(monkeypatch):
    """The wheel's OpenBLAS is also the eager kernels' where NumPy has none of its own (macOS
    arm64): a program of split gemms sets it to one thread for its call and then back to the
    user's count, which eager gemms keep."""
    lib = blas._wheel_openblas()
    if lib is None:
        pytest.skip("no wheel BLAS here")
    monkeypatch.setattr(blas, "serial_blas_target", lambda: lib)
    monkeypatch.setattr(blas, "SPLIT_MIN", 1 << 20)
    name, build, shapes = SPLIT[0]
    xs = [_values(s, "float32", i) for i, s in enumerate(shapes)]
    in_types = [TensorType(s, "float32") for s in shapes]
    handle = ctypes.CDLL(lib.library, mode=os.RTLD_LOCAL)  # the runtime's handle: one library
    get, set_threads = getattr(handle, lib.get_threads), getattr(handle, lib.set_threads)
    user = get()
    set_threads(3)
    try:
        with context(), ir.Location.unknown():
            module = _module(build, in_types)
            run_pipeline(module, ["mx-to-cpu"])
            exe = CpuExecutable(module)
        assert get() == 3  # compiling it changed nothing
        (library,) = exe._one_thread
        seen = []
        monkeypatch.setattr(library, "set_threads", lambda n: (seen.append(n), set_threads(n)))
        out = np.empty((shapes[0][0], shapes[1][1]), np.float32)
        exe(xs, [out])
        assert seen == [1, 3] and get() == 3
        assert_close(out, xs[0] @ xs[1], TensorType(out.shape, "float32"))
    finally:
        set_threads(user)


def test_programs_that_overlap_restore_the_count_when_the_last_ends():
    """Two Python threads' split programs in calls that overlap (A starts, B starts, A ends,
    B ends): the library stays on one thread until B ends, then has its count again; saved
    and restored per call, B would have saved A's one thread and left it for good."""
    from mxir.runtime.cpu import _OneThreadBlas

    lib = blas._wheel_openblas()
    if lib is None:
        pytest.skip("no wheel BLAS here")
    handle = ctypes.CDLL(lib.library, mode=os.RTLD_LOCAL)
    get, set_threads = getattr(handle, lib.get_threads), getattr(handle, lib.set_threads)
    user = get()
    set_threads(3)
    try:
        library = _OneThreadBlas(set_threads, get)
        library.__enter__()  # A
        library.__enter__()  # B
        library.__exit__(None, None, None)  # A
        assert get() == 1
        library.__exit__(None, None, None)  # B
        assert get() == 3
    finally:
        set_threads(user)


def test_module_names_its_blas_and_a_missing_library_raises(target):
    """The BLAS path travels with the compiled module (cache entries too); a library that is
    gone raises instead of leaving an unresolved call."""
    in_types = [TensorType((3, 4), "float32"), TensorType((4, 2), "float32")]
    with context(), ir.Location.unknown():
        module = _module(lambda b, x, y: b.matmul(x, y), in_types)
        run_pipeline(module, ["mx-to-cpu"])
        assert target.library in str(module.operation.attributes[blas.SHARED_LIBS_ATTR])
        text = str(module).replace(target.library, target.library + ".gone")
        with pytest.raises(RuntimeError, match="gone"):
            CpuExecutable(ir.Module.parse(text))


GROUPED = [("rows (batch, tokens)", lambda x, w: x @ w.T, ((8, 32, 64), (48, 64))),
           ("columns (heads, head dims)", lambda x, w: (x @ w.T).reshape(8, 32, 4, 12),
            ((8, 32, 64), (48, 64))),
           ("reduction over heads", lambda o, w: o.reshape(8, 32, 64) @ w.T,
            ((8, 32, 4, 16), (40, 64))),
           ("rows, B not transposed", lambda x, w: x @ w, ((4, 50, 24), (24, 30)))]


@pytest.mark.parametrize("name,fn,shapes", GROUPED, ids=[g[0] for g in GROUPED])
def test_contractions_over_dim_groups_become_gemms(name, fn, shapes):
    """A contraction whose rows, columns or reduction span several dims (a linear layer on
    (batch, tokens, features), its result split into heads or heads merged into it) runs as
    one gemm on collapsed views (each group is contiguous in its operands; the pass keeps
    the loops otherwise); values against NumPy, compiled and through grad (against a finite
    difference)."""
    from mxir.evaluate import build_module, trace_program

    if blas.blas_target() is None:
        pytest.skip("no BLAS here")
    rng = np.random.default_rng(len(name))
    x, w = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    main, _ = trace_program([fn(mx.array(x), mx.array(w))])
    with context(), ir.Location.unknown():
        module = build_module(main)
        steps = expand(["mx-to-cpu"])
        run_pipeline(module, steps[:steps.index("cpu-blas-matmul-split") + 1])
        text = str(module)
    target = blas.serial_blas_target() or blas.blas_target()  # what the split pass calls
    assert f"call @{target.gemm['f32']}(" in text and "collapse_shape" in text
    assert "arith.mulf" not in text  # no contraction left as loops
    np.testing.assert_allclose(np.array(mx.compile(fn)(mx.array(x), mx.array(w))), fn(x, w),
                               rtol=1e-4, atol=1e-4)
    gx = np.array(mx.grad(lambda a, b: mx.sum(fn(a, b) ** 2))(mx.array(x), mx.array(w)))
    i, eps = (0,) * x.ndim, 1e-2
    bumped = x.copy()
    bumped[i] += eps
    numeric = (np.sum(fn(bumped, w).astype(np.float64) ** 2)
               - np.sum(fn(x, w).astype(np.float64) ** 2)) / eps
    assert abs(gx[i] - numeric) <= 2e-2 * max(1.0, abs(numeric))
