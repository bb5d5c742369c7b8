// Python bindings: opset.native._kernels (NB_DOMAIN mlx, so mx.array crosses as MLX's own type).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include "borrowed.h"
#include "conv_primitive.h"
#include "kernels.h"
#include "packed_weights.h"
#include "split_primitive.h"
#include "stem_split.h"
#include "norm_primitive.h"
#include "resize_primitive.h"
#include "unary_primitive.h"
#include "mlx/version.h"
#include "threadpool.h"

namespace nb = nanobind;
using namespace nb::literals;

NB_MODULE(_kernels, m) {
  m.doc() = "Native NHWC conv kernels for MLX on the CPU (mlx-uniface).";
  m.attr("MLX_VERSION") = std::to_string(MLX_VERSION_MAJOR) + "." + std::to_string(MLX_VERSION_MINOR) + "." +
                          std::to_string(MLX_VERSION_PATCH);
  m.def("isa", [] { return std::string(mlxu::best_kernels().isa); }, "The instruction set the kernels run with.");
  m.def("available_isas", &mlxu::available_isas, "Instruction sets this CPU runs, best first.");
  m.def("set_isa", &mlxu::set_isa, "name"_a, "Use this instruction set's kernels (False if the CPU lacks it).");
  m.def("num_threads", [] { return mlxu::ThreadPool::instance().num_threads(); });
  m.def("set_num_threads", [](int n) { mlxu::ThreadPool::instance().set_num_threads(n); }, "n"_a);
  m.def("spin_us", [] { return mlxu::ThreadPool::instance().spin_us(); });
  m.def("set_spin_us", [](int us) { mlxu::ThreadPool::instance().set_spin_us(us < 0 ? 0 : us); }, "us"_a);
  m.def("clear_weight_cache", &mlxu::clear_packed_weights,
        "Forget the packed dense weights (and release the weight arrays the cache holds).");
  m.def("weight_cache_bytes", &mlxu::packed_weights_bytes, "Bytes of packed dense weights cached now.");
  m.def("set_weight_cache_limit", &mlxu::set_packed_weights_limit, "bytes"_a,
        "Most bytes of packed dense weights to keep (least recently used go first).");
  m.def("set_recording", &mlxu::set_recording, "on"_a, "Time every kernel call as it runs (for profiling).");
  m.def(
      "take_records",
      [] {
        nb::list out;
        for (const auto& r : mlxu::take_records())
          out.append(nb::make_tuple(r.kind,
                                    nb::make_tuple(r.n, r.h, r.w, r.c_in, r.ho, r.wo, r.c_out, r.kh, r.kw, r.sh),
                                    r.x_aligned, r.start_us, r.copy_us, r.kernel_us, r.worker_share));
        return out;
      },
      "The calls timed since the last take: (kind, (n, h, w, c_in, ho, wo, c_out, kh, kw, stride), x_aligned, "
      "start_us, copy_us, kernel_us, worker_share).");
  m.def("borrow", &mlxu::borrow_numpy, "a"_a, "owner"_a,
        "An MLX array over C-contiguous numpy memory, without a copy (None if it cannot): `owner` stays "
        "referenced until MLX drops the buffer and release_borrowed() runs after that.");
  m.def("release_borrowed", &mlxu::release_borrowed,
        "Drop the references to numpy arrays whose borrowed MLX buffers were freed; returns how many.");
  m.def("sigmoid", &mlxu::native_sigmoid, "x"_a, nb::kw_only(), "stream"_a = nb::none(),
        "1 / (1 + exp(-x)) for float32 x, vectorized.");
  m.def("softmax_last", &mlxu::native_softmax_last, "x"_a, nb::kw_only(), "stream"_a = nb::none(),
        "Softmax over the last axis for float32 x, vectorized.");
  m.def("dw_pw_conv2d", &mlxu::native_dw_pw_conv2d, "x"_a, "w"_a, "bias"_a.none(), "slope"_a.none(), "w_pw"_a,
        "bias_pw"_a.none(), "slope_pw"_a.none(), "residual"_a.none(), nb::kw_only(), "strides"_a, "pads"_a,
        "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f, "act_pw"_a = 0, "alpha_pw"_a = 0.f, "beta_pw"_a = 0.f,
        "residual_after"_a = false, "stream"_a = nb::none(),
        "A depthwise conv and the 1x1 conv reading its output, in one pass: "
        "act_pw(conv1x1(act(dwconv(x) + bias), w_pw) + bias_pw [+ residual]).");
  m.def("pw_dw_conv2d", &mlxu::native_pw_dw_conv2d, "x"_a, "w_pre"_a, "bias_pre"_a.none(), "slope_pre"_a.none(),
        "w"_a, "bias"_a.none(), "slope"_a.none(), "w_pw"_a.none(), "bias_pw"_a.none(), "slope_pw"_a.none(),
        "residual"_a.none(), nb::kw_only(), "strides"_a, "pads"_a, "act_pre"_a = 0, "alpha_pre"_a = 0.f,
        "beta_pre"_a = 0.f, "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f, "act_pw"_a = 0, "alpha_pw"_a = 0.f,
        "beta_pw"_a = 0.f, "residual_after"_a = false, "pre_strides"_a = std::vector<int>{1, 1},
        "pre_pads"_a = std::vector<int>{0, 0, 0, 0}, "pre_offset"_a = nb::none(), "w_mid"_a = nb::none(),
        "bias_mid"_a = nb::none(), "slope_mid"_a = nb::none(), "act_mid"_a = 0, "alpha_mid"_a = 0.f,
        "beta_mid"_a = 0.f, "pool2"_a = false, "interleave_with"_a = nb::none(), "stream"_a = nb::none(),
        "A 1x1 conv (or a stem: a dense conv on <= 4 channels with pre_strides, pre_pads, on the uint8 image read as "
        "float(x) - pre_offset if given, then a 1x1 conv w_mid if given), the depthwise conv reading its output and "
        "optionally a 1x1 conv after that (or, pool2, the 2x2 stride-2 max pool of the depthwise output), in one pass: "
        "[act_pw(conv1x1(.., w_pw) + bias_pw)](act(dwconv(act_pre(conv(x, w_pre) + bias_pre)) + bias)) [+ residual]; "
        "with interleave_with, that map and the result interleaved channel by channel (other first).");
  m.def("max_pool2d", &mlxu::native_max_pool2d, "x"_a, "kernel"_a, "strides"_a, "pads"_a, "out_hw"_a, nb::kw_only(),
        "stream"_a = nb::none(), "NHWC max pool; pads (top, left); the output size is given.");
  m.def("upsample_nearest", &mlxu::native_upsample_nearest, "x"_a, "factors"_a, nb::kw_only(),
        "residual"_a = nb::none(), "stream"_a = nb::none(),
        "NHWC nearest upsampling by integer factors (fh, fw), plus residual (the output's shape) if given.");
  m.def("resize_axis", &mlxu::native_resize_axis, "x"_a, "axis"_a, "idx"_a, "coeffs"_a, nb::kw_only(),
        "stream"_a = nb::none(),
        "One axis of a linear/cubic Resize: out[.., j, ..] = sum_t coeffs[j, t] * x[.., idx[j, t], ..].");
  m.def("instance_norm", &mlxu::native_instance_norm, "x"_a, "scale"_a, "bias"_a, "eps"_a, nb::kw_only(),
        "channels_last"_a = false, "stream"_a = nb::none(),
        "ONNX InstanceNormalization of (N, C, spatial...) planes (or (N, spatial..., C)), statistics in double.");
  m.def("interleave", &mlxu::native_interleave, "parts"_a, nb::kw_only(), "stream"_a = nb::none(),
        "out[..., j * g + k] = parts[k][..., j]: a channel Concat and a channel shuffle in one pass.");
  m.def("image_conv2d", &mlxu::native_image_conv2d, "x"_a, "w"_a, "bias"_a.none(), "offset"_a, "residual"_a.none(),
        "slope"_a.none(), nb::kw_only(), "strides"_a, "pads"_a, "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f,
        "residual_after"_a = false, "stream"_a = nb::none(),
        "A dense conv on a uint8 NHWC image read as float(x) - offset (a stem with its normalization folded in).");
  m.def("stem_split", &mlxu::native_stem_split, "x"_a, "w"_a, "bias"_a.none(), "w_mid"_a, "bias_mid"_a.none(),
        "offset"_a.none(), nb::kw_only(), "strides"_a, "pads"_a, "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f,
        "act_mid"_a = 0, "alpha_mid"_a = 0.f, "beta_mid"_a = 0.f, "stream"_a = nb::none(),
        "A stem whose map two readers share: [its 2x2 stride-2 max pool, the 1x1 conv over it], the map never stored.");
  m.def("flat_concat", &mlxu::native_flat_concat, "parts"_a, nb::kw_only(), "stream"_a = nb::none(),
        "Every element of the parts in row-major order, one part after another (1-D), channel slices read in place.");
  m.def("concat", &mlxu::native_concat, "parts"_a, nb::kw_only(), "stream"_a = nb::none(),
        "Concat along the last axis on the pool's threads, reading channel slices in place.");
  m.def("split_channels", &mlxu::native_split_channels, "x"_a, "widths"_a, nb::kw_only(), "stream"_a = nb::none(),
        "x's last axis split into contiguous arrays of these widths, on the pool's threads.");
  m.def("concat_conv2d", &mlxu::native_concat_conv2d, "parts"_a, "w"_a, "bias"_a.none(), "residual"_a.none(),
        "slope"_a.none(), nb::kw_only(), "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f, "residual_after"_a = false,
        "residual_up"_a = std::vector<int>{1, 1}, "stream"_a = nb::none(),
        "A 1x1 conv over the channel concatenation of parts (NHWC), read in place: w is (1, 1, sum of their channels, "
        "C_out). act, residual and residual_up as conv2d's.");
  m.def("conv2d", &mlxu::native_conv2d, "x"_a, "w"_a, "bias"_a.none(), "residual"_a.none(), "slope"_a.none(),
        nb::kw_only(), "depthwise"_a, "strides"_a, "pads"_a, "act"_a = 0, "alpha"_a = 0.f, "beta"_a = 0.f,
        "residual_after"_a = false, "winograd"_a = 0, "pool2"_a = false, "out_groups"_a = 0,
        "residual_up"_a = std::vector<int>{1, 1}, "stream"_a = nb::none(),
        "Fused NHWC conv: act(conv(x, w) + bias + residual). Depthwise w: (kh, kw, C); dense w: HWIO. "
        "winograd=2|4: a dense 3x3 stride-1 conv as Winograd F(2x2, 3x3) / F(4x4, 3x3). pool2 (depthwise, no residual, "
        "even output height and width): the output written is the conv's 2x2 stride-2 max pool. out_groups=G (dense, "
        "no residual, C_out / G a multiple of 16): the output is (N, G, Ho, Wo, C_out / G), the channel groups apart. "
        "residual_up=(fh, fw) (dense): the residual is (N, Ho / fh, Wo / fw, C_out), added nearest-upsampled.");
}
