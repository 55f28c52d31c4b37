// mx.metal_kernel (mx.fast.metal_kernel): mx-to-linalg copies each operand into a fresh
// row-contiguous buffer, allocates the results and calls the host function mxir_metal_kernel
// with the address of the spec (a module constant) and of the buffers' addresses; the GPU
// pipeline makes the call a host op on those buffers (a launch step of the plan).
// RUN: mxir-opt %s --mx-to-linalg | FileCheck %s --check-prefix=LOWER
// RUN: mxir-opt %s --mx-to-gpu | FileCheck %s --check-prefix=GPU

// LOWER: memref.global "private" constant @__mxir_kernel_spec_{{[0-9a-f]+}} : memref<{{[0-9]+}}xi8>
// LOWER: func.func private @mxir_metal_kernel(i64, i64)
// LOWER-LABEL: func.func @twice
// LOWER: memref.copy
// LOWER: memref.alloca() : memref<2xi64>
// LOWER: memref.get_global @__mxir_kernel_spec_
// LOWER: call @mxir_metal_kernel
// LOWER: bufferization.to_tensor
// GPU-LABEL: func.func @twice
// GPU-NOT: mxir_metal_kernel
// GPU: memref.copy
// GPU: "mxlib.metal_kernel"(%{{.*}}, %{{.*}}) {spec = "{\22grid\22: [4, 1, 1]
// GPU-NOT: memref.alloca
// CHECK-NOT: Traceback
func.func @twice(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.metal_kernel"(%x) {spec = "{\22grid\22: [4, 1, 1], \22init_value\22: null, \22inputs\22: [[[4], \22float32\22]], \22kernel\22: \22k\22, \22outputs\22: [[[4], \22float32\22]], \22shape_infos\22: [[false, false, false]], \22source\22: \22[[kernel]] void k(const device float* x [[buffer(0)]], device float* y [[buffer(1)]], uint i [[thread_position_in_grid]]) { y[i] = 2 * x[i]; }\22, \22threadgroup\22: [4, 1, 1]}"} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
