// NativeInstanceNorm: ONNX InstanceNormalization over (N, C, spatial...) planes on the pool's threads.
// The MLX lowering takes five passes over the map (blocked mean, subtract, square + blocked mean, scale,
// shift), each a single-threaded MLX op; here each plane is read three times while it sits in cache.
#pragma once

#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

// Inputs: x (float32, rank >= 3, channels on axis 1, or on the last axis with channels_last: the layout pass's
// NHWC twin), scale and bias (float32, (C,)).
// y = (x - mean) / sqrt(var + eps) * scale[c] + bias[c], mean and variance per (n, c) plane, accumulated in
// double (two passes: the variance of the deviations, no cancellation).
class NativeInstanceNorm : public mx::UnaryPrimitive {
 public:
  NativeInstanceNorm(mx::Stream stream, float eps, bool channels_last)
      : mx::UnaryPrimitive(stream), eps_(eps), channels_last_(channels_last) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto* o = dynamic_cast<const NativeInstanceNorm*>(&other);
    return o != nullptr && o->eps_ == eps_ && o->channels_last_ == channels_last_;
  }
  const char* name() const override { return "NativeInstanceNorm"; }

 private:
  float eps_;
  bool channels_last_;
};

// Checks dtypes and shapes, refusing with std::invalid_argument.
mx::array native_instance_norm(const mx::array& x, const mx::array& scale, const mx::array& bias, float eps,
                               bool channels_last = false, mx::StreamOrDevice s = {});

}  // namespace mlxu
