// scf.if: results are declared before the `if` and assigned in each branch; an empty else
// is left out.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void branches(
// CHECK:      float v0 = arg0[tid.x];
// CHECK-NEXT: bool v1 = v0 < 0.0f;
// CHECK-NEXT: float v2_0;
// CHECK-NEXT: int v2_1;
// CHECK-NEXT: if (v1) {
// CHECK-NEXT:     float v4 = -v0;
// CHECK-NEXT:     v2_0 = v4;
// CHECK-NEXT:     v2_1 = (-1);
// CHECK-NEXT: } else {
// CHECK-NEXT:     v2_0 = v0;
// CHECK-NEXT:     v2_1 = 1;
// CHECK-NEXT: }
// CHECK-NEXT: arg0[tid.x] = v2_0;
// CHECK-NEXT: bool v3 = v2_1 < 0;
// CHECK-NEXT: if (v3) {
// CHECK-NEXT:     arg1[tid.x] = v2_1;
// CHECK-NEXT: }
// CHECK-NEXT: }
gpu.module @m {
  gpu.func @branches(%a: memref<64xf32>, %s: memref<64xi32>) kernel {
    %i = gpu.thread_id x
    %x = memref.load %a[%i] : memref<64xf32>
    %zero = arith.constant 0.0 : f32
    %neg = arith.cmpf olt, %x, %zero : f32
    %abs, %sign = scf.if %neg -> (f32, i32) {
      %n = arith.negf %x : f32
      %m1 = arith.constant -1 : i32
      scf.yield %n, %m1 : f32, i32
    } else {
      %p1 = arith.constant 1 : i32
      scf.yield %x, %p1 : f32, i32
    }
    memref.store %abs, %a[%i] : memref<64xf32>
    %z = arith.constant 0 : i32
    %isneg = arith.cmpi slt, %sign, %z : i32
    scf.if %isneg {
      memref.store %sign, %s[%i] : memref<64xi32>
    }
    gpu.return
  }
}
