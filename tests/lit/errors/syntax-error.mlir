// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: syntax-error.mlir:[[@LINE+3]]:19: error: expected ')' to end operand list
  // CHECK-NEXT: %0 = "mx.sin"(%x : (tensor<3xf32>) -> tensor<3xf32>
  // CHECK-NEXT: {{^}}                  ^
  %0 = "mx.sin"(%x : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
