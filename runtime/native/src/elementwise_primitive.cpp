#include "elementwise_primitive.h"

#include <stdexcept>
#include <string>

#include "kernels.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"

namespace mlxu {

bool NativeElementwise::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeElementwise*>(&other);
  return o && o->kind_ == kind_;
}

void NativeElementwise::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native elementwise kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeElementwise::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  const auto& x = inputs[0];
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  encoder.set_input_array(x);
  encoder.set_output_array(out);
  encoder.dispatch([x = mx::array::unsafe_weak_copy(x), out = mx::array::unsafe_weak_copy(out), kind = kind_]() mutable {
    if (out.size() == 0) return;
    const KernelTable& k = best_kernels();
    if (kind == ElementwiseKind::Sigmoid) {
      k.sigmoid(x.data<float>(), out.data<float>(), static_cast<int64_t>(out.size()));
    } else {
      const int64_t len = x.shape(-1);
      k.softmax(x.data<float>(), out.data<float>(), static_cast<int64_t>(out.size()) / len, len);
    }
  });
}

namespace {

mx::array make(const mx::array& x, ElementwiseKind kind, mx::StreamOrDevice s) {
  if (x.dtype() != mx::float32) throw std::invalid_argument("native elementwise: x must be float32");
  if (kind == ElementwiseKind::Softmax && x.ndim() == 0)
    throw std::invalid_argument("native softmax: x must have at least one axis");
  auto stream = mx::to_stream(s);
  // the kernels read row-major memory; contiguous() is free for arrays that already are
  const mx::array xc = mx::contiguous(x, false, stream);
  return mx::array(x.shape(), mx::float32, std::make_shared<NativeElementwise>(stream, kind), {xc});
}

}  // namespace

mx::array native_sigmoid(const mx::array& x, mx::StreamOrDevice s) { return make(x, ElementwiseKind::Sigmoid, s); }

mx::array native_softmax_last(const mx::array& x, mx::StreamOrDevice s) {
  return make(x, ElementwiseKind::Softmax, s);
}

}  // namespace mlxu
