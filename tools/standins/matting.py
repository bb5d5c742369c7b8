"""Portrait matting: MODNet (upstream 4.x) and Robust Video Matting (our own family, recurrent)."""

from __future__ import annotations

import numpy as np
import onnx

from ._layers import Net, inverted_residual_v2, inverted_residual_v3
from .registry import StandIn

# -- MODNet ----------------------------------------------------------------------------------


def _ibnorm(g: Net, x: str, c: int) -> str:
    """IBNorm: BatchNorm on the first half of the channels, InstanceNorm (no affine) on the rest."""
    half = c // 2
    bn = g.bn(g.slice(x, [0], [half], [1]), half)
    rest = c - half
    inorm = g.op(
        "InstanceNormalization",
        [g.slice(x, [half], [c], [1]), g.const(np.ones(rest)), g.const(np.zeros(rest))],
        epsilon=1e-5,
    )
    return g.op("Concat", [bn, inorm], axis=1)


def _cibr(g: Net, x: str, cin: int, cout: int, k: int, stride: int = 1, ibn_relu: bool = True) -> str:
    """Conv2dIBNormRelu: conv with bias, then IBNorm and ReLU (or neither)."""
    y = g.conv2d(x, cin, cout, k, stride, bias=True)
    return g.op("Relu", [_ibnorm(g, y, cout)]) if ibn_relu else y


def _se_block(g: Net, x: str, c: int, reduction: int) -> str:
    """MODNet SEBlock: pool, view(b, c), Linear-ReLU-Linear-Sigmoid (no bias), view(b, c, 1, 1), expand_as, Mul."""
    shape = g.op("Shape", [x])
    b = g.unsqueeze(g.op("Gather", [shape, g.const_int(np.array(0), "i")], axis=0), [0])
    ch = g.unsqueeze(g.op("Gather", [shape, g.const_int(np.array(1), "i")], axis=0), [0])
    w = g.op("Reshape", [g.op("GlobalAveragePool", [x]), g.op("Concat", [b, ch], axis=0)])
    w = g.op("Relu", [g.linear(w, c, c // reduction, bias=False)])
    w = g.op("Sigmoid", [g.linear(w, c // reduction, c, bias=False)])
    ones = g.const_int([1, 1], "ones")
    w = g.op("Reshape", [w, g.op("Concat", [b, ch, ones], axis=0)])
    return g.op("Mul", [x, g.op("Expand", [w, g.op("Shape", [x])])])


def _up(g: Net, x: str, factor: float) -> str:
    return g.resize_scales(x, [1.0, 1.0, factor, factor])


def modnet(seed: int = 90) -> onnx.ModelProto:
    """MODNet (ZHKKKe's ONNX variant, opset 11): MobileNetV2 encoder, LR / HR / fusion branches, sigmoid matte.

    Dynamic batch, height and width (upstream feeds multiples of 32). The
    encoder keeps every MobileNetV2 unit kind (stem, t=1 unit, expanding
    units with and without residual, final 1x1) with narrower channels;
    the branches are the real ones with hr_channels 16.
    """
    g = Net(seed, opset=11)
    x = g.relu6(g.bn(g.conv2d("input", 3, 16, 3, 2), 16))
    x = enc2x = inverted_residual_v2(g, x, 16, 8, 1, 1)  # /2, 8 ch
    x = inverted_residual_v2(g, x, 8, 12, 6, 2)
    x = enc4x = inverted_residual_v2(g, x, 12, 12, 6, 1)  # /4, 12 ch
    x = inverted_residual_v2(g, x, 12, 16, 6, 2)  # /8
    x = inverted_residual_v2(g, x, 16, 24, 6, 2)  # /16
    x = inverted_residual_v2(g, x, 24, 32, 6, 1)
    x = inverted_residual_v2(g, x, 32, 32, 6, 1)
    x = inverted_residual_v2(g, x, 32, 48, 6, 2)  # /32
    x = inverted_residual_v2(g, x, 48, 64, 6, 1)
    enc32x = g.relu6(g.bn(g.conv2d(x, 64, 128, 1, pads=[0, 0, 0, 0]), 128))
    enc = (8, 12, 16, 32, 128)
    hr = enc[2]
    # Low-resolution branch.
    lr = _se_block(g, enc32x, enc[4], 4)
    lr16x = _cibr(g, _up(g, lr, 2.0), enc[4], enc[3], 5)
    lr8x = _cibr(g, _up(g, lr16x, 2.0), enc[3], enc[2], 5)
    # High-resolution branch.
    img2x, img4x = _up(g, "input", 0.5), _up(g, "input", 0.25)
    enc2x = _cibr(g, enc2x, enc[0], hr, 1)
    hr4x = _cibr(g, g.op("Concat", [img2x, enc2x], axis=1), hr + 3, hr, 3, 2)
    enc4x = _cibr(g, enc4x, enc[1], hr, 1)
    hr4x = _cibr(g, g.op("Concat", [hr4x, enc4x], axis=1), 2 * hr, 2 * hr, 3)
    lr4x = _up(g, lr8x, 2.0)
    hr4x = g.op("Concat", [hr4x, lr4x, img4x], axis=1)
    for cin, cout in ((3 * hr + 3, 2 * hr), (2 * hr, 2 * hr), (2 * hr, hr)):
        hr4x = _cibr(g, hr4x, cin, cout, 3)
    hr2x = g.op("Concat", [_up(g, hr4x, 2.0), enc2x], axis=1)
    for cin, cout in ((2 * hr, 2 * hr), (2 * hr, hr), (hr, hr), (hr, hr)):
        hr2x = _cibr(g, hr2x, cin, cout, 3)
    # Fusion branch.
    lr4x = _cibr(g, _up(g, lr8x, 2.0), enc[2], hr, 5)
    f2x = _cibr(g, g.op("Concat", [_up(g, lr4x, 2.0), hr2x], axis=1), 2 * hr, hr, 3)
    f = _cibr(g, g.op("Concat", [_up(g, f2x, 2.0), "input"], axis=1), hr + 3, hr // 2, 3)
    matte = g.op("Sigmoid", [_cibr(g, f, hr // 2, 1, 1, ibn_relu=False)])
    return g.finish_model(
        "modnet_standin",
        [("input", ["batch_size", 3, "height", "width"])],
        [(matte, "output", ["batch_size", 1, "height", "width"])],
    )


# -- Robust Video Matting ------------------------------------------------------------------


def _conv_gru(g: Net, x: str, h: str, c: int) -> str:
    """ConvGRU: h broadcast to x (Expand), r/z from a sigmoid conv, candidate from a tanh conv, blend."""
    h = g.op("Expand", [h, g.op("Shape", [x])])
    rz = g.op("Sigmoid", [g.conv2d(g.op("Concat", [x, h], axis=1), 2 * c, 2 * c, 3, bias=True)])
    r, z = g.split(rz, [c, c], 1)
    cand = g.op("Tanh", [g.conv2d(g.op("Concat", [x, g.op("Mul", [r, h])], axis=1), 2 * c, c, 3, bias=True)])
    one_minus_z = g.op("Sub", [g.const(np.array(1.0)), z])
    return g.op("Add", [g.op("Mul", [one_minus_z, h]), g.op("Mul", [z, cand])])


def _crop_like(g: Net, x: str, like: str) -> str:
    """x[:, :, :H, :W] of `like` (RVM's CustomOnnxCropToMatchSizeOp)."""
    return g.op("Slice", [x, g.const_int([0, 0], "starts"), g.shape_slice(like, 2, 4), g.const_int([2, 3], "axes")])


def _upsampling_block(g: Net, x: str, f: str, s: str, r: str, cin: int, skip: int, cout: int) -> tuple[str, str]:
    x = _crop_like(g, _up(g, x, 2.0), s)
    x = g.cbr(g.op("Concat", [x, f, s], axis=1), cin + skip + 3, cout, 3)
    a, b = g.split(x, [cout // 2, cout // 2], 1)
    h = _conv_gru(g, b, r, cout // 2)
    return g.op("Concat", [a, h], axis=1), h


def rvm_mobilenetv3(seed: int = 91) -> onnx.ModelProto:
    """RVM MobileNetV3-Large (official export, opset 12): runtime downsample_ratio, recurrent decoder, deep guided filter.

    Inputs `src` [B, 3, H, W] RGB in [0, 1], `r1i`..`r4i` (zeros [1, 1, 1, 1]
    on the first frame), `downsample_ratio` [1]; outputs `fgr`, `pha`,
    `r1o`..`r4o`. The encoder keeps one unit of each MobileNetV3 kind
    (ReLU / Hardswish, with and without SE, stride 2, dilated) with the real
    channel counts; decoder, LR-ASPP, projection and refiner are the real ones.
    """
    g = Net(seed, opset=12)
    scales = g.op("Concat", [g.const(np.array([1.0, 1.0])), "downsample_ratio", "downsample_ratio"], axis=0)
    src_sm = g.op(
        "Resize",
        ["src", g.const(np.zeros(0), "roi"), scales],
        mode="linear",
        coordinate_transformation_mode="pytorch_half_pixel",
        nearest_mode="floor",
        cubic_coeff_a=-0.75,
    )
    # Encoder (ImageNet normalization in the graph).
    mean = g.const(np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
    std = g.const(np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
    x = g.op("Div", [g.op("Sub", [src_sm, mean]), std])
    x = g.hardswish(g.bn(g.conv2d(x, 3, 16, 3, 2), 16))
    x = f1 = inverted_residual_v3(g, x, 16, 3, 16, 16, False, False, 1)  # /2
    x = inverted_residual_v3(g, x, 16, 3, 64, 24, False, False, 2)
    x = f2 = inverted_residual_v3(g, x, 24, 3, 72, 24, False, False, 1)  # /4
    x = inverted_residual_v3(g, x, 24, 5, 72, 40, True, False, 2)
    x = f3 = inverted_residual_v3(g, x, 40, 5, 120, 40, True, False, 1)  # /8
    x = inverted_residual_v3(g, x, 40, 3, 240, 80, False, True, 2)  # /16
    x = inverted_residual_v3(g, x, 80, 3, 480, 112, True, True, 1)
    x = inverted_residual_v3(g, x, 112, 5, 672, 160, True, True, 2, dilation=2)  # stays /16
    x = inverted_residual_v3(g, x, 160, 5, 960, 160, True, True, 1, dilation=2)
    f4 = g.hardswish(g.bn(g.conv2d(x, 160, 960, 1, pads=[0, 0, 0, 0]), 960))
    # LR-ASPP.
    aspp = g.op("Relu", [g.bn(g.conv2d(f4, 960, 128, 1, pads=[0, 0, 0, 0]), 128)])
    gate = g.op("Sigmoid", [g.conv2d(g.op("GlobalAveragePool", [f4]), 960, 128, 1, pads=[0, 0, 0, 0])])
    f4 = g.op("Mul", [aspp, gate])
    # Recurrent decoder.
    pool = {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 0}
    s1 = g.op("AveragePool", [src_sm], **pool)
    s2 = g.op("AveragePool", [s1], **pool)
    s3 = g.op("AveragePool", [s2], **pool)
    a, b = g.split(f4, [64, 64], 1)
    r4 = _conv_gru(g, b, "r4i", 64)
    x = g.op("Concat", [a, r4], axis=1)
    x, r3 = _upsampling_block(g, x, f3, s3, "r3i", 128, 40, 80)
    x, r2 = _upsampling_block(g, x, f2, s2, "r2i", 80, 24, 40)
    x, r1 = _upsampling_block(g, x, f1, s1, "r1i", 40, 16, 32)
    x = _crop_like(g, _up(g, x, 2.0), src_sm)
    hid = g.cbr(g.cbr(g.op("Concat", [x, src_sm], axis=1), 35, 16, 3), 16, 16, 3)
    fgr_res, pha = g.split(g.conv2d(hid, 16, 4, 1, pads=[0, 0, 0, 0], bias=True), [3, 1], 1)
    # Deep guided filter refiner.
    fine_x = g.op("Concat", ["src", g.reduce_mean("src", [1])], axis=1)
    base_x = g.op("Concat", [src_sm, g.reduce_mean(src_sm, [1])], axis=1)
    base_y = g.op("Concat", [fgr_res, pha], axis=1)
    box = g.const(np.full((4, 1, 3, 3), 1.0 / 9.0))

    def box_filter(t: str) -> str:
        return g.op("Conv", [t, box], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4)

    mean_x, mean_y = box_filter(base_x), box_filter(base_y)
    cov_xy = g.op("Sub", [box_filter(g.op("Mul", [base_x, base_y])), g.op("Mul", [mean_x, mean_y])])
    var_x = g.op("Sub", [box_filter(g.op("Mul", [base_x, base_x])), g.op("Mul", [mean_x, mean_x])])
    coef = g.cbr(g.cbr(g.op("Concat", [cov_xy, var_x, hid], axis=1), 24, 16, 1), 16, 16, 1)
    coef = g.conv2d(coef, 16, 4, 1, pads=[0, 0, 0, 0], bias=True, gain=0.3)
    offset = g.op("Sub", [mean_y, g.op("Mul", [coef, mean_x])])
    coef, offset = g.resize_like(coef, "src"), g.resize_like(offset, "src")
    out = g.op("Add", [g.op("Mul", [coef, fine_x]), offset])
    fgr_res, pha = g.split(out, [3, 1], 1)
    zero, one = g.const(np.array(0.0)), g.const(np.array(1.0))
    fgr = g.op("Clip", [g.op("Add", [fgr_res, "src"]), zero, one])
    pha = g.op("Clip", [pha, zero, one])
    dims = ["batch_size", "channels", "height", "width"]
    return g.finish_model(
        "rvm_mobilenetv3_standin",
        [("src", ["batch_size", 3, "height", "width"])]
        + [(f"r{i}i", [f"{d}_{i}" for d in dims]) for i in range(1, 5)]
        + [("downsample_ratio", [1])],
        [
            (fgr, "fgr", ["batch_size", 3, "height", "width"]),
            (pha, "pha", ["batch_size", 1, "height", "width"]),
        ]
        + [
            (r, f"r{i}o", ["batch_size", c, f"h{i}", f"w{i}"])
            for i, (r, c) in enumerate(((r1, 16), (r2, 20), (r3, 40), (r4, 64)), 1)
        ],
    )


STANDINS = [
    StandIn(
        "modnet_photographic.onnx",
        modnet,
        "MODNet: `input` [N, 3, H, W] in [-1, 1] (dynamic) -> `output` [N, 1, H, W] matte; MobileNetV2 encoder "
        "(narrowed), SE block with Shape-computed views, IBNorm (BatchNorm + InstanceNorm halves), bilinear "
        "Resize by constant scales, sigmoid",
    ),
    StandIn(
        "rvm_mobilenetv3.onnx",
        rvm_mobilenetv3,
        "Robust Video Matting MobileNetV3 (official ONNX signature): `src`, `r1i`..`r4i`, `downsample_ratio` -> "
        "`fgr`, `pha`, `r1o`..`r4o`; Resize by a runtime scale, MobileNetV3 units (Hardswish, SE, dilation), "
        "LR-ASPP, ConvGRU decoder with Expand-broadcast states, ceil-mode AveragePool, deep guided filter",
    ),
]
