// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: op-with-region.mlir:[[@LINE+1]]:8: error: 'mx.sin' op must have no regions
  %0 = "mx.sin"(%a) ({
    "mx.cos"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  }) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
