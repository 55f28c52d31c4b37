// mx.custom (mx.custom_function): the vjp, jvp and vmap rules are functions named by the op;
// the transforms call them instead of differentiating or batching the body (sin), and an
// absent rule falls back to the body's own transform.
// RUN: mxir-opt %s --split-input-file --mx-verify --mx-transforms | FileCheck %s --check-prefix=IR
// RUN: mxir-opt %s --split-input-file --mx-transforms | %python %S/split_first.py 0 | mxir-run - --entry main "dense<0.5> : tensor<f32>" | FileCheck %s --check-prefix=VJP
// RUN: mxir-opt %s --split-input-file --mx-transforms | %python %S/split_first.py 1 | mxir-run - --entry main "dense<0.5> : tensor<f32>" | FileCheck %s --check-prefix=JVP
// RUN: mxir-opt %s --split-input-file --mx-transforms | %python %S/split_first.py 2 | mxir-run - --entry main "dense<[1.0, 2.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=VMAP
// IR-NOT: "mx.custom"
// IR-NOT: "mx.vjp"

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// the vjp rule: (primals, cotangents, outputs) -> one cotangent per primal
func.func private @f_vjp(%x: tensor<f32>, %ct: tensor<f32>, %out: tensor<f32>) -> tensor<f32> {
  %ten = "mx.constant"() {value = dense<10.0> : tensor<f32>} : () -> tensor<f32>
  %0 = "mx.multiply"(%ct, %ten) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @g(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.custom"(%x) {callee = @f, vjp = @f_vjp, primals = 1 : i64} : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// VJP: dense<0.4794{{[0-9]*}}> : tensor<f32>
// VJP-NEXT: dense<1.000000e+01> : tensor<f32>
func.func @main(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %g = "mx.vjp"(%x, %one) {callee = @g, argnums = array<i64: 0>} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %v, %g : tensor<f32>, tensor<f32>
}

// -----

// jvp with a vjp rule only: forward mode falls back to the body (cos 0.5 = 0.877583).
func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @f_vjp(%x: tensor<f32>, %ct: tensor<f32>, %out: tensor<f32>) -> tensor<f32> {
  return %ct : tensor<f32>
}
func.func private @g(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.custom"(%x) {callee = @f, vjp = @f_vjp, primals = 1 : i64} : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// JVP: dense<0.4794{{[0-9]*}}> : tensor<f32>
// JVP-NEXT: dense<0.87758{{[0-9]*}}> : tensor<f32>
func.func @main(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %one = "mx.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %v, %t = "mx.jvp"(%x, %one) {callee = @g} : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return %v, %t : tensor<f32>, tensor<f32>
}

// -----

// vmap with a rule traced for "argument 0 mapped": the rule (x * 1000) runs on the batch.
func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.sin"(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @f_vmap(%x: tensor<2xf32>) -> tensor<2xf32> {
  %k = "mx.constant"() {value = dense<1000.0> : tensor<2xf32>} : () -> tensor<2xf32>
  %0 = "mx.multiply"(%x, %k) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
func.func private @g(%x: tensor<f32>) -> tensor<f32> {
  %0 = "mx.custom"(%x) {callee = @f, vmap = @f_vmap, vmap_mapped = array<i64: 1>, primals = 1 : i64} : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// VMAP: dense<[1.000000e+03, 2.000000e+03]> : tensor<2xf32>
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "mx.vmap"(%x) {callee = @g, in_axes = [0 : i64], out_axes = [0 : i64]} : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
