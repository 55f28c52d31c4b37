// mx-distinct-results: a buffer returned twice gets a copy of its own before
// buffer-results-to-out-params, which (LLVM 22.1.8, hoist-static-allocs) segfaults on it.
// RUN: mxir-opt %s --split-input-file --mx-distinct-results | FileCheck %s
// RUN: mxir-opt %s --split-input-file --mx-distinct-results --buffer-results-to-out-params="hoist-static-allocs modify-public-functions" | FileCheck %s --check-prefix=OUT
// RUN: mxir-run %s --entry twice "dense<[1.0, 2.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=RESULT

// CHECK-LABEL: func.func @same_alloc_twice
// CHECK: %[[A:.*]] = memref.alloc() : memref<2xf32>
// CHECK: %[[B:.*]] = memref.alloc() : memref<2xf32>
// CHECK: %[[COPY:.*]] = memref.alloc() : memref<2xf32>
// CHECK: memref.copy %[[A]], %[[COPY]]
// CHECK: return %[[A]], %[[B]], %[[COPY]]
// OUT-LABEL: func.func @same_alloc_twice(%{{.*}}: memref<2xf32>, %{{.*}}: memref<2xf32>, %{{.*}}: memref<2xf32>, %{{.*}}: memref<2xf32>)
func.func @same_alloc_twice(%x: memref<2xf32>) -> (memref<2xf32>, memref<2xf32>, memref<2xf32>) {
  %a = memref.alloc() : memref<2xf32>
  memref.copy %x, %a : memref<2xf32> to memref<2xf32>
  %b = memref.alloc() : memref<2xf32>
  return %a, %b, %a : memref<2xf32>, memref<2xf32>, memref<2xf32>
}

// -----

// CHECK-LABEL: func.func @dynamic
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[D:.*]] = memref.dim %arg0, %[[C0]]
// CHECK: %[[B:.*]] = memref.alloc(%[[D]]) : memref<?xf32>
// CHECK: memref.copy %arg0, %[[B]]
// CHECK: return %arg0, %[[B]]
func.func @dynamic(%x: memref<?xf32>) -> (memref<?xf32>, memref<?xf32>) {
  return %x, %x : memref<?xf32>, memref<?xf32>
}

// -----

// The whole CPU pipeline on outputs that CSE into one value.
// RESULT: dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
// RESULT-NEXT: dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
func.func @twice(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %one = "mx.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %a = "mx.add"(%x, %one) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %b = "mx.add"(%x, %one) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %a, %b : tensor<2xf32>, tensor<2xf32>
}
