// Argument shapes that do not fit a dynamic program are errors at the op that needs them to
// agree, on both devices (exit status 1, no traceback, never a wrong number).
// RUN: not mxir-run %s "dense<1.0> : tensor<2x3xf32>" "dense<1.0> : tensor<2x2xf32>" 2>&1 | FileCheck %s --check-prefix=EQUAL
// RUN: not mxir-run %s --device reference "dense<1.0> : tensor<2x3xf32>" "dense<1.0> : tensor<2x2xf32>" 2>&1 | FileCheck %s --check-prefix=EQUAL
// RUN: not mxir-run %s "dense<1.0> : tensor<2x3xf32>" "dense<1.0> : tensor<2x3x1xf32>" 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not mxir-run %s --entry mm "dense<1.0> : tensor<2x3xf32>" "dense<1.0> : tensor<2x1xf32>" 2>&1 | FileCheck %s --check-prefix=MM
// RUN: not mxir-run %s --entry mm --device reference "dense<1.0> : tensor<2x3xf32>" "dense<1.0> : tensor<2x1xf32>" 2>&1 | FileCheck %s --check-prefix=MM
// RUN: not mxir-run %s --entry fixed "dense<1.0> : tensor<3x2xf32>" 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not mxir-run %s --entry bc "dense<1.0> : tensor<1xf32>" 2>&1 | FileCheck %s --check-prefix=BCAST
// RUN: not mxir-run %s --entry bc --device reference "dense<1.0> : tensor<1xf32>" 2>&1 | FileCheck %s --check-prefix=BCAST
// RUN: not mxir-run %s --entry sorted "dense<1.0> : tensor<3xf32>" 2>&1 | FileCheck %s --check-prefix=NOLOWER

// EQUAL: dynamic-errors.mlir:[[@LINE+9]]:8: error: 'mx.add' expects operands of equal type, got tensor<2x3xf32> and tensor<2x2xf32>
// RANK: mxir-run: error: argument 2 of @main must have type tensor<?x?xf32>, got tensor<2x3x1xf32>
// MM: dynamic-errors.mlir:[[@LINE+11]]:8: error: 'mx.matmul' op [matmul] Last dimension of first input with shape (2,3) must match second to last dimension of second input with shape (2,1).
// STATIC: mxir-run: error: argument 1 of @fixed must have type tensor<?x3xf32>, got tensor<3x2xf32>
// BCAST: dynamic-errors.mlir:[[@LINE+17]]:8: error: 'mx.broadcast_to' op dynamic dim 0 of the operand is 1 but the result's dim 0 is 4: a dynamic dim does not broadcast
// NOLOWER: dynamic-errors.mlir:[[@LINE+20]]:12: error: 'mx.sort' has no lowering for dynamic dims
// CHECK-NOT: Traceback
func.func @main(%x: tensor<?x?xf32>, %y: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "mx.broadcast_to"(%y, %x) {shape = array<i64: -1, -1>} : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "mx.add"(%x, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}
func.func @mm(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
func.func @fixed(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  return %x : tensor<?x3xf32>
}
// the broadcast operand's dynamic dim is copied by the compiled code, so it must be 4 here
func.func @bc(%x: tensor<?xf32>) -> tensor<4xf32> {
  %0 = "mx.broadcast_to"(%x) {shape = array<i64: 4>} : (tensor<?xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func @sorted(%x: tensor<?xf32>) -> tensor<?xf32> {
  %1, %2 = "mx.sort"(%x) {axis = 0 : i64} : (tensor<?xf32>) -> (tensor<?xf32>, tensor<?xui32>)
  return %1 : tensor<?xf32>
}
