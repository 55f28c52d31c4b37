// dialect/mx.irdl.mlir (generated from the op table) lets upstream mlir-opt parse and check
// mx IR too: arity and attribute kinds, not the shape rules (those live in each op's infer).
// RUN: mlir-opt --irdl-file=%irdl %s --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @ok
// CHECK: "mx.sum"(%arg0) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
func.func @ok(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @arity(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{op expects exactly 2 operands, but got 1}}
  %0 = "mx.add"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @attribute_kind(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expected base attribute 'builtin.dense_array' but got 'builtin.integer'}}
  %0 = "mx.sum"(%x) {axes = 1 : i64, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
