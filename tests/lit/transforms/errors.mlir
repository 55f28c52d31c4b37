// RUN: not mxir-opt %s --split-input-file --mx-transforms 2>&1 | FileCheck %s

func.func @main(%x: tensor<f32>, %ct: tensor<f32>) -> tensor<f32> {
  // CHECK: errors.mlir:[[@LINE+1]]:{{[0-9]+}}: error: {{.*}}callee @missing does not name a function
  %v, %g = "mx.vjp"(%x, %ct) {callee = @missing, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %g : tensor<f32>
}

// -----

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @main(%x: tensor<f32>) -> tensor<f32> {
  // CHECK: errors.mlir:[[@LINE+1]]:{{[0-9]+}}: error: 'mx.vjp' expects one cotangent per callee result
  %v, %g = "mx.vjp"(%x) {callee = @f, argnums = array<i64: 0>} : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %g : tensor<f32>
}

// -----

func.func private @g(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func @main(%A: tensor<2x4xf32>, %B: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // CHECK: errors.mlir:[[@LINE+1]]:{{[0-9]+}}: error: 'mx.vmap' in_axes has 2 entries for 1 operands
  %r = "mx.vmap"(%A) {callee = @g, in_axes = [0 : i64, 0 : i64], out_axes = [0 : i64]} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
