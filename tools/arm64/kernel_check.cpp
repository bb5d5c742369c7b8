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
// sigmoid/softmax within a few float ulps, pools/upsampling/interleaving exactly. Outputs are prefilled
// with NaN (an element never written fails) and followed by a guard zone (an overrun fails).
//
// To cover a new entry point: write `Result check_NAME(Rng&, const KernelTable&)` and add it to kChecks.
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

#include "kernels.h"
#include "threadpool.h"

using namespace mlxu;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int kGuard = 64;            // floats after every output that no kernel may touch
constexpr float kGuardValue = 1234.5f;
constexpr double kConvTol = 1e-5;     // of the sum of the magnitudes of a conv output's terms

// ---- random cases ---------------------------------------------------------------------------

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

// conv (depthwise or dense, NHWC or an NCHW input) + bias [+ residual] + activation [+ residual].
Ref ref_conv(const ConvShape& s, bool depthwise, const Ref& x, const float* w, const Epilogue& e) {
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

// A conv geometry: kernel k x k (or kh x kw), stride, pads, and the output size they give.
ConvShape draw_geometry(Rng& r, int kh, int kw, int c_in, int c_out, int max_side) {
  ConvShape s{};
  s.n = r.pick({1, 1, 2});
  s.kh = kh, s.kw = kw;
  s.sh = r.pick({1, 1, 2, 3}), s.sw = r.chance(0.8) ? s.sh : r.pick({1, 2, 3});
  s.pt = r.uniform(0, kh - 1), s.pb = r.uniform(0, kh - 1), s.pl = r.uniform(0, kw - 1), s.pr = r.uniform(0, kw - 1);
  s.h = r.uniform(std::max(1, kh - s.pt - s.pb), max_side);
  s.w = r.uniform(std::max(1, kw - s.pl - s.pr), max_side + 10);
  s.c_in = c_in, s.c_out = c_out;
  s.ho = (s.h + s.pt + s.pb - kh) / s.sh + 1;
  s.wo = (s.w + s.pl + s.pr - kw) / s.sw + 1;
  return s;
}

std::string describe(const ConvShape& s) {
  char b[200];
  std::snprintf(b, sizeof b, "n=%d h=%d w=%d c_in=%d c_out=%d k=%dx%d s=%dx%d pads=(%d,%d,%d,%d) nchw=%d -> %dx%d", s.n,
                s.h, s.w, s.c_in, s.c_out, s.kh, s.kw, s.sh, s.sw, s.pt, s.pl, s.pb, s.pr, s.nchw, s.ho, s.wo);
  return b;
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

DepthwiseCase draw_depthwise(Rng& r, bool allow_residual = true) {
  DepthwiseCase c;
  const int k = r.pick({3, 3, 3, 5, 1, 2, 7});
  c.s = draw_geometry(r, k, r.chance(0.9) ? k : r.pick({1, 3, 5}), r.channels(72), 0, 14);
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

Result run_dense(const KernelTable& k, Rng& r, DenseCase& c) {
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  Buffer out = output_buffer(r, out_n);
  const PackedWeights p = pack(k, c.s, c.w.data());
  k.dense(c.s, c.x.data(), p.buf.data(), c.ep.e, out.data());
  const Ref want = ref_conv(c.s, false, from_floats(c.x.data(), c.x.size()), c.w.data(), c.ep.e);
  Result res;
  const std::string what = "dense " + describe(c.s) + " " + c.ep.describe();
  res.compare(out.data(), want.val.data(), conv_bounds(want).data(), out_n, what);
  res.guard(out, what);
  return res;
}

Result check_dense(Rng& r, const KernelTable& k) {
  DenseCase c;
  const int kind = r.uniform(0, 3);
  if (kind == 0) {  // pointwise: 1x1, stride 1, no pads (pixels read in place)
    c.s = draw_geometry(r, 1, 1, r.channels(80), r.channels(80), 12);
    c.s.sh = c.s.sw = 1, c.s.pt = c.s.pl = c.s.pb = c.s.pr = 0, c.s.ho = c.s.h, c.s.wo = c.s.w;
  } else if (kind == 1) {  // a network's stem on its NCHW input: few channels, read plane by plane
    const int k = r.pick({3, 3, 5, 7, 2});
    c.s = draw_geometry(r, k, k, r.uniform(1, 4), r.channels(40), 16);
    c.s.nchw = c.s.c_in * c.s.kh <= kMaxSegments;
  } else {  // kxk over NHWC; tiny C_out and long K take the dot-product path
    const int k = r.pick({1, 3, 3, 5, 2});
    const bool heads = r.chance(0.3);
    c.s = draw_geometry(r, k, r.chance(0.9) ? k : r.pick({1, 3}), r.channels(heads ? 80 : 40),
                        heads ? r.uniform(1, 8) : r.channels(48), 10);
  }
  const size_t out_n = size_t(c.s.n) * c.s.ho * c.s.wo * c.s.c_out;
  c.x = random_buffer(r, size_t(c.s.n) * c.s.h * c.s.w * c.s.c_in);
  sprinkle_nan(r, c.x);
  c.w = random_buffer(r, size_t(c.s.kh) * c.s.kw * c.s.c_in * c.s.c_out);
  draw_epilogue(r, c.s.c_out, out_n, true, c.ep);
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

Result check_upsample(Rng& r, const KernelTable& k) {
  ConvShape s{};
  s.n = r.pick({1, 2}), s.h = r.uniform(1, 12), s.w = r.uniform(1, 12), s.c_in = s.c_out = r.channels(40);
  const int fh = r.pick({1, 2, 2, 3}), fw = r.chance(0.8) ? fh : r.pick({1, 2, 4});
  s.ho = s.h * fh, s.wo = s.w * fw;
  Buffer x = random_buffer(r, size_t(s.n) * s.h * s.w * s.c_in);
  const size_t out_n = size_t(s.n) * s.ho * s.wo * s.c_in;
  Buffer out = output_buffer(r, out_n);
  k.upsample(s, fh, fw, x.data(), out.data());
  std::vector<float> want(out_n);
  size_t o = 0;
  for (int n = 0; n < s.n; ++n)
    for (int y = 0; y < s.ho; ++y)
      for (int xo = 0; xo < s.wo; ++xo)
        for (int c = 0; c < s.c_in; ++c) want[o++] = x[((size_t(n) * s.h + y / fh) * s.w + xo / fw) * s.c_in + c];
  Result res;
  const std::string what = "upsample x" + std::to_string(fh) + "x" + std::to_string(fw) + " " + describe(s);
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

struct Check {
  const char* name;
  Result (*run)(Rng&, const KernelTable&);
};

// Every entry point of KernelTable (dense_packed_size and dense_pack run inside dense and dw_pw).
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
