// Casts: sign- and zero-extension through the signed/unsigned views, index_cast sign-extends
// (index is a 32-bit uint), index_castui zero-extends, bitcast is as_type, f16 <-> bf16 goes
// through float, i1 is bool (signed true is -1).
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void casts(
// CHECK: float v4 = float(v1);
// CHECK: float v5 = float(uint(v1));
// CHECK: int v6 = int(v0);
// CHECK: int v7 = int(uint(v0));
// CHECK: long v8 = long(v1);
// CHECK: long v9 = long(uint(v1));
// CHECK: int v10 = int(v2);
// CHECK: int v11 = int(uchar(v2));
// CHECK: char v12 = char(v1);
// CHECK: bool v13 = bool(v2 & 1);
// CHECK: int v14 = (-int(v13));
// CHECK: int v15 = int(uint(v13));
// CHECK: uint v16 = uint(v1);
// CHECK: long v17 = long(int(tid.x));
// CHECK: long v18 = long(tid.x);
// CHECK: uint v19 = uint(uchar(v2));
// CHECK: int v20 = int(tid.x);
// CHECK: int v21 = as_type<int>(v0);
// CHECK: float v22 = as_type<float>(v21);
// CHECK: half v23 = half(v0);
// CHECK: float v24 = float(v3);
// CHECK: bfloat v25 = bfloat(v0);
// CHECK: float v26 = float(v3);
// CHECK: bfloat v27 = bfloat(v26);
// CHECK: float v28 = float(v27);
// CHECK: bfloat v29 = bfloat(float(v1));
// CHECK: half v30 = half(uint(v13));
// CHECK: long v31 = long(v3);
// CHECK: float v32 = float(v8);
// CHECK: short v33 = as_type<short>(v3);
// CHECK: int v34 = int(ushort(v33));
gpu.module @m {
  gpu.func @casts(%a: memref<4xf32>, %ai: memref<4xi32>, %ab: memref<4xi8>, %ah: memref<4xf16>,
                  %of: memref<16xf32>, %oi: memref<16xi32>, %ol: memref<16xi64>,
                  %o8: memref<4xi8>, %oh: memref<4xf16>, %obf: memref<4xbf16>, %ox: memref<4xindex>) kernel {
    %t = gpu.thread_id x
    %x = memref.load %a[%t] : memref<4xf32>
    %i = memref.load %ai[%t] : memref<4xi32>
    %b = memref.load %ab[%t] : memref<4xi8>
    %h = memref.load %ah[%t] : memref<4xf16>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c5 = arith.constant 5 : index
    %c6 = arith.constant 6 : index
    %c7 = arith.constant 7 : index
    %0 = arith.sitofp %i : i32 to f32
    memref.store %0, %of[%c0] : memref<16xf32>
    %1 = arith.uitofp %i : i32 to f32
    memref.store %1, %of[%c1] : memref<16xf32>
    %2 = arith.fptosi %x : f32 to i32
    memref.store %2, %oi[%c0] : memref<16xi32>
    %3 = arith.fptoui %x : f32 to i32
    memref.store %3, %oi[%c1] : memref<16xi32>
    %4 = arith.extsi %i : i32 to i64
    memref.store %4, %ol[%c0] : memref<16xi64>
    %5 = arith.extui %i : i32 to i64
    memref.store %5, %ol[%c1] : memref<16xi64>
    %6 = arith.extsi %b : i8 to i32
    memref.store %6, %oi[%c2] : memref<16xi32>
    %7 = arith.extui %b : i8 to i32
    memref.store %7, %oi[%c3] : memref<16xi32>
    %8 = arith.trunci %i : i32 to i8
    memref.store %8, %o8[%c0] : memref<4xi8>
    %p = arith.trunci %b : i8 to i1
    %9 = arith.extsi %p : i1 to i32
    memref.store %9, %oi[%c4] : memref<16xi32>
    %10 = arith.extui %p : i1 to i32
    memref.store %10, %oi[%c5] : memref<16xi32>
    %11 = arith.index_cast %i : i32 to index
    memref.store %11, %ox[%c0] : memref<4xindex>
    %12 = arith.index_cast %t : index to i64
    memref.store %12, %ol[%c2] : memref<16xi64>
    %13 = arith.index_castui %t : index to i64
    memref.store %13, %ol[%c3] : memref<16xi64>
    %14 = arith.index_castui %b : i8 to index
    memref.store %14, %ox[%c1] : memref<4xindex>
    %15 = arith.index_cast %t : index to i32
    memref.store %15, %oi[%c6] : memref<16xi32>
    %16 = arith.bitcast %x : f32 to i32
    %17 = arith.bitcast %16 : i32 to f32
    memref.store %17, %of[%c2] : memref<16xf32>
    %18 = arith.truncf %x : f32 to f16
    memref.store %18, %oh[%c0] : memref<4xf16>
    %19 = arith.extf %h : f16 to f32
    memref.store %19, %of[%c3] : memref<16xf32>
    %20 = arith.truncf %x : f32 to bf16
    memref.store %20, %obf[%c0] : memref<4xbf16>
    %21 = arith.extf %h : f16 to f32
    %22 = arith.truncf %21 : f32 to bf16
    %23 = arith.extf %22 : bf16 to f32
    memref.store %23, %of[%c4] : memref<16xf32>
    %24 = arith.sitofp %i : i32 to bf16
    memref.store %24, %obf[%c1] : memref<4xbf16>
    %25 = arith.uitofp %p : i1 to f16
    memref.store %25, %oh[%c1] : memref<4xf16>
    %26 = arith.fptosi %h : f16 to i64
    memref.store %26, %ol[%c4] : memref<16xi64>
    %27 = arith.sitofp %4 : i64 to f32
    memref.store %27, %of[%c5] : memref<16xf32>
    %28 = arith.bitcast %h : f16 to i16
    %29 = arith.extui %28 : i16 to i32
    memref.store %29, %oi[%c7] : memref<16xi32>
    gpu.return
  }
}
