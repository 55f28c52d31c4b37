// 4,000 nested regions overflow MLIR's parser stack: refused before parsing.
// RUN: %python -c "n = 4000; print('func.func @f() {\n' + '\"mx.m\"() ({\n' * n + '}) : () -> ()\n' * n + 'return\n}')" > %t.mlir
// RUN: not mxir-opt %t.mlir 2>&1 | FileCheck %s
// CHECK: .mlir:{{[0-9]+}}:{{[0-9]+}}: error: nesting deeper than 1000 levels is not supported
// CHECK-NOT: Traceback
