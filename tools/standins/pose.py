"""Where a face looks and points: MobileGaze (binned yaw/pitch) and HeadPose (6D rotation -> matrix)."""

from __future__ import annotations

import numpy as np
import onnx

from ._layers import Net, global_pool_flatten, resnet_stages, resnet_stem
from .registry import StandIn

GAZE_BINS = 90  # Gaze360 configuration: 90 bins of 4 degrees


def gaze_resnet(seed: int = 60) -> onnx.ModelProto:
    """yakhyo/gaze-estimation ResNet (opset 20): trunk, global pool, two Linear heads `yaw`, `pitch` [1, 90]."""
    g = Net(seed, opset=20)
    x = resnet_stem(g, "input", 16)
    feats, c = resnet_stages(g, x, (16, 32, 64, 128), (2, 1, 1, 1), stem=16)
    pooled = global_pool_flatten(g, feats[-1])
    yaw, pitch = g.gemm(pooled, c, GAZE_BINS), g.gemm(pooled, c, GAZE_BINS)
    return g.finish_model(
        "gaze_resnet_standin",
        [("input", [1, 3, 448, 448])],
        [(yaw, "yaw", [1, GAZE_BINS]), (pitch, "pitch", [1, GAZE_BINS])],
    )


def _normalize(g: Net, v: str) -> str:
    """v / clamp(||v||_2, min=1e-8) along axis 1, as torch.norm + torch.clamp export at opset 20."""
    norm = g.reduce_l2(v, [1], keepdims=1)
    return g.op("Div", [v, g.op("Clip", [norm, g.const(np.array(1e-8, dtype=np.float32))])])


def _component(g: Net, v: str, i: int) -> str:
    """v[:, i] (Gather on axis 1)."""
    return g.op("Gather", [v, g.const_int(np.array(i), "index")], axis=1)


def _cross(g: Net, u: str, v: str) -> str:
    """Batched 3-vector cross product spelled with Gather, Mul, Sub, Unsqueeze, Concat."""
    parts = []
    for a, b in ((1, 2), (2, 0), (0, 1)):
        term = g.op(
            "Sub",
            [
                g.op("Mul", [_component(g, u, a), _component(g, v, b)]),
                g.op("Mul", [_component(g, u, b), _component(g, v, a)]),
            ],
        )
        parts.append(g.unsqueeze(term, [1]))
    return g.op("Concat", parts, axis=1)


def headpose_resnet(seed: int = 61) -> onnx.ModelProto:
    """yakhyo/head-pose-estimation ResNet: trunk, Linear(6), 6D -> rotation matrix in the graph (Gram-Schmidt)."""
    g = Net(seed, opset=20)
    x = resnet_stem(g, "input", 16)
    feats, c = resnet_stages(g, x, (16, 32, 64, 128), (2, 1, 1, 1), stem=16)
    poses = g.gemm(global_pool_flatten(g, feats[-1]), c, 6)
    x_raw = g.slice(poses, [0], [3], [1])
    y_raw = g.slice(poses, [3], [6], [1])
    xv = _normalize(g, x_raw)
    zv = _normalize(g, _cross(g, xv, y_raw))
    yv = _cross(g, zv, xv)
    cols = [g.op("Reshape", [v, g.const_int([-1, 3, 1])]) for v in (xv, yv, zv)]
    matrix = g.op("Concat", cols, axis=2)
    return g.finish_model(
        "headpose_resnet_standin", [("input", [1, 3, 224, 224])], [(matrix, "rotation_matrix", [1, 3, 3])]
    )


STANDINS = [
    StandIn(
        "gaze_resnet34.onnx",
        gaze_resnet,
        "MobileGaze ResNet slot (GazeWeights.RESNET34): `input` [1, 3, 448, 448] -> `yaw`, `pitch` [1, 90] bin "
        "logits; torchvision BasicBlock trunk with widths (16, 32, 64, 128) and (2, 1, 1, 1) units instead of "
        "(64..512) x (3, 4, 6, 3); opset 20 as the repository exports",
    ),
    StandIn(
        "headpose_resnet18.onnx",
        headpose_resnet,
        "HeadPose ResNet-18 slot: `input` [1, 3, 224, 224] -> `rotation_matrix` [1, 3, 3]; Linear(6) then the "
        "6D-to-matrix Gram-Schmidt in the graph (ReduceL2, Clip, Div, Gather/Mul/Sub cross products, Reshape, "
        "Concat); reduced widths as the gaze stand-in",
    ),
]
