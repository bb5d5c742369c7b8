// Winograd F(m x m, 3 x 3) for dense 3x3 stride-1 convs (m = 2 or 4). A part of kernels_impl.h,
// included there inside this instruction set's namespace, after the dense GEMM it reuses.
//
// Each (T x T) input tile (T = m + 2) is transformed to V = B^T d B, multiplied element by element
// with the transformed weights U = G g G^T, which over channels is T*T independent GEMMs
// [tiles, C_in] x [C_in, C_out], and transformed back to an m x m output tile, Y = A^T M A.
// F(2x2) does 16/4 = 4 multiplies per output where the direct conv does 9 (2.25x fewer); F(4x4)
// does 36/16 = 2.25 (4x fewer), at the price of larger transforms and rounding (its transform
// matrices hold 4s, 5s and 8s; docs/benchmarks.md gives the measured error). U is made once per
// weight array (dense_pack, through the packed-weight cache), in double precision.
//
// Tiles go through in blocks of consecutive tiles (raster order): the block's V (T*T x tiles x C)
// and products (T*T x tiles x C_out) live in per-thread buffers that stay in L2, so the transformed
// maps never reach memory.
#pragma once

template <int M>
struct Wino;

template <>
struct Wino<2> {
  static constexpr int T = 4;
  // G (T x 3): U = G g G^T
  static constexpr double G[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  // o = B^T d for one column (or row) of T vectors
  static MLXU_INLINE void bt(const Vec* d, Vec* o) {
    o[0] = d[0] - d[2];
    o[1] = d[1] + d[2];
    o[2] = d[2] - d[1];
    o[3] = d[1] - d[3];
  }
  // o = A^T m for one column (or row)
  static MLXU_INLINE void at(const Vec* m, Vec* o) {
    o[0] = m[0] + m[1] + m[2];
    o[1] = m[1] - m[2] - m[3];
  }
};

template <>
struct Wino<4> {
  static constexpr int T = 6;
  static constexpr double G[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                     {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
  static MLXU_INLINE void bt(const Vec* d, Vec* o) {
    const Vec four = Vec::splat(4.f), five = Vec::splat(5.f), two = Vec::splat(2.f);
    const Vec d42 = d[4] - d[2];
    o[0] = fma(four, d[0], d[4]) - five * d[2];
    o[1] = (d[3] + d[4]) - four * (d[1] + d[2]);
    o[2] = fma(four, d[1] - d[2], d[4] - d[3]);
    o[3] = fma(two, d[3] - d[1], d42);
    o[4] = fma(two, d[1] - d[3], d42);
    o[5] = fma(four, d[1], d[5]) - five * d[3];
  }
  static MLXU_INLINE void at(const Vec* m, Vec* o) {
    const Vec a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
    o[0] = m[0] + a + c;
    o[1] = fma(Vec::splat(2.f), d, b);
    o[2] = fma(Vec::splat(4.f), c, a);
    o[3] = fma(Vec::splat(8.f), d, b) + m[5];
  }
};

// Most tiles per block (consecutive in raster order): a multiple of the GEMM's MR.
constexpr int kWinoBlock = 4 * MR;

inline int64_t wino_panels(const ConvShape& s) { return (s.c_out + NR - 1) / NR; }

size_t winograd_packed_size(const ConvShape& s) {
  const int T = s.winograd + 2;
  return static_cast<size_t>(T * T * wino_panels(s) * s.c_in * NR);
}

// U = G g G^T for every (c_in, c_out), as T*T GEMM B operands: [T*T][panels][C_in][NR], zero-padded.
template <int M>
void winograd_pack_m(const ConvShape& s, const float* w, float* packed) {
  constexpr int T = Wino<M>::T;
  const int C = s.c_in, K = s.c_out;
  const int64_t panels = wino_panels(s);
  std::memset(packed, 0, sizeof(float) * winograd_packed_size(s));
  for (int c = 0; c < C; ++c)
    for (int k = 0; k < K; ++k) {
      double g[3][3], gg[T][3];
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) g[ky][kx] = w[(static_cast<int64_t>(ky * 3 + kx) * C + c) * K + k];
      for (int a = 0; a < T; ++a)
        for (int kx = 0; kx < 3; ++kx)
          gg[a][kx] = Wino<M>::G[a][0] * g[0][kx] + Wino<M>::G[a][1] * g[1][kx] + Wino<M>::G[a][2] * g[2][kx];
      for (int a = 0; a < T; ++a)
        for (int b = 0; b < T; ++b) {
          const double u = gg[a][0] * Wino<M>::G[b][0] + gg[a][1] * Wino<M>::G[b][1] + gg[a][2] * Wino<M>::G[b][2];
          const int64_t xi = a * T + b;
          packed[((xi * panels + k / NR) * C + c) * NR + k % NR] = static_cast<float>(u);
        }
    }
}

void winograd_pack(const ConvShape& s, const float* w, float* packed) {
  if (s.winograd == 2)
    winograd_pack_m<2>(s, w, packed);
  else
    winograd_pack_m<4>(s, w, packed);
}

// Per-thread buffers of one block: V [T*T][kWinoBlock][cs] and the products [T*T][kWinoBlock][ks],
// each starting on a cache line (a vector load across two lines costs two).
struct WinoScratch {
  std::vector<float> vbuf, mbuf;
  float *v = nullptr, *m = nullptr;
  static float* aligned(std::vector<float>& b, size_t n) {
    if (b.size() < n + 16) b.resize(n + 16);
    return b.data() + (64 - reinterpret_cast<uintptr_t>(b.data()) % 64) % 64 / sizeof(float);
  }
  void reserve(size_t nv, size_t nm) { v = aligned(vbuf, nv), m = aligned(mbuf, nm); }
};

// The strides of a block's buffers.
struct WinoLayout {
  int64_t cs;       // a tile's row of V: C floats, padded to whole vectors
  int64_t panels, ks;  // C_out in NR-wide panels; a tile's row of products
  int64_t vstride, mstride;  // from one xi to the next in V and in the products
  // The xi planes are a cache line further apart than they need to be: at a power-of-two stride
  // (32 tiles x 64 channels x 4 bytes = 8 KB) the T*T vectors of one tile all map to the same L1 set.
  explicit WinoLayout(const ConvShape& s)
      : cs((s.c_in + kL - 1) / kL * kL), panels(wino_panels(s)), ks(panels * NR), vstride(kWinoBlock * cs + 16),
        mstride(kWinoBlock * ks + 16) {}
};

// Tile t of the whole conv in raster order (n, tile row, tile column); blocks may span tile rows.
struct TilePos {
  int n, ty, tx;
  int tiles_h, tiles_w;
  TilePos(int64_t t, int th, int tw)
      : n(static_cast<int>(t / tw / th)), ty(static_cast<int>((t / tw) % th)), tx(static_cast<int>(t % tw)),
        tiles_h(th), tiles_w(tw) {}
  void next() {
    if (++tx == tiles_w) {
      tx = 0;
      if (++ty == tiles_h) ty = 0, ++n;
    }
  }
};

// 1. input transform: V[xi][t][c] = (B^T d B)[xi] for tile t of the block, channel c
template <int M>
__attribute__((noinline)) void wino_input(const ConvShape& s, const WinoLayout& L, const float* x, TilePos pos, int nt,
                                          float* V) {
  constexpr int T = Wino<M>::T;
  const int C = s.c_in;
  const int64_t cs = L.cs, vstride = L.vstride;
  for (int t = 0; t < nt; ++t, pos.next()) {
    const float* img = x + static_cast<int64_t>(pos.n) * s.h * s.w * C;
    const int iy0 = pos.ty * M - s.pt, ix0 = pos.tx * M - s.pl;
    const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + T <= s.h && ix0 + T <= s.w;
    for (int c = 0; c < C; c += kL) {
      const int valid = std::min(kL, C - c);
      Vec d[T][T], tmp[T][T];
      for (int r = 0; r < T; ++r) {
        const int iy = iy0 + r;
        const float* row = img + (static_cast<int64_t>(iy) * s.w + ix0) * C + c;
        for (int q = 0; q < T; ++q) {
          if (inside && valid == kL) {
            d[r][q] = Vec::load(row + q * C);
          } else {
            const int ix = ix0 + q;
            const bool in = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
            d[r][q] = !in ? Vec::zero() : valid == kL ? Vec::load(row + q * C) : load_partial(row + q * C, valid);
          }
        }
      }
      for (int q = 0; q < T; ++q) {  // columns: tmp[.][q] = B^T d[.][q]
        Vec col[T], o[T];
        for (int r = 0; r < T; ++r) col[r] = d[r][q];
        Wino<M>::bt(col, o);
        for (int r = 0; r < T; ++r) tmp[r][q] = o[r];
      }
      float* vt = V + t * cs + c;
      for (int r = 0; r < T; ++r) {  // rows: V[r][.] = tmp[r][.] B
        Vec o[T];
        Wino<M>::bt(tmp[r], o);
        for (int q = 0; q < T; ++q) o[q].store(vt + (r * T + q) * vstride);
      }
    }
  }
}

// 2. T*T GEMMs: P[xi] = V[xi] [nt, C] x U[xi] [C, K] (rows past nt are left over from earlier tiles)
template <int M>
__attribute__((noinline)) void wino_gemm(const ConvShape& s, const WinoLayout& L, const float* packed, int nt,
                                         const float* V, float* P) {
  constexpr int T = Wino<M>::T;
  const int C = s.c_in, K = s.c_out;
  const int64_t cs = L.cs, panels = L.panels, ks = L.ks, vstride = L.vstride, mstride = L.mstride;
  const float* seg[MR];
  for (int xi = 0; xi < T * T; ++xi) {
    const float* vx = V + xi * vstride;
    float* px = P + xi * mstride;
    const float* u = packed + static_cast<int64_t>(xi) * panels * C * NR;
    for (int r = 0; r < nt; r += MR) {
      for (int i = 0; i < MR; ++i) seg[i] = vx + std::min(r + i, nt - 1) * cs;
      for (int p = 0; p < panels; ++p) {
        Vec acc[MR][2];
        for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = Vec::zero();
        const int col = p * NR;
        if (K - col > kL)
          micro_kernel<2>(seg, 1, C, u + static_cast<int64_t>(p) * C * NR, NR, acc);
        else
          micro_kernel<1>(seg, 1, C, u + static_cast<int64_t>(p) * C * NR, NR, acc);
        for (int i = 0; i < MR; ++i) {
          float* dst = px + (r + i) * ks + col;
          acc[i][0].store(dst);
          acc[i][1].store(dst + kL);
        }
      }
    }
  }
}

// 3. output transform, bias and epilogue: Y = A^T P A, stored where it falls inside the output
template <Act A, int M>
__attribute__((noinline)) void wino_output(const ConvShape& s, const WinoLayout& L, const Epilogue& e, float* out,
                                           TilePos pos, int nt, const float* P) {
  constexpr int T = Wino<M>::T;
  const int K = s.c_out;
  const int64_t ks = L.ks, mstride = L.mstride;
  for (int t = 0; t < nt; ++t, pos.next()) {
    const int n = pos.n, oy0 = pos.ty * M, ox0 = pos.tx * M;
    const int rows = std::min(M, s.ho - oy0), cols = std::min(M, s.wo - ox0);
    for (int k = 0; k < K; k += kL) {
      const int valid = std::min(kL, K - k);
      const Vec bias = load_bias(e, k, valid);
      const float* pt = P + t * ks + k;
      Vec tmp[M][T];
      for (int q = 0; q < T; ++q) {  // columns: tmp[.][q] = A^T P[.][q]
        Vec col[T], o[M];
        for (int r = 0; r < T; ++r) col[r] = Vec::load(pt + (r * T + q) * mstride);
        Wino<M>::at(col, o);
        for (int r = 0; r < M; ++r) tmp[r][q] = o[r];
      }
      for (int r = 0; r < rows; ++r) {
        Vec o[M];
        Wino<M>::at(tmp[r], o);
        const int64_t at = ((static_cast<int64_t>(n) * s.ho + oy0 + r) * s.wo + ox0) * K;
        for (int q = 0; q < cols; ++q) finish_store<A>(o[q] + bias, e, at + static_cast<int64_t>(q) * K, k, valid, out);
      }
    }
  }
}

template <int M>
void winograd_m(const ConvShape& s, const float* x, const float* packed, const Epilogue& e, float* out) {
  constexpr int T = Wino<M>::T;
  const int tiles_h = (s.ho + M - 1) / M, tiles_w = (s.wo + M - 1) / M;
  const int64_t tiles = static_cast<int64_t>(s.n) * tiles_h * tiles_w;
  // Blocks of kWinoBlock tiles, or smaller (whole MR groups) when that leaves each thread fewer than 4.
  const int64_t want = 4 * static_cast<int64_t>(ThreadPool::instance().num_threads());
  const int64_t per_block = std::max<int64_t>(MR, (tiles + want - 1) / want);
  const int block = static_cast<int>(std::min<int64_t>(kWinoBlock, (per_block + MR - 1) / MR * MR));
  const int64_t blocks = (tiles + block - 1) / block;
  const WinoLayout L(s);
  with_act(e.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    ThreadPool::instance().parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      thread_local WinoScratch buf;
      buf.reserve(static_cast<size_t>(T * T * L.vstride), static_cast<size_t>(T * T * L.mstride));
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t t0 = b * block;
        const int nt = static_cast<int>(std::min<int64_t>(block, tiles - t0));
        const TilePos pos(t0, tiles_h, tiles_w);
        wino_input<M>(s, L, x, pos, nt, buf.v);
        wino_gemm<M>(s, L, packed, nt, buf.v, buf.m);
        wino_output<A, M>(s, L, e, out, pos, nt, buf.m);
      }
    });
  });
}

void winograd(const ConvShape& s, const float* x, const float* packed, const Epilogue& e, float* out) {
  if (s.winograd == 2)
    winograd_m<2>(s, x, packed, e, out);
  else
    winograd_m<4>(s, x, packed, e, out);
}
