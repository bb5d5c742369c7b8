#include "norm_primitive.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv_primitive.h"
#include "threadpool.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"

namespace mlxu {

namespace {

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native instance norm: " + what); }

// Sum of a plane in double: float partial sums over short runs (they vectorize), added into double.
template <class F>
double plane_sum(const float* x, int64_t n, F f) {
  constexpr int64_t kRun = 256;
  double total = 0.0;
  for (int64_t i0 = 0; i0 < n; i0 += kRun) {
    const int64_t i1 = std::min(n, i0 + kRun);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8)
      for (int l = 0; l < 8; ++l) acc[l] += f(x[i + l]);
    double run = 0.0;
    for (; i < i1; ++i) run += f(x[i]);
    for (int l = 0; l < 8; ++l) run += acc[l];
    total += run;
  }
  return total;
}

// The mean is split into float hi + lo parts: x - hi is exact where x is close to the mean (Sterbenz), so
// planes whose mean dwarfs their spread keep their deviations (a float mean alone would shift them all).
void normalize_plane(const float* x, float* y, int64_t n, float eps, float scale, float bias) {
  // summed as deviations from the first value (exact where they are close): float runs of values near a large
  // mean would round away the spread
  const float shift = x[0];
  const double mean = shift + plane_sum(x, n, [shift](float v) { return v - shift; }) / static_cast<double>(n);
  const float hi = static_cast<float>(mean), lo = static_cast<float>(mean - static_cast<double>(hi));
  const double var =
      plane_sum(x, n, [hi, lo](float v) { return ((v - hi) - lo) * ((v - hi) - lo); }) / static_cast<double>(n);
  const float a = static_cast<float>(scale / std::sqrt(var + static_cast<double>(eps)));
  // ((x - hi) - lo) * a + bias, not x * a + (bias - mean * a): the latter cancels for a large mean
  for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - hi) - lo) * a + bias;
}

// Channels-last (N, S, C) maps are walked as flat runs: a run of whole pixels is a whole number of periods of
// W = lcm(C, 16) floats, so every per-channel table is repeated into a W-long row and each pass is a
// contiguous W-wide loop that vectorizes whatever C is (a loop over C channels per pixel does not, at C = 4).
// Two passes over the map: both moments at once, then the normalization.
struct Periodic {
  int64_t width;   // W floats = `pixels` whole pixels
  int64_t pixels;  // W / C

  explicit Periodic(int64_t channels) {
    width = channels * 16 / std::gcd<int64_t>(channels, 16);
    pixels = width / channels;
  }
  // a (batch, C) table repeated into (batch, W) rows: row n, column j holds table[n][j % C]
  std::vector<float> tile(const std::vector<float>& table, int64_t batch, int64_t channels) const {
    std::vector<float> t(batch * width);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t j = 0, c = 0; j < width; ++j, c = c + 1 == channels ? 0 : c + 1) t[n * width + j] = table[n * channels + c];
    return t;
  }
};

// acc[j] += d and acc2[j] += d * d, d = v[k * width + j] - shift[j], over count floats (the last period may
// be partial): both moments of the deviations from a sample of the plane in one pass over the map
void periodic_moments(const float* __restrict v, int64_t count, int64_t width, const float* __restrict shift,
                      float* __restrict acc, float* __restrict acc2) {
  int64_t base = 0;
  for (; base + width <= count; base += width) {
    const float* __restrict row = v + base;
    for (int64_t j = 0; j < width; ++j) {
      const float d = row[j] - shift[j];
      acc[j] += d;
      acc2[j] += d * d;
    }
  }
  for (int64_t j = 0; base + j < count; ++j) {
    const float d = v[base + j] - shift[j];
    acc[j] += d;
    acc2[j] += d * d;
  }
}

constexpr int64_t kRunPeriods = 64;  // periods per work item

void normalize_channels_last(const float* x, float* y, int64_t batch, int64_t pixels, int64_t channels, float eps,
                             const float* scale, const float* bias) {
  const Periodic per(channels);
  const int64_t run_pixels = per.pixels * kRunPeriods;
  const int64_t runs = (pixels + run_pixels - 1) / run_pixels;
  // per run: the sums of d and d * d per channel, d the deviation from the map's first pixel (the shifted-data
  // variance: E[d^2] - E[d]^2 has no cancellation to speak of while the shift is a sample of the plane)
  std::vector<double> partial(static_cast<size_t>(batch * runs * channels * 2));
  std::vector<float> hi(batch * channels), lo(batch * channels), a(batch * channels), shift(batch * channels);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) shift[n * channels + c] = x[n * pixels * channels + c];
  const std::vector<float> tiled_shift = per.tile(shift, batch, channels);
  ThreadPool::instance().parallel_for(batch * runs, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> acc(per.width), acc2(per.width);
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / runs, r = item % runs;
      const int64_t p0 = r * run_pixels, p1 = std::min(pixels, p0 + run_pixels);
      std::fill(acc.begin(), acc.end(), 0.f);
      std::fill(acc2.begin(), acc2.end(), 0.f);
      periodic_moments(x + (n * pixels + p0) * channels, (p1 - p0) * channels, per.width,
                       &tiled_shift[n * per.width], acc.data(), acc2.data());
      double* out = &partial[item * channels * 2];
      for (int64_t c = 0; c < 2 * channels; ++c) out[c] = 0.0;
      for (int64_t j = 0, c = 0; j < per.width; ++j, c = c + 1 == channels ? 0 : c + 1) {
        out[c] += acc[j];
        out[channels + c] += acc2[j];
      }
    }
  });
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      double s1 = 0.0, s2 = 0.0;
      for (int64_t r = 0; r < runs; ++r) {
        s1 += partial[(n * runs + r) * channels * 2 + c];
        s2 += partial[(n * runs + r) * channels * 2 + channels + c];
      }
      const int64_t k = n * channels + c;
      const double d_mean = s1 / static_cast<double>(pixels);
      const double var = std::max(0.0, s2 / static_cast<double>(pixels) - d_mean * d_mean);
      const double mean = shift[k] + d_mean;
      hi[k] = static_cast<float>(mean), lo[k] = static_cast<float>(mean - static_cast<double>(hi[k]));
      a[k] = static_cast<float>(scale[c] / std::sqrt(var + static_cast<double>(eps)));
    }
  const std::vector<float> bias_rows(bias, bias + channels);
  const std::vector<float> th = per.tile(hi, batch, channels), tl = per.tile(lo, batch, channels);
  const std::vector<float> ta = per.tile(a, batch, channels), tb = per.tile(bias_rows, 1, channels);
  ThreadPool::instance().parallel_for(batch * runs, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / runs, r = item % runs;
      const int64_t p0 = r * run_pixels, p1 = std::min(pixels, p0 + run_pixels);
      const float* in = x + (n * pixels + p0) * channels;
      float* out = y + (n * pixels + p0) * channels;
      const int64_t count = (p1 - p0) * channels;
      const float *__restrict h = &th[n * per.width], *__restrict l = &tl[n * per.width];
      const float *__restrict s = &ta[n * per.width], *__restrict b = tb.data();
      for (int64_t base = 0; base < count; base += per.width) {
        const int64_t len = std::min(per.width, count - base);
        for (int64_t j = 0; j < len; ++j) out[base + j] = ((in[base + j] - h[j]) - l[j]) * s[j] + b[j];
      }
    }
  });
}

}  // namespace

void NativeInstanceNorm::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeInstanceNorm::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (const auto& a : inputs) encoder.set_input_array(a);
  encoder.set_output_array(out);
  encoder.dispatch([x = mx::array::unsafe_weak_copy(inputs[0]), scale = mx::array::unsafe_weak_copy(inputs[1]),
                    bias = mx::array::unsafe_weak_copy(inputs[2]), out = mx::array::unsafe_weak_copy(out),
                    eps = eps_, channels_last = channels_last_]() mutable {
    if (out.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const int64_t channels = channels_last ? x.shape(-1) : x.shape(1);
    const int64_t plane = static_cast<int64_t>(x.size()) / (x.shape(0) * channels);
    const float* src = x.data<float>();
    const float* sc = scale.data<float>();
    const float* bi = bias.data<float>();
    float* dst = out.data<float>();
    if (channels_last) {
      normalize_channels_last(src, dst, x.shape(0), plane, channels, eps, sc, bi);
      if (record) record_op("instance_norm", out.shape(), t0, t0);
      return;
    }
    ThreadPool::instance().parallel_for(x.shape(0) * channels, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t c = p % channels;
        normalize_plane(src + p * plane, dst + p * plane, plane, eps, sc[c], bi[c]);
      }
    });
    if (record) record_op("instance_norm", out.shape(), t0, t0);
  });
}

mx::array native_instance_norm(const mx::array& x, const mx::array& scale, const mx::array& bias, float eps,
                               bool channels_last, mx::StreamOrDevice s) {
  if (x.dtype() != mx::float32 || scale.dtype() != mx::float32 || bias.dtype() != mx::float32)
    refuse("x, scale and bias must be float32");
  if (x.ndim() < 3) refuse("x must be (N, C, spatial...)");
  const int channels = channels_last ? x.shape(-1) : x.shape(1);
  if (scale.ndim() != 1 || bias.ndim() != 1 || scale.shape(0) != channels || bias.shape(0) != channels)
    refuse(channels_last ? "scale and bias must be (C,) with C = x.shape[-1]" : "scale and bias must be (C,) with C = x.shape[1]");
  auto stream = mx::to_stream(s);
  const mx::array xc = mx::contiguous(x, false, stream);
  const mx::array sc = mx::contiguous(scale, false, stream);
  const mx::array bc = mx::contiguous(bias, false, stream);
  auto prim = std::make_shared<NativeInstanceNorm>(stream, eps, channels_last);
  return mx::array(xc.shape(), mx::float32, std::move(prim), {xc, sc, bc});
}

}  // namespace mlxu
