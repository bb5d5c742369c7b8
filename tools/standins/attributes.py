"""Per-face attribute models of uniface 1.x: genderage (age/gender) and the emotion slots."""

from __future__ import annotations

import onnx

from .graph import GraphBuilder, mobilefacenet_trunk, normalize_in_graph, relu, small_cnn
from .registry import StandIn


def genderage(seed: int = 4) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, c = small_cnn(g, normalize_in_graph(g, "data"), (16, 32, 64, 128), relu)
    y = g.gemm(g.op("Flatten", [x], axis=1), c, 3)
    return g.model("genderage_standin", "data", [1, 3, 96, 96], y, "fc1", [1, 3])


def emotion(classes: int = 7, seed: int = 6) -> onnx.ModelProto:
    g = GraphBuilder(seed + classes)
    x = mobilefacenet_trunk(g, "input", width=32, blocks=(1, 2, 1))
    x = g.bn(g.conv(x, 512, 512, 7, 1, groups=512, pad=0), 512)
    y = g.gemm(g.op("Flatten", [x], axis=1), 512, classes)
    return g.model(f"affecnet{classes}_standin", "input", [1, 3, 112, 112], y, "output", [1, classes])


STANDINS = [
    StandIn(
        "genderage.onnx",
        genderage,
        "insightface genderage: `data` [1, 3, 96, 96], in-graph Sub/Mul normalization, Conv/BN/Relu + depthwise, "
        "GAP, Gemm -> `fc1` [1, 3]",
        checked_in=True,
    ),
    StandIn(
        "affecnet7.onnx",
        lambda: emotion(7),
        "emotion (DDAMFN-like MobileFaceNet trunk): [1, 3, 112, 112] -> [1, 7]",
        checked_in=True,
    ),
    StandIn("affecnet8.onnx", lambda: emotion(8), "same, 8 classes", checked_in=True),
]
