// NativeSplit: an NHWC map's channels split into contiguous maps, on the pool's threads.
#pragma once

#include <vector>

#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/utils.h"

namespace mlxu {

namespace mx = mlx::core;

// Output k is x[..., offset_k : offset_k + widths[k]], row-major (a detection head's merged conv split into its
// scores, boxes and landmarks, each then reshaped: MLX would copy each strided slice on one thread).
class NativeSplit : public mx::Primitive {
 public:
  NativeSplit(mx::Stream stream, std::vector<int> widths) : mx::Primitive(stream), widths_(std::move(widths)) {}

  void eval_cpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override;
  void eval_gpu(const std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) override;
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override;
  bool is_equivalent(const mx::Primitive& other) const override;
  const char* name() const override { return "NativeSplit"; }

 private:
  std::vector<int> widths_;
};

// x: float32 [..., C]; widths: positive, summing to C. Returns one array per width.
std::vector<mx::array> native_split_channels(const mx::array& x, std::vector<int> widths, mx::StreamOrDevice s = {});

}  // namespace mlxu
