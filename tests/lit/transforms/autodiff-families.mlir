// One vjp per rule family, expanded by mx-autodiff and run; values checked by hand.
// RUN: mxir-opt %s --split-input-file --mx-autodiff | FileCheck %s --check-prefix=IR
// RUN: mxir-opt %s --split-input-file --mx-autodiff -o %t.mlir
// IR-NOT: mx.vjp

// Shape ops: d/dx sum(transpose(reshape(x)) * w) = reshape back of w's transpose.
func.func private @f(%x: tensor<6xf32>, %w: tensor<3x2xf32>) -> tensor<f32> {
  %0 = "mx.reshape"(%x) {shape = array<i64: 2, 3>} : (tensor<6xf32>) -> tensor<2x3xf32>
  %1 = "mx.transpose"(%0) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = "mx.multiply"(%1, %w) : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  %3 = "mx.sum"(%2) {axes = array<i64: 0, 1>, keepdims = false} : (tensor<3x2xf32>) -> tensor<f32>
  return %3 : tensor<f32>
}
func.func @main(%x: tensor<6xf32>, %w: tensor<3x2xf32>, %ct: tensor<f32>) -> tensor<6xf32> {
  %v, %g = "mx.vjp"(%x, %w, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<6xf32>, tensor<3x2xf32>, tensor<f32>) -> (tensor<f32>, tensor<6xf32>)
  return %g : tensor<6xf32>
}

// -----

// matmul: d/dA sum(A @ B) = ones @ B^T.
func.func private @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<f32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %1 = "mx.sum"(%0) {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>, %ct: tensor<f32>) -> tensor<2x3xf32> {
  %v, %g = "mx.vjp"(%a, %b, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<f32>) -> (tensor<f32>, tensor<2x3xf32>)
  return %g : tensor<2x3xf32>
}

// -----

// select and a comparison: the comparison gets no cotangent, select routes it.
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %z = "mx.constant"() {value = dense<0.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %c = "mx.greater"(%x, %z) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  %sq = "mx.square"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %s = "mx.select"(%c, %sq, %x) : (tensor<3xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r = "mx.sum"(%s) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @main(%x: tensor<3xf32>, %ct: tensor<f32>) -> tensor<3xf32> {
  %v, %g = "mx.vjp"(%x, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %g : tensor<3xf32>
}

// -----

// gather: the cotangent of take scatters back (index 0 is taken twice).
func.func private @f(%x: tensor<4xf32>, %i: tensor<3xi32>) -> tensor<f32> {
  %0 = "mx.take"(%x, %i) {axis = 0 : i64} : (tensor<4xf32>, tensor<3xi32>) -> tensor<3xf32>
  %1 = "mx.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<4xf32>, %i: tensor<3xi32>, %ct: tensor<f32>) -> (tensor<4xf32>, tensor<3xi32>) {
  %v, %g, %gi = "mx.vjp"(%x, %i, %ct) {callee = @f, argnums = array<i64: 0, 1>} : (tensor<4xf32>, tensor<3xi32>, tensor<f32>) -> (tensor<f32>, tensor<4xf32>, tensor<3xi32>)
  return %g, %gi : tensor<4xf32>, tensor<3xi32>
}
