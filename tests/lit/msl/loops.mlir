// scf.for: loop-carried values are variables declared before the loop and assigned at its
// end (through temporaries when the yield permutes them); the results are those variables.
// index loops compare signed unless both bounds are known non-negative. scf.while is
// `while (true)` with the condition region first; scf.index_switch is a switch.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void loops(
// CHECK:      int v0 = int(tid.x);
// CHECK-NEXT: int arg5 = 0;
// CHECK-NEXT: int arg6 = 1;
// CHECK-NEXT: for (uint arg4 = 0u; arg4 < 10u; arg4 += 1u) {
// CHECK-NEXT:     int v6 = int(uint(arg5) + uint(arg6));
// CHECK-NEXT:     int arg5_next = arg6;
// CHECK-NEXT:     int arg6_next = v6;
// CHECK-NEXT:     arg5 = arg5_next;
// CHECK-NEXT:     arg6 = arg6_next;
// CHECK-NEXT: }
// CHECK-NEXT: arg1[tid.x] = arg5;
// CHECK-NEXT: float arg5_1 = 0.0f;
// CHECK-NEXT: for (uint arg4_1 = arg2; int(arg4_1) < int(tid.x); arg4_1 += 2u) {
// CHECK-NEXT:     float v6_1 = arg0[arg4_1];
// CHECK-NEXT:     float v7 = arg5_1 + v6_1;
// CHECK-NEXT:     arg5_1 = v7;
// CHECK-NEXT: }
// CHECK-NEXT: int arg4_2 = v0;
// CHECK-NEXT: int arg5_2 = 0;
// CHECK-NEXT: int v3_0;
// CHECK-NEXT: int v3_1;
// CHECK-NEXT: while (true) {
// CHECK-NEXT:     bool v6_2 = arg4_2 != 1;
// CHECK-NEXT:     if (!v6_2) {
// CHECK-NEXT:         v3_0 = arg4_2;
// CHECK-NEXT:         v3_1 = arg5_2;
// CHECK-NEXT:         break;
// CHECK-NEXT:     }
// CHECK-NEXT:     int arg4_3 = arg4_2;
// CHECK-NEXT:     int arg5_3 = arg5_2;
// CHECK-NEXT:     int v6_3 = int(uint(arg4_3) >> 1u);
// CHECK-NEXT:     int v7_1 = int(uint(arg5_3) + 1u);
// CHECK-NEXT:     arg4_2 = v6_3;
// CHECK-NEXT:     arg5_2 = v7_1;
// CHECK-NEXT: }
// CHECK-NEXT: arg1[1u] = v3_1;
// CHECK-NEXT: uint v4 = tid.x % 3u;
// CHECK-NEXT: int v5;
// CHECK-NEXT: switch (int(v4)) {
// CHECK-NEXT: case 0: {
// CHECK-NEXT:     v5 = 100;
// CHECK-NEXT:     break;
// CHECK-NEXT: }
// CHECK-NEXT: case 1: {
// CHECK-NEXT:     v5 = 200;
// CHECK-NEXT:     break;
// CHECK-NEXT: }
// CHECK-NEXT: default: {
// CHECK-NEXT:     v5 = v0;
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: arg1[2u] = v5;
// CHECK-NEXT: arg3[0u] = arg5_1;
// CHECK-NEXT: }
gpu.module @m {
  gpu.func @loops(%in: memref<64xf32>, %out: memref<64xi32>, %lo: index, %acc: memref<1xf32>) kernel {
    %i = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c10 = arith.constant 10 : index
    %one = arith.constant 1 : i32
    %zero = arith.constant 0 : i32
    %n = arith.index_cast %i : index to i32
    // fibonacci: the yield swaps the two carried values
    %a, %b = scf.for %k = %c0 to %c10 step %c1 iter_args(%p = %zero, %q = %one) -> (i32, i32) {
      %s = arith.addi %p, %q : i32
      scf.yield %q, %s : i32, i32
    }
    memref.store %a, %out[%i] : memref<64xi32>
    // a scalar lower bound may be negative: the comparison is signed
    %f0 = arith.constant 0.0 : f32
    %sum = scf.for %k = %lo to %i step %c2 iter_args(%s = %f0) -> (f32) {
      %x = memref.load %in[%k] : memref<64xf32>
      %t = arith.addf %s, %x : f32
      scf.yield %t : f32
    }
    %halvings:2 = scf.while (%v = %n, %c = %zero) : (i32, i32) -> (i32, i32) {
      %more = arith.cmpi ne, %v, %one : i32
      scf.condition(%more) %v, %c : i32, i32
    } do {
    ^bb0(%v2: i32, %c2b: i32):
      %h = arith.shrui %v2, %one : i32
      %c3b = arith.addi %c2b, %one : i32
      scf.yield %h, %c3b : i32, i32
    }
    memref.store %halvings#1, %out[%c1] : memref<64xi32>
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
    memref.store %sw, %out[%c2] : memref<64xi32>
    memref.store %sum, %acc[%c0] : memref<1xf32>
    gpu.return
  }
}
