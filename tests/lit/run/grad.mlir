// mx.vjp is expanded by the transform passes before running: d/dx sum(x * sin(x)).
// RUN: mxir-run %s "dense<[0.0, 1.0, 2.0]> : tensor<3xf32>" | FileCheck %s
// RUN: mxir-run %s --device reference "dense<[0.0, 1.0, 2.0]> : tensor<3xf32>" | FileCheck %s

// sum(x sin x) at [0, 1, 2]
// CHECK: dense<2.66006{{[0-9]+}}> : tensor<f32>
// sin x + x cos x at [0, 1, 2]
// CHECK-NEXT: dense<[0.000000e+00, 1.381773{{[0-9]+}}, 0.077003{{[0-9]+}}]> : tensor<3xf32>

func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mx.multiply"(%x, %0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %2 = "mx.sum"(%1) {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
func.func @main(%x: tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>) {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %y, %g = "mx.vjp"(%x, %one) {callee = @f, argnums = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %y, %g : tensor<f32>, tensor<3xf32>
}
