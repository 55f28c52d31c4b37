// An elementwise kernel: buffers bind in operand order, read-only ones are `const device`,
// scalars come by `constant T&`, and the four builtins are always declared.
// (FileCheck reads `[[` as a variable: MSL attributes are matched as {{\[\[}}attribute]].)
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s
// RUN: cat %s | mxir-translate - --gpu-to-msl | FileCheck %s

// CHECK:      #include <metal_stdlib>
// CHECK-NEXT: using namespace metal;
// CHECK-EMPTY:
// CHECK-NEXT: kernel void axpy(const device float* arg0 {{\[\[}}buffer(0)]],
// CHECK-NEXT:                  device float* arg1 {{\[\[}}buffer(1)]],
// CHECK-NEXT:                  constant float& arg2 {{\[\[}}buffer(2)]],
// CHECK-NEXT:                  constant uint& arg3 {{\[\[}}buffer(3)]],
// CHECK-NEXT:                  uint3 gid {{\[\[}}thread_position_in_grid]],
// CHECK-NEXT:                  uint3 tid {{\[\[}}thread_position_in_threadgroup]],
// CHECK-NEXT:                  uint3 bid {{\[\[}}threadgroup_position_in_grid]],
// CHECK-NEXT:                  uint3 tpg {{\[\[}}threads_per_threadgroup]]) {
// CHECK-NEXT:     uint v0 = bid.x * tpg.x;
// CHECK-NEXT:     uint v1 = v0 + tid.x;
// CHECK-NEXT:     bool v2 = v1 < arg3;
// CHECK-NEXT:     if (v2) {
// CHECK-NEXT:         float v3 = arg0[v1];
// CHECK-NEXT:         float v4 = arg1[v1];
// CHECK-NEXT:         float v5 = arg2 * v3;
// CHECK-NEXT:         float v6 = v5 + v4;
// CHECK-NEXT:         float v7 = metal::exp(v6);
// CHECK-NEXT:         float v8 = v7 + 1.0f;
// CHECK-NEXT:         arg1[v1] = v8;
// CHECK-NEXT:     }
// CHECK-NEXT: }
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @axpy(%x: memref<1024xf32>, %y: memref<1024xf32>, %a: f32, %n: index) kernel {
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %0 = arith.muli %bid, %bdim : index
      %i = arith.addi %0, %tid : index
      %in = arith.cmpi ult, %i, %n : index
      scf.if %in {
        %xi = memref.load %x[%i] : memref<1024xf32>
        %yi = memref.load %y[%i] : memref<1024xf32>
        %ax = arith.mulf %a, %xi : f32
        %s = arith.addf %ax, %yi : f32
        %e = math.exp %s : f32
        %one = arith.constant 1.0 : f32
        %r = arith.addf %e, %one : f32
        memref.store %r, %y[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
  // host code is ignored
  func.func @host(%x: memref<1024xf32>, %y: memref<1024xf32>, %a: f32) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c256 = arith.constant 256 : index
    %n = arith.constant 1000 : index
    gpu.launch_func @kernels::@axpy blocks in (%c4, %c1, %c1) threads in (%c256, %c1, %c1)
        args(%x : memref<1024xf32>, %y : memref<1024xf32>, %a : f32, %n : index)
    return
  }
}
