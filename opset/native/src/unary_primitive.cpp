#include "unary_primitive.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "conv_primitive.h"
#include "kernels.h"
#include "strided.h"
#include "threadpool.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"

namespace mlxu {

using Kind = UnaryParams::Kind;

namespace {

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native op: " + what); }

}  // namespace

const char* NativeUnary::name() const {
  switch (p_.kind) {
    case Kind::Sigmoid: return "NativeSigmoid";
    case Kind::Softmax: return "NativeSoftmax";
    case Kind::MaxPool: return "NativeMaxPool";
    case Kind::Upsample: return "NativeUpsample";
  }
  return "NativeUnary";
}

std::vector<mx::Shape> NativeUnary::output_shapes(const std::vector<mx::array>& inputs) {
  const auto& x = inputs[0].shape();
  if (p_.kind == Kind::MaxPool) return {{x[0], p_.ho, p_.wo, x[3]}};
  if (p_.kind == Kind::Upsample) return {{x[0], x[1] * p_.fh, x[2] * p_.fw, x[3]}};
  return {x};
}

bool NativeUnary::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeUnary*>(&other);
  return o && o->p_ == p_;
}

void NativeUnary::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeUnary::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  const auto& x = inputs[0];
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (const auto& a : inputs) encoder.set_input_array(a);
  encoder.set_output_array(out);
  std::optional<mx::array> residual;
  if (p_.residual) residual = mx::array::unsafe_weak_copy(inputs[1]);
  encoder.dispatch([x = mx::array::unsafe_weak_copy(x), residual = std::move(residual),
                    out = mx::array::unsafe_weak_copy(out), p = p_]() mutable {
    if (out.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    struct Recorder {  // records the op when the kernel returns (each kind returns from its own branch)
      bool on;
      const UnaryParams& p;
      const mx::array& out;
      std::chrono::steady_clock::time_point t0;
      ~Recorder() {
        static const char* names[] = {"sigmoid", "softmax", "max_pool", "upsample"};
        if (on) record_op(names[static_cast<int>(p.kind)], out.shape(), t0, t0);
      }
    } recorder{record, p, out, t0};
    const KernelTable& k = best_kernels();
    const float* src = x.data<float>();
    float* dst = out.data<float>();
    if (p.kind == Kind::Sigmoid) return k.sigmoid(src, dst, static_cast<int64_t>(out.size()));
    if (p.kind == Kind::Softmax) {
      const int64_t len = x.shape(-1);
      return k.softmax(src, dst, static_cast<int64_t>(out.size()) / len, len);
    }
    ConvShape s{};
    s.n = x.shape(0), s.h = x.shape(1), s.w = x.shape(2), s.c_in = s.c_out = x.shape(3);
    s.ho = out.shape(1), s.wo = out.shape(2);
    s.kh = p.kh, s.kw = p.kw, s.sh = p.sh, s.sw = p.sw, s.pt = p.pt, s.pl = p.pl;
    if (p.kind == Kind::MaxPool)
      k.max_pool(s, src, dst);
    else
      k.upsample(s, p.fh, p.fw, src, residual ? residual->data<float>() : nullptr, dst);
  });
}

namespace {

mx::array make(const mx::array& x, const UnaryParams& p, mx::StreamOrDevice s,
               const std::optional<mx::array>& residual = {}) {
  if (x.dtype() != mx::float32) refuse("x must be float32");
  const bool spatial = p.kind == Kind::MaxPool || p.kind == Kind::Upsample;
  if (spatial && x.ndim() != 4) refuse("x must be NHWC (4-D)");
  if (p.kind == Kind::Softmax && x.ndim() == 0) refuse("softmax needs at least one axis");
  auto stream = mx::to_stream(s);
  std::vector<mx::array> inputs{mx::contiguous(x, false, stream)};  // the kernels read row-major memory; free if it is
  auto prim = std::make_shared<NativeUnary>(stream, p);
  auto shape = prim->output_shapes(inputs)[0];
  if (residual) {
    if (residual->dtype() != mx::float32) refuse("residual must be float32");
    if (residual->shape() != shape)
      refuse("residual must have the output's shape (" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) +
             ", " + std::to_string(shape[2]) + ", " + std::to_string(shape[3]) + ")");
    inputs.push_back(mx::contiguous(*residual, false, stream));
  }
  return mx::array(std::move(shape), mx::float32, std::move(prim), std::move(inputs));
}

}  // namespace

mx::array native_sigmoid(const mx::array& x, mx::StreamOrDevice s) { return make(x, {Kind::Sigmoid}, s); }

mx::array native_softmax_last(const mx::array& x, mx::StreamOrDevice s) { return make(x, {Kind::Softmax}, s); }

mx::array native_max_pool2d(const mx::array& x, std::vector<int> kernel, std::vector<int> strides,
                            std::vector<int> pads_top_left, std::vector<int> out_hw, mx::StreamOrDevice s) {
  if (kernel.size() != 2 || strides.size() != 2 || pads_top_left.size() != 2 || out_hw.size() != 2)
    refuse("kernel, strides, pads (top, left) and out_hw take two ints each");
  if (x.ndim() != 4) refuse("x must be NHWC (4-D)");
  UnaryParams p{Kind::MaxPool, kernel[0], kernel[1], strides[0], strides[1], pads_top_left[0], pads_top_left[1],
                out_hw[0], out_hw[1]};
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.ho < 1 || p.wo < 1 || p.pt < 0 || p.pl < 0)
    refuse("kernel, strides and output size must be positive, pads non-negative");
  // every window needs a tap inside the input: the first starts before the kernel ends, the last inside
  const int h = x.shape(1), w = x.shape(2);
  if (p.pt >= p.kh || p.pl >= p.kw || (p.ho - 1) * p.sh - p.pt > h - 1 || (p.wo - 1) * p.sw - p.pl > w - 1)
    refuse("a pooling window would lie entirely outside the input");
  return make(x, p, s);
}

namespace {

// The parts' rows (their last axis) copied one after another into `out`: parts whose rows are evenly spaced
// (contiguous, or channel slices of a wider map) row by row over the pool's threads, any other view gathered.
void flat_concat(const std::vector<mx::array>& parts, float* out) {
  struct Rows {
    const float* src;
    int64_t stride, width, first;  // first: the part's first row among all parts' rows
    float* dst;
  };
  std::vector<Rows> rows;
  int64_t total_rows = 0;
  float* dst = out;
  for (const auto& a : parts) {
    if (a.size() == 0) continue;
    const int64_t stride = row_stride(a);
    const int64_t width = a.ndim() == 0 ? 1 : a.shape(-1);
    if (stride > 0 && a.ndim() > 0) {
      rows.push_back({a.data<float>(), stride, width, total_rows, dst});
      total_rows += static_cast<int64_t>(a.size()) / width;
    } else {
      gather(a, dst);
    }
    dst += a.size();
  }
  if (rows.empty()) return;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, rows[0].width));
  ThreadPool::instance().parallel_for(total_rows, grain, [&](int64_t r0, int64_t r1) {
    size_t k = std::upper_bound(rows.begin(), rows.end(), r0, [](int64_t r, const Rows& p) { return r < p.first; }) -
               rows.begin() - 1;
    for (int64_t r = r0; r < r1; ++r) {
      while (k + 1 < rows.size() && r >= rows[k + 1].first) ++k;
      const Rows& p = rows[k];
      const int64_t i = r - p.first;
      std::memcpy(p.dst + i * p.width, p.src + i * p.stride, sizeof(float) * p.width);
    }
  });
}

}  // namespace

std::vector<mx::Shape> NativeJoin::output_shapes(const std::vector<mx::array>& inputs) {
  if (mode_ == JoinMode::Flat) {
    int64_t total = 0;
    for (const auto& a : inputs) total += static_cast<int64_t>(a.size());
    if (total > std::numeric_limits<int>::max()) refuse("flat_concat output too large");
    return {mx::Shape{static_cast<int>(total)}};
  }
  mx::Shape shape = inputs[0].shape();
  if (mode_ == JoinMode::Interleave) {
    shape.back() *= static_cast<int>(inputs.size());
    return {shape};
  }
  shape.back() = 0;
  for (const auto& a : inputs) shape.back() += a.shape(-1);
  return {shape};
}

void NativeJoin::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeJoin::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  std::vector<mx::array> held;
  for (const auto& a : inputs) {
    encoder.set_input_array(a);
    held.push_back(mx::array::unsafe_weak_copy(a));
  }
  encoder.set_output_array(out);
  encoder.dispatch([held = std::move(held), out = mx::array::unsafe_weak_copy(out), mode = mode_]() mutable {
    if (out.size() == 0) return;
    if (mode == JoinMode::Flat) {
      const bool record = recording_on();
      const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      flat_concat(held, out.data<float>());
      if (record) record_op("flat_concat", out.shape(), t0, t0);
      return;
    }
    const bool concat = mode == JoinMode::Concat;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const int g = static_cast<int>(held.size());
    std::vector<const float*> parts;
    std::vector<int64_t> row_strides;
    std::vector<int> widths;
    thread_local std::vector<std::vector<float>> copies;
    if (copies.size() < held.size()) copies.resize(held.size());
    for (size_t i = 0; i < held.size(); ++i) {
      const auto& a = held[i];
      const int width = a.shape(-1);
      widths.push_back(width);
      if (a.size() == 0) {
        parts.push_back(nullptr);
        row_strides.push_back(0);
        continue;
      }
      const int64_t stride = row_stride(a);
      if (stride > 0) {  // contiguous, or a channel slice of a wider map: read in place
        parts.push_back(a.data<float>());
        row_strides.push_back(stride);
        continue;
      }
      copies[i].resize(a.size());
      gather(a, copies[i].data());
      parts.push_back(copies[i].data());
      row_strides.push_back(width);
    }
    const int64_t pixels = static_cast<int64_t>(out.size()) / out.shape(-1);
    const auto t1 = record ? std::chrono::steady_clock::now() : t0;
    if (concat)
      best_kernels().concat(parts.data(), row_strides.data(), widths.data(), g, pixels, out.data<float>());
    else
      best_kernels().interleave(parts.data(), row_strides.data(), g, pixels, widths[0], out.data<float>());
    if (record) record_op(concat ? "concat" : "interleave", out.shape(), t0, t1);
  });
}

mx::array native_interleave(const std::vector<mx::array>& parts, mx::StreamOrDevice s) {
  if (parts.size() < 2) refuse("interleave needs at least two parts");
  auto stream = mx::to_stream(s);
  std::vector<mx::array> inputs;
  for (const auto& a : parts) {
    if (a.dtype() != mx::float32) refuse("interleave parts must be float32");
    if (a.shape() != parts[0].shape() || a.ndim() == 0) refuse("interleave parts must share one shape");
    inputs.push_back(a);  // views are fine: eval_cpu reads channel slices in place and copies the rest
  }
  auto prim = std::make_shared<NativeJoin>(stream);
  auto shape = prim->output_shapes(inputs)[0];
  return mx::array(std::move(shape), mx::float32, std::move(prim), std::move(inputs));
}

mx::array native_concat(const std::vector<mx::array>& parts, mx::StreamOrDevice s) {
  if (parts.empty()) refuse("concat needs a part");
  auto stream = mx::to_stream(s);
  std::vector<mx::array> inputs;
  for (const auto& a : parts) {
    if (a.dtype() != mx::float32) refuse("concat parts must be float32");
    if (a.ndim() != parts[0].ndim() || a.ndim() == 0) refuse("concat parts must share one rank");
    for (size_t d = 0; d + 1 < a.ndim(); ++d)
      if (a.shape(d) != parts[0].shape(d)) refuse("concat parts must agree in every dim but the last");
    inputs.push_back(a);
  }
  auto prim = std::make_shared<NativeJoin>(stream, JoinMode::Concat);
  auto shape = prim->output_shapes(inputs)[0];
  return mx::array(std::move(shape), mx::float32, std::move(prim), std::move(inputs));
}

mx::array native_flat_concat(const std::vector<mx::array>& parts, mx::StreamOrDevice s) {
  if (parts.empty()) refuse("flat_concat needs a part");
  auto stream = mx::to_stream(s);
  std::vector<mx::array> inputs;
  for (const auto& a : parts) {
    if (a.dtype() != mx::float32) refuse("flat_concat parts must be float32");
    inputs.push_back(a);  // views are fine: channel slices are read in place, other views gathered
  }
  auto prim = std::make_shared<NativeJoin>(stream, JoinMode::Flat);
  auto shape = prim->output_shapes(inputs)[0];
  return mx::array(std::move(shape), mx::float32, std::move(prim), std::move(inputs));
}

mx::array native_upsample_nearest(const mx::array& x, std::vector<int> factors,
                                  const std::optional<mx::array>& residual, mx::StreamOrDevice s) {
  if (factors.size() != 2 || factors[0] < 1 || factors[1] < 1) refuse("factors must be two positive ints");
  UnaryParams p{Kind::Upsample};
  p.fh = factors[0], p.fw = factors[1];
  p.residual = residual.has_value();
  return make(x, p, s, residual);
}

}  // namespace mlxu
