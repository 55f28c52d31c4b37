// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 2>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  // expected-error @above {{[sum] Invalid axes (2,) for array with 2 dimensions.}}
  return %0 : tensor<2xf32>
}
