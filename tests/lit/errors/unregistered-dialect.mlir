// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: unregistered-dialect.mlir:[[@LINE+1]]:8: error: unregistered operation 'foo.bar'
  %0 = "foo.bar"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
