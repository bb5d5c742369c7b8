// Float vectors for the kernels (Vec::N lanes), one definition per instruction set.
//
// kernels_impl.h is written once against this interface and compiled once per
// instruction set (kernels_avx2.cpp, kernels_base.cpp, kernels_neon.cpp); the
// translation unit defines MLXU_ISA_* before including it.
#pragma once

#include <cmath>
#include <cstring>

#if defined(MLXU_ISA_AVX2) || defined(MLXU_ISA_AVX512)
#include <immintrin.h>
#elif defined(MLXU_ISA_NEON)
#include <arm_neon.h>
#endif

namespace mlxu {

#if defined(MLXU_ISA_AVX512)

struct Vec {
  static constexpr int N = 16;
  __m512 v;
  static Vec zero() { return {_mm512_setzero_ps()}; }
  static Vec splat(float x) { return {_mm512_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
};
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm512_max_ps(a.v, b.v)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm512_min_ps(a.v, b.v)}; }
inline Vec vdiv(Vec a, Vec b) { return {_mm512_div_ps(a.v, b.v)}; }
inline Vec select_nonneg(Vec a, Vec b) {
  return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, _mm512_setzero_ps(), _CMP_GE_OQ), b.v, a.v)};
}
inline Vec exp2_int(Vec n) {
  __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127));
  return {_mm512_castsi512_ps(_mm512_slli_epi32(i, 23))};
}
inline Vec vround(Vec a) { return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline Vec keep_nan(Vec x, Vec y) { return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(x.v, x.v, _CMP_UNORD_Q), y.v, x.v)}; }
inline Vec load_partial(const float* p, int n) { return {_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p)}; }
inline void store_partial(Vec v, float* p, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v.v); }
#define MLXU_HAVE_PARTIAL 1
// zip_lo(a, b) = a0 b0 a1 b1 ... (the low halves interleaved), zip_hi the high halves
inline Vec zip_lo(Vec a, Vec b) {
  return {_mm512_permutex2var_ps(a.v, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b.v)};
}
inline Vec zip_hi(Vec a, Vec b) {
  return {_mm512_permutex2var_ps(a.v, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b.v)};
}
// 16 bytes as floats (an 8-bit image's values)
inline Vec load_u8(const unsigned char* p) {
  return {_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))))};
}
constexpr const char* kIsaName = "avx512";

#elif defined(MLXU_ISA_AVX2)

struct Vec {
  static constexpr int N = 8;
  __m256 v;
  static Vec zero() { return {_mm256_setzero_ps()}; }
  static Vec splat(float x) { return {_mm256_set1_ps(x)}; }
  static Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
};
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec vmax(Vec a, Vec b) { return {_mm256_max_ps(a.v, b.v)}; }
inline Vec vmin(Vec a, Vec b) { return {_mm256_min_ps(a.v, b.v)}; }
inline Vec vdiv(Vec a, Vec b) { return {_mm256_div_ps(a.v, b.v)}; }
// a >= 0 ? a : b, lane by lane
inline Vec select_nonneg(Vec a, Vec b) {
  return {_mm256_blendv_ps(b.v, a.v, _mm256_cmp_ps(a.v, _mm256_setzero_ps(), _CMP_GE_OQ))};
}
// 2^n for integral-valued n in [-126, 127]
inline Vec exp2_int(Vec n) {
  __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(i, 23))};
}
inline Vec vround(Vec a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline Vec keep_nan(Vec x, Vec y) { return {_mm256_blendv_ps(y.v, x.v, _mm256_cmp_ps(x.v, x.v, _CMP_UNORD_Q))}; }
inline Vec load_u8(const unsigned char* p) {
  return {_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))))};
}
inline Vec zip_lo(Vec a, Vec b) {
  return {_mm256_permute2f128_ps(_mm256_unpacklo_ps(a.v, b.v), _mm256_unpackhi_ps(a.v, b.v), 0x20)};
}
inline Vec zip_hi(Vec a, Vec b) {
  return {_mm256_permute2f128_ps(_mm256_unpacklo_ps(a.v, b.v), _mm256_unpackhi_ps(a.v, b.v), 0x31)};
}
constexpr const char* kIsaName = "avx2";

#elif defined(MLXU_ISA_NEON)

struct Vec {
  static constexpr int N = 8;
  float32x4_t lo, hi;
  static Vec zero() { return {vdupq_n_f32(0.f), vdupq_n_f32(0.f)}; }
  static Vec splat(float x) { return {vdupq_n_f32(x), vdupq_n_f32(x)}; }
  static Vec load(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4)}; }
  void store(float* p) const {
    vst1q_f32(p, lo);
    vst1q_f32(p + 4, hi);
  }
};
inline Vec fma(Vec a, Vec b, Vec c) { return {vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi)}; }
inline Vec operator+(Vec a, Vec b) { return {vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)}; }
inline Vec operator-(Vec a, Vec b) { return {vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)}; }
inline Vec operator*(Vec a, Vec b) { return {vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)}; }
inline Vec vmax(Vec a, Vec b) { return {vmaxq_f32(a.lo, b.lo), vmaxq_f32(a.hi, b.hi)}; }
inline Vec vmin(Vec a, Vec b) { return {vminq_f32(a.lo, b.lo), vminq_f32(a.hi, b.hi)}; }
inline Vec vdiv(Vec a, Vec b) { return {vdivq_f32(a.lo, b.lo), vdivq_f32(a.hi, b.hi)}; }
inline Vec select_nonneg(Vec a, Vec b) {
  float32x4_t z = vdupq_n_f32(0.f);
  return {vbslq_f32(vcgeq_f32(a.lo, z), a.lo, b.lo), vbslq_f32(vcgeq_f32(a.hi, z), a.hi, b.hi)};
}
inline Vec exp2_int(Vec n) {
  auto one = [](float32x4_t x) {
    int32x4_t i = vaddq_s32(vcvtnq_s32_f32(x), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(i, 23));
  };
  return {one(n.lo), one(n.hi)};
}
inline Vec vround(Vec a) { return {vrndnq_f32(a.lo), vrndnq_f32(a.hi)}; }
inline Vec keep_nan(Vec x, Vec y) {
  return {vbslq_f32(vceqq_f32(x.lo, x.lo), y.lo, x.lo), vbslq_f32(vceqq_f32(x.hi, x.hi), y.hi, x.hi)};
}
inline Vec load_u8(const unsigned char* p) {
  const uint16x8_t h = vmovl_u8(vld1_u8(p));
  return {vcvtq_f32_u32(vmovl_u16(vget_low_u16(h))), vcvtq_f32_u32(vmovl_u16(vget_high_u16(h)))};
}
inline Vec zip_lo(Vec a, Vec b) { return {vzip1q_f32(a.lo, b.lo), vzip2q_f32(a.lo, b.lo)}; }
inline Vec zip_hi(Vec a, Vec b) { return {vzip1q_f32(a.hi, b.hi), vzip2q_f32(a.hi, b.hi)}; }
constexpr const char* kIsaName = "neon";

#else  // portable baseline: plain arrays the compiler vectorizes with what the target has (SSE2 on x86-64)

struct Vec {
  static constexpr int N = 8;
  float v[8];
  static Vec zero() { return splat(0.f); }
  static Vec splat(float x) {
    Vec r;
    for (int i = 0; i < 8; ++i) r.v[i] = x;
    return r;
  }
  static Vec load(const float* p) {
    Vec r;
    std::memcpy(r.v, p, sizeof(r.v));
    return r;
  }
  void store(float* p) const { std::memcpy(p, v, sizeof(v)); }
};
#define MLXU_LANEWISE(expr)          \
  Vec r;                            \
  for (int i = 0; i < 8; ++i) r.v[i] = expr; \
  return r;
inline Vec fma(Vec a, Vec b, Vec c) { MLXU_LANEWISE(a.v[i] * b.v[i] + c.v[i]) }
inline Vec operator+(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] + b.v[i]) }
inline Vec operator-(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] - b.v[i]) }
inline Vec operator*(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] * b.v[i]) }
inline Vec vmax(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] > b.v[i] ? a.v[i] : b.v[i]) }
inline Vec vmin(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] < b.v[i] ? a.v[i] : b.v[i]) }
inline Vec vdiv(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] / b.v[i]) }
inline Vec select_nonneg(Vec a, Vec b) { MLXU_LANEWISE(a.v[i] >= 0.f ? a.v[i] : b.v[i]) }
inline Vec exp2_int(Vec n) { MLXU_LANEWISE(std::ldexp(1.0f, static_cast<int>(n.v[i]))) }
inline Vec vround(Vec a) { MLXU_LANEWISE(std::nearbyint(a.v[i])) }
inline Vec keep_nan(Vec x, Vec y) { MLXU_LANEWISE(x.v[i] != x.v[i] ? x.v[i] : y.v[i]) }
inline Vec load_u8(const unsigned char* p) { MLXU_LANEWISE(static_cast<float>(p[i])) }
inline Vec zip_lo(Vec a, Vec b) { MLXU_LANEWISE(i % 2 ? b.v[i / 2] : a.v[i / 2]) }
inline Vec zip_hi(Vec a, Vec b) { MLXU_LANEWISE(i % 2 ? b.v[4 + i / 2] : a.v[4 + i / 2]) }
#undef MLXU_LANEWISE
constexpr const char* kIsaName = "baseline";

#endif

#ifndef MLXU_HAVE_PARTIAL
// Loads/stores of the first n (< N) lanes, for channel tails.
inline Vec load_partial(const float* p, int n) {
  float tmp[Vec::N] = {};
  std::memcpy(tmp, p, sizeof(float) * n);
  return Vec::load(tmp);
}
inline void store_partial(Vec v, float* p, int n) {
  float tmp[Vec::N];
  v.store(tmp);
  std::memcpy(p, tmp, sizeof(float) * n);
}
#endif

// exp(x), |rel err| < 2e-7 on the clamped range (Cody-Waite reduction, degree-6 polynomial).
__attribute__((always_inline)) inline Vec vexp(Vec x) {
  x = vmin(vmax(x, Vec::splat(-87.3f)), Vec::splat(88.3f));
  Vec n = vround(x * Vec::splat(1.44269504088896341f));
  Vec r = fma(n, Vec::splat(-0.693359375f), x);
  r = fma(n, Vec::splat(2.12194440e-4f), r);
  Vec p = Vec::splat(1.9875691500e-4f);
  p = fma(p, r, Vec::splat(1.3981999507e-3f));
  p = fma(p, r, Vec::splat(8.3334519073e-3f));
  p = fma(p, r, Vec::splat(4.1665795894e-2f));
  p = fma(p, r, Vec::splat(1.6666665459e-1f));
  p = fma(p, r, Vec::splat(5.0000001201e-1f));
  p = fma(p, r * r, r + Vec::splat(1.f));
  return p * exp2_int(n);
}

}  // namespace mlxu
