// --inline aborts on region ops it cannot reason about; the verifier refuses them first.
// RUN: not mxir-opt %s --inline 2>&1 | FileCheck %s
func.func private @g(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @f(%x: tensor<3xf32>, %ct: tensor<f32>) -> tensor<3xf32> {
  // CHECK: transform-region-inline.mlir:[[@LINE+1]]:10: error: 'mx.vjp' op must have no regions
  %0:2 = "mx.vjp"(%x, %ct) ({
    "mx.cos"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  }) {callee = @g, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %0#1 : tensor<3xf32>
}
