// mx-to-gpu: one kernel per linalg op, outlined into gpu.module/gpu.func.
// RUN: mxir-opt %s --split-input-file --mx-to-gpu | FileCheck %s

// Fused elementwise: 256 threads, 4 elements per thread (a loop of 4), ceil(4096/1024) groups.
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch_func @[[K:main_kernel]]::@[[K]] blocks in (%[[C4]], %[[C1]], %[[C1]]) threads in (%[[C256]], %[[C1]], %[[C1]]) args(%arg0 : memref<4096xf32>, %arg1 : memref<4096xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.module @[[K]]
// CHECK: gpu.func @[[K]](%{{.*}}: memref<4096xf32>, %{{.*}}: memref<4096xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 4, 1, 1>}
// CHECK: gpu.block_id x
// CHECK: gpu.thread_id x
// CHECK: scf.for
// CHECK: scf.if
// CHECK: memref.load
// CHECK: math.sin
// CHECK: arith.mulf
// CHECK: memref.store
// CHECK: gpu.return
func.func @main(%x: tensor<4096xf32>) -> tensor<4096xf32> {
  %0 = "mx.sin"(%x) : (tensor<4096xf32>) -> tensor<4096xf32>
  %1 = "mx.multiply"(%0, %x) : (tensor<4096xf32>, tensor<4096xf32>) -> tensor<4096xf32>
  return %1 : tensor<4096xf32>
}

// -----

// Row sum: one group of 256 threads per row reducing through workgroup memory, a barrier
// after the partial sums and after each of the 8 tree levels; the zero fill of the output is
// folded into the kernel (it starts from the constant).
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func @[[RED:main_kernel]]::@[[RED]] blocks in (%{{.*}}) threads in (%{{.*}})
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @[[RED]](%{{.*}}: memref<8x1000xf32>, %{{.*}}: memref<8xf32>) workgroup(%[[SM:.*]] : memref<256xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 8, 1, 1>}
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.addf
// CHECK: memref.store {{.*}}, %[[SM]]
// CHECK-COUNT-9: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @main(%x: tensor<8x1000xf32>) -> tensor<8xf32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<8x1000xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// Matmul: 16x16 threads per 16x16 output tile, A and B tiles in workgroup memory.
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch_func @[[MM:main_kernel]]::@[[MM]] blocks in (%[[C2]], %[[C3]], %[[C1]]) threads in (%[[C16]], %[[C16]], %[[C1]])
// CHECK: gpu.func @[[MM]]({{.*}}) workgroup(%[[A:.*]] : memref<16x16xf32, #gpu.address_space<workgroup>>, %[[B:.*]] : memref<16x16xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for
// CHECK: memref.store {{.*}}, %[[A]]
// CHECK: memref.store {{.*}}, %[[B]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %[[A]]
// CHECK: memref.load %[[B]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: gpu.barrier
func.func @main(%a: tensor<40x24xf32>, %b: tensor<24x20xf32>) -> tensor<40x20xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<40x24xf32>, tensor<24x20xf32>) -> tensor<40x20xf32>
  return %0 : tensor<40x20xf32>
}

// -----

// Transpose: an elementwise kernel that reads through the permutation.
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func
// CHECK: %[[I:.*]] = arith.divui
// CHECK: %[[J:.*]] = arith.remui
// CHECK: %[[V:.*]] = memref.load %arg0[%[[J]], %[[I]]] : memref<3x5xf32>
// CHECK: memref.store %[[V]], %arg1[%[[I]], %[[J]]] : memref<5x3xf32>
func.func @main(%x: tensor<3x5xf32>) -> tensor<5x3xf32> {
  %0 = "mx.transpose"(%x) {perm = array<i64: 1, 0>} : (tensor<3x5xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// A slice copied into a strided view becomes a kernel on the base buffers; a reshape of an
// input into an output stays a plain buffer copy on the host.
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func {{.*}} args(%arg0 : memref<4x8xf32>, %arg1 : memref<2x8xf32>)
// CHECK: memref.copy %{{.*}}, %arg2 : memref<32xf32> to memref<32xf32>
// CHECK: gpu.func
// CHECK-NOT: memref.subview
// CHECK: memref.load %arg0
func.func @main(%x: tensor<4x8xf32>) -> (tensor<2x8xf32>, tensor<32xf32>) {
  %0 = "mx.slice"(%x) {start = array<i64: 1, 0>, stop = array<i64: 3, 8>, strides = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  %1 = "mx.reshape"(%x) {shape = array<i64: 32>} : (tensor<4x8xf32>) -> tensor<32xf32>
  return %0, %1 : tensor<2x8xf32>, tensor<32xf32>
}
