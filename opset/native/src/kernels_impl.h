// Kernel bodies, written once against vec.h and compiled once per instruction set.
// The including file defines MLXU_ISA_* and MLXU_NS (the namespace of this copy).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

namespace mlxu {
namespace MLXU_NS {

constexpr int kL = Vec::N;  // lanes per vector: channels per step

const KernelTable& table();  // this instruction set's table (defined at the end)

// Small helpers of the hot loops: inlined always, so accumulator arrays stay in registers.
#define MLXU_INLINE inline __attribute__((always_inline))

// ---- epilogue --------------------------------------------------------------------------------

template <Act A>
MLXU_INLINE Vec activate(Vec v, const Epilogue& e, const float* slope_at, int valid) {
  switch (A) {  // a constant: each instantiation keeps one case
    case Act::None:
      return v;
    // NaN stays NaN, as in MLX: every table's vmax(a, b) gives b when b is NaN (x86's maxps returns its
    // second operand, the baseline's `a > b ? a : b` too, NEON's fmax NaN), so the constant goes first.
    case Act::Relu:
      return vmax(Vec::zero(), v);
    case Act::LeakyRelu:
      return select_nonneg(v, v * Vec::splat(e.alpha));
    case Act::Clip:
      return vmin(Vec::splat(e.beta), vmax(Vec::splat(e.alpha), v));  // vmin passes b's NaN as vmax does
    case Act::Sigmoid:  // (vexp clamps its argument, which would turn a NaN into a number on x86)
      return keep_nan(v, vdiv(Vec::splat(1.f), Vec::splat(1.f) + vexp(Vec::zero() - v)));
    case Act::Silu:  // x * sigmoid(x), YOLO's activation
      return keep_nan(v, vdiv(v, Vec::splat(1.f) + vexp(Vec::zero() - v)));
    case Act::HardSwish:
      return v * vmin(vmax(fma(v, Vec::splat(1.f / 6.f), Vec::splat(0.5f)), Vec::zero()), Vec::splat(1.f));
    case Act::PRelu: {
      Vec s = valid == kL ? Vec::load(slope_at) : load_partial(slope_at, valid);
      return select_nonneg(v, v * s);
    }
  }
  return v;
}

// acc holds conv + bias for `valid` channels starting at channel c of output element `at`; the result goes to
// dst (out + at + c in NHWC; elsewhere for a group-major output).
template <Act A>
MLXU_INLINE void finish_store_to(Vec acc, const Epilogue& e, int64_t at, int c, int valid, float* dst) {
  Vec res = Vec::zero();
  if (e.residual) {
    const float* r = e.residual + at + c;
    res = valid == kL ? Vec::load(r) : load_partial(r, valid);
    if (!e.residual_after) acc = acc + res;
  }
  acc = activate<A>(acc, e, e.slope ? e.slope + c : nullptr, valid);
  if (e.residual && e.residual_after) acc = acc + res;
  if (valid == kL)
    acc.store(dst);
  else
    store_partial(acc, dst, valid);
}

template <Act A>
MLXU_INLINE void finish_store(Vec acc, const Epilogue& e, int64_t at, int c, int valid, float* out) {
  finish_store_to<A>(acc, e, at, c, valid, out + at + c);
}

// Calls f(std::integral_constant<Act, e.act>{}): one compiled copy of a kernel per activation.
template <class F>
inline void with_act(Act act, F&& f) {
  switch (act) {
    case Act::None: return f(std::integral_constant<Act, Act::None>{});
    case Act::Relu: return f(std::integral_constant<Act, Act::Relu>{});
    case Act::LeakyRelu: return f(std::integral_constant<Act, Act::LeakyRelu>{});
    case Act::Clip: return f(std::integral_constant<Act, Act::Clip>{});
    case Act::Sigmoid: return f(std::integral_constant<Act, Act::Sigmoid>{});
    case Act::HardSwish: return f(std::integral_constant<Act, Act::HardSwish>{});
    case Act::PRelu: return f(std::integral_constant<Act, Act::PRelu>{});
    case Act::Silu: return f(std::integral_constant<Act, Act::Silu>{});
  }
}

MLXU_INLINE Vec load_bias(const Epilogue& e, int c, int valid) {
  if (!e.bias) return Vec::zero();
  return valid == kL ? Vec::load(e.bias + c) : load_partial(e.bias + c, valid);
}

// ---- depthwise -------------------------------------------------------------------------------

// One output row, one vector of channels [c, c + kL) at a time: walking along the row for a fixed
// channel block reads each input row as a strided stream (prefetch-friendly, and the window rows
// stay in L1/L2), where looping over channels inside each pixel would juggle kh * (kw + 3) streams.
struct DwRow {
  const ConvShape& s;
  const float* img;  // this image
  const float* w;
  const Epilogue& e;
  float* out;
  int64_t out_row;  // offset of (n, oy, 0, 0) in out
  int iy0, ky_lo, ky_hi;
};

// A pixel anywhere (bounds-checked taps, any number of valid channels).
template <Act A>
inline void dw_pixel(const DwRow& r, int ox, int c, int valid) {
  const ConvShape& s = r.s;
  const int C = s.c_in;
  const int ix0 = ox * s.sw - s.pl;
  Vec acc = load_bias(r.e, c, valid);
  for (int ky = r.ky_lo; ky < r.ky_hi; ++ky) {
    const float* row = r.img + static_cast<int64_t>(r.iy0 + ky) * s.w * C + c;
    for (int kx = 0; kx < s.kw; ++kx) {
      const int ix = ix0 + kx;
      if (ix < 0 || ix >= s.w) continue;
      const float* px = row + static_cast<int64_t>(ix) * C;
      const float* wt = r.w + (ky * s.kw + kx) * C + c;
      acc = valid == kL ? fma(Vec::load(px), Vec::load(wt), acc)
                        : fma(load_partial(px, valid), load_partial(wt, valid), acc);
    }
  }
  finish_store<A>(acc, r.e, r.out_row + static_cast<int64_t>(ox) * C, c, valid, r.out);
}

// P output pixels x V channel vectors per step: P * V = 8 independent accumulators, and every load
// walks channels contiguously (NHWC keeps a pixel's channels together), so the hardware prefetchers
// see plain streams. CHECK = some tap of the block lies left/right of the image and reads as zero.
template <Act A, int P, int V, bool CHECK>
MLXU_INLINE void dw_block(const DwRow& r, int c, int ox, int count) {
  const ConvShape& s = r.s;
  const int C = s.c_in;
  Vec acc[P][V];
  for (int v = 0; v < V; ++v) {
    const Vec b = load_bias(r.e, c + v * kL, kL);
    for (int p = 0; p < P; ++p) acc[p][v] = b;
  }
  for (int ky = r.ky_lo; ky < r.ky_hi; ++ky) {
    const float* row = r.img + static_cast<int64_t>(r.iy0 + ky) * s.w * C + c;
    const float* wt = r.w + ky * s.kw * C + c;
    for (int kx = 0; kx < s.kw; ++kx, wt += C) {
      Vec wv[V];
      for (int v = 0; v < V; ++v) wv[v] = Vec::load(wt + v * kL);
      for (int p = 0; p < P; ++p) {
        const int ix = (ox + p) * s.sw - s.pl + kx;
        if (CHECK && (ix < 0 || ix >= s.w)) continue;
        const float* px = row + static_cast<int64_t>(ix) * C;
        for (int v = 0; v < V; ++v) acc[p][v] = fma(Vec::load(px + v * kL), wv[v], acc[p][v]);
      }
    }
  }
  const int64_t at = r.out_row + static_cast<int64_t>(ox) * C;
  for (int p = 0; p < P; ++p)
    if (p < count)
      for (int v = 0; v < V; ++v) finish_store<A>(acc[p][v], r.e, at + static_cast<int64_t>(p) * C, c + v * kL, kL, r.out);
}

template <Act A, int P, int V>
inline void dw_row(const DwRow& r, int c_end) {
  const ConvShape& s = r.s;
  for (int ox = 0; ox < s.wo; ox += P) {
    const int count = std::min(P, s.wo - ox);
    const int ix0 = ox * s.sw - s.pl;
    const bool inside = ix0 >= 0 && ix0 + (P - 1) * s.sw + s.kw <= s.w;
    for (int c = 0; c < c_end; c += V * kL) {
      if (inside)
        dw_block<A, P, V, false>(r, c, ox, count);
      else
        dw_block<A, P, V, true>(r, c, ox, count);
    }
  }
}

// 3x3, the depthwise kernel of every model here, with the stride known at compile time: each of
// the block's input columns is loaded once and feeds every tap that reads it (3 at stride 1), where
// dw_block loads each tap's pixel on its own; all loops unroll, so the 9 weights stay in registers.
// CHECK = a block at the row's ends: columns left or right of the image read as zeros (the conv's zero
// pads) and only the first `count` pixels are stored. Those blocks took the generic dw_block before,
// 2 of 5 blocks of a 40-pixel row. MASK: the last, partial vector of channels (`valid` of them), with masked
// loads and stores (tables with native masking only; see dw3_masked).
template <Act A, int P, int SW, bool CHECK, bool MASK = false>
MLXU_INLINE void dw3_block(const DwRow& r, int c, int ox, int count, int valid = kL) {
  const ConvShape& s = r.s;
  const int64_t C = s.c_in;
  constexpr int kCols = (P - 1) * SW + 3;
  auto load = [valid](const float* q) { return MASK ? load_partial(q, valid) : Vec::load(q); };
  Vec wv[9];
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) wv[t] = load(r.w + t * C + c);
  Vec acc[P];
  const Vec b = load_bias(r.e, c, MASK ? valid : kL);
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) acc[p] = b;
  const int ix_first = ox * SW - s.pl;  // the input column of the block's first column
#pragma GCC unroll 3
  for (int ky = 0; ky < 3; ++ky) {
    if (ky < r.ky_lo || ky >= r.ky_hi) continue;
    const float* row = r.img + static_cast<int64_t>(r.iy0 + ky) * s.w * C + c;
#pragma GCC unroll 64
    for (int j = 0; j < kCols; ++j) {
      const int ix = ix_first + j;
      const Vec xv = !CHECK || (ix >= 0 && ix < s.w) ? load(row + static_cast<int64_t>(ix) * C) : Vec::zero();
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        const int kx = j - p * SW;
        if (kx >= 0 && kx < 3) acc[p] = fma(xv, wv[ky * 3 + kx], acc[p]);
      }
    }
  }
  const int64_t at = r.out_row + static_cast<int64_t>(ox) * C;
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
    if (!CHECK || p < count) finish_store<A>(acc[p], r.e, at + p * C, c, MASK ? valid : kL, r.out);
}

// 16 vector registers (AVX2; NEON's two-register Vecs; SSE's 8): 8 accumulators and the 9 weights spill.
#if defined(MLXU_ISA_AVX512)
constexpr bool kFewRegisters = false;
#else
constexpr bool kFewRegisters = true;
#endif

// P output pixels per block: 8, or 4 on 16-register tables for 64+ channels or stride 2 with 32+
// (measured on AVX2, in-process A/B: 0.69-0.95x the time there; 1.15x at 16 channels, stride 1).
// c_end: the channels in whole vectors; tail: the channels after them, in one masked vector (dw3_masked).
template <Act A, int SW, int P>
inline void dw3_row(const DwRow& r, int c_end, int tail = 0) {
  const ConvShape& s = r.s;
  for (int ox = 0; ox < s.wo; ox += P) {
    const int count = std::min(P, s.wo - ox);
    const int ix0 = ox * SW - s.pl;
    const bool inside = count == P && ix0 >= 0 && ix0 + (P - 1) * SW + 3 <= s.w;
    for (int c = 0; c < c_end; c += kL) {
      if (inside)
        dw3_block<A, P, SW, false>(r, c, ox, P);
      else
        dw3_block<A, P, SW, true>(r, c, ox, count);
    }
    if (tail) {
      if (inside)
        dw3_block<A, P, SW, false, true>(r, c_end, ox, P, tail);
      else
        dw3_block<A, P, SW, true, true>(r, c_end, ox, count, tail);
    }
  }
}

// A 3x3 depthwise conv whose channels end in a partial vector, on a table with native masked loads and
// stores (AVX-512): the tail runs as one masked vector, so 40 channels cost 3 vectors a pixel. (It ran on
// the 8-lane table before: 5 vectors, ~1.5x the time of 48 channels here.)
inline bool dw3_masked(const ConvShape& s) {
#ifdef MLXU_HAVE_PARTIAL
  return s.kh == 3 && s.kw == 3 && (s.sw == 1 || s.sw == 2) && s.c_in > kL && s.c_in % kL != 0;
#else
  (void)s;
  return false;
#endif
}

// Stride-1 rows whose channels do not fill whole vectors (detection heads: 1, 4 or 10 channels): the
// output row is one flat array of wo * C floats, and tap (ky, kx) reads the (zero-padded) input row
// shifted by kx * C floats, so every vector is full; the weights, bias and slope repeat along it with
// period lcm(C, kL). Per channel that walked 80 pixels with a masked load per tap.
inline bool dw_flat(const ConvShape& s) {
  return s.sw == 1 && s.c_in % kL != 0 && std::lcm(s.c_in, kL) * s.kh * s.kw <= (1 << 16);
}

// The weights, bias and slope of a flat row, repeated to `period` floats: made once per conv and thread
// (the next row of the same conv finds them ready). Recognized by value, not by address: small operands
// reach the kernel through the stream's reused scratch buffers, so another conv's arrive at the same one.
struct FlatWeights {
  std::vector<float> buf, src;  // the tiled operands; the operands they were made from
  int c = 0, taps = 0;
  bool has_bias = false, has_slope = false;
  float* get(const DwRow& r, int period) {
    const ConvShape& s = r.s;
    const int C = s.c_in, t_now = s.kh * s.kw;
    const bool b_now = r.e.bias != nullptr, s_now = r.e.slope != nullptr;
    const size_t n = static_cast<size_t>(t_now + 2) * C;
    const bool same = C == c && t_now == taps && b_now == has_bias && s_now == has_slope && src.size() == n &&
                      !std::memcmp(src.data(), r.w, sizeof(float) * t_now * C) &&
                      (!b_now || !std::memcmp(src.data() + t_now * C, r.e.bias, sizeof(float) * C)) &&
                      (!s_now || !std::memcmp(src.data() + (t_now + 1) * C, r.e.slope, sizeof(float) * C));
    if (same) return buf.data();
    c = C, taps = t_now, has_bias = b_now, has_slope = s_now;
    src.assign(n, 0.f);
    std::memcpy(src.data(), r.w, sizeof(float) * taps * C);
    if (b_now) std::memcpy(src.data() + taps * C, r.e.bias, sizeof(float) * C);
    if (s_now) std::memcpy(src.data() + (taps + 1) * C, r.e.slope, sizeof(float) * C);
    buf.resize(static_cast<size_t>((taps + 2) * period));
    for (int t = 0; t < taps + 2; ++t)  // taps, then bias, then slope (zeros where absent)
      for (int j = 0, ch = 0; j < period; ++j, ch = ch + 1 == C ? 0 : ch + 1) buf[t * period + j] = src[t * C + ch];
    return buf.data();
  }
};

template <Act A>
inline void dw_flat_row(const DwRow& r) {
  const ConvShape& s = r.s;
  const int C = s.c_in, taps = s.kh * s.kw;
  const int period = std::lcm(C, kL);
  const int64_t len = static_cast<int64_t>(s.wo) * C;
  const int64_t in_len = static_cast<int64_t>(s.wo + s.kw - 1) * C + 4 * kL;  // slack for the last block's loads
  thread_local FlatWeights tiled;
  thread_local std::vector<float> row_buf;
  const float* wt = tiled.get(r, period);  // [taps][period], then bias [period], slope [period]
  const float* bias = wt + taps * period;
  const float* slope = bias + period;
  if (row_buf.size() < static_cast<size_t>(s.kh * in_len)) row_buf.resize(static_cast<size_t>(s.kh * in_len));
  float* rows = row_buf.data();  // [kh][in_len]
  for (int ky = r.ky_lo; ky < r.ky_hi; ++ky) {
    float* row = rows + ky * in_len;
    const float* src = r.img + static_cast<int64_t>(r.iy0 + ky) * s.w * C;
    std::memset(row, 0, sizeof(float) * in_len);
    const int x0 = std::max(0, s.pl), x1 = std::min(s.wo + s.kw - 1, s.w + s.pl);  // padded columns inside the image
    if (x1 > x0) std::memcpy(row + static_cast<int64_t>(x0) * C, src + static_cast<int64_t>(x0 - s.pl) * C, sizeof(float) * (x1 - x0) * C);
  }
  // U vectors at a time: independent accumulators, so the taps' FMAs do not wait on each other
  constexpr int U = 4;
  const int64_t res = r.out_row;
  int jm = 0;  // j % period
  for (int64_t j = 0; j < len; j += U * kL) {
    Vec acc[U];
    int jms[U];
    for (int u = 0; u < U; ++u) {
      jms[u] = jm;
      acc[u] = Vec::load(bias + jm);
      jm = jm + kL == period ? 0 : jm + kL;
    }
    for (int ky = r.ky_lo; ky < r.ky_hi; ++ky) {
      const float* row = rows + ky * in_len + j;
      const float* w = wt + ky * s.kw * period;
      for (int kx = 0; kx < s.kw; ++kx, row += C, w += period)
        for (int u = 0; u < U; ++u) acc[u] = fma(Vec::load(row + u * kL), Vec::load(w + jms[u]), acc[u]);
    }
    for (int u = 0; u < U; ++u) {
      const int64_t at = j + u * kL;
      if (at >= len) break;
      const int valid = static_cast<int>(std::min<int64_t>(kL, len - at));
      Vec v = acc[u], rv = Vec::zero();
      if (r.e.residual) {
        rv = valid == kL ? Vec::load(r.e.residual + res + at) : load_partial(r.e.residual + res + at, valid);
        if (!r.e.residual_after) v = v + rv;
      }
      v = activate<A>(v, r.e, slope + jms[u], kL);
      if (r.e.residual && r.e.residual_after) v = v + rv;
      if (valid == kL)
        v.store(r.out + res + at);
      else
        store_partial(v, r.out + res + at, valid);
    }
  }
}

// Output row (n, oy) of a depthwise conv, stored at out + out_row (the residual read at the same offset).
template <Act A>
inline void depthwise_row(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out,
                          int n, int oy, int64_t out_row) {
  const int C = s.c_in;
  const int iy0 = oy * s.sh - s.pt;
  const DwRow r{s, x + static_cast<int64_t>(n) * s.h * s.w * C, w, e, out,
                out_row, iy0, std::max(0, -iy0), std::min(s.kh, s.h - iy0)};
  const int vectors = C / kL;  // full channel vectors; the tail (C % kL) goes pixel by pixel, or masked
  if (dw3_masked(s))
    return s.sw == 1 ? dw3_row<A, 1, 8>(r, vectors * kL, C % kL) : dw3_row<A, 2, 8>(r, vectors * kL, C % kL);
  if (dw_flat(s)) return dw_flat_row<A>(r);
  const bool k3 = s.kh == 3 && s.kw == 3;
  const bool small_tile = kFewRegisters && (vectors * kL >= 64 || (s.sw == 2 && vectors * kL >= 32));
  if (k3 && s.sw == 1 && vectors)
    small_tile ? dw3_row<A, 1, 4>(r, vectors * kL) : dw3_row<A, 1, 8>(r, vectors * kL);
  else if (k3 && s.sw == 2 && vectors)
    small_tile ? dw3_row<A, 2, 4>(r, vectors * kL) : dw3_row<A, 2, 8>(r, vectors * kL);
  else if (vectors % 8 == 0 && vectors)
    dw_row<A, 1, 8>(r, vectors * kL);
  else if (vectors % 4 == 0 && vectors)
    dw_row<A, 2, 4>(r, vectors * kL);
  else if (vectors % 2 == 0 && vectors)
    dw_row<A, 4, 2>(r, vectors * kL);
  else if (vectors)
    dw_row<A, 8, 1>(r, vectors * kL);
  if (C % kL)
    for (int ox = 0; ox < s.wo; ++ox) dw_pixel<A>(r, ox, vectors * kL, C % kL);
}

// A float buffer of at least n floats starting on a cache line, kept per thread (slot: which one).
inline float* thread_buffer(int slot, size_t n) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n + 16) b.resize(n + 16);
  return b.data() + (64 - reinterpret_cast<uintptr_t>(b.data()) % 64) % 64 / sizeof(float);
}

// out (wo / 2 pixels) = the 2x2 max of conv rows a and b (wo pixels of C each); NaN propagates as in max_pool.
inline void pool2_rows(const float* a, const float* b, int wo, int C, float* out) {
  for (int ox = 0; ox + 1 < wo; ox += 2) {
    const float* a0 = a + static_cast<int64_t>(ox) * C;
    const float* b0 = b + static_cast<int64_t>(ox) * C;
    float* o = out + static_cast<int64_t>(ox / 2) * C;
    int c = 0;
    for (; c + kL <= C; c += kL) {
      Vec m = Vec::load(a0 + c);
      for (const float* p : {a0 + C + c, b0 + c, b0 + C + c}) {
        const Vec v = Vec::load(p);
        m = keep_nan(v, vmax(v, m));
      }
      m.store(o + c);
    }
    for (; c < C; ++c) {
      float m = a0[c];
      for (float v : {a0[C + c], b0[c], b0[C + c]}) m = (v != v || v > m) ? v : m;
      o[c] = m;
    }
  }
}

// A depthwise conv whose output only a 2x2 stride-2 max pool reads (s.pool2; YuNet): each thread makes two conv
// rows in a buffer of its own and stores their pooled row, so the conv's map is never written and read back.
template <Act A>
void depthwise_pooled(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out) {
  const int64_t pairs = static_cast<int64_t>(s.n) * (s.ho / 2);
  const int64_t row = static_cast<int64_t>(s.wo) * s.c_in;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, row * s.kh * s.kw));
  ThreadPool::instance().parallel_for(pairs, grain, [&](int64_t p0, int64_t p1) {
    float* tmp = thread_buffer(0, static_cast<size_t>(2 * row));  // the fused kernels' slots: none runs inside
    for (int64_t q = p0; q < p1; ++q) {
      const int n = static_cast<int>(q / (s.ho / 2)), oy = static_cast<int>(q % (s.ho / 2)) * 2;
      depthwise_row<A>(s, x, w, e, tmp, n, oy, 0);
      depthwise_row<A>(s, x, w, e, tmp, n, oy + 1, row);
      pool2_rows(tmp, tmp + row, s.wo, s.c_in, out + q * (row / 2));
    }
  });
}

void depthwise(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out) {
#ifdef MLXU_NARROW_TABLE
  // Channel counts that are not a multiple of this table's width run faster on the narrower table (full
  // vectors there, a tail pixel by pixel here), except 3x3 convs, whose tail this table masks (dw3_masked).
  if (s.c_in % kL != 0 && !dw3_masked(s)) return MLXU_NARROW_TABLE().depthwise(s, x, w, e, out);
#endif
  if (s.pool2) {
    with_act(e.act, [&](auto act) { depthwise_pooled<decltype(act)::value>(s, x, w, e, out); });
    return;
  }
  const int64_t rows = static_cast<int64_t>(s.n) * s.ho;
  const int64_t work_per_row = static_cast<int64_t>(s.wo) * s.c_in * s.kh * s.kw;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, work_per_row));
  with_act(e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        depthwise_row<A>(s, x, w, e, out, static_cast<int>(r / s.ho), static_cast<int>(r % s.ho), r * s.wo * s.c_in);
    });
  });
}

// Depthwise output row r (of n * ho) into out (wo * c floats), on the calling thread; e has no residual.
void depthwise_row_into(const ConvShape& s, const float* x, const float* w, const Epilogue& e, int64_t r,
                        float* out) {
  with_act(e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    depthwise_row<A>(s, x, w, e, out, static_cast<int>(r / s.ho), static_cast<int>(r % s.ho), 0);
  });
}

// ---- dense (pointwise and kxk) as an implicit GEMM ------------------------------------------
//
// Output pixel m's row of the im2col matrix is kh segments of kw*C_in contiguous
// floats (NHWC keeps a window row contiguous), so A is read in place through
// per-pixel segment pointers; pixels whose window crosses the border get a
// zero-padded copy of their window. B is the HWIO weight, [K, C_out] row-major,
// read an NR-column panel at a time (the last, narrower panel is copied padded).

#ifndef MLXU_MR
#define MLXU_MR 6
#endif
constexpr int MR = MLXU_MR;  // output pixels per micro-tile
constexpr int NR = 2 * kL;   // output channels per panel

template <int NV>  // NV vectors of kL output channels
inline void micro_kernel(const float* const* seg, int nseg, int seg_len, const float* b, int64_t ldb,
                         Vec (&acc)[MR][2]) {
  for (int sgi = 0; sgi < nseg; ++sgi) {
    const float* a[MR];
    for (int i = 0; i < MR; ++i) a[i] = seg[i * nseg + sgi];
    const float* bk = b + static_cast<int64_t>(sgi) * seg_len * ldb;
    for (int k = 0; k < seg_len; ++k, bk += ldb) {
      const Vec b0 = Vec::load(bk);
      const Vec b1 = NV == 2 ? Vec::load(bk + kL) : b0;
      for (int i = 0; i < MR; ++i) {
        const Vec v = Vec::splat(a[i][k]);
        acc[i][0] = fma(v, b0, acc[i][0]);
        if (NV == 2) acc[i][1] = fma(v, b1, acc[i][1]);
      }
    }
  }
}

// Output pixel m's pixel in the residual's coarser map (ConvShape::res_fh, res_fw): by division for a tile's
// first pixel, then by stepping.
struct CoarsePos {
  int n, oy, ox, cy, cx, rx;  // output pixel (n, oy, ox); coarse row and column (oy / res_fh, ox / res_fw); ox % res_fw
  CoarsePos(const ConvShape& s, int64_t m)
      : n(static_cast<int>(m / s.wo / s.ho)), oy(static_cast<int>((m / s.wo) % s.ho)), ox(static_cast<int>(m % s.wo)),
        cy(oy / s.res_fh), cx(ox / s.res_fw), rx(ox % s.res_fw) {}
  int64_t at(const ConvShape& s) const {
    return (static_cast<int64_t>(n) * (s.ho / s.res_fh) + cy) * (s.wo / s.res_fw) + cx;
  }
  void next(const ConvShape& s) {
    if (++ox == s.wo) {
      ox = cx = rx = 0;
      if (++oy == s.ho) oy = 0, ++n;
      cy = oy / s.res_fh;
    } else if (++rx == s.res_fw) {
      rx = 0, ++cx;
    }
  }
};

struct DenseJob {
  const ConvShape* s;
  const float* x;
  const Epilogue* e;
  float* out;
  int64_t K;  // NHWC: k = (ky * kw + kx) * C_in + c; NCHW: k = (c * kh + ky) * kw + kx
  int nseg, seg_len;
  bool pointwise;  // 1x1, stride 1, no padding: pixel m's row is x + m * x_stride
  // W repacked, cache-line aligned: [C_out / NR panels][K][NR] zero-padded for the GEMM,
  // or [C_out][K] (W transposed) for the dot-product path
  const float* panels;
  int64_t x_stride = 0;  // pointwise: floats from one pixel of x to the next (0: C_in)
  // a 1x1 conv over parts (dense_parts): segment k of pixel m starts at seg_base[k] + m * seg_stride[k]
  const float* const* seg_base = nullptr;
  const int64_t* seg_stride = nullptr;
};

// (n, oy, ox) of output pixel m: by division for a tile's first pixel, then by stepping (divisions cost
// ~25 cycles each). A tile's pixels past the last one (M) stay at the last one, whose window is valid.
struct PixelPos {
  int n, oy, ox;
  PixelPos(const ConvShape& s, int64_t m)
      : n(static_cast<int>(m / s.wo / s.ho)), oy(static_cast<int>((m / s.wo) % s.ho)), ox(static_cast<int>(m % s.wo)) {}
  void next(const ConvShape& s) {
    if (++ox == s.wo) {
      ox = 0;
      if (++oy == s.ho) oy = 0, ++n;
    }
  }
};

// pixel_segments for an NCHW input: segment (c, ky) of a pixel is its window row in channel c's plane,
// kw contiguous floats; windows that cross the border get a zero-padded copy in (c, ky, kx) order.
inline void nchw_segments(const DenseJob& j, int64_t m0, int64_t M, const float** seg, float* scratch, PixelPos pos) {
  const ConvShape& s = *j.s;
  const int C = s.c_in;
  const int64_t plane = static_cast<int64_t>(s.h) * s.w;
  {  // the common case: MR pixels along one output row, all windows inside the image
    const int iy0 = pos.oy * s.sh - s.pt, ix0 = pos.ox * s.sw - s.pl;
    if (m0 + MR <= M && pos.ox + MR <= s.wo && iy0 >= 0 && iy0 + s.kh <= s.h && ix0 >= 0 &&
        ix0 + (MR - 1) * s.sw + s.kw <= s.w) {
      const float* base = j.x + static_cast<int64_t>(pos.n) * C * plane + static_cast<int64_t>(iy0) * s.w + ix0;
      for (int c = 0; c < C; ++c)
        for (int ky = 0; ky < s.kh; ++ky) {
          const float* row = base + c * plane + static_cast<int64_t>(ky) * s.w;
          const int sg = c * s.kh + ky;
          for (int i = 0; i < MR; ++i) seg[i * j.nseg + sg] = row + i * s.sw;
        }
      return;
    }
  }
  for (int i = 0; i < MR; ++i) {
    if (i > 0 && m0 + i < M) pos.next(s);
    const int iy0 = pos.oy * s.sh - s.pt, ix0 = pos.ox * s.sw - s.pl;
    const float* img = j.x + static_cast<int64_t>(pos.n) * C * plane;
    const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + s.kh <= s.h && ix0 + s.kw <= s.w;
    float* patch = scratch + static_cast<int64_t>(i) * C * s.kh * s.kw;
    for (int c = 0; c < C; ++c) {
      for (int ky = 0; ky < s.kh; ++ky) {
        const int iy = iy0 + ky;
        const float* row = img + c * plane + static_cast<int64_t>(iy) * s.w;
        const float** at = seg + i * j.nseg + c * s.kh + ky;
        if (inside) {
          *at = row + ix0;
          continue;
        }
        float* dst = patch + (c * s.kh + ky) * s.kw;
        for (int kx = 0; kx < s.kw; ++kx) {
          const int ix = ix0 + kx;
          dst[kx] = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ? row[ix] : 0.f;
        }
        *at = dst;
      }
    }
  }
}

// Fills seg[MR][nseg] for the pixels m0..m0+MR-1 (clamped to the last pixel).
inline void pixel_segments(const DenseJob& j, int64_t m0, int64_t M, const float** seg, float* scratch) {
  const ConvShape& s = *j.s;
  const int C = s.c_in;
  if (j.seg_base) {
    for (int i = 0; i < MR; ++i) {
      const int64_t m = std::min(m0 + i, M - 1);
      for (int k = 0; k < j.nseg; ++k) seg[i * j.nseg + k] = j.seg_base[k] + m * j.seg_stride[k];
    }
    return;
  }
  if (j.pointwise) {
    const int64_t stride = j.x_stride ? j.x_stride : C;
    for (int i = 0; i < MR; ++i) seg[i] = j.x + std::min(m0 + i, M - 1) * stride;
    return;
  }
  const int64_t win = static_cast<int64_t>(s.kh) * s.kw * C;
  PixelPos pos(s, m0);
  if (s.nchw) return nchw_segments(j, m0, M, seg, scratch, pos);
  {  // the common case: MR pixels along one output row, all windows inside the image
    const int iy0 = pos.oy * s.sh - s.pt, ix0 = pos.ox * s.sw - s.pl;
    if (m0 + MR <= M && pos.ox + MR <= s.wo && iy0 >= 0 && iy0 + s.kh <= s.h && ix0 >= 0 &&
        ix0 + (MR - 1) * s.sw + s.kw <= s.w) {
      const float* base = j.x + (static_cast<int64_t>(pos.n) * s.h + iy0) * s.w * C + static_cast<int64_t>(ix0) * C;
      const int64_t step = static_cast<int64_t>(s.sw) * C, row = static_cast<int64_t>(s.w) * C;
      for (int i = 0; i < MR; ++i)
        for (int ky = 0; ky < s.kh; ++ky) seg[i * j.nseg + ky] = base + i * step + ky * row;
      return;
    }
  }
  for (int i = 0; i < MR; ++i) {
    if (i > 0 && m0 + i < M) pos.next(s);
    const int iy0 = pos.oy * s.sh - s.pt, ix0 = pos.ox * s.sw - s.pl;
    const float* img = j.x + static_cast<int64_t>(pos.n) * s.h * s.w * C;
    const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + s.kh <= s.h && ix0 + s.kw <= s.w;
    if (inside) {
      for (int ky = 0; ky < s.kh; ++ky) seg[i * j.nseg + ky] = img + (static_cast<int64_t>(iy0 + ky) * s.w + ix0) * C;
    } else {
      float* patch = scratch + i * win;
      std::memset(patch, 0, sizeof(float) * win);
      for (int ky = 0; ky < s.kh; ++ky) {
        const int iy = iy0 + ky;
        if (iy >= 0 && iy < s.h) {
          for (int kx = 0; kx < s.kw; ++kx) {
            const int ix = ix0 + kx;
            if (ix >= 0 && ix < s.w)
              std::memcpy(patch + (ky * s.kw + kx) * C, img + (static_cast<int64_t>(iy) * s.w + ix) * C,
                          sizeof(float) * C);
          }
        }
        seg[i * j.nseg + ky] = patch + ky * s.kw * C;
      }
    }
  }
}

template <Act A>
inline void dense_tiles(const DenseJob& j, int64_t t0, int64_t t1, std::vector<float>& scratch) {
  const ConvShape& s = *j.s;
  const int64_t M = static_cast<int64_t>(s.n) * s.ho * s.wo;
  const int Co = s.c_out;
  const int64_t win = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  if (!j.pointwise) scratch.resize(static_cast<size_t>(MR * win));
  const float* seg[MR * kMaxSegments];
  // a group-major output (ConvShape::out_group): image n's pixel p, channel c at [n][c / g][p][c % g]
  const int g = s.out_group;
  const int64_t hw = static_cast<int64_t>(s.ho) * s.wo, plane = hw * g;
  const bool up = s.res_fh * s.res_fw > 1;  // the residual is the output's coarser level
  int64_t where[MR];   // each pixel's first output element: NHWC, or its place in group 0
  int64_t res_at[MR];  // and its residual's
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t m0 = t * MR;
    const int rows = static_cast<int>(std::min<int64_t>(MR, M - m0));
    pixel_segments(j, m0, M, seg, scratch.data());
    if (g) {
      int64_t n = m0 / hw, p = m0 - n * hw;
      for (int i = 0; i < rows; ++i, ++p) {
        if (p == hw) p = 0, ++n;
        where[i] = n * hw * Co + p * g;
      }
    } else {
      for (int i = 0; i < rows; ++i) where[i] = (m0 + i) * Co;
    }
    if (up) {
      CoarsePos pos(s, m0);
      for (int i = 0; i < rows; ++i, pos.next(s)) res_at[i] = pos.at(s) * Co;
    } else {
      for (int i = 0; i < rows; ++i) res_at[i] = (m0 + i) * Co;
    }
    for (int col = 0; col < Co; col += NR) {
      const int width = std::min(NR, Co - col);
      const float* b = j.panels + (col / NR) * j.K * NR;
      const int64_t ldb = NR;
      Vec acc[MR][2];
      const Vec b0 = load_bias(*j.e, col, std::min(kL, width));
      const Vec b1 = width > kL ? load_bias(*j.e, col + kL, width - kL) : Vec::zero();
      for (int i = 0; i < MR; ++i) acc[i][0] = b0, acc[i][1] = b1;
      if (width > kL)
        micro_kernel<2>(seg, j.nseg, j.seg_len, b, ldb, acc);
      else
        micro_kernel<1>(seg, j.nseg, j.seg_len, b, ldb, acc);
      // where channels col and col + kL go, relative to a pixel's first element
      const int64_t to0 = g ? (col / g) * plane + col % g : col;
      const int64_t to1 = g ? ((col + kL) / g) * plane + (col + kL) % g : col + kL;
      for (int i = 0; i < rows; ++i) {
        finish_store_to<A>(acc[i][0], *j.e, res_at[i], col, std::min(kL, width), j.out + where[i] + to0);
        if (width > kL) finish_store_to<A>(acc[i][1], *j.e, res_at[i], col + kL, width - kL, j.out + where[i] + to1);
      }
    }
  }
}

// Tiny C_out (detection heads: 2, 4, 8 channels): one dot product per output over K, vectorized
// along K (the GEMM would fill a 16/32-wide panel with zeros); j.panels holds W transposed.
template <Act A>
inline void dense_dot_tiles(const DenseJob& j, int64_t t0, int64_t t1, std::vector<float>& scratch) {
  const ConvShape& s = *j.s;
  const int64_t M = static_cast<int64_t>(s.n) * s.ho * s.wo;
  const int Co = s.c_out;
  const int64_t win = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  if (!j.pointwise) scratch.resize(static_cast<size_t>(MR * win));
  const float* seg[MR * kMaxSegments];
  alignas(64) float row[kL];
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t m0 = t * MR;
    const int rows = static_cast<int>(std::min<int64_t>(MR, M - m0));
    pixel_segments(j, m0, M, seg, scratch.data());
    float res[MR][kL];
    for (int co = 0; co < Co; ++co) {
      Vec acc[MR];
      for (int i = 0; i < MR; ++i) acc[i] = Vec::zero();
      for (int sgi = 0; sgi < j.nseg; ++sgi) {
        const float* wk = j.panels + static_cast<int64_t>(co) * j.K + static_cast<int64_t>(sgi) * j.seg_len;
        int k = 0;
        for (; k + kL <= j.seg_len; k += kL) {
          const Vec wv = Vec::load(wk + k);
          for (int i = 0; i < MR; ++i) acc[i] = fma(Vec::load(seg[i * j.nseg + sgi] + k), wv, acc[i]);
        }
        if (k < j.seg_len) {
          const int n = j.seg_len - k;
          const Vec wv = load_partial(wk + k, n);
          for (int i = 0; i < MR; ++i) acc[i] = fma(load_partial(seg[i * j.nseg + sgi] + k, n), wv, acc[i]);
        }
      }
      for (int i = 0; i < MR; ++i) {
        acc[i].store(row);
        float sum = 0.f;
        for (int l = 0; l < kL; ++l) sum += row[l];
        res[i][co] = sum;
      }
    }
    for (int i = 0; i < rows; ++i) {  // bias, residual, activation on the (short) output row
      const Vec v = load_partial(res[i], Co) + load_bias(*j.e, 0, Co);
      finish_store<A>(v, *j.e, (m0 + i) * Co, 0, Co, j.out);
    }
  }
}

constexpr int kDotMaxCo = 8;

// Only long dot products take the dot path: each output pays a horizontal sum, which short K cannot amortize.
inline bool dot_path(const ConvShape& s) {
  const int64_t K = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  return s.c_out <= kDotMaxCo && s.c_out < kL && K >= 8 * kL;
}

#include "winograd_impl.h"
#include "stem_impl.h"

// Floats dense_pack writes: NR-wide zero-padded panels for the GEMM, W transposed for the dot path,
// or Winograd's transformed weights.
size_t dense_packed_size(const ConvShape& s) {
  if (s.winograd) return winograd_packed_size(s);
  const int64_t K = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  const int64_t panels = (s.c_out + NR - 1) / NR;
  return static_cast<size_t>(dot_path(s) ? s.c_out * K : panels * K * NR);
}

// W (HWIO) in the layout dense() reads; `packed` must be cache-line aligned.
void dense_pack(const ConvShape& s, const float* w, float* packed) {
  if (s.winograd) return winograd_pack(s, w, packed);
  const int64_t K = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  // HWIO row of the packed row k (an NCHW input walks K channel-major)
  auto src_row = [&](int64_t k) -> int64_t {
    if (!s.nchw) return k;
    const int64_t kx = k % s.kw, ky = (k / s.kw) % s.kh, c = k / (static_cast<int64_t>(s.kw) * s.kh);
    return (ky * s.kw + kx) * s.c_in + c;
  };
  if (dot_path(s)) {
    for (int64_t k = 0; k < K; ++k)
      for (int co = 0; co < s.c_out; ++co) packed[co * K + k] = w[src_row(k) * s.c_out + co];
    return;
  }
  const int64_t panels = (s.c_out + NR - 1) / NR;
  for (int64_t p = 0; p < panels; ++p) {
    const int col = static_cast<int>(p * NR), width = std::min(NR, s.c_out - col);
    float* dst = packed + p * K * NR;
    for (int64_t k = 0; k < K; ++k) {
      std::memcpy(dst + k * NR, w + src_row(k) * s.c_out + col, sizeof(float) * width);
      if (width < NR) std::memset(dst + k * NR + width, 0, sizeof(float) * (NR - width));
    }
  }
}

// The coarse residual (s.res_fh, s.res_fw) upsampled to the output's shape, for the paths that read a residual
// of the output's shape: run(plain shape, epilogue reading it).
template <class F>
void with_full_residual(const ConvShape& s, const Epilogue& e, F&& run) {
  ConvShape plain = s;
  plain.res_fh = plain.res_fw = 1;
  const int hc = s.ho / s.res_fh, wc = s.wo / s.res_fw, Co = s.c_out;
  std::vector<float> full(static_cast<size_t>(s.n) * s.ho * s.wo * Co);
  for (int64_t n = 0; n < s.n; ++n)
    for (int oy = 0; oy < s.ho; ++oy)
      for (int ox = 0; ox < s.wo; ++ox)
        std::memcpy(full.data() + ((n * s.ho + oy) * s.wo + ox) * Co,
                    e.residual + ((n * hc + oy / s.res_fh) * wc + ox / s.res_fw) * Co, sizeof(float) * Co);
  Epilogue with_full = e;
  with_full.residual = full.data();
  run(plain, with_full);
}

// The GEMM (or, for tiny C_out, dot-product) tiles of job j over the output's pixels, on the pool's threads.
void run_dense_job(const ConvShape& s, const DenseJob& j) {
  const int64_t M = static_cast<int64_t>(s.n) * s.ho * s.wo;
  const int64_t tiles = (M + MR - 1) / MR;
  const int64_t flops_per_tile = MR * j.K * s.c_out;
  const int64_t grain = std::max<int64_t>(1, (1 << 17) / std::max<int64_t>(1, flops_per_tile));
  const bool dot = dot_path(s);
  with_act(j.e->act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    ThreadPool::instance().parallel_for(tiles, grain, [&](int64_t t0, int64_t t1) {
      thread_local std::vector<float> scratch;
      if (dot)
        dense_dot_tiles<A>(j, t0, t1, scratch);
      else
        dense_tiles<A>(j, t0, t1, scratch);
    });
  });
}

void dense(const ConvShape& s, const float* x, const float* packed, const Epilogue& e, float* out) {
  if (s.res_fh * s.res_fw > 1 && (s.winograd || stem_path(s) || dot_path(s))) {
    // only the GEMM tiles read a coarser residual: the other paths get it upsampled first
    return with_full_residual(s, e, [&](const ConvShape& plain, const Epilogue& full) { dense(plain, x, packed, full, out); });
  }
  if (s.out_group && (s.winograd || stem_path(s) || dot_path(s))) {
    // only the GEMM tiles write group-major: the other paths write NHWC, and the groups are placed after
    ConvShape nhwc = s;
    nhwc.out_group = 0;
    const int64_t hw = static_cast<int64_t>(s.ho) * s.wo, g = s.out_group, Co = s.c_out;
    std::vector<float> tmp(static_cast<size_t>(s.n * hw * Co));
    dense(nhwc, x, packed, e, tmp.data());
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t p = 0; p < hw; ++p)
        for (int64_t c = 0; c < Co; ++c) out[n * hw * Co + (c / g) * hw * g + p * g + c % g] = tmp[(n * hw + p) * Co + c];
    return;
  }
  if (s.winograd) return winograd(s, x, packed, e, out);
  if (stem_path(s)) {  // the 3-channel stem: its own kernel over padded row bands
    if (s.nchw)
      return stem_conv<StemSource::F32Planar>(s, x, nullptr, packed, e, out);
    return stem_conv<StemSource::F32>(s, x, nullptr, packed, e, out);
  }
  const bool pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && !(s.pt | s.pl | s.pb | s.pr);
  const int64_t K = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  const DenseJob j{&s, x, &e, out, K, s.nchw ? s.c_in * s.kh : s.kh, s.nchw ? s.kw : s.kw * s.c_in,
                   pointwise && !s.nchw, packed};
  run_dense_job(s, j);
}

// A 1x1 conv over the channel concatenation of parts, read in place: each part's channels are segments of the
// widths' greatest common divisor, so a pixel's K is gcd-long segments from the parts, in order.
void dense_parts(const ConvShape& s, const float* const* parts, const int* widths, const int64_t* row_strides,
                 int nparts, const float* packed, const Epilogue& e, float* out) {
  if (s.res_fh * s.res_fw > 1 && dot_path(s)) {
    return with_full_residual(s, e, [&](const ConvShape& plain, const Epilogue& full) {
      dense_parts(plain, parts, widths, row_strides, nparts, packed, full, out);
    });
  }
  const int seg = concat_conv_segment(widths, nparts);
  const float* base[kMaxSegments];
  int64_t stride[kMaxSegments];
  int nseg = 0;
  for (int k = 0; k < nparts; ++k)
    for (int c = 0; c < widths[k]; c += seg, ++nseg) base[nseg] = parts[k] + c, stride[nseg] = row_strides[k];
  DenseJob j{&s, nullptr, &e, out, s.c_in, nseg, seg, false, packed};
  j.seg_base = base, j.seg_stride = stride;
  run_dense_job(s, j);
}


// ---- depthwise then pointwise, fused ------------------------------------------------------------
//
// A depthwise conv whose output only feeds a 1x1 conv (MobileNet blocks): each depthwise output row is
// computed into a per-thread buffer that stays in L1/L2 and multiplied by the pointwise weights at
// once, so the intermediate map is never written to memory and read back.

// The 1x1 conv pw (stride 1, no padding) over `px` consecutive pixels at x (pw.c_in each, x_stride floats apart;
// 0: pw.c_in) into out (pw.c_out each); e's residual, if any, already points at these pixels' first one.
inline void pointwise_pixels(const ConvShape& pw, const float* x, int64_t px, const float* packed, const Epilogue& e,
                             float* out, int64_t x_stride = 0) {
  ConvShape block = pw;
  block.n = 1, block.h = 1, block.w = static_cast<int>(px), block.ho = 1, block.wo = static_cast<int>(px);
  const DenseJob j{&block, x, &e, out, pw.c_in, 1, pw.c_in, true, packed, x_stride};
  const int64_t tiles = (px + MR - 1) / MR;
  const bool dot = dot_path(pw);
  with_act(e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    thread_local std::vector<float> scratch;
    if (dot)
      dense_dot_tiles<A>(j, 0, tiles, scratch);
    else
      dense_tiles<A>(j, 0, tiles, scratch);
  });
}

#ifdef MLXU_NARROW_TABLE
// the depthwise rows run on the narrower table when the channels do not fill this one's vectors
inline const KernelTable& dw_row_table(const ConvShape& dw) {
  return dw.c_in % kL != 0 && !dw3_masked(dw) ? MLXU_NARROW_TABLE() : table();
}
#else
inline const KernelTable& dw_row_table(const ConvShape&) { return table(); }
#endif

void dw_pw(const ConvShape& dw, const float* x, const float* w_dw, const Epilogue& e_dw, const ConvShape& pw,
           const float* packed_pw, const Epilogue& e_pw, float* out) {
  const KernelTable& dw_table = dw_row_table(dw);
  const int64_t rows = static_cast<int64_t>(dw.n) * dw.ho;
  const int64_t row_px = dw.wo;
  const int C = dw.c_in, Co = pw.c_out;
  // Rows go through in blocks of about 32K floats of depthwise output (L2-resident), so the pointwise
  // GEMM runs over whole blocks rather than single short rows (a 20-pixel row wastes part of a tile).
  const int64_t block_rows = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, row_px * C));
  const int64_t work_per_row = row_px * C * (static_cast<int64_t>(dw.kh) * dw.kw + Co);
  // a claimed chunk is at least one block, unless that would leave a thread without work
  const int64_t threads = ThreadPool::instance().num_threads();
  const int64_t grain = std::max<int64_t>({int64_t{1}, (1 << 16) / std::max<int64_t>(1, work_per_row),
                                           std::min(block_rows, rows / std::max<int64_t>(1, 2 * threads))});
  ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    float* tmp = thread_buffer(0, static_cast<size_t>(std::min(block_rows, r1 - r0) * row_px * C));
    for (int64_t b0 = r0; b0 < r1; b0 += block_rows) {
      const int64_t b1 = std::min(r1, b0 + block_rows);
      for (int64_t r = b0; r < b1; ++r) dw_table.depthwise_row_into(dw, x, w_dw, e_dw, r, tmp + (r - b0) * row_px * C);
      // the block's rows, consecutive in the output, as the pointwise conv's whole input
      Epilogue e = e_pw;
      if (e.residual) e.residual += b0 * row_px * Co;
      pointwise_pixels(pw, tmp, (b1 - b0) * row_px, packed_pw, e, out + b0 * row_px * Co);
    }
  });
}

// ---- pointwise then depthwise (then pointwise), fused ------------------------------------------------
//
// A 1x1 conv whose output only feeds a depthwise conv (YuNet's blocks: 1x1, then 3x3 depthwise): each
// thread walks its output rows in blocks and makes the 1x1 output rows the block's depthwise windows
// read (the block's rows plus the halo) in a per-thread buffer, keeping the rows the next block shares
// (moved to the front); a following 1x1 conv (pw, when given) runs on each block of depthwise rows as
// in dw_pw. No intermediate map is written to memory.
//
// The first conv may instead be a stem (a dense conv on a 1-4 channel input, x NHWC or, pre.nchw, NCHW read
// in place, or the 8-bit image; SCRFD's and RetinaFace's 3x3 stride-2 stem, then their first depthwise conv):
// its rows come from stem_rows, and the stem's map (6.5 MB for SCRFD at 640x640) is never written either.
// A stem may be followed by a 1x1 conv (YuNet: stem, 1x1, depthwise): the stem's rows are then made a few at
// a time into a second per-thread buffer (L1-sized) and the 1x1 conv runs over them into the first.
inline bool pre_is_pointwise(const ConvShape& pre) {
  return pre.kh == 1 && pre.kw == 1 && pre.sh == 1 && pre.sw == 1 && !(pre.pt | pre.pl | pre.pb | pre.pr) && !pre.nchw;
}

// Rows [r0, r1) of the stem pre (of n * pre.ho) at out + r * pre.wo * pre.c_out.
inline void stem_rows_into(const PreStage& pre, float* out, int64_t r0, int64_t r1) {
  with_act(pre.e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    if (pre.offset)
      stem_rows<A, StemSource::U8>(pre.shape, pre.x, pre.offset, pre.packed, pre.e, out, r0, r1);
    else if (pre.shape.nchw)
      stem_rows<A, StemSource::F32Planar>(pre.shape, pre.x, nullptr, pre.packed, pre.e, out, r0, r1);
    else
      stem_rows<A, StemSource::F32>(pre.shape, pre.x, nullptr, pre.packed, pre.e, out, r0, r1);
  });
}

// Rows [r0, r1) of the depthwise conv's input (of n * pre.ho) into dst, consecutive rows of pre.wo pixels.
inline void pre_rows_into(const PreStage& pre, bool pointwise, float* dst, int64_t r0, int64_t r1) {
  const ConvShape& s = pre.shape;
  if (pointwise) {
    const int64_t stride = pre.x_stride ? pre.x_stride : s.c_in;
    const float* x = static_cast<const float*>(pre.x) + r0 * s.w * stride;
    pointwise_pixels(s, x, (r1 - r0) * s.wo, pre.packed, pre.e, dst, stride);
    return;
  }
  if (!pre.mid) {
    stem_rows_into(pre, dst - r0 * s.wo * s.c_out, r0, r1);
    return;
  }
  const int64_t stem_row = static_cast<int64_t>(s.wo) * s.c_out;
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 13) / std::max<int64_t>(1, stem_row));  // ~32 KB
  float* rows = thread_buffer(2, static_cast<size_t>(std::min(chunk, r1 - r0) * stem_row));
  for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
    const int64_t c1 = std::min(r1, c0 + chunk);
    stem_rows_into(pre, rows - c0 * stem_row, c0, c1);
    pointwise_pixels(*pre.mid, rows, (c1 - c0) * s.wo, pre.packed_mid, pre.e_mid,
                     dst + (c0 - r0) * s.wo * pre.mid->c_out);
  }
}

void interleave_pixels(const float* const* parts, const int64_t* row_strides, int g, int64_t p0, int64_t p1, int c,
                       float* out);  // below, with interleave

void pw_dw(const PreStage& pre, const ConvShape& dw, const float* w_dw, const Epilogue& e_dw, const ConvShape* pw,
           const float* packed_pw, const Epilogue* e_pw, const ShuffleWith* shuffle, float* out) {
  const KernelTable& dw_table = dw_row_table(dw);
  const bool pointwise = !pre.mid && !pre.offset && pre_is_pointwise(pre.shape);
  const int64_t rows = static_cast<int64_t>(dw.n) * dw.ho;
  const int64_t in_row = static_cast<int64_t>(dw.w) * dw.c_in;   // floats of one 1x1 output row
  const int64_t out_row = static_cast<int64_t>(dw.wo) * dw.c_in;  // floats of one depthwise output row
  const int Co = pw ? pw->c_out : dw.c_in;
  // dw.pool2 (no pw): rows go in pairs, each pair's 2x2 max pool stored (blocks and chunks start on even rows)
  const int64_t unit = dw.pool2 ? 2 : 1;
  const int64_t block_rows =
      std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, out_row) / unit) * unit;
  const int64_t threads = ThreadPool::instance().num_threads();
  // each claimed chunk recomputes the 1x1 rows of its first block's halo: two chunks per thread (the second
  // one can go to a thread that finished early), up to 16 blocks
  const int64_t grain =
      std::max<int64_t>(1, std::min(16 * block_rows, rows / std::max<int64_t>(1, 2 * threads)) / unit);
  const int64_t buf_rows = std::min<int64_t>(dw.h, (block_rows - 1) * dw.sh + dw.kh);
  // the input rows [lo, hi) output row oy's window reads
  auto first_in = [&](int oy) { return std::clamp(oy * dw.sh - dw.pt, 0, dw.h); };
  auto end_in = [&](int oy) { return std::clamp(oy * dw.sh - dw.pt + dw.kh, 0, dw.h); };
  ThreadPool::instance().parallel_for(rows / unit, grain, [&](int64_t u0, int64_t u1) {
    const int64_t r0 = u0 * unit, r1 = u1 * unit;
    float* mid = thread_buffer(0, static_cast<size_t>(buf_rows * in_row));
    float* tmp = pw || dw.pool2 ? thread_buffer(1, static_cast<size_t>(std::min(block_rows, r1 - r0) * out_row))
                                : nullptr;
    int have_n = -1, have_lo = 0, have_hi = 0;  // mid holds the 1x1 output rows [have_lo, have_hi) of image have_n
    for (int64_t b0 = r0; b0 < r1;) {
      const int n = static_cast<int>(b0 / dw.ho), oy0 = static_cast<int>(b0 % dw.ho);
      const int64_t b1 = std::min({r1, b0 + block_rows, static_cast<int64_t>(n + 1) * dw.ho});
      const int lo = first_in(oy0), hi = std::max(lo, end_in(static_cast<int>(b1 - 1 - int64_t{n} * dw.ho)));
      if (have_n == n && lo >= have_lo && lo < have_hi) {  // keep the shared rows, moved to the front
        std::memmove(mid, mid + (lo - have_lo) * in_row, sizeof(float) * (have_hi - lo) * in_row);
        have_lo = lo;
      } else {
        have_n = n, have_lo = have_hi = lo;
      }
      if (hi > have_hi) {
        float* dst = mid + (have_hi - have_lo) * in_row;
        const int64_t first = int64_t{n} * dw.h + have_hi;  // the first row to make, of n * dw.h
        pre_rows_into(pre, pointwise, dst, first, first + (hi - have_hi));
        have_hi = hi;
      }
      // the depthwise conv reads image n's row iy at mid + (iy - have_lo) * in_row
      const float* image_base = mid - (int64_t{n} * dw.h + have_lo) * in_row;
      for (int64_t r = b0; r < b1; ++r) {
        if (pw || dw.pool2) {
          dw_table.depthwise_row_into(dw, image_base, w_dw, e_dw, r, tmp + (r - b0) * out_row);
        } else {
          Epilogue e = e_dw;
          if (e.residual) e.residual += r * out_row;
          dw_table.depthwise_row_into(dw, image_base, w_dw, e, r, out + r * out_row);
        }
      }
      if (dw.pool2 && !pw) {
        for (int64_t r = b0; r + 1 < b1; r += 2)
          pool2_rows(tmp + (r - b0) * out_row, tmp + (r + 1 - b0) * out_row, dw.wo, dw.c_in, out + r / 2 * (out_row / 2));
      }
      if (pw && shuffle) {  // the block's 1x1 output (in the cache) interleaved with the other map's pixels
        const int64_t px = (b1 - b0) * dw.wo;
        float* conv = thread_buffer(3, static_cast<size_t>(px * Co));
        Epilogue e = *e_pw;
        if (e.residual) e.residual += b0 * dw.wo * Co;
        pointwise_pixels(*pw, tmp, px, packed_pw, e, conv);
        const float* parts[2] = {shuffle->other + b0 * dw.wo * shuffle->other_stride, conv};
        const int64_t strides[2] = {shuffle->other_stride, Co};
        interleave_pixels(parts, strides, 2, 0, px, Co, out + b0 * dw.wo * 2 * Co);
      } else if (pw) {
        Epilogue e = *e_pw;
        if (e.residual) e.residual += b0 * dw.wo * Co;
        pointwise_pixels(*pw, tmp, (b1 - b0) * dw.wo, packed_pw, e, out + b0 * dw.wo * Co);
      }
      b0 = b1;
    }
  });
}

void stem_split(const PreStage& pre, float* out_pool, float* out_mid) {
  const ConvShape& s = pre.shape;
  const ConvShape& mid = *pre.mid;
  const int64_t pairs = static_cast<int64_t>(s.n) * s.ho / 2;  // ho is even: a pair never spans two images
  const int64_t stem_row = static_cast<int64_t>(s.wo) * s.c_out;
  const int64_t block_pairs = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, 2 * stem_row));  // ~64 KB
  const int64_t threads = ThreadPool::instance().num_threads();
  const int64_t grain = std::max<int64_t>(1, std::min(4 * block_pairs, pairs / std::max<int64_t>(1, 2 * threads)));
  ThreadPool::instance().parallel_for(pairs, grain, [&](int64_t p0, int64_t p1) {
    float* rows = thread_buffer(2, static_cast<size_t>(std::min(block_pairs, p1 - p0) * 2 * stem_row));
    for (int64_t b0 = p0; b0 < p1; b0 += block_pairs) {
      const int64_t r0 = 2 * b0, r1 = 2 * std::min(p1, b0 + block_pairs);  // stem rows, of n * ho
      stem_rows_into(pre, rows - r0 * stem_row, r0, r1);
      for (int64_t r = r0; r < r1; r += 2)
        pool2_rows(rows + (r - r0) * stem_row, rows + (r + 1 - r0) * stem_row, s.wo, s.c_out, out_pool + r / 2 * (stem_row / 2));
      pointwise_pixels(mid, rows, (r1 - r0) * s.wo, pre.packed_mid, pre.e_mid, out_mid + r0 * s.wo * mid.c_out);
    }
  });
}

// ---- elementwise: MLX's CPU sigmoid and softmax are scalar code (~15 ns per element) ------------

// y = 1 / (1 + exp(-x)); NaN stays NaN (vexp clamps its argument, which would turn NaN into a number).
MLXU_INLINE Vec sigmoid_vec(Vec x) { return keep_nan(x, vdiv(Vec::splat(1.f), Vec::splat(1.f) + vexp(Vec::zero() - x))); }

void sigmoid(const float* x, float* y, int64_t n) {
  constexpr int64_t kChunk = 4096;
  ThreadPool::instance().parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    const int64_t end = std::min(n, c1 * kChunk);
    int64_t i = c0 * kChunk;
    for (; i + kL <= end; i += kL) sigmoid_vec(Vec::load(x + i)).store(y + i);
    if (i < end) store_partial(sigmoid_vec(load_partial(x + i, static_cast<int>(end - i))), y + i, static_cast<int>(end - i));
  });
}

// exp in place over [p, p + n), vectorized across rows (softmax rows are often shorter than a vector).
inline void exp_inplace(float* p, int64_t n) {
  int64_t i = 0;
  for (; i + kL <= n; i += kL) {
    const Vec v = Vec::load(p + i);
    keep_nan(v, vexp(v)).store(p + i);
  }
  if (i < n) {
    const int tail = static_cast<int>(n - i);
    const Vec v = load_partial(p + i, tail);
    store_partial(keep_nan(v, vexp(v)), p + i, tail);
  }
}

// Softmax over the last axis of a [rows, len] array: subtract each row's max, exponentiate all of it
// at once, divide by each row's sum.
void softmax(const float* x, float* y, int64_t rows, int64_t len) {
  if (len <= 0) return;
  const int64_t grain = std::max<int64_t>(1, 4096 / len);
  ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * len;
      float* yr = y + r * len;
      float m = xr[0];
      for (int64_t j = 1; j < len; ++j) m = xr[j] > m ? xr[j] : m;  // (NaN propagates through the sum)
      for (int64_t j = 0; j < len; ++j) yr[j] = xr[j] - m;
    }
    exp_inplace(y + r0 * len, (r1 - r0) * len);
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = y + r * len;
      float sum = 0.f;
      for (int64_t j = 0; j < len; ++j) sum += yr[j];
      const float inv = 1.f / sum;
      for (int64_t j = 0; j < len; ++j) yr[j] *= inv;
    }
  });
}

// ---- max pool and nearest upsampling, NHWC: MLX runs both on one thread, element by element ----------

// The max of one window's taps for channels [c, c + valid): taps outside the input are skipped.
MLXU_INLINE Vec pool_window(const ConvShape& s, const float* x, int n, int iy0, int ix0, int ky0, int ky1, int kx0,
                            int kx1, int c, int valid) {
  const int C = s.c_in;
  Vec m = Vec::splat(-std::numeric_limits<float>::infinity());
  for (int ky = ky0; ky < ky1; ++ky) {
    const float* row = x + ((static_cast<int64_t>(n) * s.h + iy0 + ky) * s.w + ix0) * C + c;
    for (int kx = kx0; kx < kx1; ++kx) {
      const float* px = row + static_cast<int64_t>(kx) * C;
      const Vec v = valid == kL ? Vec::load(px) : load_partial(px, valid);
      // a NaN tap makes the window NaN on every table, as MLX's maximum (the fallback) does: x86's maxps and
      // the baseline's `a > b ? a : b` would skip it, NEON's fmax keeps it. Once m is NaN, vmax(v, m) keeps it.
      m = keep_nan(v, vmax(v, m));
    }
  }
  return m;
}

// Windows of KH x KW (2x2, 3x3: every model's pools) inside the input, the taps unrolled.
template <int KH, int KW>
MLXU_INLINE Vec pool_inside(const ConvShape& s, const float* x, int n, int iy0, int ix0, int c) {
  const int C = s.c_in;
  const float* base = x + ((static_cast<int64_t>(n) * s.h + iy0) * s.w + ix0) * C + c;
  Vec m = Vec::load(base);
#pragma GCC unroll 3
  for (int ky = 0; ky < KH; ++ky)
#pragma GCC unroll 3
    for (int kx = 0; kx < KW; ++kx)
      if (ky || kx) {
        const Vec v = Vec::load(base + (static_cast<int64_t>(ky) * s.w + kx) * C);
        m = keep_nan(v, vmax(v, m));  // NaN propagates as in pool_window
      }
  return m;
}

template <int KH, int KW>
void max_pool_rows(const ConvShape& s, const float* x, float* out, int64_t r0, int64_t r1) {
  const int C = s.c_in;
  for (int64_t r = r0; r < r1; ++r) {
    const int n = static_cast<int>(r / s.ho), oy = static_cast<int>(r % s.ho);
    const int iy0 = oy * s.sh - s.pt;
    const int kh = KH ? KH : s.kh, kw = KW ? KW : s.kw;
    const int ky0 = std::max(0, -iy0), ky1 = std::min(kh, s.h - iy0);
    const bool rows_inside = ky0 == 0 && ky1 == kh;
    for (int ox = 0; ox < s.wo; ++ox) {
      const int ix0 = ox * s.sw - s.pl;
      const int kx0 = std::max(0, -ix0), kx1 = std::min(kw, s.w - ix0);
      float* o = out + (r * s.wo + ox) * C;
      int c = 0;
      if (KH && rows_inside && kx0 == 0 && kx1 == kw)
        for (; c + kL <= C; c += kL) pool_inside<KH, KW>(s, x, n, iy0, ix0, c).store(o + c);
      for (; c < C; c += kL) {
        const int valid = std::min(kL, C - c);
        const Vec m = pool_window(s, x, n, iy0, ix0, ky0, ky1, kx0, kx1, c, valid);
        if (valid == kL)
          m.store(o + c);
        else
          store_partial(m, o + c, valid);
      }
    }
  }
}

// Taps outside the input are skipped (the caller guarantees every window has one inside); NaN propagates.
void max_pool(const ConvShape& s, const float* x, float* out) {
  const int64_t rows = static_cast<int64_t>(s.n) * s.ho;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, int64_t{s.wo} * s.c_in * s.kh * s.kw));
  ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    if (s.kh == 2 && s.kw == 2)
      max_pool_rows<2, 2>(s, x, out, r0, r1);
    else if (s.kh == 3 && s.kw == 3)
      max_pool_rows<3, 3>(s, x, out, r0, r1);
    else
      max_pool_rows<0, 0>(s, x, out, r0, r1);
  });
}

// Each input pixel repeated into an fh x fw block (the FPN's upsampling).
// out[i] = a[i] + b[i], i < n.
inline void add_floats(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + kL <= n; i += kL) (Vec::load(a + i) + Vec::load(b + i)).store(out + i);
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

// With a residual, each output pixel is the source pixel plus the residual's (MLX did that Add on one thread:
// YuNet's 80x80x64 top-down sum took ~200 us).
void upsample(const ConvShape& s, int fh, int fw, const float* x, const float* residual, float* out) {
  const int64_t C = s.c_in, wo = int64_t{s.w} * fw;
  const int64_t rows = int64_t{s.n} * s.h * fh;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, wo * C));
  ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / (int64_t{s.h} * fh), iy = (r % (int64_t{s.h} * fh)) / fh;
      const float* src = x + (n * s.h + iy) * s.w * C;
      const int64_t at = r * wo * C;
      for (int ix = 0; ix < s.w; ++ix)
        for (int f = 0; f < fw; ++f) {
          const int64_t o = at + (int64_t{ix} * fw + f) * C;
          if (residual)
            add_floats(src + ix * C, residual + o, out + o, C);
          else
            std::memcpy(out + o, src + ix * C, sizeof(float) * C);
        }
    }
  });
}

// out[p, j * g + k] = parts[k][p * row_strides[k] + j] for `pixels` rows of g parts with c channels each:
// a channel Concat followed by a channel shuffle of g groups (ShuffleNet), in one pass. Parts may be
// channel slices of wider maps (row stride > c), read in place.
// ShuffleNet's two groups (g = 2) go a vector pair at a time: zip_lo / zip_hi interleave them in registers
// (element by element, the strided stores ran at a quarter of the copy's speed).
// interleave_pixels makes pixels [p0, p1) on the calling thread (pw_dw's interleaved output, block by block);
// interleave the whole map on the pool's threads.
void interleave_pixels(const float* const* parts, const int64_t* row_strides, int g, int64_t p0, int64_t p1, int c,
                       float* out) {
  for (int64_t p = p0; p < p1; ++p) {
    float* o = out + p * g * c;
    int j0 = 0;
    if (g == 2) {
      const float* a = parts[0] + p * row_strides[0];
      const float* b = parts[1] + p * row_strides[1];
      for (; j0 + kL <= c; j0 += kL) {
        const Vec va = Vec::load(a + j0), vb = Vec::load(b + j0);
        zip_lo(va, vb).store(o + 2 * j0);
        zip_hi(va, vb).store(o + 2 * j0 + kL);
      }
    }
    for (int k = 0; k < g; ++k) {
      const float* src = parts[k] + p * row_strides[k];
      for (int j = j0; j < c; ++j) o[j * g + k] = src[j];
    }
  }
}

void interleave(const float* const* parts, const int64_t* row_strides, int g, int64_t pixels, int c, float* out) {
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, int64_t{g} * c));
  ThreadPool::instance().parallel_for(pixels, grain, [&](int64_t p0, int64_t p1) {
    interleave_pixels(parts, row_strides, g, p0, p1, c, out);
  });
}

// out[p, offsets[k] + j] = parts[k][p * row_strides[k] + j] for j < widths[k]: a channel Concat of `pixels`
// rows, parts read in place (channel slices of wider maps too), on the pool's threads (MLX copies on one).
void concat(const float* const* parts, const int64_t* row_strides, const int* widths, int g, int64_t pixels,
            float* out) {
  int64_t total = 0;
  for (int k = 0; k < g; ++k) total += widths[k];
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, total));
  ThreadPool::instance().parallel_for(pixels, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* o = out + p * total;
      for (int k = 0; k < g; ++k) {
        std::memcpy(o, parts[k] + p * row_strides[k], sizeof(float) * widths[k]);
        o += widths[k];
      }
    }
  });
}

const KernelTable& table() {
  static const KernelTable t{kIsaName, &depthwise,  &dense,   &dense_packed_size, &dense_pack,
                             &sigmoid,  &softmax, &dw_pw,   &depthwise_row_into,
                             &max_pool, &upsample, &interleave, &image_conv, &concat, &pw_dw, &stem_split,
                             &dense_parts, kL};
  return t;
}

}  // namespace MLXU_NS
}  // namespace mlxu
