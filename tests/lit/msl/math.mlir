// math: functions Metal has map to metal::, the ones it lacks (erf, erfc, expm1, log1p,
// cbrt, fpowi, ipowi) to helpers placed once in the preamble; roundeven is rint; half calls
// Metal directly, bf16 and the helpers compute in float.
// RUN: mxir-translate --gpu-to-msl %s | FileCheck %s

// CHECK:      inline float mxir_erf(float x) {
// CHECK:      inline float mxir_erfc(float x) {
// CHECK:      inline float mxir_expm1(float x) {
// CHECK:      inline float mxir_log1p(float x) {
// CHECK:      inline float mxir_cbrt(float x) {
// CHECK:      inline float mxir_powi(float x, int n) {
// CHECK:      inline T mxir_ipowi(T b, T e) {
// CHECK-LABEL: kernel void math(
// CHECK:      float v6 = metal::abs(v0);
// CHECK-NEXT: arg5[0u] = v6;
// CHECK-NEXT: float v7 = metal::ceil(v0);
// CHECK-NEXT: arg5[1u] = v7;
// CHECK-NEXT: float v8 = metal::floor(v0);
// CHECK-NEXT: arg5[2u] = v8;
// CHECK-NEXT: float v9 = metal::trunc(v0);
// CHECK-NEXT: arg5[3u] = v9;
// CHECK-NEXT: float v10 = metal::sqrt(v0);
// CHECK-NEXT: arg5[4u] = v10;
// CHECK-NEXT: float v11 = metal::rsqrt(v0);
// CHECK-NEXT: arg5[5u] = v11;
// CHECK-NEXT: float v12 = metal::exp(v0);
// CHECK-NEXT: arg5[6u] = v12;
// CHECK-NEXT: float v13 = metal::exp2(v0);
// CHECK-NEXT: arg5[7u] = v13;
// CHECK-NEXT: float v14 = metal::log(v0);
// CHECK-NEXT: arg5[8u] = v14;
// CHECK-NEXT: float v15 = metal::log2(v0);
// CHECK-NEXT: arg5[9u] = v15;
// CHECK-NEXT: float v16 = metal::log10(v0);
// CHECK-NEXT: arg5[10u] = v16;
// CHECK-NEXT: float v17 = metal::sin(v0);
// CHECK-NEXT: arg5[11u] = v17;
// CHECK-NEXT: float v18 = metal::cos(v0);
// CHECK-NEXT: arg5[12u] = v18;
// CHECK-NEXT: float v19 = metal::tan(v0);
// CHECK-NEXT: arg5[13u] = v19;
// CHECK-NEXT: float v20 = metal::asin(v0);
// CHECK-NEXT: arg5[14u] = v20;
// CHECK-NEXT: float v21 = metal::acos(v0);
// CHECK-NEXT: arg5[15u] = v21;
// CHECK-NEXT: float v22 = metal::atan(v0);
// CHECK-NEXT: arg5[16u] = v22;
// CHECK-NEXT: float v23 = metal::sinh(v0);
// CHECK-NEXT: arg5[17u] = v23;
// CHECK-NEXT: float v24 = metal::cosh(v0);
// CHECK-NEXT: arg5[18u] = v24;
// CHECK-NEXT: float v25 = metal::tanh(v0);
// CHECK-NEXT: arg5[19u] = v25;
// CHECK-NEXT: float v26 = metal::asinh(v0);
// CHECK-NEXT: arg5[20u] = v26;
// CHECK-NEXT: float v27 = metal::acosh(v0);
// CHECK-NEXT: arg5[21u] = v27;
// CHECK-NEXT: float v28 = metal::atanh(v0);
// CHECK-NEXT: arg5[22u] = v28;
// CHECK-NEXT: float v29 = metal::round(v0);
// CHECK-NEXT: arg5[23u] = v29;
// CHECK-NEXT: float v30 = metal::rint(v0);
// CHECK-NEXT: arg5[24u] = v30;
// CHECK-NEXT: float v31 = mxir_erf(v0);
// CHECK-NEXT: arg5[25u] = v31;
// CHECK-NEXT: float v32 = mxir_erfc(v0);
// CHECK-NEXT: arg5[26u] = v32;
// CHECK-NEXT: float v33 = mxir_expm1(v0);
// CHECK-NEXT: arg5[27u] = v33;
// CHECK-NEXT: float v34 = mxir_log1p(v0);
// CHECK-NEXT: arg5[28u] = v34;
// CHECK-NEXT: float v35 = mxir_cbrt(v0);
// CHECK-NEXT: arg5[29u] = v35;
// CHECK-NEXT: float v36 = metal::atan2(v0, v1);
// CHECK-NEXT: arg5[30u] = v36;
// CHECK-NEXT: float v37 = metal::pow(v0, v1);
// CHECK-NEXT: arg5[31u] = v37;
// CHECK-NEXT: float v38 = metal::copysign(v0, v1);
// CHECK-NEXT: arg5[32u] = v38;
// CHECK-NEXT: float v39 = metal::fma(v0, v1, v0);
// CHECK-NEXT: arg5[33u] = v39;
// CHECK-NEXT: float v40 = metal::clamp(v0, v1, v0);
// CHECK-NEXT: arg5[34u] = v40;
// CHECK-NEXT: float sin_ = metal::sin(v0);
// CHECK-NEXT: float cos_ = metal::cos(v0);
// CHECK-NEXT: arg5[35u] = sin_;
// CHECK-NEXT: arg5[36u] = cos_;
// CHECK-NEXT: int v41 = int(v1);
// CHECK-NEXT: float v42 = mxir_powi(v0, v41);
// CHECK-NEXT: arg5[37u] = v42;
// CHECK-NEXT: half v43 = half(mxir_erf(float(v2)));
// CHECK-NEXT: arg6[38u] = v43;
// CHECK-NEXT: half v44 = metal::exp(v2);
// CHECK-NEXT: arg6[39u] = v44;
// CHECK-NEXT: bfloat v45 = bfloat(metal::exp(float(v3)));
// CHECK-NEXT: arg7[40u] = v45;
// CHECK-NEXT: bfloat v46 = bfloat(mxir_log1p(float(v3)));
// CHECK-NEXT: arg7[41u] = v46;
// CHECK-NEXT: bool v47 = metal::isnan(v0);
// CHECK-NEXT: bool v48 = metal::isinf(v0);
// CHECK-NEXT: bool v49 = metal::isfinite(v0);
// CHECK-NEXT: bool v50 = metal::isnormal(v0);
// CHECK-NEXT: arg8[0u] = v47;
// CHECK-NEXT: arg8[1u] = v48;
// CHECK-NEXT: arg8[2u] = v49;
// CHECK-NEXT: arg8[3u] = v50;
// CHECK-NEXT: int v51 = int(metal::abs(v4));
// CHECK-NEXT: arg9[0u] = v51;
// CHECK-NEXT: int v52 = int(metal::clz(uint(v4)));
// CHECK-NEXT: arg9[1u] = v52;
// CHECK-NEXT: int v53 = int(metal::ctz(uint(v4)));
// CHECK-NEXT: arg9[2u] = v53;
// CHECK-NEXT: int v54 = int(metal::popcount(uint(v4)));
// CHECK-NEXT: arg9[3u] = v54;
// CHECK-NEXT: int v55 = mxir_ipowi<int, uint>(v4, v4);
// CHECK-NEXT: arg9[4u] = v55;
// CHECK-NEXT: long v56 = mxir_ipowi<long, ulong>(v5, v5);
gpu.module @m {
  gpu.func @math(%a: memref<4xf32>, %ah: memref<4xf16>, %ab: memref<4xbf16>, %ai: memref<4xi32>, %al: memref<4xi64>,
                 %o: memref<64xf32>, %oh: memref<4xf16>, %obf: memref<4xbf16>, %ob: memref<4xi1>, %oi: memref<8xi32>, %ol: memref<1xi64>) kernel {
    %t = gpu.thread_id x
    %c1 = arith.constant 1 : index
    %x = memref.load %a[%t] : memref<4xf32>
    %y = memref.load %a[%c1] : memref<4xf32>
    %h = memref.load %ah[%t] : memref<4xf16>
    %b = memref.load %ab[%t] : memref<4xbf16>
    %i = memref.load %ai[%t] : memref<4xi32>
    %l = memref.load %al[%t] : memref<4xi64>
    %absf = math.absf %x : f32
    %k0 = arith.constant 0 : index
    memref.store %absf, %o[%k0] : memref<64xf32>
    %ceil = math.ceil %x : f32
    %k1 = arith.constant 1 : index
    memref.store %ceil, %o[%k1] : memref<64xf32>
    %floor = math.floor %x : f32
    %k2 = arith.constant 2 : index
    memref.store %floor, %o[%k2] : memref<64xf32>
    %trunc = math.trunc %x : f32
    %k3 = arith.constant 3 : index
    memref.store %trunc, %o[%k3] : memref<64xf32>
    %sqrt = math.sqrt %x : f32
    %k4 = arith.constant 4 : index
    memref.store %sqrt, %o[%k4] : memref<64xf32>
    %rsqrt = math.rsqrt %x : f32
    %k5 = arith.constant 5 : index
    memref.store %rsqrt, %o[%k5] : memref<64xf32>
    %exp = math.exp %x : f32
    %k6 = arith.constant 6 : index
    memref.store %exp, %o[%k6] : memref<64xf32>
    %exp2 = math.exp2 %x : f32
    %k7 = arith.constant 7 : index
    memref.store %exp2, %o[%k7] : memref<64xf32>
    %log = math.log %x : f32
    %k8 = arith.constant 8 : index
    memref.store %log, %o[%k8] : memref<64xf32>
    %log2 = math.log2 %x : f32
    %k9 = arith.constant 9 : index
    memref.store %log2, %o[%k9] : memref<64xf32>
    %log10 = math.log10 %x : f32
    %k10 = arith.constant 10 : index
    memref.store %log10, %o[%k10] : memref<64xf32>
    %sin = math.sin %x : f32
    %k11 = arith.constant 11 : index
    memref.store %sin, %o[%k11] : memref<64xf32>
    %cos = math.cos %x : f32
    %k12 = arith.constant 12 : index
    memref.store %cos, %o[%k12] : memref<64xf32>
    %tan = math.tan %x : f32
    %k13 = arith.constant 13 : index
    memref.store %tan, %o[%k13] : memref<64xf32>
    %asin = math.asin %x : f32
    %k14 = arith.constant 14 : index
    memref.store %asin, %o[%k14] : memref<64xf32>
    %acos = math.acos %x : f32
    %k15 = arith.constant 15 : index
    memref.store %acos, %o[%k15] : memref<64xf32>
    %atan = math.atan %x : f32
    %k16 = arith.constant 16 : index
    memref.store %atan, %o[%k16] : memref<64xf32>
    %sinh = math.sinh %x : f32
    %k17 = arith.constant 17 : index
    memref.store %sinh, %o[%k17] : memref<64xf32>
    %cosh = math.cosh %x : f32
    %k18 = arith.constant 18 : index
    memref.store %cosh, %o[%k18] : memref<64xf32>
    %tanh = math.tanh %x : f32
    %k19 = arith.constant 19 : index
    memref.store %tanh, %o[%k19] : memref<64xf32>
    %asinh = math.asinh %x : f32
    %k20 = arith.constant 20 : index
    memref.store %asinh, %o[%k20] : memref<64xf32>
    %acosh = math.acosh %x : f32
    %k21 = arith.constant 21 : index
    memref.store %acosh, %o[%k21] : memref<64xf32>
    %atanh = math.atanh %x : f32
    %k22 = arith.constant 22 : index
    memref.store %atanh, %o[%k22] : memref<64xf32>
    %round = math.round %x : f32
    %k23 = arith.constant 23 : index
    memref.store %round, %o[%k23] : memref<64xf32>
    %roundeven = math.roundeven %x : f32
    %k24 = arith.constant 24 : index
    memref.store %roundeven, %o[%k24] : memref<64xf32>
    %erf = math.erf %x : f32
    %k25 = arith.constant 25 : index
    memref.store %erf, %o[%k25] : memref<64xf32>
    %erfc = math.erfc %x : f32
    %k26 = arith.constant 26 : index
    memref.store %erfc, %o[%k26] : memref<64xf32>
    %expm1 = math.expm1 %x : f32
    %k27 = arith.constant 27 : index
    memref.store %expm1, %o[%k27] : memref<64xf32>
    %log1p = math.log1p %x : f32
    %k28 = arith.constant 28 : index
    memref.store %log1p, %o[%k28] : memref<64xf32>
    %cbrt = math.cbrt %x : f32
    %k29 = arith.constant 29 : index
    memref.store %cbrt, %o[%k29] : memref<64xf32>
    %atan2 = math.atan2 %x, %y : f32
    %k30 = arith.constant 30 : index
    memref.store %atan2, %o[%k30] : memref<64xf32>
    %powf = math.powf %x, %y : f32
    %k31 = arith.constant 31 : index
    memref.store %powf, %o[%k31] : memref<64xf32>
    %copysign = math.copysign %x, %y : f32
    %k32 = arith.constant 32 : index
    memref.store %copysign, %o[%k32] : memref<64xf32>
    %fma = math.fma %x, %y, %x : f32
    %k33 = arith.constant 33 : index
    memref.store %fma, %o[%k33] : memref<64xf32>
    %clampf = math.clampf %x to [%y, %x] : f32
    %k34 = arith.constant 34 : index
    memref.store %clampf, %o[%k34] : memref<64xf32>
    %sin2, %cos2 = math.sincos %x : f32
    %k35 = arith.constant 35 : index
    memref.store %sin2, %o[%k35] : memref<64xf32>
    %k36 = arith.constant 36 : index
    memref.store %cos2, %o[%k36] : memref<64xf32>
    %n = arith.fptosi %y : f32 to i32
    %fpowi = math.fpowi %x, %n : f32, i32
    %k37 = arith.constant 37 : index
    memref.store %fpowi, %o[%k37] : memref<64xf32>
    %herf = math.erf %h : f16
    %k38 = arith.constant 38 : index
    memref.store %herf, %oh[%k38] : memref<4xf16>
    %hexp = math.exp %h : f16
    %k39 = arith.constant 39 : index
    memref.store %hexp, %oh[%k39] : memref<4xf16>
    %bexp = math.exp %b : bf16
    %k40 = arith.constant 40 : index
    memref.store %bexp, %obf[%k40] : memref<4xbf16>
    %blog1p = math.log1p %b : bf16
    %k41 = arith.constant 41 : index
    memref.store %blog1p, %obf[%k41] : memref<4xbf16>
    %isnan = math.isnan %x : f32
    %isinf = math.isinf %x : f32
    %isfinite = math.isfinite %x : f32
    %isnormal = math.isnormal %x : f32
    %kb0 = arith.constant 0 : index
    memref.store %isnan, %ob[%kb0] : memref<4xi1>
    %kb1 = arith.constant 1 : index
    memref.store %isinf, %ob[%kb1] : memref<4xi1>
    %kb2 = arith.constant 2 : index
    memref.store %isfinite, %ob[%kb2] : memref<4xi1>
    %kb3 = arith.constant 3 : index
    memref.store %isnormal, %ob[%kb3] : memref<4xi1>
    %absi = math.absi %i : i32
    %ki0 = arith.constant 0 : index
    memref.store %absi, %oi[%ki0] : memref<8xi32>
    %ctlz = math.ctlz %i : i32
    %ki1 = arith.constant 1 : index
    memref.store %ctlz, %oi[%ki1] : memref<8xi32>
    %cttz = math.cttz %i : i32
    %ki2 = arith.constant 2 : index
    memref.store %cttz, %oi[%ki2] : memref<8xi32>
    %ctpop = math.ctpop %i : i32
    %ki3 = arith.constant 3 : index
    memref.store %ctpop, %oi[%ki3] : memref<8xi32>
    %ipowi = math.ipowi %i, %i : i32
    %ki4 = arith.constant 4 : index
    memref.store %ipowi, %oi[%ki4] : memref<8xi32>
    %ipowl = math.ipowi %l, %l : i64
    %kl = arith.constant 0 : index
    memref.store %ipowl, %ol[%kl] : memref<1xi64>
    gpu.return
  }
}
