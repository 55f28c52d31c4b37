// RUN: mxir-run %s --entry rowsum "dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>" | FileCheck %s --check-prefix=SUM
// RUN: mxir-run %s --entry rowsum --device reference "dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>" | FileCheck %s --check-prefix=SUM
// RUN: mxir-run %s --entry mm "dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>" "dense<[[0.5, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>" | FileCheck %s --check-prefix=MM
// RUN: mxir-run %s --entry mm --device reference "dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>" "dense<[[0.5, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>" | FileCheck %s --check-prefix=MM
// RUN: mxir-run %s --entry total "dense<2.5> : tensor<4xf32>" | FileCheck %s --check-prefix=TOTAL

// SUM: dense<[6, 15]> : tensor<2xi32>
// MM: dense<{{\[\[}}5.000000e-01, 4.000000e+00], [1.500000e+00, 8.000000e+00]]> : tensor<2x2xf32>
// TOTAL: dense<1.000000e+01> : tensor<f32>

func.func @rowsum(%x: tensor<2x3xi32>) -> tensor<2xi32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}
func.func @mm(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
func.func @total(%x: tensor<4xf32>) -> tensor<f32> {
  %0 = "mx.sum"(%x) {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
