// SIMD-group operations: gpu.shuffle is simd_shuffle_{xor,down,up} / simd_shuffle, its
// `valid` result compares lanes with the width; gpu.subgroup_reduce is simd_sum/min/max/...
// (maximumf and minimumf are NaN when a lane is: simd_max/simd_min drop NaNs);
// gpu.all_reduce reduces each simdgroup, publishes one partial per simdgroup in threadgroup
// scratch, then folds the partials (barriers on both sides so the scratch can be reused).
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void simd(
// CHECK:      uint lane {{\[\[}}thread_index_in_simdgroup]],
// CHECK-NEXT: uint simd_width {{\[\[}}threads_per_simdgroup]],
// CHECK-NEXT: uint simd_id {{\[\[}}simdgroup_index_in_threadgroup]],
// CHECK-NEXT: uint num_simd {{\[\[}}simdgroups_per_threadgroup]]) {
// CHECK-NEXT: threadgroup float mxir_scratch_float[32];
// CHECK-NEXT: threadgroup int mxir_scratch_int[32];
// CHECK-NEXT: float v0 = arg0[tid.x];
// CHECK-NEXT: int v1 = arg1[tid.x];
// CHECK-NEXT: float shuffleResult = simd_shuffle_xor(v0, ushort(1u));
// CHECK-NEXT: float shuffleResult_0 = simd_shuffle_down(v0, ushort(3u));
// CHECK-NEXT: bool valid_1 = lane + 3u < 32u;
// CHECK-NEXT: float shuffleResult_2 = simd_shuffle_up(v0, ushort(3u));
// CHECK-NEXT: bool valid_3 = lane >= 3u;
// CHECK-NEXT: float shuffleResult_4 = simd_shuffle(v0, ushort(16u));
// CHECK-NEXT: bool valid_7 = (lane ^ 1u) < 16u;
// CHECK-NEXT: int shuffleResult_8 = simd_shuffle_xor(v1, ushort(1u));
// CHECK-NEXT: float v2 = simd_sum(v0);
// CHECK-NEXT: float v3 = simd_max(v0);
// CHECK-NEXT: int v4 = simd_min(v1);
// CHECK-NEXT: int v5 = int(simd_max(uint(v1)));
// CHECK-NEXT: float v6 = simd_sum(v0);
// CHECK-NEXT: if (lane == 0u) mxir_scratch_float[simd_id] = v6;
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: v6 = mxir_scratch_float[0];
// CHECK-NEXT: for (uint k = 1u; k < num_simd; ++k) v6 = v6 + mxir_scratch_float[k];
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: float v7 = (simd_any(metal::isnan(v0)) ? NAN : simd_max(v0));
// CHECK-NEXT: if (lane == 0u) mxir_scratch_float[simd_id] = v7;
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: v7 = mxir_scratch_float[0];
// CHECK-NEXT: for (uint k_1 = 1u; k_1 < num_simd; ++k_1) v7 = mxir_maximum(v7, mxir_scratch_float[k_1]);
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: int v8 = simd_min(v1);
// CHECK-NEXT: if (lane == 0u) mxir_scratch_int[simd_id] = v8;
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: v8 = mxir_scratch_int[0];
// CHECK-NEXT: for (uint k_2 = 1u; k_2 < num_simd; ++k_2) v8 = metal::min(v8, mxir_scratch_int[k_2]);
// CHECK-NEXT: threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK-NEXT: uint v13 = lane + simd_width;
// CHECK-NEXT: uint v14 = simd_id * num_simd;
gpu.module @m {
  gpu.func @simd(%in: memref<64xf32>, %ii: memref<64xi32>, %out: memref<16xf32>, %iout: memref<16xi32>,
                 %bout: memref<8xi1>, %xout: memref<4xindex>) kernel {
    %t = gpu.thread_id x
    %x = memref.load %in[%t] : memref<64xf32>
    %n = memref.load %ii[%t] : memref<64xi32>
    %c1 = arith.constant 1 : i32
    %c3 = arith.constant 3 : i32
    %c16 = arith.constant 16 : i32
    %c32 = arith.constant 32 : i32
    %sx, %vx = gpu.shuffle xor %x, %c1, %c32 : f32
    %sd, %vd = gpu.shuffle down %x, %c3, %c32 : f32
    %su, %vu = gpu.shuffle up %x, %c3, %c32 : f32
    %si, %vi = gpu.shuffle idx %x, %c16, %c32 : f32
    %sx16, %vx16 = gpu.shuffle xor %x, %c1, %c16 : f32
    %ni, %nv = gpu.shuffle xor %n, %c1, %c32 : i32
    %sum = gpu.subgroup_reduce add %x : (f32) -> f32
    %mx = gpu.subgroup_reduce maxnumf %x : (f32) -> f32
    %mn = gpu.subgroup_reduce minsi %n : (i32) -> i32
    %mu = gpu.subgroup_reduce maxui %n : (i32) -> i32
    %all = gpu.all_reduce add %x uniform {} : (f32) -> (f32)
    %allmax = gpu.all_reduce %x {
    ^bb0(%a: f32, %b: f32):
      %m = arith.maximumf %a, %b : f32
      gpu.yield %m : f32
    } : (f32) -> (f32)
    %imin = gpu.all_reduce minsi %n uniform {} : (i32) -> (i32)
    %lane = gpu.lane_id
    %sz = gpu.subgroup_size : index
    %sg = gpu.subgroup_id : index
    %nsg = gpu.num_subgroups : index
    %l1 = arith.addi %lane, %sz : index
    %l2 = arith.muli %sg, %nsg : index
    %c0i = arith.constant 0 : index
    %c1i = arith.constant 1 : index
    %c2i = arith.constant 2 : index
    %c3i = arith.constant 3 : index
    %c4i = arith.constant 4 : index
    %c5i = arith.constant 5 : index
    %c6i = arith.constant 6 : index
    %c7i = arith.constant 7 : index
    %c8i = arith.constant 8 : index
    memref.store %sx, %out[%c0i] : memref<16xf32>
    memref.store %sd, %out[%c1i] : memref<16xf32>
    memref.store %su, %out[%c2i] : memref<16xf32>
    memref.store %si, %out[%c3i] : memref<16xf32>
    memref.store %sum, %out[%c4i] : memref<16xf32>
    memref.store %mx, %out[%c5i] : memref<16xf32>
    memref.store %all, %out[%c6i] : memref<16xf32>
    memref.store %allmax, %out[%c7i] : memref<16xf32>
    memref.store %ni, %iout[%c0i] : memref<16xi32>
    memref.store %mn, %iout[%c1i] : memref<16xi32>
    memref.store %mu, %iout[%c2i] : memref<16xi32>
    memref.store %imin, %iout[%c3i] : memref<16xi32>
    memref.store %vd, %bout[%c0i] : memref<8xi1>
    memref.store %vu, %bout[%c1i] : memref<8xi1>
    memref.store %vx16, %bout[%c2i] : memref<8xi1>
    memref.store %l1, %xout[%c0i] : memref<4xindex>
    memref.store %l2, %xout[%c1i] : memref<4xindex>
    gpu.return
  }
}
