"""Dense landmarks of uniface 4.x: PIPNet (98 WFLW / 68 300W points) and MediaPipe FaceMesh (468 / 478)."""

from __future__ import annotations

import onnx

from ._layers import Net, resnet_stages, resnet_stem
from .registry import StandIn

# PIPNet's neighbour count at training time (upstream decodes with 10).
PIPNET_NEIGHBOURS = 10


def pipnet(num_lms: int, seed: int) -> onnx.ModelProto:
    """Pip_resnet18 at net stride 32: ResNet-18 trunk, five 1x1 heads (cls, x, y, nb_x, nb_y) on the 8x8 map."""
    g = Net(seed, opset=11)
    x = resnet_stem(g, "input", 16)
    feats, c = resnet_stages(g, x, (16, 32, 64, 128), (2, 1, 1, 1), stem=16)
    heads = [num_lms, num_lms, num_lms, PIPNET_NEIGHBOURS * num_lms, PIPNET_NEIGHBOURS * num_lms]
    outs = [g.conv2d(feats[-1], c, n, 1, pads=[0, 0, 0, 0], bias=True, gain=0.3) for n in heads]
    names = ("cls", "x", "y", "nb_x", "nb_y")
    return g.finish_model(
        f"pipnet_r18_{num_lms}_standin",
        [("input", [1, 3, 256, 256])],
        [(t, n, [1, k, 8, 8]) for t, n, k in zip(outs, names, heads)],
    )


def _mesh_block(g: Net, x: str, cin: int, cout: int, stride: int = 1) -> str:
    """MediaPipe face-landmark residual unit: (pad) depthwise 3x3 + 1x1 conv, plus max-pool / channel-pad shortcut, PRelu."""
    if stride == 2:
        h = g.op("Pad", [x, g.const_int([0, 0, 0, 0, 0, 0, 2, 2], "pads")], mode="constant")
        y = g.conv2d(h, cin, cin, 3, 2, pads=[0, 0, 0, 0], groups=cin, bias=True)
        x = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    else:
        y = g.conv2d(x, cin, cin, 3, 1, groups=cin, bias=True)
    y = g.conv2d(y, cin, cout, 1, pads=[0, 0, 0, 0], bias=True, gain=0.5)
    if cout > cin:
        x = g.op("Pad", [x, g.const_int([0, 0, 0, 0, 0, cout - cin, 0, 0], "pads")], mode="constant")
    return g.prelu(g.op("Add", [y, x]), cout)


def face_mesh(points: int, size: int, seed: int) -> onnx.ModelProto:
    """MediaPipe face landmark network: stride-2 stem, residual units with channel padding, two stride-3 heads.

    `points` 468 (Face Mesh v1, 192x192) or 478 (Face Landmarker v2, 256x256;
    its TFLite graph is not published as source, so the stand-in keeps v1's
    unit types at v2's size and point count). Outputs: landmarks
    [N, points, 3] in crop pixels and the face-presence logit [N, 1].
    """
    g = Net(seed, opset=11)
    x = g.prelu(g.conv2d("input", 3, 16, 3, 2, pads=[0, 0, 1, 1], bias=True), 16)
    cin = 16
    for cout, stride in ((16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 2), (128, 1)):
        x = _mesh_block(g, x, cin, cout, stride)
        cin = cout
    assert size // 64 >= 3, f"the heads' 3x3/3 conv needs at least a 3x3 map, not {size // 64}"

    def head(out_channels: int, extra: int) -> str:
        y = _mesh_block(g, x, 128, 128, 2)
        for _ in range(extra):
            y = _mesh_block(g, y, 128, 128)
        y = g.prelu(g.conv2d(y, 128, 32, 1, pads=[0, 0, 0, 0], bias=True), 32)
        y = _mesh_block(g, y, 32, 32)
        return g.conv2d(y, 32, out_channels, 3, 3, pads=[0, 0, 0, 0], bias=True, gain=0.3)

    coords = head(3 * points, 2)
    score = head(1, 0)
    coords = g.op("Reshape", [coords, g.const_int([-1, points, 3])])
    score = g.op("Reshape", [score, g.const_int([-1, 1])])
    return g.finish_model(
        f"face_mesh_{points}_standin",
        [("input", ["N", 3, size, size])],
        [(coords, "landmarks", ["N", points, 3]), (score, "score", ["N", 1])],
    )


STANDINS = [
    StandIn(
        "pipnet_r18_wflw_98.onnx",
        lambda: pipnet(98, 40),
        "PIPNet ResNet-18 (WFLW, 98 points): `input` [1, 3, 256, 256] -> cls/x/y [1, 98, 8, 8], nb_x/nb_y "
        "[1, 980, 8, 8]. Every unit type of the real trunk (7x7 stem, max pool, identity and downsample "
        "BasicBlocks); widths (16, 32, 64, 128) and (2, 1, 1, 1) units instead of (64..512) x (2, 2, 2, 2)",
    ),
    StandIn(
        "pipnet_r18_300w_celeba_68.onnx",
        lambda: pipnet(68, 41),
        "PIPNet ResNet-18 (300W+CelebA, 68 points): same trunk, heads [1, 68 | 680, 8, 8]",
    ),
    StandIn(
        "face_mesh.onnx",
        lambda: face_mesh(468, 192, 42),
        "MediaPipe Face Mesh v1: `input` [N, 3, 192, 192] RGB in [0, 1] -> `landmarks` [N, 468, 3] (crop "
        "pixels), `score` [N, 1] (logit); asymmetric-pad stem, depthwise + 1x1 residual units with max-pool and "
        "channel-Pad shortcuts, PRelu, 3x3/3 heads",
    ),
    StandIn(
        "face_landmarker.onnx",
        lambda: face_mesh(478, 256, 43),
        "MediaPipe Face Landmarker v2 slot: `input` [N, 3, 256, 256] -> `landmarks` [N, 478, 3], `score` [N, 1] "
        "(v1's unit types at v2's size and point count)",
    ),
]
