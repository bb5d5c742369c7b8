#include "split_primitive.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "conv_primitive.h"
#include "mlx/backend/cpu/encoder.h"
#include "strided.h"
#include "threadpool.h"

namespace mlxu {

std::vector<mx::Shape> NativeSplit::output_shapes(const std::vector<mx::array>& inputs) {
  std::vector<mx::Shape> shapes;
  for (int w : widths_) {
    mx::Shape s = inputs[0].shape();
    s.back() = w;
    shapes.push_back(s);
  }
  return shapes;
}

bool NativeSplit::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeSplit*>(&other);
  return o && o->widths_ == widths_;
}

void NativeSplit::eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeSplit::eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
  for (auto& out : outputs) set_aligned_output(out);
  auto& encoder = mx::cpu::get_command_encoder(stream());
  encoder.set_input_array(inputs[0]);
  for (auto& out : outputs) encoder.set_output_array(out);
  std::vector<mx::array> outs;
  for (auto& out : outputs) outs.push_back(mx::array::unsafe_weak_copy(out));
  encoder.dispatch([x = mx::array::unsafe_weak_copy(inputs[0]), outs = std::move(outs), widths = widths_]() {
    if (x.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    // rows (all axes but the last) read in place when evenly spaced, else from a dense copy
    thread_local Scratch scratch;
    int64_t stride = row_stride(x);
    const float* src = x.data<float>();
    if (stride <= 0) {
      float* dense = scratch.get(x.size());
      gather(x, dense);
      src = dense, stride = x.shape(-1);
    }
    const int64_t rows = static_cast<int64_t>(x.size() / x.shape(-1));
    std::vector<float*> dst;
    for (const auto& o : outs) dst.push_back(const_cast<float*>(o.data<float>()));
    const auto t1 = record ? std::chrono::steady_clock::now() : t0;
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, x.shape(-1)));
    ThreadPool::instance().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = src + r * stride;
        for (size_t k = 0; k < widths.size(); ++k) {
          std::memcpy(dst[k] + r * widths[k], row, sizeof(float) * widths[k]);
          row += widths[k];
        }
      }
    });
    if (record) record_op("split", x.shape(), t0, t1);
  });
}

std::vector<mx::array> native_split_channels(const mx::array& x, std::vector<int> widths, mx::StreamOrDevice s) {
  if (x.dtype() != mx::float32 || x.ndim() < 1) throw std::invalid_argument("native split_channels: x must be float32");
  if (widths.empty()) throw std::invalid_argument("native split_channels: needs at least one width");
  for (int w : widths)
    if (w < 1) throw std::invalid_argument("native split_channels: widths must be positive");
  if (std::accumulate(widths.begin(), widths.end(), 0) != x.shape(-1))
    throw std::invalid_argument("native split_channels: the widths must sum to x's last axis (" +
                                std::to_string(x.shape(-1)) + ")");
  auto stream = mx::to_stream(s);
  auto prim = std::make_shared<NativeSplit>(stream, widths);
  auto shapes = prim->output_shapes({x});
  return mx::array::make_arrays(std::move(shapes), std::vector<mx::Dtype>(widths.size(), mx::float32), prim, {x});
}

}  // namespace mlxu
