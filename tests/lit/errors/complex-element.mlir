// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// complex64 is an element type of mx; an op MLX refuses on it says so at the op.
func.func @f(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  // CHECK: complex-element.mlir:[[@LINE+1]]:8: error: 'mx.floor' op [floor] Not supported for complex64.
  %0 = "mx.floor"(%x) : (tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>>
  return %0 : tensor<4xcomplex<f32>>
}
