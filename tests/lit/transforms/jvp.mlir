// RUN: mxir-opt %s --mx-jvp --mx-simplify | FileCheck %s
// RUN: mxir-opt %s --mx-jvp | mxir-run - --entry main "dense<2.0> : tensor<f32>" "dense<1.0> : tensor<f32>" | FileCheck %s --check-prefix=EXEC

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.multiply"(%x, %x) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %1 = "mx.exp"(%0) : (tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
// CHECK-LABEL: func.func @main
// CHECK-NOT: mx.jvp
// CHECK: "mx.exp"
// CHECK: return
// d/dx exp(x^2) = 2x exp(x^2) = 4 e^4 at x = 2
// EXEC: dense<54.598{{[0-9]*}}> : tensor<f32>
// EXEC-NEXT: dense<218.39{{[0-9]*}}> : tensor<f32>
func.func @main(%x: tensor<f32>, %t: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %y, %ty = "mx.jvp"(%x, %t) {callee = @f} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %y, %ty : tensor<f32>, tensor<f32>
}
