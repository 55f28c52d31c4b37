// An attribute of the wrong kind on a registered op trips an assertion inside MLIR 22's parser;
// the tool survives (the work runs in a child process) and reports an error.
// RUN: not mxir-opt %s 2>&1 | FileCheck %s
// CHECK: native-abort.mlir:[[@LINE+1]]:1: error: MLIR crashed (SIGABRT) while processing this input
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %0 = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = true
  return %0 : tensor<3x2xf32>
}
