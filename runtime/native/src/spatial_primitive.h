// NativeSpatial: NHWC max pooling and nearest upsampling on the CPU (MLX runs both on one thread).
#pragma once

#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

struct SpatialParams {
  enum class Kind : int { MaxPool = 0, Upsample = 1 } kind;
  int kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0, ho = 0, wo = 0;  // MaxPool
  int fh = 1, fw = 1;                                                    // Upsample
  bool operator==(const SpatialParams&) const = default;
};

class NativeSpatial : public mx::UnaryPrimitive {
 public:
  NativeSpatial(mx::Stream stream, SpatialParams p) : mx::UnaryPrimitive(stream), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override {
    return p_.kind == SpatialParams::Kind::MaxPool ? "NativeMaxPool" : "NativeUpsample";
  }

 private:
  SpatialParams p_;
};

// x: NHWC float32. Output (ho, wo) is given (ONNX's ceil_mode and end pads decide it); every window
// must have a tap inside the input, which is checked.
mx::array native_max_pool2d(const mx::array& x, std::vector<int> kernel, std::vector<int> strides,
                            std::vector<int> pads_top_left, std::vector<int> out_hw, mx::StreamOrDevice s = {});
mx::array native_upsample_nearest(const mx::array& x, std::vector<int> factors, mx::StreamOrDevice s = {});

}  // namespace mlxu
