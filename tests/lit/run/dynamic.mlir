// Entry functions with dynamic dims (`?`, from shapeless compile) run any argument shapes that
// fit their types: the cpu device compiles the dynamic program once and sizes the outputs from
// the arguments' shapes; the reference interpreter fills the dims in op by op.

// A broadcast whose dynamic sizes come from another operand, a product and a row sum.
// RUN: mxir-run %s "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<[10.0, 1.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=ROWS
// RUN: mxir-run %s --device reference "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<[10.0, 1.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=ROWS
// RUN: mxir-run %s "dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>" "dense<[10.0, 1.0, 2.0]> : tensor<3xf32>" | FileCheck %s --check-prefix=ROW
// RUN: mxir-run %s --device reference "dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>" "dense<[10.0, 1.0, 2.0]> : tensor<3xf32>" | FileCheck %s --check-prefix=ROW
// RUN: mxir-run %s "dense<1.0> : tensor<0x2xf32>" "dense<[10.0, 1.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=EMPTY
// RUN: mxir-run %s --device reference "dense<1.0> : tensor<0x2xf32>" "dense<[10.0, 1.0]> : tensor<2xf32>" | FileCheck %s --check-prefix=EMPTY
// ROWS: dense<[1.200000e+01, 3.400000e+01, 5.600000e+01]> : tensor<3xf32>
// ROW: dense<1.800000e+01> : tensor<1xf32>
// EMPTY: dense<> : tensor<0xf32>
func.func @main(%x: tensor<?x?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %0 = "mx.broadcast_to"(%b, %x) {shape = array<i64: -1, -1>} : (tensor<?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %1 = "mx.multiply"(%x, %0) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %2 = "mx.sum"(%1) {axes = array<i64: 1>, keepdims = false} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %2 : tensor<?xf32>
}

// A reshape adding a unit dim, another dropping two; a dynamic dim that is 1 at run time.
// RUN: mxir-run %s --entry units "dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>" | FileCheck %s --check-prefix=UNITS2
// RUN: mxir-run %s --entry units --device reference "dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>" | FileCheck %s --check-prefix=UNITS2
// RUN: mxir-run %s --entry units "dense<[[7, 8, 9]]> : tensor<1x3xi32>" | FileCheck %s --check-prefix=UNITS1
// RUN: mxir-run %s --entry units --device reference "dense<[[7, 8, 9]]> : tensor<1x3xi32>" | FileCheck %s --check-prefix=UNITS1
// UNITS2: dense<{{\[\[\[}}1, 2, 3]], {{\[\[}}4, 5, 6]]]> : tensor<2x1x3xi32>
// UNITS2-NEXT: dense<[3, 6]> : tensor<2xi32>
// UNITS1: dense<{{\[\[\[}}7, 8, 9]]]> : tensor<1x1x3xi32>
// UNITS1-NEXT: dense<9> : tensor<1xi32>
func.func @units(%x: tensor<?x3xi32>) -> (tensor<?x1x3xi32>, tensor<?xi32>) {
  %0 = "mx.reshape"(%x) {shape = array<i64: -1, 1, 3>} : (tensor<?x3xi32>) -> tensor<?x1x3xi32>
  %1 = "mx.max"(%0) {axes = array<i64: 2>, keepdims = true} : (tensor<?x1x3xi32>) -> tensor<?x1x1xi32>
  %2 = "mx.reshape"(%1) {shape = array<i64: -1>} : (tensor<?x1x1xi32>) -> tensor<?xi32>
  return %0, %2 : tensor<?x1x3xi32>, tensor<?xi32>
}

// A transpose of two dynamic dims and a static one.
// RUN: mxir-run %s --entry tr "dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]> : tensor<1x3x2xf32>" | FileCheck %s --check-prefix=TR
// RUN: mxir-run %s --entry tr --device reference "dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]> : tensor<1x3x2xf32>" | FileCheck %s --check-prefix=TR
// TR: dense<{{\[\[\[}}1.000000e+00, 3.000000e+00, 5.000000e+00]], {{\[\[}}2.000000e+00, 4.000000e+00, 6.000000e+00]]]> : tensor<2x1x3xf32>
func.func @tr(%x: tensor<?x?x2xf32>) -> tensor<2x?x?xf32> {
  %0 = "mx.transpose"(%x) {perm = array<i64: 2, 0, 1>} : (tensor<?x?x2xf32>) -> tensor<2x?x?xf32>
  return %0 : tensor<2x?x?xf32>
}

// A matmul of dynamic matrices, at two shapes.
// RUN: mxir-run %s --entry mm "dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>" "dense<[[1.0], [0.0], [2.0]]> : tensor<3x1xf32>" | FileCheck %s --check-prefix=MM
// RUN: mxir-run %s --entry mm --device reference "dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>" "dense<[[1.0], [0.0], [2.0]]> : tensor<3x1xf32>" | FileCheck %s --check-prefix=MM
// RUN: mxir-run %s --entry mm "dense<[[2.0]]> : tensor<1x1xf32>" "dense<[[1.0, -1.0, 0.5, 4.0]]> : tensor<1x4xf32>" | FileCheck %s --check-prefix=MM14
// RUN: mxir-run %s --entry mm --device reference "dense<[[2.0]]> : tensor<1x1xf32>" "dense<[[1.0, -1.0, 0.5, 4.0]]> : tensor<1x4xf32>" | FileCheck %s --check-prefix=MM14
// MM: dense<{{\[\[}}7.000000e+00], [1.600000e+01]]> : tensor<2x1xf32>
// MM14: dense<{{\[\[}}2.000000e+00, -2.000000e+00, 1.000000e+00, 8.000000e+00]]> : tensor<1x4xf32>
func.func @mm(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = "mx.matmul"(%a, %b) : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// Half types keep their storage through the dynamic path.
// RUN: mxir-run %s --entry half "dense<[1.5, -2.0, 0.25]> : tensor<3xbf16>" | FileCheck %s --check-prefix=HALF
// RUN: mxir-run %s --entry half --device reference "dense<[1.5, -2.0, 0.25]> : tensor<3xbf16>" | FileCheck %s --check-prefix=HALF
// HALF: dense<[3.000000e+00, -4.000000e+00, 5.000000e-01]> : tensor<3xbf16>
func.func @half(%x: tensor<?xbf16>) -> tensor<?xbf16> {
  %0 = "mx.add"(%x, %x) : (tensor<?xbf16>, tensor<?xbf16>) -> tensor<?xbf16>
  return %0 : tensor<?xbf16>
}
