// Memory: every access is `base[offset + sum(index * stride)]` on the buffer's aligned
// pointer, with static strides and offsets folded. Views (subview, reinterpret_cast,
// extract_strided_metadata, expand/collapse_shape, cast) only change the offset and strides;
// alloca is a thread array; atomic_rmw is a relaxed Metal atomic.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void views(
// CHECK-SAME: const device float* arg0
// CHECK:      uint v0 = tid.x / 6u;
// CHECK-NEXT: uint v1 = tid.x % 6u;
// CHECK-NEXT: float v2 = arg0[v0 * 8u + v1 + 3u];
// CHECK-NEXT: arg1[v0 + v1 * 4u] = v2;
// CHECK-NEXT: float alloca[6];
// CHECK-NEXT: alloca[v1 + 3u] = v2;
// CHECK-NEXT: float v3 = alloca[v1 + 3u];
// CHECK-NEXT: arg2[v0 * 6u + v1] = v3;
// CHECK-NEXT: int v4 = atomic_fetch_add_explicit((device atomic_int*)&arg3[0u], 1, memory_order_relaxed);
// CHECK-NEXT: float v5 = arg0[32u];
// CHECK-NEXT: arg2[0u] = v5;
// CHECK-NEXT: }
gpu.module @m {
  gpu.func @views(%a: memref<4x6xf32, strided<[8, 1], offset: 3>>, %out: memref<6x4xf32>,
                  %flat: memref<24xf32>, %count: memref<2xi32>) kernel {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c6 = arith.constant 6 : index
    %r = arith.divui %t, %c6 : index
    %c = arith.remui %t, %c6 : index
    %row = memref.subview %a[%r, 0] [1, 6] [1, 1]
        : memref<4x6xf32, strided<[8, 1], offset: 3>> to memref<6xf32, strided<[1], offset: ?>>
    %v = memref.load %row[%c] : memref<6xf32, strided<[1], offset: ?>>
    %base, %off, %s0, %s1, %st0, %st1 = memref.extract_strided_metadata %out
        : memref<6x4xf32> -> memref<f32>, index, index, index, index, index
    %tr = memref.reinterpret_cast %base to offset: [%off], sizes: [4, 6], strides: [1, 4]
        : memref<f32> to memref<4x6xf32, strided<[1, 4], offset: ?>>
    memref.store %v, %tr[%r, %c] : memref<4x6xf32, strided<[1, 4], offset: ?>>
    %e = memref.expand_shape %flat [[0, 1, 2]] output_shape [2, 2, 6]
        : memref<24xf32> into memref<2x2x6xf32>
    %col = memref.collapse_shape %e [[0, 1], [2]] : memref<2x2x6xf32> into memref<4x6xf32>
    %dyn = memref.cast %col : memref<4x6xf32> to memref<?x6xf32>
    %acc = memref.alloca() : memref<2x3xf32>
    memref.store %v, %acc[%c1, %c] : memref<2x3xf32>
    %w = memref.load %acc[%c1, %c] : memref<2x3xf32>
    memref.store %w, %dyn[%r, %c] : memref<?x6xf32>
    %one = arith.constant 1 : i32
    %old = memref.atomic_rmw addi %one, %count[%c0] : (i32, memref<2xi32>) -> i32
    %fv = arith.constant 2.5 : f32
    %st = memref.subview %a[1, 2] [2, 2] [2, 3]
        : memref<4x6xf32, strided<[8, 1], offset: 3>> to memref<2x2xf32, strided<[16, 3], offset: 13>>
    %q = memref.load %st[%c1, %c1] : memref<2x2xf32, strided<[16, 3], offset: 13>>
    memref.store %q, %flat[%c0] : memref<24xf32>
    gpu.return
  }
}
