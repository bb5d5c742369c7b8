"""Native CPU conv kernels: an MLX C++ extension (`_kernels`), with a pure-MLX fallback.

`conv2d` is what translated programs call for the convs the translator hands
to native kernels: an NHWC conv with bias, an optional residual and an
activation fused before the store. It runs the C++ primitive when the
extension imported and the work is on the CPU; otherwise (no extension, a
GPU stream, a dtype other than float32) it computes the same thing with MLX's
own ops, so a program that records native kernels runs everywhere.
"""

from __future__ import annotations

import math
import os
import warnings

import mlx.core as mx  # loads libmlx first: the extension links against it and never bundles a copy
import numpy as np

ACTIVATIONS = {None: 0, "relu": 1, "leaky_relu": 2, "clip": 3, "sigmoid": 4, "hard_swish": 5, "prelu": 6, "silu": 7}

_ext = None
UNAVAILABLE_REASON: str | None = None
_warned = False


def _load() -> None:
    global _ext, UNAVAILABLE_REASON
    if os.environ.get("MLX_UNIFACE_NATIVE", "1") == "0":
        UNAVAILABLE_REASON = "disabled by MLX_UNIFACE_NATIVE=0"
        return
    try:
        from . import _kernels
    except ImportError as exc:
        UNAVAILABLE_REASON = f"the extension did not import ({exc}); reinstall with `pip install -e .` to build it"
        return
    if _kernels.MLX_VERSION != mx.__version__:
        # libmlx's C++ layout is unversioned: a primitive built against another release can crash.
        UNAVAILABLE_REASON = (
            f"the extension was built against mlx {_kernels.MLX_VERSION} but mlx {mx.__version__} is installed; "
            "reinstall mlx-uniface to rebuild it"
        )
        return
    _ext = _kernels
    forced = os.environ.get("MLX_UNIFACE_ISA")
    if forced and forced not in _kernels.available_isas():
        # the kernels then run the best table: say so, or a test run meant for another table proves nothing
        warnings.warn(
            f"MLX_UNIFACE_ISA={forced!r} is not a kernel table this CPU runs {_kernels.available_isas()}; "
            f"using {_kernels.isa()!r}",
            RuntimeWarning,
            stacklevel=2,
        )


_load()


def available() -> bool:
    """True when the C++ kernels imported and match the installed MLX."""
    return _ext is not None


def warn_if_unavailable() -> None:
    """One warning per process when translation wanted native kernels and cannot have them."""
    global _warned
    if _ext is None and not _warned:
        _warned = True
        warnings.warn(
            f"mlx-uniface native CPU kernels unavailable: {UNAVAILABLE_REASON}. Using the pure-MLX lowering "
            "(correct, slower).",
            RuntimeWarning,
            stacklevel=3,
        )


def isa() -> str | None:
    """The instruction set the kernels run with ("avx2", "neon", "baseline"), or None."""
    return _ext.isa() if _ext is not None else None


def num_threads() -> int:
    return _ext.num_threads() if _ext is not None else 1


def set_num_threads(n: int) -> None:
    """Threads in the kernels' pool (default: the cores, or MLX_UNIFACE_NUM_THREADS)."""
    if _ext is not None:
        _ext.set_num_threads(int(n))


def spin_us() -> int:
    """How long idle pool workers spin for the next kernel before sleeping (MLX_UNIFACE_SPIN_US)."""
    return _ext.spin_us() if _ext is not None else 0


def set_spin_us(us: int) -> None:
    if _ext is not None:
        _ext.set_spin_us(int(us))


def _runs_native(*arrays: mx.array) -> bool:
    """The extension takes this call: it imported, every operand is float32, and the work is on the CPU."""
    return (
        _ext is not None
        and all(a.dtype == mx.float32 for a in arrays)
        and mx.default_device().type == mx.DeviceType.cpu
    )


def conv2d(
    x: mx.array,
    w: mx.array,
    bias: mx.array | None = None,
    *,
    depthwise: bool = False,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    slope: mx.array | None = None,
    residual: mx.array | None = None,
    residual_after: bool = False,
    winograd: int = 0,
    dilation: int = 1,
    pool: bool = False,
    out_groups: int = 0,
    residual_up: tuple[int, int] = (1, 1),
) -> mx.array:
    """activation(conv(x, w) + bias + residual) for NHWC `x` (residual_after: activation(...) + residual).

    w is (kh, kw, C) for a depthwise conv and (kh, kw, C_in, C_out) otherwise;
    pads are (top, left, bottom, right). activation is one of ACTIVATIONS:
    leaky_relu uses alpha, clip clamps to [alpha, beta], prelu uses `slope`
    (one value per output channel). winograd=2 or 4 runs a dense 3x3 stride-1
    conv as Winograd F(2x2, 3x3) or F(4x4, 3x3) (fewer multiplies, a little
    more rounding; the MLX fallback computes the conv directly). dilation > 1 (stride 1, pads divisible
    by it) runs the undilated kernel over the input's dilation x dilation phase grids (`_phase_conv`).
    pool (a depthwise conv, no residual, an even output height and width): the result is the conv's 2x2 stride-2
    max pool, made two rows at a time so the conv's own map is never written (YuNet's pools).
    out_groups=G > 1 (a dense conv without residual, C_out / G a multiple of 16): the output is (N, G, Ho, Wo,
    C_out / G), the NHWC output's channel groups one after another, written so by the kernel (YOLO's heads,
    whose outputs are (N, anchors, H, W, values): no transposed copy).
    residual_up=(fh, fw) (a dense conv with a residual): the residual is the output's coarser level (N, Ho / fh,
    Wo / fw, C_out), added nearest-upsampled as it is read (an FPN's top-down path: no upsampled map is stored).
    """
    residual_up = (int(residual_up[0]), int(residual_up[1]))
    if residual_up != (1, 1):
        if depthwise or residual is None or pool or dilation > 1:
            raise ValueError("native.conv2d: residual_up needs a dense conv with a residual (no pool or dilation)")
        if not _runs_native(x):
            full = mx.repeat(mx.repeat(residual, residual_up[0], axis=1), residual_up[1], axis=2)
            return conv2d(x, w, bias, strides=strides, pads=pads, activation=activation, alpha=alpha, beta=beta,
                          slope=slope, residual=full, residual_after=residual_after, winograd=winograd,
                          out_groups=out_groups)  # fmt: skip
    if pool and (not depthwise or residual is not None or dilation > 1):
        raise ValueError("native.conv2d: pool needs a depthwise conv without residual or dilation")
    if out_groups > 1:
        c_out = w.shape[-1]
        if (
            depthwise
            or residual is not None
            or pool
            or dilation > 1
            or c_out % out_groups
            or (c_out // out_groups) % 16
        ):
            raise ValueError(
                f"native.conv2d: out_groups={out_groups} needs a dense conv without residual, pool or dilation whose "
                f"{c_out} output channels split into groups of a multiple of 16"
            )
        if not _runs_native(x):
            y = conv2d(x, w, bias, strides=strides, pads=pads, activation=activation, alpha=alpha, beta=beta,
                       slope=slope, winograd=winograd)  # fmt: skip
            n, h, wd, _ = y.shape
            return mx.transpose(mx.reshape(y, (n, h, wd, out_groups, c_out // out_groups)), (0, 3, 1, 2, 4))
    if dilation > 1:
        if tuple(strides) != (1, 1) or any(int(p) % dilation for p in pads) or winograd:
            raise ValueError("native.conv2d: a dilated conv needs stride 1 and pads divisible by the dilation")
        if _runs_native(x):
            return _phase_conv(
                x, w, bias, dilation, pads, residual,
                dict(depthwise=depthwise, act=ACTIVATIONS[activation], alpha=float(alpha), beta=float(beta),
                     residual_after=bool(residual_after)), slope,
            )  # fmt: skip
    if activation not in ACTIVATIONS:
        raise ValueError(f"native.conv2d: unknown activation {activation!r}")
    if winograd not in (0, 2, 4):
        raise ValueError(f"native.conv2d: winograd must be 0, 2 or 4, got {winograd!r}")
    if _runs_native(x):
        layout = {"out_groups": int(out_groups)} if out_groups > 1 else {}
        if residual_up != (1, 1):
            layout["residual_up"] = list(residual_up)
        return _ext.conv2d(
            x, w, bias, residual, slope, depthwise=depthwise, strides=list(strides), pads=list(pads),
            act=ACTIVATIONS[activation], alpha=float(alpha), beta=float(beta), residual_after=bool(residual_after),
            winograd=int(winograd), pool2=bool(pool), **layout,
        )  # fmt: skip
    y = reference_conv2d(
        x, w, bias, depthwise=depthwise, strides=strides, pads=pads, activation=activation, alpha=alpha, beta=beta,
        slope=slope, residual=residual, residual_after=residual_after, dilation=dilation,
    )  # fmt: skip
    return _pool2_reference(y) if pool else y


def concat_conv2d(
    parts: list[mx.array],
    w: mx.array,
    bias: mx.array | None = None,
    *,
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    slope: mx.array | None = None,
    residual: mx.array | None = None,
    residual_after: bool = False,
    residual_up: tuple[int, int] = (1, 1),
) -> mx.array:
    """conv2d(concatenate(parts, axis=3), w, ...) for a 1x1 conv, without assembling the concatenation: the GEMM
    reads each pixel's channels from the parts in place (YOLO's C3 blocks, RetinaFace's SSH heads).

    parts are NHWC maps of one height and width; w is (1, 1, sum of their channels, C_out), its input channels
    in the parts' order. The other arguments are conv2d's.
    """
    if len(parts) < 1:
        raise ValueError("native.concat_conv2d: needs at least one part")
    if activation not in ACTIVATIONS:
        raise ValueError(f"native.concat_conv2d: unknown activation {activation!r}")
    if _runs_native(*parts):
        return _ext.concat_conv2d(
            list(parts), w, bias, residual, slope, act=ACTIVATIONS[activation], alpha=float(alpha), beta=float(beta),
            residual_after=bool(residual_after), residual_up=[int(f) for f in residual_up],
        )  # fmt: skip
    return conv2d(
        mx.concatenate(list(parts), axis=3), w, bias, activation=activation, alpha=alpha, beta=beta, slope=slope,
        residual=residual, residual_after=residual_after, residual_up=residual_up,
    )  # fmt: skip


def _pool2_reference(y: mx.array) -> mx.array:
    """The 2x2 stride-2 max pool of an NHWC map with even height and width (NaN propagates)."""
    n, h, w, c = y.shape
    if h % 2 or w % 2:
        raise ValueError(f"native: pool needs the conv output's height and width even, got {tuple(y.shape)}")
    return mx.max(mx.reshape(y, (n, h // 2, 2, w // 2, 2, c)), axis=(2, 4))


def _phase_conv(x, w, bias, d: int, pads, residual, kwargs: dict, slope) -> mx.array:
    """A stride-1 conv at dilation d as the undilated conv over the d x d phase grids of x, stacked in the
    batch: output pixel d*t + a reads only input pixels of phase a, at t + j - pad/d. H and W are padded at
    the end to multiples of d (the extra outputs are cropped), so any size works."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    top, left, bottom, right = (int(p) for p in pads)
    ho, wo = h + top + bottom - d * (kh - 1), wd + left + right - d * (kw - 1)
    eh, ew = (-h) % d, (-wd) % d
    if eh or ew:
        x = mx.pad(x, [(0, 0), (0, eh), (0, ew), (0, 0)])
    hh, ww = (h + eh) // d, (wd + ew) // d
    phases = x.reshape(n, hh, d, ww, d, c).transpose(0, 2, 4, 1, 3, 5).reshape(n * d * d, hh, ww, c)
    oh, ow = ho + eh, wo + ew  # multiples of d
    if residual is not None:
        r = mx.pad(residual, [(0, 0), (0, eh), (0, ew), (0, 0)]) if eh or ew else residual
        residual = (
            r.reshape(n, oh // d, d, ow // d, d, -1)
            .transpose(0, 2, 4, 1, 3, 5)
            .reshape(n * d * d, oh // d, ow // d, -1)
        )
    y = _ext.conv2d(
        phases, w, bias, residual, slope, strides=[1, 1], pads=[top // d, left // d, bottom // d, right // d], **kwargs
    )
    co = y.shape[-1]
    y = y.reshape(n, d, d, oh // d, ow // d, co).transpose(0, 3, 1, 4, 2, 5).reshape(n, oh, ow, co)
    return y[:, :ho, :wo] if eh or ew else y


def image_conv2d(
    x: mx.array,
    w: mx.array,
    bias: mx.array | None,
    offset: mx.array,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    slope: mx.array | None = None,
    residual: mx.array | None = None,
    residual_after: bool = False,
) -> mx.array:
    """conv2d on an 8-bit NHWC image `x` (uint8, as OpenCV gives it) read as float(x) - offset per channel.

    A network's stem with its input normalization folded in (translator/passes/image_input.py): w holds
    W / std with its input channels in the image's order, offset the mean, so zero padding of the
    normalized image is zero padding of float(x) - offset. The kernel converts rows as it needs them;
    the fallback makes the float image with MLX ops.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"native.image_conv2d: unknown activation {activation!r}")
    if _runs_native(w, offset) and x.dtype == mx.uint8:
        return _ext.image_conv2d(
            x, w, bias, offset, residual, slope, strides=list(strides), pads=list(pads), act=ACTIVATIONS[activation],
            alpha=float(alpha), beta=float(beta), residual_after=bool(residual_after),
        )  # fmt: skip
    return reference_conv2d(
        x.astype(mx.float32) - mx.reshape(offset, (-1,)), w, bias, strides=strides, pads=pads, activation=activation,
        alpha=alpha, beta=beta, slope=slope, residual=residual, residual_after=residual_after,
    )  # fmt: skip


def dw_pw_conv2d(
    x: mx.array,
    w: mx.array,
    bias: mx.array | None,
    w_pw: mx.array,
    bias_pw: mx.array | None = None,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    slope: mx.array | None = None,
    pw_activation: str | None = None,
    pw_alpha: float = 0.0,
    pw_beta: float = 0.0,
    pw_slope: mx.array | None = None,
    residual: mx.array | None = None,
    residual_after: bool = False,
) -> mx.array:
    """A depthwise conv and the 1x1 conv that alone reads its output, in one pass over memory.

    conv2d(conv2d(x, w, bias, depthwise=True, activation=...), w_pw, bias_pw, activation=pw_...,
    residual=...): the depthwise output is made a row at a time in a per-thread buffer and multiplied
    by w_pw (1, 1, C, C_out) at once, never written out (MobileNet's blocks).
    """
    for act in (activation, pw_activation):
        if act not in ACTIVATIONS:
            raise ValueError(f"native.dw_pw_conv2d: unknown activation {act!r}")
    if _runs_native(x):
        return _ext.dw_pw_conv2d(
            x, w, bias, slope, w_pw, bias_pw, pw_slope, residual, strides=list(strides), pads=list(pads),
            act=ACTIVATIONS[activation], alpha=float(alpha), beta=float(beta), act_pw=ACTIVATIONS[pw_activation],
            alpha_pw=float(pw_alpha), beta_pw=float(pw_beta), residual_after=bool(residual_after),
        )  # fmt: skip
    y = reference_conv2d(x, w, bias, depthwise=True, strides=strides, pads=pads, activation=activation,
                         alpha=alpha, beta=beta, slope=slope)  # fmt: skip
    return reference_conv2d(y, w_pw, bias_pw, activation=pw_activation, alpha=pw_alpha, beta=pw_beta,
                            slope=pw_slope, residual=residual, residual_after=residual_after)  # fmt: skip


def pw_dw_conv2d(
    x: mx.array,
    w_pre: mx.array,
    bias_pre: mx.array | None,
    w: mx.array,
    bias: mx.array | None,
    w_pw: mx.array | None = None,
    bias_pw: mx.array | None = None,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    pre_activation: str | None = None,
    pre_alpha: float = 0.0,
    pre_beta: float = 0.0,
    pre_slope: mx.array | None = None,
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    slope: mx.array | None = None,
    pw_activation: str | None = None,
    pw_alpha: float = 0.0,
    pw_beta: float = 0.0,
    pw_slope: mx.array | None = None,
    residual: mx.array | None = None,
    residual_after: bool = False,
    pre_strides: tuple[int, int] = (1, 1),
    pre_pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    pre_offset: mx.array | None = None,
    w_mid: mx.array | None = None,
    bias_mid: mx.array | None = None,
    mid_activation: str | None = None,
    mid_alpha: float = 0.0,
    mid_beta: float = 0.0,
    mid_slope: mx.array | None = None,
    pool: bool = False,
    interleave_with: mx.array | None = None,
) -> mx.array:
    """A 1x1 conv, the depthwise conv that alone reads its output, and optionally a 1x1 conv after that, in one pass.

    conv2d(x, w_pre (1, 1, C_in, C), bias_pre, activation=pre_...) feeds conv2d(..., w (kh, kw, C), bias,
    depthwise=True, activation=...), which, with w_pw (1, 1, C, C_out), feeds conv2d(..., w_pw, bias_pw,
    activation=pw_...); residual joins the last. The first 1x1 output is made a band of rows at a time in a
    per-thread buffer and never written out (YuNet's blocks: 1x1, then 3x3 depthwise). The first conv may
    be a network's stem instead: w_pre (kh, kw, C_in <= 4, C) with pre_strides and pre_pads (SCRFD's 3x3
    stride-2 stem, then its first depthwise conv), on the 8-bit NHWC image x read as float(x) - pre_offset
    when pre_offset is given (as image_conv2d), and followed by a 1x1 conv w_mid (1, 1, C_stem, C), bias_mid,
    mid_... before the depthwise conv when w_mid is given (YuNet: stem, 1x1, depthwise). pool (no w_pw, no residual,
    the depthwise output's height and width even): the result is the depthwise output's 2x2 stride-2 max pool.
    interleave_with (w_pw given, no residual; the result's shape): the output is interleave([interleave_with,
    result]), a ShuffleNet unit's concat and channel shuffle, made from the result's rows while they are in the
    cache (a channel slice of a wider map is read in place, as is x by the first 1x1 conv).
    """
    if pool and (w_pw is not None or residual is not None):
        raise ValueError("native.pw_dw_conv2d: pool needs no w_pw and no residual")
    if interleave_with is not None and (w_pw is None or residual is not None or pool):
        raise ValueError("native.pw_dw_conv2d: interleave_with needs w_pw, and no residual or pool")
    for act in (pre_activation, mid_activation, activation, pw_activation):
        if act not in ACTIVATIONS:
            raise ValueError(f"native.pw_dw_conv2d: unknown activation {act!r}")
    image = pre_offset is not None
    if (_runs_native(pre_offset) and x.dtype == mx.uint8) if image else _runs_native(x):
        return _ext.pw_dw_conv2d(
            x, w_pre, bias_pre, pre_slope, w, bias, slope, w_pw, bias_pw, pw_slope, residual, strides=list(strides),
            pads=list(pads), act_pre=ACTIVATIONS[pre_activation], alpha_pre=float(pre_alpha),
            beta_pre=float(pre_beta), act=ACTIVATIONS[activation], alpha=float(alpha), beta=float(beta),
            act_pw=ACTIVATIONS[pw_activation], alpha_pw=float(pw_alpha), beta_pw=float(pw_beta),
            residual_after=bool(residual_after), pre_strides=list(pre_strides), pre_pads=list(pre_pads),
            pre_offset=pre_offset, w_mid=w_mid, bias_mid=bias_mid, slope_mid=mid_slope,
            act_mid=ACTIVATIONS[mid_activation], alpha_mid=float(mid_alpha), beta_mid=float(mid_beta),
            pool2=bool(pool), **({} if interleave_with is None else {"interleave_with": interleave_with}),
        )  # fmt: skip
    if image:
        x = x.astype(mx.float32) - mx.reshape(pre_offset, (-1,))
    y = reference_conv2d(x, w_pre, bias_pre, strides=pre_strides, pads=pre_pads, activation=pre_activation,
                         alpha=pre_alpha, beta=pre_beta, slope=pre_slope)  # fmt: skip
    if w_mid is not None:
        y = reference_conv2d(y, w_mid, bias_mid, activation=mid_activation, alpha=mid_alpha, beta=mid_beta,
                             slope=mid_slope)  # fmt: skip
    if w_pw is None:
        y = reference_conv2d(y, w, bias, depthwise=True, strides=strides, pads=pads, activation=activation,
                             alpha=alpha, beta=beta, slope=slope, residual=residual,
                             residual_after=residual_after)  # fmt: skip
        return _pool2_reference(y) if pool else y
    y = reference_conv2d(y, w, bias, depthwise=True, strides=strides, pads=pads, activation=activation,
                         alpha=alpha, beta=beta, slope=slope)  # fmt: skip
    y = reference_conv2d(y, w_pw, bias_pw, activation=pw_activation, alpha=pw_alpha, beta=pw_beta,
                         slope=pw_slope, residual=residual, residual_after=residual_after)  # fmt: skip
    if interleave_with is None:
        return y
    if tuple(interleave_with.shape) != tuple(y.shape):
        raise ValueError(f"native.pw_dw_conv2d: interleave_with has shape {tuple(interleave_with.shape)}, "
                         f"the result {tuple(y.shape)}")  # fmt: skip
    return mx.reshape(mx.stack([interleave_with, y], axis=-1), (*y.shape[:-1], 2 * y.shape[-1]))


def stem_split(
    x: mx.array,
    w: mx.array,
    bias: mx.array | None,
    w_mid: mx.array,
    bias_mid: mx.array | None = None,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    activation: str | None = None,
    alpha: float = 0.0,
    beta: float = 0.0,
    mid_activation: str | None = None,
    mid_alpha: float = 0.0,
    mid_beta: float = 0.0,
    offset: mx.array | None = None,
) -> tuple[mx.array, mx.array]:
    """A stem whose map two readers share, as (its 2x2 stride-2 max pool, the 1x1 conv w_mid over it).

    y = conv2d(x, w (kh, kw, C_in <= 4, C), bias, strides, pads, activation=...) must have an even height and
    width; the results are max_pool(y, 2x2, stride 2) and conv2d(y, w_mid (1, 1, C, C_mid), bias_mid,
    activation=mid_...). YOLOv5n's StemBlock reads its 320x320x16 stem map both ways: made a band of rows at a
    time in a per-thread buffer, the map (6.5 MB) is never written and read back twice. With offset, x is the
    8-bit NHWC image read as float(x) - offset (as image_conv2d). No PRelu (no model needs it here).
    """
    for act in (activation, mid_activation):
        if act not in ACTIVATIONS or act == "prelu":
            raise ValueError(f"native.stem_split: unsupported activation {act!r}")
    image = offset is not None
    if (_runs_native(offset) and x.dtype == mx.uint8) if image else _runs_native(x):
        return tuple(_ext.stem_split(
            x, w, bias, w_mid, bias_mid, offset, strides=list(strides), pads=list(pads), act=ACTIVATIONS[activation],
            alpha=float(alpha), beta=float(beta), act_mid=ACTIVATIONS[mid_activation], alpha_mid=float(mid_alpha),
            beta_mid=float(mid_beta),
        ))  # fmt: skip
    if image:
        x = x.astype(mx.float32) - mx.reshape(offset, (-1,))
    y = reference_conv2d(x, w, bias, strides=strides, pads=pads, activation=activation, alpha=alpha, beta=beta)
    mid = reference_conv2d(y, w_mid, bias_mid, activation=mid_activation, alpha=mid_alpha, beta=mid_beta)
    return _pool2_reference(y), mid


def max_pool2d(
    x: mx.array, kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int], out_hw: tuple[int, int]
) -> mx.array:
    """NHWC max pool with top/left `pads` and the output size given (ONNX's end pads and ceil_mode decide
    it); window taps outside the input are skipped, and every window must have one inside."""
    if _runs_native(x):
        return _ext.max_pool2d(x, list(kernel), list(strides), list(pads), list(out_hw))
    (kh, kw), (sh, sw), (pt, pl), (ho, wo) = kernel, strides, pads, out_hw
    pb, pr = max(0, (ho - 1) * sh + kh - x.shape[1] - pt), max(0, (wo - 1) * sw + kw - x.shape[2] - pl)
    xp = mx.pad(x, [(0, 0), (pt, pb), (pl, pr), (0, 0)], constant_values=-float("inf"))
    y = None
    for ky in range(kh):
        for kx in range(kw):
            tap = xp[:, ky : ky + (ho - 1) * sh + 1 : sh, kx : kx + (wo - 1) * sw + 1 : sw, :]
            y = tap if y is None else mx.maximum(y, tap)
    return y


def upsample_nearest(x: mx.array, factors: tuple[int, int], residual: mx.array | None = None) -> mx.array:
    """NHWC nearest upsampling by integer factors (each pixel repeated into an fh x fw block), plus `residual`
    (the output's shape) when given: an FPN's top-down Add in the same multi-threaded pass."""
    if _runs_native(x) and (residual is None or _runs_native(residual)):
        return _ext.upsample_nearest(x, list(factors), **({} if residual is None else {"residual": residual}))
    n, h, w, c = x.shape
    fh, fw = factors
    y = mx.broadcast_to(mx.expand_dims(x, (2, 4)), (n, h, fh, w, fw, c))
    y = mx.reshape(y, (n, h * fh, w * fw, c))
    if residual is None:
        return y
    if tuple(residual.shape) != tuple(y.shape):
        raise ValueError(f"native.upsample_nearest: residual has shape {tuple(residual.shape)}, "
                         f"the output {tuple(y.shape)}")  # fmt: skip
    return y + residual


def resize_axis(x: mx.array, axis: int, idx: mx.array, coeffs: mx.array) -> mx.array:
    """One axis of a linear/cubic Resize from its (out, taps) index and weight maps:
    out[..., j, ...] = sum_t coeffs[j, t] * x[..., idx[j, t], ...], indices clamped into the axis."""
    if _runs_native(x, coeffs) and idx.dtype == mx.int32:
        return _ext.resize_axis(x, axis, idx, coeffs)
    axis %= x.ndim
    out, taps = idx.shape
    g = mx.take(x, mx.clip(idx, 0, x.shape[axis] - 1).reshape(-1), axis=axis)
    g = g.reshape(x.shape[:axis] + (out, taps) + x.shape[axis + 1 :])
    w = coeffs.astype(x.dtype).reshape((out, taps) + (1,) * (x.ndim - axis - 1))
    return mx.sum(g * w, axis=axis + 1)


def instance_norm(x: mx.array, scale: mx.array, bias: mx.array, eps: float, channels_last: bool = False) -> mx.array:
    """ONNX InstanceNormalization of (N, C, spatial...), or of (N, spatial..., C) with channels_last: each
    (n, c) plane normalized by its own mean and variance (two passes), then scale[c] and bias[c]."""
    if _runs_native(x, scale, bias):
        return _ext.instance_norm(x, scale, bias, float(eps), channels_last=channels_last)
    axes = tuple(range(1, x.ndim - 1)) if channels_last else tuple(range(2, x.ndim))
    per_channel = (x.ndim - 1) * (1,) + (-1,) if channels_last else (1, -1) + (1,) * (x.ndim - 2)
    rough = mx.mean(x, axis=axes, keepdims=True)
    # a second pass corrects the mean from the deviations (exact where x is close to it): a large mean must not
    # shift the deviations it is subtracted from
    dev = (x - rough) - mx.mean(x - rough, axis=axes, keepdims=True)
    var = mx.mean(mx.square(dev), axis=axes, keepdims=True)
    return dev * mx.rsqrt(var + eps) * scale.reshape(per_channel) + bias.reshape(per_channel)


_BORROWED_DTYPES = frozenset({"float32", "float16", "uint8", "int8", "int32", "int64"})


def _host_memory_only() -> bool:
    """MLX here keeps arrays in plain host memory (no Metal or CUDA allocator, whose buffers are device objects)."""
    cuda = getattr(mx, "cuda", None)
    return not mx.metal.is_available() and not (cuda is not None and cuda.is_available())


def borrow(a: np.ndarray) -> mx.array:
    """`a` as an MLX array, read in place where it can be (the input copy cost 0.4-0.9 ms of a 640x640 forward).

    Borrowed: a C-contiguous array of a plain dtype whose memory numpy itself allocated (the 8 bytes before
    it, which MLX's CPU buffers keep a size in, are then the allocator's). MLX never writes a borrowed
    buffer (it is not MLX-owned, so never donated); the caller must not write `a` until the results computed
    from it are evaluated. Anything else is copied, as `mx.array(a)` does.
    """
    if _ext is not None and _borrow_enabled() and _borrowable(a):
        view = _ext.borrow(a, a)
        if view is not None:
            return view
    return mx.array(a)


def release_borrowed() -> int:
    """Drop the references `borrow` kept to numpy arrays whose MLX buffers are gone (call with no MLX work of
    theirs pending, e.g. after an eval); the count released."""
    return _ext.release_borrowed() if _ext is not None else 0


_borrow_ok: bool | None = None


def _borrow_enabled() -> bool:
    """The extension is loaded, MLX keeps host memory, and MLX_UNIFACE_BORROW is not 0 (read once)."""
    global _borrow_ok
    if _borrow_ok is None:
        _borrow_ok = _ext is not None and os.environ.get("MLX_UNIFACE_BORROW", "1") != "0" and _host_memory_only()
    return _borrow_ok


def _borrowable(a: np.ndarray) -> bool:
    if not isinstance(a, np.ndarray) or a.size == 0 or not a.flags.c_contiguous or a.dtype.name not in _BORROWED_DTYPES:
        return False
    owner = a
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    return owner.base is None and owner.flags.owndata


def interleave(parts: list[mx.array]) -> mx.array:
    """out[..., j * g + k] = parts[k][..., j] for g same-shaped parts: a channel Concat followed by a channel
    shuffle in g groups (ShuffleNet's unit), in one multi-threaded pass instead of two MLX copies."""
    if _runs_native(*parts):
        return _ext.interleave(list(parts))
    stacked = mx.stack(list(parts), axis=-1)
    return mx.reshape(stacked, tuple(parts[0].shape[:-1]) + (parts[0].shape[-1] * len(parts),))


def concat(parts: list[mx.array]) -> mx.array:
    """Concatenation along the last axis (NHWC channels) on the pool's threads, reading channel slices of wider
    maps in place; MLX's concatenate copies on one thread."""
    if _runs_native(*parts):
        return _ext.concat(list(parts))
    return mx.concatenate(list(parts), axis=-1)


def split_channels(x: mx.array, widths: list[int]) -> tuple[mx.array, ...]:
    """x's last axis cut into contiguous arrays of `widths` channels, in one pass on the pool's threads (a detection
    head's merged conv split into scores, boxes and landmarks that are then reshaped: MLX would copy each strided
    slice on one thread)."""
    widths = [int(w) for w in widths]
    if _runs_native(x):
        return tuple(_ext.split_channels(x, widths))
    bounds = np.cumsum([0] + widths)
    return tuple(x[..., int(a) : int(b)] for a, b in zip(bounds[:-1], bounds[1:]))


def flat_concat(parts: list[mx.array], shape: tuple[int, ...]) -> mx.array:
    """The parts' elements in row-major order, one part after another, as an array of `shape`: a detection
    head's Reshape + Concat of channel slices (RetinaFace's outputs) in one multi-threaded copy that reads the
    slices in place; MLX copies each slice on one thread to reshape it, then again to concatenate."""
    total = sum(p.size for p in parts)
    if math.prod(shape) != total:
        raise ValueError(f"native.flat_concat: shape {tuple(shape)} does not hold the parts' {total} elements")
    if _runs_native(*parts):
        return mx.reshape(_ext.flat_concat(list(parts)), tuple(shape))
    return mx.reshape(mx.concatenate([mx.reshape(p, (-1,)) for p in parts]), tuple(shape))


def sigmoid(x: mx.array) -> mx.array:
    """1 / (1 + exp(-x)). MLX's own CPU sigmoid is scalar code (about 15 ns per element): detection
    heads spend more time there than in the conv before them."""
    if _runs_native(x):
        return _ext.sigmoid(x)
    return mx.sigmoid(x)


def softmax(x: mx.array, axis: int = -1) -> mx.array:
    """Softmax over one axis; vectorized in the extension for the last axis of a float32 array."""
    last = x.ndim > 0 and axis in (-1, x.ndim - 1)
    if last and _runs_native(x):
        return _ext.softmax_last(x)
    return mx.softmax(x, axis=axis)


def reference_conv2d(x, w, bias=None, *, depthwise=False, strides=(1, 1), pads=(0, 0, 0, 0), activation=None,
                     alpha=0.0, beta=0.0, slope=None, residual=None, residual_after=False, dilation=1) -> mx.array:  # fmt: skip
    """The same computation with MLX's own ops (the fallback, and MLX's Metal path on the GPU)."""
    top, left, bottom, right = pads
    if any(pads):
        x = mx.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])
    if depthwise:
        wt = mx.expand_dims(mx.transpose(w, (2, 0, 1)), -1)
        y = mx.conv2d(x, wt, stride=tuple(strides), dilation=dilation, groups=w.shape[2])
    else:
        y = mx.conv2d(x, mx.transpose(w, (3, 0, 1, 2)), stride=tuple(strides), dilation=dilation)
    if bias is not None:
        y = y + mx.reshape(bias, (-1,))
    if residual is not None and not residual_after:
        y = y + residual
    if activation == "relu":
        y = mx.maximum(y, 0)
    elif activation == "leaky_relu":
        y = mx.where(y >= 0, y, y * alpha)
    elif activation == "clip":
        y = mx.clip(y, alpha, beta)
    elif activation == "sigmoid":
        y = mx.sigmoid(y)
    elif activation == "silu":
        y = y * mx.sigmoid(y)
    elif activation == "hard_swish":
        y = y * mx.clip(y / 6 + 0.5, 0, 1)
    elif activation == "prelu":
        y = mx.where(y >= 0, y, y * mx.reshape(slope, (-1,)))
    if residual is not None and residual_after:
        y = y + residual
    return y
