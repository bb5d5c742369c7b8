#include "resize_primitive.h"

#include <algorithm>
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

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native resize: " + what); }

// One output row (all `inner` values at output position j of one outer slice).
inline void resize_row(const float* src, float* dst, const int32_t* idx, const float* w, int taps, int64_t inner) {
  const float* a = src + idx[0] * inner;
  const float w0 = w[0];
  if (taps == 2) {  // linear: the common case, written out so the loop vectorizes without a scratch row
    const float* b = src + idx[1] * inner;
    const float w1 = w[1];
    for (int64_t i = 0; i < inner; ++i) dst[i] = w0 * a[i] + w1 * b[i];
    return;
  }
  for (int64_t i = 0; i < inner; ++i) dst[i] = w0 * a[i];
  for (int t = 1; t < taps; ++t) {
    const float* b = src + idx[t] * inner;
    const float wt = w[t];
    for (int64_t i = 0; i < inner; ++i) dst[i] += wt * b[i];
  }
}

// The last axis (inner == 1): each output is its own gather.
inline void resize_last(const float* src, float* dst, const int32_t* idx, const float* w, int taps, int64_t n_out) {
  if (taps == 2) {
    for (int64_t j = 0; j < n_out; ++j) dst[j] = w[2 * j] * src[idx[2 * j]] + w[2 * j + 1] * src[idx[2 * j + 1]];
    return;
  }
  for (int64_t j = 0; j < n_out; ++j) {
    const int32_t* ij = idx + j * taps;
    const float* wj = w + j * taps;
    float acc = wj[0] * src[ij[0]];
    for (int t = 1; t < taps; ++t) acc += wj[t] * src[ij[t]];
    dst[j] = acc;
  }
}

}  // namespace

std::vector<mx::Shape> NativeResizeAxis::output_shapes(const std::vector<mx::array>& inputs) {
  mx::Shape shape = inputs[0].shape();
  shape[axis_] = inputs[1].shape(0);
  return {shape};
}

void NativeResizeAxis::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeResizeAxis::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (const auto& a : inputs) encoder.set_input_array(a);
  encoder.set_output_array(out);
  encoder.dispatch([x = mx::array::unsafe_weak_copy(inputs[0]), idx = mx::array::unsafe_weak_copy(inputs[1]),
                    w = mx::array::unsafe_weak_copy(inputs[2]), out = mx::array::unsafe_weak_copy(out),
                    axis = axis_]() mutable {
    if (out.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const int64_t n_in = x.shape(axis), n_out = out.shape(axis);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= x.shape(d);
    for (int d = axis + 1; d < static_cast<int>(x.ndim()); ++d) inner *= x.shape(d);
    const int taps = idx.shape(1);
    const float* src = x.data<float>();
    // clamped into the axis once per call: an op list is data, and its maps must never read out of bounds
    std::vector<int32_t> clamped(idx.data<int32_t>(), idx.data<int32_t>() + idx.size());
    for (auto& v : clamped) v = static_cast<int32_t>(std::clamp<int64_t>(v, 0, n_in - 1));
    const int32_t* ip = clamped.data();
    const float* wp = w.data<float>();
    float* dst = out.data<float>();
    auto& pool = ThreadPool::instance();
    if (inner == 1) {  // rows of the last axis: one work item per outer slice
      const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n_out));
      pool.parallel_for(outer, grain, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) resize_last(src + o * n_in, dst + o * n_out, ip, wp, taps, n_out);
      });
    } else {  // one work item per (outer, j) output row of `inner` values
      const int64_t grain = std::max<int64_t>(1, 4096 / inner);
      pool.parallel_for(outer * n_out, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          const int64_t o = r / n_out, j = r % n_out;
          resize_row(src + o * n_in * inner, dst + r * inner, ip + j * taps, wp + j * taps, taps, inner);
        }
      });
    }
    if (record) record_op("resize_axis", out.shape(), t0, t0);
  });
}

mx::array native_resize_axis(const mx::array& x, int axis, const mx::array& idx, const mx::array& coeffs,
                             mx::StreamOrDevice s) {
  if (x.dtype() != mx::float32 || coeffs.dtype() != mx::float32) refuse("x and coeffs must be float32");
  if (idx.dtype() != mx::int32) refuse("idx must be int32");
  const int rank = static_cast<int>(x.ndim());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) refuse("axis out of range");
  if (idx.ndim() != 2 || idx.shape(1) < 1 || coeffs.shape() != idx.shape())
    refuse("idx and coeffs must share one (out, taps) shape with taps >= 1");
  if (x.shape(axis) == 0 && idx.shape(0) > 0) refuse("cannot resize an empty axis to a non-empty one");
  auto stream = mx::to_stream(s);
  const mx::array ic = mx::contiguous(idx, false, stream);
  const mx::array xc = mx::contiguous(x, false, stream);
  const mx::array wc = mx::contiguous(coeffs, false, stream);
  auto prim = std::make_shared<NativeResizeAxis>(stream, axis);
  auto shape = prim->output_shapes({xc, ic, wc})[0];
  return mx::array(std::move(shape), mx::float32, std::move(prim), {xc, ic, wc});
}

}  // namespace mlxu
