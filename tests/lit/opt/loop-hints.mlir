// mx-cpu-loop-hints: scalar loops whose body branches or calls are kept from LLVM's loop
// vectorizer (exponential compile time on deep uniform chains, DESIGN.md "Crash isolation");
// mx-cpu-loop-hints-to-llvm makes the hint the llvm.br's own loop_annotation. A max/min
// combiner that mx-cpu-codegen marked `mx.exact_minmax` (a reduction of dynamic length) becomes
// LLVM's intrinsic, which arith-expand leaves for LLVM's vectoriser; unmarked ones stay.
// RUN: mxir-opt %s --mx-cpu-loop-hints | FileCheck %s
// RUN: mxir-opt %s --mx-cpu-loop-hints --convert-scf-to-cf --convert-to-llvm --mx-cpu-loop-hints-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @calls
// CHECK: scf.for
// CHECK: } {llvm.loop_annotation = #{{.*}}}
// CHECK-LABEL: func.func @plain
// CHECK-NOT: loop_annotation
// CHECK: return
// CHECK-LABEL: func.func @row_max
// CHECK: llvm.intr.maximum(%{{.*}}, %{{.*}}) : (f32, f32) -> f32
// CHECK: llvm.intr.minimum(%{{.*}}, %{{.*}}) : (f32, f32) -> f32
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: mx.exact_minmax
// LLVM: #loop_vectorize = #llvm.loop_vectorize<disable = true>
// LLVM: #loop_annotation = #llvm.loop_annotation<vectorize = #loop_vectorize, interleave = #loop_interleave>
// LLVM-LABEL: llvm.func @calls
// LLVM: llvm.br ^{{.*}} {loop_annotation = #loop_annotation}
func.func private @g(f32) -> f32

func.func @calls(%m: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    %w = func.call @g(%v) : (f32) -> f32
    memref.store %w, %m[%i] : memref<8xf32>
  }
  return
}

func.func @plain(%m: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %m[%i] : memref<8xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %m[%i] : memref<8xf32>
  }
  return
}

func.func @row_max(%m: memref<?xf32>, %a: memref<f32>, %b: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %m, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %m[%i] : memref<?xf32>
    %acc = memref.load %a[] : memref<f32>
    %mx = arith.maximumf %v, %acc {mx.exact_minmax} : f32
    memref.store %mx, %a[] : memref<f32>
    %low = memref.load %b[] : memref<f32>
    %mn = arith.minimumf %v, %low {mx.exact_minmax} : f32
    %plain = arith.maximumf %mn, %v : f32
    memref.store %plain, %b[] : memref<f32>
  }
  return
}
