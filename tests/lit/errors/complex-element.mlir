// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  // CHECK: complex-element.mlir:[[@LINE+1]]:8: error: 'mx.sin' op unsupported element type complex<f32>
  %0 = "mx.sin"(%x) : (tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>>
  return %0 : tensor<4xcomplex<f32>>
}
