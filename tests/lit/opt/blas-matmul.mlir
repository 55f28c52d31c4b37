// cpu-blas-matmul: f32/f64 matmuls on memrefs become CBLAS gemm calls; the transpose that feeds
// the matmul is folded into its indexing maps by mx-to-linalg and becomes a transpose flag.
// RUN: env MXIR_BLAS=wheel mxir-opt %s --mx-to-linalg --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --cpu-blas-matmul | FileCheck %s
// RUN: env MXIR_BLAS=none mxir-opt %s --mx-to-linalg --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --cpu-blas-matmul | FileCheck %s --check-prefix=NONE
// RUN: mxir-run %s --entry at_b "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<[[1.0], [0.0], [2.0]]> : tensor<3x1xf32>" | FileCheck %s --check-prefix=OUT
// RUN: env MXIR_BLAS=none mxir-run %s --entry at_b "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<[[1.0], [0.0], [2.0]]> : tensor<3x1xf32>" | FileCheck %s --check-prefix=OUT

// CHECK: module attributes {mxir.shared_libs = ["{{.*}}libscipy_openblas{{.*}}"]}
// CHECK: func.func private @scipy_cblas_sgemm(i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32)
// CHECK-LABEL: func.func @at_b
// CHECK-DAG: %[[TRANS:.*]] = arith.constant 112 : i32
// CHECK-DAG: %[[NOTRANS:.*]] = arith.constant 111 : i32
// CHECK-NOT: linalg.transpose
// CHECK: call @scipy_cblas_sgemm(%{{.*}}, %[[TRANS]], %[[NOTRANS]],
// CHECK-NOT: linalg.matmul

// NONE-NOT: scipy_cblas
// NONE: linalg.matmul indexing_maps

// OUT: dense<{{\[\[}}1.100000e+01], [1.400000e+01]]> : tensor<2x1xf32>

func.func @at_b(%a: tensor<3x2xf32>, %b: tensor<3x1xf32>) -> tensor<2x1xf32> {
  %t = "mx.transpose"(%a) {perm = array<i64: 1, 0>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %0 = "mx.matmul"(%t, %b) : (tensor<2x3xf32>, tensor<3x1xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}
