#include "spatial_primitive.h"

#include <stdexcept>
#include <string>

#include "kernels.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"

namespace mlxu {

namespace {

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("native spatial op: " + what); }

}  // namespace

std::vector<mx::Shape> NativeSpatial::output_shapes(const std::vector<mx::array>& inputs) {
  const auto& x = inputs[0].shape();
  if (p_.kind == SpatialParams::Kind::MaxPool) return {{x[0], p_.ho, p_.wo, x[3]}};
  return {{x[0], x[1] * p_.fh, x[2] * p_.fw, x[3]}};
}

bool NativeSpatial::is_equivalent(const mx::Primitive& other) const {
  const auto* o = dynamic_cast<const NativeSpatial*>(&other);
  return o && o->p_ == p_;
}

void NativeSpatial::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error("native spatial kernels run on the CPU only; use MLX's own ops on the GPU");
}

void NativeSpatial::eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) {
  const auto& x = inputs[0];
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& encoder = mx::cpu::get_command_encoder(stream());
  encoder.set_input_array(x);
  encoder.set_output_array(out);
  encoder.dispatch([x = mx::array::unsafe_weak_copy(x), out = mx::array::unsafe_weak_copy(out), p = p_]() mutable {
    if (out.size() == 0) return;
    ConvShape s{};
    s.n = x.shape(0), s.h = x.shape(1), s.w = x.shape(2), s.c_in = s.c_out = x.shape(3);
    s.ho = out.shape(1), s.wo = out.shape(2);
    s.kh = p.kh, s.kw = p.kw, s.sh = p.sh, s.sw = p.sw, s.pt = p.pt, s.pl = p.pl;
    const KernelTable& k = best_kernels();
    if (p.kind == SpatialParams::Kind::MaxPool)
      k.max_pool(s, x.data<float>(), out.data<float>());
    else
      k.upsample(s, p.fh, p.fw, x.data<float>(), out.data<float>());
  });
}

namespace {

mx::array make(const mx::array& x, const SpatialParams& p, mx::StreamOrDevice s) {
  if (x.ndim() != 4) refuse("x must be NHWC (4-D)");
  if (x.dtype() != mx::float32) refuse("x must be float32");
  auto stream = mx::to_stream(s);
  const mx::array xc = mx::contiguous(x, false, stream);  // the kernels read row-major memory
  auto prim = std::make_shared<NativeSpatial>(stream, p);
  auto shape = prim->output_shapes({xc})[0];
  return mx::array(shape, mx::float32, std::move(prim), {xc});
}

}  // namespace

mx::array native_max_pool2d(const mx::array& x, std::vector<int> kernel, std::vector<int> strides,
                            std::vector<int> pads_top_left, std::vector<int> out_hw, mx::StreamOrDevice s) {
  if (kernel.size() != 2 || strides.size() != 2 || pads_top_left.size() != 2 || out_hw.size() != 2)
    refuse("kernel, strides, pads (top, left) and out_hw take two ints each");
  if (x.ndim() != 4) refuse("x must be NHWC (4-D)");
  SpatialParams p{SpatialParams::Kind::MaxPool, kernel[0], kernel[1], strides[0], strides[1], pads_top_left[0],
                  pads_top_left[1], out_hw[0], out_hw[1]};
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.ho < 1 || p.wo < 1 || p.pt < 0 || p.pl < 0)
    refuse("kernel, strides and output size must be positive, pads non-negative");
  // every window needs a tap inside the input: the first starts before the kernel ends, the last inside
  const int h = x.shape(1), w = x.shape(2);
  if (p.pt >= p.kh || p.pl >= p.kw || (p.ho - 1) * p.sh - p.pt > h - 1 || (p.wo - 1) * p.sw - p.pl > w - 1)
    refuse("a pooling window would lie entirely outside the input");
  return make(x, p, s);
}

mx::array native_upsample_nearest(const mx::array& x, std::vector<int> factors, mx::StreamOrDevice s) {
  if (factors.size() != 2 || factors[0] < 1 || factors[1] < 1) refuse("factors must be two positive ints");
  SpatialParams p{SpatialParams::Kind::Upsample};
  p.fh = factors[0], p.fw = factors[1];
  return make(x, p, s);
}

}  // namespace mlxu
