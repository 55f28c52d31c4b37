// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// Upstream verifiers run too (func.return against the function type).
func.func @f(%a: tensor<2xf32>) -> tensor<3xf32> {
  %0 = "mx.sin"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  // CHECK: return-type.mlir:[[@LINE+1]]:3: error: type of return operand 0 ('tensor<2xf32>') doesn't match function result type ('tensor<3xf32>')
  return %0 : tensor<2xf32>
}
