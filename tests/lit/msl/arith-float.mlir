// Float arith and cmpf: ordered predicates are C comparisons, unordered ones their negated
// opposites; maximumf/minimumf (NaN wins, -0 < +0) are preamble helpers; literals are the
// shortest text that reads back exactly; bf16 computes in float.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK:       // bfloat is MSL 3.1: compile with -std=metal3.1 (macOS 14 / iOS 17)
// CHECK:       template <typename T>
// CHECK-NEXT:  inline T mxir_maximum(T a, T b) {
// CHECK:       inline T mxir_minimum(T a, T b) {
// CHECK-LABEL: kernel void floats(
// CHECK:      float v0 = arg0[tid.x];
// CHECK-NEXT: float v1 = arg1[tid.x];
// CHECK-NEXT: float v2 = v0 + v1;
// CHECK-NEXT: float v3 = v0 - v1;
// CHECK-NEXT: float v4 = v0 * v1;
// CHECK-NEXT: float v5 = v0 / v1;
// CHECK-NEXT: float v6 = metal::fmod(v0, v1);
// CHECK-NEXT: float v7 = -v0;
// CHECK-NEXT: float v8 = metal::fmax(v0, v1);
// CHECK-NEXT: float v9 = metal::fmin(v0, v1);
// CHECK-NEXT: float v10 = mxir_maximum(v0, v1);
// CHECK-NEXT: float v11 = mxir_minimum(v0, v1);
// CHECK-NEXT: bool v12 = v0 == v1;
// CHECK-NEXT: bool v13 = v0 > v1;
// CHECK-NEXT: bool v14 = v0 >= v1;
// CHECK-NEXT: bool v15 = v0 < v1;
// CHECK-NEXT: bool v16 = v0 <= v1;
// CHECK-NEXT: bool v17 = (v0 < v1 || v0 > v1);
// CHECK-NEXT: bool v18 = !metal::isnan(v0) && !metal::isnan(v1);
// CHECK-NEXT: bool v19 = !(v0 < v1 || v0 > v1);
// CHECK-NEXT: bool v20 = !(v0 <= v1);
// CHECK-NEXT: bool v21 = !(v0 < v1);
// CHECK-NEXT: bool v22 = !(v0 >= v1);
// CHECK-NEXT: bool v23 = !(v0 > v1);
// CHECK-NEXT: bool v24 = v0 != v1;
// CHECK-NEXT: bool v25 = metal::isnan(v0) || metal::isnan(v1);
// CHECK-NEXT: float v26 = v15 ? v0 : 0.1f;
// CHECK-NEXT: float v27 = v26 * (-2.5e-08f);
// CHECK-NEXT: float v28 = v27 + INFINITY;
// CHECK-NEXT: float v29 = v28 - (-INFINITY);
// CHECK-NEXT: float v30 = v29 * NAN;
// CHECK-NEXT: float v31 = v30 + 3.4028235e+38f;
// CHECK-NEXT: half v32 = arg2[tid.x];
// CHECK-NEXT: half v33 = v32 * half(0.099975586f);
// CHECK-NEXT: bfloat v34 = arg3[tid.x];
// CHECK-NEXT: bfloat v35 = bfloat(float(v34) + 0.100097656f);
// CHECK-NEXT: bfloat v36 = bfloat(-float(v35));
// CHECK-NEXT: bool v37 = float(v36) < float(v34);
gpu.module @m {
  gpu.func @floats(%a: memref<16xf32>, %b: memref<16xf32>, %h: memref<16xf16>, %bf: memref<16xbf16>,
                   %o: memref<16xf32>, %ob: memref<16xi1>, %oh: memref<16xf16>, %obf: memref<16xbf16>) kernel {
    %i = gpu.thread_id x
    %x = memref.load %a[%i] : memref<16xf32>
    %y = memref.load %b[%i] : memref<16xf32>
    %0 = arith.addf %x, %y : f32
    %1 = arith.subf %x, %y : f32
    %2 = arith.mulf %x, %y : f32
    %3 = arith.divf %x, %y : f32
    %4 = arith.remf %x, %y : f32
    %5 = arith.negf %x : f32
    %6 = arith.maxnumf %x, %y : f32
    %7 = arith.minnumf %x, %y : f32
    %8 = arith.maximumf %x, %y : f32
    %9 = arith.minimumf %x, %y : f32
    %p1 = arith.cmpf oeq, %x, %y : f32
    %p2 = arith.cmpf ogt, %x, %y : f32
    %p3 = arith.cmpf oge, %x, %y : f32
    %p4 = arith.cmpf olt, %x, %y : f32
    %p5 = arith.cmpf ole, %x, %y : f32
    %p6 = arith.cmpf one, %x, %y : f32
    %p7 = arith.cmpf ord, %x, %y : f32
    %p8 = arith.cmpf ueq, %x, %y : f32
    %p9 = arith.cmpf ugt, %x, %y : f32
    %p10 = arith.cmpf uge, %x, %y : f32
    %p11 = arith.cmpf ult, %x, %y : f32
    %p12 = arith.cmpf ule, %x, %y : f32
    %p13 = arith.cmpf une, %x, %y : f32
    %p14 = arith.cmpf uno, %x, %y : f32
    %tenth = arith.constant 0.1 : f32
    %tiny = arith.constant -2.5e-8 : f32
    %inf = arith.constant 0x7F800000 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %nan = arith.constant 0x7FC00000 : f32
    %big = arith.constant 3.4028235e38 : f32
    %s = arith.select %p4, %x, %tenth : f32
    %l1 = arith.mulf %s, %tiny : f32
    %l2 = arith.addf %l1, %inf : f32
    %l3 = arith.subf %l2, %ninf : f32
    %l4 = arith.mulf %l3, %nan : f32
    %l5 = arith.addf %l4, %big : f32
    %hv = memref.load %h[%i] : memref<16xf16>
    %htenth = arith.constant 0.1 : f16
    %h2 = arith.mulf %hv, %htenth : f16
    %bv = memref.load %bf[%i] : memref<16xbf16>
    %btenth = arith.constant 0.1 : bf16
    %b2 = arith.addf %bv, %btenth : bf16
    %b3 = arith.negf %b2 : bf16
    %bl = arith.cmpf olt, %b3, %bv : bf16
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c5 = arith.constant 5 : index
    %c6 = arith.constant 6 : index
    %c7 = arith.constant 7 : index
    %c8 = arith.constant 8 : index
    %c9 = arith.constant 9 : index
    %c10 = arith.constant 10 : index
    %c11 = arith.constant 11 : index
    %c12 = arith.constant 12 : index
    %c13 = arith.constant 13 : index
    %c14 = arith.constant 14 : index
    memref.store %0, %o[%c0] : memref<16xf32>
    memref.store %1, %o[%c1] : memref<16xf32>
    memref.store %2, %o[%c2] : memref<16xf32>
    memref.store %3, %o[%c3] : memref<16xf32>
    memref.store %4, %o[%c4] : memref<16xf32>
    memref.store %5, %o[%c5] : memref<16xf32>
    memref.store %6, %o[%c6] : memref<16xf32>
    memref.store %7, %o[%c7] : memref<16xf32>
    memref.store %8, %o[%c8] : memref<16xf32>
    memref.store %9, %o[%c9] : memref<16xf32>
    memref.store %l5, %o[%c10] : memref<16xf32>
    memref.store %p1, %ob[%c0] : memref<16xi1>
    memref.store %p2, %ob[%c1] : memref<16xi1>
    memref.store %p3, %ob[%c2] : memref<16xi1>
    memref.store %p4, %ob[%c3] : memref<16xi1>
    memref.store %p5, %ob[%c4] : memref<16xi1>
    memref.store %p6, %ob[%c5] : memref<16xi1>
    memref.store %p7, %ob[%c6] : memref<16xi1>
    memref.store %p8, %ob[%c7] : memref<16xi1>
    memref.store %p9, %ob[%c8] : memref<16xi1>
    memref.store %p10, %ob[%c9] : memref<16xi1>
    memref.store %p11, %ob[%c10] : memref<16xi1>
    memref.store %p12, %ob[%c11] : memref<16xi1>
    memref.store %p13, %ob[%c12] : memref<16xi1>
    memref.store %p14, %ob[%c13] : memref<16xi1>
    memref.store %bl, %ob[%c14] : memref<16xi1>
    memref.store %h2, %oh[%i] : memref<16xf16>
    memref.store %b3, %obf[%i] : memref<16xbf16>
    gpu.return
  }
}
