// vmap of grad in one file: mx.vmap's callee holds an mx.vjp; mx-transforms expands the inner
// one first. Per-example d/dx sin(x) = cos(x).
// RUN: mxir-opt %s --mx-transforms --mx-simplify | FileCheck %s
// RUN: mxir-opt %s --mx-transforms | mxir-run - --entry main "dense<[0.0, 1.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=EXEC

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @df(%x: tensor<f32>) -> tensor<f32> {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %g = "mx.vjp"(%x, %one) {callee = @f, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %g : tensor<f32>
}
// CHECK-LABEL: func.func @main
// CHECK-NOT: mx.v
// CHECK: "mx.cos"(%arg0) : (tensor<2xf32>) -> tensor<2xf32>
// EXEC: dense<[1.000000e+00, 0.540302277]> : tensor<2xf32>
func.func @main(%xs: tensor<2xf32>) -> tensor<2xf32> {
  %r = "mx.vmap"(%xs) {callee = @df, in_axes = [0 : i64], out_axes = [0 : i64]} : (tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
