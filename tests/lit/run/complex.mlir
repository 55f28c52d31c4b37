// RUN: mxir-run %s --entry main "dense<[0.0, 1.0, -1.0]> : tensor<3xf32>" "dense<[0.0, 3.14159274, 0.5]> : tensor<3xf32>" | FileCheck %s
// RUN: mxir-run %s --device reference "dense<[0.0, 1.0, -1.0]> : tensor<3xf32>" "dense<[0.0, 3.14159274, 0.5]> : tensor<3xf32>" | FileCheck %s

// z = x + i y built from a complex constant (its float32 (re, im) pairs, encoding "complex64":
// the Python bindings cannot hold complex dense attributes); exp(z) = e^x (cos y + i sin y).
// CHECK: dense<[1.000000e+00, -2.71828175, 0.32284{{[0-9]*}}]> : tensor<3xf32>
// CHECK-NEXT: dense<[0.000000e+00, {{[-0-9.eE+]+}}, 0.176370{{[0-9]*}}]> : tensor<3xf32>
// CHECK-NEXT: dense<[0.000000e+00, 3.29690{{[0-9]*}}, 1.11803{{[0-9]*}}]> : tensor<3xf32>
// CHECK-NOT: dense

func.func @main(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %i = "mx.constant"() {value = dense<[[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]> : tensor<3x2xf32, "complex64">} : () -> tensor<3xcomplex<f32>>
  %cx = "mx.astype"(%x) {dtype = complex<f32>} : (tensor<3xf32>) -> tensor<3xcomplex<f32>>
  %cy = "mx.astype"(%y) {dtype = complex<f32>} : (tensor<3xf32>) -> tensor<3xcomplex<f32>>
  %iy = "mx.multiply"(%cy, %i) : (tensor<3xcomplex<f32>>, tensor<3xcomplex<f32>>) -> tensor<3xcomplex<f32>>
  %z = "mx.add"(%cx, %iy) : (tensor<3xcomplex<f32>>, tensor<3xcomplex<f32>>) -> tensor<3xcomplex<f32>>
  %e = "mx.exp"(%z) : (tensor<3xcomplex<f32>>) -> tensor<3xcomplex<f32>>
  %re = "mx.real"(%e) : (tensor<3xcomplex<f32>>) -> tensor<3xf32>
  %im = "mx.imag"(%e) : (tensor<3xcomplex<f32>>) -> tensor<3xf32>
  %a = "mx.abs"(%z) : (tensor<3xcomplex<f32>>) -> tensor<3xf32>
  return %re, %im, %a : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}
