"""Face image quality: eDifFIQA (face-recognition backbone + MLP head regressing one score)."""

from __future__ import annotations

import numpy as np
import onnx

from ._layers import Net
from .graph import mobilefacenet_trunk
from .registry import StandIn


def ediffiqa_t(seed: int = 70) -> onnx.ModelProto:
    """eDifFIQA-T (opset 20): MobileFaceNet, 7x7 depthwise, Linear (no bias), BatchNorm1d, L2 normalize, MLP with GELU."""
    g = Net(seed, opset=20)
    x = mobilefacenet_trunk(g, "input", width=32, blocks=(2, 2, 1))
    x = g.bn(g.conv(x, 512, 512, 7, 1, groups=512, pad=0), 512)
    x = g.bn(g.linear(g.op("Flatten", [x], axis=1), 512, 512, bias=False), 512)
    # F.normalize(x, p=2, dim=1): x / max(||x||, eps), with the norm broadcast by Expand as torch exports it.
    norm = g.op("Clip", [g.reduce_l2(x, [1], keepdims=1), g.const(np.array(1e-12, dtype=np.float32))])
    x = g.op("Div", [x, g.op("Expand", [norm, g.op("Shape", [x])])])
    x = g.op("Gelu", [g.gemm(x, 512, 1024)])
    quality = g.gemm(x, 1024, 1)
    return g.finish_model("ediffiqa_t_standin", [("input", [1, 3, 112, 112])], [(quality, "quality", [1, 1])])


STANDINS = [
    StandIn(
        "ediffiqa_t.onnx",
        ediffiqa_t,
        "eDifFIQA-T: `input` [1, 3, 112, 112] -> `quality` [1, 1]; MobileFaceNet trunk (Conv/BN/PRelu, depthwise "
        "bottlenecks; width 32 and (2, 2, 1) residual units instead of 64 and (4, 6, 2)), 7x7 depthwise, MatMul, "
        "BatchNorm1d, ReduceL2/Clip/Expand/Div normalization, Gemm, Gelu (opset 20), Gemm",
    ),
]
