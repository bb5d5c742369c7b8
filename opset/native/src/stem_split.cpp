#include "stem_split.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "conv_primitive.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"
#include "packed_weights.h"
#include "strided.h"

namespace mlxu {

namespace {

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native stem_split: " + what); }

int out_size(int in, int k, int s, int before, int after) { return (in + before + after - k) / s + 1; }

struct Slots {
  int bias = -1, w_mid = -1, bias_mid = -1, offset = -1;
};

Slots slots(const StemSplitParams& p) {
  Slots o;
  int next = 2;
  if (p.has_bias) o.bias = next++;
  o.w_mid = next++;
  if (p.has_bias_mid) o.bias_mid = next++;
  if (p.image) o.offset = next++;
  return o;
}

}  // namespace

std::vector<mx::Shape> NativeStemSplit::output_shapes(const std::vector<mx::array>& inputs) {
  const auto& x = inputs[0].shape();
  const auto& w = inputs[1].shape();
  const int ho = out_size(x[1], w[0], p_.sh, p_.pt, p_.pb), wo = out_size(x[2], w[1], p_.sw, p_.pl, p_.pr);
  return {{x[0], ho / 2, wo / 2, w[3]}, {x[0], ho, wo, inputs[slots(p_).w_mid].shape(3)}};
}

bool NativeStemSplit::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeStemSplit*>(&other);
  return o && o->p_ == p_;
}

void NativeStemSplit::eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) {
  throw std::runtime_error("native kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeStemSplit::eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
  for (auto& out : outputs) set_aligned_output(out);
  auto& encoder = mx::cpu::get_command_encoder(stream());
  std::vector<mx::array> held;
  for (const auto& a : inputs) {
    encoder.set_input_array(a);
    held.push_back(mx::array::unsafe_weak_copy(a));
  }
  for (auto& out : outputs) encoder.set_output_array(out);
  const Slots o = slots(p_);
  // the weight cache keeps an owning reference to a stored weight (never to a graph node's output)
  std::optional<mx::array> owned_w, owned_mid;
  if (!inputs[1].has_primitive()) owned_w = inputs[1];
  if (!inputs[o.w_mid].has_primitive()) owned_mid = inputs[o.w_mid];
  encoder.dispatch([held = std::move(held), owned_w = std::move(owned_w), owned_mid = std::move(owned_mid), o,
                    pool = mx::array::unsafe_weak_copy(outputs[0]), mid_out = mx::array::unsafe_weak_copy(outputs[1]),
                    p = p_]() mutable {
    if (pool.size() == 0) return;
    const bool record = recording_on();
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    thread_local std::vector<Scratch> scratch(6);
    // a dense row-major copy of any operand the kernel cannot read in place
    auto dense = [&](int at) -> const float* {
      if (at < 0) return nullptr;
      const auto& a = held[at];
      float* dst = scratch[at].get(a.size());
      if (a.flags().row_contiguous)
        std::memcpy(dst, a.data<float>(), a.size() * sizeof(float));
      else
        gather(a, dst);
      return dst;
    };
    const auto& x = held[0];
    const auto& w = held[1];
    const bool nchw = !p.image && nchw_layout(x, w.shape(0));
    const void* x_ptr = p.image                       ? static_cast<const void*>(x.data<uint8_t>())
                        : nchw || x.flags().row_contiguous ? static_cast<const void*>(x.data<float>())
                                                         : static_cast<const void*>(dense(0));
    const float* w_ptr = w.flags().row_contiguous ? w.data<float>() : dense(1);
    const float* mid_ptr = held[o.w_mid].flags().row_contiguous ? held[o.w_mid].data<float>() : dense(o.w_mid);
    PreStage pre;
    ConvShape& s = pre.shape;
    s.n = x.shape(0), s.h = x.shape(1), s.w = x.shape(2), s.c_in = x.shape(3);
    s.ho = mid_out.shape(1), s.wo = mid_out.shape(2), s.c_out = w.shape(3);
    s.kh = w.shape(0), s.kw = w.shape(1), s.sh = p.sh, s.sw = p.sw;
    s.pt = p.pt, s.pl = p.pl, s.pb = p.pb, s.pr = p.pr, s.nchw = nchw;
    ConvShape mid{};
    mid.n = s.n, mid.h = mid.ho = s.ho, mid.w = mid.wo = s.wo, mid.c_in = s.c_out, mid.c_out = mid_out.shape(3);
    mid.kh = mid.kw = mid.sh = mid.sw = 1;
    const KernelTable& k = kernels_for_channels(s.c_out);  // as a lone stem: the table its channels fill
    auto pack = [&](const float* data, const std::optional<mx::array>& owner, const ConvShape& shape) {
      const bool own = owner && data == owner->data<float>();
      return packed_dense_weights(data, own ? &*owner : nullptr, k, shape);
    };
    const auto packed = pack(w_ptr, owned_w, s);
    const auto packed_mid = pack(mid_ptr, owned_mid, mid);
    pre.x = x_ptr;
    pre.offset = dense(o.offset);
    pre.packed = packed.get();
    pre.e.bias = dense(o.bias), pre.e.act = p.act, pre.e.alpha = p.alpha, pre.e.beta = p.beta;
    pre.mid = &mid, pre.packed_mid = packed_mid.get();
    pre.e_mid.bias = dense(o.bias_mid), pre.e_mid.act = p.act_mid, pre.e_mid.alpha = p.alpha_mid;
    pre.e_mid.beta = p.beta_mid;
    const auto t1 = record ? std::chrono::steady_clock::now() : t0;
    k.stem_split(pre, pool.data<float>(), mid_out.data<float>());
    if (record) record_op("stem+max_pool|pointwise", mid_out.shape(), t0, t1);
  });
}

std::vector<mx::array> native_stem_split(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                                         const mx::array& w_mid, const std::optional<mx::array>& bias_mid,
                                         const std::optional<mx::array>& offset, std::vector<int> strides,
                                         std::vector<int> pads, int act, float alpha, float beta, int act_mid,
                                         float alpha_mid, float beta_mid, mx::StreamOrDevice s) {
  if (strides.size() != 2 || pads.size() != 4) refuse("strides take two ints, pads four (top, left, bottom, right)");
  if (strides[0] < 1 || strides[1] < 1 || pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0)
    refuse("strides must be positive, pads non-negative");
  for (int a : {act, act_mid})
    if (a < 0 || a > static_cast<int>(Act::Silu) || a == static_cast<int>(Act::PRelu))
      refuse("unsupported activation code " + std::to_string(a));
  if (x.ndim() != 4 || x.shape(3) < 1 || x.shape(3) > kMaxStemChannels) refuse("x must be NHWC with 1-4 channels");
  const bool image = offset.has_value();
  if (image ? x.dtype() != mx::uint8 : x.dtype() != mx::float32)
    refuse(image ? "with an offset, x must be the uint8 image" : "x must be float32");
  if (w.dtype() != mx::float32 || w.ndim() != 4 || w.shape(2) != x.shape(3) || w.shape(0) > 8 || w.shape(1) > 8)
    refuse("w must be float32 (kh, kw, C_in, C) with C_in = x's channels and kh, kw <= 8");
  const int c = w.shape(3);
  if (c < 1 || w_mid.ndim() != 4 || w_mid.shape(3) < 1) refuse("the stem and the 1x1 conv need at least one output channel");
  if (w_mid.dtype() != mx::float32 || w_mid.ndim() != 4 || w_mid.shape(0) != 1 || w_mid.shape(1) != 1 ||
      w_mid.shape(2) != c)
    refuse("w_mid must be float32 (1, 1, C, C_mid) with C = " + std::to_string(c));
  StemSplitParams p{strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
                    static_cast<Act>(act), static_cast<Act>(act_mid), alpha, beta, alpha_mid, beta_mid,
                    bias.has_value(), bias_mid.has_value(), image};
  const int ho = out_size(x.shape(1), w.shape(0), p.sh, p.pt, p.pb), wo = out_size(x.shape(2), w.shape(1), p.sw, p.pl, p.pr);
  if (ho < 2 || wo < 2 || ho % 2 || wo % 2)
    refuse("the stem's output height and width must be even and at least 2, got " + std::to_string(ho) + " x " +
           std::to_string(wo));
  auto stream = mx::to_stream(s);
  auto per_channel = [&](const mx::array& a, int n, const char* what) {
    if (a.dtype() != mx::float32 || a.size() != static_cast<size_t>(n))
      refuse(std::string(what) + " must be float32 with " + std::to_string(n) + " values");
    return mx::reshape(a, {n}, stream);
  };
  std::vector<mx::array> inputs{image ? mx::contiguous(x, false, stream) : x, w};
  if (bias) inputs.push_back(per_channel(*bias, c, "bias"));
  inputs.push_back(w_mid);
  if (bias_mid) inputs.push_back(per_channel(*bias_mid, w_mid.shape(3), "bias_mid"));
  if (offset) inputs.push_back(per_channel(*offset, x.shape(3), "offset"));
  auto prim = std::make_shared<NativeStemSplit>(stream, p);
  auto shapes = prim->output_shapes(inputs);
  return mx::array::make_arrays(std::move(shapes), {mx::float32, mx::float32}, prim, inputs);
}

}  // namespace mlxu
