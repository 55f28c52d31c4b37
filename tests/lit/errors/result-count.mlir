// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: result-count.mlir:[[@LINE+1]]:10: error: 'mx.sin' op result type mismatch: expected tensor<4xf32> but got tensor<4xf32>, tensor<4xf32>
  %0:2 = "mx.sin"(%x) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0#0 : tensor<4xf32>
}
