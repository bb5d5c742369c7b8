// NativeElementwise: sigmoid and last-axis softmax on the CPU, vectorized (MLX's CPU versions are scalar).
#pragma once

#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

enum class ElementwiseKind : int { Sigmoid = 0, Softmax = 1 };  // Softmax: over the last axis

class NativeElementwise : public mx::UnaryPrimitive {
 public:
  NativeElementwise(mx::Stream stream, ElementwiseKind kind) : mx::UnaryPrimitive(stream), kind_(kind) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override { return kind_ == ElementwiseKind::Sigmoid ? "NativeSigmoid" : "NativeSoftmax"; }

 private:
  ElementwiseKind kind_;
};

// x: float32 of any shape and strides (read through mx::contiguous).
mx::array native_sigmoid(const mx::array& x, mx::StreamOrDevice s = {});
mx::array native_softmax_last(const mx::array& x, mx::StreamOrDevice s = {});

}  // namespace mlxu
