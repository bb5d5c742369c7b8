#include "conv_primitive.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <new>
#include <sstream>
#include <utility>
#include <stdexcept>

#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"
#include "packed_weights.h"
#include "strided.h"
#include "threadpool.h"

namespace mlxu {

namespace {

constexpr size_t kAlign = 64;

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native_conv2d: " + what); }

std::string shape_str(const mx::Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << (s.size() == 1 ? ",)" : ")");
  return o.str();
}

int out_size(int in, int k, int s, int before, int after) { return (in + before + after - k) / s + 1; }

mx::Shape conv_output_shape(const mx::Shape& x, const mx::Shape& w, const ConvParams& p) {
  const int kh = w[0], kw = w[1];
  const int c_out = p.kind == ConvKind::Depthwise ? w[2] : w[3];
  return {x[0], out_size(x[1], kh, p.sh, p.pt, p.pb), out_size(x[2], kw, p.sw, p.pl, p.pr), c_out};
}

// Where each optional operand sits among the inputs (-1: absent); see ConvParams.
struct Operands {
  int bias = -1, residual = -1, slope = -1, w_pw = -1, bias_pw = -1, slope_pw = -1, offset = -1;
  int w_pre = -1, bias_pre = -1, slope_pre = -1, w_mid = -1, bias_mid = -1, slope_mid = -1, shuffle = -1;
};

Operands operands(const ConvParams& p) {
  Operands o;
  int next = 2;
  if (p.has_bias) o.bias = next++;
  if (!p.fused_pw) {
    if (p.has_residual) o.residual = next++;
    if (p.has_slope) o.slope = next++;
    if (p.kind == ConvKind::Image) o.offset = next++;
  } else {
    if (p.has_slope) o.slope = next++;
    o.w_pw = next++;
    if (p.pw.has_bias) o.bias_pw = next++;
    if (p.has_residual) o.residual = next++;
    if (p.pw.has_slope) o.slope_pw = next++;
  }
  if (p.pre_pw) {
    o.w_pre = next++;
    if (p.pre.has_bias) o.bias_pre = next++;
    if (p.pre.has_slope) o.slope_pre = next++;
    if (p.pre_image) o.offset = next++;
    if (p.pre_mid) {
      o.w_mid = next++;
      if (p.mid.has_bias) o.bias_mid = next++;
      if (p.mid.has_slope) o.slope_mid = next++;
    }
  }
  if (p.shuffle) o.shuffle = next++;
  return o;
}

// The depthwise conv's input: x, or a stem's output on x (a 1x1 pre keeps x's size).
mx::Shape dw_input_shape(const mx::Shape& x, const mx::Shape& w_pre, const ConvParams& p) {
  if (!p.pre_pw) return x;
  return {x[0], out_size(x[1], w_pre[0], p.pre_sh, p.pre_pt, p.pre_pb), out_size(x[2], w_pre[1], p.pre_sw, p.pre_pl, p.pre_pr),
          w_pre[3]};
}

mx::Shape output_shape(const std::vector<mx::array>& inputs, const ConvParams& p) {
  const mx::Shape x = p.pre_pw ? dw_input_shape(inputs[0].shape(), inputs[operands(p).w_pre].shape(), p)
                               : inputs[0].shape();
  mx::Shape shape = conv_output_shape(x, inputs[1].shape(), p);
  if (p.fused_pw) shape[3] = inputs[operands(p).w_pw].shape(3);
  if (p.pool2) shape[1] /= 2, shape[2] /= 2;
  if (p.shuffle) shape[3] *= 2;
  if (p.out_groups > 1) return {shape[0], p.out_groups, shape[1], shape[2], shape[3] / p.out_groups};
  return shape;
}

// The conv's output as NHWC, whatever layout it is written in.
mx::Shape nhwc_shape(const mx::array& out, const ConvParams& p) {
  if (p.out_groups > 1) return {out.shape(0), out.shape(2), out.shape(3), out.shape(1) * out.shape(4)};
  return out.shape();
}

}  // namespace

std::vector<mx::Shape> NativeConv::output_shapes(const std::vector<mx::array>& inputs) {
  return {output_shape(inputs, p_)};
}

bool NativeConv::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeConv*>(&other);
  return o && o->p_ == p_;
}

void NativeConv::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native conv kernels run on the CPU only; use MLX's own conv on the GPU");
}

// MLX's CPU buffers start 8 bytes into a cache line, so every 32/64-byte vector load would straddle
// two lines (measured: 1.6x slower depthwise). Outputs are over-allocated and offset to a line.
void set_aligned_output(mx::array& out) {
  auto data = mx::allocator::malloc(out.nbytes() + kAlign);
  const auto addr = reinterpret_cast<uintptr_t>(data.buffer().raw_ptr());
  const int64_t offset = static_cast<int64_t>((kAlign - addr % kAlign) % kAlign);
  mx::Strides strides(out.ndim(), 1);
  for (int i = static_cast<int>(out.ndim()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * out.shape(i + 1);
  int big_dims = 0;
  for (int d : out.shape()) big_dims += d > 1;
  mx::array::Flags flags{true, true, big_dims <= 1};
  out.set_data(std::move(data), out.size(), std::move(strides), flags, offset);
}

bool nchw_layout(const mx::array& x, int kh) {
  if (x.ndim() != 4 || x.size() == 0 || x.flags().row_contiguous) return false;
  const int64_t h = x.shape(1), w = x.shape(2), c = x.shape(3);
  const auto& st = x.strides();
  return c * kh <= kMaxSegments && st[3] == h * w && st[1] == w && st[2] == 1 && (x.shape(0) == 1 || st[0] == c * h * w);
}

namespace {

// x (shape N, H, W, C) is a transposed view of a dense NCHW array, and the dense kernel can take it as is.
bool is_nchw_view(const mx::array& x, int kh, const ConvParams& p) {
  const bool stem_pre = p.pre_pw && x.ndim() == 4 && x.shape(3) <= kMaxStemChannels;
  if ((p.kind != ConvKind::Dense && !stem_pre) || p.winograd) return false;
  return nchw_layout(x, kh);
}

std::atomic<bool> recording{false};
std::mutex records_mutex;
std::vector<KernelRecord> records;

double us_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void set_recording(bool on) { recording.store(on); }

bool recording_on() { return recording.load(std::memory_order_relaxed); }

void record_op(const char* kind, const mx::Shape& out_shape, std::chrono::steady_clock::time_point start,
               std::chrono::steady_clock::time_point kernel_start) {
  KernelRecord r{kind, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, true,
                 std::chrono::duration<double, std::micro>(start.time_since_epoch()).count(),
                 std::chrono::duration<double, std::micro>(kernel_start - start).count(), us_since(kernel_start),
                 ThreadPool::instance().last_worker_share()};
  const int nd = static_cast<int>(out_shape.size());
  if (nd > 0) r.c_out = out_shape[nd - 1];
  if (nd > 1) r.wo = out_shape[nd - 2];
  if (nd > 2) r.ho = out_shape[nd - 3];
  if (nd > 3) r.n = out_shape[0];
  std::lock_guard<std::mutex> lock(records_mutex);
  records.push_back(r);
}

std::vector<KernelRecord> take_records() {
  std::lock_guard<std::mutex> lock(records_mutex);
  return std::exchange(records, {});
}

void NativeConv::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  set_aligned_output(out);
  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (const auto& a : inputs) encoder.set_input_array(a);
  encoder.set_output_array(out);

  std::vector<mx::array> held;
  for (const auto& a : inputs) held.push_back(mx::array::unsafe_weak_copy(a));
  // The weight cache needs an owning reference (the weak copies do not keep a buffer alive); only a
  // plain stored array qualifies, never a graph node whose inputs the reference would keep too.
  const Operands o = operands(p_);
  const int dense_w = p_.kind != ConvKind::Depthwise ? 1 : o.w_pw;  // the weight the kernel packs, if any
  std::optional<mx::array> owned_weights, owned_pre;
  if (dense_w >= 0 && !inputs[dense_w].has_primitive()) owned_weights = inputs[dense_w];
  std::optional<mx::array> owned_mid;
  if (o.w_pre >= 0 && !inputs[o.w_pre].has_primitive()) owned_pre = inputs[o.w_pre];
  if (o.w_mid >= 0 && !inputs[o.w_mid].has_primitive()) owned_mid = inputs[o.w_mid];
  encoder.dispatch([held = std::move(held), owned_weights = std::move(owned_weights), owned_pre = std::move(owned_pre),
                    owned_mid = std::move(owned_mid), o, dense_w, out = mx::array::unsafe_weak_copy(out),
                    p = p_]() mutable {
    // Views (transposes, slices, broadcasts) are read through a dense copy; the kernels want row-major.
    // Depthwise weights, bias and slope (small, read over and over) are also copied when not cache-line aligned.
    // The copies live in buffers kept by this (stream) thread, so repeated calls do not fault in new pages.
    thread_local std::vector<Scratch> scratch(16);
    if (scratch.size() < held.size()) scratch.resize(held.size());  // a conv over many parts has more inputs
    const bool record = recording.load(std::memory_order_relaxed);
    const auto t0 = record ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    std::vector<const float*> ptr(held.size());
    // A dense conv on a few channels (a stem) reads an NCHW input seen as NHWC in place, plane by plane.
    const bool nchw = !p.extra_parts && is_nchw_view(held[0], p.pre_pw ? held[o.w_pre].shape(0) : held[1].shape(0), p);
    // a conv over parts reads each part in place, a channel slice of a wider map too
    const size_t first_extra = held.size() - p.extra_parts;
    std::vector<int64_t> part_stride(held.size(), 0);
    const bool image = p.kind == ConvKind::Image;
    // a 1x1 pre stage reads a channel slice of a wider map in place (ShuffleNet's second half), as does the
    // interleaved output its other map
    const bool pointwise_pre = p.pre_pw && !p.pre_image && !p.pre_mid && held[o.w_pre].shape(0) == 1 &&
                               held[o.w_pre].shape(1) == 1 && p.pre_sh == 1 && p.pre_sw == 1 &&
                               !(p.pre_pt | p.pre_pl | p.pre_pb | p.pre_pr);
    int64_t x_stride = 0, shuffle_stride = 0;
    for (size_t i = 0; i < held.size(); ++i) {
      const auto& a = held[i];
      if (i == 0 && (nchw || image || p.pre_image)) {  // read in place (an image is made contiguous when the op is built)
        ptr[i] = nchw ? a.data<float>() : nullptr;
        continue;
      }
      const int at = static_cast<int>(i);
      if (p.extra_parts && (i == 0 || i >= first_extra)) {
        const int64_t stride = a.size() ? row_stride(a) : 0;
        if (stride > 0 && reinterpret_cast<uintptr_t>(a.data<float>()) % sizeof(float) == 0) {
          ptr[i] = a.data<float>(), part_stride[i] = stride;
        } else {
          float* dst = scratch[i].get(a.size());
          gather(a, dst);
          ptr[i] = dst, part_stride[i] = a.shape(3);
        }
        continue;
      }
      if ((at == 0 && pointwise_pre) || at == o.shuffle) {
        const int64_t stride = a.size() ? row_stride(a) : 0;
        if (stride > 0 && reinterpret_cast<uintptr_t>(a.data<float>()) % sizeof(float) == 0) {
          ptr[i] = a.data<float>();
          (at == 0 ? x_stride : shuffle_stride) = stride;
          continue;
        }
        if (at == o.shuffle) {  // any other view: a dense copy
          float* dst = scratch[i].get(a.size());
          gather(a, dst);
          ptr[i] = dst;
          shuffle_stride = a.shape(3);
          continue;
        }
      }
      const bool aligned = reinterpret_cast<uintptr_t>(a.data<float>()) % kAlign == 0;
      // x and the residual are read in place; so is a dense weight, which the kernel repacks anyway
      const bool in_place = at == 0 || at == dense_w || at == o.w_pre || at == o.w_mid || at == o.residual;
      if (a.size() == 0 || (a.flags().row_contiguous && (aligned || in_place))) {
        ptr[i] = a.data<float>();
      } else if (a.flags().row_contiguous) {
        float* dst = scratch[i].get(a.size());
        std::memcpy(dst, a.data<float>(), a.size() * sizeof(float));
        ptr[i] = dst;
      } else {
        float* dst = scratch[i].get(a.size());
        gather(a, dst);
        ptr[i] = dst;
      }
    }
    const auto& x = held[0];
    const auto& w = held[1];
    auto operand = [&](int i) -> const float* { return i >= 0 ? ptr[i] : nullptr; };
    ConvShape s{};
    const mx::Shape dw_in = p.pre_pw ? dw_input_shape(x.shape(), held[o.w_pre].shape(), p) : x.shape();
    s.n = x.shape(0), s.h = dw_in[1], s.w = dw_in[2], s.c_in = p.pre_pw || p.extra_parts ? w.shape(2) : x.shape(3);
    const int scale = p.pool2 ? 2 : 1;  // the conv's own output is twice the pooled one written
    const mx::Shape y = nhwc_shape(out, p);
    s.ho = y[1] * scale, s.wo = y[2] * scale, s.c_out = p.fused_pw ? s.c_in : y[3];
    s.out_group = p.out_groups > 1 ? y[3] / p.out_groups : 0;
    s.res_fh = p.res_fh, s.res_fw = p.res_fw;
    s.pool2 = p.pool2;
    s.kh = w.shape(0), s.kw = w.shape(1);
    s.sh = p.sh, s.sw = p.sw, s.pt = p.pt, s.pl = p.pl, s.pb = p.pb, s.pr = p.pr;
    s.nchw = nchw && !p.pre_pw;
    s.winograd = p.winograd;
    Epilogue e;  // the conv's own (the depthwise one's, with a pointwise stage)
    e.bias = operand(o.bias), e.slope = operand(o.slope);
    e.act = p.act, e.alpha = p.alpha, e.beta = p.beta;
    Epilogue e_pw;  // the pointwise stage's, which then writes the output
    e_pw.bias = operand(o.bias_pw), e_pw.slope = operand(o.slope_pw);
    e_pw.act = p.pw.act, e_pw.alpha = p.pw.alpha, e_pw.beta = p.pw.beta;
    Epilogue& last = p.fused_pw ? e_pw : e;
    last.residual = operand(o.residual), last.residual_after = p.residual_after;
    if (out.size() == 0) return;
    // a stem (on the image, or a dense conv on a few channels) runs on the table whose vectors its output
    // channels fill (RetinaFace's 8: AVX2's)
    const bool stem = image || (p.kind == ConvKind::Dense && !p.fused_pw && !p.winograd && s.c_in <= 4);
    // so does a stem fused with the depthwise conv after it (its output channels are the depthwise conv's)
    const bool stem_pre = p.pre_pw && (p.pre_image || p.pre_mid || held[o.w_pre].shape(0) * held[o.w_pre].shape(1) > 1 ||
                                       p.pre_sh * p.pre_sw > 1 || p.pre_pt || p.pre_pl || p.pre_pb || p.pre_pr);
    const KernelTable& k = stem       ? kernels_for_channels(s.c_out)
                           : stem_pre ? kernels_for_channels(held[o.w_pre].shape(3))
                                      : best_kernels();
    const double copy_us = record ? us_since(t0) : 0.0;
    const auto t1 = record ? std::chrono::steady_clock::now() : t0;
    // dense weights are packed once per weight array (when read in place, from the array's own buffer)
    auto pack = [&](int at, const std::optional<mx::array>& owner, const ConvShape& shape) {
      const bool own = owner && ptr[at] == owner->data<float>();
      return packed_dense_weights(ptr[at], own ? &*owner : nullptr, k, shape);
    };
    auto packed_weights = [&](const ConvShape& shape) { return pack(dense_w, owned_weights, shape); };
    ConvShape pw{};  // the 1x1 conv after a depthwise one
    pw.n = s.n, pw.h = s.ho, pw.w = s.wo, pw.c_in = s.c_in, pw.ho = s.ho, pw.wo = s.wo;
    pw.c_out = y[3] / (p.shuffle ? 2 : 1);
    pw.kh = pw.kw = pw.sh = pw.sw = 1;
    if (p.pre_pw) {
      PreStage pre;
      ConvShape& first = pre.shape;  // the 1x1 conv (or stem) before it
      first = pw;
      first.h = x.shape(1), first.w = x.shape(2), first.ho = s.h, first.wo = s.w, first.c_in = x.shape(3);
      first.c_out = held[o.w_pre].shape(3);
      first.kh = held[o.w_pre].shape(0), first.kw = held[o.w_pre].shape(1), first.sh = p.pre_sh, first.sw = p.pre_sw;
      first.pt = p.pre_pt, first.pl = p.pre_pl, first.pb = p.pre_pb, first.pr = p.pre_pr, first.nchw = nchw;
      pre.x = p.pre_image ? static_cast<const void*>(held[0].data<uint8_t>()) : ptr[0];
      pre.x_stride = x_stride;
      pre.offset = p.pre_image ? ptr[o.offset] : nullptr;
      pre.e.bias = operand(o.bias_pre), pre.e.slope = operand(o.slope_pre);
      pre.e.act = p.pre.act, pre.e.alpha = p.pre.alpha, pre.e.beta = p.pre.beta;
      const auto packed_pre = pack(o.w_pre, owned_pre, first);
      pre.packed = packed_pre.get();
      ConvShape mid = pw;  // the 1x1 conv between the stem and the depthwise conv
      mid.h = mid.ho = s.h, mid.w = mid.wo = s.w, mid.c_in = first.c_out, mid.c_out = s.c_in;
      std::shared_ptr<const float> packed_mid;
      if (p.pre_mid) {
        packed_mid = pack(o.w_mid, owned_mid, mid);
        pre.mid = &mid, pre.packed_mid = packed_mid.get();
        pre.e_mid.bias = operand(o.bias_mid), pre.e_mid.slope = operand(o.slope_mid);
        pre.e_mid.act = p.mid.act, pre.e_mid.alpha = p.mid.alpha, pre.e_mid.beta = p.mid.beta;
      }
      if (p.fused_pw) {
        const auto packed = packed_weights(pw);
        const ShuffleWith shuffle{operand(o.shuffle), shuffle_stride};
        k.pw_dw(pre, s, ptr[1], e, &pw, packed.get(), &e_pw, p.shuffle ? &shuffle : nullptr, out.data<float>());
      } else {
        k.pw_dw(pre, s, ptr[1], e, nullptr, nullptr, nullptr, nullptr, out.data<float>());
      }
    } else if (p.fused_pw) {
      const auto packed = packed_weights(pw);
      k.dw_pw(s, ptr[0], ptr[1], e, pw, packed.get(), e_pw, out.data<float>());
    } else if (p.kind == ConvKind::Depthwise) {
      k.depthwise(s, ptr[0], ptr[1], e, out.data<float>());
    } else if (image) {
      const auto packed = packed_weights(s);
      k.image_conv(s, held[0].data<uint8_t>(), ptr[o.offset], packed.get(), e, out.data<float>());
    } else if (p.extra_parts) {
      const auto packed = packed_weights(s);
      std::vector<const float*> parts{ptr[0]};
      std::vector<int> widths{held[0].shape(3)};
      std::vector<int64_t> strides{part_stride[0]};
      for (size_t i = first_extra; i < held.size(); ++i)
        parts.push_back(ptr[i]), widths.push_back(held[i].shape(3)), strides.push_back(part_stride[i]);
      k.dense_parts(s, parts.data(), widths.data(), strides.data(), static_cast<int>(parts.size()), packed.get(), e,
                    out.data<float>());
    } else {
      const auto packed = packed_weights(s);
      k.dense(s, ptr[0], packed.get(), e, out.data<float>());
    }
    if (record) {
      const bool x_aligned = image || p.pre_image || reinterpret_cast<uintptr_t>(ptr[0]) % kAlign == 0;
      const char* kind = p.pool2 ? (p.pre_mid   ? "stem+pointwise+depthwise+max_pool"
                                    : stem_pre   ? "stem+depthwise+max_pool"
                                    : p.pre_pw   ? "pointwise+depthwise+max_pool"
                                                 : "depthwise+max_pool")
                         : p.shuffle ? "pointwise+depthwise+pointwise+interleave"
                         : p.pre_mid ? (p.fused_pw ? "stem+pointwise+depthwise+pointwise" : "stem+pointwise+depthwise")
                         : stem_pre ? (p.fused_pw ? "stem+depthwise+pointwise" : "stem+depthwise")
                         : p.pre_pw ? (p.fused_pw ? "pointwise+depthwise+pointwise" : "pointwise+depthwise")
                         : p.fused_pw ? "depthwise+pointwise"
                         : p.kind == ConvKind::Depthwise ? "depthwise"
                         : image                          ? "image"
                         : p.extra_parts                  ? "dense over parts"
                                                          : "dense";
      KernelRecord r{kind, s.n, s.h, s.w, s.c_in, s.ho, s.wo,
                     static_cast<int>(y[3]), s.kh, s.kw, s.sh,
                     x_aligned,
                     std::chrono::duration<double, std::micro>(t0.time_since_epoch()).count(), copy_us,
                     us_since(t1), ThreadPool::instance().last_worker_share()};
      std::lock_guard<std::mutex> lock(records_mutex);
      records.push_back(r);
    }
  });
}

namespace {

void check_geometry(const mx::array& x, const std::vector<int>& strides, const std::vector<int>& pads, int act) {
  if (x.ndim() != 4) refuse("x must be NHWC (4-D), got shape " + shape_str(x.shape()));
  if (strides.size() != 2 || strides[0] < 1 || strides[1] < 1) refuse("strides must be two positive ints");
  if (pads.size() != 4) refuse("pads must be [top, left, bottom, right]");
  for (int v : pads)
    if (v < 0) refuse("pads must be non-negative");
  if (act < 0 || act > static_cast<int>(Act::Silu)) refuse("unknown activation code " + std::to_string(act));
}

void check_weight(const mx::array& x, const mx::array& w, bool depthwise) {
  const int c_in = x.shape(3);
  if (depthwise) {
    if (w.ndim() != 3 || w.shape(2) != c_in)
      refuse("depthwise weight must be (kh, kw, C) with C = " + std::to_string(c_in) + ", got " + shape_str(w.shape()));
  } else if (w.ndim() != 4 || w.shape(2) != c_in) {
    refuse("dense weight must be (kh, kw, C_in, C_out) with C_in = " + std::to_string(c_in) + ", got " +
           shape_str(w.shape()));
  }
  if (w.shape(0) < 1 || w.shape(1) < 1 || w.shape(0) > 8) refuse("kernel height must be 1..8, got " + shape_str(w.shape()));
}

// Collects a primitive's inputs, checking each; views are fine (eval_cpu copies them to dense order itself).
struct Inputs {
  mx::Stream stream;
  std::vector<mx::array> list;
  void add(const mx::array& a, const char* what) {
    if (a.dtype() != mx::float32) refuse(std::string(what) + " must be float32");
    list.push_back(a);
  }
  // bias or slope: one value per channel
  void add_per_channel(const std::optional<mx::array>& a, int channels, const char* what) {
    if (!a) return;
    if (a->size() != static_cast<size_t>(channels))
      refuse(std::string(what) + " must have " + std::to_string(channels) + " values, one per channel");
    add(a->ndim() == 1 ? *a : mx::reshape(*a, {channels}, stream), what);
  }
  void add_residual(const std::optional<mx::array>& r, const mx::Shape& out_shape) {
    if (!r) return;
    if (r->shape() != out_shape)
      refuse("residual must have the output's shape " + shape_str(out_shape) + ", got " + shape_str(r->shape()));
    add(*r, "residual");
  }
};

}  // namespace

// pool2: a depthwise conv, no residual, and an even output height and width (the pool's windows tile it exactly).
static void check_pool2(bool depthwise, bool residual, const mx::Shape& conv_out) {
  if (!depthwise) refuse("pool2 needs a depthwise conv");
  if (residual) refuse("pool2 cannot take a residual");
  if (conv_out[1] % 2 || conv_out[2] % 2)
    refuse("pool2 needs the conv output's height and width even, got " + shape_str(conv_out));
}

mx::array native_conv2d(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                        const std::optional<mx::array>& residual, const std::optional<mx::array>& slope,
                        bool depthwise, std::vector<int> strides, std::vector<int> pads, int act, float alpha,
                        float beta, bool residual_after, int winograd, bool pool2, int out_groups,
                        std::vector<int> residual_up, mx::StreamOrDevice s) {
  check_geometry(x, strides, pads, act);
  check_weight(x, w, depthwise);
  if (winograd != 0 && winograd != 2 && winograd != 4) refuse("winograd must be 0, 2 or 4, got " + std::to_string(winograd));
  if (winograd && (depthwise || w.shape(0) != 3 || w.shape(1) != 3 || strides[0] != 1 || strides[1] != 1))
    refuse("winograd needs a dense 3x3 stride-1 conv, got weight " + shape_str(w.shape()) + " and strides (" +
           std::to_string(strides[0]) + ", " + std::to_string(strides[1]) + ")");
  ConvParams p{depthwise ? ConvKind::Depthwise : ConvKind::Dense,
               strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
               static_cast<Act>(act), alpha, beta,
               bias.has_value(), residual.has_value(), slope.has_value(), residual_after && residual.has_value()};
  p.winograd = winograd;
  mx::Shape out_shape = conv_output_shape(x.shape(), w.shape(), p);
  if (out_shape[1] < 1 || out_shape[2] < 1) refuse("the kernel does not fit the padded input " + shape_str(x.shape()));
  if (pool2) {
    check_pool2(depthwise, residual.has_value(), out_shape);
    p.pool2 = true;
    out_shape[1] /= 2, out_shape[2] /= 2;
  }
  const int c_out = out_shape[3];
  if (p.act == Act::PRelu && !slope) refuse("PRelu needs a slope");
  Inputs in{mx::to_stream(s), {}};
  in.add(x, "x");
  in.add(w, "w");
  in.add_per_channel(bias, c_out, "bias");
  if (residual_up.size() != 2 || residual_up[0] < 1 || residual_up[1] < 1)
    refuse("residual_up must be two positive factors");
  if (residual_up[0] * residual_up[1] > 1) {  // the residual is the output's coarser level
    if (depthwise || !residual || pool2) refuse("residual_up needs a dense conv with a residual");
    if (out_shape[1] % residual_up[0] || out_shape[2] % residual_up[1])
      refuse("residual_up must divide the output's height and width " + shape_str(out_shape));
    p.res_fh = residual_up[0], p.res_fw = residual_up[1];
    in.add_residual(residual, {out_shape[0], out_shape[1] / p.res_fh, out_shape[2] / p.res_fw, c_out});
  } else {
    in.add_residual(residual, out_shape);
  }
  in.add_per_channel(slope, c_out, "slope");
  if (out_groups < 0) refuse("out_groups must be non-negative, got " + std::to_string(out_groups));
  if (out_groups > 1) {
    if (depthwise || residual || pool2) refuse("out_groups needs a dense conv without residual or pool2");
    if (c_out % out_groups || (c_out / out_groups) % kOutGroupAlign)
      refuse("out_groups must split the " + std::to_string(c_out) + " output channels into groups of a multiple of " +
             std::to_string(kOutGroupAlign) + ", got " + std::to_string(out_groups));
    p.out_groups = out_groups;
    out_shape = {out_shape[0], out_groups, out_shape[1], out_shape[2], c_out / out_groups};
  }
  return mx::array(out_shape, mx::float32, std::make_shared<NativeConv>(in.stream, p), std::move(in.list));
}

mx::array native_concat_conv2d(const std::vector<mx::array>& parts, const mx::array& w,
                               const std::optional<mx::array>& bias, const std::optional<mx::array>& residual,
                               const std::optional<mx::array>& slope, int act, float alpha, float beta,
                               bool residual_after, std::vector<int> residual_up, mx::StreamOrDevice s) {
  if (parts.empty()) refuse("concat_conv2d needs at least one part");
  const mx::array& x = parts[0];
  check_geometry(x, {1, 1}, {0, 0, 0, 0}, act);
  std::vector<int> widths;
  for (const auto& part : parts) {
    if (part.ndim() != 4 || part.shape(0) != x.shape(0) || part.shape(1) != x.shape(1) || part.shape(2) != x.shape(2))
      refuse("concat_conv2d's parts must be NHWC maps of one batch, height and width, got " + shape_str(part.shape()) +
             " beside " + shape_str(x.shape()));
    if (part.dtype() != mx::float32) refuse("concat_conv2d's parts must be float32");
    if (part.shape(3) < 1) refuse("concat_conv2d's parts must have at least one channel");
    widths.push_back(part.shape(3));
  }
  const int k_total = std::accumulate(widths.begin(), widths.end(), 0);
  if (w.ndim() != 4 || w.shape(0) != 1 || w.shape(1) != 1 || w.shape(2) != k_total)
    refuse("concat_conv2d's weight must be (1, 1, " + std::to_string(k_total) + ", C_out), got " + shape_str(w.shape()));
  if (!concat_conv_segment(widths.data(), static_cast<int>(widths.size())))
    refuse("concat_conv2d's parts cut K into more than " + std::to_string(kMaxSegments) +
           " segments (their channel counts' greatest common divisor is too small)");
  // the conv over the first part, with w's channels: native_conv2d's checks and output, then the other parts
  mx::array conv = native_conv2d(mx::zeros({x.shape(0), x.shape(1), x.shape(2), k_total}, mx::float32, s), w, bias,
                                 residual, slope, false, {1, 1}, {0, 0, 0, 0}, act, alpha, beta, residual_after, 0,
                                 false, 0, residual_up, s);
  auto* prim = static_cast<NativeConv*>(&conv.primitive());
  ConvParams p = prim->params();
  p.extra_parts = static_cast<int>(parts.size()) - 1;
  std::vector<mx::array> inputs = conv.inputs();
  inputs[0] = x;
  for (size_t i = 1; i < parts.size(); ++i) inputs.push_back(parts[i]);
  return mx::array(conv.shape(), mx::float32, std::make_shared<NativeConv>(prim->stream(), p), std::move(inputs));
}

mx::array native_image_conv2d(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                              const mx::array& offset, const std::optional<mx::array>& residual,
                              const std::optional<mx::array>& slope, std::vector<int> strides, std::vector<int> pads,
                              int act, float alpha, float beta, bool residual_after, mx::StreamOrDevice s) {
  check_geometry(x, strides, pads, act);
  if (x.dtype() != mx::uint8) refuse("the image must be uint8, got another dtype");
  if (x.shape(3) < 1 || x.shape(3) > 4) refuse("the image must have 1 to 4 channels, got shape " + shape_str(x.shape()));
  check_weight(x, w, false);
  if (offset.size() != static_cast<size_t>(x.shape(3)))
    refuse("offset must have one value per image channel (" + std::to_string(x.shape(3)) + ")");
  ConvParams p{ConvKind::Image, strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
               static_cast<Act>(act), alpha, beta,
               bias.has_value(), residual.has_value(), slope.has_value(), residual_after && residual.has_value()};
  const mx::Shape out_shape = conv_output_shape(x.shape(), w.shape(), p);
  if (out_shape[1] < 1 || out_shape[2] < 1) refuse("the kernel does not fit the padded input " + shape_str(x.shape()));
  const int c_out = out_shape[3];
  if (p.act == Act::PRelu && !slope) refuse("PRelu needs a slope");
  Inputs in{mx::to_stream(s), {}};
  in.list.push_back(mx::contiguous(x, false, in.stream));
  in.add(w, "w");
  in.add_per_channel(bias, c_out, "bias");
  in.add_residual(residual, out_shape);
  in.add_per_channel(slope, c_out, "slope");
  in.add_per_channel(offset, x.shape(3), "offset");
  return mx::array(out_shape, mx::float32, std::make_shared<NativeConv>(in.stream, p), std::move(in.list));
}

mx::array native_dw_pw_conv2d(const mx::array& x, const mx::array& w_dw, const std::optional<mx::array>& bias,
                              const std::optional<mx::array>& slope, const mx::array& w_pw,
                              const std::optional<mx::array>& bias_pw, const std::optional<mx::array>& slope_pw,
                              const std::optional<mx::array>& residual, std::vector<int> strides,
                              std::vector<int> pads, int act, float alpha, float beta, int act_pw, float alpha_pw,
                              float beta_pw, bool residual_after, mx::StreamOrDevice s) {
  check_geometry(x, strides, pads, act);
  if (act_pw < 0 || act_pw > static_cast<int>(Act::Silu)) refuse("unknown activation code " + std::to_string(act_pw));
  check_weight(x, w_dw, true);
  const int c = x.shape(3);
  if (w_pw.ndim() != 4 || w_pw.shape(0) != 1 || w_pw.shape(1) != 1 || w_pw.shape(2) != c)
    refuse("pointwise weight must be (1, 1, C, C_out) with C = " + std::to_string(c) + ", got " +
           shape_str(w_pw.shape()));
  ConvParams p{ConvKind::Depthwise, strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
               static_cast<Act>(act), alpha, beta,
               bias.has_value(), residual.has_value(), slope.has_value(), residual_after && residual.has_value(),
               true, PointwiseStage{static_cast<Act>(act_pw), alpha_pw, beta_pw, bias_pw.has_value(), slope_pw.has_value()}};
  mx::Shape out_shape = conv_output_shape(x.shape(), w_dw.shape(), p);
  if (out_shape[1] < 1 || out_shape[2] < 1) refuse("the kernel does not fit the padded input " + shape_str(x.shape()));
  const int c_out = w_pw.shape(3);
  out_shape[3] = c_out;
  if (p.act == Act::PRelu && !slope) refuse("PRelu needs a slope");
  if (p.pw.act == Act::PRelu && !slope_pw) refuse("the pointwise PRelu needs a slope");
  Inputs in{mx::to_stream(s), {}};
  in.add(x, "x");
  in.add(w_dw, "w");
  in.add_per_channel(bias, c, "bias");
  in.add_per_channel(slope, c, "slope");
  in.add(w_pw, "w_pw");
  in.add_per_channel(bias_pw, c_out, "bias_pw");
  in.add_residual(residual, out_shape);
  in.add_per_channel(slope_pw, c_out, "slope_pw");
  return mx::array(out_shape, mx::float32, std::make_shared<NativeConv>(in.stream, p), std::move(in.list));
}

mx::array native_pw_dw_conv2d(const mx::array& x, const mx::array& w_pre, const std::optional<mx::array>& bias_pre,
                              const std::optional<mx::array>& slope_pre, const mx::array& w_dw,
                              const std::optional<mx::array>& bias, const std::optional<mx::array>& slope,
                              const std::optional<mx::array>& w_pw, const std::optional<mx::array>& bias_pw,
                              const std::optional<mx::array>& slope_pw, const std::optional<mx::array>& residual,
                              std::vector<int> strides, std::vector<int> pads, int act_pre, float alpha_pre,
                              float beta_pre, int act, float alpha, float beta, int act_pw, float alpha_pw,
                              float beta_pw, bool residual_after, std::vector<int> pre_strides,
                              std::vector<int> pre_pads, const std::optional<mx::array>& pre_offset,
                              const std::optional<mx::array>& w_mid, const std::optional<mx::array>& bias_mid,
                              const std::optional<mx::array>& slope_mid, int act_mid, float alpha_mid, float beta_mid,
                              bool pool2, const std::optional<mx::array>& interleave_with, mx::StreamOrDevice s) {
  check_geometry(x, strides, pads, act);
  check_geometry(x, pre_strides, pre_pads, act_pre);
  for (int a : {act_pre, act_pw, act_mid})
    if (a < 0 || a > static_cast<int>(Act::Silu)) refuse("unknown activation code " + std::to_string(a));
  const int c_in = x.shape(3);
  if (pre_offset.has_value() != (x.dtype() == mx::uint8))
    refuse(pre_offset ? "with pre_offset, x must be the uint8 image" : "a uint8 x (the image) needs pre_offset");
  if (pre_offset && pre_offset->size() != static_cast<size_t>(c_in))
    refuse("pre_offset must have one value per image channel (" + std::to_string(c_in) + ")");
  if (w_pre.ndim() != 4 || w_pre.shape(2) != c_in)
    refuse("the first weight must be (kh, kw, C_in, C) with C_in = " + std::to_string(c_in) + ", got " +
           shape_str(w_pre.shape()));
  const bool pointwise = w_pre.shape(0) == 1 && w_pre.shape(1) == 1 && pre_strides == std::vector<int>{1, 1} &&
                         pre_pads == std::vector<int>{0, 0, 0, 0} && !pre_offset && !w_mid;
  if (!pointwise && (c_in > kMaxStemChannels || w_pre.shape(0) < 1 || w_pre.shape(1) < 1 || w_pre.shape(0) > 8))
    refuse("the first conv must be a 1x1 conv (stride 1, no pads) or a stem on at most " +
           std::to_string(kMaxStemChannels) + " channels with a kernel of 1..8 rows, got weight " +
           shape_str(w_pre.shape()) + " on " + std::to_string(c_in) + " channels");
  const int c_stem = w_pre.shape(3);
  if (w_mid && (w_mid->ndim() != 4 || w_mid->shape(0) != 1 || w_mid->shape(1) != 1 || w_mid->shape(2) != c_stem))
    refuse("the middle weight must be (1, 1, C_stem, C) with C_stem = " + std::to_string(c_stem) + ", got " +
           shape_str(w_mid->shape()));
  if (!w_mid && (bias_mid || slope_mid || act_mid)) refuse("bias_mid, slope_mid and act_mid need w_mid");
  const int c = w_mid ? w_mid->shape(3) : c_stem;
  if (w_dw.ndim() != 3 || w_dw.shape(2) != c || w_dw.shape(0) < 1 || w_dw.shape(1) < 1 || w_dw.shape(0) > 8)
    refuse("depthwise weight must be (kh, kw, C) with C = " + std::to_string(c) + " and kh <= 8, got " +
           shape_str(w_dw.shape()));
  if (w_pw && (w_pw->ndim() != 4 || w_pw->shape(0) != 1 || w_pw->shape(1) != 1 || w_pw->shape(2) != c))
    refuse("pointwise weight must be (1, 1, C, C_out) with C = " + std::to_string(c) + ", got " +
           shape_str(w_pw->shape()));
  if (!w_pw && (bias_pw || slope_pw || act_pw)) refuse("bias_pw, slope_pw and act_pw need w_pw");
  ConvParams p{ConvKind::Depthwise, strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
               static_cast<Act>(act), alpha, beta,
               bias.has_value(), residual.has_value(), slope.has_value(), residual_after && residual.has_value(),
               w_pw.has_value(), PointwiseStage{static_cast<Act>(act_pw), alpha_pw, beta_pw, bias_pw.has_value(), slope_pw.has_value()}};
  p.pre_pw = true;
  p.pre = PointwiseStage{static_cast<Act>(act_pre), alpha_pre, beta_pre, bias_pre.has_value(), slope_pre.has_value()};
  p.pre_sh = pre_strides[0], p.pre_sw = pre_strides[1];
  p.pre_pt = pre_pads[0], p.pre_pl = pre_pads[1], p.pre_pb = pre_pads[2], p.pre_pr = pre_pads[3];
  p.pre_image = pre_offset.has_value();
  p.pre_mid = w_mid.has_value();
  p.mid = PointwiseStage{static_cast<Act>(act_mid), alpha_mid, beta_mid, bias_mid.has_value(), slope_mid.has_value()};
  const mx::Shape dw_in = dw_input_shape(x.shape(), w_pre.shape(), p);
  if (dw_in[1] < 1 || dw_in[2] < 1) refuse("the first kernel does not fit the padded input " + shape_str(x.shape()));
  mx::Shape out_shape = conv_output_shape(dw_in, w_dw.shape(), p);
  if (out_shape[1] < 1 || out_shape[2] < 1) refuse("the kernel does not fit the padded input " + shape_str(x.shape()));
  const int c_out = w_pw ? w_pw->shape(3) : c;
  out_shape[3] = c_out;
  if (pool2) {
    if (w_pw) refuse("pool2 pools the depthwise output: it cannot take w_pw");
    check_pool2(true, residual.has_value(), out_shape);
    p.pool2 = true;
    out_shape[1] /= 2, out_shape[2] /= 2;
  }
  if (interleave_with) {
    if (!w_pw || residual || pool2) refuse("interleave_with needs w_pw, and no residual or pool2");
    if (interleave_with->shape() != out_shape)
      refuse("interleave_with must have the conv output's shape " + shape_str(out_shape) + ", got " +
             shape_str(interleave_with->shape()));
    p.shuffle = true;
  }
  if (p.pre.act == Act::PRelu && !slope_pre) refuse("the first pointwise PRelu needs a slope");
  if (p.mid.act == Act::PRelu && !slope_mid) refuse("the middle pointwise PRelu needs a slope");
  if (p.act == Act::PRelu && !slope) refuse("PRelu needs a slope");
  if (p.pw.act == Act::PRelu && !slope_pw) refuse("the pointwise PRelu needs a slope");
  Inputs in{mx::to_stream(s), {}};
  if (pre_offset)
    in.list.push_back(mx::contiguous(x, false, in.stream));  // the kernel reads the image in place
  else
    in.add(x, "x");
  in.add(w_dw, "w");
  in.add_per_channel(bias, c, "bias");
  if (w_pw) {  // the order operands() expects
    in.add_per_channel(slope, c, "slope");
    in.add(*w_pw, "w_pw");
    in.add_per_channel(bias_pw, c_out, "bias_pw");
    in.add_residual(residual, out_shape);
    in.add_per_channel(slope_pw, c_out, "slope_pw");
  } else {
    in.add_residual(residual, out_shape);
    in.add_per_channel(slope, c, "slope");
  }
  in.add(w_pre, "w_pre");
  in.add_per_channel(bias_pre, c_stem, "bias_pre");
  in.add_per_channel(slope_pre, c_stem, "slope_pre");
  if (pre_offset) in.add_per_channel(pre_offset, c_in, "pre_offset");
  if (w_mid) {
    in.add(*w_mid, "w_mid");
    in.add_per_channel(bias_mid, c, "bias_mid");
    in.add_per_channel(slope_mid, c, "slope_mid");
  }
  if (interleave_with) {
    in.add(*interleave_with, "interleave_with");
    out_shape[3] *= 2;
  }
  return mx::array(out_shape, mx::float32, std::make_shared<NativeConv>(in.stream, p), std::move(in.list));
}

}  // namespace mlxu
