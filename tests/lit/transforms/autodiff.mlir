// RUN: mxir-opt %s --split-input-file --mx-autodiff --mx-simplify | FileCheck %s

// Unary rule: d sin = cos, times the cotangent.
func.func private @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mx.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
// CHECK-LABEL: func.func @unary
// CHECK-NOT: mx.vjp
// CHECK: %[[S:.*]] = "mx.sin"(%arg0)
// CHECK: %[[C:.*]] = "mx.cos"(%arg0)
// CHECK: %[[G:.*]] = "mx.multiply"(%arg1, %[[C]])
// CHECK: return %[[S]], %[[G]]
func.func @unary(%x: tensor<3xf32>, %ct: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %v, %g = "mx.vjp"(%x, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %v, %g : tensor<3xf32>, tensor<3xf32>
}

// -----

// Binary rule and a value used twice: the two cotangents are summed.
func.func private @f(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mx.multiply"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "mx.add"(%0, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}
// CHECK-LABEL: func.func @binary
// CHECK-NOT: mx.vjp
// CHECK: %[[V:.*]] = "mx.add"
// CHECK: %[[P:.*]] = "mx.multiply"(%arg2, %arg0)
// CHECK: %[[GX:.*]] = "mx.add"(%[[P]], %[[P]])
// CHECK: return %[[V]], %[[GX]], %arg2
func.func @binary(%x: tensor<3xf32>, %y: tensor<3xf32>, %ct: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %v, %gx, %gy = "mx.vjp"(%x, %y, %ct) {callee = @f, argnums = array<i64: 0, 1>} : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  return %v, %gx, %gy : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// Reduction: the cotangent of a sum is broadcast back.
func.func private @f(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
// CHECK-LABEL: func.func @reduction
// CHECK: %[[R:.*]] = "mx.reshape"(%arg1) {shape = array<i64: 2, 1>}
// CHECK: "mx.broadcast_to"(%[[R]]) {shape = array<i64: 2, 3>}
func.func @reduction(%x: tensor<2x3xf32>, %ct: tensor<2xf32>) -> tensor<2x3xf32> {
  %v, %g = "mx.vjp"(%x, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<2x3xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2x3xf32>)
  return %g : tensor<2x3xf32>
}

// -----

// stop_gradient blocks: the gradient is a zero constant.
func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.stop_gradient"(%x) : (tensor<f32>) -> tensor<f32>
  %1 = "mx.exp"(%0) : (tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
// CHECK-LABEL: func.func @stopped
// CHECK: %[[Z:.*]] = "mx.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: return %[[Z]]
func.func @stopped(%x: tensor<f32>, %ct: tensor<f32>) -> tensor<f32> {
  %v, %g = "mx.vjp"(%x, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %g : tensor<f32>
}

// -----

// Nested: grad(grad(sin)). The inner mx.vjp (inside @g) is expanded before @g is
// differentiated, so the second derivative is -sin.
func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @g(%x: tensor<f32>) -> tensor<f32> {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %d = "mx.vjp"(%x, %one) {callee = @f, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %d : tensor<f32>
}
// CHECK-LABEL: func.func @nested
// CHECK-NOT: mx.vjp
// CHECK: "mx.sin"(%arg0)
// CHECK: "mx.negative"
// CHECK-NOT: func.func private
func.func @nested(%x: tensor<f32>, %ct: tensor<f32>) -> tensor<f32> {
  %v, %g = "mx.vjp"(%x, %ct) {callee = @g, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %g : tensor<f32>
}
