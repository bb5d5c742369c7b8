"""Lowerings of the channels-last (`mlx.nhwc`) ops the layout pass creates.

Each conv picks a strategy from its shape (see `conv_strategy`): on the MLX CPU
backend grouped convs run a scalar reference loop and 1x1 convs pay for
padding and im2col copies, so the cheap forms are spelled out here. A fused
activation (from the epilogue pass) is applied right after the bias.
"""

from __future__ import annotations

import math
import os

from opset.program import DType, Ref, Slice

import mlx.core as mx
import numpy as np

from .. import accurate
from ..context import LowerCtx
from ..registry import lowering
from .nn import lower_pool

DOMAIN = "mlx.nhwc"
STRATEGIES = ("matmul", "depthwise", "shifted_gemm", "conv", "native")

# Fused activation (epilogue spec) -> opset.native.conv2d's activation name.
_NATIVE_ACTS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Clip": "clip", "Sigmoid": "sigmoid",
                "HardSwish": "hard_swish", "PRelu": "prelu", "Silu": "silu"}  # fmt: skip


def native_kind(w_shape, groups: int, dilations, dtype, strides=(1, 1), pads=None) -> str | None:
    """ "depthwise" / "dense" if opset.native's kernels cover this NHWC conv, else None.

    A dilated conv is covered at stride 1 with pads divisible by its (square) dilation: native.conv2d runs it
    undilated over the input's phase grids."""
    o, kh, kw, i_per_group = w_shape
    if np.dtype(dtype) != np.float32 or not (1 <= kh <= 8):
        return None
    d = tuple(int(v) for v in dilations)
    if d != (1, 1):
        if d[0] != d[1] or tuple(int(s) for s in strides) != (1, 1) or pads is None or any(int(p) % d[0] for p in pads):
            return None
    if groups == o and i_per_group == 1:  # also a one-channel conv (YuNet's heads): the depthwise kernel's flat rows
        return "depthwise"
    if groups == 1:
        return "dense"
    return None


def winograd_tile(w_shape, strides, out_hw) -> int:
    """Winograd output tile (4: F(4x4, 3x3), 2: F(2x2, 3x3)) for a native dense conv, or 0 for the direct GEMM.

    From a sweep of the kernels on AVX-512 and AVX2 (docs/passes.md, docs/benchmarks.md): F(4x4) takes
    0.36-0.6x the direct conv's time from 20x20 maps up, F(2x2) wins on 5x5-14x14 maps, and fewer than
    8 input or output channels leave the transformed GEMM too thin to pay for the transforms.
    """
    o, kh, kw, ipg = w_shape
    if (kh, kw) != (3, 3) or tuple(strides) != (1, 1) or o < 8 or ipg < 8:
        return 0
    forced = os.environ.get("MLX_UNIFACE_WINOGRAD", "")  # A/B switch: 0 (never), 2 or 4 (always)
    if forced in ("0", "2", "4"):
        return int(forced)
    ho, wo = out_hw
    if not (isinstance(ho, int) and isinstance(wo, int)):
        return 4  # a dynamic map: the detectors' maps are large
    pixels = ho * wo
    return 4 if pixels >= 400 else 2 if pixels >= 25 else 0


def conv_pads(ctx: LowerCtx, in_hw, kernel, strides, dilations) -> list[int] | None:
    """[top, left, bottom, right] from pads or auto_pad; None if it needs unknown dims."""
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = list(ctx.attr("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        return [int(p) for p in pads]
    if any(not isinstance(d, int) for d in in_hw):
        return None
    begin, end = [], []
    for size, k, s, d in zip(in_hw, kernel, strides, dilations):
        out = math.ceil(size / s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small, big = total // 2, total - total // 2
        begin.append(big if auto == "SAME_LOWER" else small)
        end.append(small if auto == "SAME_LOWER" else big)
    return begin + end


def target_device() -> str:
    """ "cpu" or "gpu": MLX's default device at translation time (the GPU on Apple silicon)."""
    return "cpu" if mx.default_device().type == mx.DeviceType.cpu else "gpu"


def conv_strategy(w_shape, groups: int, strides, dilations, pads, device: str = "cpu") -> str:
    """Pick the lowering for an NHWC conv with weight shape (O, kh, kw, I/groups)."""
    o, kh, kw, i_per_group = w_shape
    if device != "cpu":
        return "matmul" if (kh, kw) == (1, 1) and groups == 1 and not any(pads) else "conv"
    if tuple(dilations) != (1, 1):
        return "conv" if groups == 1 else "depthwise" if groups == o and i_per_group == 1 else "conv"
    if groups == 1 and (kh, kw) == (1, 1) and not any(pads):
        return "matmul"
    if groups > 1 and groups == o and i_per_group == 1:
        return "depthwise"
    if groups == 1 and (kh, kw) == (3, 3) and tuple(strides) == (1, 1):
        return "shifted_gemm"
    return "conv"


def _pad(ctx: LowerCtx, x: Ref, pads: list[int], extra_bottom: int = 0, value: float = 0.0) -> Ref:
    top, left, bottom, right = pads
    if not any(pads) and not extra_bottom:
        return x
    widths = [(0, 0), (top, bottom + extra_bottom), (left, right), (0, 0)]
    return ctx.call("pad", x, widths, constant_values=value)


def apply_activation(ctx: LowerCtx, y: Ref, act: list | None, dtype) -> Ref:
    """The fused epilogue: fast forms (maximum rather than where)."""
    if not act:
        return y
    kind, params = act[0], act[1:]
    if kind == "Relu":
        return ctx.call("maximum", y, ctx.scalar(0, dtype))
    if kind == "LeakyRelu":
        alpha = float(params[0])
        if 0 <= alpha <= 1:
            return ctx.call("maximum", y, ctx.call("multiply", y, ctx.scalar(alpha, dtype)))
        return ctx.call(
            "where",
            ctx.call("greater_equal", y, ctx.scalar(0, dtype)),
            y,
            ctx.call("multiply", y, ctx.scalar(alpha, dtype)),
        )
    if kind == "Clip":
        lo, hi = params
        return ctx.call("clip", y, lo, hi)
    if kind == "Sigmoid":
        return ctx.call("sigmoid", y)
    if kind == "Silu":
        return ctx.call("multiply", y, ctx.call("sigmoid", y))
    if kind == "HardSwish":
        gate = ctx.call(
            "clip", ctx.call("add", ctx.call("multiply", y, ctx.scalar(1 / 6, dtype)), ctx.scalar(0.5, dtype)), 0.0, 1.0
        )
        return ctx.call("multiply", y, gate)
    if kind == "PRelu":
        slope = ctx.constant(np.asarray(params[0], dtype=dtype).reshape(-1), "slope")
        return (
            ctx.call("maximum", y, ctx.call("multiply", y, slope))
            if bool(params[1])
            else ctx.call(
                "add",
                ctx.call("maximum", y, ctx.scalar(0, dtype)),
                ctx.call("multiply", ctx.call("minimum", y, ctx.scalar(0, dtype)), slope),
            )
        )
    ctx.fail(f"unknown fused activation {kind}")


@lowering("Conv", domain=DOMAIN)
def conv_nhwc(ctx: LowerCtx) -> Ref:
    x, w_arr = ctx.input(0), ctx.const(1)
    o, kh, kw, ipg = w_arr.shape
    groups = int(ctx.attr("group", 1))
    strides = list(ctx.attr("strides", [1, 1]))
    dilations = list(ctx.attr("dilations", [1, 1]))
    in_shape = ctx.shape(0)
    pads = conv_pads(ctx, in_shape[1:3], (kh, kw), strides, dilations)
    if pads is None:
        ctx.fail("auto_pad SAME with dynamic spatial dims")
    bias = ctx.const(2) if ctx.has_input(2) else None
    strategy = ctx.attr("strategy") or conv_strategy(w_arr.shape, groups, strides, dilations, pads, target_device())
    out_shape = ctx.out_value(0).shape
    groups_out = int(ctx.attr("out_groups") or 0)  # (N, groups, H, W, C / groups): passes/group_output.py
    out_hw = (tuple(out_shape[2:4]) if groups_out else tuple(out_shape[1:3])) if out_shape is not None else (None, None)
    dtype = w_arr.dtype
    residual = ctx.input(3) if ctx.has_input(3) else None  # an Add folded in by the epilogue pass
    kind = native_kind(w_arr.shape, groups, dilations, dtype, strides, pads) if strategy == "native" else None
    if strategy == "native" and kind is None:
        strategy = conv_strategy(w_arr.shape, groups, strides, dilations, pads, target_device())
    ctx.builder.note_strategy(f"native {kind}" if kind else strategy)
    if ctx.attr("image_offset") is not None:  # reads the uint8 image itself (passes/image_input.py)
        return _native_conv(ctx, x, w_arr, bias, "image", strides, pads, residual, out_hw)
    if ctx.attr("pool") and kind != "depthwise":  # passes/conv_pool.py fuses pools into native depthwise convs only
        ctx.fail("a max pool fused into a conv the native depthwise kernel does not run")
    if kind is not None:
        return _native_conv(ctx, x, w_arr, bias, kind, strides, pads, residual, out_hw, int(dilations[0]), groups_out)
    if groups_out or ctx.attr("residual_up"):
        ctx.fail("a group-major output or a coarse residual on a conv the native dense kernel does not run")
    if strategy == "matmul":
        xs = x
        if strides != [1, 1]:
            xs = ctx.call("getitem", x, (Slice(), Slice(None, None, strides[0]), Slice(None, None, strides[1])))
        w2 = ctx.constant(np.ascontiguousarray(w_arr.reshape(o, ipg).T), "w")
        y = ctx.call("matmul", xs, w2)  # measured: faster than mx.addmm on the MLX CPU
        if bias is not None:
            y = ctx.call("add", y, ctx.constant(bias, "b"))
    elif strategy == "depthwise" and all(isinstance(d, int) for d in out_hw):
        taps = ctx.constant(np.ascontiguousarray(w_arr.reshape(o, kh, kw).transpose(1, 2, 0)), "taps")  # (kh, kw, C)
        y = ctx.call("depthwise_conv", _pad(ctx, x, pads), taps, tuple(strides), tuple(dilations), tuple(out_hw))
        if bias is not None:
            y = ctx.call("add", y, ctx.constant(bias, "b"))
    elif strategy == "shifted_gemm" and all(isinstance(d, int) for d in (*out_hw, *in_shape[1:])):
        y = _shifted_gemm(ctx, x, w_arr, bias, pads, in_shape, out_hw)
    else:
        y = ctx.call(
            "conv_general", x, ctx.constant(w_arr, "w"), stride=tuple(strides),
            padding=([pads[0], pads[1]], [pads[2], pads[3]]), kernel_dilation=tuple(dilations), groups=groups,
        )  # fmt: skip
        if bias is not None:
            y = ctx.call("add", y, ctx.constant(bias, "b"))
    after = bool(ctx.attr("residual_after"))
    if residual is not None and not after:
        y = ctx.call("add", y, residual)
    y = apply_activation(ctx, y, ctx.attr("activation"), dtype)
    return ctx.call("add", y, residual) if residual is not None and after else y


def _native_conv(
    ctx: LowerCtx,
    x: Ref,
    w_arr,
    bias,
    kind: str,
    strides,
    pads,
    residual: Ref | None,
    out_hw,
    dilation: int = 1,
    out_groups: int = 0,
) -> Ref:
    """One opset.native.conv2d call: conv, bias, residual and activation in one pass.

    Dense 3x3 stride-1 convs run as Winograd where `winograd_tile` (or `--tune`, through the node's
    "winograd" attribute) picks a tile."""
    o, kh, kw, ipg = w_arr.shape
    if kind == "depthwise":
        w = ctx.constant(np.ascontiguousarray(w_arr.reshape(o, kh, kw).transpose(1, 2, 0)), "w")  # (kh, kw, C)
    else:
        w = ctx.constant(np.ascontiguousarray(w_arr.transpose(1, 2, 3, 0)), "w")  # HWIO
    kwargs: dict = {"strides": tuple(int(s) for s in strides), "pads": tuple(int(p) for p in pads)}
    if kind != "image":
        kwargs["depthwise"] = kind == "depthwise"
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("activation"), w_arr.dtype))
    if residual is not None:
        kwargs["residual"] = residual
        if ctx.attr("residual_after"):
            kwargs["residual_after"] = True
        if ctx.attr("residual_up"):  # the residual is the output's coarser level (passes/upsample_add.py)
            kwargs["residual_up"] = tuple(int(f) for f in ctx.attr("residual_up"))
    if ctx.attr("pool"):  # the output is the conv's 2x2 stride-2 max pool (passes/conv_pool.py)
        kwargs["pool"] = True
    if out_groups:
        if kind != "dense" or dilation > 1 or residual is not None:
            ctx.fail("a group-major output (out_groups) needs a plain native dense conv")
        kwargs["out_groups"] = out_groups
    if dilation > 1:
        kwargs["dilation"] = dilation
    elif kind == "dense":
        tile = ctx.attr("winograd")
        tile = winograd_tile(w_arr.shape, strides, out_hw) if tile is None else int(tile)
        if tile:
            kwargs["winograd"] = tile
    b = ctx.constant(bias, "b") if bias is not None else None
    if kind == "image":
        offset = ctx.constant(np.asarray(ctx.attr("image_offset"), w_arr.dtype), "offset")
        return ctx.call("native_image_conv2d", x, w, b, offset, **kwargs)
    return ctx.call("native_conv2d", x, w, b, **kwargs)


def _native_act_kwargs(ctx: LowerCtx, act, dtype, prefix: str = "") -> dict:
    """opset.native's keyword arguments for a fused activation spec (prefix "pw_": the pointwise stage's)."""
    if not act:
        return {}
    kwargs = {f"{prefix}activation": _NATIVE_ACTS[act[0]]}
    if act[0] == "LeakyRelu":
        kwargs[f"{prefix}alpha"] = float(act[1])
    elif act[0] == "Clip":
        kwargs[f"{prefix}alpha"], kwargs[f"{prefix}beta"] = float(act[1]), float(act[2])
    elif act[0] == "PRelu":
        kwargs[f"{prefix}slope"] = ctx.constant(np.asarray(act[1], dtype=dtype).reshape(-1), f"{prefix}slope")
    return kwargs


@lowering("ConcatConv", domain=DOMAIN)
def concat_conv_nhwc(ctx: LowerCtx) -> Ref:
    """A native 1x1 conv over the channel concatenation of inputs 3... (passes/concat_conv.py): inputs w (OHWI),
    [bias], [residual], then the parts; the concatenation is never assembled."""
    w_arr = ctx.const(0)
    ctx.builder.note_strategy("native dense over parts")
    w = ctx.constant(np.ascontiguousarray(w_arr.transpose(1, 2, 3, 0)), "w")  # (1, 1, K, C_out)
    b = ctx.constant(ctx.const(1), "b") if ctx.has_input(1) else None
    kwargs = _native_act_kwargs(ctx, ctx.attr("activation"), w_arr.dtype)
    if ctx.has_input(2):
        kwargs["residual"] = ctx.input(2)
        if ctx.attr("residual_after"):
            kwargs["residual_after"] = True
        if ctx.attr("residual_up"):  # the residual is the output's coarser level (passes/upsample_add.py)
            kwargs["residual_up"] = tuple(int(f) for f in ctx.attr("residual_up"))
    parts = [ctx.input(i) for i in range(3, len(ctx.node.inputs))]
    return ctx.call("native_concat_conv2d", parts, w, b, **kwargs)


@lowering("DepthwisePointwise", domain=DOMAIN)
def depthwise_pointwise_nhwc(ctx: LowerCtx) -> Ref:
    """A native depthwise conv and its 1x1 conv in one opset.native.dw_pw_conv2d call (passes/dw_pw.py)."""
    x, w_dw, w_pw = ctx.input(0), ctx.const(1), ctx.const(3)
    c, kh, kw, _ = w_dw.shape
    strides = [int(s) for s in ctx.attr("strides", [1, 1])]
    pads = conv_pads(ctx, ctx.shape(0)[1:3], (kh, kw), strides, [1, 1])
    if pads is None:
        ctx.fail("auto_pad SAME with dynamic spatial dims")
    ctx.builder.note_strategy("native depthwise+pointwise")
    taps = ctx.constant(np.ascontiguousarray(w_dw.reshape(c, kh, kw).transpose(1, 2, 0)), "w")  # (kh, kw, C)
    w1 = ctx.constant(np.ascontiguousarray(w_pw.transpose(1, 2, 3, 0)), "w_pw")  # (1, 1, C, C_out)
    b = ctx.constant(ctx.const(2), "b") if ctx.has_input(2) else None
    b_pw = ctx.constant(ctx.const(4), "b_pw") if ctx.has_input(4) else None
    kwargs: dict = {"strides": tuple(strides), "pads": tuple(int(p) for p in pads)}
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("activation"), w_dw.dtype))
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("pointwise_activation"), w_dw.dtype, "pw_"))
    if ctx.has_input(5):
        kwargs["residual"] = ctx.input(5)
        if ctx.attr("residual_after"):
            kwargs["residual_after"] = True
    return ctx.call("native_dw_pw_conv2d", x, taps, b, w1, b_pw, **kwargs)


@lowering("PointwiseDepthwise", domain=DOMAIN)
def pointwise_depthwise_nhwc(ctx: LowerCtx) -> Ref:
    """A native 1x1 conv (or a stem: pre_strides, pre_pads; on the 8-bit image with image_offset; then maybe a
    1x1 conv w_mid), its depthwise conv and maybe that one's 1x1 conv in one opset.native.pw_dw_conv2d call
    (passes/pw_dw.py). Inputs: x, w_pre, [b_pre], w_dw, [b_dw], [w_pw], [b_pw], [residual], [w_mid], [b_mid],
    [interleave_with]."""
    x, w_pre, w_dw = ctx.input(0), ctx.const(1), ctx.const(3)
    c, kh, kw, _ = w_dw.shape
    strides = [int(s) for s in ctx.attr("strides", [1, 1])]
    pre_strides = [int(s) for s in ctx.attr("pre_strides", [1, 1])]
    pre_pads = [int(p) for p in ctx.attr("pre_pads", [0, 0, 0, 0])]
    in_hw = ctx.shape(0)[1:3]  # the depthwise conv's input: the first conv's output
    in_hw = [
        (d + pre_pads[i] + pre_pads[i + 2] - w_pre.shape[1 + i]) // pre_strides[i] + 1 if isinstance(d, int) else d
        for i, d in enumerate(in_hw)
    ]
    pads = conv_pads(ctx, in_hw, (kh, kw), strides, [1, 1])
    if pads is None:
        ctx.fail("auto_pad SAME with dynamic spatial dims")
    post, mid, offset = ctx.has_input(5), ctx.has_input(8), ctx.attr("image_offset")
    stem = pre_strides != [1, 1] or any(pre_pads) or w_pre.shape[1:3] != (1, 1) or mid or offset is not None
    ctx.builder.note_strategy(
        ("native image stem" if offset is not None else "native stem" if stem else "native pointwise")
        + ("+pointwise" if mid else "")
        + "+depthwise"
        + ("+pointwise" if post else "")
    )

    def const(i: int, name: str):
        return ctx.constant(ctx.const(i), name) if ctx.has_input(i) else None

    w0 = ctx.constant(np.ascontiguousarray(w_pre.transpose(1, 2, 3, 0)), "w_pre")  # (1, 1, C_in, C)
    taps = ctx.constant(np.ascontiguousarray(w_dw.reshape(c, kh, kw).transpose(1, 2, 0)), "w")  # (kh, kw, C)
    w1 = ctx.constant(np.ascontiguousarray(ctx.const(5).transpose(1, 2, 3, 0)), "w_pw") if post else None
    kwargs: dict = {"strides": tuple(strides), "pads": tuple(int(p) for p in pads)}
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("pre_activation"), w_dw.dtype, "pre_"))
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("activation"), w_dw.dtype))
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("pointwise_activation"), w_dw.dtype, "pw_"))
    if ctx.has_input(7):
        kwargs["residual"] = ctx.input(7)
        if ctx.attr("residual_after"):
            kwargs["residual_after"] = True
    if stem:
        kwargs["pre_strides"], kwargs["pre_pads"] = tuple(pre_strides), tuple(pre_pads)
    if offset is not None:
        kwargs["pre_offset"] = ctx.constant(np.asarray(offset, w_pre.dtype), "offset")
    if ctx.attr("pool"):  # the output is the depthwise conv's 2x2 stride-2 max pool (passes/conv_pool.py)
        kwargs["pool"] = True
    if ctx.has_input(10):  # the output interleaved with this map (passes/conv_shuffle.py)
        kwargs["interleave_with"] = ctx.input(10)
    if mid:
        kwargs["w_mid"] = ctx.constant(np.ascontiguousarray(ctx.const(8).transpose(1, 2, 3, 0)), "w_mid")
        if ctx.has_input(9):
            kwargs["bias_mid"] = ctx.constant(ctx.const(9), "b_mid")
        kwargs.update(_native_act_kwargs(ctx, ctx.attr("mid_activation"), w_dw.dtype, "mid_"))
    return ctx.call(
        "native_pw_dw_conv2d", x, w0, const(2, "b_pre"), taps, const(4, "b"), w1, const(6, "b_pw"), **kwargs
    )


@lowering("StemSplit", domain=DOMAIN)
def stem_split_nhwc(ctx: LowerCtx) -> list[Ref]:
    """A stem read by a 2x2 max pool and a 1x1 conv, as one opset.native.stem_split call (passes/stem_split.py).
    Inputs: x, w, [bias], w_mid, [bias_mid]; outputs: the pool's, the 1x1 conv's."""
    x, w, w_mid = ctx.input(0), ctx.const(1), ctx.const(3)
    strides = [int(s) for s in ctx.attr("strides", [1, 1])]
    pads = conv_pads(ctx, ctx.shape(0)[1:3], w.shape[1:3], strides, [1, 1])
    if pads is None:
        ctx.fail("auto_pad SAME with dynamic spatial dims")
    offset = ctx.attr("image_offset")
    ctx.builder.note_strategy(("native image stem" if offset is not None else "native stem") + "+max_pool|pointwise")
    kwargs: dict = {"strides": tuple(strides), "pads": tuple(int(p) for p in pads)}
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("activation"), w.dtype))
    kwargs.update(_native_act_kwargs(ctx, ctx.attr("mid_activation"), w.dtype, "mid_"))
    if offset is not None:
        kwargs["offset"] = ctx.constant(np.asarray(offset, w.dtype), "offset")
    w0 = ctx.constant(np.ascontiguousarray(w.transpose(1, 2, 3, 0)), "w")  # (kh, kw, C_in, C)
    w1 = ctx.constant(np.ascontiguousarray(w_mid.transpose(1, 2, 3, 0)), "w_mid")  # (1, 1, C, C_mid)
    b0 = ctx.constant(ctx.const(2), "b") if ctx.has_input(2) else None
    b1 = ctx.constant(ctx.const(4), "b_mid") if ctx.has_input(4) else None
    return ctx.call_n("native_stem_split", 2, x, w0, b0, w1, b1, **kwargs)


def _shifted_gemm(ctx: LowerCtx, x: Ref, w_arr, bias, pads, in_shape, out_hw) -> Ref:
    o = w_arr.shape[0]
    weights = ctx.constant(np.ascontiguousarray(w_arr.transpose(1, 2, 3, 0)), "w")  # (3, 3, C, O)
    b = ctx.constant(bias if bias is not None else np.zeros(o, w_arr.dtype), "b")
    return ctx.call("shifted_gemm_conv3x3", _pad(ctx, x, pads, extra_bottom=1), weights, b, tuple(out_hw))


@lowering("ChannelConcat", domain="mlx.internal")
def channel_concat(ctx: LowerCtx) -> Ref:
    """passes/native.py's Concat along the last axis, on the native kernels' threads."""
    return ctx.call("native_concat", [ctx.input(i) for i in range(len(ctx.node.inputs))])


@lowering("ChannelSplit", domain="mlx.internal")
def channel_split(ctx: LowerCtx) -> list[Ref]:
    """passes/native.py's Split along the last axis into contiguous parts, on the native kernels' threads."""
    widths = [int(w) for w in ctx.attr("widths")]
    return ctx.call_n("native_split_channels", len(widths), ctx.input(0), widths)


@lowering("FlatConcat", domain="mlx.internal")
def flat_concat(ctx: LowerCtx) -> Ref:
    """passes/flat_concat.py's Concat of parts in row-major order, reading channel slices in place."""
    parts = [ctx.input(i) for i in range(len(ctx.node.inputs))]
    return ctx.call("native_flat_concat", parts, tuple(int(d) for d in ctx.attr("shape")))


@lowering("ImageNormalize", domain=DOMAIN)
def image_normalize_nhwc(ctx: LowerCtx) -> Ref:
    """An 8-bit NHWC image -> (float(x)[..., perm] - mean) / std, NHWC (translator/image_input.py)."""
    mean, std, perm = ctx.attr("mean"), ctx.attr("std"), [int(p) for p in ctx.attr("perm")]
    dtype = ctx.out_value(0).dtype or np.dtype(np.float32)
    y = ctx.call("astype", ctx.input(0), DType(np.dtype(dtype).name))
    if perm != list(range(len(perm))):
        y = ctx.call("take", y, ctx.constant(np.asarray(perm, np.int32), "perm"), axis=3)
    y = ctx.call("subtract", y, ctx.constant(np.asarray(mean, dtype), "mean"))
    return ctx.call("divide", y, ctx.constant(np.asarray(std, dtype), "std"))


@lowering("MaxPool", domain=DOMAIN)
def maxpool_nhwc(ctx: LowerCtx) -> Ref:
    native = _native_max_pool(ctx) if ctx.attr("native") else None
    return native if native is not None else lower_pool(ctx, "max", channels_last=True)


def _native_max_pool(ctx: LowerCtx) -> Ref | None:
    """opset.native.max_pool2d where it applies (marked by the native pass), else None."""
    in_shape, out_shape = ctx.static_shape(0), ctx.out_value(0).static_shape
    kernel = [int(k) for k in ctx.attr("kernel_shape", [])]
    if ctx.dtype(0).name != "float32" or in_shape is None or out_shape is None or len(kernel) != 2:
        return None
    if len([o for o in ctx.node.outputs if o]) != 1 or ctx.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return None
    if any(int(d) != 1 for d in ctx.attr("dilations", [1, 1])):
        return None
    strides = [int(s) for s in ctx.attr("strides", [1, 1])]
    pads = [int(p) for p in ctx.attr("pads", [0, 0, 0, 0])] if ctx.attr("auto_pad", "NOTSET") == "NOTSET" else [0] * 4
    (h, w), (ho, wo) = in_shape[1:3], out_shape[1:3]
    # every window must reach into the input (the kernel skips outside taps; ONNX's would be -inf)
    if pads[0] >= kernel[0] or pads[1] >= kernel[1] or (ho - 1) * strides[0] - pads[0] > h - 1:
        return None
    if (wo - 1) * strides[1] - pads[1] > w - 1 or ho < 1 or wo < 1:
        return None
    return ctx.call("native_max_pool2d", ctx.input(0), tuple(kernel), tuple(strides), (pads[0], pads[1]), (ho, wo))


@lowering("AveragePool", domain=DOMAIN)
def avgpool_nhwc(ctx: LowerCtx) -> Ref:
    return lower_pool(ctx, "avg", channels_last=True)


@lowering(("GlobalAveragePool", "GlobalMaxPool"), domain=DOMAIN)
def global_pool_nhwc(ctx: LowerCtx) -> Ref:
    fn = "mean" if ctx.node.op_type == "GlobalAveragePool" else "max"
    return ctx.call(fn, ctx.input(0), axis=(1, 2), keepdims=True)


@lowering("DepthToSpace", domain=DOMAIN)
def depth_to_space_nhwc(ctx: LowerCtx) -> Ref:
    """DCR DepthToSpace of an NHWC map: channel (r_h * b + r_w) * C + c of pixel (y, x) goes to pixel
    (y * b + r_h, x * b + r_w), channel c."""
    b = int(ctx.attr("blocksize"))
    t = ctx.call("unflatten", ctx.input(0), 3, [b, b, -1])  # n, h, w, b, b, c
    t = ctx.call("transpose", t, [0, 1, 3, 2, 4, 5])  # n, h, b, w, b, c
    return ctx.call("flatten", ctx.call("flatten", t, 3, 4), 1, 2)


@lowering("InstanceNormalization", domain=DOMAIN)
def instance_norm_nhwc(ctx: LowerCtx) -> Ref:
    """Per-channel statistics over H and W of an NHWC map; scale and bias broadcast along the last axis."""
    x, eps = ctx.input(0), float(ctx.attr("epsilon", 1e-5))
    if ctx.attr("native") and ctx.dtype(0) == np.float32 and ctx.dtype(1) == np.float32:
        return ctx.call("native_instance_norm", x, ctx.input(1), ctx.input(2), eps, channels_last=True)
    axes = (1, 2)
    mean, var, centred = accurate.mean_and_var(ctx, x, axes, accurate.reduced_dims(ctx, 0, axes))
    norm = ctx.call(
        "multiply",
        centred or ctx.call("subtract", x, mean),
        ctx.call("rsqrt", ctx.call("add", var, ctx.scalar(eps, ctx.dtype(0)))),
    )
    return ctx.call("add", ctx.call("multiply", norm, ctx.input(1)), ctx.input(2))


@lowering("Upsample", domain=DOMAIN)
def upsample_nhwc(ctx: LowerCtx) -> Ref:
    """Nearest upsampling by integer factors: broadcast each pixel into an fh x fw block; plus input 1 when
    given (an FPN's Add, passes/upsample_add.py: native upsampling only)."""
    fh, fw = ctx.attr("factors")
    x = ctx.input(0)
    if ctx.has_input(1):  # the pass folds an Add in only for native, float32, factors other than 1x1
        return ctx.call("native_upsample_nearest", x, (int(fh), int(fw)), residual=ctx.input(1))
    if (fh, fw) == (1, 1):
        return x
    if ctx.attr("native") and ctx.dtype(0).name == "float32":  # marked by the native pass: on the pool's threads
        return ctx.call("native_upsample_nearest", x, (int(fh), int(fw)))
    n, h, w, c = (ctx.dim(0, i) for i in range(4))
    if not all(isinstance(d, int) for d in (h, w, c)):
        return ctx.call("repeat", ctx.call("repeat", x, fh, axis=1), fw, axis=2)
    y = ctx.call("expand_dims", x, (2, 4))  # (N, H, 1, W, 1, C)
    y = ctx.call("broadcast_to", y, (n, h, fh, w, fw, c))
    return ctx.call("reshape", y, (n, h * fh, w * fw, c))
