// mx-cpu-host: every LLVM function states the host's vector width (MXIR_VECTOR_BITS sets it).
// RUN: env MXIR_VECTOR_BITS=256 mxir-opt %s --mx-to-cpu | FileCheck %s --check-prefix=AVX2
// RUN: env MXIR_VECTOR_BITS=512 mxir-opt %s --mx-to-cpu | FileCheck %s --check-prefix=AVX512

// AVX2: llvm.func @main
// AVX2-SAME: passthrough = [
// AVX2-SAME: ["prefer-vector-width", "256"], ["min-legal-vector-width", "256"]
// AVX512: llvm.func @main
// AVX512-SAME: ["prefer-vector-width", "512"], ["min-legal-vector-width", "512"]
func.func @main(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = "mx.sin"(%x) : (tensor<8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
