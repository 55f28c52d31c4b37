// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// An op name that is not in the mx op table.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: unknown-op.mlir:[[@LINE+1]]:8: error: unknown op 'mx.frobnicate'
  %0 = "mx.frobnicate"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
