// Kernel bodies, written once against vec.h and compiled once per instruction set.
// The including file defines MLXU_ISA_* and MLXU_NS (the namespace of this copy).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

namespace mlxu {
namespace MLXU_NS {

constexpr int kL = Vec::N;  // lanes per vector: channels per step

// ---- epilogue --------------------------------------------------------------------------------

inline Vec activate(Vec v, const Epilogue& e, const float* slope_at, int valid) {
  switch (e.act) {
    case Act::None:
      return v;
    case Act::Relu:
      return vmax(v, Vec::zero());
    case Act::LeakyRelu:
      return select_nonneg(v, v * Vec::splat(e.alpha));
    case Act::Clip:
      return vmin(vmax(v, Vec::splat(e.alpha)), Vec::splat(e.beta));
    case Act::Sigmoid:
      return vdiv(Vec::splat(1.f), Vec::splat(1.f) + vexp(Vec::zero() - v));
    case Act::Silu:  // x * sigmoid(x), YOLO's activation
      return vdiv(v, Vec::splat(1.f) + vexp(Vec::zero() - v));
    case Act::HardSwish:
      return v * vmin(vmax(fma(v, Vec::splat(1.f / 6.f), Vec::splat(0.5f)), Vec::zero()), Vec::splat(1.f));
    case Act::PRelu: {
      Vec s = valid == kL ? Vec::load(slope_at) : load_partial(slope_at, valid);
      return select_nonneg(v, v * s);
    }
  }
  return v;
}

// acc holds conv + bias for `valid` channels starting at channel c of output element `at`.
inline void finish_store(Vec acc, const Epilogue& e, int64_t at, int c, int valid, float* out) {
  if (e.residual) {
    const float* r = e.residual + at + c;
    acc = acc + (valid == kL ? Vec::load(r) : load_partial(r, valid));
  }
  acc = activate(acc, e, e.slope ? e.slope + c : nullptr, valid);
  if (valid == kL)
    acc.store(out + at + c);
  else
    store_partial(acc, out + at + c, valid);
}

inline Vec load_bias(const Epilogue& e, int c, int valid) {
  if (!e.bias) return Vec::zero();
  return valid == kL ? Vec::load(e.bias + c) : load_partial(e.bias + c, valid);
}

// ---- depthwise -------------------------------------------------------------------------------

// Stride 1, full vectors: four output pixels share the KW + 3 input columns of each window row,
// each loaded once (a generic loop loads 4 * KW). Returns the first column it did not do.
template <int KW>
inline int depthwise_interior_s1(const ConvShape& s, const float* img, const float* w, const Epilogue& e, float* out,
                                 int64_t out_row, int iy0, int ky_lo, int ky_hi, int ox, int ox_end) {
  const int C = s.c_in;
  if (C % kL != 0) return ox;
  for (; ox + 4 <= ox_end; ox += 4) {
    const int ix0 = ox - s.pl;
    for (int c = 0; c < C; c += kL) {
      const Vec b = load_bias(e, c, kL);
      Vec a0 = b, a1 = b, a2 = b, a3 = b;
      for (int ky = ky_lo; ky < ky_hi; ++ky) {
        const float* p = img + (static_cast<int64_t>(iy0 + ky) * s.w + ix0) * C + c;
        const float* wt = w + ky * KW * C + c;
        Vec col[KW + 3];
        for (int i = 0; i < KW + 3; ++i) col[i] = Vec::load(p + i * C);
        for (int kx = 0; kx < KW; ++kx) {
          const Vec wv = Vec::load(wt + kx * C);
          a0 = fma(col[kx], wv, a0);
          a1 = fma(col[kx + 1], wv, a1);
          a2 = fma(col[kx + 2], wv, a2);
          a3 = fma(col[kx + 3], wv, a3);
        }
      }
      const int64_t at = out_row + static_cast<int64_t>(ox) * C;
      finish_store(a0, e, at, c, kL, out);
      finish_store(a1, e, at + C, c, kL, out);
      finish_store(a2, e, at + 2 * C, c, kL, out);
      finish_store(a3, e, at + 3 * C, c, kL, out);
    }
  }
  return ox;
}

// Output rows are shared out among threads; along a row, four pixels at a time
// share each weight load where the window lies inside the image.
inline void depthwise_row(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out,
                          int n, int oy) {
  const int C = s.c_in;
  const int iy0 = oy * s.sh - s.pt;
  const int ky_lo = std::max(0, -iy0), ky_hi = std::min(s.kh, s.h - iy0);
  const float* img = x + static_cast<int64_t>(n) * s.h * s.w * C;
  const int64_t out_row = (static_cast<int64_t>(n) * s.ho + oy) * s.wo * C;
  // first/last output column whose window lies inside the image horizontally
  int ox_in_lo = (s.pl + s.sw - 1) / s.sw;
  int ox_in_hi = s.w - s.kw + s.pl >= 0 ? (s.w - s.kw + s.pl) / s.sw + 1 : 0;
  ox_in_hi = std::min(ox_in_hi, s.wo);
  ox_in_lo = std::min(ox_in_lo, ox_in_hi);

  auto border_pixel = [&](int ox) {
    const int ix0 = ox * s.sw - s.pl;
    for (int c = 0; c < C; c += kL) {
      const int valid = std::min(kL, C - c);
      Vec acc = load_bias(e, c, valid);
      for (int ky = ky_lo; ky < ky_hi; ++ky) {
        const float* row = img + static_cast<int64_t>(iy0 + ky) * s.w * C;
        for (int kx = 0; kx < s.kw; ++kx) {
          const int ix = ix0 + kx;
          if (ix < 0 || ix >= s.w) continue;
          const float* px = row + static_cast<int64_t>(ix) * C + c;
          const float* wt = w + (ky * s.kw + kx) * C + c;
          if (valid == kL)
            acc = fma(Vec::load(px), Vec::load(wt), acc);
          else
            acc = fma(load_partial(px, valid), load_partial(wt, valid), acc);
        }
      }
      finish_store(acc, e, out_row + static_cast<int64_t>(ox) * C, c, valid, out);
    }
  };

  for (int ox = 0; ox < ox_in_lo; ++ox) border_pixel(ox);
  int ox = ox_in_lo;
  if (s.sw == 1 && s.kw == 3)
    ox = depthwise_interior_s1<3>(s, img, w, e, out, out_row, iy0, ky_lo, ky_hi, ox, ox_in_hi);
  else if (s.sw == 1 && s.kw == 5)
    ox = depthwise_interior_s1<5>(s, img, w, e, out, out_row, iy0, ky_lo, ky_hi, ox, ox_in_hi);
  const int64_t step = static_cast<int64_t>(s.sw) * C;
  for (; ox + 4 <= ox_in_hi; ox += 4) {
    const int ix0 = ox * s.sw - s.pl;
    int c = 0;
    for (; c + kL <= C; c += kL) {
      Vec b = load_bias(e, c, kL);
      Vec a0 = b, a1 = b, a2 = b, a3 = b;
      for (int ky = ky_lo; ky < ky_hi; ++ky) {
        const float* p = img + (static_cast<int64_t>(iy0 + ky) * s.w + ix0) * C + c;
        const float* wt = w + ky * s.kw * C + c;
        for (int kx = 0; kx < s.kw; ++kx, p += C, wt += C) {
          Vec wv = Vec::load(wt);
          a0 = fma(Vec::load(p), wv, a0);
          a1 = fma(Vec::load(p + step), wv, a1);
          a2 = fma(Vec::load(p + 2 * step), wv, a2);
          a3 = fma(Vec::load(p + 3 * step), wv, a3);
        }
      }
      const int64_t at = out_row + static_cast<int64_t>(ox) * C;
      finish_store(a0, e, at, c, kL, out);
      finish_store(a1, e, at + C, c, kL, out);
      finish_store(a2, e, at + 2 * C, c, kL, out);
      finish_store(a3, e, at + 3 * C, c, kL, out);
    }
    if (c < C) {
      for (int j = 0; j < 4; ++j) {
        const int valid = C - c;
        Vec acc = load_bias(e, c, valid);
        for (int ky = ky_lo; ky < ky_hi; ++ky) {
          const float* p = img + (static_cast<int64_t>(iy0 + ky) * s.w + ix0) * C + j * step + c;
          for (int kx = 0; kx < s.kw; ++kx)
            acc = fma(load_partial(p + kx * C, valid), load_partial(w + (ky * s.kw + kx) * C + c, valid), acc);
        }
        finish_store(acc, e, out_row + static_cast<int64_t>(ox + j) * C, c, valid, out);
      }
    }
  }
  for (; ox < s.wo; ++ox) border_pixel(ox);
}

void depthwise(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out) {
#ifdef MLXU_NARROW_TABLE
  // Channel counts that are not a multiple of this table's width run faster on the narrower table
  // (full vectors there, masked tails here).
  if (s.c_in % kL != 0) return MLXU_NARROW_TABLE().depthwise(s, x, w, e, out);
#endif
  const int64_t rows = static_cast<int64_t>(s.n) * s.ho;
  const int64_t work_per_row = static_cast<int64_t>(s.wo) * s.c_in * s.kh * s.kw;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, work_per_row));
  ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) depthwise_row(s, x, w, e, out, static_cast<int>(r / s.ho), static_cast<int>(r % s.ho));
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

struct DenseJob {
  const ConvShape* s;
  const float* x;
  const float* w;
  const Epilogue* e;
  float* out;
  int64_t K;
  int nseg, seg_len;
  bool pointwise;           // 1x1, stride 1, no padding: pixel m's row is x + m * C_in
  std::vector<float> tail;  // the last panel, zero-padded to NR columns: [K, NR]
  int tail_col = -1;        // first column of the padded tail panel (-1: none)
};

// Fills seg[MR][nseg] for the pixels m0..m0+MR-1 (clamped to the last pixel).
inline void pixel_segments(const DenseJob& j, int64_t m0, int64_t M, const float** seg, float* scratch) {
  const ConvShape& s = *j.s;
  const int C = s.c_in;
  if (j.pointwise) {
    for (int i = 0; i < MR; ++i) seg[i] = j.x + std::min(m0 + i, M - 1) * C;
    return;
  }
  const int64_t win = static_cast<int64_t>(s.kh) * s.kw * C;
  for (int i = 0; i < MR; ++i) {
    const int64_t m = std::min(m0 + i, M - 1);
    const int ox = static_cast<int>(m % s.wo);
    const int64_t t = m / s.wo;
    const int oy = static_cast<int>(t % s.ho), n = static_cast<int>(t / s.ho);
    const int iy0 = oy * s.sh - s.pt, ix0 = ox * s.sw - s.pl;
    const float* img = j.x + static_cast<int64_t>(n) * s.h * s.w * C;
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

inline void dense_tiles(const DenseJob& j, int64_t t0, int64_t t1, std::vector<float>& scratch) {
  const ConvShape& s = *j.s;
  const int64_t M = static_cast<int64_t>(s.n) * s.ho * s.wo;
  const int Co = s.c_out;
  const int64_t win = static_cast<int64_t>(s.kh) * s.kw * s.c_in;
  if (!j.pointwise) scratch.resize(static_cast<size_t>(MR * win));
  const float* seg[MR * 8];
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t m0 = t * MR;
    const int rows = static_cast<int>(std::min<int64_t>(MR, M - m0));
    pixel_segments(j, m0, M, seg, scratch.data());
    for (int col = 0; col < Co; col += NR) {
      const int width = std::min(NR, Co - col);
      const bool padded = col == j.tail_col;
      const float* b = padded ? j.tail.data() : j.w + col;
      const int64_t ldb = padded ? NR : Co;
      Vec acc[MR][2];
      const Vec b0 = load_bias(*j.e, col, std::min(kL, width));
      const Vec b1 = width > kL ? load_bias(*j.e, col + kL, width - kL) : Vec::zero();
      for (int i = 0; i < MR; ++i) acc[i][0] = b0, acc[i][1] = b1;
      if (width > kL)
        micro_kernel<2>(seg, j.nseg, j.seg_len, b, ldb, acc);
      else
        micro_kernel<1>(seg, j.nseg, j.seg_len, b, ldb, acc);
      for (int i = 0; i < rows; ++i) {
        const int64_t at = (m0 + i) * Co;
        finish_store(acc[i][0], *j.e, at, col, std::min(kL, width), j.out);
        if (width > kL) finish_store(acc[i][1], *j.e, at, col + kL, width - kL, j.out);
      }
    }
  }
}

void dense(const ConvShape& s, const float* x, const float* w, const Epilogue& e, float* out) {
  const bool pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && !(s.pt | s.pl | s.pb | s.pr);
  DenseJob j{&s, x, w, &e, out, static_cast<int64_t>(s.kh) * s.kw * s.c_in, s.kh, s.kw * s.c_in, pointwise, {}, -1};
  if (s.c_out % NR != 0) {
    // Full panels read W in place; the narrower last one is copied zero-padded.
    j.tail_col = s.c_out / NR * NR;
    const int width = s.c_out - j.tail_col;
    j.tail.assign(static_cast<size_t>(j.K) * NR, 0.f);
    for (int64_t k = 0; k < j.K; ++k)
      std::memcpy(j.tail.data() + k * NR, w + k * s.c_out + j.tail_col, sizeof(float) * width);
  }
  const int64_t M = static_cast<int64_t>(s.n) * s.ho * s.wo;
  const int64_t tiles = (M + MR - 1) / MR;
  const int64_t flops_per_tile = MR * j.K * s.c_out;
  const int64_t grain = std::max<int64_t>(1, (1 << 17) / std::max<int64_t>(1, flops_per_tile));
  ThreadPool::instance().parallel_for(tiles, grain, [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> scratch;
    dense_tiles(j, t0, t1, scratch);
  });
}

const KernelTable& table() {
  static const KernelTable t{kIsaName, &depthwise, &dense};
  return t;
}

}  // namespace MLXU_NS
}  // namespace mlxu
