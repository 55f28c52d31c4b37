// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @below {{[reshape] Cannot reshape array of size 6 into shape (7).}}
  %0 = "mx.reshape"(%x) {shape = array<i64: 7>} : (tensor<2x3xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}
