"""Dense landmark models of uniface 1.x: insightface 2d106det."""

from __future__ import annotations

import onnx

from .graph import GraphBuilder, normalize_in_graph, prelu, small_cnn
from .registry import StandIn


def landmark106(seed: int = 5) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, c = small_cnn(g, normalize_in_graph(g, "data"), (16, 32, 64, 128, 128), prelu)
    y = g.op("Tanh", [g.gemm(g.op("Flatten", [x], axis=1), c, 212)])  # keeps points inside the crop
    return g.model("2d106det_standin", "data", [1, 3, 192, 192], y, "fc1", [1, 212])


STANDINS = [
    StandIn(
        "2d106det.onnx",
        landmark106,
        "insightface 2d106det: `data` [1, 3, 192, 192], in-graph Sub/Mul, Conv/BN/PRelu + depthwise, GAP, Gemm "
        "-> `fc1` [1, 212]",
        checked_in=True,
    ),
]
