// NativeUnary: the non-conv ops with native kernels, one input each (nearest upsampling may add a residual),
// on the CPU: sigmoid and last-axis softmax (MLX's CPU versions are scalar), NHWC max pooling and nearest
// upsampling (MLX's run on one thread).
#pragma once

#include <optional>
#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

struct UnaryParams {
  enum class Kind : int { Sigmoid = 0, Softmax = 1, MaxPool = 2, Upsample = 3 } kind;
  int kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0, ho = 0, wo = 0;  // MaxPool
  int fh = 1, fw = 1;                                                    // Upsample
  bool residual = false;  // Upsample: a second input, the output's shape, added to it
  bool operator==(const UnaryParams&) const = default;
};

class NativeUnary : public mx::UnaryPrimitive {
 public:
  NativeUnary(mx::Stream stream, UnaryParams p) : mx::UnaryPrimitive(stream), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override;

 private:
  UnaryParams p_;
};

// How parts are joined, on the pool's threads (MLX copies on one):
//  Interleave: channels of g same-shaped parts interleaved, out[..., j * g + k] = parts[k][..., j] (a channel
//              Concat followed by a channel shuffle in g groups: ShuffleNet's unit);
//  Concat:     a channel Concat (parts may differ in their last dim);
//  Flat:       the parts' elements in row-major order, one after another, as a 1-D array (a detection head's
//              Reshape + Concat of channel slices: the Reshape copies nothing more).
enum class JoinMode { Interleave, Concat, Flat };

class NativeJoin : public mx::UnaryPrimitive {
 public:
  explicit NativeJoin(mx::Stream stream, JoinMode mode = JoinMode::Interleave)
      : mx::UnaryPrimitive(stream), mode_(mode) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto* o = dynamic_cast<const NativeJoin*>(&other);
    return o != nullptr && o->mode_ == mode_;
  }
  const char* name() const override {
    return mode_ == JoinMode::Concat ? "NativeConcat" : mode_ == JoinMode::Flat ? "NativeFlatConcat" : "NativeInterleave";
  }

 private:
  JoinMode mode_;
};

mx::array native_interleave(const std::vector<mx::array>& parts, mx::StreamOrDevice s = {});
// Concat along the last axis: float32 parts equal in every other dim.
mx::array native_concat(const std::vector<mx::array>& parts, mx::StreamOrDevice s = {});
// Every element of the float32 parts (any ranks and strides) in row-major order, one part after another: 1-D.
mx::array native_flat_concat(const std::vector<mx::array>& parts, mx::StreamOrDevice s = {});

// float32 x of any strides (read through mx::contiguous).
mx::array native_sigmoid(const mx::array& x, mx::StreamOrDevice s = {});
mx::array native_softmax_last(const mx::array& x, mx::StreamOrDevice s = {});
// NHWC x. The max pool's output size is given (ONNX's ceil_mode and end pads decide it); every window
// must have a tap inside the input, which is checked.
mx::array native_max_pool2d(const mx::array& x, std::vector<int> kernel, std::vector<int> strides,
                            std::vector<int> pads_top_left, std::vector<int> out_hw, mx::StreamOrDevice s = {});
// residual (the output's shape) is added to the upsampled map in the same pass.
mx::array native_upsample_nearest(const mx::array& x, std::vector<int> factors,
                                  const std::optional<mx::array>& residual = {}, mx::StreamOrDevice s = {});

}  // namespace mlxu
