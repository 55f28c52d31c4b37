// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{All the input array dimensions must match exactly except for the concatenation axis}}
  %0 = "mx.concatenate"(%a, %b) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}
