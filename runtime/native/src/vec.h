// Eight-lane float vectors for the kernels, one definition per instruction set.
//
// kernels_impl.h is written once against this interface and compiled once per
// instruction set (kernels_avx2.cpp, kernels_base.cpp, kernels_neon.cpp); the
// translation unit defines MLXU_ISA_* before including it.
#pragma once

#include <cmath>
#include <cstring>

#if defined(MLXU_ISA_AVX2)
#include <immintrin.h>
#elif defined(MLXU_ISA_NEON)
#include <arm_neon.h>
#endif

namespace mlxu {

#if defined(MLXU_ISA_AVX2)

struct Vec8 {
  __m256 v;
  static Vec8 zero() { return {_mm256_setzero_ps()}; }
  static Vec8 splat(float x) { return {_mm256_set1_ps(x)}; }
  static Vec8 load(const float* p) { return {_mm256_loadu_ps(p)}; }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
};
inline Vec8 fma(Vec8 a, Vec8 b, Vec8 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec8 operator+(Vec8 a, Vec8 b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec8 operator-(Vec8 a, Vec8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec8 operator*(Vec8 a, Vec8 b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec8 vmax(Vec8 a, Vec8 b) { return {_mm256_max_ps(a.v, b.v)}; }
inline Vec8 vmin(Vec8 a, Vec8 b) { return {_mm256_min_ps(a.v, b.v)}; }
inline Vec8 vdiv(Vec8 a, Vec8 b) { return {_mm256_div_ps(a.v, b.v)}; }
// a >= 0 ? a : b, lane by lane
inline Vec8 select_nonneg(Vec8 a, Vec8 b) {
  return {_mm256_blendv_ps(b.v, a.v, _mm256_cmp_ps(a.v, _mm256_setzero_ps(), _CMP_GE_OQ))};
}
// 2^n for integral-valued n in [-126, 127]
inline Vec8 exp2_int(Vec8 n) {
  __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(i, 23))};
}
inline Vec8 vround(Vec8 a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
constexpr const char* kIsaName = "avx2";

#elif defined(MLXU_ISA_NEON)

struct Vec8 {
  float32x4_t lo, hi;
  static Vec8 zero() { return {vdupq_n_f32(0.f), vdupq_n_f32(0.f)}; }
  static Vec8 splat(float x) { return {vdupq_n_f32(x), vdupq_n_f32(x)}; }
  static Vec8 load(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4)}; }
  void store(float* p) const {
    vst1q_f32(p, lo);
    vst1q_f32(p + 4, hi);
  }
};
inline Vec8 fma(Vec8 a, Vec8 b, Vec8 c) { return {vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi)}; }
inline Vec8 operator+(Vec8 a, Vec8 b) { return {vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)}; }
inline Vec8 operator-(Vec8 a, Vec8 b) { return {vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)}; }
inline Vec8 operator*(Vec8 a, Vec8 b) { return {vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)}; }
inline Vec8 vmax(Vec8 a, Vec8 b) { return {vmaxq_f32(a.lo, b.lo), vmaxq_f32(a.hi, b.hi)}; }
inline Vec8 vmin(Vec8 a, Vec8 b) { return {vminq_f32(a.lo, b.lo), vminq_f32(a.hi, b.hi)}; }
inline Vec8 vdiv(Vec8 a, Vec8 b) { return {vdivq_f32(a.lo, b.lo), vdivq_f32(a.hi, b.hi)}; }
inline Vec8 select_nonneg(Vec8 a, Vec8 b) {
  float32x4_t z = vdupq_n_f32(0.f);
  return {vbslq_f32(vcgeq_f32(a.lo, z), a.lo, b.lo), vbslq_f32(vcgeq_f32(a.hi, z), a.hi, b.hi)};
}
inline Vec8 exp2_int(Vec8 n) {
  auto one = [](float32x4_t x) {
    int32x4_t i = vaddq_s32(vcvtnq_s32_f32(x), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(i, 23));
  };
  return {one(n.lo), one(n.hi)};
}
inline Vec8 vround(Vec8 a) { return {vrndnq_f32(a.lo), vrndnq_f32(a.hi)}; }
constexpr const char* kIsaName = "neon";

#else  // portable baseline: plain arrays the compiler vectorizes with what the target has (SSE2 on x86-64)

struct Vec8 {
  float v[8];
  static Vec8 zero() { return splat(0.f); }
  static Vec8 splat(float x) {
    Vec8 r;
    for (int i = 0; i < 8; ++i) r.v[i] = x;
    return r;
  }
  static Vec8 load(const float* p) {
    Vec8 r;
    std::memcpy(r.v, p, sizeof(r.v));
    return r;
  }
  void store(float* p) const { std::memcpy(p, v, sizeof(v)); }
};
#define MLXU_LANEWISE(expr)          \
  Vec8 r;                            \
  for (int i = 0; i < 8; ++i) r.v[i] = expr; \
  return r;
inline Vec8 fma(Vec8 a, Vec8 b, Vec8 c) { MLXU_LANEWISE(a.v[i] * b.v[i] + c.v[i]) }
inline Vec8 operator+(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] + b.v[i]) }
inline Vec8 operator-(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] - b.v[i]) }
inline Vec8 operator*(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] * b.v[i]) }
inline Vec8 vmax(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] > b.v[i] ? a.v[i] : b.v[i]) }
inline Vec8 vmin(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] < b.v[i] ? a.v[i] : b.v[i]) }
inline Vec8 vdiv(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] / b.v[i]) }
inline Vec8 select_nonneg(Vec8 a, Vec8 b) { MLXU_LANEWISE(a.v[i] >= 0.f ? a.v[i] : b.v[i]) }
inline Vec8 exp2_int(Vec8 n) { MLXU_LANEWISE(std::ldexp(1.0f, static_cast<int>(n.v[i]))) }
inline Vec8 vround(Vec8 a) { MLXU_LANEWISE(std::nearbyint(a.v[i])) }
#undef MLXU_LANEWISE
constexpr const char* kIsaName = "baseline";

#endif

// Loads/stores of the first n (< 8) lanes, for channel tails.
inline Vec8 load_partial(const float* p, int n) {
  float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(tmp, p, sizeof(float) * n);
  return Vec8::load(tmp);
}
inline void store_partial(Vec8 v, float* p, int n) {
  float tmp[8];
  v.store(tmp);
  std::memcpy(p, tmp, sizeof(float) * n);
}

// exp(x), |rel err| < 2e-7 on the clamped range (Cody-Waite reduction, degree-6 polynomial).
inline Vec8 vexp(Vec8 x) {
  x = vmin(vmax(x, Vec8::splat(-87.3f)), Vec8::splat(88.3f));
  Vec8 n = vround(x * Vec8::splat(1.44269504088896341f));
  Vec8 r = fma(n, Vec8::splat(-0.693359375f), x);
  r = fma(n, Vec8::splat(2.12194440e-4f), r);
  Vec8 p = Vec8::splat(1.9875691500e-4f);
  p = fma(p, r, Vec8::splat(1.3981999507e-3f));
  p = fma(p, r, Vec8::splat(8.3334519073e-3f));
  p = fma(p, r, Vec8::splat(4.1665795894e-2f));
  p = fma(p, r, Vec8::splat(1.6666665459e-1f));
  p = fma(p, r, Vec8::splat(5.0000001201e-1f));
  p = fma(p, r * r, r + Vec8::splat(1.f));
  return p * exp2_int(n);
}

}  // namespace mlxu
