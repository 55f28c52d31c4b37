// The issue's form of mx.vmap: in_axes per argument, an i64 or unit (unmapped).
// RUN: mxir-opt %s --mx-vmap | mxir-run - --entry main "dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>" "dense<[[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]]> : tensor<4x2xf32>" | FileCheck %s
// RUN: mxir-opt %s --mx-vmap | FileCheck %s --check-prefix=IR

func.func private @g(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "mx.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
// row i of A plus column i of B
// CHECK: dense<{{\[\[}}1.100000e+01, 3.200000e+01, 5.300000e+01, 7.400000e+01], [2.500000e+01, 4.600000e+01, 6.700000e+01, 8.800000e+01]]> : tensor<2x4xf32>
// IR-LABEL: func.func @main
// IR-NOT: mx.vmap
// IR: "mx.transpose"(%arg1) {perm = array<i64: 1, 0>}
// IR: "mx.add"
func.func @main(%A: tensor<2x4xf32>, %B: tensor<4x2xf32>) -> tensor<2x4xf32> {
  %r = "mx.vmap"(%A, %B) {callee = @g, in_axes = [0 : i64, 1 : i64], out_axes = [0 : i64]} : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
