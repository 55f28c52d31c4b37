// RUN: mxir-opt %s --split-input-file --mx-to-linalg | FileCheck %s

// mx-to-linalg: one case per op family. Lowered tensors hold storage types (bool -> i8).

// CHECK-LABEL: func.func @unary
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]{{.*}} ins(%arg0 : tensor<4xf32>) outs(%[[E]] : tensor<4xf32>)
// CHECK: math.exp %{{.*}} : f32
// CHECK-NOT: mx.
func.func @unary(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @binary
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<2x2xi32>, tensor<2x2xi32>)
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
func.func @binary(%x: tensor<2x2xi32>, %y: tensor<2x2xi32>) -> tensor<2x2xi32> {
  %0 = "mx.multiply"(%x, %y) : (tensor<2x2xi32>, tensor<2x2xi32>) -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

// CHECK-LABEL: func.func @compare
// CHECK-SAME: -> tensor<4xi8>
// CHECK: %[[C:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.extui %[[C]] : i1 to i8
func.func @compare(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xi1> {
  %0 = "mx.less"(%x, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @reduce
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<2xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs(%[[F]] : tensor<2xf32>)
// CHECK: arith.addf
func.func @reduce(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @shape
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]{{.*}} ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<4x2x3xf32>)
func.func @shape(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<6xf32>, tensor<4x2x3xf32>) {
  %0 = "mx.transpose"(%x) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %1 = "mx.reshape"(%x) {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %2 = "mx.broadcast_to"(%x) {shape = array<i64: 4, 2, 3>} : (tensor<2x3xf32>) -> tensor<4x2x3xf32>
  return %0, %1, %2 : tensor<3x2xf32>, tensor<6xf32>, tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @matmul
// CHECK: %[[F:.*]] = linalg.fill
// CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<3x4xf32>) outs(%[[F]] : tensor<2x4xf32>)
func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @cast
// CHECK: arith.sitofp %{{.*}} : i32 to f32
func.func @cast(%a: tensor<3xi32>) -> tensor<3xf32> {
  %0 = "mx.astype"(%a) {dtype = f32} : (tensor<3xi32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
