// Integer arith: signless integers keep their signed C type; where MLIR wraps (no nsw) the
// operation runs in the unsigned type; unsigned predicates and divisions view operands as
// unsigned; `index` is uint, viewed as int by signed operations.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK-LABEL: kernel void ints(
// CHECK-SAME:  const device int* arg0
// CHECK:       device bool* arg6
// CHECK-NEXT:  device uint* arg7
// CHECK:      int v0 = arg0[tid.x];
// CHECK-NEXT: long v1 = arg1[tid.x];
// CHECK-NEXT: char v2 = arg2[tid.x];
// CHECK-NEXT: int v3 = int(uint(v0) + 3u);
// CHECK-NEXT: int v4 = v0 * v0;
// CHECK-NEXT: int v5 = int(uint(v0) - 2147483648u);
// CHECK-NEXT: int v6 = v0 / 3;
// CHECK-NEXT: int v7 = int(uint(v0) / 3u);
// CHECK-NEXT: int v8 = v0 % 3;
// CHECK-NEXT: int v9 = int(uint(v0) % 3u);
// CHECK-NEXT: int v10 = int(v0 / 3 + (((v0 % 3) != 0 && ((v0 < 0) == (3 < 0))) ? 1 : 0));
// CHECK-NEXT: int v11 = int(v0 / 3 - (((v0 % 3) != 0 && ((v0 < 0) != (3 < 0))) ? 1 : 0));
// CHECK-NEXT: int v12 = int(uint(v0) / 3u + (uint(v0) % 3u != 0u ? 1u : 0u));
// CHECK-NEXT: int v13 = v0 & 3;
// CHECK-NEXT: int v14 = v0 | 3;
// CHECK-NEXT: int v15 = v0 ^ 3;
// CHECK-NEXT: int v16 = int(uint(v0) << 3u);
// CHECK-NEXT: int v17 = v0 >> 3u;
// CHECK-NEXT: int v18 = int(uint(v0) >> 3u);
// CHECK-NEXT: int v19 = metal::max(v0, 3);
// CHECK-NEXT: int v20 = metal::min(v0, 3);
// CHECK-NEXT: int v21 = int(metal::max(uint(v0), 3u));
// CHECK-NEXT: int v22 = int(metal::min(uint(v0), 3u));
// CHECK-NEXT: long v23 = long(ulong(v1) * 7uL);
// CHECK-NEXT: long v24 = v1 >> 7uL;
// CHECK-NEXT: char v25 = char(v2 + char(-5));
// CHECK-NEXT: char v26 = char(uchar(v25) >> uchar(2));
// CHECK-NEXT: bool v27 = v0 < 3;
// CHECK-NEXT: bool v28 = uint(v0) >= 3u;
// CHECK-NEXT: bool v29 = v1 == 7L;
// CHECK-NEXT: bool v30 = v27 & v28;
// CHECK-NEXT: bool v31 = v30 != v29;
// CHECK-NEXT: bool v32 = v30 && v29;
// CHECK-NEXT: uint v33 = tid.x * 4u;
// CHECK-NEXT: bool v34 = int(v33) < (-3);
// CHECK-NEXT: uint v35 = uint(int(v33) / (-3));
// CHECK-NEXT: uint v36 = v33 / 4294967293u;
// CHECK-NEXT: arg3[0u] = v3;
// CHECK:      arg7[1u] = v36;
// CHECK-NEXT: }
gpu.module @m {
  gpu.func @ints(%a: memref<16xi32>, %b: memref<16xi64>, %c: memref<16xi8>, %o: memref<32xi32>,
              %o64: memref<2xi64>, %o8: memref<1xi8>, %ob: memref<3xi1>, %oi: memref<2xindex>) kernel {
    %i = gpu.thread_id x
    %x = memref.load %a[%i] : memref<16xi32>
    %y = memref.load %b[%i] : memref<16xi64>
    %z = memref.load %c[%i] : memref<16xi8>
    %c3 = arith.constant 3 : i32
    %cmin = arith.constant -2147483648 : i32
    %0 = arith.addi %x, %c3 : i32
    %1 = arith.muli %x, %x overflow<nsw> : i32
    %2 = arith.subi %x, %cmin : i32
    %3 = arith.divsi %x, %c3 : i32
    %4 = arith.divui %x, %c3 : i32
    %5 = arith.remsi %x, %c3 : i32
    %6 = arith.remui %x, %c3 : i32
    %7 = arith.ceildivsi %x, %c3 : i32
    %8 = arith.floordivsi %x, %c3 : i32
    %9 = arith.ceildivui %x, %c3 : i32
    %10 = arith.andi %x, %c3 : i32
    %11 = arith.ori %x, %c3 : i32
    %12 = arith.xori %x, %c3 : i32
    %13 = arith.shli %x, %c3 : i32
    %14 = arith.shrsi %x, %c3 : i32
    %15 = arith.shrui %x, %c3 : i32
    %16 = arith.maxsi %x, %c3 : i32
    %17 = arith.minsi %x, %c3 : i32
    %18 = arith.maxui %x, %c3 : i32
    %19 = arith.minui %x, %c3 : i32
    %c7 = arith.constant 7 : i64
    %20 = arith.muli %y, %c7 : i64
    %21 = arith.shrsi %y, %c7 : i64
    %m5 = arith.constant -5 : i8
    %c2 = arith.constant 2 : i8
    %22 = arith.addi %z, %m5 : i8
    %23 = arith.shrui %22, %c2 : i8
    %p = arith.cmpi slt, %x, %c3 : i32
    %q = arith.cmpi uge, %x, %c3 : i32
    %r = arith.cmpi eq, %y, %c7 : i64
    %pq = arith.andi %p, %q : i1
    %s = arith.addi %pq, %r : i1
    %t = arith.muli %pq, %r : i1
    %c4 = arith.constant 4 : index
    %cm3 = arith.constant -3 : index
    %ix = arith.muli %i, %c4 : index
    %lt = arith.cmpi slt, %ix, %cm3 : index
    %d = arith.divsi %ix, %cm3 : index
    %du = arith.divui %ix, %cm3 : index
    %k0 = arith.constant 0 : index
    memref.store %0, %o[%k0] : memref<32xi32>
    %k1 = arith.constant 1 : index
    memref.store %1, %o[%k1] : memref<32xi32>
    %k2 = arith.constant 2 : index
    memref.store %2, %o[%k2] : memref<32xi32>
    %k3 = arith.constant 3 : index
    memref.store %3, %o[%k3] : memref<32xi32>
    %k4 = arith.constant 4 : index
    memref.store %4, %o[%k4] : memref<32xi32>
    %k5 = arith.constant 5 : index
    memref.store %5, %o[%k5] : memref<32xi32>
    %k6 = arith.constant 6 : index
    memref.store %6, %o[%k6] : memref<32xi32>
    %k7 = arith.constant 7 : index
    memref.store %7, %o[%k7] : memref<32xi32>
    %k8 = arith.constant 8 : index
    memref.store %8, %o[%k8] : memref<32xi32>
    %k9 = arith.constant 9 : index
    memref.store %9, %o[%k9] : memref<32xi32>
    %k10 = arith.constant 10 : index
    memref.store %10, %o[%k10] : memref<32xi32>
    %k11 = arith.constant 11 : index
    memref.store %11, %o[%k11] : memref<32xi32>
    %k12 = arith.constant 12 : index
    memref.store %12, %o[%k12] : memref<32xi32>
    %k13 = arith.constant 13 : index
    memref.store %13, %o[%k13] : memref<32xi32>
    %k14 = arith.constant 14 : index
    memref.store %14, %o[%k14] : memref<32xi32>
    %k15 = arith.constant 15 : index
    memref.store %15, %o[%k15] : memref<32xi32>
    %k16 = arith.constant 16 : index
    memref.store %16, %o[%k16] : memref<32xi32>
    %k17 = arith.constant 17 : index
    memref.store %17, %o[%k17] : memref<32xi32>
    %k18 = arith.constant 18 : index
    memref.store %18, %o[%k18] : memref<32xi32>
    %k19 = arith.constant 19 : index
    memref.store %19, %o[%k19] : memref<32xi32>
    memref.store %20, %o64[%k0] : memref<2xi64>
    memref.store %21, %o64[%k1] : memref<2xi64>
    memref.store %23, %o8[%k0] : memref<1xi8>
    memref.store %s, %ob[%k0] : memref<3xi1>
    memref.store %t, %ob[%k1] : memref<3xi1>
    memref.store %lt, %ob[%k2] : memref<3xi1>
    memref.store %d, %oi[%k0] : memref<2xindex>
    memref.store %du, %oi[%k1] : memref<2xindex>
    gpu.return
  }
}
