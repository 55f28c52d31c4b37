// RUN: mxir-run %s --entry main "dense<[1.0, 2.0, -3.5]> : tensor<3xf32>" "dense<[0.5, 4.0, 2.0]> : tensor<3xf32>" | FileCheck %s
// RUN: mxir-run %s --device reference "dense<[1.0, 2.0, -3.5]> : tensor<3xf32>" "dense<[0.5, 4.0, 2.0]> : tensor<3xf32>" | FileCheck %s

// One line per result, as MLIR dense literals with their types.
// CHECK: dense<[1.500000e+00, 6.000000e+00, -1.500000e+00]> : tensor<3xf32>
// CHECK-NEXT: dense<[5.000000e-01, 8.000000e+00, -7.000000e+00]> : tensor<3xf32>
// CHECK-NEXT: dense<[false, true, true]> : tensor<3xi1>
// CHECK-NOT: dense

func.func @main(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xi1>) {
  %0 = "mx.add"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "mx.multiply"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %2 = "mx.less"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  return %0, %1, %2 : tensor<3xf32>, tensor<3xf32>, tensor<3xi1>
}
