// LAPACK-backed mx.linalg ops: mx-to-linalg calls mxir_lapack_<routine>, cpu-lapack defines it
// with OpenBLAS's LAPACKE (ILP64 NumPy copy or the LP64 wheel), the JIT runs it; the GPU
// pipeline refuses the op at its location.
// RUN: mxir-opt %s --mx-to-linalg | FileCheck %s --check-prefix=LOWER
// RUN: env MXIR_BLAS=wheel mxir-opt %s --mx-to-linalg --cpu-lapack | FileCheck %s --check-prefix=WHEEL
// RUN: mxir-run %s --entry inverse "dense<[[2.0, 0.0], [1.0, 4.0]]> : tensor<2x2xf32>" | FileCheck %s --check-prefix=INV
// RUN: mxir-run %s --entry inverse --device reference "dense<[[2.0, 0.0], [1.0, 4.0]]> : tensor<2x2xf32>" | FileCheck %s --check-prefix=INV
// RUN: env MXIR_BLAS=wheel mxir-run %s --entry inverse "dense<[[2.0, 0.0], [1.0, 4.0]]> : tensor<2x2xf32>" | FileCheck %s --check-prefix=INV
// RUN: mxir-run %s --entry chol "dense<[[4.0, 2.0], [2.0, 5.0]]> : tensor<2x2xf64>" | FileCheck %s --check-prefix=CHOL
// RUN: not mxir-opt %s --mx-to-gpu 2>&1 | FileCheck %s --check-prefix=GPU

// LOWER: func.func private @mxir_lapack_sgetrf(i32, i64, i64, !llvm.ptr, i64, !llvm.ptr) -> i64
// LOWER: call @mxir_lapack_sgetri
// WHEEL: func.func private @scipy_LAPACKE_sgetrf(i32, i32, i32, !llvm.ptr, i32, !llvm.ptr) -> i32
// WHEEL: func.func private @mxir_lapack_sgetrf(
// WHEEL: call @scipy_LAPACKE_sgetrf
// INV: dense<{{\[\[}}5.000000e-01, {{-?}}0.000000e+00], [-1.250000e-01, 2.500000e-01]]> : tensor<2x2xf32>
// CHOL: dense<{{\[\[}}2.000000e+00, 0.000000e+00], [1.000000e+00, 2.000000e+00]]> : tensor<2x2xf64>
// GPU: linalg.mlir:[[@LINE+3]]:8: error: mx.linalg ops run on the CPU only (LAPACK), as in MLX
// CHECK-NOT: Traceback
func.func @inverse(%a: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = "mx.inv"(%a) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
func.func @chol(%a: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %0 = "mx.cholesky"(%a) {upper = false} : (tensor<2x2xf64>) -> tensor<2x2xf64>
  return %0 : tensor<2x2xf64>
}
