"""metal-sim runs hand-written MSL kernels exactly: barriers, SIMD-group functions, threadgroup
memory, half, atomics, and it reports the bugs a GPU would hide (races, out-of-bounds writes,
barrier divergence)."""

import numpy as np
import pytest
from mxir.runtime.metal_sim import MetalSimDevice, MetalSimError, is_available

pytestmark = pytest.mark.skipif(not is_available(), reason="metal-sim needs g++")

ORDERS = ["forward", "reverse", "shuffle"]

ELEMENTWISE = """
#include <metal_stdlib>
using namespace metal;
kernel void axpy(device const float* x [[buffer(0)]], device float* y [[buffer(1)]],
                 constant float& a [[buffer(2)]], constant uint& n [[buffer(3)]],
                 uint gid [[thread_position_in_grid]]) {
  if (gid < n) y[gid] = fma(a, x[gid], y[gid]);
}
kernel void fill_index(device uint4* out [[buffer(0)]],
                       uint2 gid [[thread_position_in_grid]],
                       uint2 tid [[thread_position_in_threadgroup]],
                       uint2 tpg [[threads_per_threadgroup]],
                       uint2 grid [[threads_per_grid]]) {
  out[gid.y * grid.x + gid.x] = uint4(gid, tid.x, tpg.x);
}
"""

REDUCE = """
#include <metal_stdlib>
using namespace metal;
kernel void block_sum(device const float* x [[buffer(0)]], device float* out [[buffer(1)]],
                      uint gid [[thread_position_in_grid]],
                      uint tid [[thread_position_in_threadgroup]],
                      uint bid [[threadgroup_position_in_grid]],
                      uint tpg [[threads_per_threadgroup]]) {
  threadgroup float partial[64];
  partial[tid] = x[gid];
  BARRIER
  for (uint s = tpg / 2; s > 0; s >>= 1) {
    if (tid < s) partial[tid] += partial[tid + s];
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (tid == 0) out[bid] = partial[0];
}
"""


def run(dev, source, kernel, grid, tg, args, dispatch="threadgroups"):
    """Upload the NumPy arrays among args, launch, and return them downloaded."""
    prog = dev.compile(source)
    bufs = []
    for a in args:
        if isinstance(a, np.ndarray):
            b = dev.allocate(a.nbytes)
            dev.upload(b, a)
            bufs.append(b)
        else:
            bufs.append(a)
    dev.launch(prog, kernel, grid, tg, bufs, dispatch)
    dev.synchronize()
    out = []
    for a, b in zip(args, bufs):
        if isinstance(a, np.ndarray):
            r = np.empty_like(a)
            dev.download(b, r)
            dev.free(b)
            out.append(r)
    return out


@pytest.mark.parametrize("order", ORDERS)
def test_elementwise_partial_last_threadgroup(order):
    dev = MetalSimDevice(order=order)
    x = np.arange(37, dtype=np.float32)
    y = np.ones(37, np.float32)
    _, r = run(dev, ELEMENTWISE, "axpy", (37, 1, 1), (16, 1, 1), [x, y, (3.0, "f32"), 37],
               dispatch="threads")
    np.testing.assert_array_equal(r, 3.0 * x + 1.0)


def test_threads_dispatch_2d_builtins():
    dev = MetalSimDevice()
    out = np.zeros((5, 7, 4), np.uint32)
    (r,) = run(dev, ELEMENTWISE, "fill_index", (7, 5, 1), (4, 2, 1), [out], dispatch="threads")
    gy, gx = np.mgrid[0:5, 0:7]
    np.testing.assert_array_equal(r[..., 0], gx)
    np.testing.assert_array_equal(r[..., 1], gy)
    np.testing.assert_array_equal(r[..., 2], gx % 4)
    # threads_per_threadgroup is the size of the (partial) group the thread is in
    np.testing.assert_array_equal(r[..., 3], np.where(gx >= 4, 3, 4))


@pytest.mark.parametrize("order", ORDERS)
def test_threadgroup_reduction_with_barriers(order):
    dev = MetalSimDevice(order=order, seed=3)
    src = REDUCE.replace("BARRIER", "threadgroup_barrier(mem_flags::mem_threadgroup);")
    x = np.random.default_rng(0).standard_normal(4 * 64).astype(np.float32)
    _, r = run(dev, src, "block_sum", (4, 1, 1), (64, 1, 1), [x, np.zeros(4, np.float32)])
    np.testing.assert_allclose(r, x.reshape(4, 64).sum(1), rtol=1e-5)


def test_reduction_missing_barrier_is_wrong_in_some_order():
    src = REDUCE.replace("BARRIER", "")
    x = np.arange(2 * 64, dtype=np.float32)
    results = {}
    for order in ORDERS:
        _, r = run(MetalSimDevice(order=order), src, "block_sum", (2, 1, 1), (64, 1, 1),
                   [x, np.zeros(2, np.float32)])
        results[order] = np.array_equal(r, x.reshape(2, 64).sum(1))
    assert not all(results.values()), results


SIMD = """
#include <metal_stdlib>
using namespace metal;
kernel void simd_ops(device const float* x [[buffer(0)]], device float4* out [[buffer(1)]],
                     uint gid [[thread_position_in_grid]],
                     uint lane [[thread_index_in_simdgroup]],
                     uint sg [[simdgroup_index_in_threadgroup]]) {
  float v = x[gid];
  float tree = v;
  for (ushort m = 16; m > 0; m >>= 1) tree += simd_shuffle_xor(tree, m);
  out[gid] = float4(simd_sum(v), tree, simd_max(v), simd_shuffle_down(v, 1));
}
"""


@pytest.mark.parametrize("order", ORDERS)
def test_simd_sum_and_shuffle_xor(order):
    dev = MetalSimDevice(order=order)
    x = np.random.default_rng(1).integers(-50, 50, 128).astype(np.float32)
    _, r = run(dev, SIMD, "simd_ops", (2, 1, 1), (64, 1, 1), [x, np.zeros((128, 4), np.float32)])
    groups = x.reshape(4, 32)
    np.testing.assert_array_equal(r[:, 0], np.repeat(groups.sum(1), 32))
    np.testing.assert_array_equal(r[:, 1], np.repeat(groups.sum(1), 32))
    np.testing.assert_array_equal(r[:, 2], np.repeat(groups.max(1), 32))
    down = np.concatenate([groups[:, 1:], groups[:, 31:]], axis=1).reshape(-1)
    np.testing.assert_array_equal(r[:, 3], down)


def test_simd_sum_over_partial_simdgroup():
    dev = MetalSimDevice()
    x = np.arange(40, dtype=np.float32)
    _, r = run(dev, SIMD, "simd_ops", (1, 1, 1), (40, 1, 1), [x, np.zeros((40, 4), np.float32)])
    np.testing.assert_array_equal(r[:32, 0], x[:32].sum())
    np.testing.assert_array_equal(r[32:, 0], x[32:].sum())  # 8 active lanes
    # the xor tree reads lanes that do not exist in the 8-lane group: undefined, NaN here
    assert np.isnan(r[32:, 1]).all()


OOB = """
#include <metal_stdlib>
using namespace metal;
kernel void shift(device const int* x [[buffer(0)]], device int* y [[buffer(1)]],
                  uint gid [[thread_position_in_grid]]) {
  y[gid + 1] = x[gid];
}
"""


def test_out_of_bounds_write_is_reported_with_the_kernel_name():
    dev = MetalSimDevice()
    x = np.arange(8, dtype=np.int32)
    with pytest.raises(MetalSimError, match=r"kernel shift wrote out of bounds.*buffer\(1\)"):
        run(dev, OOB, "shift", (8, 1, 1), (8, 1, 1), [x, np.zeros(8, np.int32)],
            dispatch="threads")
    # in bounds, the same kernel is fine
    _, r = run(dev, OOB, "shift", (7, 1, 1), (8, 1, 1), [x, np.zeros(8, np.int32)],
               dispatch="threads")
    np.testing.assert_array_equal(r, [0, 0, 1, 2, 3, 4, 5, 6])


DIVERGE = """
#include <metal_stdlib>
using namespace metal;
kernel void early_exit(device float* y [[buffer(0)]], uint tid [[thread_position_in_threadgroup]]) {
  if (tid >= 3) return;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  y[tid] = 1.0f;
}
"""


def test_barrier_divergence_is_an_error():
    dev = MetalSimDevice()
    with pytest.raises(MetalSimError, match=r"early_exit: threadgroup_barrier reached by 3 of 8"):
        run(dev, DIVERGE, "early_exit", (1, 1, 1), (8, 1, 1), [np.zeros(8, np.float32)])
    # the runtime recovers: a later launch on the same device works
    (r,) = run(dev, DIVERGE, "early_exit", (1, 1, 1), (3, 1, 1), [np.zeros(3, np.float32)])
    np.testing.assert_array_equal(r, [1, 1, 1])


HALF = """
#include <metal_stdlib>
using namespace metal;
kernel void half_ops(device const half* x [[buffer(0)]], device half2* y [[buffer(1)]],
                     device bfloat* z [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  half h = x[i];
  half2 v = half2(h, h * 2.0h);
  y[i] = v.yx + half2(exp(h), 0.5h);
  z[i] = bfloat(float(h) / 3.0f);
}
"""


def test_half_and_bfloat():
    dev = MetalSimDevice()
    x = np.linspace(-2, 2, 16).astype(np.float16)
    _, y, z = run(dev, HALF, "half_ops", (16, 1, 1), (16, 1, 1),
                  [x, np.zeros((16, 2), np.float16), np.zeros(16, np.uint16)],
                  dispatch="threads")
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(y[:, 0], (x * np.float16(2)) + np.exp(x32).astype(np.float16))
    np.testing.assert_array_equal(y[:, 1], x + np.float16(0.5))
    bf = (z.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_allclose(bf, x32 / 3, rtol=2 ** -8)


ATOMIC = """
#include <metal_stdlib>
using namespace metal;
kernel void histogram(device const uint* x [[buffer(0)]], device atomic_uint* bins [[buffer(1)]],
                      device atomic_float* total [[buffer(2)]], device uint* local [[buffer(3)]],
                      uint gid [[thread_position_in_grid]],
                      uint tid [[thread_index_in_threadgroup]],
                      uint bid [[threadgroup_position_in_grid]]) {
  threadgroup atomic_uint count;
  if (tid == 0) atomic_store_explicit(&count, 0u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  atomic_fetch_add_explicit(&bins[x[gid] % 4], 1u, memory_order_relaxed);
  atomic_fetch_add_explicit(total, float(x[gid]), memory_order_relaxed);
  atomic_fetch_add_explicit(&count, 1u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid == 0) local[bid] = atomic_load_explicit(&count, memory_order_relaxed);
}
"""


@pytest.mark.parametrize("order", ["forward", "shuffle"])
def test_atomics_on_device_and_threadgroup_memory(order):
    dev = MetalSimDevice(order=order)
    x = np.random.default_rng(2).integers(0, 100, 96).astype(np.uint32)
    _, bins, total, local = run(dev, ATOMIC, "histogram", (96, 1, 1), (32, 1, 1),
                                [x, np.zeros(4, np.uint32), np.zeros(1, np.float32),
                                 np.zeros(3, np.uint32)], dispatch="threads")
    np.testing.assert_array_equal(bins, np.bincount(x % 4, minlength=4))
    assert total[0] == x.sum()
    np.testing.assert_array_equal(local, [32, 32, 32])


def test_compile_error_carries_the_compiler_log():
    dev = MetalSimDevice()
    bad = ("kernel void broken(device float* y [[buffer(0)]], uint i [[thread_position_in_grid]])"
           " { y[i] = undefined_name; }")
    with pytest.raises(MetalSimError, match="undefined_name"):
        dev.compile(bad)


def test_barrier_cost_per_thread_is_small():
    import time

    src = """
    #include <metal_stdlib>
    using namespace metal;
    kernel void spin(device float* y [[buffer(0)]], constant uint& n [[buffer(1)]],
                     uint tid [[thread_position_in_threadgroup]]) {
      float acc = 0.0f;
      for (uint k = 0; k < n; k++) { acc += 1.0f; threadgroup_barrier(mem_flags::mem_none); }
      y[tid] = acc;
    }"""
    dev = MetalSimDevice()
    prog = dev.compile(src)
    y = dev.allocate(256 * 4)
    dev.launch(prog, "spin", (1, 1, 1), (256, 1, 1), [y, 1])
    t = time.perf_counter()
    dev.launch(prog, "spin", (1, 1, 1), (256, 1, 1), [y, 400])
    per_lane = (time.perf_counter() - t) / (256 * 400)
    out = np.empty(256, np.float32)
    dev.download(y, out)
    assert (out == 400).all()
    assert per_lane < 1e-6, per_lane  # about 20-50 ns measured; generous for loaded machines


def test_far_out_of_bounds_write_faults_into_an_error_not_a_crash():
    src = """
    #include <metal_stdlib>
    using namespace metal;
    kernel void wild(device int* y [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
      y[gid + 1024] = 7;  // 4 KiB past the start: the no-access page after the buffer
    }"""
    dev = MetalSimDevice()
    with pytest.raises(MetalSimError, match="wild: the kernel crashed with SIGSEGV"):
        run(dev, src, "wild", (1, 1, 1), (1, 1, 1), [np.zeros(8, np.int32)])


@pytest.mark.parametrize("order", ORDERS)
def test_emitted_msl_runs_through_the_launch_plan(order):
    """The MSL emitter's kernels (a fused elementwise and a row reduction) on metal-sim."""
    import mxir as mx
    from mlir import ir
    from mxir.evaluate import context
    from mxir.passes.gpu import compile_for_gpu
    from mxir.program import build_module, trace_program
    from mxir.runtime.plan import run_plan

    x = np.random.default_rng(4).standard_normal((37, 50)).astype(np.float32)
    a = mx.array(x)
    main, inputs = trace_program([mx.sum(mx.exp(mx.sin(a) * a), axis=1)])
    with context(), ir.Location.unknown():
        exe = compile_for_gpu(build_module(main))
    out = np.empty(37, np.float32)
    run_plan(exe, MetalSimDevice(order=order), [x], [out])
    np.testing.assert_allclose(out, np.exp(np.sin(x) * x).sum(1), rtol=1e-5)
