"""mx-cpu-codegen on elementwise ops of dynamic shape (one program for every input shape):
threads, vectors with a peeled (masked or scalar) remainder, in-place results. Checked on
the IR and against NumPy for sizes around the vector width and the thread threshold. The
programs are written by hand as mx-to-linalg emits them (tensor.empty sized by tensor.dim)."""

from __future__ import annotations

import numpy as np
import pytest
from mlir import ir
from mxir.evaluate import context
from mxir.passes import cpu_codegen, pipelines, run_pipeline
from mxir.runtime.cpu import CpuExecutable

REST = [*pipelines.ONE_SHOT, "cpu-blas-matmul", "mx-cpu-parallel", *pipelines.CPU_TO_LLVM]
BIG = cpu_codegen.THREAD_MIN  # from here an op runs on threads
SIZES = [0, 1, 7, 63, 64, 65, 1000, 4097, BIG | 1, 1 << 20]
SHAPES_2D = [(0, 5), (3, 0), (1, 1), (5, 7), (33, 65), (1000, 127), (4097, 63), (3, BIG)]


def _type(shape, elem):
    return f"tensor<{''.join(('?' if d is None else str(d)) + 'x' for d in shape)}{elem}>"


def _map(rank, broadcast=()):
    dims = ", ".join(f"d{i}" for i in range(rank))
    res = ", ".join("0" if i in broadcast else f"d{i}" for i in range(rank))
    return f"affine_map<({dims}) -> ({res})>"


def program(args, result, body, maps=None, extra_results=()):
    """@main(args) -> result: one linalg.generic whose body is `body` (block arguments %a0..,
    %out; yields %y). args: [(shape, elem)] with None for a dynamic dim; the result takes its
    dynamic dims from the first argument."""
    shape, elem = result
    rank = len(shape)
    maps = maps or [_map(rank)] * len(args)
    sig = ", ".join(f"%x{i}: {_type(s, e)} {{bufferization.writable = false}}"
                    for i, (s, e) in enumerate(args))
    dims = [f"%d{i}" for i, d in enumerate(shape) if d is None]
    lines = [f"%c{i} = arith.constant {i} : index" for i in range(rank)]
    lines += [f"%d{i} = tensor.dim %x0, %c{i} : {_type(args[0][0], args[0][1])}"
              for i, d in enumerate(shape) if d is None]
    rt = _type(shape, elem)
    lines.append(f"%e = tensor.empty({', '.join(dims)}) : {rt}")
    block = ", ".join(f"%a{i}: {e}" for i, (_, e) in enumerate(args)) + f", %out: {elem}"
    iters = ", ".join(['"parallel"'] * rank)
    ins = ", ".join(f"%x{i}" for i in range(len(args)))
    in_types = ", ".join(_type(s, e) for s, e in args)
    lines.append(
        f"%r = linalg.generic {{indexing_maps = [{', '.join(maps)}, {_map(rank)}], "
        f"iterator_types = [{iters}]}} ins({ins} : {in_types}) outs(%e : {rt}) {{\n"
        f"^bb0({block}):\n  {body}\n  linalg.yield %y : {elem}\n}} -> {rt}")
    rets = ["%r", *(v for v, _ in extra_results)]
    ret_types = [rt, *(t for _, t in extra_results)]
    return (f"func.func @main({sig}) -> ({', '.join(ret_types)}) attributes "
            f"{{llvm.emit_c_interface}} {{\n" + "\n".join(lines)
            + f"\nreturn {', '.join(rets)} : {', '.join(ret_types)}\n}}")


W3 = """%s = math.sin %a0 : f32
  %c = math.cos %a0 : f32
  %p = arith.mulf %s, %c : f32
  %n = arith.negf %a0 : f32
  %q = arith.mulf %n, %a0 : f32
  %ex = math.exp %q : f32
  %y = arith.addf %p, %ex : f32"""


MATH_VECTOR = f"vector<{cpu_codegen.math_lanes()}xf32>"  # a body with sin/cos/exp


def w3(x):
    return np.sin(x) * np.cos(x) + np.exp(-x * x)


def compile_ir(text):
    """(executable, IR after mx-cpu-codegen)."""
    with context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        run_pipeline(module, ["mx-cpu-codegen"])
        codegen = str(module)
        run_pipeline(module, REST)
        return CpuExecutable(module), codegen


def run(exe, inputs, out_shape, dtype):
    out = np.full(out_shape, 77, dtype)  # garbage: every element must be written
    exe(inputs, [out])
    return out


@pytest.fixture(scope="module")
def w3_1d():
    return compile_ir(program([((None,), "f32")], ((None,), "f32"), W3))


def test_1d_is_threaded_vectorised_with_a_masked_tail(w3_1d):
    _, text = w3_1d
    assert "scf.forall" in text and MATH_VECTOR in text
    assert "vector.create_mask" in text  # the remainder tile
    assert "linalg.generic" not in text and "math.sin" not in text


@pytest.mark.parametrize("n", SIZES)
def test_1d_matches_numpy(w3_1d, n):
    x = np.random.default_rng(n).uniform(-20, 20, n).astype(np.float32)
    got = run(w3_1d[0], [x], x.shape, np.float32)
    np.testing.assert_allclose(got, w3(x), rtol=1e-5, atol=1e-6)


def test_1d_scalar_tail_matches_numpy(monkeypatch):
    monkeypatch.setattr(cpu_codegen, "DYN_MASKED", False)
    exe, text = compile_ir(program([((None,), "f32")], ((None,), "f32"), W3))
    assert MATH_VECTOR in text and "vector.create_mask" not in text
    for n in (63, 65, 1000, BIG | 1):
        x = np.random.default_rng(n).uniform(-20, 20, n).astype(np.float32)
        np.testing.assert_allclose(run(exe, [x], x.shape, np.float32), w3(x), rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("rank", [2, 3])
def test_rows(rank):
    dyn = ((None,) * rank, "f32")
    exe, text = compile_ir(program([dyn], dyn, W3))
    assert "scf.forall" in text and MATH_VECTOR in text
    shapes = SHAPES_2D if rank == 2 else [(2, 3, 70), (5, 0, 3), (4, 2, 1 << 16 | 5), (1, 1, 1)]
    for shape in shapes:
        x = np.random.default_rng(sum(shape)).uniform(-20, 20, shape).astype(np.float32)
        np.testing.assert_allclose(run(exe, [x], shape, np.float32), w3(x), rtol=1e-5,
                                   atol=1e-6)


def test_2d_broadcast_row():
    body = """%s = math.sin %a0 : f32
  %c = math.cos %a1 : f32
  %p = arith.mulf %s, %c : f32
  %ex = math.exp %a1 : f32
  %y = arith.addf %p, %ex : f32"""
    exe, text = compile_ir(program([((None, None), "f32"), ((1, None), "f32")],
                                   ((None, None), "f32"), body,
                                   maps=[_map(2), _map(2, broadcast=(0,))]))
    assert "scf.forall" in text and MATH_VECTOR in text
    for shape in SHAPES_2D:
        rng = np.random.default_rng(sum(shape))
        x = rng.uniform(-20, 20, shape).astype(np.float32)
        row = rng.uniform(-5, 5, (1, shape[1])).astype(np.float32)
        want = np.sin(x) * np.cos(row) + np.exp(row)
        np.testing.assert_allclose(run(exe, [x, row], shape, np.float32), want, rtol=1e-5,
                                   atol=1e-6)


def test_unit_leading_dim():
    exe, text = compile_ir(program([((1, None), "f32")], ((1, None), "f32"), W3))
    assert MATH_VECTOR in text
    for n in (0, 5, 64, 4097, BIG | 3):
        x = np.random.default_rng(n).uniform(-20, 20, (1, n)).astype(np.float32)
        np.testing.assert_allclose(run(exe, [x], x.shape, np.float32), w3(x), rtol=1e-5,
                                   atol=1e-6)


def test_int32_with_division_keeps_a_scalar_tail():
    body = """%m = arith.muli %a0, %a1 : i32
  %c3 = arith.constant 3 : i32
  %d = arith.floordivsi %a0, %a1 : i32
  %s = arith.addi %m, %c3 : i32
  %y = arith.subi %s, %d : i32"""
    exe, text = compile_ir(program([((None,), "i32"), ((None,), "i32")], ((None,), "i32"),
                                   body))
    assert "vector<64xi32>" in text and "vector.create_mask" not in text
    for n in (0, 1, 63, 65, 1000, BIG | 1):
        rng = np.random.default_rng(n)
        a = rng.integers(-1000, 1000, n).astype(np.int32)
        b = rng.integers(1, 50, n).astype(np.int32) * rng.choice([-1, 1], n).astype(np.int32)
        np.testing.assert_array_equal(run(exe, [a, b], (n,), np.int32), a * b + 3 - a // b)


def test_bool_storage_and_second_result():
    """cmp -> i8 (bool storage), select on an i8 mask; the input returned as a second result
    (copied, not computed in place)."""
    body = """%m = arith.trunci %a1 : i8 to i1
  %g = arith.cmpf ogt, %a0, %a2 : f32
  %both = arith.andi %m, %g : i1
  %y = arith.extui %both : i1 to i8"""
    args = [((None, None), "f32"), ((None, None), "i8"), ((1, None), "f32")]
    exe, text = compile_ir(program(args, ((None, None), "i8"), body,
                                   maps=[_map(2), _map(2), _map(2, broadcast=(0,))],
                                   extra_results=[("%x1", _type((None, None), "i8"))]))
    assert "vector<64xi8>" in text
    for shape in SHAPES_2D:
        rng = np.random.default_rng(sum(shape))
        x = rng.normal(size=shape).astype(np.float32)
        m = (rng.uniform(size=shape) < 0.5).astype(np.int8)
        row = rng.normal(size=(1, shape[1])).astype(np.float32)
        out, copy = np.full(shape, 7, np.int8), np.full(shape, 7, np.int8)
        exe([x, m, row], [out, copy])
        np.testing.assert_array_equal(out, ((m != 0) & (x > row)).astype(np.int8))
        np.testing.assert_array_equal(copy, m)


def test_non_elementwise_body_stays_scalar():
    """A body that reads another tensor at its own index (tensor.extract): not vectorised,
    still right for every size."""
    body = """%i = linalg.index 0 : index
  %n = tensor.dim %x1, %c0 : tensor<?xf32>
  %j = arith.remui %i, %n : index
  %v = tensor.extract %x1[%j] : tensor<?xf32>
  %y = arith.addf %a0, %v : f32"""
    text = program([((None,), "f32"), ((None,), "f32")], ((None,), "f32"), body)
    exe, code = compile_ir(text)
    assert "vector<" not in code and "scf.forall" not in code
    for n, k in ((0, 1), (5, 3), (1000, 7), (4097, 64)):
        x = np.arange(n, dtype=np.float32)
        t = np.arange(k, dtype=np.float32) * 10
        np.testing.assert_array_equal(run(exe, [x, t], (n,), np.float32),
                                      x + t[np.arange(n) % k])


def test_result_is_computed_in_the_out_param(w3_1d):
    with context(), ir.Location.unknown():
        module = ir.Module.parse(program([((None,), "f32")], ((None,), "f32"), W3))
        run_pipeline(module, ["mx-cpu-codegen", *pipelines.ONE_SHOT, "mx-cpu-parallel"])
        text = str(module)
    assert "memref.alloc" not in text and "memref.copy" not in text


def test_static_program_is_unchanged():
    """A static elementwise op keeps the static path: no masks, no run-time chunk size."""
    exe, text = compile_ir(program([((4096,), "f32")], ((4096,), "f32"), W3))
    assert MATH_VECTOR in text and "create_mask" not in text and "scf.forall" not in text
    x = np.random.default_rng(0).uniform(-20, 20, 4096).astype(np.float32)
    np.testing.assert_allclose(run(exe, [x], x.shape, np.float32), w3(x), rtol=1e-5, atol=1e-6)


def test_scalar_operands():
    """0-d operands (Python scalars of the program) broadcast into every lane."""
    body = """%m = arith.mulf %a0, %a1 : f32
  %y = arith.addf %m, %a2 : f32"""
    scalar = ((), "f32")
    exe, text = compile_ir(program([((None,), "f32"), scalar, scalar], ((None,), "f32"), body,
                                   maps=[_map(1), "affine_map<(d0) -> ()>",
                                         "affine_map<(d0) -> ()>"]))
    assert "vector<64xf32>" in text and "scf.forall" in text
    for n in (0, 3, 64, 1000, BIG | 1):
        x = np.random.default_rng(n).normal(size=n).astype(np.float32)
        got = run(exe, [x, np.float32(0.5), np.float32(-2.0)], (n,), np.float32)
        np.testing.assert_allclose(got, x * np.float32(0.5) - np.float32(2), rtol=1e-6)
