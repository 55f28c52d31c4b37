// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {
  // CHECK: dynamic-shape.mlir:[[@LINE+1]]:8: error: 'mx.sin' op dynamic dimensions are not supported yet: tensor<?xf32>
  %0 = "mx.sin"(%x) : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
