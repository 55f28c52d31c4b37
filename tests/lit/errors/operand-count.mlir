// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: operand-count.mlir:[[@LINE+1]]:8: error: 'mx.add' {{.*}}expects 2 operands, got 1
  %0 = "mx.add"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
