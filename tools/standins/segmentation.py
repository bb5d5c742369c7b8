"""Face parsing and masking: BiSeNet (19 CelebAMask-HQ classes) and DeepFaceLab's XSeg."""

from __future__ import annotations

import numpy as np
import onnx

from ._layers import Net, resnet_stages, resnet_stem
from .registry import StandIn

PARSING_CLASSES = 19


def _full_avg_pool(g: Net, x: str, size: int) -> str:
    """F.avg_pool2d(x, x.size()[2:]) exports as AveragePool with the whole map as kernel."""
    return g.op("AveragePool", [x], kernel_shape=[size, size], strides=[size, size])


def _nearest_like(g: Net, x: str, like: str) -> str:
    return g.resize_like(x, like, mode="nearest", ctm="asymmetric")


def _arm(g: Net, x: str, cin: int, cout: int, size: int) -> str:
    """Attention refinement: conv-BN-ReLU, full average pool, 1x1 conv, BN, Sigmoid, Mul."""
    feat = g.cbr(x, cin, cout, 3)
    att = g.op("Sigmoid", [g.bn(g.conv2d(_full_avg_pool(g, feat, size), cout, cout, 1, pads=[0, 0, 0, 0]), cout)])
    return g.op("Mul", [feat, att])


def _output_head(g: Net, x: str, cin: int, mid: int) -> str:
    return g.conv2d(g.cbr(x, cin, mid, 3), mid, PARSING_CLASSES, 1, pads=[0, 0, 0, 0])


def bisenet(seed: int = 80) -> onnx.ModelProto:
    """yakhyo/face-parsing BiSeNet (opset 20): ResNet-18 context path, ARMs, FFM, three outputs at input size.

    Widths: backbone (16, 32, 64, 128), context 32, FFM 64 (real: 64..512,
    128, 256). Sizes are computed from Shape ops as the PyTorch export does
    (nearest for the context path, bilinear align_corners=True for the
    outputs); the batch dimension is dynamic.
    """
    g = Net(seed, opset=20)
    x = resnet_stem(g, "input", 16)
    feats, _ = resnet_stages(g, x, (16, 32, 64, 128), (2, 1, 1, 1), stem=16)
    feat8, feat16, feat32 = feats[1], feats[2], feats[3]  # 32 ch @64, 64 ch @32, 128 ch @16
    cp = 32
    avg = g.cbr(_full_avg_pool(g, feat32, 16), 128, cp, 1)
    feat32_sum = g.op("Add", [_arm(g, feat32, 128, cp, 16), _nearest_like(g, avg, feat32)])
    feat32_up = g.cbr(_nearest_like(g, feat32_sum, feat16), cp, cp, 3)
    feat16_sum = g.op("Add", [_arm(g, feat16, 64, cp, 32), feat32_up])
    feat16_up = g.cbr(_nearest_like(g, feat16_sum, feat8), cp, cp, 3)
    # Feature fusion.
    fused = g.cbr(g.op("Concat", [feat8, feat16_up], axis=1), 32 + cp, 64, 1)
    att = g.op("Relu", [g.conv2d(_full_avg_pool(g, fused, 64), 64, 16, 1, pads=[0, 0, 0, 0])])
    att = g.op("Sigmoid", [g.conv2d(att, 16, 64, 1, pads=[0, 0, 0, 0])])
    fused = g.op("Add", [g.op("Mul", [fused, att]), fused])
    outs = [
        _output_head(g, fused, 64, 64),
        _output_head(g, feat16_up, cp, 16),
        _output_head(g, feat32_up, cp, 16),
    ]
    outs = [g.resize_like(o, "input", mode="linear", ctm="align_corners") for o in outs]
    shape = ["batch_size", PARSING_CLASSES, 512, 512]
    return g.finish_model(
        "bisenet_standin",
        [("input", ["batch_size", 3, 512, 512])],
        [(outs[0], "output", shape), (outs[1], "out16", shape), (outs[2], "out32", shape)],
    )


# -- XSeg ----------------------------------------------------------------------------------


def _frn_tlu(g: Net, x: str, c: int) -> str:
    """FRNorm2D then TLU: x * 1/sqrt(mean(x^2, HW) + |eps|) * w + b, then max(x, tau)."""
    nu2 = g.reduce_mean(g.op("Mul", [x, x]), [2, 3], keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [nu2, g.const(np.array([1e-6]))])])])
    y = g.op("Mul", [x, inv])
    y = g.op(
        "Add",
        [g.op("Mul", [y, g.const(g.rng.uniform(0.8, 1.2, (1, c, 1, 1)))]), g.const(g.rng.normal(0, 0.1, (1, c, 1, 1)))],
    )
    return g.op("Max", [y, g.const(g.rng.normal(-0.2, 0.1, (1, c, 1, 1)))])


def _xseg_conv(g: Net, x: str, cin: int, cout: int) -> str:
    return _frn_tlu(g, g.conv2d(x, cin, cout, 3, bias=True), cout)


def _xseg_up(g: Net, x: str, cin: int, cout: int) -> str:
    """Conv2DTranspose 3x3/2 'SAME' (tf2onnx pads [0, 0, 1, 1]), FRN, TLU."""
    return _frn_tlu(g, g.conv_transpose(x, cin, cout, 3, 2, [0, 0, 1, 1]), cout)


def _blur_pool(g: Net, x: str, c: int, filt: int) -> str:
    """leras BlurPool: zero Pad (floor/ceil of (filt-1)/2), fixed binomial depthwise filter, stride 2."""
    taps = {2: [1.0, 1.0], 3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0]}[filt]
    k = np.outer(taps, taps)
    k /= k.sum()
    lo, hi = (filt - 1) // 2, filt // 2
    padded = g.op("Pad", [x, g.const_int([0, 0, lo, lo, 0, 0, hi, hi], "pads")], mode="constant")
    w = g.const(np.broadcast_to(k, (c, 1, filt, filt)).copy())
    return g.op("Conv", [padded, w], kernel_shape=[filt, filt], strides=[2, 2], pads=[0, 0, 0, 0], group=c)


def _dense(g: Net, x: str, cin: int, cout: int) -> str:
    return g.op("Add", [g.linear(x, cin, cout, bias=False), g.const(g.rng.normal(0, 0.05, cout))])


def xseg(seed: int = 81, base: int = 4) -> onnx.ModelProto:
    """DeepFaceLab XSeg as tf2onnx writes it (opset 13): NHWC in, Transpose, U-Net with FRN/TLU, BlurPool, dense bottleneck.

    Encoder stages (base, 2b, 4b, 8b, 8b, 8b) with BlurPool filters
    (4, 3, 2, 2, 2, 2), dense 4*4*8b -> 64 -> 4*4*8b in NHWC order,
    Conv2DTranspose decoder with skip concats, 3x3 conv, Sigmoid, NHWC out.
    The real net has base 32, three convs per deep stage and a 512-wide
    dense layer; the stand-in keeps every unit type with base 4, two convs
    per stage and 64.
    """
    g = Net(seed, opset=13)
    x = g.op("Transpose", ["input"], perm=[0, 3, 1, 2])
    b = base
    plan = ((3, b, 4), (b, 2 * b, 3), (2 * b, 4 * b, 2), (4 * b, 8 * b, 2), (8 * b, 8 * b, 2), (8 * b, 8 * b, 2))
    skips = []
    for cin, cout, filt in plan:
        x = _xseg_conv(g, _xseg_conv(g, x, cin, cout), cout, cout)
        skips.append((x, cout))
        x = _blur_pool(g, x, cout, filt)
    c = 8 * b
    x = g.op("Reshape", [g.op("Transpose", [x], perm=[0, 2, 3, 1]), g.const_int([-1, 16 * c])])
    x = _dense(g, _dense(g, x, 16 * c, 64), 64, 16 * c)
    x = g.op("Transpose", [g.op("Reshape", [x, g.const_int([-1, 4, 4, c])])], perm=[0, 3, 1, 2])
    ups = ((c, 4 * b, 8 * b, 8 * b), (8 * b, 4 * b, 8 * b, 8 * b), (8 * b, 4 * b, 8 * b, 8 * b),
           (8 * b, 4 * b, 4 * b, 4 * b), (4 * b, 2 * b, 2 * b, 2 * b), (2 * b, b, b, b))  # fmt: skip
    for (cin, up_c, skip_c, cout), (skip, _) in zip(ups, reversed(skips)):
        x = g.op("Concat", [_xseg_up(g, x, cin, up_c), skip], axis=1)
        x = _xseg_conv(g, _xseg_conv(g, x, up_c + skip_c, cout), cout, cout)
    logits = g.conv2d(x, b, 1, 3, bias=True)
    mask = g.op("Transpose", [g.op("Sigmoid", [logits])], perm=[0, 2, 3, 1])
    return g.finish_model("xseg_standin", [("input", [1, 256, 256, 3])], [(mask, "output", [1, 256, 256, 1])])


STANDINS = [
    StandIn(
        "parsing_resnet18.onnx",
        bisenet,
        "BiSeNet ResNet-18 face parsing: `input` [N, 3, 512, 512] -> `output` (+ two auxiliary heads) "
        "[N, 19, 512, 512]; ARMs with full-map AveragePool, nearest and align-corners bilinear Resize to "
        "Shape-computed sizes, feature fusion with channel attention; widths reduced (see builder)",
    ),
    StandIn(
        "xseg.onnx",
        xseg,
        "DeepFaceLab XSeg (tf2onnx, NHWC): `input` [1, 256, 256, 3] in [0, 1] -> `output` [1, 256, 256, 1] "
        "(sigmoid); Conv + FRN + TLU units, BlurPool (Pad + fixed depthwise conv), dense bottleneck, "
        "ConvTranspose with asymmetric pads; base width 4 instead of 32",
    ),
]
