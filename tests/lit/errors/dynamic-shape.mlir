// An op whose lowering needs static shapes says so at its location (shapeless compile then
// compiles per shape); ops with dynamic lowerings pass.
// RUN: not mxir-opt %s --mx-to-linalg 2>&1 | FileCheck %s
func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "mx.sin"(%x) : (tensor<?xf32>) -> tensor<?xf32>
  // CHECK: dynamic-shape.mlir:[[@LINE+1]]:12: error: 'mx.sort' has no lowering for dynamic dims
  %1, %2 = "mx.sort"(%0) {axis = 0 : i64} : (tensor<?xf32>) -> (tensor<?xf32>, tensor<?xui32>)
  return %1 : tensor<?xf32>
}
