// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// array<index: ...> aborts MLIR 22 while parsing: the tool refuses it before MLIR sees it.
func.func @f(%x: tensor<2x3xf32>) -> tensor<3xf32> {
  // CHECK: index-array.mlir:[[@LINE+1]]:29: error: dense arrays of 'index' elements are not supported
  %0 = "mx.sum"(%x) {axes = array<index: 0>, keepdims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
