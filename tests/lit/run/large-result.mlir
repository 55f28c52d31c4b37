// More than 100 elements: still printed element by element (MLIR would print a hex blob).
// RUN: mxir-run %s | FileCheck %s
// RUN: mxir-run %s --device reference | FileCheck %s
// CHECK: dense<{{\[\[}}0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [15, 16,
// CHECK-SAME: [135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149]]> : tensor<10x15xi32>
// CHECK-NOT: 0x
func.func @main() -> tensor<10x15xi32> {
  %0 = "mx.arange"() {start = 0.0, step = 1.0, shape = array<i64: 150>, dtype = i32} : () -> tensor<150xi32>
  %1 = "mx.reshape"(%0) {shape = array<i64: 10, 15>} : (tensor<150xi32>) -> tensor<10x15xi32>
  return %1 : tensor<10x15xi32>
}
