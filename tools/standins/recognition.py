"""Face recognizers: ArcFace (MobileFaceNet, IResNet), SphereFace."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphBuilder, cbp, flatten_embed, iresnet_unit, mobilefacenet_trunk
from .registry import StandIn


def arcface_mbf(seed: int = 1) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = mobilefacenet_trunk(g, "input.1")
    x = g.bn(g.conv(x, 512, 512, 7, 1, groups=512, pad=0), 512)  # linear GDC: 7x7 depthwise -> 1x1
    y = flatten_embed(g, x, 512)
    return g.model("w600k_mbf_standin", "input.1", ["None", 3, 112, 112], y, "embedding", ["None", 512])


def arcface_r50(seed: int = 2, units: tuple[int, ...] = (1, 2, 2, 1)) -> onnx.ModelProto:
    """IResNet; `units=(3, 4, 14, 3)` gives the real IResNet-50 depth (about 170 MB of weights)."""
    g = GraphBuilder(seed)
    x = cbp(g, "input.1", 3, 64, 3, 1)
    cin = 64
    for width, n in zip((64, 128, 256, 512), units):
        for i in range(n):
            x = iresnet_unit(g, x, cin, width, 2 if i == 0 else 1)
            cin = width
    x = g.bn(x, 512)
    y = flatten_embed(g, x, 512 * 7 * 7)
    return g.model("w600k_r50_standin", "input.1", ["None", 3, 112, 112], y, "embedding", ["None", 512])


def sphere20(seed: int = 3, units: tuple[int, ...] = (1, 2, 4, 1)) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, cin = "input", 3
    for width, n in zip((64, 128, 256, 512), units):
        x = cbp(g, x, cin, width, 3, 2)
        cin = width
        for _ in range(n):
            y = g.prelu(g.conv(x, width, width, 3, 1, bias=True), width)
            y = g.conv(y, width, width, 3, 1, bias=True)
            x = g.op("Add", [x, g.prelu(g.op("Mul", [y, g.const(np.array(0.3))]), width)])
    y = flatten_embed(g, x, 512 * 7 * 7, bn1d=False)
    return g.model("sphere20_standin", "input", ["None", 3, 112, 112], y, "output", ["None", 512])


STANDINS = [
    StandIn(
        "w600k_mbf.onnx",
        arcface_mbf,
        "ArcFace MobileFaceNet: Conv/BN/PRelu, depthwise bottlenecks, linear GDC 7x7, Flatten, Gemm, "
        "BatchNorm1d -> [N, 512]",
        checked_in=True,
    ),
    StandIn(
        "w600k_r50.onnx",
        arcface_r50,
        "ArcFace IResNet: BN-Conv-BN-PRelu-Conv-BN residual units, BN, Flatten, Gemm(25088 -> 512), "
        "BatchNorm1d -> [N, 512]. Real IResNet-50 has (3, 4, 14, 3) units per stage; the stand-in keeps every "
        "unit type and the full widths and head but uses (1, 2, 2, 1) units so it builds in seconds",
        checked_in=True,
    ),
    StandIn(
        "sphere20.onnx",
        sphere20,
        "SphereFace-20: stride-2 Conv/BN/PRelu per stage plus Conv-PRelu residual units (1, 2, 4, 1), Flatten, "
        "Gemm -> [N, 512]",
        checked_in=True,
    ),
]
