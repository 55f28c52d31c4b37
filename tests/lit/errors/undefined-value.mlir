// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: undefined-value.mlir:[[@LINE+1]]:17: error: use of undeclared SSA value name
  %0 = "mx.sin"(%y) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
