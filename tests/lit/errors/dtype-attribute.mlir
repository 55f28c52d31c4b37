// RUN: not mxir-opt %s 2>&1 | FileCheck %s
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: dtype-attribute.mlir:[[@LINE+1]]:8: error: 'mx.astype' op attribute "dtype": expected an element type attribute, got "float32"
  %0 = "mx.astype"(%a) {dtype = "float32"} : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
