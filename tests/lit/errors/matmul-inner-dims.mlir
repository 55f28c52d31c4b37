// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error-re @+1 {{Last dimension of first input with shape {{\(2, ?3\)}} must match}}
  %0 = "mx.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}
