// The issue's end-to-end check: a hand-written mx.vjp, expanded by the pass, then run.
// RUN: mxir-opt %s --mx-autodiff | mxir-run - --entry main "dense<[0.5, 1.0, 2.0]> : tensor<3xf32>" "dense<[1.0, 1.0, 1.0]> : tensor<3xf32>" "dense<1.0> : tensor<f32>" | FileCheck %s
// RUN: mxir-opt %s --mx-autodiff | mxir-run - --device reference --entry main "dense<[0.5, 1.0, 2.0]> : tensor<3xf32>" "dense<[1.0, 1.0, 1.0]> : tensor<3xf32>" "dense<1.0> : tensor<f32>" | FileCheck %s

func.func private @f(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<f32> {
  %0 = "mx.multiply"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "mx.multiply"(%0, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %2 = "mx.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
// sum(x*x*y) = 0.25 + 1 + 4; d/dx = 2xy
// CHECK: dense<5.250000e+00> : tensor<f32>
// CHECK-NEXT: dense<[1.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf32>
func.func @main(%x: tensor<3xf32>, %y: tensor<3xf32>, %ct: tensor<f32>) -> (tensor<f32>, tensor<3xf32>) {
  %v, %g = "mx.vjp"(%x, %y, %ct) {callee = @f, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %v, %g : tensor<f32>, tensor<3xf32>
}
