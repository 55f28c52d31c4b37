// mx-simplify rules of matmul and transpose: matmuls that are not matrix products become
// cheaper ops, and transposes that only move unit dims become reshapes.
// RUN: mxir-opt %s --split-input-file --mx-simplify | FileCheck %s

// An inner size of 1 is an outer product: broadcasts and a multiply, no sum.
// CHECK-LABEL: func.func @outer
// CHECK-NOT: mx.matmul
// CHECK: "mx.broadcast_to"(%arg0) {shape = array<i64: 4, 3>}
// CHECK: "mx.broadcast_to"(%arg1) {shape = array<i64: 4, 3>}
// CHECK: "mx.multiply"
func.func @outer(%a: tensor<4x1xf32>, %b: tensor<1x3xf32>) -> tensor<4x3xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<4x1xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// A batch of matrices times one broadcast matrix: one matmul of the stacked rows.
// CHECK-LABEL: func.func @shared_rhs
// CHECK: %[[ROWS:.*]] = "mx.reshape"(%arg0) {shape = array<i64: 10, 5>}
// CHECK: %[[P:.*]] = "mx.matmul"(%[[ROWS]], %arg1) : (tensor<10x5xf32>, tensor<5x3xf32>) -> tensor<10x3xf32>
// CHECK: "mx.reshape"(%[[P]]) {shape = array<i64: 2, 5, 3>}
// CHECK-NOT: mx.broadcast_to
func.func @shared_rhs(%a: tensor<2x5x5xf32>, %w: tensor<5x3xf32>) -> tensor<2x5x3xf32> {
  %0 = "mx.broadcast_to"(%w) {shape = array<i64: 2, 5, 3>} : (tensor<5x3xf32>) -> tensor<2x5x3xf32>
  %1 = "mx.matmul"(%a, %0) : (tensor<2x5x5xf32>, tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  return %1 : tensor<2x5x3xf32>
}

// -----

// A batch of dot products (float32): multiply and sum over K.
// CHECK-LABEL: func.func @dots
// CHECK-NOT: mx.matmul
// CHECK: "mx.multiply"
// CHECK: "mx.sum"({{.*}}) {axes = array<i64: 1>, keepdims = false} : (tensor<6x4xf32>) -> tensor<6xf32>
func.func @dots(%a: tensor<6x1x4xf32>, %b: tensor<6x4x1xf32>) -> tensor<6x1x1xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<6x1x4xf32>, tensor<6x4x1xf32>) -> tensor<6x1x1xf32>
  return %0 : tensor<6x1x1xf32>
}

// -----

// Half dots keep the matmul (it accumulates in float32).
// CHECK-LABEL: func.func @half_dots
// CHECK: mx.matmul
func.func @half_dots(%a: tensor<6x1x4xf16>, %b: tensor<6x4x1xf16>) -> tensor<6x1x1xf16> {
  %0 = "mx.matmul"(%a, %b) : (tensor<6x1x4xf16>, tensor<6x4x1xf16>) -> tensor<6x1x1xf16>
  return %0 : tensor<6x1x1xf16>
}

// -----

// A transpose that moves only unit dims is a reshape; one that reorders data stays.
// CHECK-LABEL: func.func @unit_transpose
// CHECK: "mx.reshape"(%arg0) {shape = array<i64: 5, 1, 3>}
// CHECK: "mx.transpose"(%arg1) {perm = array<i64: 1, 0, 2>}
func.func @unit_transpose(%a: tensor<1x5x3xf32>, %b: tensor<2x5x1xf32>) -> (tensor<5x1x3xf32>, tensor<5x2x1xf32>) {
  %0 = "mx.transpose"(%a) {perm = array<i64: 1, 0, 2>} : (tensor<1x5x3xf32>) -> tensor<5x1x3xf32>
  %1 = "mx.transpose"(%b) {perm = array<i64: 1, 0, 2>} : (tensor<2x5x1xf32>) -> tensor<5x2x1xf32>
  return %0, %1 : tensor<5x1x3xf32>, tensor<5x2x1xf32>
}
