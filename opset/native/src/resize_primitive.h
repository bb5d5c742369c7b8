// NativeResizeAxis: one axis of a linear/cubic Resize, as a gather of its taps and a weighted sum, on the
// pool's threads. MLX's CPU `take` is scalar and single-threaded, and a dense interpolation matrix spends
// (input length) multiply-adds per output where the taps need 2 (linear) or 4 (cubic).
#pragma once

#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

// Inputs: x (float32, any rank), idx (int32, (out, taps); clamped into [0, x.shape(axis))) and coeffs
// (float32, (out, taps)). out[..., j, ...] = sum_t coeffs[j, t] * x[..., idx[j, t], ...] along `axis`.
class NativeResizeAxis : public mx::UnaryPrimitive {
 public:
  NativeResizeAxis(mx::Stream stream, int axis) : mx::UnaryPrimitive(stream), axis_(axis) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override {
    const auto* o = dynamic_cast<const NativeResizeAxis*>(&other);
    return o != nullptr && o->axis_ == axis_;
  }
  const char* name() const override { return "NativeResizeAxis"; }

 private:
  int axis_;
};

// Checks dtypes and the maps' shapes, refusing with std::invalid_argument.
mx::array native_resize_axis(const mx::array& x, int axis, const mx::array& idx, const mx::array& coeffs,
                             mx::StreamOrDevice s = {});

}  // namespace mlxu
