// Errors raised by a pass carry the op's location.
// RUN: not mxir-opt %s --mx-transforms 2>&1 | FileCheck %s
func.func private @g(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: vjp-cotangent-count.mlir:[[@LINE+1]]:10: error: 'mx.vjp' expects one cotangent per callee result (1), got 0
  %0:2 = "mx.vjp"(%x) {callee = @g, argnums = array<i64: 0>} : (tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)
  return %0#1 : tensor<3xf32>
}
