// A crash in one chunk does not stop the others.
// RUN: not mxir-opt %s --split-input-file 2>&1 | FileCheck %s
// CHECK: split-crash-continues.mlir:[[@LINE+2]]:1: error: MLIR crashed
// CHECK: func.func @after_the_crash
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %0 = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = true
  return %0 : tensor<3x2xf32>
}

// -----

func.func @after_the_crash(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mx.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
