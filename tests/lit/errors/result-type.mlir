// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// sin of f32 is f32: a declared f16 result is wrong.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf16> {
  // CHECK: result-type.mlir:[[@LINE+1]]:8: error: 'mx.sin' op result type mismatch: expected tensor<4xf32> but got tensor<4xf16>
  %0 = "mx.sin"(%x) : (tensor<4xf32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}
