// A network's stem: the dense conv on its 1-4 channel input. A part of kernels_impl.h, included there
// inside this instruction set's namespace, after the dense GEMM it reuses.
//
// Per output row, the kh input rows its windows read are copied into a zero-padded float band in a
// per-thread buffer ((wo - 1) * sw + kw pixels wide, plus slack), from one of three sources:
// - the 8-bit image itself (uint8 HWC, as OpenCV gives it), as float(x) - offset per channel: the
//   translator folds the input normalization (x - mean) / std and any channel swap into the stem's weights
//   (translator/passes/image_input.py), so the float32 image, its NCHW blob and the copy into MLX are
//   never made; zero padding of the normalized image is zero padding of float(x) - mean, so borders are exact;
// - a float NHWC map (rows copied as they are);
// - a float NCHW input read in place (each channel's rows copied into planes of the band).
// The 3x3, 3-channel stem of every face model here then runs a kernel of its own (stem3_block); other
// shapes run the dense GEMM over the band, where every window lies inside.
#pragma once

constexpr int kMaxImageChannels = kMaxStemChannels;

// Registers for the stem kernel's accumulators: the rest hold a tap's weight vectors and the broadcast value.
// At most kMaxNV channel vectors per step (wider maps take several passes over the band, from L1).
#if defined(MLXU_ISA_AVX512)
constexpr int kAccRegs = 16, kMaxNV = 4;  // of 32 registers (24 spilled: GCC hoists the broadcasts)
#else
constexpr int kAccRegs = 12, kMaxNV = 2;  // of 16 (NEON's 32 q registers hold 16 two-register Vecs); 4 x 3 pixels
                                          // measured 1.1x the GEMM on AVX2 (MobileFaceNet's 64 channels)
#endif

enum class StemSource { U8, F32, F32Planar };

// The band: kh rows of `row_len` pixels; interleaved [kh][row_len][C], or planar [C][kh][row_len].
struct Band {
  float* data;
  int64_t row_len;
  int c;
  bool planar;
  int64_t row_floats() const { return planar ? row_len : row_len * c; }  // from one band row to the next
};

// 3x3, 3 channels, stride SW: P pixels x NV channel vectors per step, the 27 taps unrolled. Per tap, NV
// weight vectors and P broadcasts feed P * NV FMAs into independent accumulators (the GEMM spent as long
// building segment pointers and looping over 3-float segments). Stores conv + bias for output channels
// [col, col + NV * kL) of pixels [ox, ox + count) of the output row at element `at` of `out` (c_out floats
// per pixel), with the activation and residual applied in registers (a second pass over each row for them
// cost SCRFD's stem a quarter of its time).
// The packed weights' taps are in HWIO order for an interleaved band, (c, ky, kx) for a planar one (as
// dense_pack orders them for NHWC and NCHW inputs).
template <int SW, int NV, bool PLANAR, Act A>
__attribute__((noinline)) void stem3_block(const Band& band, const float* packed, const Epilogue& e, float* out,
                                           int64_t at, int c_out, int col, int ox, int count) {
  constexpr int P = kAccRegs / NV, C = 3;
  constexpr int64_t K = 27;
  Vec acc[P][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const Vec b = load_bias(e, col + v * kL, std::min(kL, c_out - col - v * kL));
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) acc[p][v] = b;
  }
  const int64_t rf = band.row_floats();
  for (int r = 0; r < 3; ++r) {  // window rows: ky (interleaved), or (c, ky) pairs in three passes (planar)
    for (int part = 0; part < (PLANAR ? 3 : 1); ++part) {
      // interleaved: the 9 taps of row ky are 9 consecutive floats; planar: plane c's row ky, 3 taps
      constexpr int TAPS = PLANAR ? 3 : 9;
      const int ky = r, c = part;
      const float* a = PLANAR ? band.data + (c * 3 + ky) * rf + static_cast<int64_t>(ox) * SW
                              : band.data + ky * rf + static_cast<int64_t>(ox) * SW * C;
      constexpr int step = PLANAR ? SW : SW * C;  // from one pixel to the next
      const int64_t k0 = PLANAR ? (c * 3 + ky) * 3 : ky * 9;
#pragma GCC unroll 9
      for (int k = 0; k < TAPS; ++k) {
        Vec wv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const int cv = col / kL + v;  // vector index among the output channels: panel cv / 2, half cv % 2
          wv[v] = Vec::load(packed + (cv / 2) * K * NR + (k0 + k) * NR + (cv % 2) * kL);
        }
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const Vec xv = Vec::splat(a[p * step + k]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[p][v] = fma(xv, wv[v], acc[p][v]);
        }
      }
    }
  }
  Epilogue plain = e;  // the bias is in the accumulators already
  plain.bias = nullptr;
  for (int p = 0; p < count; ++p)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const int c = col + v * kL;
      if (c < c_out)
        finish_store<A>(acc[p][v], plain, at + static_cast<int64_t>(ox + p) * c_out, c, std::min(kL, c_out - c), out);
    }
}

// One output row of the 3x3, 3-channel stem from its band: pixels in steps of P (the last step reads the
// band's zero slack past the row), channels in groups of up to kMaxNV vectors.
template <int SW, bool PLANAR, Act A>
void stem3_row(const Band& band, const float* packed, const Epilogue& e, float* out, int64_t at, int wo, int c_out) {
  const int vectors = (c_out + kL - 1) / kL;
  for (int col = 0; col < c_out; col += kMaxNV * kL) {
    const int nv = std::min(kMaxNV, vectors - col / kL);
    auto run = [&](auto nv_const) {
      constexpr int NV = decltype(nv_const)::value;
      constexpr int P = kAccRegs / NV;
      for (int ox = 0; ox < wo; ox += P)
        stem3_block<SW, NV, PLANAR, A>(band, packed, e, out, at, c_out, col, ox, std::min(P, wo - ox));
    };
    if (nv == 1)
      run(std::integral_constant<int, 1>{});
    else if (nv == 2 || kMaxNV == 2)
      run(std::integral_constant<int, 2>{});
    else if (nv == 3)
      run(std::integral_constant<int, 3>{});
    else
      run(std::integral_constant<int, kMaxNV>{});
  }
}

inline bool stem3(const ConvShape& s) { return s.kh == 3 && s.kw == 3 && s.c_in == 3 && (s.sw == 1 || s.sw == 2); }

// The convs that take the stem path: few input channels, from an image or (3x3, 3 channels) any float map.
inline bool stem_path(const ConvShape& s) { return stem3(s) && !s.winograd; }

// Rows [r0, r1) of n * ho. The band's row `ky` holds input row oy * sh - pt + ky, columns -pl ... from
// `src` (SRC: U8 HWC with `offset`, F32 HWC, or F32 planar NCHW).
template <Act A, StemSource SRC>
void stem_rows(const ConvShape& s, const void* src, const float* offset, const float* packed, const Epilogue& e,
               float* out, int64_t r0, int64_t r1) {
  constexpr bool PLANAR = SRC == StemSource::F32Planar;
  const int C = s.c_in;
  const int wp = (s.wo - 1) * s.sw + s.kw;  // band width, pixels
  // plus zero slack for the stem kernel's last step (up to kAccRegs pixels past the row)
  const Band shape{nullptr, wp + kAccRegs * s.sw, C, PLANAR};
  const int64_t rf = shape.row_floats();
  thread_local std::vector<float> band_buf, scratch;
  const size_t need = static_cast<size_t>(s.kh * C * shape.row_len + kL);
  if (band_buf.size() < need) band_buf.resize(need);
  const Band band{band_buf.data(), shape.row_len, C, PLANAR};
  // the offsets along an interleaved row repeat every lcm(C, kL) floats (C <= kMaxImageChannels)
  const int period = std::lcm(C, kL);
  alignas(64) float pattern[kMaxImageChannels * kL + kL];  // a vector of slack: a load may start anywhere in a period
  if (SRC == StemSource::U8)
    for (int i = 0, c = 0; i < period + kL; ++i, c = c + 1 == C ? 0 : c + 1) pattern[i] = offset[c];
  // inside the image: band columns [x0, x1), image columns [x0 - pl, x1 - pl)
  const int x0 = std::min(wp, s.pl), x1 = std::max(x0, std::min(wp, s.w + s.pl));
  const int64_t plane = static_cast<int64_t>(s.h) * s.w;
  for (int64_t r = r0; r < r1; ++r) {
    const int n = static_cast<int>(r / s.ho), oy = static_cast<int>(r % s.ho);
    for (int ky = 0; ky < s.kh; ++ky) {
      const int iy = oy * s.sh - s.pt + ky;
      const bool inside = iy >= 0 && iy < s.h && x1 > x0;
      for (int c = 0; c < (PLANAR ? C : 1); ++c) {  // a planar band: one row per channel
        float* dst = band.data + (PLANAR ? (c * s.kh + ky) : ky) * rf;
        const int64_t begin = static_cast<int64_t>(x0) * (PLANAR ? 1 : C);
        const int64_t count = static_cast<int64_t>(x1 - x0) * (PLANAR ? 1 : C);
        if (!inside) {
          std::memset(dst, 0, sizeof(float) * rf);
          continue;
        }
        std::memset(dst, 0, sizeof(float) * begin);
        std::memset(dst + begin + count, 0, sizeof(float) * (rf - begin - count));
        if (SRC == StemSource::F32Planar) {
          const float* from = static_cast<const float*>(src) + (static_cast<int64_t>(n) * C + c) * plane +
                              static_cast<int64_t>(iy) * s.w + (x0 - s.pl);
          std::memcpy(dst + begin, from, sizeof(float) * count);
        } else if (SRC == StemSource::F32) {
          const float* from = static_cast<const float*>(src) + ((static_cast<int64_t>(n) * s.h + iy) * s.w + (x0 - s.pl)) * C;
          std::memcpy(dst + begin, from, sizeof(float) * count);
        } else {
          const unsigned char* from =
              static_cast<const unsigned char*>(src) + ((static_cast<int64_t>(n) * s.h + iy) * s.w + (x0 - s.pl)) * C;
          int64_t i = 0;
          int at = static_cast<int>(begin % period);  // (begin + i) % period
          // whole vectors while kL bytes stay inside this image row (never past the image's last byte)
          for (; i + kL <= count; i += kL, at = at + kL >= period ? at + kL - period : at + kL)
            (load_u8(from + i) - Vec::load(pattern + at)).store(dst + begin + i);
          for (; i < count; ++i, at = at + 1 == period ? 0 : at + 1)
            dst[begin + i] = static_cast<float>(from[i]) - pattern[at];
        }
      }
    }
    const int64_t at = r * s.wo * s.c_out;
    if (stem3(s)) {
      if (s.sw == 1)
        stem3_row<1, PLANAR, A>(band, packed, e, out, at, s.wo, s.c_out);
      else
        stem3_row<2, PLANAR, A>(band, packed, e, out, at, s.wo, s.c_out);
      continue;
    }
    // any other shape: the GEMM over the band seen as an NHWC (or NCHW) map of kh rows
    ConvShape b{};
    b.n = 1, b.h = s.kh, b.w = static_cast<int>(band.row_len), b.c_in = C, b.ho = 1, b.wo = s.wo, b.c_out = s.c_out;
    b.kh = s.kh, b.kw = s.kw, b.sh = 1, b.sw = s.sw, b.nchw = PLANAR;
    Epilogue er = e;
    if (er.residual) er.residual += at;
    const int64_t K = static_cast<int64_t>(s.kh) * s.kw * C;
    const DenseJob j{&b, band.data, &er, out + at, K, PLANAR ? C * s.kh : s.kh, PLANAR ? s.kw : s.kw * C, false, packed};
    const int64_t tiles = (s.wo + MR - 1) / MR;
    if (dot_path(b))
      dense_dot_tiles<A>(j, 0, tiles, scratch);
    else
      dense_tiles<A>(j, 0, tiles, scratch);
  }
}

template <StemSource SRC>
void stem_conv(const ConvShape& s, const void* x, const float* offset, const float* packed, const Epilogue& e,
               float* out) {
  const int64_t rows = static_cast<int64_t>(s.n) * s.ho;
  const int64_t flops_per_row = static_cast<int64_t>(s.wo) * s.kh * s.kw * s.c_in * s.c_out;
  const int64_t grain = std::max<int64_t>(1, (1 << 17) / std::max<int64_t>(1, flops_per_row));
  with_act(e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      stem_rows<A, SRC>(s, x, offset, packed, e, out, r0, r1);
    });
  });
}

void image_conv(const ConvShape& s, const unsigned char* x, const float* offset, const float* packed,
                const Epilogue& e, float* out) {
  stem_conv<StemSource::U8>(s, x, offset, packed, e, out);
}
