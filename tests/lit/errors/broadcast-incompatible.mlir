// RUN: mxir-opt %s --verify-diagnostics
func.func @f(%x: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{Shapes (3) and (2, 4) cannot be broadcast.}}
  %0 = "mx.broadcast_to"(%x) {shape = array<i64: 2, 4>} : (tensor<3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
