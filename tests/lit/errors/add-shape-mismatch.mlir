// RUN: mxir-opt %s --verify-diagnostics
// Binary ops need equal operand types (broadcasting is explicit in mx IR).
func.func @f(%x: tensor<4xf32>, %y: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'mx.add' expects operands of equal type, got tensor<4xf32> and tensor<3xf32>}}
  %0 = "mx.add"(%x, %y) : (tensor<4xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
