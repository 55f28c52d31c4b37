// Bad arguments are errors with exit status 1, never a traceback.
// RUN: not mxir-run %s "dense<1.0> : tensor<2xf32>" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not mxir-run %s "dense<1.0> : tensor<2xf32>" "dense<1> : tensor<2xi32>" 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not mxir-run %s "dense<1.0> : tensor<2xf32>" "dense<[1.0" 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not mxir-run %s "dense<1.0> : tensor<2xf32>" "1.0 : f32" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not mxir-run %s --entry nope 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not mxir-run %s --device tpu 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not mxir-run %S/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING

// COUNT: mxir-run: error: @main takes 2 argument(s), got 1
// TYPE: mxir-run: error: argument 2 of @main must have type tensor<2xf32>, got tensor<2xi32>
// PARSE: mxir-run: error: argument 2: cannot parse 'dense<[1.0'
// KIND: mxir-run: error: argument 2: expected a dense literal
// ENTRY: mxir-run: error: no function named @nope in the module
// DEVICE: mxir-run: error: argument --device: invalid choice: 'tpu'
// MISSING: mxir-run: error: cannot open input file '{{.*}}does-not-exist.mlir': No such file or directory
// CHECK-NOT: Traceback

func.func @main(%x: tensor<2xf32>, %y: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "mx.add"(%x, %y) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
