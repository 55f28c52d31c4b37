// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // CHECK: missing-attribute.mlir:[[@LINE+1]]:8: error: 'mx.sum' op attribute "axes" is expected but not provided
  %0 = "mx.sum"(%x) {keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
