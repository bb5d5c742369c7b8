// The native conv kernels: NHWC float32, bias + optional residual + activation fused before the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlxu {

enum class Act : int { None = 0, Relu = 1, LeakyRelu = 2, Clip = 3, Sigmoid = 4, HardSwish = 5, PRelu = 6, Silu = 7 };

// y = act(conv(x) + bias + residual), or act(conv(x) + bias) + residual; slope is PRelu's per-channel slope.
struct Epilogue {
  const float* bias = nullptr;      // [C_out] or null
  const float* residual = nullptr;  // same shape as the output, or null
  const float* slope = nullptr;     // [C_out] (PRelu) or null
  Act act = Act::None;
  float alpha = 0.f;  // LeakyRelu slope; Clip lower bound
  float beta = 0.f;   // Clip upper bound
  bool residual_after = false;  // add the residual after the activation (FPN: act(conv) + upsampled)
};

struct ConvShape {
  int n, h, w, c_in;       // input, NHWC
  int ho, wo, c_out;       // output, NHWC
  int kh, kw;              // kernel
  int sh, sw;              // strides
  int pt, pl, pb, pr;      // pads: top, left, bottom, right
  bool nchw = false;       // dense only: x is [n, c_in, h, w], read in place (a network's stem on its NCHW input)
  int winograd = 0;        // dense 3x3 stride 1 only: 2 or 4 runs Winograd F(2x2, 3x3) / F(4x4, 3x3), 0 the GEMM
  bool pool2 = false;      // depthwise, and pw_dw without a last 1x1: ho and wo even, and the output written is the
                           // 2x2 stride-2 max pool of the conv's (ho / 2 x wo / 2): the conv's map is never stored
  int res_fh = 1, res_fw = 1;  // dense only: the residual is (n, ho / res_fh, wo / res_fw, c_out), added nearest-
                               // upsampled (an FPN's coarser level: the upsampled map is never stored)
  int out_group = 0;       // dense GEMM path only: > 0 writes output channel c of image n's pixel p at
                           // [n][c / out_group][p][c % out_group], a multiple of kOutGroupAlign channels per group
};

// The segment length a 1x1 conv over parts of these widths reads K in (their greatest common divisor), or 0 if
// that cuts K into more than kMaxSegments segments.
int concat_conv_segment(const int* widths, int nparts);

// Channels per output group are a multiple of this, the widest table's lanes: no vector straddles two groups.
constexpr int kOutGroupAlign = 16;

// Dense kernels read a pixel's window as segments of contiguous floats: kh of kw * c_in (NHWC), or
// c_in * kh of kw (NCHW). An NCHW input qualifies only if c_in * kh is at most this.
constexpr int kMaxSegments = 32;
// A stem: a dense conv on at most this many input channels (gray, BGR, BGRA), run over zero-padded row bands.
constexpr int kMaxStemChannels = 4;

// What makes a depthwise conv's input rows in pw_dw: a 1x1 conv (shape over x: [n,h,w,c_in], float), or a stem
// (a dense conv on 1-4 channels, any kernel, stride and pads) on x float NHWC, float NCHW [n,c_in,h,w] if
// shape.nchw, or, with offset, an 8-bit NHWC image read as float(x) - offset[c] (passes/image_input.py);
// then, if mid is given, a 1x1 conv over the stem's output (YuNet: stem, 1x1, depthwise). The last of them
// writes dw's input: its output is dw.h x dw.w x dw.c_in. packed*: dense_pack's; epilogues without residual.
struct PreStage {
  ConvShape shape;
  const void* x;
  const float* offset = nullptr;  // the image's per-channel offset (x is then uint8)
  const float* packed = nullptr;
  Epilogue e{};
  const ConvShape* mid = nullptr;  // the 1x1 conv after the stem: c_in = shape.c_out, c_out = dw.c_in
  const float* packed_mid = nullptr;
  Epilogue e_mid{};
  int64_t x_stride = 0;  // a 1x1 pre stage: floats from one pixel of x to the next (0: shape.c_in; more: a channel
                         // slice of a wider map, read in place)
};

// pw_dw's output interleaved with another map (ShuffleNet's concat + channel shuffle, passes/conv_shuffle.py):
// out pixel p = [other_0, conv_0, other_1, conv_1, ...], 2 * C_out floats, other's pixels `other_stride` apart.
struct ShuffleWith {
  const float* other;
  int64_t other_stride;
};

// One table per instruction set; the dispatcher picks one at run time.
struct KernelTable {
  const char* isa;
  // x: [n,h,w,c]; w: [kh,kw,c]; out: [n,ho,wo,c]
  void (*depthwise)(const ConvShape&, const float* x, const float* w, const Epilogue&, float* out);
  // x: [n,h,w,c_in] (or [n,c_in,h,w] if nchw); packed: dense_pack's output; out: [n,ho,wo,c_out]
  void (*dense)(const ConvShape&, const float* x, const float* packed, const Epilogue&, float* out);
  // The dense weight w: [kh,kw,c_in,c_out] (HWIO) in this table's panel layout: dense_packed_size
  // floats, written by dense_pack to a cache-line aligned buffer (shape-dependent, not data-dependent).
  size_t (*dense_packed_size)(const ConvShape&);
  void (*dense_pack)(const ConvShape&, const float* w, float* packed);
  // y = sigmoid(x) over n floats; y = softmax over the last axis of x: [rows, len]
  void (*sigmoid)(const float* x, float* y, int64_t n);
  void (*softmax)(const float* x, float* y, int64_t rows, int64_t len);
  // A depthwise conv (shape dw, epilogue e_dw without residual) whose output feeds only a 1x1 conv
  // (shape pw over dw's output: c_in = dw.c_in; packed_pw from dense_pack; epilogue e_pw): the
  // intermediate map stays in a per-thread row buffer. out: [n, dw.ho, dw.wo, pw.c_out].
  void (*dw_pw)(const ConvShape& dw, const float* x, const float* w_dw, const Epilogue& e_dw, const ConvShape& pw,
                const float* packed_pw, const Epilogue& e_pw, float* out);
  // Depthwise output row r (of n * ho) into out (wo * c floats) on the calling thread; e without residual.
  void (*depthwise_row_into)(const ConvShape& s, const float* x, const float* w, const Epilogue& e, int64_t r,
                             float* out);
  // NHWC max pool: window s.kh x s.kw, strides s.sh, s.sw, top/left pads s.pt, s.pl, output s.ho x s.wo;
  // taps outside the input are skipped, and every window must have one inside.
  void (*max_pool)(const ConvShape& s, const float* x, float* out);
  // NHWC nearest upsampling of x [s.n, s.h, s.w, s.c_in] by integer factors into [n, h * fh, w * fw, c], plus
  // residual (the output's shape) when given: an FPN's top-down Add in the same pass.
  void (*upsample)(const ConvShape& s, int fh, int fw, const float* x, const float* residual, float* out);
  // out[p, j * g + k] = parts[k][p * row_strides[k] + j]: g parts of `pixels` rows of c floats each
  // (a channel Concat + a channel shuffle); a part's rows may be further apart than c (a channel slice).
  void (*interleave)(const float* const* parts, const int64_t* row_strides, int g, int64_t pixels, int c,
                     float* out);
  // A dense conv on an 8-bit image: x uint8 [n,h,w,c_in] (NHWC, as OpenCV gives it) read as float(x) - offset[c]
  // and zero-padded (a network's stem, with its input normalization folded into the weights); packed: dense_pack's.
  void (*image_conv)(const ConvShape&, const unsigned char* x, const float* offset, const float* packed,
                     const Epilogue&, float* out);
  // out[p, offsets[k] + j] = parts[k][p * row_strides[k] + j], j < widths[k]: a channel Concat of g parts of
  // `pixels` rows each (a part's rows may be further apart than its width: a channel slice).
  void (*concat)(const float* const* parts, const int64_t* row_strides, const int* widths, int g, int64_t pixels,
                 float* out);
  // A 1x1 conv or a stem (PreStage) whose output feeds only a depthwise conv (shape dw over it, epilogue
  // e_dw), then, if pw is given, a 1x1 conv over the depthwise output (as dw_pw; e_dw then without
  // residual): the first stage's output rows stay in a per-thread buffer.
  // out: [n, dw.ho, dw.wo, pw ? pw->c_out : dw.c_in], or twice the channels interleaved with shuffle->other (pw
  // given; e_pw's residual, if any, joins the conv's result before the interleave).
  void (*pw_dw)(const PreStage& pre, const ConvShape& dw, const float* w_dw, const Epilogue& e_dw,
                const ConvShape* pw, const float* packed_pw, const Epilogue* e_pw, const ShuffleWith* shuffle,
                float* out);
  // A stem (pre.shape, with pre.mid the 1x1 conv after it) whose map two readers share (YOLOv5n's StemBlock):
  // its 2x2 stride-2 max pool into out_pool [n, ho / 2, wo / 2, c] and the 1x1 conv over it into out_mid
  // [n, ho, wo, mid.c_out]; ho and wo even. The stem's rows stay in a per-thread buffer, never written out.
  void (*stem_split)(const PreStage& pre, float* out_pool, float* out_mid);
  // A 1x1 conv (s: stride 1, no pads; c_in the parts' channels together) over the channel concatenation of
  // nparts NHWC maps, never assembled: part k has widths[k] channels a pixel, row_strides[k] floats from one pixel
  // to the next (a channel slice of a wider map too). The widths' greatest common divisor is at least 1 and the
  // segments it cuts (c_in / gcd) at most kMaxSegments (concat_conv_segments). packed: dense_pack's for s.
  void (*dense_parts)(const ConvShape& s, const float* const* parts, const int* widths, const int64_t* row_strides,
                      int nparts, const float* packed, const Epilogue& e, float* out);
  int lanes;  // floats per vector
};

const KernelTable& kernels_baseline();
#if defined(__x86_64__) || defined(_M_X64)
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();
#endif
#if defined(__aarch64__)
const KernelTable& kernels_neon();
#endif

// The table in use: the best this CPU can run, unless MLX_UNIFACE_ISA or set_isa chose another.
const KernelTable& best_kernels();
// The table to run a kernel with `channels` output channels on: the best one, unless its vectors do not
// divide `channels` and the next narrower runnable table's do (AVX-512 hands 8 channels to AVX2).
const KernelTable& kernels_for_channels(int channels);
// Instruction sets this CPU can run, best first; set_isa picks one of them (false if not runnable here).
std::vector<std::string> available_isas();
bool set_isa(const std::string& name);

}  // namespace mlxu
