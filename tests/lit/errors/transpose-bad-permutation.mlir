// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{[transpose] Invalid permutation (0, 0).}}
  %0 = "mx.transpose"(%x) {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
