// Workgroup attributions become `threadgroup` arrays and private attributions thread arrays
// (multi-dimensional ones flattened); gpu.barrier is threadgroup_barrier, with a device fence
// only where a buffer written on one side of the barrier is accessed on the other.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void reduce(
// CHECK-SAME:  const device float* arg0
// CHECK:       device float* arg1
// CHECK:       threadgroup float arg2[128];
// CHECK-NEXT:  threadgroup half arg3[32];
// CHECK-NEXT:  float arg4[4];
// CHECK:       arg2[tid.x] = v0;
// CHECK-NEXT:  threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK:       arg3[tid.y * 8u + tid.x] = v{{[0-9]+}};
// CHECK:       arg4[3u] = v{{[0-9]+}};
// CHECK:       threadgroup_barrier(mem_flags::mem_threadgroup);
// CHECK:       arg1[bid.x] = v{{[0-9]+}};
// CHECK-NEXT:  }
gpu.module @m {
  gpu.func @reduce(%in: memref<4x128xf32>, %out: memref<4xf32>)
      workgroup(%sm: memref<128xf32, #gpu.address_space<workgroup>>,
                %tile: memref<4x8xf16, #gpu.address_space<workgroup>>)
      private(%p: memref<4xf32, #gpu.address_space<private>>) kernel {
    %t = gpu.thread_id x
    %ty = gpu.thread_id y
    %g = gpu.block_id x
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %v = memref.load %in[%g, %t] : memref<4x128xf32>
    memref.store %v, %sm[%t] : memref<128xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %h = arith.truncf %v : f32 to f16
    memref.store %h, %tile[%ty, %t] : memref<4x8xf16, #gpu.address_space<workgroup>>
    memref.store %v, %p[%c3] : memref<4xf32, #gpu.address_space<private>>
    gpu.barrier
    %r = memref.load %sm[%c0] : memref<128xf32, #gpu.address_space<workgroup>>
    memref.store %r, %out[%g] : memref<4xf32>
    gpu.return
  }
}

// A buffer written before a barrier and read after it needs the device fence too; inside a
// loop both sides of the barrier span the whole loop.
// CHECK-LABEL: kernel void exchange(
// CHECK:       arg0[tid.x] = v{{[0-9]+}};
// CHECK-NEXT:  threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);
// CHECK:       for (
// CHECK:       threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup);
// CHECK:       threadgroup_barrier(mem_flags::mem_threadgroup);
gpu.module @n {
  gpu.func @exchange(%buf: memref<64xf32>, %other: memref<64xf32>) kernel {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c63 = arith.constant 63 : index
    %x = memref.load %other[%t] : memref<64xf32>
    memref.store %x, %buf[%t] : memref<64xf32>
    gpu.barrier
    %m = arith.subi %c63, %t : index
    %y = memref.load %buf[%m] : memref<64xf32>
    scf.for %k = %c0 to %c4 step %c1 {
      %z = memref.load %buf[%t] : memref<64xf32>
      gpu.barrier
      %w = arith.addf %z, %y : f32
      memref.store %w, %buf[%m] : memref<64xf32>
    }
    // `other` is only read: no device fence for this one
    gpu.barrier
    gpu.return
  }
}
