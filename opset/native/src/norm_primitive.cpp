#include "norm_primitive.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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
                    eps = eps_]() mutable {
    if (out.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const int64_t channels = x.shape(1);
    const int64_t plane = static_cast<int64_t>(x.size()) / (x.shape(0) * channels);
    const float* src = x.data<float>();
    const float* sc = scale.data<float>();
    const float* bi = bias.data<float>();
    float* dst = out.data<float>();
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
                               mx::StreamOrDevice s) {
  if (x.dtype() != mx::float32 || scale.dtype() != mx::float32 || bias.dtype() != mx::float32)
    refuse("x, scale and bias must be float32");
  if (x.ndim() < 3) refuse("x must be (N, C, spatial...)");
  if (scale.ndim() != 1 || bias.ndim() != 1 || scale.shape(0) != x.shape(1) || bias.shape(0) != x.shape(1))
    refuse("scale and bias must be (C,) with C = x.shape[1]");
  auto stream = mx::to_stream(s);
  const mx::array xc = mx::contiguous(x, false, stream);
  const mx::array sc = mx::contiguous(scale, false, stream);
  const mx::array bc = mx::contiguous(bias, false, stream);
  auto prim = std::make_shared<NativeInstanceNorm>(stream, eps);
  return mx::array(xc.shape(), mx::float32, std::move(prim), {xc, sc, bc});
}

}  // namespace mlxu
