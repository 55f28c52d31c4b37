// Nested transform ops in one file, expanded by mx-transforms callee first, then run.
// RUN: mxir-opt %s --split-input-file --mx-transforms | FileCheck %s --check-prefix=IR
// IR-NOT: "mx.vjp"
// IR-NOT: "mx.jvp"
// IR-NOT: "mx.vmap"
// RUN: mxir-opt %s --split-input-file --mx-transforms | %python %S/split_first.py 0 | mxir-run - --entry main "dense<[1.0, 2.0]> : tensor<2xf32>" "dense<[1.0, 0.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=HVP
// RUN: mxir-opt %s --split-input-file --mx-transforms | %python %S/split_first.py 1 | mxir-run - --entry main "dense<[0.0, 1.0, 2.0]> : tensor<3xf32>" | FileCheck %s --check-prefix=VJVP

// jvp of grad: the Hessian-vector product of sum(x^3) is 6 x v.
func.func private @f(%x: tensor<2xf32>) -> tensor<f32> {
  %0 = "mx.multiply"(%x, %x) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = "mx.multiply"(%0, %x) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %2 = "mx.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
func.func private @grad_f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %g = "mx.vjp"(%x, %one) {callee = @f, argnums = array<i64: 0>} : (tensor<2xf32>, tensor<f32>) -> (tensor<f32>, tensor<2xf32>)
  return %g : tensor<2xf32>
}
// HVP: dense<[3.000000e+00, 1.200000e+01]> : tensor<2xf32>
// HVP-NEXT: dense<[6.000000e+00, 0.000000e+00]> : tensor<2xf32>
func.func @main(%x: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %g, %hv = "mx.jvp"(%x, %v) {callee = @grad_f} : (tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  return %g, %hv : tensor<2xf32>, tensor<2xf32>
}

// -----

// vmap of jvp: per-example derivative of exp with unit tangents is exp itself.
func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.exp"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @df(%x: tensor<f32>) -> tensor<f32> {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %y, %t = "mx.jvp"(%x, %one) {callee = @f} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %t : tensor<f32>
}
// VJVP: dense<[1.000000e+00, 2.71828{{[0-9]*}}, 7.38905{{[0-9]*}}]> : tensor<3xf32>
func.func @main(%xs: tensor<3xf32>) -> tensor<3xf32> {
  %r = "mx.vmap"(%xs) {callee = @df, in_axes = [0 : i64], out_axes = [0 : i64]} : (tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
