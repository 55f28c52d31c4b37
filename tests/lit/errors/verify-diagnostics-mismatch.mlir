// --verify-diagnostics fails on an expectation that is not produced and on an unexpected error.
// RUN: not mxir-opt %s --split-input-file --verify-diagnostics 2>&1 | FileCheck %s

// CHECK: verify-diagnostics-mismatch.mlir:[[@LINE+4]]:8: error: unexpected error: {{.*}}Shapes (3) and (4) cannot be broadcast
// CHECK: verify-diagnostics-mismatch.mlir:[[@LINE+2]]:6: error: expected error "no such message" was not produced
func.func @bad(%x: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{no such message}}
  %0 = "mx.broadcast_to"(%x) {shape = array<i64: 4>} : (tensor<3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:[[@LINE+2]]:6: error: expected error "sin of nothing" was not produced
func.func @ok(%x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{sin of nothing}}
  %0 = "mx.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
