"""`mx.fast.metal_kernel`: the source MLX generates (checked against MLX's own, printed while
exporting, which MLX allows without Metal), MLX's errors, and the kernels of MLX's
documentation run on metal-sim against NumPy."""

import sys

import mxir as mx
import numpy as np
import pytest
from mxir.runtime.metal_sim import is_available

mlx = pytest.importorskip("mlx.core")

sim = pytest.mark.skipif(not is_available(), reason="metal-sim needs g++")

EXP = """
    uint elem = thread_position_in_grid.x;
    T tmp = inp[elem];
    out[elem] = metal::exp(tmp);
"""
EXP_STRIDED = """
    uint elem = thread_position_in_grid.x;
    uint loc = elem_to_loc(elem, inp_shape, inp_strides, inp_ndim);
    T tmp = inp[loc];
    out[elem] = metal::exp(tmp);
"""
# every element adds itself into bin x % N: many threads hit one output element
HISTOGRAM = """
    uint elem = thread_position_in_grid.x;
    int v = x[elem];
    atomic_fetch_add_explicit(&counts[v % N], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&total[0], float(v) * scale, memory_order_relaxed);
"""
AXPY = """
    uint i = thread_position_in_grid.x;
    if (i < n) { y[i] = a * x[i] + b[i]; twice[i] = 2 * x[i]; }
"""


@pytest.fixture
def metal_sim(monkeypatch):
    if not is_available():
        pytest.skip("metal-sim needs g++")
    monkeypatch.setenv("MXIR_GPU_BACKEND", "metal-sim")


@pytest.fixture(params=["cpu", "gpu"])
def device(request, metal_sim):
    """Programs on the CPU call the kernel from compiled code; on the GPU it is a launch step
    of the plan, among the compiled kernels."""
    previous = mx.default_device()
    mx.set_default_device(getattr(mx, request.param))
    yield request.param
    mx.set_default_device(previous)


def _mlx_source(capfd, lib, tmp_path, kwargs, call, inputs):
    """The source MLX's kernel prints with verbose=True (while exporting: no Metal needed)."""
    kernel = lib.fast.metal_kernel(**kwargs)

    def f(*xs):
        return kernel(inputs=list(xs), verbose=True, **call(lib))

    capfd.readouterr()
    if lib is mlx:
        lib.export_function(str(tmp_path / "k.mlxfn"), f, *inputs)
    else:
        f(*inputs)
    out = capfd.readouterr().out
    return out[out.index("Generated"):]


CASES = {
    "template_dtype": (dict(name="myexp", input_names=["inp"], output_names=["out"], source=EXP),
                       lambda m: dict(template=[("T", m.float32)], grid=(64, 1, 1),
                                      threadgroup=(256, 1, 1), output_shapes=[(4, 16)],
                                      output_dtypes=[m.float16]),
                       lambda m: [m.ones((4, 16), dtype=m.float16)]),
    "shapes_scalars_atomic": (
        dict(name="hist", input_names=["x", "scale"], output_names=["counts", "total"],
             source=HISTOGRAM + "int d = x_ndim + x_shape[0] + x_strides[0];",
             header="// helpers\n", atomic_outputs=True),
        lambda m: dict(template=[("N", 5), ("B", True), ("T", m.int32)], grid=(40, 1, 1),
                       threadgroup=(32, 1, 1), output_shapes=[(5,), (1,)],
                       output_dtypes=[m.int32, m.float32], init_value=0),
        lambda m: [m.arange(40), m.array(0.5)]),
    "small_inputs_no_template": (
        dict(name="axpy", input_names=["a", "x", "b", "n"], output_names=["y", "twice"],
             source=AXPY),
        lambda m: dict(grid=(5, 1, 1), threadgroup=(8, 1, 1), output_shapes=[(5,), (5,)],
                       output_dtypes=[m.float32, m.float32]),
        lambda m: [m.array(2.0), m.arange(5, dtype=m.float32), m.ones((5,)), m.array(5)]),
    "all_attributes": (
        dict(name="attrs", input_names=["x"], output_names=["o"],
             source="o[thread_index_in_threadgroup] = x[threads_per_grid.x] + "
                    "simd_lane_id + threadgroup_position_in_grid.y + grid_size.z;"),
        lambda m: dict(grid=(8, 1, 1), threadgroup=(8, 1, 1), output_shapes=[(8,)],
                       output_dtypes=[m.bfloat16]),
        lambda m: [m.ones((3, 3), dtype=m.uint8)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_source_is_mlx_s(case, capfd, tmp_path, metal_sim):
    kwargs, call, inputs = CASES[case]
    want = _mlx_source(capfd, mlx, tmp_path, kwargs, call, inputs(mlx))
    try:
        got = _mlx_source(capfd, mx, tmp_path, kwargs, call, inputs(mx))
    except Exception:  # the kernel may not run (e.g. `all_attributes`): its print came first
        got = capfd.readouterr().out
        got = got[got.index("Generated"):]
    assert got == want


@sim
def test_exp_elementwise_from_mlx_docs(device):
    kernel = mx.fast.metal_kernel(name="myexp", input_names=["inp"], output_names=["out"],
                                  source=EXP)
    for dtype in (mx.float16, mx.float32):
        a = mx.random.normal(shape=(4, 16)).astype(dtype)
        (b,) = kernel(inputs=[a], template=[("T", mx.float32)], grid=(a.size, 1, 1),
                      threadgroup=(256, 1, 1), output_shapes=[a.shape], output_dtypes=[a.dtype])
        assert b.dtype == dtype and b.shape == (4, 16)
        want = np.exp(np.array(a, np.float32)).astype(np.dtype(dtype.name))
        np.testing.assert_allclose(np.array(b), want, rtol=1e-3 if dtype == mx.float16 else 1e-6)


@sim
@pytest.mark.parametrize("contiguous", [False, True])
def test_strided_inputs_from_mlx_docs(device, contiguous):
    kernel = mx.fast.metal_kernel(name="myexp_strided", input_names=["inp"],
                                  output_names=["out"], source=EXP_STRIDED,
                                  ensure_row_contiguous=contiguous)
    base = mx.random.normal(shape=(4, 16))
    for a in (base[::2], mx.transpose(base), base[1:, ::3], mx.broadcast_to(base[:1], (3, 16))):
        (b,) = kernel(inputs=[a], template=[("T", mx.float32)], grid=(a.size, 1, 1),
                      threadgroup=(256, 1, 1), output_shapes=[a.shape], output_dtypes=[a.dtype])
        np.testing.assert_allclose(np.array(b), np.exp(np.array(a)), rtol=1e-6)


@sim
def test_atomic_outputs_init_value_scalars_templates(device):
    kernel = mx.fast.metal_kernel(name="hist", input_names=["x", "scale"],
                                  output_names=["counts", "total"], source=HISTOGRAM,
                                  atomic_outputs=True)
    x = mx.array(np.random.default_rng(0).integers(0, 100, 300).astype(np.int32))
    counts, total = kernel(inputs=[x, 0.5], template=[("N", 7)], grid=(300, 1, 1),
                           threadgroup=(64, 1, 1), output_shapes=[(7,), ()],
                           output_dtypes=[mx.int32, mx.float32], init_value=0)
    xs = np.array(x)
    np.testing.assert_array_equal(np.array(counts), np.bincount(xs % 7, minlength=7))
    assert float(total) == pytest.approx(xs.sum() * 0.5)
    counts, _ = kernel(inputs=[x, 0.5], template=[("N", 3)], grid=(300, 1, 1),
                       threadgroup=(64, 1, 1), output_shapes=[(3,), ()],
                       output_dtypes=[mx.int32, mx.float32], init_value=10)
    np.testing.assert_array_equal(np.array(counts), np.bincount(xs % 3, minlength=3) + 10)


@sim
def test_several_outputs_small_inputs_and_a_partial_threadgroup(device):
    kernel = mx.fast.metal_kernel(name="axpy", input_names=["a", "x", "b", "n"],
                                  output_names=["y", "twice"], source=AXPY)
    # (mx.arange with a float dtype does not compile for the GPU: an f64 start/step there)
    x, b = mx.array(np.arange(37, dtype=np.float32)), mx.random.normal((37,))
    y, twice = kernel(inputs=[mx.array(3.0), x, b, 37], grid=(37, 1, 1),
                      threadgroup=(16, 1, 1), output_shapes=[(37,), (37,)],
                      output_dtypes=[mx.float32, mx.float32])
    np.testing.assert_allclose(np.array(y), 3 * np.array(x) + np.array(b), rtol=1e-6)
    np.testing.assert_array_equal(np.array(twice), 2 * np.array(x))


@sim
def test_custom_function_gives_a_kernel_its_vjp(device):
    """MLX's pattern: the kernel inside mx.custom_function, whose vjp is another kernel."""
    fwd = mx.fast.metal_kernel(name="cube", input_names=["x"], output_names=["y"],
                               source="uint i = thread_position_in_grid.x; "
                                      "y[i] = x[i] * x[i] * x[i];")
    bwd = mx.fast.metal_kernel(name="cube_vjp", input_names=["x", "ct"], output_names=["g"],
                               source="uint i = thread_position_in_grid.x; "
                                      "g[i] = 3 * x[i] * x[i] * ct[i];")

    def launch(k, *xs):
        return k(inputs=list(xs), grid=(xs[0].size, 1, 1), threadgroup=(32, 1, 1),
                 output_shapes=[xs[0].shape], output_dtypes=[xs[0].dtype])[0]

    @mx.custom_function
    def cube(x):
        return launch(fwd, x)

    @cube.vjp
    def cube_vjp(primals, cotangent, output):
        return launch(bwd, primals[0], cotangent)

    x = mx.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(np.array(cube(x)), np.array(x) ** 3)


def test_errors_match_mlx(monkeypatch):
    monkeypatch.delenv("MXIR_GPU_BACKEND", raising=False)
    cases = [
        (lambda m: m.fast.metal_kernel(name="k", input_names=[], output_names=[], source="")),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="", compile_options={"math_mode": "quick"})),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="", compile_options={"opt": 1})),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="", compile_options=[1])),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a", "c"], output_names=["b"],
                                       source="")(inputs=[m.ones(2)], grid=(1, 1, 1),
                                                  threadgroup=(1, 1, 1), output_shapes=[(2,)],
                                                  output_dtypes=[m.float32])),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="")(inputs=[m.ones(2)], grid=(1, 1, 1),
                                                  threadgroup=(1, 1, 1), output_shapes=[],
                                                  output_dtypes=[m.float32])),
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="")(inputs=[m.ones(2)], grid=(1, 1, 1),
                                                  threadgroup=(1, 1, 1), output_shapes=[(2,)],
                                                  output_dtypes=[m.float32],
                                                  template=[("T", 1.5)])),
        # no Metal back-end (mxir: MXIR_GPU_BACKEND unset on Linux)
        (lambda m: m.fast.metal_kernel(name="k", input_names=["a"], output_names=["b"],
                                       source="")(inputs=[m.ones(2)], grid=(1, 1, 1),
                                                  threadgroup=(1, 1, 1), output_shapes=[(2,)],
                                                  output_dtypes=[m.float32])),
    ]
    if sys.platform == "darwin":
        cases.pop()
    for case in cases:
        with pytest.raises(Exception) as want:
            case(mlx)
        with pytest.raises(Exception) as got:
            case(mx)
        assert (type(got.value), str(got.value)) == (type(want.value), str(want.value))


@sim
def test_transforms_raise_mlx_s_primitive_errors(metal_sim):
    kernel = mx.fast.metal_kernel(name="sq", input_names=["x"], output_names=["y"],
                                  source="uint i = thread_position_in_grid.x; y[i] = x[i] * x[i];")

    def f(x):
        return kernel(inputs=[x], grid=(x.size, 1, 1), threadgroup=(32, 1, 1),
                      output_shapes=[x.shape], output_dtypes=[x.dtype])[0].sum()

    x = mx.array([1.0, 2.0])
    assert float(f(x)) == 5.0
    assert float(mx.compile(f)(x)) == 5.0
    # mxir expands transforms when their results are evaluated; MLX raises the same there
    with pytest.raises(ValueError, match=r"^\[Primitive::vjp\] Not implemented for CustomKernel"):
        mx.eval(mx.grad(f)(x))
    with pytest.raises(ValueError, match=r"^\[Primitive::jvp\] Not implemented for CustomKernel"):
        mx.eval(mx.jvp(f, [x], [x]))
    with pytest.raises(ValueError, match=r"^\[Primitive::vmap\] Not implemented for CustomKern"):
        mx.eval(mx.vmap(f)(mx.ones((2, 3))))
    with pytest.raises(ValueError, match=r"^\[metal_kernel\] Only supports the GPU\.$"):
        kernel(inputs=[x], grid=(2, 1, 1), threadgroup=(2, 1, 1), output_shapes=[(2,)],
               output_dtypes=[mx.float32], stream=mx.cpu)
    with pytest.raises(ValueError, match=r"Thread group size \(2048\) is greater than  the"):
        kernel(inputs=[x], grid=(2, 1, 1), threadgroup=(2048, 1, 1), output_shapes=[(2,)],
               output_dtypes=[mx.float32])
    # a kernel whose inputs do not depend on the traced argument is a constant, as in MLX
    c = kernel(inputs=[x], grid=(2, 1, 1), threadgroup=(2, 1, 1), output_shapes=[(2,)],
               output_dtypes=[mx.float32])[0]
    np.testing.assert_array_equal(np.array(mx.grad(lambda y: (y * c).sum())(x)), [1.0, 4.0])


@sim
def test_compile_error_carries_the_compiler_log(metal_sim):
    kernel = mx.fast.metal_kernel(name="bad", input_names=["x"], output_names=["y"],
                                  source="y[0] = undefined_name;")
    (y,) = kernel(inputs=[mx.ones(2)], grid=(1, 1, 1), threadgroup=(1, 1, 1),
                  output_shapes=[(1,)], output_dtypes=[mx.float32])
    # raised where MLX raises it, at evaluation: from the host call inside the compiled program
    with pytest.raises(RuntimeError, match="undefined_name"):
        mx.eval(y + 1)
    out_of_bounds = mx.fast.metal_kernel(name="oob", input_names=["x"], output_names=["y"],
                                         source="y[thread_position_in_grid.x + 64] = x[0];")
    (y,) = out_of_bounds(inputs=[mx.ones(2)], grid=(1, 1, 1), threadgroup=(1, 1, 1),
                         output_shapes=[(1,)], output_dtypes=[mx.float32])
    with pytest.raises(RuntimeError, match="out of bounds"):
        mx.eval(y)


def test_metal_is_available_follows_the_backend(monkeypatch):
    monkeypatch.delenv("MXIR_GPU_BACKEND", raising=False)
    if sys.platform != "darwin":
        assert not mx.metal.is_available()
    if is_available():
        monkeypatch.setenv("MXIR_GPU_BACKEND", "metal-sim")
        assert mx.metal.is_available()
