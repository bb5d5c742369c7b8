// Every entry point of every kernel table this CPU runs, against a double-precision reference.
//
// Built from the same sources as the extension (opset/native/src, without MLX or Python), so it can be
// cross-compiled -static for aarch64 and run under qemu-aarch64: the only way the NEON table runs on an
// x86 machine (tools/arm64_check.sh). Natively on x86 it checks the AVX-512, AVX2 and baseline tables.
//
// Each check draws random cases (shapes, strides, pads, channel counts off the vector width, every
// activation, residual before/after, unaligned inputs, 1..4 pool threads), runs one table, and compares
// with the reference computed here in double: conv results within 1e-5 of the sum of the magnitudes of
// their terms (float32 rounding of a K-term sum stays far below that; a wrong or missing tap does not),
// sigmoid/softmax within a few float ulps, pools/upsampling/interleaving/concat exactly. A Winograd conv's
// value is the direct conv's, its terms those of its own sums (|A^T| (|G g G^T| . |B^T d B|) |A|: the
// transforms' scale: up to ~1100x the direct sum's for F(4x4), ~40x for F(2x2), in these cases), under the
// same 1e-5.
// Outputs are prefilled with NaN (an element never written fails) and followed by a guard zone (an
// overrun fails); an 8-bit image ends at an inaccessible page (a read past it faults).
//
// Checks are per entry point, and per code path where an entry point has several worth drawing apart
// (depthwise_wide/_flat, dense_winograd/_stem, max_pool_2x2_3x3). To cover a new one: write
// `Result check_NAME(Rng&, const KernelTable&)` and add it to kChecks.
// A case that once failed goes into kRegressions with the numbers that showed it.
//
// Usage: kernel_check [--cases N] [--seed S] [--isa NAME]   (exit status 1 if any case failed)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels.h"
#include "threadpool.h"

using namespace mlxu;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int kGuard = 64;            // floats after every output that no kernel may touch
constexpr float kGuardValue = 1234.5f;
constexpr double kConvTol = 1e-5;     // of the sum of the magnitudes of a conv output's terms

// ---- random cases ---------------------------------------------------------------------------

// Draws are sequenced: never two in one call's arguments, whose order C++ leaves unspecified (GCC takes
// them in different orders for x86-64 and aarch64), so every table on every architecture sees the same cases.
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
  float real(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
  bool chance(double p) { return std::bernoulli_distribution(p)(g); }
  template <class T>
  T pick(std::initializer_list<T> xs) {
    return *(xs.begin() + uniform(0, static_cast<int>(xs.size()) - 1));
  }
  // channel counts: often a multiple of 4, 8 or 16 lanes (the fast paths), often not (the tails)
  int channels(int hi) {
    const int c = uniform(1, hi);
    return chance(0.4) ? std::max(4, c / 8 * 8) * pick({1, 1, 2}) : c;
  }
};

// Floats at a random offset from a 64-byte boundary (the kernels take unaligned inputs).
class Buffer {
 public:
  Buffer(size_t n, size_t offset = 0) : mem_(static_cast<float*>(std::aligned_alloc(64, ((n + offset + kGuard) * 4 + 63) / 64 * 64))),
                                        p_(mem_.get() + offset), n_(n) {
    std::fill(p_, p_ + n + kGuard, kGuardValue);
  }
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }
  float& operator[](size_t i) { return p_[i]; }
  float operator[](size_t i) const { return p_[i]; }
  bool guard_intact() const {
    for (int i = 0; i < kGuard; ++i)
      if (std::memcmp(&p_[n_ + i], &kGuardValue, sizeof(float)) != 0) return false;
    return true;
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> mem_;
  float* p_;
  size_t n_;
};

Buffer random_buffer(Rng& r, size_t n, float lo = -1.f, float hi = 1.f) {
  Buffer b(n, r.uniform(0, 15));
  for (size_t i = 0; i < n; ++i) b[i] = r.real(lo, hi);
  return b;
}

// In some cases, a few NaN inputs: a NaN must come out as NaN through every activation, on every table.
void sprinkle_nan(Rng& r, Buffer& b) {
  if (!r.chance(0.15)) return;
  for (size_t i = 0; i < b.size(); ++i)
    if (r.chance(0.01)) b[i] = kNaN;
}

Buffer output_buffer(Rng& r, size_t n) {
  Buffer b(n, r.uniform(0, 15));
  std::fill(b.data(), b.data() + n, kNaN);
  return b;
}

// ---- results ----------------------------------------------------------------------------------

struct Result {
  long values = 0;
  double max_err = 0;   // largest |got - want| / bound seen (<= 1 passes)
  double max_abs = 0;   // largest |got - want|
  std::string failure;  // empty: passed

  void fail(const std::string& why) {
    if (failure.empty()) failure = why;
  }
  // got[i] vs want[i] within bound[i]; NaN must match NaN.
  void compare(const float* got, const double* want, const double* bound, size_t n, const std::string& what) {
    for (size_t i = 0; i < n; ++i, ++values) {
      const double g = got[i], w = want[i];
      if (std::isnan(w) || std::isnan(g)) {
        if (std::isnan(w) != std::isnan(g)) fail(what + ": NaN mismatch at " + std::to_string(i) + " got " + std::to_string(g) + " want " + std::to_string(w));
        continue;
      }
      if (std::isinf(w) || std::isinf(g)) {
        if (g != w) fail(what + ": inf mismatch at " + std::to_string(i));
        continue;
      }
      const double d = std::fabs(g - w);
      max_abs = std::max(max_abs, d);
      const double e = bound[i] > 0 ? d / bound[i] : (d > 0 ? INFINITY : 0);
      max_err = std::max(max_err, e);
      if (e > 1) {
        char msg[256];
        std::snprintf(msg, sizeof msg, ": element %zu got %.9g want %.9g (bound %.3g)", i, g, w, bound[i]);
        fail(what + msg);
      }
    }
  }
  // got[i] == want[i] bit for bit (any NaN matches any NaN).
  void exact(const float* got, const float* want, size_t n, const std::string& what) {
    for (size_t i = 0; i < n; ++i, ++values)
      if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && !(std::isnan(got[i]) && std::isnan(want[i]))) {
        char msg[256];
        std::snprintf(msg, sizeof msg, ": element %zu got %.9g want %.9g", i, got[i], want[i]);
        fail(what + msg);
        max_abs = std::max(max_abs, std::fabs(double(got[i]) - want[i]));
        max_err = INFINITY;
      }
  }
  void guard(const Buffer& b, const std::string& what) {
    if (!b.guard_intact()) fail(what + ": wrote past the end of its output");
  }
  void merge(const Result& o) {
    values += o.values;
    max_err = std::max(max_err, o.max_err), max_abs = std::max(max_abs, o.max_abs);
    if (!o.failure.empty()) fail(o.failure);
  }
};

// ---- the reference: direct loops in double -------------------------------------------------------

// A value and the sum of the magnitudes of the terms that made it (the scale of its rounding error).
struct Ref {
  std::vector<double> val, mag;
  explicit Ref(size_t n = 0) : val(n), mag(n) {}
};

Ref from_floats(const float* x, size_t n) {
  Ref r(n);
  for (size_t i = 0; i < n; ++i) r.val[i] = x[i], r.mag[i] = std::fabs(x[i]);
  return r;
}

// The activation in double, and a bound on its slope (rounding error before it scales by at most that).
double activate(Act a, double v, const Epilogue& e, int c, double* lipschitz) {
  switch (a) {
    case Act::None: *lipschitz = 1; return v;
    case Act::Relu: *lipschitz = 1; return std::max(v, 0.0);
    case Act::LeakyRelu: *lipschitz = std::max(1.0, std::fabs(double(e.alpha))); return v >= 0 ? v : v * e.alpha;
    case Act::Clip: *lipschitz = 1; return std::min(std::max(v, double(e.alpha)), double(e.beta));
    case Act::Sigmoid: *lipschitz = 1; return 1 / (1 + std::exp(-v));
    case Act::HardSwish: *lipschitz = 1.5; return v * std::min(std::max(v / 6 + 0.5, 0.0), 1.0);
    case Act::PRelu: *lipschitz = std::max(1.0, std::fabs(double(e.slope[c]))); return v >= 0 ? v : v * e.slope[c];
    case Act::Silu: *lipschitz = 1.1; return v / (1 + std::exp(-v));
  }
  return v;
}

// The conv alone (depthwise or dense, NHWC or an NCHW input): each output's sum and its terms' magnitudes.
Ref conv_terms(const ConvShape& s, bool depthwise, const Ref& x, const float* w) {
  const int co_n = depthwise ? s.c_in : s.c_out;
  Ref out(static_cast<size_t>(s.n) * s.ho * s.wo * co_n);
  auto x_at = [&](int n, int iy, int ix, int c) -> size_t {
    return s.nchw ? ((size_t(n) * s.c_in + c) * s.h + iy) * s.w + ix : ((size_t(n) * s.h + iy) * s.w + ix) * s.c_in + c;
  };
  size_t o = 0;
  for (int n = 0; n < s.n; ++n)
    for (int oy = 0; oy < s.ho; ++oy)
      for (int ox = 0; ox < s.wo; ++ox)
        for (int co = 0; co < co_n; ++co, ++o) {
          double v = 0, m = 0;
          for (int ky = 0; ky < s.kh; ++ky) {
            const int iy = oy * s.sh - s.pt + ky;
            if (iy < 0 || iy >= s.h) continue;
            for (int kx = 0; kx < s.kw; ++kx) {
              const int ix = ox * s.sw - s.pl + kx;
              if (ix < 0 || ix >= s.w) continue;
              if (depthwise) {
                const double wt = w[(ky * s.kw + kx) * s.c_in + co];
                v += x.val[x_at(n, iy, ix, co)] * wt, m += x.mag[x_at(n, iy, ix, co)] * std::fabs(wt);
              } else {
                for (int ci = 0; ci < s.c_in; ++ci) {
                  const double wt = w[(size_t(ky * s.kw + kx) * s.c_in + ci) * s.c_out + co];
                  v += x.val[x_at(n, iy, ix, ci)] * wt, m += x.mag[x_at(n, iy, ix, ci)] * std::fabs(wt);
                }
              }
            }
          }
          out.val[o] = v, out.mag[o] = m;
        }
  return out;
}

// bias [+ residual] + activation [+ residual] on conv terms of `channels` channels per pixel, in place.
void apply_epilogue(Ref& out, int channels, const Epilogue& e) {
  for (size_t o = 0; o < out.val.size(); ++o) {
    const int co = static_cast<int>(o % channels);
    double v = out.val[o], m = out.mag[o];
    if (e.bias) v += e.bias[co], m += std::fabs(e.bias[co]);
    const double res = e.residual ? e.residual[o] : 0.0;
    if (e.residual && !e.residual_after) v += res, m += std::fabs(res);
    double lip = 1;
    v = activate(e.act, v, e, co, &lip);
    m *= lip;
    // exp-based activations add their own relative error (a few 1e-7; 0.1 |v| here is 1e-6 |v| in the bound)
    if (e.act == Act::Sigmoid || e.act == Act::Silu || e.act == Act::HardSwish) m += 0.1 * std::fabs(v);
    if (e.residual && e.residual_after) v += res, m += std::fabs(res);
    out.val[o] = v, out.mag[o] = m;
  }
}

// conv (depthwise or dense, NHWC or an NCHW input) + bias [+ residual] + activation [+ residual].
Ref ref_conv(const ConvShape& s, bool depthwise, const Ref& x, const float* w, const Epilogue& e) {
  Ref out = conv_terms(s, depthwise, x, w);
  apply_epilogue(out, depthwise ? s.c_in : s.c_out, e);
  return out;
}

std::vector<double> conv_bounds(const Ref& r) {
  std::vector<double> b(r.val.size());
  for (size_t i = 0; i < b.size(); ++i) b[i] = kConvTol * r.mag[i] + 1e-30;
  return b;
}

// ---- case drawing -------------------------------------------------------------------------------

// A conv epilogue with its arrays (bias, PRelu slope, residual) kept alive.
struct EpilogueCase {
  Epilogue e;
  Buffer bias{0}, slope{0}, residual{0};
  std::string describe() const {
    char s[160];
    std::snprintf(s, sizeof s, "act=%d alpha=%g beta=%g bias=%d residual=%s", static_cast<int>(e.act), e.alpha, e.beta,
                  e.bias != nullptr, e.residual ? (e.residual_after ? "after" : "before") : "none");
    return s;
  }
};

void draw_epilogue(Rng& r, int channels, size_t out_size, bool allow_residual, EpilogueCase& ec) {
  Epilogue& e = ec.e;
  e.act = static_cast<Act>(r.uniform(0, static_cast<int>(Act::Silu)));
  if (e.act == Act::LeakyRelu) e.alpha = r.real(-0.5f, 0.5f);
  if (e.act == Act::Clip) e.alpha = r.real(-1.f, 0.f), e.beta = r.real(0.1f, 6.f);
  if (e.act == Act::PRelu) {
    ec.slope = random_buffer(r, channels, -0.5f, 0.5f);
    e.slope = ec.slope.data();
  }
  if (r.chance(0.8)) {
    ec.bias = random_buffer(r, channels);
    e.bias = ec.bias.data();
  }
  if (allow_residual && r.chance(0.35)) {
    ec.residual = random_buffer(r, out_size);
    e.residual = ec.residual.data();
    e.residual_after = r.chance(0.5);
  }
}

// Pads 0..k-1 on each side and an input the kernel fits, for s's kernel and strides; the output size they give.
// (At least min_h x min_w, if given.)
void draw_extent(Rng& r, ConvShape& s, int max_h, int max_w, int min_h = 1, int min_w = 1) {
  s.pt = r.uniform(0, s.kh - 1), s.pb = r.uniform(0, s.kh - 1), s.pl = r.uniform(0, s.kw - 1), s.pr = r.uniform(0, s.kw - 1);
  s.h = r.uniform(std::max({1, min_h, s.kh - s.pt - s.pb}), std::max(1, max_h));
  s.w = r.uniform(std::max({1, min_w, s.kw - s.pl - s.pr}), std::max(1, max_w));
  s.ho = (s.h + s.pt + s.pb - s.kh) / s.sh + 1;
  s.wo = (s.w + s.pl + s.pr - s.kw) / s.sw + 1;
}

// A conv geometry: kernel k x k (or kh x kw), stride, pads, and the output size they give.
ConvShape draw_geometry(Rng& r, int kh, int kw, int c_in, int c_out, int max_side) {
  ConvShape s{};
  s.n = r.pick({1, 1, 2});
  s.kh = kh, s.kw = kw, s.c_in = c_in, s.c_out = c_out;
  s.sh = r.pick({1, 1, 2, 3}), s.sw = r.chance(0.8) ? s.sh : r.pick({1, 2, 3});
  draw_extent(r, s, max_side, max_side + 10);
  return s;
}

// The same with the strides given (and, if given, a least input size).
ConvShape geometry(Rng& r, int kh, int kw, int sh, int sw, int c_in, int c_out, int max_h, int max_w, int min_h = 1,
                   int min_w = 1) {
  ConvShape s{};
  s.n = r.pick({1, 1, 2});
  s.kh = kh, s.kw = kw, s.sh = sh, s.sw = sw, s.c_in = c_in, s.c_out = c_out;
  draw_extent(r, s, max_h, max_w, min_h, min_w);
  return s;
}

std::string describe(const ConvShape& s) {
  char b[200];
  std::snprintf(b, sizeof b, "n=%d h=%d w=%d c_in=%d c_out=%d k=%dx%d s=%dx%d pads=(%d,%d,%d,%d) nchw=%d -> %dx%d", s.n,
                s.h, s.w, s.c_in, s.c_out, s.kh, s.kw, s.sh, s.sw, s.pt, s.pl, s.pb, s.pr, s.nchw, s.ho, s.wo);
  return s.winograd ? std::string(b) + " winograd F(" + std::to_string(s.winograd) + "x" + std::to_string(s.winograd) + ")" : b;
}

struct PackedWeights {
  Buffer buf{0};
};
PackedWeights pack(const KernelTable& k, const ConvShape& s, const float* w) {
  PackedWeights p;
  p.buf = Buffer(k.dense_packed_size(s));  // offset 0: dense_pack wants a cache-line aligned buffer
  k.dense_pack(s, w, p.buf.data());
  return p;
}

// ---- the checks: one per entry point of KernelTable ------------------------------------------------

struct DepthwiseCase {
  ConvShape s;
  Buffer x{0}, w{0};
  EpilogueCase ep;
};

Result run_depthwise(const KernelTable& k, Rng& r, DepthwiseCase& c) {
  Result res;
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_in;
  Buffer out = output_buffer(r, out_n);
  k.depthwise(c.s, c.x.data(), c.w.data(), c.ep.e, out.data());
  const Ref want = ref_conv(c.s, true, from_floats(c.x.data(), c.x.size()), c.w.data(), c.ep.e);
  const std::string what = "depthwise " + describe(c.s) + " " + c.ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

// Any: every depthwise path. Wide: 3x3 at stride 1 with 64+ channels or stride 2 with 32+, which 16-register
// tables (AVX2, NEON, baseline) run 4 output pixels per block, not 8 (and other kernels at those widths).
// Flat: stride 1 with channels off the vector width (1..40, never a multiple of 8): each output row as one
// flat array, the weights tiled to lcm(C, lanes) floats.
enum class DwKind { Any, Wide, Flat };

DepthwiseCase draw_depthwise(Rng& r, bool allow_residual = true, DwKind kind = DwKind::Any) {
  DepthwiseCase c;
  if (kind == DwKind::Any) {
    const int k = r.pick({3, 3, 3, 5, 1, 2, 7});
    const int kw = r.chance(0.9) ? k : r.pick({1, 3, 5}), ch = r.channels(72);
    c.s = draw_geometry(r, k, kw, ch, 0, 14);
  } else if (kind == DwKind::Wide) {
    const int k = r.chance(0.85) ? 3 : r.pick({5, 1, 2});
    const int sw = r.pick({1, 2}), sh = r.chance(0.8) ? sw : r.pick({1, 2});
    // stride 2 from 32 channels, stride 1 from 64; a tail off the vector width in some
    const int base = sw == 2 && r.chance(0.5) ? r.pick({32, 40, 48, 56}) : 8 * r.uniform(8, 20);
    const int ch = base + (r.chance(0.3) ? r.uniform(1, 7) : 0);
    c.s = geometry(r, k, k, sh, sw, ch, 0, 9, 26);
  } else {
    const int k = r.pick({3, 3, 5, 1, 2, 7});
    int ch = r.chance(0.6) ? r.uniform(1, 12) : r.uniform(13, 40);
    if (ch % 8 == 0) ch += r.uniform(1, 7);
    const int kw = r.chance(0.8) ? k : r.pick({1, 3, 5}), sh = r.pick({1, 1, 2});
    c.s = geometry(r, k, kw, sh, 1, ch, 0, 12, 40);
  }
  c.s.c_out = c.s.c_in;
  c.x = random_buffer(r, size_t(c.s.n) * c.s.h * c.s.w * c.s.c_in);
  sprinkle_nan(r, c.x);
  c.w = random_buffer(r, size_t(c.s.kh) * c.s.kw * c.s.c_in);
  draw_epilogue(r, c.s.c_in, size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_in, allow_residual, c.ep);
  return c;
}

Result check_depthwise(Rng& r, const KernelTable& k) {
  DepthwiseCase c = draw_depthwise(r);
  return run_depthwise(k, r, c);
}

// One row of a depthwise conv into a caller's buffer (the fused dw+pw kernel's building block).
Result check_depthwise_row_into(Rng& r, const KernelTable& k) {
  DepthwiseCase c = draw_depthwise(r, false);
  const int64_t row = r.uniform(0, c.s.n * c.s.ho - 1);
  const size_t row_n = size_t(c.s.wo) * c.s.c_in;
  Buffer out = output_buffer(r, row_n);
  k.depthwise_row_into(c.s, c.x.data(), c.w.data(), c.ep.e, row, out.data());
  const Ref want = ref_conv(c.s, true, from_floats(c.x.data(), c.x.size()), c.w.data(), c.ep.e);
  const std::vector<double> bound = conv_bounds(want);
  Result res;
  const std::string what = "depthwise_row_into row " + std::to_string(row) + " " + describe(c.s) + " " + c.ep.describe();
  res.compare(out.data(), want.val.data() + row * row_n, bound.data() + row * row_n, row_n, what);
  res.guard(out, what);
  return res;
}

struct DenseCase {
  ConvShape s;
  Buffer x{0}, w{0};
  EpilogueCase ep;
};

// The epilogue the reference conv applies: e, with a coarse residual (s.res_fh, s.res_fw) upsampled into `full`.
Epilogue reference_epilogue(const ConvShape& s, const Epilogue& e, std::vector<float>& full) {
  Epilogue ref = e;
  if (s.res_fh * s.res_fw == 1) return ref;
  const int hc = s.ho / s.res_fh, wc = s.wo / s.res_fw, co = s.c_out;
  full.resize(size_t(s.n) * s.ho * s.wo * co);
  for (int64_t n = 0; n < s.n; ++n)
    for (int oy = 0; oy < s.ho; ++oy)
      for (int ox = 0; ox < s.wo; ++ox)
        for (int ch = 0; ch < co; ++ch)
          full[((n * s.ho + oy) * s.wo + ox) * co + ch] =
              e.residual[((n * hc + oy / s.res_fh) * wc + ox / s.res_fw) * co + ch];
  ref.residual = full.data();
  return ref;
}

Result run_dense(const KernelTable& k, Rng& r, DenseCase& c) {
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  Buffer out = output_buffer(r, out_n);
  const PackedWeights p = pack(k, c.s, c.w.data());
  k.dense(c.s, c.x.data(), p.buf.data(), c.ep.e, out.data());
  std::vector<float> full;
  const Epilogue ref_e = reference_epilogue(c.s, c.ep.e, full);
  Ref want = ref_conv(c.s, false, from_floats(c.x.data(), c.x.size()), c.w.data(), ref_e);
  if (c.s.out_group) {  // the reference is NHWC: channel c of image n's pixel p goes to [n][c / g][p][c % g]
    const int64_t hw = int64_t(c.s.ho) * c.s.wo, g = c.s.out_group, co = c.s.c_out;
    Ref nhwc = want;
    for (int64_t n = 0; n < c.s.n; ++n)
      for (int64_t px = 0; px < hw; ++px)
        for (int64_t ch = 0; ch < co; ++ch) {
          const int64_t to = n * hw * co + (ch / g) * hw * g + px * g + ch % g, from = (n * hw + px) * co + ch;
          want.val[to] = nhwc.val[from], want.mag[to] = nhwc.mag[from];
        }
  }
  Result res;
  const std::string what = "dense " + describe(c.s) + (c.s.out_group ? " out_group " + std::to_string(c.s.out_group) : "") +
                           " residual_up " + std::to_string(c.s.res_fh) + "x" + std::to_string(c.s.res_fw) + " " +
                           c.ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

Result check_dense(Rng& r, const KernelTable& k) {
  DenseCase c;
  const int kind = r.uniform(0, 3);
  if (kind == 0) {  // pointwise: 1x1, stride 1, no pads (pixels read in place)
    const int c_in = r.channels(80), c_out = r.channels(80);
    c.s = draw_geometry(r, 1, 1, c_in, c_out, 12);
    c.s.sh = c.s.sw = 1, c.s.pt = c.s.pl = c.s.pb = c.s.pr = 0, c.s.ho = c.s.h, c.s.wo = c.s.w;
  } else if (kind == 1) {  // a network's stem on its NCHW input: few channels, read plane by plane
    const int k = r.pick({3, 3, 5, 7, 2});
    const int c_in = r.uniform(1, 4), c_out = r.channels(40);
    c.s = draw_geometry(r, k, k, c_in, c_out, 16);
    c.s.nchw = c.s.c_in * c.s.kh <= kMaxSegments;
  } else {  // kxk over NHWC; tiny C_out and long K take the dot-product path
    const int k = r.pick({1, 3, 3, 5, 2});
    const bool heads = r.chance(0.3);
    const int kw = r.chance(0.9) ? k : r.pick({1, 3}), c_in = r.channels(heads ? 80 : 40);
    const int c_out = heads ? r.uniform(1, 8) : r.channels(48);
    c.s = draw_geometry(r, k, kw, c_in, c_out, 10);
  }
  if (r.chance(0.2)) {  // a group-major output (YOLO's heads): groups of a multiple of kOutGroupAlign channels
    const int groups = r.uniform(2, 3);
    c.s.out_group = kOutGroupAlign * r.uniform(1, 2);
    c.s.c_out = groups * c.s.out_group;
  }
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  c.x = random_buffer(r, size_t(c.s.n) * c.s.h * c.s.w * c.s.c_in);
  sprinkle_nan(r, c.x);
  c.w = random_buffer(r, size_t(c.s.kh) * c.s.kw * c.s.c_in * c.s.c_out);
  draw_epilogue(r, c.s.c_out, out_n, !c.s.out_group, c.ep);
  if (c.ep.e.residual && r.chance(0.4)) {  // the residual at a coarser level (an FPN's), read upsampled
    const int fh = c.s.ho % 2 == 0 ? 2 : 1, fw = c.s.wo % 3 == 0 && r.chance(0.5) ? 3 : (c.s.wo % 2 == 0 ? 2 : 1);
    if (fh * fw > 1) {
      c.s.res_fh = fh, c.s.res_fw = fw;
      c.ep.residual = random_buffer(r, out_n / (fh * fw));
      c.ep.e.residual = c.ep.residual.data();
    }
  }
  return run_dense(k, r, c);
}

// A depthwise conv and the 1x1 conv reading its output, fused (MobileNet blocks).
Result check_dw_pw(Rng& r, const KernelTable& k) {
  DepthwiseCase dw = draw_depthwise(r, false);
  ConvShape pw{};
  pw.n = dw.s.n, pw.h = pw.ho = dw.s.ho, pw.w = pw.wo = dw.s.wo, pw.c_in = dw.s.c_in;
  pw.c_out = r.chance(0.2) ? r.uniform(1, 8) : r.channels(64);
  pw.kh = pw.kw = pw.sh = pw.sw = 1;
  const size_t out_n = size_t(pw.n) * pw.ho * pw.wo * pw.c_out;
  Buffer w_pw = random_buffer(r, size_t(pw.c_in) * pw.c_out);
  EpilogueCase ep_pw;
  draw_epilogue(r, pw.c_out, out_n, true, ep_pw);
  const PackedWeights p = pack(k, pw, w_pw.data());
  Buffer out = output_buffer(r, out_n);
  k.dw_pw(dw.s, dw.x.data(), dw.w.data(), dw.ep.e, pw, p.buf.data(), ep_pw.e, out.data());
  const Ref mid = ref_conv(dw.s, true, from_floats(dw.x.data(), dw.x.size()), dw.w.data(), dw.ep.e);
  const Ref want = ref_conv(pw, false, mid, w_pw.data(), ep_pw.e);
  Result res;
  const std::string what = "dw_pw " + describe(dw.s) + " dw " + dw.ep.describe() + " -> c_out=" +
                           std::to_string(pw.c_out) + " pw " + ep_pw.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

// n bytes that end where an inaccessible page begins: a kernel reading past an image's last byte faults.
class PageEndBytes {
 public:
  explicit PageEndBytes(size_t n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = (n + page - 1) / page * page + page;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(static_cast<char*>(m) + size_ - page, page, PROT_NONE) != 0) {
      std::perror("kernel_check: mmap/mprotect");
      std::exit(2);
    }
    mem_ = static_cast<unsigned char*>(m);
    p_ = mem_ + size_ - page - n;
  }
  ~PageEndBytes() { munmap(mem_, size_); }
  PageEndBytes(const PageEndBytes&) = delete;
  PageEndBytes& operator=(const PageEndBytes&) = delete;
  unsigned char* data() { return p_; }

 private:
  unsigned char* mem_;
  unsigned char* p_;
  size_t size_;
};

// A 1x1 conv, the depthwise conv that alone reads its output and, in some cases, a 1x1 conv reading the
// depthwise output, fused (YuNet's blocks): the first 1x1 conv's output rows made a band at a time, with
// the depthwise halo, in a per-thread buffer (rows a band shares with the next one moved to its front).
// Small maps (each chunk a pool thread claims is one band, its halo recomputed); tall maps of 96-199 middle
// channels, 20-60 rows (bands of a few rows: several per chunk in about a third of them, some across an
// image's end, the rows two bands share kept); 1-8 middle channels after 64-160 inputs (the first 1x1 conv on
// its dot-product path). Depthwise kernels 1-7 (mostly 3x3 and 5x5), strides 1 and 2, pads 0..k-1; every
// activation and a bias at every stage, the residual (before or after) on the last one; NaN inputs.
// The reference runs the convs one after another in double, each stage's terms' magnitudes carried into the
// next (as dw_pw's), and the output is within 1e-5 of them.
// A stem's kernel, stride and pads (a dense conv on pre.c_in <= 4 channels), and the input size giving its output
// size pre.ho x pre.wo; NCHW float input or not (never for the 8-bit image).
void draw_stem(Rng& r, ConvShape& pre, bool image) {
  pre.kh = pre.kw = r.pick({3, 3, 3, 5, 2, 1});
  pre.sh = pre.sw = r.pick({2, 2, 1, 3});
  pre.pt = r.uniform(0, pre.kh - 1), pre.pb = r.uniform(0, pre.kh - 1);
  pre.pl = r.uniform(0, pre.kw - 1), pre.pr = r.uniform(0, pre.kw - 1);
  pre.h = (pre.ho - 1) * pre.sh + pre.kh - pre.pt - pre.pb + r.uniform(0, pre.sh - 1);
  pre.w = (pre.wo - 1) * pre.sw + pre.kw - pre.pl - pre.pr + r.uniform(0, pre.sw - 1);
  if (pre.h < 1 || pre.w < 1) {
    pre.pt = pre.pb = pre.pl = pre.pr = 0;
    pre.h = (pre.ho - 1) * pre.sh + pre.kh, pre.w = (pre.wo - 1) * pre.sw + pre.kw;
  }
  pre.nchw = !image && r.chance(0.5) && pre.c_in * pre.kh <= kMaxSegments;
}

Result check_pw_dw(Rng& r, const KernelTable& k) {
  // 0: small maps; 1: tall maps; 2: few middle channels; 3: a stem first (a dense conv on 1-4 channels, any
  // kernel, stride and pads, its input NHWC or NCHW floats or the 8-bit image read as x - offset: SCRFD's 3x3
  // stride-2 stem, then its first depthwise conv), maybe followed by a 1x1 conv (YuNet: stem, 1x1, depthwise)
  const int kind = r.uniform(0, 3);
  const bool image = kind == 3 && r.chance(0.4);
  const bool chain = kind == 3 && r.chance(0.4);
  int c_in = 0, mid = 0;
  if (kind == 3) {
    c_in = r.uniform(1, 4);
    mid = r.channels(40);
  } else if (kind == 2) {
    c_in = r.uniform(64, 160);
    mid = r.uniform(1, 8);
  } else if (kind == 1) {
    c_in = r.channels(24);
    mid = 8 * r.uniform(12, 24);
    if (r.chance(0.4)) mid += r.uniform(1, 7);
  } else {
    c_in = r.channels(64);
    mid = r.channels(72);
  }
  const int stem_out = chain ? r.channels(24) : mid;  // the first conv's output channels
  const int kh = r.pick({3, 3, 3, 5, 5, 1, 2, 7});
  const int kw = r.chance(0.85) ? kh : r.pick({1, 3, 5});
  const int sh = r.pick({1, 1, 2}), sw = r.chance(0.8) ? sh : r.pick({1, 2});
  ConvShape dw = kind == 1 ? geometry(r, kh, kw, sh, sw, mid, mid, 60, 40, 20, 16) : geometry(r, kh, kw, sh, sw, mid, mid, 14, 24);
  ConvShape pre{};
  pre.n = dw.n, pre.h = pre.ho = dw.h, pre.w = pre.wo = dw.w, pre.c_in = c_in, pre.c_out = stem_out;
  pre.kh = pre.kw = pre.sh = pre.sw = 1;
  if (kind == 3) draw_stem(r, pre, image);  // the stem's input: the size whose output is exactly dw's input
  ConvShape mid_s{};  // the 1x1 conv between the stem and the depthwise conv
  mid_s.n = dw.n, mid_s.h = mid_s.ho = dw.h, mid_s.w = mid_s.wo = dw.w, mid_s.c_in = stem_out, mid_s.c_out = mid;
  mid_s.kh = mid_s.kw = mid_s.sh = mid_s.sw = 1;
  const bool last = r.chance(0.6);  // the 1x1 conv after the depthwise one
  ConvShape pw{};
  pw.n = dw.n, pw.h = pw.ho = dw.ho, pw.w = pw.wo = dw.wo, pw.c_in = mid, pw.kh = pw.kw = pw.sh = pw.sw = 1;
  if (last) pw.c_out = r.chance(0.2) ? r.uniform(1, 8) : r.channels(64);
  const size_t dw_n = size_t(dw.n) * dw.ho * dw.wo * mid, out_n = last ? size_t(pw.n) * pw.ho * pw.wo * pw.c_out : dw_n;
  const size_t in_n = size_t(pre.n) * pre.h * pre.w * c_in;
  // a 1x1 pre stage may read a channel slice of a wider map (pixels x_stride floats apart; ShuffleNet), and the
  // output may interleave another map with the conv's (its pixels other_stride apart)
  const int x_stride = kind != 3 && r.chance(0.3) ? c_in + r.uniform(1, 9) : 0;
  const bool shuffle = last && r.chance(0.3);
  const int other_stride = shuffle ? pw.c_out + (r.chance(0.5) ? r.uniform(1, 9) : 0) : 0;
  Buffer x = random_buffer(r, image ? 0 : x_stride ? in_n / c_in * x_stride : in_n);
  PageEndBytes img(image ? in_n : 1);
  Buffer offset = random_buffer(r, c_in, 0.f, 255.f);
  Ref x_ref(in_n);
  if (image) {
    for (size_t i = 0; i < in_n; ++i) img.data()[i] = static_cast<unsigned char>(r.uniform(0, 255));
    for (size_t i = 0; i < in_n; ++i)
      x_ref.val[i] = double(img.data()[i]) - offset[i % c_in], x_ref.mag[i] = std::fabs(x_ref.val[i]);
  } else {
    sprinkle_nan(r, x);
    if (x_stride) {
      for (size_t i = 0; i < in_n; ++i) {
        const double v = x[(i / c_in) * x_stride + i % c_in];
        x_ref.val[i] = v, x_ref.mag[i] = std::fabs(v);
      }
    } else {
      x_ref = from_floats(x.data(), x.size());
    }
  }
  Buffer w_pre = image ? random_buffer(r, size_t(pre.kh) * pre.kw * c_in * stem_out, -1.f / 128, 1.f / 128)
                       : random_buffer(r, size_t(pre.kh) * pre.kw * c_in * stem_out);  // image: a 1/std folded in
  EpilogueCase ep_pre;
  draw_epilogue(r, stem_out, 0, false, ep_pre);
  Buffer w_mid = random_buffer(r, chain ? size_t(stem_out) * mid : 0);
  EpilogueCase ep_mid;
  if (chain) draw_epilogue(r, mid, 0, false, ep_mid);
  Buffer w_dw = random_buffer(r, size_t(kh) * kw * mid);
  EpilogueCase ep_dw;
  draw_epilogue(r, mid, dw_n, !last, ep_dw);
  Buffer w_pw(0);
  EpilogueCase ep_pw;
  if (last) {
    w_pw = random_buffer(r, size_t(mid) * pw.c_out);
    draw_epilogue(r, pw.c_out, out_n, true, ep_pw);
  }
  const PackedWeights p_pre = pack(k, pre, w_pre.data());
  const PackedWeights p_mid = chain ? pack(k, mid_s, w_mid.data()) : PackedWeights{};
  const PackedWeights p_pw = last ? pack(k, pw, w_pw.data()) : PackedWeights{};
  PreStage stage;
  stage.shape = pre;
  stage.x = image ? static_cast<const void*>(img.data()) : static_cast<const void*>(x.data());
  stage.offset = image ? offset.data() : nullptr;
  stage.packed = p_pre.buf.data();
  stage.e = ep_pre.e;
  if (chain) stage.mid = &mid_s, stage.packed_mid = p_mid.buf.data(), stage.e_mid = ep_mid.e;
  stage.x_stride = x_stride;
  const size_t pixels_out = out_n / (last ? pw.c_out : mid);
  Buffer other = random_buffer(r, shuffle ? pixels_out * other_stride : 0);
  if (shuffle) sprinkle_nan(r, other);
  const ShuffleWith with{other.data(), other_stride};
  Buffer out = output_buffer(r, shuffle ? 2 * out_n : out_n);
  k.pw_dw(stage, dw, w_dw.data(), ep_dw.e, last ? &pw : nullptr, last ? p_pw.buf.data() : nullptr,
          last ? &ep_pw.e : nullptr, shuffle ? &with : nullptr, out.data());
  Ref a = ref_conv(pre, false, x_ref, w_pre.data(), ep_pre.e);
  if (chain) a = ref_conv(mid_s, false, a, w_mid.data(), ep_mid.e);
  Ref want = ref_conv(dw, true, a, w_dw.data(), ep_dw.e);
  if (last) want = ref_conv(pw, false, want, w_pw.data(), ep_pw.e);
  Result res;
  std::string what = std::string("pw_dw pre ") + (image ? "image " : "") + describe(pre) + " " + ep_pre.describe();
  if (chain) what += " -> 1x1 " + describe(mid_s) + " " + ep_mid.describe();
  what += " -> dw " + describe(dw) + " " + ep_dw.describe();
  if (last) what += " -> c_out=" + std::to_string(pw.c_out) + " pw " + ep_pw.describe();
  if (x_stride) what += " x_stride=" + std::to_string(x_stride);
  std::vector<double> bounds = conv_bounds(want);
  if (shuffle) {  // [other_0, conv_0, other_1, conv_1, ...]: the other map's values copied exactly
    what += " interleaved, other_stride=" + std::to_string(other_stride);
    Ref both(2 * out_n);
    std::vector<double> both_bounds(2 * out_n);
    for (size_t i = 0; i < out_n; ++i) {
      const size_t px = i / pw.c_out, c = i % pw.c_out, at = px * 2 * pw.c_out + 2 * c;
      both.val[at] = other[px * other_stride + c], both_bounds[at] = 0.0;
      both.val[at + 1] = want.val[i], both_bounds[at + 1] = bounds[i];
    }
    want = std::move(both), bounds = std::move(both_bounds);
  }
  res.compare(out.data(), want.val.data(), bounds.data(), want.val.size(), what);
  res.guard(out, what);
  return res;
}

// A stem (1-4 channels, any kernel, stride and pads giving an even output; NHWC or NCHW floats or the 8-bit image
// read as x - offset) read by its 2x2 stride-2 max pool and by a 1x1 conv (YOLOv5n's StemBlock): both outputs.
Result check_stem_split(Rng& r, const KernelTable& k) {
  const bool image = r.chance(0.4);
  ConvShape pre{};
  pre.n = r.pick({1, 1, 2}), pre.c_in = r.uniform(1, 4);
  pre.c_out = r.chance(0.3) ? r.uniform(1, 12) : r.channels(40);
  pre.ho = 2 * r.uniform(1, 8), pre.wo = 2 * r.uniform(1, 12);
  draw_stem(r, pre, image);
  ConvShape mid{};
  mid.n = pre.n, mid.h = mid.ho = pre.ho, mid.w = mid.wo = pre.wo, mid.c_in = pre.c_out;
  mid.c_out = r.chance(0.3) ? r.uniform(1, 8) : r.channels(40);
  mid.kh = mid.kw = mid.sh = mid.sw = 1;
  const size_t in_n = size_t(pre.n) * pre.h * pre.w * pre.c_in;
  Buffer x = random_buffer(r, image ? 0 : in_n);
  std::vector<unsigned char> img(image ? in_n : 0);
  Buffer offset = random_buffer(r, pre.c_in, 0.f, 255.f);
  Ref x_ref(in_n);
  if (image) {
    for (size_t i = 0; i < in_n; ++i) img[i] = static_cast<unsigned char>(r.uniform(0, 255));
    for (size_t i = 0; i < in_n; ++i)
      x_ref.val[i] = double(img[i]) - offset[i % pre.c_in], x_ref.mag[i] = std::fabs(x_ref.val[i]);
  } else {
    sprinkle_nan(r, x);
    x_ref = from_floats(x.data(), x.size());
  }
  Buffer w_pre = image ? random_buffer(r, size_t(pre.kh) * pre.kw * pre.c_in * pre.c_out, -1.f / 128, 1.f / 128)
                       : random_buffer(r, size_t(pre.kh) * pre.kw * pre.c_in * pre.c_out);
  EpilogueCase ep_pre, ep_mid;
  draw_epilogue(r, pre.c_out, 0, false, ep_pre);
  Buffer w_mid = random_buffer(r, size_t(mid.c_in) * mid.c_out);
  draw_epilogue(r, mid.c_out, 0, false, ep_mid);
  const PackedWeights p_pre = pack(k, pre, w_pre.data()), p_mid = pack(k, mid, w_mid.data());
  PreStage stage;
  stage.shape = pre;
  stage.x = image ? static_cast<const void*>(img.data()) : static_cast<const void*>(x.data());
  stage.offset = image ? offset.data() : nullptr;
  stage.packed = p_pre.buf.data(), stage.e = ep_pre.e;
  stage.mid = &mid, stage.packed_mid = p_mid.buf.data(), stage.e_mid = ep_mid.e;
  const size_t pool_n = size_t(pre.n) * (pre.ho / 2) * (pre.wo / 2) * pre.c_out;
  const size_t mid_n = size_t(mid.n) * mid.ho * mid.wo * mid.c_out;
  Buffer pool = output_buffer(r, pool_n), out_mid = output_buffer(r, mid_n);
  k.stem_split(stage, pool.data(), out_mid.data());
  const Ref a = ref_conv(pre, false, x_ref, w_pre.data(), ep_pre.e);
  const Ref want_mid = ref_conv(mid, false, a, w_mid.data(), ep_mid.e);
  const std::vector<double> a_bounds = conv_bounds(a);
  std::vector<double> want_pool(pool_n), pool_bounds(pool_n);  // the window's max (NaN if one is), its bound the largest
  size_t o = 0;
  for (int n = 0; n < pre.n; ++n)
    for (int py = 0; py < pre.ho / 2; ++py)
      for (int px = 0; px < pre.wo / 2; ++px)
        for (int c = 0; c < pre.c_out; ++c, ++o) {
          double m = -INFINITY, b = 0;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              const size_t at = ((size_t(n) * pre.ho + 2 * py + dy) * pre.wo + 2 * px + dx) * pre.c_out + c;
              m = std::isnan(a.val[at]) || std::isnan(m) ? kNaN : std::max(m, a.val[at]);
              b = std::max(b, a_bounds[at]);
            }
          want_pool[o] = m, pool_bounds[o] = b;
        }
  Result res;
  const std::string what = std::string("stem_split ") + (image ? "image " : "") + describe(pre) + " " +
                           ep_pre.describe() + " -> 1x1 " + describe(mid) + " " + ep_mid.describe();
  res.compare(pool.data(), want_pool.data(), pool_bounds.data(), pool_n, what + " (pool)");
  const std::vector<double> mid_bounds = conv_bounds(want_mid);
  res.compare(out_mid.data(), want_mid.val.data(), mid_bounds.data(), mid_n, what + " (1x1)");
  res.guard(pool, what + " (pool)");
  res.guard(out_mid, what + " (1x1)");
  return res;
}

// Inputs for the elementwise kernels: ordinary values, the exp clamp's edges, and the special values.
Buffer elementwise_input(Rng& r, size_t n, float spread) {
  Buffer x = random_buffer(r, n, -spread, spread);
  const float specials[] = {0.f, -0.f, 87.3f, -87.3f, 88.3f, -88.3f, 89.f, -89.f, 100.f, -100.f, 1e-8f, -1e-8f,
                            INFINITY, -INFINITY, kNaN};
  for (size_t i = 0; i < n; ++i)
    if (r.chance(0.05)) x[i] = specials[r.uniform(0, 14)];
  return x;
}

Result check_sigmoid(Rng& r, const KernelTable& k) {
  const size_t n = r.chance(0.5) ? r.uniform(1, 40) : r.uniform(1, 20000);
  Buffer x = elementwise_input(r, n, r.pick({4.f, 20.f, 100.f}));
  Buffer out = output_buffer(r, n);
  k.sigmoid(x.data(), out.data(), static_cast<int64_t>(n));
  std::vector<double> want(n), bound(n);
  for (size_t i = 0; i < n; ++i) {
    want[i] = 1 / (1 + std::exp(-double(x[i])));
    // a few ulps, plus the clamp of exp's argument at -87.3 (a result below ~1.2e-38 comes out as that)
    bound[i] = 1e-6 * want[i] + 2e-38;
  }
  Result res;
  const std::string what = "sigmoid n=" + std::to_string(n);
  res.compare(out.data(), want.data(), bound.data(), n, what);
  res.guard(out, what);
  return res;
}

Result check_softmax(Rng& r, const KernelTable& k) {
  const int64_t len = r.chance(0.5) ? r.uniform(1, 12) : r.uniform(1, 300);
  const int64_t rows = r.uniform(1, 60);
  const size_t n = size_t(rows * len);
  Buffer x = random_buffer(r, n, -20.f, 20.f);
  const bool specials = r.chance(0.2);
  if (specials)
    for (size_t i = 0; i < n; ++i)
      if (r.chance(0.02)) x[i] = r.pick({-INFINITY, kNaN, 1e4f, -1e4f});
  Buffer out = output_buffer(r, n);
  k.softmax(x.data(), out.data(), rows, len);
  std::vector<double> want(n), bound(n);
  for (int64_t row = 0; row < rows; ++row) {
    const float* xr = x.data() + row * len;
    bool nan = false;
    double m = -INFINITY;
    for (int64_t j = 0; j < len; ++j) nan |= std::isnan(xr[j]), m = std::max(m, double(xr[j]));
    double sum = 0;
    for (int64_t j = 0; j < len; ++j) sum += std::exp(double(xr[j]) - m);
    for (int64_t j = 0; j < len; ++j) {
      const size_t i = row * len + j;
      // a row with a NaN (or all -inf: 0/0) is all NaN
      want[i] = nan || std::isinf(m) ? kNaN : std::exp(double(xr[j]) - m) / sum;
      // exp's relative error (2e-7), the rounding of its argument x - max (|x - max| ulps of exp's result),
      // the row sum's (len ulps at worst), the division's
      const double arg = std::isfinite(m) && std::isfinite(xr[j]) ? std::fabs(double(xr[j]) - m) : 0;
      bound[i] = (3e-7 + (arg + len) * 6e-8) * want[i] + 2e-38;
    }
  }
  Result res;
  const std::string what = "softmax rows=" + std::to_string(rows) + " len=" + std::to_string(len);
  res.compare(out.data(), want.data(), bound.data(), n, what);
  res.guard(out, what);
  return res;
}

// The pool of x over s against the direct loop, bit for bit (a window holding a NaN is NaN).
Result run_max_pool(Rng& r, const KernelTable& k, const ConvShape& s, const Buffer& x) {
  const size_t out_n = size_t(s.n) * s.ho * s.wo * s.c_in;
  Buffer out = output_buffer(r, out_n);
  k.max_pool(s, x.data(), out.data());
  std::vector<float> want(out_n);
  size_t o = 0;
  for (int n = 0; n < s.n; ++n)
    for (int oy = 0; oy < s.ho; ++oy)
      for (int ox = 0; ox < s.wo; ++ox)
        for (int c = 0; c < s.c_in; ++c, ++o) {
          float m = -INFINITY;
          for (int ky = 0; ky < s.kh; ++ky)
            for (int kx = 0; kx < s.kw; ++kx) {
              const int iy = oy * s.sh - s.pt + ky, ix = ox * s.sw - s.pl + kx;
              if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
              const float v = x[((size_t(n) * s.h + iy) * s.w + ix) * s.c_in + c];
              m = std::isnan(v) || std::isnan(m) ? kNaN : std::max(m, v);
            }
          want[o] = m;
        }
  Result res;
  const std::string what = "max_pool " + describe(s);
  res.exact(out.data(), want.data(), out_n, what);
  res.guard(out, what);
  return res;
}

Result check_max_pool(Rng& r, const KernelTable& k) {
  ConvShape s{};
  s.n = r.pick({1, 2}), s.c_in = s.c_out = r.channels(40);
  s.kh = r.pick({1, 2, 3, 3, 5}), s.kw = r.chance(0.8) ? s.kh : r.pick({1, 2, 3});
  s.sh = r.pick({1, 1, 2, 3}), s.sw = r.chance(0.8) ? s.sh : r.pick({1, 2});
  s.pt = r.uniform(0, s.kh - 1), s.pl = r.uniform(0, s.kw - 1);
  s.h = r.uniform(1, 14), s.w = r.uniform(1, 20);
  // any output size whose every window keeps a tap inside the input (ceil_mode and end pads decide it)
  s.ho = r.uniform(1, (s.h - 1 + s.pt) / s.sh + 1), s.wo = r.uniform(1, (s.w - 1 + s.pl) / s.sw + 1);
  Buffer x = random_buffer(r, size_t(s.n) * s.h * s.w * s.c_in, -10.f, 10.f);
  if (r.chance(0.3))  // a window holding a NaN is NaN on every table (as MLX's maximum, the fallback, has it)
    for (size_t i = 0; i < x.size(); ++i)
      if (r.chance(0.05)) x[i] = r.pick({-INFINITY, INFINITY, kNaN});
  return run_max_pool(r, k, s, x);
}

// The 2x2 and 3x3 windows every model pools with, which run unrolled where a window lies inside the input
// and its channels fill whole vectors (the generic window elsewhere: borders, ceil-mode edges, channel tails):
// larger maps than check_max_pool's, so most windows are inside, and the largest output the pads allow.
Result check_max_pool_2x2_3x3(Rng& r, const KernelTable& k) {
  ConvShape s{};
  s.n = r.pick({1, 2}), s.c_in = s.c_out = r.channels(80);
  s.kh = r.pick({2, 3}), s.kw = r.chance(0.9) ? s.kh : r.pick({2, 3});
  s.sh = r.pick({1, 2, 2, 3}), s.sw = r.chance(0.8) ? s.sh : r.pick({1, 2});
  s.pt = r.uniform(0, s.kh - 1), s.pl = r.uniform(0, s.kw - 1);
  s.h = r.uniform(1, 20), s.w = r.uniform(1, 30);
  const int ho_max = (s.h - 1 + s.pt) / s.sh + 1, wo_max = (s.w - 1 + s.pl) / s.sw + 1;
  s.ho = r.chance(0.7) ? ho_max : r.uniform(1, ho_max);
  s.wo = r.chance(0.7) ? wo_max : r.uniform(1, wo_max);
  Buffer x = random_buffer(r, size_t(s.n) * s.h * s.w * s.c_in, -10.f, 10.f);
  if (r.chance(0.3))
    for (size_t i = 0; i < x.size(); ++i)
      if (r.chance(0.02)) x[i] = r.pick({-INFINITY, INFINITY, kNaN});
  return run_max_pool(r, k, s, x);
}

Result check_upsample(Rng& r, const KernelTable& k) {
  ConvShape s{};
  s.n = r.pick({1, 2}), s.h = r.uniform(1, 12), s.w = r.uniform(1, 12), s.c_in = s.c_out = r.channels(40);
  const int fh = r.pick({1, 2, 2, 3}), fw = r.chance(0.8) ? fh : r.pick({1, 2, 4});
  s.ho = s.h * fh, s.wo = s.w * fw;
  Buffer x = random_buffer(r, size_t(s.n) * s.h * s.w * s.c_in);
  const size_t out_n = size_t(s.n) * s.ho * s.wo * s.c_in;
  const bool add = r.chance(0.5);  // plus a residual of the output's shape (an FPN's top-down Add)
  Buffer residual = random_buffer(r, add ? out_n : 0);
  if (add) sprinkle_nan(r, residual);
  Buffer out = output_buffer(r, out_n);
  k.upsample(s, fh, fw, x.data(), add ? residual.data() : nullptr, out.data());
  std::vector<float> want(out_n);
  size_t o = 0;
  for (int n = 0; n < s.n; ++n)
    for (int y = 0; y < s.ho; ++y)
      for (int xo = 0; xo < s.wo; ++xo)
        for (int c = 0; c < s.c_in; ++c, ++o) {
          want[o] = x[((size_t(n) * s.h + y / fh) * s.w + xo / fw) * s.c_in + c];
          if (add) want[o] += residual[o];  // one float addition, as the kernel makes it: exact
        }
  Result res;
  const std::string what =
      "upsample x" + std::to_string(fh) + "x" + std::to_string(fw) + " " + describe(s) + (add ? " + residual" : "");
  res.exact(out.data(), want.data(), out_n, what);
  res.guard(out, what);
  return res;
}

Result check_interleave(Rng& r, const KernelTable& k) {
  const int g = r.uniform(2, 4), c = r.channels(40);
  const int64_t pixels = r.chance(0.5) ? r.uniform(1, 20) : r.uniform(1, 3000);
  std::vector<Buffer> parts;
  std::vector<const float*> ptrs;
  std::vector<int64_t> strides;
  for (int i = 0; i < g; ++i) {
    const int64_t stride = c + (r.chance(0.5) ? r.uniform(0, 9) : 0);  // a channel slice of a wider map
    parts.push_back(random_buffer(r, size_t(pixels * stride)));
    strides.push_back(stride);
  }
  for (auto& p : parts) ptrs.push_back(p.data());
  const size_t out_n = size_t(pixels) * g * c;
  Buffer out = output_buffer(r, out_n);
  k.interleave(ptrs.data(), strides.data(), g, pixels, c, out.data());
  std::vector<float> want(out_n);
  for (int64_t p = 0; p < pixels; ++p)
    for (int j = 0; j < c; ++j)
      for (int i = 0; i < g; ++i) want[(p * c + j) * g + i] = parts[i][p * strides[i] + j];
  Result res;
  const std::string what = "interleave g=" + std::to_string(g) + " c=" + std::to_string(c) + " pixels=" + std::to_string(pixels);
  res.exact(out.data(), want.data(), out_n, what);
  res.guard(out, what);
  return res;
}

// ---- the kernels merged with Winograd, the stem and native concat ------------------------------------

// The 3x3 depthwise block of 4 output pixels (16-register tables: 64+ channels, or stride 2 with 32+).
Result check_depthwise_wide(Rng& r, const KernelTable& k) {
  DepthwiseCase c = draw_depthwise(r, true, DwKind::Wide);
  return run_depthwise(k, r, c);
}

// Flat rows (stride 1, few channels). In some cases the same weights run again with another bias: the
// tiled weights are cached per thread and recognized by value, so a stale tiling would show here.
Result check_depthwise_flat(Rng& r, const KernelTable& k) {
  DepthwiseCase c = draw_depthwise(r, true, DwKind::Flat);
  Result res = run_depthwise(k, r, c);
  if (r.chance(0.3)) {
    c.ep.bias = random_buffer(r, c.s.c_in);
    c.ep.e.bias = c.ep.bias.data();
    res.merge(run_depthwise(k, r, c));
  }
  return res;
}

// Winograd F(m x m, 3 x 3) as Lavin & Gray give it ("Fast Algorithms for Convolutional Neural Networks",
// 2016), written here independently of winograd_impl.h: y = A^T [(G g G^T) . (B^T d B)] A. The reference
// value of a Winograd conv is the direct conv; these matrices only scale its rounding bound.
struct WinogradMatrices {
  int m, t;
  std::vector<double> bt, g, at;  // B^T [t][t], G [t][3], A^T [m][t]
};

const WinogradMatrices& winograd_matrices(int m) {
  static const WinogradMatrices f2{2, 4,
                                   {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1},
                                   {1, 0, 0, .5, .5, .5, .5, -.5, .5, 0, 0, 1},
                                   {1, 1, 1, 0, 0, 1, -1, -1}};
  static const WinogradMatrices f4{4, 6,
                                   {4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,
                                    0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1},
                                   {1. / 4, 0, 0, -1. / 6, -1. / 6, -1. / 6, -1. / 6, 1. / 6, -1. / 6,
                                    1. / 24, 1. / 12, 1. / 6, 1. / 24, -1. / 12, 1. / 6, 0, 0, 1},
                                   {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1}};
  return m == 2 ? f2 : f4;
}

// The matrices compute a 1-D correlation y[i] = sum_k d[i + k] g[k] (so, nested, the 2-D one): checked once,
// in double, before they scale any bound.
bool winograd_matrices_correct() {
  Rng r(7);
  for (int m : {2, 4}) {
    const WinogradMatrices& f = winograd_matrices(m);
    std::vector<double> d(f.t), u(f.t), v(f.t);
    double g[3];
    for (auto& x : d) x = r.real(-1, 1);
    for (auto& x : g) x = r.real(-1, 1);
    for (int a = 0; a < f.t; ++a) {
      u[a] = f.g[a * 3] * g[0] + f.g[a * 3 + 1] * g[1] + f.g[a * 3 + 2] * g[2];
      v[a] = 0;
      for (int q = 0; q < f.t; ++q) v[a] += f.bt[a * f.t + q] * d[q];
    }
    for (int i = 0; i < m; ++i) {
      double y = 0;
      for (int a = 0; a < f.t; ++a) y += f.at[i * f.t + a] * u[a] * v[a];
      if (std::fabs(y - (d[i] * g[0] + d[i + 1] * g[1] + d[i + 2] * g[2])) > 1e-12) return false;
    }
  }
  return true;
}

// The scale of a Winograd output's rounding error: its computation's sums taken over magnitudes,
// |A^T| (sum over c_in of |G g G^T| . |B^T| |d| |B|) |A|, for the tile holding the output, as the direct
// conv's scale is the sum of |x w|. F(4x4)'s transforms (4s, 5s, 8s) make it several times the direct one;
// F(2x2)'s (0, +-1, +-1/2) barely larger. Replaces terms.mag; tile_nan[o]: a NaN in the T x T input tile
// output o's tile reads (NaN input counts 0 in the magnitudes).
void winograd_magnitudes(const ConvShape& s, const float* x, const float* w, Ref& terms, std::vector<char>& tile_nan) {
  const WinogradMatrices& f = winograd_matrices(s.winograd);
  const int M = f.m, T = f.t, TT = T * T, C = s.c_in, K = s.c_out;
  std::vector<double> u(size_t(C) * K * TT);  // |G g G^T| per (c, k)
  for (int c = 0; c < C; ++c)
    for (int k = 0; k < K; ++k)
      for (int a = 0; a < T; ++a)
        for (int b = 0; b < T; ++b) {
          double v = 0;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              v += f.g[a * 3 + ky] * f.g[b * 3 + kx] * w[(size_t(ky * 3 + kx) * C + c) * K + k];
          u[(size_t(c) * K + k) * TT + a * T + b] = std::fabs(v);
        }
  tile_nan.assign(terms.val.size(), 0);
  std::vector<double> d(TT), tmp(TT), v(size_t(C) * TT), mm(TT);
  const int tiles_h = (s.ho + M - 1) / M, tiles_w = (s.wo + M - 1) / M;
  for (int n = 0; n < s.n; ++n)
    for (int ty = 0; ty < tiles_h; ++ty)
      for (int tx = 0; tx < tiles_w; ++tx) {
        bool nan = false;
        for (int c = 0; c < C; ++c) {
          for (int rr = 0; rr < T; ++rr)
            for (int q = 0; q < T; ++q) {
              const int iy = ty * M - s.pt + rr, ix = tx * M - s.pl + q;
              const bool in = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
              const float xv = in ? x[((size_t(n) * s.h + iy) * s.w + ix) * C + c] : 0.f;
              nan |= std::isnan(xv);
              d[rr * T + q] = std::isnan(xv) ? 0 : std::fabs(xv);
            }
          for (int a = 0; a < T; ++a)  // |B^T| |d|, then times |B|
            for (int q = 0; q < T; ++q) {
              double acc = 0;
              for (int rr = 0; rr < T; ++rr) acc += std::fabs(f.bt[a * T + rr]) * d[rr * T + q];
              tmp[a * T + q] = acc;
            }
          for (int a = 0; a < T; ++a)
            for (int b = 0; b < T; ++b) {
              double acc = 0;
              for (int q = 0; q < T; ++q) acc += tmp[a * T + q] * std::fabs(f.bt[b * T + q]);
              v[size_t(c) * TT + a * T + b] = acc;
            }
        }
        for (int k = 0; k < K; ++k) {
          std::fill(mm.begin(), mm.end(), 0.0);
          for (int c = 0; c < C; ++c)
            for (int i = 0; i < TT; ++i) mm[i] += u[(size_t(c) * K + k) * TT + i] * v[size_t(c) * TT + i];
          for (int i = 0; i < M; ++i)
            for (int j = 0; j < M; ++j) {
              const int oy = ty * M + i, ox = tx * M + j;
              if (oy >= s.ho || ox >= s.wo) continue;
              double acc = 0;
              for (int a = 0; a < T; ++a)
                for (int b = 0; b < T; ++b) acc += std::fabs(f.at[i * T + a]) * std::fabs(f.at[j * T + b]) * mm[a * T + b];
              const size_t o = ((size_t(n) * s.ho + oy) * s.wo + ox) * K + k;
              terms.mag[o] = acc;
              tile_nan[o] = nan;
            }
        }
      }
}

// Dense 3x3 stride 1 as Winograd F(2x2) or F(4x4): partial tiles at the right and bottom, maps smaller
// than a tile, several images (blocks of tiles spanning tile rows and images), pads 0-2, channels on
// and off the GEMM's panel width. Within 1e-5 of winograd_magnitudes (as the dense check is of its own).
// A NaN input: an output whose window holds it is NaN. F(2x2)'s transforms keep each output's inputs
// within its window, so there nothing else may be NaN; F(4x4)'s mix its tile's 6 x 6 inputs (o0 of a
// row reads d0..d4 through B^T and A^T: any F(4x4) does), so there outputs of the same tile may be NaN too.
Result check_dense_winograd(Rng& r, const KernelTable& k) {
  DenseCase c;
  const int tile = r.pick({2, 4});
  const int c_in = r.channels(40);
  const int c_out = r.chance(0.2) ? r.uniform(1, 4) : r.channels(40);
  c.s = geometry(r, 3, 3, 1, 1, c_in, c_out, 16, 20);
  c.s.n = r.pick({1, 1, 2, 3});
  c.s.winograd = tile;
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  c.x = random_buffer(r, size_t(c.s.n) * c.s.h * c.s.w * c.s.c_in);
  sprinkle_nan(r, c.x);
  c.w = random_buffer(r, size_t(9) * c.s.c_in * c.s.c_out);
  draw_epilogue(r, c.s.c_out, out_n, true, c.ep);
  Buffer out = output_buffer(r, out_n);
  const PackedWeights p = pack(k, c.s, c.w.data());
  k.dense(c.s, c.x.data(), p.buf.data(), c.ep.e, out.data());
  Ref want = conv_terms(c.s, false, from_floats(c.x.data(), c.x.size()), c.w.data());
  std::vector<char> tile_nan;
  winograd_magnitudes(c.s, c.x.data(), c.w.data(), want, tile_nan);
  apply_epilogue(want, c.s.c_out, c.ep.e);
  if (tile == 4)
    for (size_t i = 0; i < out_n; ++i)
      if (tile_nan[i] && std::isnan(out[i])) want.val[i] = kNaN;
  Result res;
  const std::string what = "dense " + describe(c.s) + " " + c.ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

// The stem's own kernel: dense 3x3 on 3 channels at horizontal stride 1 or 2 (any vertical), on an NHWC
// map or an NCHW input read in place, over zero-padded row bands; pixels in steps of up to 16, output
// channels in passes of up to 2-4 vectors (several passes from 33 channels on NEON/AVX2, 65 on AVX-512).
Result check_dense_stem(Rng& r, const KernelTable& k) {
  DenseCase c;
  const int sw = r.pick({1, 2, 2}), sh = r.chance(0.8) ? sw : r.pick({1, 2, 3});
  const int c_out = r.chance(0.3) ? r.uniform(1, 12) : r.channels(80);
  c.s = geometry(r, 3, 3, sh, sw, 3, c_out, 12, 48);
  c.s.nchw = r.chance(0.5);
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  c.x = random_buffer(r, size_t(c.s.n) * c.s.h * c.s.w * c.s.c_in);
  sprinkle_nan(r, c.x);
  c.w = random_buffer(r, size_t(9) * c.s.c_in * c.s.c_out);
  draw_epilogue(r, c.s.c_out, out_n, true, c.ep);
  return run_dense(k, r, c);
}

// A dense conv on an 8-bit NHWC image read as float(x) - offset[c] (the normalization folded into the
// weights): 1-4 channels; 3x3 on 3 channels at horizontal stride 1 or 2 runs the stem kernel, every other
// shape the GEMM over the band. Zero pads are zeros of the normalized image (the reference pads x - offset).
Result check_image_conv(Rng& r, const KernelTable& k) {
  const int ch = r.chance(0.6) ? 3 : r.uniform(1, 4);
  const int kh = r.pick({3, 3, 3, 1, 2, 5, 7}), kw = r.chance(0.85) ? kh : r.pick({1, 3, 5});
  const int sw = r.pick({1, 2, 2, 3}), sh = r.chance(0.8) ? sw : r.pick({1, 2, 3});
  const int c_out = r.chance(0.3) ? r.uniform(1, 12) : r.channels(80);
  const ConvShape s = geometry(r, kh, kw, sh, sw, ch, c_out, 12, 48);
  const size_t in_n = size_t(s.n) * s.h * s.w * ch, out_n = size_t(s.n) * s.ho * s.wo * c_out;
  PageEndBytes img(in_n);
  for (size_t i = 0; i < in_n; ++i) img.data()[i] = static_cast<unsigned char>(r.uniform(0, 255));
  Buffer offset = random_buffer(r, ch, 0.f, 255.f);
  if (r.chance(0.2)) std::fill(offset.data(), offset.data() + ch, 0.f);
  Buffer w = random_buffer(r, size_t(kh) * kw * ch * c_out, -1.f / 128, 1.f / 128);  // a 1/std folded in
  EpilogueCase ep;
  draw_epilogue(r, c_out, out_n, true, ep);
  const PackedWeights p = pack(k, s, w.data());
  Buffer out = output_buffer(r, out_n);
  k.image_conv(s, img.data(), offset.data(), p.buf.data(), ep.e, out.data());
  Ref x(in_n);
  for (size_t i = 0; i < in_n; ++i) x.val[i] = double(img.data()[i]) - offset[i % ch], x.mag[i] = std::fabs(x.val[i]);
  const Ref want = ref_conv(s, false, x, w.data(), ep.e);
  Result res;
  const std::string what = "image_conv " + describe(s) + " " + ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

// A channel Concat of 1-6 parts of any widths, some channel slices of wider maps; bit for bit (NaN and inf
// payloads copied as they are).
Result check_concat(Rng& r, const KernelTable& k) {
  const int g = r.uniform(1, 6);
  const int64_t pixels = r.chance(0.5) ? r.uniform(1, 20) : r.uniform(1, 3000);
  std::vector<Buffer> parts;
  std::vector<const float*> ptrs;
  std::vector<int64_t> strides;
  std::vector<int> widths;
  int total = 0;
  for (int i = 0; i < g; ++i) {
    const int width = r.chance(0.3) ? r.uniform(1, 5) : r.channels(64);
    const int64_t stride = width + (r.chance(0.5) ? r.uniform(0, 9) : 0);
    parts.push_back(random_buffer(r, size_t(pixels * stride)));
    if (r.chance(0.2))
      for (size_t j = 0; j < parts.back().size(); ++j)
        if (r.chance(0.02)) parts.back()[j] = r.pick({-INFINITY, INFINITY, kNaN});
    widths.push_back(width), strides.push_back(stride), total += width;
  }
  for (auto& p : parts) ptrs.push_back(p.data());
  const size_t out_n = size_t(pixels) * total;
  Buffer out = output_buffer(r, out_n);
  k.concat(ptrs.data(), strides.data(), widths.data(), g, pixels, out.data());
  std::vector<float> want(out_n);
  for (int64_t p = 0; p < pixels; ++p)
    for (int i = 0, at = 0; i < g; at += widths[i++])
      for (int j = 0; j < widths[i]; ++j) want[p * total + at + j] = parts[i][p * strides[i] + j];
  Result res;
  const std::string what = "concat g=" + std::to_string(g) + " total=" + std::to_string(total) + " pixels=" + std::to_string(pixels);
  res.exact(out.data(), want.data(), out_n, what);
  res.guard(out, what);
  return res;
}

// A 1x1 conv over the channel concatenation of 1-4 parts (rows further apart than their width: channel slices),
// against the reference conv of the concatenated map; with a residual at the output's or a coarser level.
Result check_dense_parts(Rng& r, const KernelTable& k) {
  const int seg = r.pick({1, 4, 8, 16}), nparts = r.uniform(1, 4);
  std::vector<int> widths;
  int total = 0;
  for (int i = 0; i < nparts && total / seg < 24; ++i) widths.push_back(seg * r.uniform(1, 3)), total += widths.back();
  const int c_out = r.chance(0.3) ? r.uniform(1, 8) : r.channels(48);
  DenseCase c;
  c.s = draw_geometry(r, 1, 1, total, c_out, 12);
  c.s.sh = c.s.sw = 1, c.s.pt = c.s.pl = c.s.pb = c.s.pr = 0, c.s.ho = c.s.h, c.s.wo = c.s.w;
  const size_t px = size_t(c.s.n) * c.s.h * c.s.w, out_n = px * c_out;
  // each part in a wider buffer (its row stride), and the concatenated map the reference reads
  std::vector<Buffer> bufs;
  std::vector<const float*> parts;
  std::vector<int64_t> strides;
  c.x = Buffer(px * total);
  int offset = 0;
  for (int w : widths) {
    const int64_t stride = w + r.uniform(0, 5);
    bufs.push_back(random_buffer(r, px * stride));
    sprinkle_nan(r, bufs.back());
    for (size_t p = 0; p < px; ++p)
      for (int j = 0; j < w; ++j) c.x.data()[p * total + offset + j] = bufs.back().data()[p * stride + j];
    parts.push_back(bufs.back().data()), strides.push_back(stride), offset += w;
  }
  c.w = random_buffer(r, size_t(total) * c_out);
  draw_epilogue(r, c_out, out_n, true, c.ep);
  if (c.ep.e.residual && r.chance(0.4) && c.s.ho % 2 == 0 && c.s.wo % 2 == 0) {  // at a coarser level
    c.s.res_fh = c.s.res_fw = 2;
    c.ep.residual = random_buffer(r, out_n / 4);
    c.ep.e.residual = c.ep.residual.data();
  }
  Buffer out = output_buffer(r, out_n);
  const PackedWeights p = pack(k, c.s, c.w.data());
  k.dense_parts(c.s, parts.data(), widths.data(), strides.data(), static_cast<int>(widths.size()), p.buf.data(),
                c.ep.e, out.data());
  std::vector<float> full;
  const Epilogue ref_e = reference_epilogue(c.s, c.ep.e, full);
  const Ref want = ref_conv(c.s, false, from_floats(c.x.data(), c.x.size()), c.w.data(), ref_e);
  Result res;
  const std::string what = "dense_parts " + std::to_string(widths.size()) + " parts of " + std::to_string(seg) + "s " +
                           describe(c.s) + " " + c.ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

struct Check {
  const char* name;
  Result (*run)(Rng&, const KernelTable&);
};

// Every entry point of KernelTable (dense_packed_size and dense_pack run inside dense, dw_pw and pw_dw).
const Check kChecks[] = {
    {"depthwise", check_depthwise},
    {"depthwise_row_into", check_depthwise_row_into},
    {"dense", check_dense},
    {"dw_pw", check_dw_pw},
    {"sigmoid", check_sigmoid},
    {"softmax", check_softmax},
    {"max_pool", check_max_pool},
    {"upsample", check_upsample},
    {"interleave", check_interleave},
    {"depthwise_wide", check_depthwise_wide},
    {"depthwise_flat", check_depthwise_flat},
    {"dense_winograd", check_dense_winograd},
    {"dense_stem", check_dense_stem},
    {"image_conv", check_image_conv},
    {"max_pool_2x2_3x3", check_max_pool_2x2_3x3},
    {"concat", check_concat},
    {"pw_dw", check_pw_dw},
    {"stem_split", check_stem_split},
    {"dense_parts", check_dense_parts},
};

// Fixed cases that once failed somewhere (none yet): {name, function building and checking the case}.
struct Regression {
  const char* name;
  std::function<Result(Rng&, const KernelTable&)> run;
};
const std::vector<Regression>& regressions() {
  static const std::vector<Regression> list = {};
  return list;
}

struct Tally {
  long cases = 0, values = 0, failed = 0;
  double max_err = 0, max_abs = 0, seconds = 0;
  std::string first_failure;
  void add(const Result& res) {
    ++cases;
    values += res.values;
    max_err = std::max(max_err, res.max_err);
    max_abs = std::max(max_abs, res.max_abs);
    if (!res.failure.empty()) {
      ++failed;
      if (first_failure.empty()) first_failure = res.failure;
    }
  }
};

void report(const char* isa, const char* name, const Tally& t) {
  std::printf("%-9s %-20s %6ld cases %10ld values  max err/bound %-9.3g max abs err %-9.3g %7.2f s  %s\n", isa, name,
              t.cases, t.values, t.max_err, t.max_abs, t.seconds, t.failed ? "FAILED" : "ok");
  if (t.failed) std::printf("    %ld failed; first: %s\n", t.failed, t.first_failure.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  long cases = 300;
  uint64_t seed = 20240601;
  std::string only_isa;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--cases" && i + 1 < argc) cases = std::atol(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--isa" && i + 1 < argc) only_isa = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--cases N] [--seed S] [--isa NAME]\n", argv[0]);
      return 2;
    }
  }
  if (!winograd_matrices_correct()) {
    std::printf("kernel_check: the reference's Winograd matrices do not compute a correlation\n");
    return 2;
  }
  std::printf("kernel_check: %ld cases per entry point, seed %llu, tables:", cases, static_cast<unsigned long long>(seed));
  for (const auto& name : available_isas()) std::printf(" %s", name.c_str());
  std::printf("\n");
  bool ok = true;
  long total_cases = 0, total_values = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& isa : available_isas()) {
    if (!only_isa.empty() && isa != only_isa) continue;
    if (!set_isa(isa)) return 2;
    const KernelTable& table = best_kernels();  // kernels may call their own table (narrow tails) through it
    for (const Check& c : kChecks) {
      Rng r(seed);  // the same cases for every table
      Tally t;
      const auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < cases; ++i) {
        ThreadPool::instance().set_num_threads(r.pick({1, 2, 2, 3, 4}));
        t.add(c.run(r, table));
      }
      t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report(table.isa, c.name, t);
      ok &= t.failed == 0;
      total_cases += t.cases, total_values += t.values;
    }
    for (const Regression& reg : regressions()) {
      Rng r(seed);
      Tally t;
      t.add(reg.run(r, table));
      report(table.isa, reg.name, t);
      ok &= t.failed == 0;
      total_cases += t.cases, total_values += t.values;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %ld cases, %ld values checked in %.1f s\n", ok ? "PASSED" : "FAILED", total_cases, total_values, secs);
  return ok ? 0 : 1;
}
