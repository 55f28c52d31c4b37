// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func private @g(%x: tensor<3xf32>) -> tensor<3xf32> {
  return %x : tensor<3xf32>
}
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: vmap-axes-kind.mlir:[[@LINE+1]]:8: error: 'mx.vmap' op attribute "in_axes": expected an array of integers or unit, got array<i64: 0>
  %0 = "mx.vmap"(%x) {callee = @g, in_axes = array<i64: 0>, out_axes = [0]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
