// RUN: mxir-run %s "dense<[1.5, -2.0]> : tensor<2xbf16>" "dense<[0.25, 3.0]> : tensor<2xf16>" | FileCheck %s
// RUN: mxir-run %s --device reference "dense<[1.5, -2.0]> : tensor<2xbf16>" "dense<[0.25, 3.0]> : tensor<2xf16>" | FileCheck %s
// CHECK: dense<[3.000000e+00, -4.000000e+00]> : tensor<2xbf16>
// CHECK-NEXT: dense<[2.500000e-01, 1.000000e+00]> : tensor<2xf16>
func.func @main(%x: tensor<2xbf16>, %y: tensor<2xf16>) -> (tensor<2xbf16>, tensor<2xf16>) {
  %0 = "mx.add"(%x, %x) : (tensor<2xbf16>, tensor<2xbf16>) -> tensor<2xbf16>
  %c = "mx.constant"() {value = dense<[1.0, 3.0]> : tensor<2xf16>} : () -> tensor<2xf16>
  %1 = "mx.divide"(%y, %c) : (tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
  return %0, %1 : tensor<2xbf16>, tensor<2xf16>
}
