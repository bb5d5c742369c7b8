// NativeConv: an MLX primitive running the native NHWC conv kernels on the CPU.
#pragma once

#include <chrono>
#include <cstdlib>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "kernels.h"
#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

// A float buffer aligned to a cache line, kept by one thread and grown as needed.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Scratch(Scratch&& o) noexcept : ptr_(o.ptr_), cap_(o.cap_) { o.ptr_ = nullptr, o.cap_ = 0; }  // a vector may grow
  Scratch& operator=(Scratch&& o) noexcept {
    std::swap(ptr_, o.ptr_), std::swap(cap_, o.cap_);
    return *this;
  }
  float* get(size_t n) {
    if (n > cap_) {
      std::free(ptr_);
      cap_ = n;
      ptr_ = static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
      if (!ptr_) throw std::bad_alloc();
    }
    return ptr_;
  }
  ~Scratch() { std::free(ptr_); }

 private:
  float* ptr_ = nullptr;
  size_t cap_ = 0;
};

// Allocates out's buffer starting on a cache line (MLX's CPU buffers start 8 bytes into one).
void set_aligned_output(mx::array& out);

// x (N, H, W, C) is a transposed view of a dense NCHW array that a dense kernel of height kh reads in place,
// plane by plane (a network's stem on its NCHW input).
bool nchw_layout(const mx::array& x, int kh);

enum class ConvKind : int { Depthwise = 0, Dense = 1, Image = 2 };  // Image: a dense conv on a uint8 NHWC image

// A 1x1 conv run on a depthwise conv's output in the same pass (MobileNet's depthwise-pointwise pair).
struct PointwiseStage {
  Act act = Act::None;
  float alpha = 0.f, beta = 0.f;
  bool has_bias = false, has_slope = false;
  bool operator==(const PointwiseStage&) const = default;
};

// Inputs: x, w, [bias], [residual], [slope] (Image: then the per-channel offset); with a pointwise stage (depthwise only):
// x, w, [bias], [slope], w_pw, [bias_pw], [residual], [slope_pw], the residual then joining the final output.
struct ConvParams {
  ConvKind kind;
  int sh, sw;
  int pt, pl, pb, pr;
  Act act;
  float alpha, beta;
  bool has_bias, has_residual, has_slope;
  bool residual_after;
  bool fused_pw = false;
  PointwiseStage pw{};
  int winograd = 0;  // dense 3x3 stride 1: F(2x2, 3x3) or F(4x4, 3x3) (2 or 4); 0: the GEMM
  // Depthwise only: x first goes through a 1x1 conv (its inputs last: w_pre, [bias_pre], [slope_pre]), or a
  // stem (a dense conv on 1-4 channels) with these strides and pads
  bool pre_pw = false;
  PointwiseStage pre{};
  int pre_sh = 1, pre_sw = 1, pre_pt = 0, pre_pl = 0, pre_pb = 0, pre_pr = 0;
  // the stem reads the uint8 image x minus a per-channel offset (an input after the first conv's: offset)
  bool pre_image = false;
  // a 1x1 conv between the stem and the depthwise conv (inputs after those: w_mid, [bias_mid], [slope_mid])
  bool pre_mid = false;
  PointwiseStage mid{};
  // depthwise (maybe after a pre stage), no 1x1 after it, no residual: the output is the 2x2 stride-2 max pool
  // of the conv's (whose height and width are even)
  bool pool2 = false;
  // pw_dw with w_pw, no residual: the output interleaves another map of the conv's shape (the last input) with
  // the conv's, channel by channel, other first (ShuffleNet's concat + channel shuffle): twice the channels
  bool shuffle = false;
  // a plain dense conv without residual: > 1 makes the output (N, groups, Ho, Wo, C_out / groups), the NHWC
  // output's channel groups one after another (YOLO's heads: (N, anchors, H, W, values))
  int out_groups = 0;
  // a plain dense conv's residual is its output's coarser level (N, Ho / res_fh, Wo / res_fw, C_out), added
  // nearest-upsampled
  int res_fh = 1, res_fw = 1;
  // a 1x1 dense conv over the channel concatenation of x and this many more maps (the last inputs), never
  // assembled: w's input channels are the parts' in order
  int extra_parts = 0;
  bool operator==(const ConvParams&) const = default;
};

class NativeConv : public mx::UnaryPrimitive {
 public:
  NativeConv(mx::Stream stream, ConvParams p) : mx::UnaryPrimitive(stream), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override {
    if (p_.pre_pw) return p_.fused_pw ? "NativePointwiseDepthwisePointwiseConv" : "NativePointwiseDepthwiseConv";
    if (p_.fused_pw) return "NativeDepthwisePointwiseConv";
    if (p_.kind == ConvKind::Image) return "NativeImageConv";
    return p_.kind == ConvKind::Depthwise ? "NativeDepthwiseConv" : "NativeDenseConv";
  }

  const ConvParams& params() const { return p_; }

 private:
  ConvParams p_;
};

// x: [N,H,W,C_in] float32. Depthwise w: [kh,kw,C]; dense w: [kh,kw,C_in,C_out] (HWIO).
// bias / slope: [C_out]; residual: the output's shape. Inputs need not be contiguous.
// Opt-in timing of each native op as it runs inside the graph (tools/forward_breakdown.py --kernels).
struct KernelRecord {
  const char* kind;  // "dense", "depthwise", "depthwise+pointwise", "image", or a non-conv op ("max_pool", ...)
  int n, h, w, c_in, ho, wo, c_out, kh, kw, sh;  // convs; other ops: the output as n, ho, wo, c_out
  bool x_aligned;
  double start_us;            // steady clock, when the task began
  double copy_us, kernel_us;  // copying strided/misaligned operands; the kernel itself
  double worker_share;        // share of the kernel's work the pool's workers did
};
bool recording_on();
// Appends a record for a non-conv op that began at `start` (its kernel ran from `kernel_start` to now).
void record_op(const char* kind, const mx::Shape& out_shape, std::chrono::steady_clock::time_point start,
               std::chrono::steady_clock::time_point kernel_start);
void set_recording(bool on);
std::vector<KernelRecord> take_records();

// A depthwise conv (w_dw: [kh,kw,C]) and the 1x1 conv reading its output (w_pw: [1,1,C,C_out]) in one
// pass; bias/slope/act belong to the depthwise conv, *_pw to the pointwise one, residual to the output.
mx::array native_dw_pw_conv2d(const mx::array& x, const mx::array& w_dw, const std::optional<mx::array>& bias,
                              const std::optional<mx::array>& slope, const mx::array& w_pw,
                              const std::optional<mx::array>& bias_pw, const std::optional<mx::array>& slope_pw,
                              const std::optional<mx::array>& residual, std::vector<int> strides,
                              std::vector<int> pads, int act, float alpha, float beta, int act_pw, float alpha_pw,
                              float beta_pw, bool residual_after = false, mx::StreamOrDevice s = {});

// A 1x1 conv (w_pre: [1,1,C_in,C]) whose output only a depthwise conv (w_dw: [kh,kw,C]) reads, then, if w_pw is
// given, a 1x1 conv over the depthwise output (w_pw: [1,1,C,C_out]), in one pass: *_pre belong to the first
// 1x1 conv, bias/slope/act to the depthwise one, *_pw to the last; residual joins the final output.
// The first conv may be a stem instead: w_pre [kh,kw,C_in,C] with C_in <= 4, pre_strides, pre_pads; on the uint8
// image x (NHWC) read as float(x) - pre_offset[c] when pre_offset is given; and then, if w_mid [1,1,C_stem,C] is
// given, a 1x1 conv (*_mid) between the stem (w_pre [kh,kw,C_in,C_stem]) and the depthwise conv. pool2 (no w_pw, no
// residual, the depthwise output's height and width even): the output is that output's 2x2 stride-2 max pool.
// interleave_with (w_pw given, no residual; the conv output's shape): the output is that map and the conv's
// interleaved channel by channel, [other_0, conv_0, other_1, conv_1, ...] (twice the channels).
mx::array native_pw_dw_conv2d(const mx::array& x, const mx::array& w_pre, const std::optional<mx::array>& bias_pre,
                              const std::optional<mx::array>& slope_pre, const mx::array& w_dw,
                              const std::optional<mx::array>& bias, const std::optional<mx::array>& slope,
                              const std::optional<mx::array>& w_pw, const std::optional<mx::array>& bias_pw,
                              const std::optional<mx::array>& slope_pw, const std::optional<mx::array>& residual,
                              std::vector<int> strides, std::vector<int> pads, int act_pre, float alpha_pre,
                              float beta_pre, int act, float alpha, float beta, int act_pw, float alpha_pw,
                              float beta_pw, bool residual_after = false, std::vector<int> pre_strides = {1, 1},
                              std::vector<int> pre_pads = {0, 0, 0, 0}, const std::optional<mx::array>& pre_offset = {},
                              const std::optional<mx::array>& w_mid = {}, const std::optional<mx::array>& bias_mid = {},
                              const std::optional<mx::array>& slope_mid = {}, int act_mid = 0, float alpha_mid = 0.f,
                              float beta_mid = 0.f, bool pool2 = false,
                              const std::optional<mx::array>& interleave_with = {}, mx::StreamOrDevice s = {});

// A dense conv on an 8-bit NHWC image x (uint8 [N,H,W,C], C <= 4), read as float(x) - offset[c] and zero-padded:
// a network's stem with its input normalization folded into w (HWIO) and offset (the mean, in image order).
mx::array native_image_conv2d(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                              const mx::array& offset, const std::optional<mx::array>& residual,
                              const std::optional<mx::array>& slope, std::vector<int> strides, std::vector<int> pads,
                              int act, float alpha, float beta, bool residual_after = false, mx::StreamOrDevice s = {});

// A 1x1 conv over the channel concatenation of parts (NHWC, one height and width), read in place: w is
// (1, 1, sum of the parts' channels, C_out), its input channels in the parts' order; the rest as native_conv2d.
mx::array native_concat_conv2d(const std::vector<mx::array>& parts, const mx::array& w,
                               const std::optional<mx::array>& bias, const std::optional<mx::array>& residual,
                               const std::optional<mx::array>& slope, int act, float alpha, float beta,
                               bool residual_after = false, std::vector<int> residual_up = {1, 1},
                               mx::StreamOrDevice s = {});

mx::array native_conv2d(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                        const std::optional<mx::array>& residual, const std::optional<mx::array>& slope,
                        bool depthwise, std::vector<int> strides, std::vector<int> pads, int act, float alpha,
                        float beta, bool residual_after = false, int winograd = 0, bool pool2 = false,
                        int out_groups = 0, std::vector<int> residual_up = {1, 1}, mx::StreamOrDevice s = {});

}  // namespace mlxu
