// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// axes must be a dense i64 array, not an integer.
func.func @f(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // CHECK: attribute-kind.mlir:[[@LINE+1]]:8: error: 'mx.sum' op attribute "axes": expected array<i64: ...>, got 1 : i64
  %0 = "mx.sum"(%x) {axes = 1 : i64, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
