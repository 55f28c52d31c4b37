// Metal Shading Language as C++17 for metal-sim: vector types with swizzles, the metal:: math
// library, half/bfloat, atomics, barriers and SIMD-group functions (through sim_runtime.h).
// The Python side strips [[attributes]], rewrites threadgroup variables, and generates the
// per-kernel launcher; it also defines MXSIM_SWIZZLES2/3/4 (the swizzle members) before this.

#include <stdint.h>
#include <string.h>

#include <limits>
#include <type_traits>

#include "sim_runtime.h"

typedef _Float16 half;
typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char uchar;
typedef unsigned long ulong;

// bfloat: a float's upper 16 bits, rounded to nearest even; arithmetic happens in float.
struct bfloat {
  uint16_t bits;
  bfloat() = default;
  bfloat(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = (uint16_t)((u >> 16) | 0x40u);
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);
      bits = (uint16_t)(u >> 16);
    }
  }
  operator float() const {
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
};

namespace metal {

template <class T, int N> struct vec;

template <class T> struct mxsim_id { typedef T type; };

template <class T> struct mxsim_is_scalar
    : std::integral_constant<bool, std::is_arithmetic<T>::value ||
                                       std::is_same<T, half>::value ||
                                       std::is_same<T, bfloat>::value> {};

// A swizzle such as v.zx: shares the vector's storage, reads as and assigns from a vector.
template <class T, int N, int... I> struct mxsim_swz {
  T d[N];
  typedef vec<T, (int)sizeof...(I)> V;
  operator V() const { return V(d[I]...); }
  mxsim_swz& operator=(const V& v) {
    int k = 0;
    ((d[I] = v.d[k++]), ...);
    return *this;
  }
  mxsim_swz& operator=(const mxsim_swz& o) { return *this = V(o); }
  T operator[](int i) const { return V(*this).d[i]; }
#define MXSIM_SWZ_CASSIGN(op)                                                                \
  template <class R> mxsim_swz& operator op##=(const R& r) { return *this = V(*this) op r; }
  MXSIM_SWZ_CASSIGN(+)
  MXSIM_SWZ_CASSIGN(-)
  MXSIM_SWZ_CASSIGN(*)
  MXSIM_SWZ_CASSIGN(/)
#undef MXSIM_SWZ_CASSIGN
};

template <class X> struct mxsim_ncomp { static constexpr int value = 1; };
template <class T, int N> struct mxsim_ncomp<vec<T, N>> { static constexpr int value = N; };
template <class T, int N, int... I> struct mxsim_ncomp<mxsim_swz<T, N, I...>> {
  static constexpr int value = (int)sizeof...(I);
};

template <class T, int N> struct mxsim_storage;
template <class T> struct mxsim_storage<T, 2> {
  union {
    T d[2];
    struct { T x, y; };
    struct { T r, g; };
    MXSIM_SWIZZLES2
  };
};
template <class T> struct mxsim_storage<T, 3> {
  union {
    T d[3];
    struct { T x, y, z; };
    struct { T r, g, b; };
    MXSIM_SWIZZLES3
  };
};
template <class T> struct mxsim_storage<T, 4> {
  union {
    T d[4];
    struct { T x, y, z, w; };
    struct { T r, g, b, a; };
    MXSIM_SWIZZLES4
  };
};

// Metal's layout: a 3-vector has the size and alignment of a 4-vector.
template <class T, int N>
struct alignas(sizeof(T) * (N == 3 ? 4 : N)) vec : mxsim_storage<T, N> {
  using mxsim_storage<T, N>::d;
  typedef T value_type;
  vec() = default;
  vec(const vec& o) { memcpy(d, o.d, sizeof(T) * N); }
  vec& operator=(const vec& o) {
    memcpy(d, o.d, sizeof(T) * N);
    return *this;
  }
  template <class U, class = typename std::enable_if<mxsim_is_scalar<U>::value>::type>
  vec(U s) {
    for (int i = 0; i < N; i++) d[i] = (T)s;
  }
  template <class U, class = typename std::enable_if<!std::is_same<U, T>::value>::type>
  explicit vec(const vec<U, N>& o) {
    for (int i = 0; i < N; i++) d[i] = (T)o.d[i];
  }
  template <class A, class B, class... R,
            class = typename std::enable_if<(mxsim_ncomp<A>::value + mxsim_ncomp<B>::value +
                                             (0 + ... + mxsim_ncomp<R>::value)) == N>::type>
  vec(const A& a, const B& b, const R&... r) {
    int i = 0;
    put(i, a);
    put(i, b);
    (put(i, r), ...);
  }
  T& operator[](int i) { return d[i]; }
  const T& operator[](int i) const { return d[i]; }

#define MXSIM_CASSIGN(op)                                                                    \
  vec& operator op##=(const vec& o) {                                                        \
    for (int i = 0; i < N; i++) d[i] op## = o.d[i];                                          \
    return *this;                                                                            \
  }                                                                                          \
  vec& operator op##=(typename mxsim_id<T>::type s) {                                        \
    for (int i = 0; i < N; i++) d[i] op## = s;                                               \
    return *this;                                                                            \
  }
  MXSIM_CASSIGN(+)
  MXSIM_CASSIGN(-)
  MXSIM_CASSIGN(*)
  MXSIM_CASSIGN(/)
  MXSIM_CASSIGN(%)
  MXSIM_CASSIGN(&)
  MXSIM_CASSIGN(|)
  MXSIM_CASSIGN(^)
  MXSIM_CASSIGN(<<)
  MXSIM_CASSIGN(>>)
#undef MXSIM_CASSIGN

 private:
  template <class U> void put(int& i, const U& s) {
    if constexpr (mxsim_is_scalar<U>::value) {
      d[i++] = (T)s;
    } else {
      auto v = mxsim_vec_of(s);
      for (int k = 0; k < mxsim_ncomp<U>::value; k++) d[i++] = (T)v.d[k];
    }
  }
  template <class U, int M> static vec<U, M> mxsim_vec_of(const vec<U, M>& v) { return v; }
  template <class U, int M, int... I>
  static vec<U, (int)sizeof...(I)> mxsim_vec_of(const mxsim_swz<U, M, I...>& s) {
    return s;
  }
};

// The value a swizzle stands for, or the argument itself.
template <class X> inline const X& mxsim_val(const X& x) { return x; }
template <class T, int N, int... I>
inline vec<T, (int)sizeof...(I)> mxsim_val(const mxsim_swz<T, N, I...>& s) { return s; }

// Element-wise operators: vector op vector, vector op scalar, scalar op vector; swizzles first
// become vectors.
#define MXSIM_BINOP(op, R)                                                                   \
  template <class T, int N> inline vec<R, N> operator op(const vec<T, N>& a,                 \
                                                         const vec<T, N>& b) {               \
    vec<R, N> r;                                                                             \
    for (int i = 0; i < N; i++) r.d[i] = a.d[i] op b.d[i];                                    \
    return r;                                                                                \
  }                                                                                          \
  template <class T, int N> inline vec<R, N> operator op(const vec<T, N>& a,                 \
                                                         typename mxsim_id<T>::type b) {     \
    vec<R, N> r;                                                                             \
    for (int i = 0; i < N; i++) r.d[i] = a.d[i] op b;                                         \
    return r;                                                                                \
  }                                                                                          \
  template <class T, int N> inline vec<R, N> operator op(typename mxsim_id<T>::type a,       \
                                                         const vec<T, N>& b) {               \
    vec<R, N> r;                                                                             \
    for (int i = 0; i < N; i++) r.d[i] = a op b.d[i];                                         \
    return r;                                                                                \
  }                                                                                          \
  template <class T, int N, int... I, class B>                                               \
  inline auto operator op(const mxsim_swz<T, N, I...>& a, const B& b) {                      \
    return mxsim_val(a) op mxsim_val(b);                                                     \
  }                                                                                          \
  template <class A, class T, int N, int... I>                                               \
  inline auto operator op(const A& a, const mxsim_swz<T, N, I...>& b) {                      \
    return mxsim_val(a) op mxsim_val(b);                                                     \
  }                                                                                          \
  template <class T, int N, int... I, class U, int M, int... J>                              \
  inline auto operator op(const mxsim_swz<T, N, I...>& a, const mxsim_swz<U, M, J...>& b) {  \
    return mxsim_val(a) op mxsim_val(b);                                                     \
  }
MXSIM_BINOP(+, T)
MXSIM_BINOP(-, T)
MXSIM_BINOP(*, T)
MXSIM_BINOP(/, T)
MXSIM_BINOP(%, T)
MXSIM_BINOP(&, T)
MXSIM_BINOP(|, T)
MXSIM_BINOP(^, T)
MXSIM_BINOP(<<, T)
MXSIM_BINOP(>>, T)
MXSIM_BINOP(<, bool)
MXSIM_BINOP(>, bool)
MXSIM_BINOP(<=, bool)
MXSIM_BINOP(>=, bool)
MXSIM_BINOP(==, bool)
MXSIM_BINOP(!=, bool)
MXSIM_BINOP(&&, bool)
MXSIM_BINOP(||, bool)
#undef MXSIM_BINOP

#define MXSIM_UNOP(op, R)                                                                    \
  template <class T, int N> inline vec<R, N> operator op(const vec<T, N>& a) {               \
    vec<R, N> r;                                                                             \
    for (int i = 0; i < N; i++) r.d[i] = op a.d[i];                                           \
    return r;                                                                                \
  }                                                                                          \
  template <class T, int N, int... I> inline auto operator op(const mxsim_swz<T, N, I...>& a) { \
    return op mxsim_val(a);                                                                  \
  }
MXSIM_UNOP(-, T)
MXSIM_UNOP(+, T)
MXSIM_UNOP(~, T)
MXSIM_UNOP(!, bool)
#undef MXSIM_UNOP

// Packed vectors: no padding, converted to and from the ordinary vector.
template <class T, int N> struct mxsim_packed {
  T d[N];
  mxsim_packed() = default;
  mxsim_packed(const vec<T, N>& v) {
    for (int i = 0; i < N; i++) d[i] = v.d[i];
  }
  operator vec<T, N>() const {
    vec<T, N> v;
    for (int i = 0; i < N; i++) v.d[i] = d[i];
    return v;
  }
  T& operator[](int i) { return d[i]; }
  const T& operator[](int i) const { return d[i]; }
};

#define MXSIM_VEC_TYPES(T, name)                                                             \
  typedef vec<T, 2> name##2;                                                                 \
  typedef vec<T, 3> name##3;                                                                 \
  typedef vec<T, 4> name##4;                                                                 \
  typedef mxsim_packed<T, 2> packed_##name##2;                                               \
  typedef mxsim_packed<T, 3> packed_##name##3;                                               \
  typedef mxsim_packed<T, 4> packed_##name##4;
MXSIM_VEC_TYPES(float, float)
MXSIM_VEC_TYPES(half, half)
MXSIM_VEC_TYPES(bfloat, bfloat)
MXSIM_VEC_TYPES(int, int)
MXSIM_VEC_TYPES(uint, uint)
MXSIM_VEC_TYPES(short, short)
MXSIM_VEC_TYPES(ushort, ushort)
MXSIM_VEC_TYPES(char, char)
MXSIM_VEC_TYPES(uchar, uchar)
MXSIM_VEC_TYPES(long, long)
MXSIM_VEC_TYPES(ulong, ulong)
MXSIM_VEC_TYPES(bool, bool)
#undef MXSIM_VEC_TYPES

// ---------------------------------------------------------------------------------------------
// Math. Each function maps over vector components; half and bfloat compute in float and round
// back, and a double argument (an unsuffixed literal) computes in float, as Metal does.

template <class T> struct mxsim_elem { typedef T type; };
template <class T, int N> struct mxsim_elem<vec<T, N>> { typedef T type; };

template <class T> struct mxsim_compute { typedef T type; };
template <> struct mxsim_compute<half> { typedef float type; };
template <> struct mxsim_compute<bfloat> { typedef float type; };
template <> struct mxsim_compute<double> { typedef float type; };

template <class T> struct mxsim_result { typedef T type; };
template <> struct mxsim_result<double> { typedef float type; };

template <class X, class F> inline auto mxsim_map1(const X& x0, F f) {
  const auto& x = mxsim_val(x0);
  typedef typename std::decay<decltype(x)>::type V;
  if constexpr (mxsim_is_scalar<V>::value) {
    typedef typename mxsim_result<V>::type R;
    return (R)f((typename mxsim_compute<V>::type)x);
  } else {
    typedef typename V::value_type T;
    V r;
    for (int i = 0; i < mxsim_ncomp<V>::value; i++)
      r.d[i] = (T)f((typename mxsim_compute<T>::type)x.d[i]);
    return r;
  }
}

// The element type two arguments combine to: equal types stay, a literal (double or int)
// adopts the other operand's type, otherwise the first wins.
template <class A, class B> struct mxsim_join {
  typedef typename std::conditional<
      std::is_same<A, double>::value || (std::is_same<A, int>::value && !std::is_same<B, double>::value &&
                                         !std::is_same<B, int>::value),
      typename mxsim_result<B>::type, typename mxsim_result<A>::type>::type type;
};

template <class X> inline auto mxsim_component(const X& x, int i) {
  if constexpr (mxsim_is_scalar<X>::value) {
    (void)i;
    return x;
  } else {
    return x.d[i];
  }
}

template <class... X> struct mxsim_width { static constexpr int value = 1; };
template <class X, class... R> struct mxsim_width<X, R...> {
  static constexpr int value = mxsim_ncomp<X>::value > 1 ? mxsim_ncomp<X>::value
                                                         : mxsim_width<R...>::value;
};

template <class F, class A0, class B0> inline auto mxsim_map2(const A0& a0, const B0& b0, F f) {
  const auto& a = mxsim_val(a0);
  const auto& b = mxsim_val(b0);
  typedef typename std::decay<decltype(a)>::type A;
  typedef typename std::decay<decltype(b)>::type B;
  typedef typename mxsim_join<typename mxsim_elem<A>::type, typename mxsim_elem<B>::type>::type T;
  typedef typename mxsim_compute<T>::type C;
  constexpr int N = mxsim_width<A, B>::value;
  if constexpr (N == 1) {
    return (T)f((C)a, (C)b);
  } else {
    vec<T, N> r;
    for (int i = 0; i < N; i++) r.d[i] = (T)f((C)mxsim_component(a, i), (C)mxsim_component(b, i));
    return r;
  }
}

template <class F, class A0, class B0, class C0>
inline auto mxsim_map3(const A0& a0, const B0& b0, const C0& c0, F f) {
  const auto& a = mxsim_val(a0);
  const auto& b = mxsim_val(b0);
  const auto& c = mxsim_val(c0);
  typedef typename std::decay<decltype(a)>::type A;
  typedef typename std::decay<decltype(b)>::type B;
  typedef typename std::decay<decltype(c)>::type Cc;
  typedef typename mxsim_join<typename mxsim_elem<A>::type,
                              typename mxsim_join<typename mxsim_elem<B>::type,
                                                  typename mxsim_elem<Cc>::type>::type>::type T;
  typedef typename mxsim_compute<T>::type C;
  constexpr int N = mxsim_width<A, B, Cc>::value;
  if constexpr (N == 1) {
    return (T)f((C)a, (C)b, (C)c);
  } else {
    vec<T, N> r;
    for (int i = 0; i < N; i++)
      r.d[i] = (T)f((C)mxsim_component(a, i), (C)mxsim_component(b, i), (C)mxsim_component(c, i));
    return r;
  }
}

inline float mxsim_f(float x) { return x; }

#define MXSIM_F1(name, expr)                                                                 \
  template <class X> inline auto name(const X& x) {                                          \
    return mxsim_map1(x, [](auto v) { return expr; });                                       \
  }
#define MXSIM_F2(name, expr)                                                                 \
  template <class A, class B> inline auto name(const A& a, const B& b) {                     \
    return mxsim_map2(a, b, [](auto x, auto y) { return expr; });                            \
  }
#define MXSIM_F3(name, expr)                                                                 \
  template <class A, class B, class C> inline auto name(const A& a, const B& b, const C& c) { \
    return mxsim_map3(a, b, c, [](auto x, auto y, auto z) { return expr; });                 \
  }

#define MXSIM_FLOAT_MATH                                                                     \
  MXSIM_F1(acos, __builtin_acosf(v))                                                         \
  MXSIM_F1(acosh, __builtin_acoshf(v))                                                       \
  MXSIM_F1(asin, __builtin_asinf(v))                                                         \
  MXSIM_F1(asinh, __builtin_asinhf(v))                                                       \
  MXSIM_F1(atan, __builtin_atanf(v))                                                         \
  MXSIM_F1(atanh, __builtin_atanhf(v))                                                       \
  MXSIM_F1(ceil, __builtin_ceilf(v))                                                         \
  MXSIM_F1(cos, __builtin_cosf(v))                                                           \
  MXSIM_F1(cosh, __builtin_coshf(v))                                                         \
  MXSIM_F1(cospi, __builtin_cosf(3.14159265358979323846f * v))                               \
  MXSIM_F1(exp, __builtin_expf(v))                                                           \
  MXSIM_F1(exp2, __builtin_exp2f(v))                                                         \
  MXSIM_F1(exp10, __builtin_powf(10.0f, v))                                                  \
  MXSIM_F1(fabs, __builtin_fabsf(v))                                                         \
  MXSIM_F1(floor, __builtin_floorf(v))                                                       \
  MXSIM_F1(fract, __builtin_fminf(v - __builtin_floorf(v), 0x1.fffffep-1f))                  \
  MXSIM_F1(log, __builtin_logf(v))                                                           \
  MXSIM_F1(log2, __builtin_log2f(v))                                                         \
  MXSIM_F1(log10, __builtin_log10f(v))                                                       \
  MXSIM_F1(rint, __builtin_rintf(v))                                                         \
  MXSIM_F1(round, __builtin_roundf(v))                                                       \
  MXSIM_F1(rsqrt, 1.0f / __builtin_sqrtf(v))                                                 \
  MXSIM_F1(saturate, __builtin_fminf(__builtin_fmaxf(v, 0.0f), 1.0f))                        \
  MXSIM_F1(sin, __builtin_sinf(v))                                                           \
  MXSIM_F1(sinh, __builtin_sinhf(v))                                                         \
  MXSIM_F1(sinpi, __builtin_sinf(3.14159265358979323846f * v))                               \
  MXSIM_F1(sqrt, __builtin_sqrtf(v))                                                         \
  MXSIM_F1(tan, __builtin_tanf(v))                                                           \
  MXSIM_F1(tanh, __builtin_tanhf(v))                                                         \
  MXSIM_F1(tanpi, __builtin_tanf(3.14159265358979323846f * v))                               \
  MXSIM_F1(trunc, __builtin_truncf(v))                                                       \
  MXSIM_F2(atan2, __builtin_atan2f(x, y))                                                    \
  MXSIM_F2(copysign, __builtin_copysignf(x, y))                                              \
  MXSIM_F2(fdim, __builtin_fdimf(x, y))                                                      \
  MXSIM_F2(fmax, __builtin_fmaxf(x, y))                                                      \
  MXSIM_F2(fmin, __builtin_fminf(x, y))                                                      \
  MXSIM_F2(fmod, __builtin_fmodf(x, y))                                                      \
  MXSIM_F2(pow, __builtin_powf(x, y))                                                        \
  MXSIM_F2(powr, __builtin_powf(x, y))                                                       \
  MXSIM_F2(nextafter, __builtin_nextafterf(x, y))                                            \
  MXSIM_F2(step, y < x ? 0.0f : 1.0f)                                                        \
  MXSIM_F2(divide, x / y)                                                                    \
  MXSIM_F3(fma, __builtin_fmaf(x, y, z))                                                     \
  MXSIM_F3(mix, x + (y - x) * z)                                                             \
  MXSIM_F3(smoothstep, mxsim_smoothstep(x, y, z))

inline float mxsim_smoothstep(float e0, float e1, float x) {
  float t = __builtin_fminf(__builtin_fmaxf((x - e0) / (e1 - e0), 0.0f), 1.0f);
  return t * t * (3.0f - 2.0f * t);
}

MXSIM_FLOAT_MATH
namespace precise {
MXSIM_FLOAT_MATH
}
namespace fast {
MXSIM_FLOAT_MATH
}

// Functions defined for integers as well as floats.
template <class T> inline T mxsim_abs(T x) {
  if constexpr (std::is_unsigned<T>::value) return x;
  else if constexpr (std::is_integral<T>::value) return x < 0 ? (T)-x : x;
  else return __builtin_fabsf(x);
}
template <class X> inline auto abs(const X& x) {
  return mxsim_map1(x, [](auto v) { return mxsim_abs(v); });
}
MXSIM_F2(min, y < x ? y : x)
MXSIM_F2(max, x < y ? y : x)
MXSIM_F3(clamp, y < x ? (z < x ? z : x) : y)
MXSIM_F3(mad, x * y + z)
MXSIM_F3(min3, (y < x ? (z < y ? z : y) : (z < x ? z : x)))
MXSIM_F3(max3, (x < y ? (y < z ? z : y) : (x < z ? z : x)))
MXSIM_F2(absdiff, x < y ? y - x : x - y)
MXSIM_F1(popcount, (decltype(v))__builtin_popcountll((unsigned long long)v &
                                                    (~0ull >> (64 - 8 * sizeof(v)))))
MXSIM_F1(clz, (decltype(v))(v == 0 ? 8 * sizeof(v)
                                   : __builtin_clzll((unsigned long long)v &
                                                     (~0ull >> (64 - 8 * sizeof(v)))) -
                                         (64 - 8 * sizeof(v))))
MXSIM_F1(ctz, (decltype(v))(v == 0 ? 8 * sizeof(v) : __builtin_ctzll((unsigned long long)v)))
MXSIM_F2(mulhi, (decltype(x))(((__int128)x * (__int128)y) >> (8 * sizeof(x))))
namespace precise {
using metal::abs;
using metal::clamp;
using metal::max;
using metal::min;
}
namespace fast {
using metal::abs;
using metal::clamp;
using metal::max;
using metal::min;
}

template <class X> inline auto sign(const X& x) {
  return mxsim_map1(x, [](float v) { return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v * 0.0f; });
}

#define MXSIM_PRED(name, expr)                                                               \
  template <class X> inline auto name(const X& x0) {                                         \
    const auto& x = mxsim_val(x0);                                                           \
    typedef typename std::decay<decltype(x)>::type V;                                        \
    if constexpr (mxsim_is_scalar<V>::value) {                                               \
      float v = (float)x;                                                                    \
      return (bool)(expr);                                                                   \
    } else {                                                                                 \
      vec<bool, mxsim_ncomp<V>::value> r;                                                    \
      for (int i = 0; i < mxsim_ncomp<V>::value; i++) {                                      \
        float v = (float)x.d[i];                                                             \
        r.d[i] = (expr);                                                                     \
      }                                                                                      \
      return r;                                                                              \
    }                                                                                        \
  }
MXSIM_PRED(isnan, v != v)
MXSIM_PRED(isinf, __builtin_isinf(v))
MXSIM_PRED(isfinite, __builtin_isfinite(v))
MXSIM_PRED(signbit, __builtin_signbit(v))
MXSIM_PRED(isnormal, __builtin_isnormal(v))
#undef MXSIM_PRED

template <class X> inline bool all(const X& x0) {
  const auto& x = mxsim_val(x0);
  if constexpr (mxsim_is_scalar<typename std::decay<decltype(x)>::type>::value) return x;
  else {
    for (int i = 0; i < mxsim_ncomp<typename std::decay<decltype(x)>::type>::value; i++)
      if (!x.d[i]) return false;
    return true;
  }
}
template <class X> inline bool any(const X& x0) {
  const auto& x = mxsim_val(x0);
  if constexpr (mxsim_is_scalar<typename std::decay<decltype(x)>::type>::value) return x;
  else {
    for (int i = 0; i < mxsim_ncomp<typename std::decay<decltype(x)>::type>::value; i++)
      if (x.d[i]) return true;
    return false;
  }
}

// select(a, b, c): c ? b : a, component-wise.
template <class A, class B, class C> inline auto select(const A& a0, const B& b0, const C& c0) {
  const auto& a = mxsim_val(a0);
  const auto& b = mxsim_val(b0);
  const auto& c = mxsim_val(c0);
  typedef typename std::decay<decltype(a)>::type V;
  if constexpr (mxsim_is_scalar<typename std::decay<decltype(c)>::type>::value) {
    return c ? (V)b : (V)a;
  } else {
    V r;
    for (int i = 0; i < mxsim_ncomp<V>::value; i++) r.d[i] = c.d[i] ? b.d[i] : a.d[i];
    return r;
  }
}

template <class A, class B> inline auto dot(const A& a0, const B& b0) {
  const auto& a = mxsim_val(a0);
  const auto& b = mxsim_val(b0);
  typedef typename std::decay<decltype(a)>::type V;
  typename V::value_type s = 0;
  for (int i = 0; i < mxsim_ncomp<V>::value; i++) s += a.d[i] * b.d[i];
  return s;
}
template <class X> inline auto length_squared(const X& x) { return dot(x, x); }
template <class X> inline auto length(const X& x) { return sqrt(dot(x, x)); }
template <class A, class B> inline auto distance(const A& a, const B& b) {
  return length(mxsim_val(a) - mxsim_val(b));
}
template <class X> inline auto normalize(const X& x) { return mxsim_val(x) * rsqrt(dot(x, x)); }
template <class A, class B> inline auto cross(const A& a0, const B& b0) {
  const auto& a = mxsim_val(a0);
  const auto& b = mxsim_val(b0);
  typedef typename std::decay<decltype(a)>::type V;
  return V(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
namespace precise {
using metal::cross;
using metal::distance;
using metal::dot;
using metal::length;
using metal::normalize;
}
namespace fast {
using metal::cross;
using metal::distance;
using metal::dot;
using metal::length;
using metal::normalize;
}

template <class X> inline auto sincos(const X& x, X& c) {
  c = cos(x);
  return sin(x);
}
template <class X> inline auto modf(const X& x, X& ip) {
  ip = trunc(x);
  return mxsim_val(x) - ip;
}

template <class To, class From> inline To as_type(const From& f) {
  static_assert(sizeof(To) == sizeof(From), "as_type needs equal sizes");
  To t;
  memcpy((void*)&t, (const void*)&f, sizeof(To));
  return t;
}

template <class T> struct numeric_limits : std::numeric_limits<T> {};
template <> struct numeric_limits<half> {
  static constexpr bool is_specialized = true;
  static constexpr half infinity() { return (half)__builtin_inff(); }
  static constexpr half quiet_NaN() { return (half)__builtin_nanf(""); }
  static constexpr half max() { return (half)65504.0f; }
  static constexpr half lowest() { return (half)-65504.0f; }
  static constexpr half min() { return (half)6.103515625e-05f; }
  static constexpr half epsilon() { return (half)0.0009765625f; }
};

// ---------------------------------------------------------------------------------------------
// Atomics. Threads run one at a time on one OS thread, so plain loads and stores are atomic.
enum memory_order { memory_order_relaxed, memory_order_acquire, memory_order_release,
                    memory_order_acq_rel, memory_order_seq_cst };

template <class T> struct _atomic {
  T v;
};
template <class T> using atomic = _atomic<T>;
typedef _atomic<int> atomic_int;
typedef _atomic<uint> atomic_uint;
typedef _atomic<float> atomic_float;
typedef _atomic<bool> atomic_bool;
typedef _atomic<ulong> atomic_ulong;

template <class T, class U> inline void atomic_store_explicit(volatile _atomic<T>* a, U v,
                                                              memory_order) {
  a->v = (T)v;
}
template <class T> inline T atomic_load_explicit(volatile _atomic<T>* a, memory_order) {
  return a->v;
}
template <class T, class U> inline T atomic_exchange_explicit(volatile _atomic<T>* a, U v,
                                                              memory_order) {
  T old = a->v;
  a->v = (T)v;
  return old;
}
template <class T, class U>
inline bool atomic_compare_exchange_weak_explicit(volatile _atomic<T>* a, T* expected, U desired,
                                                  memory_order, memory_order) {
  T cur = a->v;
  if (cur == *expected) {
    a->v = (T)desired;
    return true;
  }
  *expected = cur;
  return false;
}
#define MXSIM_ATOMIC_RMW(name, expr)                                                         \
  template <class T, class U> inline T name(volatile _atomic<T>* a, U u, memory_order) {     \
    T old = a->v;                                                                            \
    T v = (T)u;                                                                              \
    a->v = (T)(expr);                                                                        \
    return old;                                                                              \
  }
MXSIM_ATOMIC_RMW(atomic_fetch_add_explicit, old + v)
MXSIM_ATOMIC_RMW(atomic_fetch_sub_explicit, old - v)
MXSIM_ATOMIC_RMW(atomic_fetch_min_explicit, v < old ? v : old)
MXSIM_ATOMIC_RMW(atomic_fetch_max_explicit, old < v ? v : old)
MXSIM_ATOMIC_RMW(atomic_fetch_and_explicit, old & v)
MXSIM_ATOMIC_RMW(atomic_fetch_or_explicit, old | v)
MXSIM_ATOMIC_RMW(atomic_fetch_xor_explicit, old ^ v)
#undef MXSIM_ATOMIC_RMW

// ---------------------------------------------------------------------------------------------
// Synchronisation.
enum class mem_flags : unsigned {
  mem_none = 0,
  mem_device = 1,
  mem_threadgroup = 2,
  mem_texture = 4,
  mem_threadgroup_imageblock = 8,
  mem_object_data = 16,
};
inline mem_flags operator|(mem_flags a, mem_flags b) {
  return (mem_flags)((unsigned)a | (unsigned)b);
}

inline void threadgroup_barrier(mem_flags) { mxsim_barrier(); }

enum mxsim_simd_op {
  MXSIM_SIMD_BARRIER, MXSIM_SIMD_SUM, MXSIM_SIMD_PRODUCT, MXSIM_SIMD_MAX, MXSIM_SIMD_MIN,
  MXSIM_SIMD_AND, MXSIM_SIMD_OR, MXSIM_SIMD_XOR, MXSIM_SIMD_SHUFFLE, MXSIM_SIMD_SHUFFLE_XOR,
  MXSIM_SIMD_SHUFFLE_DOWN, MXSIM_SIMD_SHUFFLE_UP, MXSIM_SIMD_BROADCAST_FIRST,
  MXSIM_SIMD_PREFIX_INCL, MXSIM_SIMD_PREFIX_EXCL, MXSIM_SIMD_BALLOT, MXSIM_SIMD_IS_FIRST,
};

inline void simdgroup_barrier(mem_flags) { mxsim_simd_exchange(MXSIM_SIMD_BARRIER, nullptr, 0); }

template <class T> inline T mxsim_lane_value(const mxsim_simd_view& v, uint32_t lane) {
  T t;
  memcpy((void*)&t, v.vals + lane * MXSIM_SIMD_SLOT, sizeof(T));
  return t;
}

// An inactive source lane yields 0xFF bytes (NaN for floats), as undefined as on the GPU.
template <class T> inline T mxsim_from_lane(const mxsim_simd_view& v, uint32_t lane) {
  if (lane < MXSIM_SIMD_WIDTH && ((v.mask >> lane) & 1u)) return mxsim_lane_value<T>(v, lane);
  T t;
  memset((void*)&t, 0xFF, sizeof(T));
  return t;
}

template <int Op, class T, class F> inline T mxsim_simd_reduce(const T& x, F f) {
  mxsim_simd_view v = mxsim_simd_exchange(Op, &x, sizeof(T));
  bool have = false;
  T acc = x;
  for (uint32_t l = 0; l < MXSIM_SIMD_WIDTH; l++) {
    if (!((v.mask >> l) & 1u)) continue;
    T y = mxsim_lane_value<T>(v, l);
    acc = have ? f(acc, y) : y;
    have = true;
  }
  return acc;
}

template <class X> inline auto simd_sum(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_SUM>(mxsim_val(x), [](auto a, auto b) { return a + b; });
}
template <class X> inline auto simd_product(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_PRODUCT>(mxsim_val(x),
                                               [](auto a, auto b) { return a * b; });
}
template <class X> inline auto simd_max(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_MAX>(mxsim_val(x),
                                           [](auto a, auto b) { return metal::max(a, b); });
}
template <class X> inline auto simd_min(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_MIN>(mxsim_val(x),
                                           [](auto a, auto b) { return metal::min(a, b); });
}
template <class X> inline auto simd_and(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_AND>(mxsim_val(x), [](auto a, auto b) { return a & b; });
}
template <class X> inline auto simd_or(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_OR>(mxsim_val(x), [](auto a, auto b) { return a | b; });
}
template <class X> inline auto simd_xor(const X& x) {
  return mxsim_simd_reduce<MXSIM_SIMD_XOR>(mxsim_val(x), [](auto a, auto b) { return a ^ b; });
}

template <class X> inline auto simd_shuffle(const X& x0, ushort lane) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_SHUFFLE, &x, sizeof x);
  return mxsim_from_lane<decltype(x)>(v, lane);
}
template <class X> inline auto simd_broadcast(const X& x, ushort lane) {
  return simd_shuffle(x, lane);
}
template <class X> inline auto simd_shuffle_xor(const X& x0, ushort mask) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_SHUFFLE_XOR, &x, sizeof x);
  return mxsim_from_lane<decltype(x)>(v, v.lane ^ mask);
}
// The upper `delta` lanes keep their own value (and the lower ones for shuffle_up).
template <class X> inline auto simd_shuffle_down(const X& x0, ushort delta) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_SHUFFLE_DOWN, &x, sizeof x);
  uint32_t src = v.lane + delta;
  return src < MXSIM_SIMD_WIDTH ? mxsim_from_lane<decltype(x)>(v, src) : x;
}
template <class X> inline auto simd_shuffle_up(const X& x0, ushort delta) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_SHUFFLE_UP, &x, sizeof x);
  return v.lane >= delta ? mxsim_from_lane<decltype(x)>(v, v.lane - delta) : x;
}
template <class X> inline auto simd_broadcast_first(const X& x0) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_BROADCAST_FIRST, &x, sizeof x);
  return mxsim_from_lane<decltype(x)>(v, (uint32_t)__builtin_ctz(v.mask));
}
template <class X> inline auto simd_prefix_inclusive_sum(const X& x0) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_PREFIX_INCL, &x, sizeof x);
  decltype(x) acc = 0;
  for (uint32_t l = 0; l <= v.lane; l++)
    if ((v.mask >> l) & 1u) acc += mxsim_lane_value<decltype(x)>(v, l);
  return acc;
}
template <class X> inline auto simd_prefix_exclusive_sum(const X& x0) {
  auto x = mxsim_val(x0);
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_PREFIX_EXCL, &x, sizeof x);
  decltype(x) acc = 0;
  for (uint32_t l = 0; l < v.lane; l++)
    if ((v.mask >> l) & 1u) acc += mxsim_lane_value<decltype(x)>(v, l);
  return acc;
}
struct simd_vote {
  uint64_t bits;
  explicit operator uint64_t() const { return bits; }
  bool any() const { return bits != 0; }
};
inline simd_vote simd_ballot(bool p) {
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_BALLOT, &p, sizeof p);
  uint64_t bits = 0;
  for (uint32_t l = 0; l < MXSIM_SIMD_WIDTH; l++)
    if (((v.mask >> l) & 1u) && mxsim_lane_value<bool>(v, l)) bits |= 1ull << l;
  return simd_vote{bits};
}
inline bool simd_all(bool p) {
  return simd_and((uint)p) != 0;
}
inline bool simd_any(bool p) {
  return simd_or((uint)p) != 0;
}
inline bool simd_is_first() {
  mxsim_simd_view v = mxsim_simd_exchange(MXSIM_SIMD_IS_FIRST, nullptr, 0);
  return v.lane == (uint32_t)__builtin_ctz(v.mask);
}

// Builtin values as the parameter's declared type (uint, ushort2, uint3, ...).
template <class T> inline T mxsim_builtin(const uint32_t* v) {
  if constexpr (mxsim_is_scalar<T>::value) {
    return (T)v[0];
  } else {
    T r;
    for (int i = 0; i < mxsim_ncomp<T>::value; i++) r.d[i] = (typename T::value_type)v[i];
    return r;
  }
}

}  // namespace metal

using metal::float2;  // MSL's vector types are visible without `using namespace metal`
using metal::float3;
using metal::float4;
using metal::half2;
using metal::half3;
using metal::half4;
using metal::bfloat2;
using metal::bfloat3;
using metal::bfloat4;
using metal::int2;
using metal::int3;
using metal::int4;
using metal::uint2;
using metal::uint3;
using metal::uint4;
using metal::short2;
using metal::short3;
using metal::short4;
using metal::ushort2;
using metal::ushort3;
using metal::ushort4;
using metal::char2;
using metal::char3;
using metal::char4;
using metal::uchar2;
using metal::uchar3;
using metal::uchar4;
using metal::long2;
using metal::long3;
using metal::long4;
using metal::ulong2;
using metal::ulong3;
using metal::ulong4;
using metal::bool2;
using metal::bool3;
using metal::bool4;
using metal::packed_float2;
using metal::packed_float3;
using metal::packed_float4;
using metal::packed_half2;
using metal::packed_half3;
using metal::packed_half4;
using metal::atomic_int;
using metal::atomic_uint;
using metal::atomic_float;
using metal::atomic_bool;

template <class T> using mxsim_t = T;

#define MAXFLOAT 3.40282347e+38f
#define FLT_MAX 3.40282347e+38f
#define FLT_MIN 1.17549435e-38f
#define FLT_EPSILON 1.1920929e-07f
#define HALF_MAX ((half)65504.0f)
#define HALF_MIN ((half)6.103515625e-05f)
#define INFINITY __builtin_inff()
#define HUGE_VALF __builtin_inff()
#define NAN __builtin_nanf("")
#define INT_MAX 2147483647
#define INT_MIN (-2147483647 - 1)
#define UINT_MAX 4294967295u
#define M_PI_F 3.14159265358979323846f
#define M_PI_2_F 1.57079632679489661923f
#define M_PI_4_F 0.78539816339744830962f
#define M_1_PI_F 0.31830988618379067154f
#define M_2_PI_F 0.63661977236758134308f
#define M_2_SQRTPI_F 1.12837916709551257390f
#define M_SQRT2_F 1.41421356237309504880f
#define M_SQRT1_2_F 0.70710678118654752440f
#define M_E_F 2.71828182845904523536f
#define M_LOG2E_F 1.44269504088896340736f
#define M_LOG10E_F 0.43429448190325182765f
#define M_LN2_F 0.69314718055994530942f
#define M_LN10_F 2.30258509299404568402f
#define M_PI_H ((half)3.14159265358979323846f)

// Address spaces and the kernel qualifier carry no meaning on the CPU (constant becomes const
// in the Python rewrite; threadgroup variables become shared per-group memory there too).
#define device
#define thread
#define threadgroup
#define kernel
