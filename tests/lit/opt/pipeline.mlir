// Our passes splice with upstream ones, on the command line and in --pass-pipeline.
// RUN: mxir-opt %s --mx-to-linalg --canonicalize --cse | FileCheck %s --check-prefix=FLAGS
// RUN: mxir-opt %s --pass-pipeline='builtin.module(mx-verify,mx-to-linalg,func.func(canonicalize),cse)' | FileCheck %s --check-prefix=FLAGS
// RUN: mxir-opt %s --mx-to-linalg --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=DUMP
// RUN: mxir-opt %s --mx-to-linalg --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops | FileCheck %s --check-prefix=LOOPS
// RUN: cat %s | mxir-opt - --mx-to-cpu | FileCheck %s --check-prefix=CPU
// RUN: not mxir-opt %s --no-such-pass 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not mxir-opt %s --canonicalize=no-such-option=1 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not mxir-opt %s --pass-pipeline='builtin.module(mx-to-linalg{x=1})' 2>&1 | FileCheck %s --check-prefix=OURSOPT
// RUN: mxir-opt --help | FileCheck %s --check-prefix=HELP

// FLAGS-LABEL: func.func @main
// FLAGS-NOT: mx.
// FLAGS: math.sin
// FLAGS: arith.mulf
// FLAGS-NOT: mx.

// DUMP: // -----// IR Dump After mx-to-linalg //----- //
// DUMP: linalg.generic

// LOOPS: scf.for
// LOOPS: math.sin

// CPU: llvm.func @_mlir_ciface_main
// CPU-NOT: mx.

// UNKNOWN: mxir-opt: error: --no-such-pass: 'no-such-pass' does not refer to a registered pass or pass pipeline
// BADOPT: mxir-opt: error: --canonicalize=no-such-option=1: {{.*}}no such option no-such-option
// OURSOPT: mxir-opt: error: 'mx-to-linalg' takes no options

// HELP: usage: mxir-opt
// HELP: mx passes:
// HELP: --mx-to-linalg
// HELP: mx pipelines:
// HELP: --mx-to-cpu

func.func @main(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = "mx.sin"(%x) : (tensor<8xf32>) -> tensor<8xf32>
  %1 = "mx.multiply"(%0, %x) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %1 : tensor<8xf32>
}
