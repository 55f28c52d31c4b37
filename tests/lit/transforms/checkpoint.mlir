// mx.checkpoint is an mx.custom marked `checkpoint`: mx-transforms keeps only the block's
// output from the forward sweep and recomputes the block (tanh(x * w)) in the reverse sweep,
// behind an mx.barrier on the cotangent, so that CSE cannot merge the two sweeps again.
// RUN: mxir-opt %s --mx-verify --mx-transforms --mx-simplify | FileCheck %s
// RUN: mxir-opt %s --mx-transforms | mxir-run - --entry main "dense<[0.5, -1.0]> : tensor<2xf32>" "dense<[2.0, 3.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=GRAD

func.func private @block(%x: tensor<2xf32>, %w: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "mx.multiply"(%x, %w) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = "mx.tanh"(%0) : (tensor<2xf32>) -> tensor<2xf32>
  return %1 : tensor<2xf32>
}
func.func private @loss(%x: tensor<2xf32>, %w: tensor<2xf32>) -> tensor<f32> {
  %0 = "mx.custom"(%x, %w) {callee = @block, primals = 2 : i64, checkpoint = true} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = "mx.sum"(%0) {axes = array<i64: 0>, keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
// CHECK-LABEL: func.func @main
// CHECK: "mx.tanh"
// CHECK: "mx.barrier"
// CHECK: "mx.barrier"
// CHECK: "mx.tanh"
// CHECK-NOT: "mx.custom"
// GRAD: dense<-0.23346{{[0-9]*}}> : tensor<f32>
// GRAD-NEXT: dense<[0.83994{{[0-9]*}}, 0.02959{{[0-9]*}}]> : tensor<2xf32>
func.func @main(%x: tensor<2xf32>, %w: tensor<2xf32>) -> (tensor<f32>, tensor<2xf32>) {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %g = "mx.vjp"(%x, %w, %one) {callee = @loss, argnums = array<i64: 0>} : (tensor<2xf32>, tensor<2xf32>, tensor<f32>) -> (tensor<f32>, tensor<2xf32>)
  return %v, %g : tensor<f32>, tensor<2xf32>
}
