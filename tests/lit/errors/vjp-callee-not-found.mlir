// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<3xf32>, %ct: tensor<f32>) -> tensor<3xf32> {
  // CHECK: vjp-callee-not-found.mlir:[[@LINE+1]]:10: error: 'mx.vjp' op callee @missing does not name a function in this module
  %0:2 = "mx.vjp"(%x, %ct) {callee = @missing, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %0#1 : tensor<3xf32>
}
