// RUN: mxir-opt %s --split-input-file | FileCheck %s
// RUN: mxir-opt %s --split-input-file | mxir-opt --split-input-file | FileCheck %s

// mx ops print in MLIR's generic form and parse back unchanged.

// CHECK-LABEL: func.func @elementwise
// CHECK: %[[S:.*]] = "mx.sin"(%arg0) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[A:.*]] = "mx.add"(%[[S]], %arg1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[C:.*]] = "mx.less"(%[[A]], %arg1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
// CHECK: "mx.select"(%[[C]], %[[A]], %arg1) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
func.func @elementwise(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.sin"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "mx.add"(%0, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = "mx.less"(%1, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %3 = "mx.select"(%2, %1, %y) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %3 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @attributes
// CHECK: "mx.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
// CHECK: "mx.transpose"(%arg0) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK: "mx.reshape"(%arg0) {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
// CHECK: "mx.astype"(%arg0) {dtype = f16} : (tensor<2x3xf32>) -> tensor<2x3xf16>
// CHECK: "mx.constant"() {value = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>} : () -> tensor<2xf32>
func.func @attributes(%x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf16>, tensor<2xf32>) {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  %1 = "mx.transpose"(%x) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = "mx.reshape"(%x) {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %3 = "mx.astype"(%x) {dtype = f16} : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %4 = "mx.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  return %0, %1, %2, %3, %4 : tensor<2xf32>, tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf16>, tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @transform_ops
// CHECK: %{{.*}}:2 = "mx.vjp"(%arg0, %arg1) {argnums = array<i64: 0>, callee = @f} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @transform_ops(%x: tensor<3xf32>, %ct: tensor<f32>) -> tensor<3xf32> {
  %y, %g = "mx.vjp"(%x, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %g : tensor<3xf32>
}
