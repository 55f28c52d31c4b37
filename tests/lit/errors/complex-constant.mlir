// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// The Python bindings cannot even read complex dense attributes: still a located error.
func.func @main() -> tensor<2xf32> {
  // CHECK: complex-constant.mlir:[[@LINE+1]]:8: error: 'mx.constant' op attribute "value": unsupported value
  %0 = "mx.constant"() {value = dense<(1.0, 2.0)> : tensor<2xcomplex<f32>>} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
