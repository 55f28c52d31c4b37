// mx-simplify's algebraic identities: an operand that is the op's unit is dropped. A float
// zero's sign counts: x + (-0.0) and x - (+0.0) are x for every x; x + (+0.0) and x - (-0.0)
// are +0.0 for x = -0.0, so they stay.
// RUN: mxir-opt %s --split-input-file --mx-simplify | FileCheck %s

// CHECK-LABEL: func.func @add_negative_zero
// CHECK-NOT: mx.add
// CHECK: return %arg0
func.func @add_negative_zero(%x: tensor<3xf32>) -> tensor<3xf32> {
  %z = "mx.constant"() {value = dense<-0.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %0 = "mx.add"(%z, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @add_positive_zero
// CHECK: "mx.add"(%arg0, %{{.*}})
func.func @add_positive_zero(%x: tensor<3xf32>) -> tensor<3xf32> {
  %z = "mx.constant"() {value = dense<0.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %0 = "mx.add"(%x, %z) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @subtract_zeros
// CHECK-NOT: "mx.subtract"(%arg0, %[[POS:.*]])
// CHECK: %[[D:.*]] = "mx.subtract"(%arg0, %{{.*}})
// CHECK: return %arg0, %[[D]]
func.func @subtract_zeros(%x: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>) {
  %p = "mx.constant"() {value = dense<0.0> : tensor<3xf64>} : () -> tensor<3xf64>
  %n = "mx.constant"() {value = dense<-0.0> : tensor<3xf64>} : () -> tensor<3xf64>
  %0 = "mx.subtract"(%x, %p) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %1 = "mx.subtract"(%x, %n) : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  return %0, %1 : tensor<3xf64>, tensor<3xf64>
}

// -----

// Integers have one zero; a multiply by one is exact for every float.
// CHECK-LABEL: func.func @integer_zero_and_float_one
// CHECK-NOT: mx.add
// CHECK-NOT: mx.multiply
// CHECK: return %arg0, %arg1
func.func @integer_zero_and_float_one(%i: tensor<3xi32>, %x: tensor<3xf32>)
    -> (tensor<3xi32>, tensor<3xf32>) {
  %z = "mx.constant"() {value = dense<0> : tensor<3xi32>} : () -> tensor<3xi32>
  %one = "mx.constant"() {value = dense<1.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %0 = "mx.add"(%i, %z) : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  %1 = "mx.multiply"(%one, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0, %1 : tensor<3xi32>, tensor<3xf32>
}
