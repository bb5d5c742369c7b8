// NativeStemSplit: a network's stem whose map two readers share, made band by band and never written out.
#pragma once

#include <optional>
#include <vector>

#include "kernels.h"
#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

struct StemSplitParams {
  int sh, sw, pt, pl, pb, pr;
  Act act, act_mid;
  float alpha, beta, alpha_mid, beta_mid;
  bool has_bias, has_bias_mid, image;
  bool operator==(const StemSplitParams&) const = default;
};

// Inputs: x, w, [bias], w_mid, [bias_mid], [offset]. Outputs: the stem's 2x2 stride-2 max pool and the 1x1
// conv over the stem's map (YOLOv5n's StemBlock: both read the 3x3 stride-2 stem's 320x320x16 map).
class NativeStemSplit : public mx::Primitive {
 public:
  NativeStemSplit(mx::Stream stream, StemSplitParams p) : mx::Primitive(stream), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override;
  void eval_gpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override { return "NativeStemSplit"; }

 private:
  StemSplitParams p_;
};

// x: float32 NHWC (or a transposed view of NCHW, read in place) with 1-4 channels, or, with offset, the uint8
// NHWC image read as float(x) - offset[c]. w: [kh, kw, C_in, C] (HWIO); w_mid: [1, 1, C, C_mid]. The stem's
// output height and width must be even. Returns [max_pool2x2(act(stem)), act_mid(conv1x1(act(stem)))].
std::vector<mx::array> native_stem_split(const mx::array& x, const mx::array& w, const std::optional<mx::array>& bias,
                                         const mx::array& w_mid, const std::optional<mx::array>& bias_mid,
                                         const std::optional<mx::array>& offset, std::vector<int> strides,
                                         std::vector<int> pads, int act, float alpha, float beta, int act_mid,
                                         float alpha_mid, float beta_mid, mx::StreamOrDevice s = {});

}  // namespace mlxu
