// The input is read as bytes: a byte that is not UTF-8 is an error at its line and column.
// RUN: %python -c "import sys; sys.stdout.buffer.write(b'func.func @f() {\n  // caf\xe9\n  return\n}\n')" > %t.mlir
// RUN: not mxir-opt %t.mlir 2>&1 | FileCheck %s
// RUN: not mxir-opt - < %t.mlir 2>&1 | FileCheck %s --check-prefix=STDIN
// CHECK: .mlir:2:9: error: invalid UTF-8 byte 0xe9 in input
// CHECK-NOT: Traceback
// STDIN: <stdin>:2:9: error: invalid UTF-8 byte 0xe9 in input
