// What the translation refuses, with the location of the offending op (exit status 1, no
// traceback). Each case is its own file (split-file keeps the line numbers).
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: not mxir-translate --gpu-to-msl %t/cf.mlir 2>&1 | FileCheck %s --check-prefix=CF
// RUN: not mxir-translate --gpu-to-msl %t/f64.mlir 2>&1 | FileCheck %s --check-prefix=F64
// RUN: not mxir-translate --gpu-to-msl %t/vector.mlir 2>&1 | FileCheck %s --check-prefix=VECTOR
// RUN: not mxir-translate --gpu-to-msl %t/affine.mlir 2>&1 | FileCheck %s --check-prefix=AFFINE
// RUN: not mxir-translate --gpu-to-msl %t/dynamic-stride.mlir 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: not mxir-translate --gpu-to-msl %t/device-func.mlir 2>&1 | FileCheck %s --check-prefix=FUNC
// RUN: not mxir-translate --gpu-to-msl %t/index-range.mlir 2>&1 | FileCheck %s --check-prefix=INDEX
// RUN: not mxir-translate --gpu-to-msl %t/cluster.mlir 2>&1 | FileCheck %s --check-prefix=CLUSTER
// RUN: not mxir-translate --gpu-to-msl %t/atomic.mlir 2>&1 | FileCheck %s --check-prefix=ATOMIC
// RUN: not mxir-translate --gpu-to-msl %t/no-gpu.mlir 2>&1 | FileCheck %s --check-prefix=NONE
// CF-NOT: Traceback
// NONE: mxir-translate: error: no gpu.module in the input

//--- cf.mlir
gpu.module @m {
  // CF: cf.mlir:[[@LINE+1]]:3: error: gpu.func with several blocks (unstructured control flow) cannot be translated to MSL, which has no goto: translate before convert-scf-to-cf
  gpu.func @k(%a: memref<4xf32>, %c: i1) kernel {
    cf.cond_br %c, ^bb1, ^bb2
  ^bb1:
    gpu.return
  ^bb2:
    gpu.return
  }
}

//--- f64.mlir
gpu.module @m {
  gpu.func @k(%a: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %x = memref.load %a[%c0] : memref<4xf32>
    // F64: f64.mlir:[[@LINE+1]]:10: error: f64 is not supported by Metal (no double precision); use f32 on the GPU
    %y = arith.extf %x : f32 to f64
    gpu.return
  }
}

//--- vector.mlir
gpu.module @m {
  gpu.func @k(%a: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %x = memref.load %a[%c0] : memref<4xf32>
    // VECTOR: vector.mlir:[[@LINE+1]]:10: error: 'vector.broadcast' is not supported by the MSL translation (vector ops are not translated; do not vectorize GPU kernels)
    %v = vector.broadcast %x : f32 to vector<4xf32>
    gpu.return
  }
}

//--- affine.mlir
gpu.module @m {
  gpu.func @k(%a: memref<64xf32>) kernel {
    %t = gpu.thread_id x
    // AFFINE: affine.mlir:[[@LINE+1]]:10: error: 'affine.apply' is not supported by the MSL translation (run lower-affine before the translation)
    %i = affine.apply affine_map<(d0) -> (d0 * 2)>(%t)
    %x = memref.load %a[%i] : memref<64xf32>
    memref.store %x, %a[%t] : memref<64xf32>
    gpu.return
  }
}

//--- dynamic-stride.mlir
gpu.module @m {
  // DYN: dynamic-stride.mlir:[[@LINE+1]]:3: error: memref type 'memref<?x?xf32>' has a dynamic stride or offset; the MSL translation needs static layouts
  gpu.func @k(%a: memref<?x?xf32>) kernel {
    gpu.return
  }
}

//--- device-func.mlir
gpu.module @m {
  // FUNC: device-func.mlir:[[@LINE+1]]:3: error: device function @helper is not a kernel: the MSL translation handles kernels only (inline calls first)
  gpu.func @helper(%x: f32) {
    gpu.return
  }
}

//--- index-range.mlir
gpu.module @m {
  gpu.func @k(%a: memref<4xf32>) kernel {
    // INDEX: index-range.mlir:[[@LINE+1]]:10: error: index constant 8589934592 does not fit the 32-bit index of Metal kernels
    %c = arith.constant 8589934592 : index
    %x = memref.load %a[%c] : memref<4xf32>
    memref.store %x, %a[%c] : memref<4xf32>
    gpu.return
  }
}

//--- cluster.mlir
gpu.module @m {
  gpu.func @k(%a: memref<64xf32>) kernel {
    %t = gpu.thread_id x
    %x = memref.load %a[%t] : memref<64xf32>
    // CLUSTER: cluster.mlir:[[@LINE+1]]:10: error: 'gpu.subgroup_reduce' is not supported by the MSL translation: clustered reductions
    %s = gpu.subgroup_reduce add %x cluster(size = 4) : (f32) -> f32
    memref.store %s, %a[%t] : memref<64xf32>
    gpu.return
  }
}

//--- atomic.mlir
gpu.module @m {
  gpu.func @k(%a: memref<64xf16>, %v: f16) kernel {
    %t = gpu.thread_id x
    // ATOMIC: atomic.mlir:[[@LINE+1]]:10: error: 'memref.atomic_rmw' is not supported by the MSL translation: atomic 'addf' on f16 (Metal has atomics on 32-bit int/uint, and add/exchange on float)
    %o = memref.atomic_rmw addf %v, %a[%t] : (f16, memref<64xf16>) -> f16
    gpu.return
  }
}

//--- no-gpu.mlir
func.func @f() {
  return
}
