"""gpu.module -> MSL (passes/msl.py): every construct's generated kernel is compiled and run on
metal-sim (runtime/metal_sim: the MSL built as C++ against a Metal shim) and compared with NumPy;
with `xcrun` present (macOS) the sources also go through Apple's Metal compiler."""

import math
import re
import shutil
import subprocess

import numpy as np
import pytest
from mlir import ir
from mxir.dialect import MxError
from mxir.passes import msl

sim = pytest.importorskip("mxir.runtime.metal_sim", reason="metal-sim is not in the tree")
if not sim.is_available():
    pytest.skip("metal-sim needs a C++ compiler (g++)", allow_module_level=True)

N = 64


def translate(text: str):
    from mxir.tools import driver

    with driver.context(), ir.Location.unknown():
        module, diags = driver.load(text, "test.mlir")
        assert not diags, diags
        return msl.translate_gpu_modules(msl.gpu_modules(module))


def launch(text: str, args: list, grid=(1, 1, 1), threadgroup=(N, 1, 1), order="shuffle"):
    """Translate, compile and run the module's only kernel; returns (buffers after, source)."""
    source, (info,) = translate(text)
    dev = sim.MetalSimDevice(order=order)
    program = dev.compile(source)
    bound, arrays = [], []
    for value, arg in zip(args, info.arguments, strict=True):
        if isinstance(arg, msl.BufferArg):
            value = np.ascontiguousarray(value)
            buf = dev.allocate(value.nbytes)
            dev.upload(buf, value)
            bound.append(buf)
            arrays.append(value)
        else:
            bound.append((value, arg.mlir_type))
            arrays.append(None)
    dev.launch(program, info.msl_name, grid, threadgroup, bound)
    out = []
    for value, buf in zip(arrays, bound, strict=True):
        if value is not None:
            result = np.empty_like(value)
            dev.download(buf, result)
            out.append(result)
        else:
            out.append(None)
    return out, source


def family(ins: list[str], out: str, bodies: list[str], n: int = N) -> str:
    """A kernel computing every body at each of n elements: body k reads %x (and %y, %z) and
    defines %r; its result goes to row k of the output."""
    names = ["%x", "%y", "%z"]
    params = ", ".join(f"%in{k}: memref<{n}x{t}>" for k, t in enumerate(ins))
    loads = "\n".join(f"    {names[k]} = memref.load %in{k}[%i] : memref<{n}x{t}>"
                      for k, t in enumerate(ins))
    parts = []
    for k, body in enumerate(bodies):
        # each body's own names get a _k suffix so bodies can reuse them
        body = re.sub(r"%([A-Za-z_]\w*)", lambda m, k=k: m.group(0) if m.group(1) in "xyz"
                      else f"%{m.group(1)}_{k}", body)
        parts.append(f"    {body}\n    %k{k} = arith.constant {k} : index\n"
                     f"    memref.store %r_{k}, %out[%k{k}, %i] : memref<{len(bodies)}x{n}x{out}>")
    return (f"gpu.module @m {{\n  gpu.func @k({params}, %out: memref<{len(bodies)}x{n}x{out}>) "
            f"kernel {{\n    %i = gpu.global_id x\n{loads}\n" + "\n".join(parts) +
            "\n    gpu.return\n  }\n}\n")


def run_family(ins, in_arrays, out, out_dtype, bodies, n=N):
    out_init = np.zeros((len(bodies), n), out_dtype)
    group = min(n, 256)
    assert n % group == 0
    res, _ = launch(family(ins, out, bodies, n), [*in_arrays, out_init], grid=(n // group, 1, 1),
                    threadgroup=(group, 1, 1))
    return res[-1]


def wrap(values, bits=32):
    """Python ints wrapped to signed `bits`."""
    m = 1 << bits
    return np.array([(int(v) + m // 2) % m - m // 2 for v in values], np.int64)


# --------------------------------------------------------------------------------------------
# arith


def int_inputs():
    rng = np.random.default_rng(1)
    x = rng.integers(-(1 << 31), 1 << 31, N, dtype=np.int64)
    x[:6] = [0, -1, (1 << 31) - 1, -(1 << 31), 7, -7]
    y = rng.integers(-50, 50, N, dtype=np.int64)
    y[y == 0] = 3
    y[:6] = [3, 3, -1, 2, -2, 2]
    return x.astype(np.int32), y.astype(np.int32)


def test_i32_arithmetic_wraps_and_divides_like_mlir():
    x, y = int_inputs()
    sh = (np.abs(y) % 31).astype(np.int32)
    ops = ["addi", "subi", "muli", "divsi", "divui", "remsi", "remui", "ceildivsi",
           "floordivsi", "ceildivui", "andi", "ori", "xori", "maxsi", "minsi", "maxui", "minui"]
    bodies = [f"%r = arith.{op} %x, %y : i32" for op in ops]
    bodies += [f"%r = arith.{op} %x, %z : i32" for op in ("shli", "shrsi", "shrui")]
    got = run_family(["i32", "i32", "i32"], [x, y, sh], "i32", np.int32, bodies)
    xs, ys, ss = [int(v) for v in x], [int(v) for v in y], [int(v) for v in sh]
    xu, yu = [v % (1 << 32) for v in xs], [v % (1 << 32) for v in ys]

    def tdiv(a, b):
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q

    want = {
        "addi": [a + b for a, b in zip(xs, ys)], "subi": [a - b for a, b in zip(xs, ys)],
        "muli": [a * b for a, b in zip(xs, ys)],
        "divsi": [tdiv(a, b) if (a, b) != (-(1 << 31), -1) else a for a, b in zip(xs, ys)],
        "divui": [a // b for a, b in zip(xu, yu)],
        "remsi": [a - tdiv(a, b) * b if (a, b) != (-(1 << 31), -1) else 0
                  for a, b in zip(xs, ys)],
        "remui": [a % b for a, b in zip(xu, yu)],
        "ceildivsi": [-((-a) // b) if (a, b) != (-(1 << 31), -1) else a for a, b in zip(xs, ys)],
        "floordivsi": [a // b if (a, b) != (-(1 << 31), -1) else a for a, b in zip(xs, ys)],
        "ceildivui": [-((-a) // b) for a, b in zip(xu, yu)],
        "andi": [a & b for a, b in zip(xs, ys)], "ori": [a | b for a, b in zip(xs, ys)],
        "xori": [a ^ b for a, b in zip(xs, ys)],
        "maxsi": [max(a, b) for a, b in zip(xs, ys)], "minsi": [min(a, b) for a, b in zip(xs, ys)],
        "maxui": [max(a, b) for a, b in zip(xu, yu)], "minui": [min(a, b) for a, b in zip(xu, yu)],
        "shli": [a << s for a, s in zip(xs, ss)], "shrsi": [a >> s for a, s in zip(xs, ss)],
        "shrui": [a >> s for a, s in zip(xu, ss)],
    }
    for k, op in enumerate([*ops, "shli", "shrsi", "shrui"]):
        w = np.array(want[op], dtype=object)
        if op in ("divsi", "remsi", "ceildivsi", "floordivsi"):  # INT_MIN / -1 is UB: skip it
            keep = [(a, b) != (-(1 << 31), -1) for a, b in zip(xs, ys)]
        else:
            keep = [True] * N
        np.testing.assert_array_equal(got[k][keep], wrap(w)[keep], err_msg=op)


def test_i64_i8_and_i1_arithmetic():
    rng = np.random.default_rng(2)
    a = rng.integers(-(1 << 62), 1 << 62, N, dtype=np.int64)
    b = rng.integers(-100, 100, N, dtype=np.int64)
    b[b == 0] = 5
    got = run_family(["i64", "i64"], [a, b], "i64", np.int64, [
        "%r = arith.muli %x, %y : i64",
        "%r = arith.divsi %x, %y : i64",
        "%c60 = arith.constant 60 : i64\n    %r = arith.shrsi %x, %c60 : i64",
        "%c = arith.constant -9223372036854775808 : i64\n    %r = arith.addi %x, %c : i64",
    ])
    av, bv = [int(v) for v in a], [int(v) for v in b]
    np.testing.assert_array_equal(got[0], wrap([p * q for p, q in zip(av, bv)], 64))
    np.testing.assert_array_equal(got[1], [abs(p) // abs(q) * (1 if (p < 0) == (q < 0) else -1)
                                           for p, q in zip(av, bv)])
    np.testing.assert_array_equal(got[2], a >> 60)
    np.testing.assert_array_equal(got[3], wrap([p - (1 << 63) for p in av], 64))

    c = rng.integers(-128, 128, N).astype(np.int8)
    d = rng.integers(-128, 128, N).astype(np.int8)
    got8 = run_family(["i8", "i8"], [c, d], "i8", np.int8, [
        "%r = arith.addi %x, %y : i8",
        "%r = arith.muli %x, %y : i8",
        "%c3 = arith.constant 3 : i8\n    %r = arith.shrui %x, %c3 : i8",
        "%b = arith.cmpi slt, %x, %y : i8\n    %r = arith.extui %b : i1 to i8",
        "%b = arith.cmpi ult, %x, %y : i8\n    %r = arith.extsi %b : i1 to i8",
        # i1 arithmetic: add is xor, mul is and; signed i1 `true` is -1
        "%p = arith.trunci %x : i8 to i1\n    %q = arith.trunci %y : i8 to i1\n"
        "    %s = arith.addi %p, %q : i1\n    %m = arith.muli %p, %q : i1\n"
        "    %lt = arith.cmpi slt, %p, %q : i1\n    %s8 = arith.extui %s : i1 to i8\n"
        "    %m8 = arith.extui %m : i1 to i8\n    %l8 = arith.extui %lt : i1 to i8\n"
        "    %c2 = arith.constant 2 : i8\n    %c4 = arith.constant 4 : i8\n"
        "    %m2 = arith.muli %m8, %c2 : i8\n    %l4 = arith.muli %l8, %c4 : i8\n"
        "    %t = arith.ori %s8, %m2 : i8\n    %r = arith.ori %t, %l4 : i8",
    ])
    ci, di = c.astype(np.int64), d.astype(np.int64)
    np.testing.assert_array_equal(got8[0], wrap(ci + di, 8))
    np.testing.assert_array_equal(got8[1], wrap(ci * di, 8))
    np.testing.assert_array_equal(got8[2], (c.view(np.uint8) >> 3).astype(np.int8))
    np.testing.assert_array_equal(got8[3], (ci < di).astype(np.int8))
    np.testing.assert_array_equal(got8[4], -(c.view(np.uint8) < d.view(np.uint8)).astype(np.int8))
    p, q = ci & 1, di & 1
    lt = (-p) < (-q)
    np.testing.assert_array_equal(got8[5], (p ^ q) | ((p & q) << 1) | (lt.astype(np.int64) << 2))


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5, 1e-30, -2.5], np.float32)


def float_inputs(n=N, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32) * 3
    y = rng.standard_normal(n).astype(np.float32) * 3
    x[:10] = SPECIAL
    y[:10] = np.roll(SPECIAL, 3)
    y[10:14] = x[10:14]  # equal operands
    x[14], y[14] = 0.0, -0.0
    x[15], y[15] = -0.0, 0.0
    return x, y


def test_float_arithmetic_and_nan_rules():
    x, y = float_inputs()
    ops = ["addf", "subf", "mulf", "divf", "remf", "maxnumf", "minnumf", "maximumf", "minimumf"]
    bodies = [f"%r = arith.{op} %x, %y : f32" for op in ops] + ["%r = arith.negf %x : f32"]
    bodies.append("%c = arith.cmpf olt, %x, %y : f32\n    %r = arith.select %c, %x, %y : f32")
    with np.errstate(all="ignore"):
        got = run_family(["f32", "f32"], [x, y], "f32", np.float32, bodies)
        want = [x + y, x - y, x * y, x / y, np.fmod(x, y), np.fmax(x, y), np.fmin(x, y),
                np.maximum(x, y), np.minimum(x, y), -x, np.where(x < y, x, y)]
    for k, w in enumerate(want):
        np.testing.assert_array_equal(got[k], w.astype(np.float32), err_msg=bodies[k])
    # the sign of zero, in both operand orders: maximumf(0, -0) = 0, minimumf(0, -0) = -0
    np.testing.assert_array_equal(np.signbit(got[7][14:16]), [False, False])
    np.testing.assert_array_equal(np.signbit(got[8][14:16]), [True, True])


CMPF = ["false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord", "ueq", "ugt", "uge", "ult",
        "ule", "une", "uno", "true"]


def test_cmpf_every_predicate_with_nan():
    x, y = float_inputs()
    bodies = [f"%b = arith.cmpf {p}, %x, %y : f32\n    %r = arith.extui %b : i1 to i8"
              for p in CMPF]
    got = run_family(["f32", "f32"], [x, y], "i8", np.int8, bodies)
    unordered = np.isnan(x) | np.isnan(y)
    base = {"eq": x == y, "gt": x > y, "ge": x >= y, "lt": x < y, "le": x <= y, "ne": x != y}
    for k, p in enumerate(CMPF):
        if p in ("false", "true"):
            want = np.full(N, p == "true")
        elif p == "ord":
            want = ~unordered
        elif p == "uno":
            want = unordered
        elif p == "one":
            want = ~unordered & (x != y)
        elif p == "une":
            want = unordered | (x != y)
        elif p[0] == "o":
            want = ~unordered & base[p[1:]]
        else:
            want = unordered | base[p[1:]]
        np.testing.assert_array_equal(got[k], want.astype(np.int8), err_msg=p)


CMPI = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]


def test_cmpi_every_predicate_on_i32_and_index():
    x, y = int_inputs()
    y[20:30] = x[20:30]
    bodies = [f"%b = arith.cmpi {p}, %x, %y : i32\n    %r = arith.extui %b : i1 to i8"
              for p in CMPI]
    # the same predicates on index values (index is uint; signed predicates view it as int)
    bodies += [f"%xi = arith.index_cast %x : i32 to index\n"
               f"    %yi = arith.index_cast %y : i32 to index\n"
               f"    %b = arith.cmpi {p}, %xi, %yi : index\n    %r = arith.extui %b : i1 to i8"
               for p in CMPI]
    got = run_family(["i32", "i32"], [x, y], "i8", np.int8, bodies)
    xu, yu = x.view(np.uint32), y.view(np.uint32)
    ops = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}
    for k, p in enumerate(CMPI * 2):
        a, b = (x, y) if p[0] in "s" or p in ("eq", "ne") else (xu, yu)
        want = ops[p[-2:] if len(p) == 3 else p](a, b)
        np.testing.assert_array_equal(got[k], want.astype(np.int8), err_msg=f"{k}: {p}")


# --------------------------------------------------------------------------------------------
# math


def _ref(fn):
    return np.vectorize(lambda v: fn(float(v)) if np.isfinite(v) or fn in (math.erf,) else
                        np.nan, otypes=[np.float64])


MATH_UNARY = {
    "absf": np.abs, "ceil": np.ceil, "floor": np.floor, "trunc": np.trunc, "sqrt": np.sqrt,
    "rsqrt": lambda v: 1 / np.sqrt(v), "exp": np.exp, "exp2": np.exp2, "log": np.log,
    "log2": np.log2, "log10": np.log10, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "round": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5), "roundeven": np.round,
    "erf": np.vectorize(math.erf, otypes=[np.float64]),
    "erfc": np.vectorize(math.erfc, otypes=[np.float64]),
    "expm1": np.expm1, "log1p": np.log1p, "cbrt": np.cbrt,
}


def math_inputs():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(N).astype(np.float64) * 2
    x[:12] = [0.0, -0.0, 1e-7, -1e-7, 0.5, -0.5, 2.5, -3.5, 4.5, 30.0, 0.3, -0.99]
    return x


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_math_unary_functions(dtype):
    x64 = math_inputs()
    ops = list(MATH_UNARY)
    bodies = [f"%r = math.{op} %x : {dtype}" for op in ops]
    np_in = {"f32": np.float32, "f16": np.float16, "bf16": np.float32}[dtype]
    x = x64.astype(np_in)
    if dtype == "bf16":
        x = _to_bf16_bits(x64)
        xr = _from_bf16_bits(x).astype(np.float64)
    else:
        xr = x.astype(np.float64)
    got = run_family([dtype], [x], dtype, x.dtype, bodies)
    if dtype == "bf16":
        got = _from_bf16_bits(got)
    tol = {"f32": 4e-6, "f16": 1.5e-3, "bf16": 1e-2}[dtype]
    with np.errstate(all="ignore"):
        for k, op in enumerate(ops):
            want = MATH_UNARY[op](xr)
            g = got[k].astype(np.float64)
            if dtype != "f32":  # the result is rounded to the narrow type
                want = want.astype(np.float32).astype(np_in if dtype == "f16" else np.float32)
            np.testing.assert_allclose(g, want, rtol=tol, atol=tol * 1e-3 if dtype == "f32"
                                       else tol * 1e-2, equal_nan=True, err_msg=f"{op} {dtype}")


def test_math_helpers_are_accurate_over_their_range():
    """erf/erfc/expm1/log1p/cbrt are our preamble code (Metal lacks them): check them densely,
    with the relative error NumPy's float64 values allow for float32."""
    x = np.concatenate([np.linspace(-6, 6, 1001), np.geomspace(1e-12, 1e3, 200),
                        -np.geomspace(1e-12, 0.999, 100), [np.inf, -np.inf, np.nan],
                        np.zeros(1536 - 1304)])  # a whole number of 256-thread groups
    x = x.astype(np.float32)
    n = x.size
    ops = ["erf", "erfc", "expm1", "log1p", "cbrt"]
    got = run_family(["f32"], [x], "f32", np.float32,
                     [f"%r = math.{op} %x : f32" for op in ops], n=n)
    xd = x.astype(np.float64)
    with np.errstate(all="ignore"):
        for k, op in enumerate(ops):
            want = MATH_UNARY[op](xd)
            if op in ("erf", "erfc"):
                want[np.isnan(xd)] = np.nan
                want[np.isinf(xd)] = (np.sign(xd) if op == "erf" else 1 - np.sign(xd))[
                    np.isinf(xd)]
            want = want.astype(np.float32).astype(np.float64)  # overflows to inf as float does
            tiny = np.abs(want) < 1e-37  # denormal results: compare absolutely
            np.testing.assert_allclose(got[k][~tiny], want[~tiny], rtol=2e-6, equal_nan=True,
                                       err_msg=op)
            np.testing.assert_allclose(got[k][tiny], want[tiny], atol=1e-37, err_msg=op)


def test_math_binary_ternary_predicates_and_integer_functions():
    x, y = float_inputs()
    z = np.random.default_rng(5).standard_normal(N).astype(np.float32)
    bodies = ["%r = math.atan2 %x, %y : f32", "%r = math.powf %x, %y : f32",
              "%r = math.copysign %x, %y : f32", "%r = math.fma %x, %y, %z : f32",
              "%lo = arith.constant -0.5 : f32\n    %hi = arith.constant 0.75 : f32\n"
              "    %r = math.clampf %z to [%lo, %hi] : f32",
              "%t = arith.fptosi %z : f32 to i32\n    %r = math.fpowi %x, %t : f32, i32",
              "%s, %r = math.sincos %x : f32"]
    with np.errstate(all="ignore"):
        got = run_family(["f32", "f32", "f32"], [x, y, z], "f32", np.float32, bodies)
        xd, yd, zd = (v.astype(np.float64) for v in (x, y, z))
        e = np.trunc(zd)
        want = [np.arctan2(xd, yd), np.power(xd, yd), np.copysign(xd, yd), xd * yd + zd,
                np.clip(zd, -0.5, 0.75), np.power(xd, e), np.cos(xd)]
    for k, w in enumerate(want):
        np.testing.assert_allclose(got[k], w, rtol=3e-6, atol=1e-30, equal_nan=True,
                                   err_msg=bodies[k])

    preds = ["isnan", "isinf", "isfinite"]
    gotp = run_family(["f32"], [x], "i8", np.int8, [
        f"%b = math.{p} %x : f32\n    %r = arith.extui %b : i1 to i8" for p in preds])
    for k, fn in enumerate([np.isnan, np.isinf, np.isfinite]):
        np.testing.assert_array_equal(gotp[k], fn(x).astype(np.int8), err_msg=preds[k])

    a, b = int_inputs()
    small = (np.abs(b) % 5).astype(np.int32) - 1
    base = np.random.default_rng(6).integers(-4, 5, N).astype(np.int32)
    goti = run_family(["i32", "i32", "i32"], [a, small, base], "i32", np.int32, [
        "%r = math.absi %x : i32", "%r = math.ctlz %x : i32", "%r = math.cttz %x : i32",
        "%r = math.ctpop %x : i32", "%r = math.ipowi %z, %y : i32"])
    au = [int(v) % (1 << 32) for v in a]
    np.testing.assert_array_equal(goti[0], wrap([abs(int(v)) for v in a]))
    np.testing.assert_array_equal(goti[1], [32 - v.bit_length() for v in au])
    np.testing.assert_array_equal(goti[2], [(v & -v).bit_length() - 1 if v else 32 for v in au])
    np.testing.assert_array_equal(goti[3], [bin(v).count("1") for v in au])
    want_pow = []
    for bb, ee in zip(base.tolist(), small.tolist()):
        if ee >= 0:
            want_pow.append(bb ** ee)
        else:
            want_pow.append(1 if bb == 1 else ((-1) ** (ee % 2) if bb == -1 else 0))
    np.testing.assert_array_equal(goti[4][base != 0], np.array(want_pow)[base != 0])


# --------------------------------------------------------------------------------------------
# casts and narrow floats


def _to_bf16_bits(values) -> np.ndarray:
    bits = np.asarray(values, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _from_bf16_bits(bits) -> np.ndarray:
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)


def test_int_float_and_index_casts():
    x, _ = float_inputs()
    x = np.where(np.isfinite(x), x * 1000, 0).astype(np.float32)
    i, _ = int_inputs()
    got = run_family(["f32", "i32"], [x, i], "i64", np.int64, [
        "%r = arith.fptosi %x : f32 to i64",
        "%a = math.absf %x : f32\n    %r = arith.fptoui %a : f32 to i64",
        "%r = arith.extsi %y : i32 to i64",
        "%r = arith.extui %y : i32 to i64",
        "%t = arith.trunci %y : i32 to i8\n    %r = arith.extsi %t : i8 to i64",
        "%n = arith.index_cast %y : i32 to index\n    %r = arith.index_cast %n : index to i64",
        "%n = arith.index_castui %y : i32 to index\n    %r = arith.index_castui %n : index to i64",
        "%n = arith.index_cast %y : i32 to index\n    %r = arith.index_castui %n : index to i64",
        "%f = arith.sitofp %y : i32 to f32\n    %r = arith.fptosi %f : f32 to i64",
        "%f = arith.uitofp %y : i32 to f32\n    %r = arith.fptoui %f : f32 to i64",
        "%f = arith.bitcast %y : i32 to f32\n    %b = arith.bitcast %f : f32 to i32\n"
        "    %r = arith.extsi %b : i32 to i64",
    ])
    i64 = i.astype(np.int64)
    u64 = i.view(np.uint32).astype(np.int64)
    want = [np.trunc(x).astype(np.int64), np.trunc(np.abs(x)).astype(np.int64), i64, u64,
            i.astype(np.int8).astype(np.int64), i64, u64, u64,
            i.astype(np.float32).astype(np.int64),
            i.view(np.uint32).astype(np.float32).astype(np.int64), i64]
    for k, w in enumerate(want):
        np.testing.assert_array_equal(got[k], w, err_msg=str(k))


def test_half_and_bfloat_arithmetic_and_conversions():
    x, y = float_inputs()
    x = np.where(np.isnan(x), 1.5, x).astype(np.float32)  # NaN payloads differ: leave out
    h = x.astype(np.float16)
    bf = _to_bf16_bits(x)
    got = run_family(["f32", "f16", "bf16"], [x, h, bf], "f32", np.float32, [
        "%t = arith.truncf %x : f32 to f16\n    %r = arith.extf %t : f16 to f32",
        "%t = arith.truncf %x : f32 to bf16\n    %r = arith.extf %t : bf16 to f32",
        "%s = arith.mulf %y, %y : f16\n    %r = arith.extf %s : f16 to f32",
        "%s = arith.addf %z, %z : bf16\n    %m = arith.mulf %s, %z : bf16\n"
        "    %r = arith.extf %m : bf16 to f32",
        "%c = arith.constant 0.1 : bf16\n    %s = arith.addf %z, %c : bf16\n"
        "    %r = arith.extf %s : bf16 to f32",
        "%c = arith.constant 0.1 : f16\n    %s = arith.subf %y, %c : f16\n"
        "    %r = arith.extf %s : f16 to f32",
        "%t = arith.extf %y : f16 to f32\n    %b = arith.truncf %t : f32 to bf16\n"
        "    %r = arith.extf %b : bf16 to f32",
        "%b = arith.cmpf olt, %z, %z : bf16\n    %r = arith.uitofp %b : i1 to f32",
        "%i = arith.fptosi %z : bf16 to i32\n    %r = arith.sitofp %i : i32 to f32",
        "%n = arith.negf %z : bf16\n    %r = arith.extf %n : bf16 to f32",
    ])
    bff = _from_bf16_bits(bf)
    with np.errstate(all="ignore"):
        want = [h.astype(np.float32), bff, (h * h).astype(np.float32),
                _from_bf16_bits(_to_bf16_bits(_from_bf16_bits(_to_bf16_bits(bff + bff)) * bff)),
                _from_bf16_bits(_to_bf16_bits(bff + _from_bf16_bits(_to_bf16_bits(0.1)))),
                (h - np.float16(0.1)).astype(np.float32),
                _from_bf16_bits(_to_bf16_bits(h.astype(np.float32))),
                np.zeros(N, np.float32),
                np.where(np.isfinite(bff), np.trunc(bff), 0),
                -bff]
    for k, w in enumerate(want):
        keep = np.isfinite(bff) if k == 8 else slice(None)
        np.testing.assert_array_equal(got[k][keep], np.asarray(w, np.float32)[keep],
                                      err_msg=str(k))


# --------------------------------------------------------------------------------------------
# control flow


def test_loops_with_iter_args_while_switch_and_if():
    text = """
gpu.module @m {
  gpu.func @k(%in: memref<64xi32>, %out: memref<4x64xi32>, %lo: index) kernel {
    %i = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %one = arith.constant 1 : i32
    %zero = arith.constant 0 : i32
    %n = memref.load %in[%i] : memref<64xi32>
    %ni = arith.index_cast %n : i32 to index
    // fibonacci by swapping two loop-carried values
    %a, %b = scf.for %k = %c0 to %ni step %c1 iter_args(%p = %zero, %q = %one) -> (i32, i32) {
      %s = arith.addi %p, %q : i32
      scf.yield %q, %s : i32, i32
    }
    memref.store %a, %out[%c0, %i] : memref<4x64xi32>
    // a signed loop from a negative scalar bound: sum of k for k in [lo, n)
    %sum = scf.for %k = %lo to %ni step %c1 iter_args(%acc = %zero) -> (i32) {
      %ki = arith.index_cast %k : index to i32
      %t = arith.addi %acc, %ki : i32
      scf.yield %t : i32
    }
    memref.store %sum, %out[%c1, %i] : memref<4x64xi32>
    // collatz steps of n + 1
    %start = arith.addi %n, %one : i32
    %steps:2 = scf.while (%v = %start, %c = %zero) : (i32, i32) -> (i32, i32) {
      %more = arith.cmpi ne, %v, %one : i32
      scf.condition(%more) %v, %c : i32, i32
    } do {
    ^bb0(%v2: i32, %c2b: i32):
      %two = arith.constant 2 : i32
      %three = arith.constant 3 : i32
      %r = arith.remui %v2, %two : i32
      %odd = arith.cmpi ne, %r, %zero : i32
      %next = scf.if %odd -> (i32) {
        %m = arith.muli %v2, %three : i32
        %m1 = arith.addi %m, %one : i32
        scf.yield %m1 : i32
      } else {
        %h = arith.divui %v2, %two : i32
        scf.yield %h : i32
      }
      %c3b = arith.addi %c2b, %one : i32
      scf.yield %next, %c3b : i32, i32
    }
    memref.store %steps#1, %out[%c2, %i] : memref<4x64xi32>
    %sel = arith.remui %i, %c3 : index
    %sw = scf.index_switch %sel -> i32
    case 0 {
      %x = arith.constant 100 : i32
      scf.yield %x : i32
    }
    case 1 {
      %x = arith.constant 200 : i32
      scf.yield %x : i32
    }
    default {
      scf.yield %n : i32
    }
    %pos = arith.cmpi sgt, %n, %one : i32
    scf.if %pos {
      memref.store %sw, %out[%c3, %i] : memref<4x64xi32>
    }
    gpu.return
  }
}
"""
    n = np.arange(N, dtype=np.int32) % 20
    out = np.full((4, N), -7, np.int32)
    (_, got, _), source = launch(text, [n, out, -3])
    assert "int(" in source  # the loop from %lo compares signed

    def fib(k):
        a, b = 0, 1
        for _ in range(k):
            a, b = b, a + b
        return a

    def collatz(v):
        c = 0
        while v != 1:
            v, c = (3 * v + 1 if v % 2 else v // 2), c + 1
        return c

    np.testing.assert_array_equal(got[0], [fib(int(k)) for k in n])
    np.testing.assert_array_equal(got[1], [sum(range(-3, int(k))) for k in n])
    np.testing.assert_array_equal(got[2], [collatz(int(k) + 1) for k in n])
    sw = np.where(np.arange(N) % 3 == 0, 100, np.where(np.arange(N) % 3 == 1, 200, n))
    np.testing.assert_array_equal(got[3], np.where(n > 1, sw, -7))


# --------------------------------------------------------------------------------------------
# workgroup memory, barriers, SIMD-group operations


TREE_SUM = """
gpu.module @m {
  gpu.func @k(%in: memref<4x128xf32>, %out: memref<4xf32>)
      workgroup(%sm: memref<128xf32, #gpu.address_space<workgroup>>) kernel {
    %t = gpu.thread_id x
    %g = gpu.block_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %v = memref.load %in[%g, %t] : memref<4x128xf32>
    memref.store %v, %sm[%t] : memref<128xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = scf.while (%s = %c64) : (index) -> index {
      %go = arith.cmpi ugt, %s, %c0 : index
      scf.condition(%go) %s : index
    } do {
    ^bb0(%s2: index):
      %lt = arith.cmpi ult, %t, %s2 : index
      scf.if %lt {
        %o = arith.addi %t, %s2 : index
        %a = memref.load %sm[%t] : memref<128xf32, #gpu.address_space<workgroup>>
        %b = memref.load %sm[%o] : memref<128xf32, #gpu.address_space<workgroup>>
        %ab = arith.addf %a, %b : f32
        memref.store %ab, %sm[%t] : memref<128xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %h = arith.shrui %s2, %c1 : index
      scf.yield %h : index
    }
    %first = arith.cmpi eq, %t, %c0 : index
    scf.if %first {
      %r = memref.load %sm[%c0] : memref<128xf32, #gpu.address_space<workgroup>>
      memref.store %r, %out[%g] : memref<4xf32>
    }
    gpu.return
  }
}
"""


@pytest.mark.parametrize("order", ["forward", "reverse", "shuffle"])
def test_workgroup_tree_reduction_with_barriers(order):
    x = np.random.default_rng(7).integers(-50, 50, (4, 128)).astype(np.float32)
    (_, got), source = launch(TREE_SUM, [x, np.zeros(4, np.float32)], grid=(4, 1, 1),
                              threadgroup=(128, 1, 1), order=order)
    np.testing.assert_array_equal(got, x.sum(axis=1))
    assert "threadgroup float" in source
    # no buffer is both written and read across a barrier: a threadgroup fence suffices
    assert "threadgroup_barrier(mem_flags::mem_threadgroup);" in source


def test_missing_barrier_is_caught_by_the_simulator():
    """Guards the test above: without the barriers, thread 0 runs first and reads partner
    slots not yet written (metal-sim fills fresh threadgroup memory with NaN)."""
    broken = TREE_SUM.replace("gpu.barrier\n", "")
    x = np.random.default_rng(7).integers(1, 50, (4, 128)).astype(np.float32)
    (_, got), _ = launch(broken, [x, np.zeros(4, np.float32)], grid=(4, 1, 1),
                         threadgroup=(128, 1, 1), order="forward")
    assert not np.array_equal(got, x.sum(axis=1))


@pytest.mark.parametrize("t", ["f32", "f16"])
def test_maximumf_and_minimumf_reductions_propagate_nan(t):
    """simd_max/simd_min drop NaNs (metal-sim: a NaN in any lane but the first); the
    reductions of arith.maximumf/minimumf keep them, as MLX's max and min do."""
    text = f"""
gpu.module @m {{
  gpu.func @k(%in: memref<100x{t}>, %out: memref<3x100x{t}>) kernel {{
    %t = gpu.thread_id x
    %x = memref.load %in[%t] : memref<100x{t}>
    %mx = gpu.subgroup_reduce maximumf %x : ({t}) -> {t}
    %mn = gpu.subgroup_reduce minimumf %x : ({t}) -> {t}
    %all = gpu.all_reduce %x {{
    ^bb0(%a: {t}, %b: {t}):
      %m = arith.maximumf %a, %b : {t}
      gpu.yield %m : {t}
    }} : ({t}) -> ({t})
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    memref.store %mx, %out[%c0, %t] : memref<3x100x{t}>
    memref.store %mn, %out[%c1, %t] : memref<3x100x{t}>
    memref.store %all, %out[%c2, %t] : memref<3x100x{t}>
    gpu.return
  }}
}}
"""
    dtype = np.float32 if t == "f32" else np.float16
    x = np.random.default_rng(11).integers(-100, 100, 100).astype(dtype)
    x[[37, 70]] = np.nan  # inside simdgroups 1 and 2, not their first lanes
    (_, got), _ = launch(text, [x, np.zeros((3, 100), dtype)], threadgroup=(100, 1, 1),
                         order="forward")
    group = np.arange(100) // 32
    maxs = np.array([np.max(x[group == g]) for g in range(4)])
    mins = np.array([np.min(x[group == g]) for g in range(4)])
    np.testing.assert_array_equal(got[0], maxs[group])  # NaN where the simdgroup has one
    np.testing.assert_array_equal(got[1], mins[group])
    assert np.isnan(got[2]).all()


def test_shuffles_subgroup_reduce_and_all_reduce():
    text = """
gpu.module @m {
  gpu.func @k(%in: memref<100xf32>, %ii: memref<100xi32>, %out: memref<8x100xf32>,
              %iout: memref<3x100xi32>) kernel {
    %t = gpu.thread_id x
    %x = memref.load %in[%t] : memref<100xf32>
    %n = memref.load %ii[%t] : memref<100xi32>
    %c1 = arith.constant 1 : i32
    %c3 = arith.constant 3 : i32
    %c32 = arith.constant 32 : i32
    %c16 = arith.constant 16 : i32
    %sx, %vx = gpu.shuffle xor %x, %c1, %c32 : f32
    %sd, %vd = gpu.shuffle down %x, %c3, %c32 : f32
    %su, %vu = gpu.shuffle up %x, %c3, %c32 : f32
    %si, %vi = gpu.shuffle idx %x, %c16, %c32 : f32
    %sum = gpu.subgroup_reduce add %x : (f32) -> f32
    %mx = gpu.subgroup_reduce maxnumf %x : (f32) -> f32
    %all = gpu.all_reduce add %x uniform {} : (f32) -> (f32)
    %allmax = gpu.all_reduce %x {
    ^bb0(%a: f32, %b: f32):
      %m = arith.maximumf %a, %b : f32
      gpu.yield %m : f32
    } : (f32) -> (f32)
    %imin = gpu.all_reduce minsi %n uniform {} : (i32) -> (i32)
    %ixor = gpu.subgroup_reduce xor %n : (i32) -> i32
    %vdi = arith.extui %vd : i1 to i32
    %vui = arith.extui %vu : i1 to i32
    %v2 = arith.shli %vui, %c1 : i32
    %valid = arith.ori %vdi, %v2 : i32
    %c0i = arith.constant 0 : index
    %c1i = arith.constant 1 : index
    %c2i = arith.constant 2 : index
    %c3i = arith.constant 3 : index
    %c4i = arith.constant 4 : index
    %c5i = arith.constant 5 : index
    %c6i = arith.constant 6 : index
    %c7i = arith.constant 7 : index
    memref.store %sx, %out[%c0i, %t] : memref<8x100xf32>
    memref.store %sd, %out[%c1i, %t] : memref<8x100xf32>
    memref.store %su, %out[%c2i, %t] : memref<8x100xf32>
    memref.store %si, %out[%c3i, %t] : memref<8x100xf32>
    memref.store %sum, %out[%c4i, %t] : memref<8x100xf32>
    memref.store %mx, %out[%c5i, %t] : memref<8x100xf32>
    memref.store %all, %out[%c6i, %t] : memref<8x100xf32>
    memref.store %allmax, %out[%c7i, %t] : memref<8x100xf32>
    memref.store %imin, %iout[%c0i, %t] : memref<3x100xi32>
    memref.store %ixor, %iout[%c1i, %t] : memref<3x100xi32>
    memref.store %valid, %iout[%c2i, %t] : memref<3x100xi32>
    gpu.return
  }
}
"""
    rng = np.random.default_rng(8)
    x = rng.integers(-100, 100, 100).astype(np.float32)
    ints = rng.integers(-1000, 1000, 100).astype(np.int32)
    # 100 threads: three full simdgroups and a partial one of 4 lanes
    (_, _, got, igot), source = launch(
        text, [x, ints, np.zeros((8, 100), np.float32), np.zeros((3, 100), np.int32)],
        threadgroup=(100, 1, 1))
    lanes = np.arange(100)
    lane, group = lanes % 32, lanes // 32
    np.testing.assert_array_equal(got[0], x[lanes ^ 1])
    down = lane + 3 < 32
    sel = down & (lanes + 3 < 100)
    np.testing.assert_array_equal(got[1][sel], x[lanes[sel] + 3])
    up = lane >= 3
    np.testing.assert_array_equal(got[2][up], x[(lanes - 3)[up]])
    full = group < 3
    np.testing.assert_array_equal(got[3][full], x[group[full] * 32 + 16])
    sums = np.array([x[group == g].sum() for g in range(4)])
    maxs = np.array([x[group == g].max() for g in range(4)])
    np.testing.assert_array_equal(got[4], sums[group])
    np.testing.assert_array_equal(got[5], maxs[group])
    np.testing.assert_array_equal(got[6], np.full(100, x.sum()))
    np.testing.assert_array_equal(got[7], np.full(100, x.max()))
    np.testing.assert_array_equal(igot[0], np.full(100, ints.min()))
    xors = [np.bitwise_xor.reduce(ints[group == g]) for g in range(4)]
    np.testing.assert_array_equal(igot[1], np.array(xors)[group])
    np.testing.assert_array_equal(igot[2], down.astype(np.int32) | (up.astype(np.int32) << 1))
    assert "simd_shuffle_xor" in source and "simd_sum" in source


# --------------------------------------------------------------------------------------------
# memory: strided arguments, views, private arrays, atomics


def test_strided_arguments_and_views():
    text = """
gpu.module @m {
  gpu.func @k(%a: memref<4x6xf32, strided<[8, 1], offset: 3>>, %out: memref<6x4xf32>,
              %flat: memref<24xf32>) kernel {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c6 = arith.constant 6 : index
    %r = arith.divui %t, %c6 : index
    %c = arith.remui %t, %c6 : index
    // a rank-reducing subview at a dynamic row: row r of %a, 6 wide
    %row = memref.subview %a[%r, 0] [1, 6] [1, 1]
        : memref<4x6xf32, strided<[8, 1], offset: 3>> to memref<6xf32, strided<[1], offset: ?>>
    %v = memref.load %row[%c] : memref<6xf32, strided<[1], offset: ?>>
    // the transpose through a reinterpret_cast of %out's base: out[c, r] at c*4 + r
    %base, %off, %s0, %s1, %st0, %st1 = memref.extract_strided_metadata %out
        : memref<6x4xf32> -> memref<f32>, index, index, index, index, index
    %tr = memref.reinterpret_cast %base to offset: [%off], sizes: [4, 6], strides: [1, 4]
        : memref<f32> to memref<4x6xf32, strided<[1, 4], offset: ?>>
    memref.store %v, %tr[%r, %c] : memref<4x6xf32, strided<[1, 4], offset: ?>>
    // expand the flat output to 4x6, then collapse it back through a 2x2x6 view
    %e = memref.expand_shape %flat [[0, 1, 2]] output_shape [2, 2, 6]
        : memref<24xf32> into memref<2x2x6xf32>
    %col = memref.collapse_shape %e [[0, 1], [2]] : memref<2x2x6xf32> into memref<4x6xf32>
    // a private array: the row's running sum
    %acc = memref.alloca() : memref<1xf32>
    %z = arith.constant 0.0 : f32
    memref.store %z, %acc[%c0] : memref<1xf32>
    %cp1 = arith.addi %c, %c1 : index
    scf.for %k = %c0 to %cp1 step %c1 {
      %x = memref.load %row[%k] : memref<6xf32, strided<[1], offset: ?>>
      %s = memref.load %acc[%c0] : memref<1xf32>
      %s2 = arith.addf %s, %x : f32
      memref.store %s2, %acc[%c0] : memref<1xf32>
    }
    %total = memref.load %acc[%c0] : memref<1xf32>
    memref.store %total, %col[%r, %c] : memref<4x6xf32>
    gpu.return
  }
}
"""
    storage = np.arange(40, dtype=np.float32)  # the aligned allocation behind %a
    a = storage[3:3 + 32].reshape(4, 8)[:, :6]
    (_, out, flat), source = launch(text, [storage, np.zeros((6, 4), np.float32),
                                           np.zeros(24, np.float32)], threadgroup=(24, 1, 1))
    np.testing.assert_array_equal(out, a.T)
    np.testing.assert_array_equal(flat.reshape(4, 6), np.cumsum(a, axis=1))
    assert "arg0[" in source and "float v" in source


def test_atomics_on_device_memory():
    text = """
gpu.module @m {
  gpu.func @k(%in: memref<256xf32>, %ii: memref<256xi32>, %f: memref<1xf32>,
              %i: memref<3xi32>) kernel {
    %t = gpu.thread_id x
    %g = gpu.block_id x
    %bd = gpu.block_dim x
    %gi = arith.muli %g, %bd : index
    %n = arith.addi %gi, %t : index
    %x = memref.load %in[%n] : memref<256xf32>
    %y = memref.load %ii[%n] : memref<256xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %0 = memref.atomic_rmw addf %x, %f[%c0] : (f32, memref<1xf32>) -> f32
    %1 = memref.atomic_rmw addi %y, %i[%c0] : (i32, memref<3xi32>) -> i32
    %2 = memref.atomic_rmw maxs %y, %i[%c1] : (i32, memref<3xi32>) -> i32
    %3 = memref.atomic_rmw mins %y, %i[%c2] : (i32, memref<3xi32>) -> i32
    gpu.return
  }
}
"""
    rng = np.random.default_rng(9)
    x = rng.integers(-8, 8, 256).astype(np.float32)
    y = rng.integers(-1000, 1000, 256).astype(np.int32)
    init = np.array([0, -(1 << 31), (1 << 31) - 1], np.int32)
    (_, _, f, i), _ = launch(text, [x, y, np.zeros(1, np.float32), init], grid=(4, 1, 1))
    assert f[0] == x.sum()
    np.testing.assert_array_equal(i, [y.sum(), y.max(), y.min()])


# --------------------------------------------------------------------------------------------
# metadata, naming and the real pipeline's kernels


def test_metadata_describes_arguments_and_threadgroup_memory():
    _, (info,) = translate(TREE_SUM)
    assert info.name == info.msl_name == "k" and info.module == "m"
    a, b = info.arguments
    assert isinstance(a, msl.BufferArg) and (a.index, a.element_type, a.msl_type) == \
        (0, "f32", "float")
    assert a.shape == (4, 128) and not a.writes and b.writes and b.index == 1
    assert info.buffers == (a, b) and info.scalars == ()
    (tg,) = info.threadgroup
    assert (tg.msl_type, tg.count, tg.bytes) == ("float", 128, 512)
    assert info.threadgroup_bytes == 512
    assert set(info.builtins) >= {"gid", "tid", "bid", "tpg"}


SCALAR_KERNELS = """
gpu.module @a {
  gpu.func @k(%o: memref<4xf32>, %s: f32, %n: index) kernel {
    %t = gpu.thread_id x
    %true = arith.constant true
    %f = arith.uitofp %true : i1 to f32
    %v = arith.addf %s, %f : f32
    memref.store %v, %o[%t] : memref<4xf32>
    gpu.return
  }
}
gpu.module @b {
  gpu.func @k(%o: memref<4xf32>) kernel {
    gpu.return
  }
}
"""


def test_scalar_arguments_and_name_clashes_across_modules():
    text = SCALAR_KERNELS
    source, infos = translate(text)
    assert [i.msl_name for i in infos] == ["a_k", "b_k"]
    _, s, n = infos[0].arguments
    assert (s.msl_type, s.size, n.msl_type, n.mlir_type) == ("float", 4, "uint", "index")
    assert "constant float& arg1 [[buffer(1)]]" in source
    sim.compile_msl(source)


def test_metal_binds_scalars_as_the_translator_declares_them():
    """runtime/metal.py packs a scalar argument by the kernel info that the executable carries
    (no parsing of the source); the bytes are what the MSL source declares (metal-sim, like
    Metal's compiler, reads the source)."""
    from mxir.passes.gpu import declared_scalars, kernel_signatures
    from mxir.runtime.metal import MetalError, scalar_bytes
    from mxir.runtime.metal_sim.compiler import pack_scalar
    from mxir.tools import driver

    with driver.context(), ir.Location.unknown():
        module, _ = driver.load(SCALAR_KERNELS, "test.mlir")
        signatures = kernel_signatures(module)
        source, infos = msl.translate_gpu_modules(msl.gpu_modules(module))
    args = declared_scalars(signatures[0]["args"], infos[0])
    assert [a.get("msl_type") for a in args] == [None, "float", "uint"]
    params = sim.compile_msl(source).kernels["a_k"].buffers
    for index, value in ((1, 0.1), (2, 7)):
        assert scalar_bytes(args, index, value, "a_k") == \
            pack_scalar(params[index], value, "a_k").tobytes()
    with pytest.raises(MetalError, match="no declared type"):
        scalar_bytes(signatures[0]["args"], 2, 7, "a_k")


def test_kernels_of_the_gpu_pipeline_run_on_metal_sim():
    """End to end through passes/gpu.py: elementwise, reduction and matmul kernels."""
    import mxir as mx
    from mxir.evaluate import context
    from mxir.passes.gpu import compile_for_gpu
    from mxir.program import build_module, trace_program
    from mxir.runtime.plan import run_plan
    from mxir.schema.executable import ELEMENTS

    rng = np.random.default_rng(10)
    xn = rng.standard_normal((33, 40)).astype(np.float32)
    yn = rng.standard_normal((40, 9)).astype(np.float32)
    x, y = mx.array(xn), mx.array(yn)
    outputs = [mx.erf(mx.sin(x) * x), mx.sum(x, axis=1), x @ y]
    main, _ = trace_program(outputs)
    with context(), ir.Location.unknown():
        exe = compile_for_gpu(build_module(main))
    buffers = {b["id"]: b for b in exe.plan["buffers"]}
    got = [np.empty(buffers[b]["shape"], ELEMENTS[buffers[b]["element"]])
           for b in exe.plan["outputs"]]
    run_plan(exe, sim.MetalSimDevice(order="shuffle"), [xn, yn], got)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(got[0], erf(np.sin(xn.astype(np.float64)) * xn), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(got[1], xn.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[2], xn @ yn, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(shutil.which("xcrun") is None, reason="xcrun (Apple's Metal compiler) is "
                    "not available on this OS; metal-sim compiles the sources in the tests above")
def test_sources_compile_with_apples_metal_compiler(tmp_path):
    for text in (TREE_SUM, family(["f32"], "f32", [f"%r = math.{op} %x : f32"
                                                   for op in MATH_UNARY])):
        source, _ = translate(text)
        path = tmp_path / "k.metal"
        path.write_text(source)
        subprocess.run(["xcrun", "-sdk", "macosx", "metal", "-std=metal3.1", "-c", str(path),
                        "-o", str(tmp_path / "k.air")], check=True)


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("body, message", [
    ("%r = arith.addf %x, %x : f64", "f64 is not supported by Metal"),
    ("cf.br ^bb1\n  ^bb1:", "several blocks"),
    ("%r = vector.broadcast %x : f32 to vector<4xf32>", "'vector.broadcast' is not supported"),
    ("%c = arith.constant 8589934592 : index", "does not fit the 32-bit index"),
])
def test_unsupported_input_is_an_error_with_a_location(body, message):
    t = "f64" if "f64" in body else "f32"
    text = (f"gpu.module @m {{\n  gpu.func @k(%a: memref<4x{t}>) kernel {{\n"
            f"    %c0 = arith.constant 0 : index\n    %x = memref.load %a[%c0] : memref<4x{t}>\n"
            f"    {body}\n    gpu.return\n  }}\n}}\n")
    from mxir.tools import driver

    with driver.context(), ir.Location.unknown():
        module, diags = driver.load(text, "t.mlir")
        assert not diags, diags
        with pytest.raises(MxError, match=message) as info:
            msl.translate_gpu_modules(msl.gpu_modules(module))
    assert '":' in str(info.value.location)  # a file location the tools can print
