"""Per-face attribute models new in uniface 4.x: FairFace and Qualcomm's FaceAttribNet."""

from __future__ import annotations

import numpy as np
import onnx

from ._layers import Net, global_pool_flatten, resnet_stages, resnet_stem
from .registry import StandIn

FAIRFACE_HEADS = (("race", 7), ("gender", 2), ("age", 9))


def fairface(seed: int = 50) -> onnx.ModelProto:
    """FairFace ResNet-34 (18 logits) split into race (7), gender (2) and age-group (9) outputs."""
    g = Net(seed, opset=11)
    x = resnet_stem(g, "input", 16)
    feats, c = resnet_stages(g, x, (16, 32, 64, 128), (2, 1, 1, 1), stem=16)
    logits = g.gemm(global_pool_flatten(g, feats[-1]), c, 18)
    outs, start = [], 0
    for name, n in FAIRFACE_HEADS:
        outs.append((g.slice(logits, [start], [start + n], [1]), name, [1, n]))
        start += n
    return g.finish_model("fairface_standin", [("input", [1, 3, 224, 224])], outs)


def _gconv(g: Net, x: str, cin: int, cout: int, stride: int, group_size: int) -> str:
    """Conv2dBlock(3x3, groups=cin/group_size, no norm, no activation)."""
    return g.conv2d(x, cin, cout, 3, stride, groups=cin // group_size)


def _conv_bn(g: Net, x: str, cin: int, cout: int, act: bool, gain: float | None = None) -> str:
    """Conv2dBlock(1x1, BN, PReLU with one slope or none)."""
    gain = (1.0 if act else 0.5) if gain is None else gain
    y = g.bn(g.conv2d(x, cin, cout, 1, pads=[0, 0, 0, 0]), cout, gain=gain)
    return g.prelu_scalar(y) if act else y


def face_attrib_net(
    seed: int = 51, chan: int = 16, blocks: tuple[int, ...] = (2, 2, 2), group_size: int = 8
) -> onnx.ModelProto:
    """Qualcomm FaceAttribNet: in-graph (x - 0.5) / 0.50196, grouped-conv trunk, five two-branch heads.

    Each head: grouped conv + 1x1 on the 1/8 map, concat with the 1/16 map,
    grouped conv + 1x1, 4x4 average pool, Linear(2). The five [N, 2] logits
    are stacked, softmaxed over the last axis, and index 1 is the output
    `probability` [N, 5] (left eye open, right eye open, eyeglasses, mask,
    sunglasses). The real network is chan=64, blocks (2, 6, 3), groups of
    32 channels; the stand-in uses chan=16, blocks (2, 2, 2), groups of 8 (MLX runs grouped convs as a
    scalar loop: the real widths would take seconds per face in the tests).
    """
    g = Net(seed, opset=17)
    x = g.op("Div", [g.op("Sub", ["image", g.const(np.array(0.5))]), g.const(np.array(0.50196078))])
    # HeadBlock: conv-BN-PReLU, then two stride-2 branches added.
    x = g.prelu_scalar(g.bn(g.conv2d(x, 3, chan, 3), chan))
    b1 = _conv_bn(g, _gconv(g, x, chan, chan, 2, group_size), chan, chan, True)
    b1 = _conv_bn(g, _gconv(g, b1, chan, chan, 1, group_size), chan, chan, False)
    b2 = _conv_bn(g, _gconv(g, x, chan, chan, 2, group_size), chan, chan, False)
    x = g.prelu_scalar(g.op("Add", [b1, b2]))
    feats, c = [], chan
    for n in blocks:
        # DownsampleBlock(c): two stride-2 branches to 2c channels.
        a = _conv_bn(g, g.conv2d(x, c, 2 * c, 3, 2, groups=c // group_size), 2 * c, 2 * c, True)
        b = _conv_bn(g, g.conv2d(x, c, 4 * c, 3, 2, groups=c // group_size), 4 * c, 2 * c, True)
        b = _conv_bn(g, g.conv2d(b, 2 * c, 4 * c, 3, 1, groups=c // group_size), 4 * c, 2 * c, False)
        x = g.prelu_scalar(g.op("Add", [a, b]))
        c *= 2
        for _ in range(n - 1):  # NormalBlock(c): grouped 3x3 to 2c, 1x1 back, twice, plus the input
            y = _conv_bn(g, g.conv2d(x, c, 2 * c, 3, 1, groups=c // group_size), 2 * c, c, True)
            y = _conv_bn(g, g.conv2d(y, c, 2 * c, 3, 1, groups=c // group_size), 2 * c, c, False)
            x = g.prelu_scalar(g.op("Add", [y, x]))
        feats.append(x)
    fea3, fea4 = feats[1], feats[2]
    logits = []
    for _ in range(5):
        a = _conv_bn(g, _gconv(g, fea3, 4 * chan, 2 * chan, 2, group_size), 2 * chan, 2 * chan, True)
        a = g.op("Concat", [a, fea4], axis=1)
        # (a small BN gain keeps the random logits near +-2, so the probabilities are not saturated)
        a = _conv_bn(g, _gconv(g, a, 10 * chan, 5 * chan, 2, group_size), 5 * chan, 2 * chan, True, gain=0.1)
        a = g.op("Flatten", [g.op("AveragePool", [a], kernel_shape=[4, 4], strides=[1, 1])], axis=1)
        logits.append(g.unsqueeze(g.gemm(a, 2 * chan, 2), [1]))
    stacked = g.op("Concat", logits, axis=1)  # [N, 5, 2]
    prob = g.op("Gather", [g.op("Softmax", [stacked], axis=2), g.const_int(np.array(1), "index")], axis=2)
    return g.finish_model("face_attrib_net_standin", [("image", [1, 3, 128, 128])], [(prob, "probability", [1, 5])])


STANDINS = [
    StandIn(
        "fairface.onnx",
        fairface,
        "FairFace ResNet-34 slot: `input` [1, 3, 224, 224] -> `race` [1, 7], `gender` [1, 2], `age` [1, 9] "
        "(Gemm to 18 logits, then Slice). Every unit type of torchvision's ResNet; widths (16, 32, 64, 128) and "
        "(2, 1, 1, 1) units instead of (64..512) x (3, 4, 6, 3)",
    ),
    StandIn(
        "face_attrib_net.onnx",
        face_attrib_net,
        "Qualcomm FaceAttribNet: `image` [1, 3, 128, 128] in [0, 1], normalization in the graph, grouped-conv "
        "Head/Downsample/Normal blocks with one-slope PRelu, five two-branch heads, stacked Softmax, Gather -> "
        "`probability` [1, 5]; chan 16, groups of 8 channels and blocks (2, 2, 2) instead of 64, 32 and (2, 6, 3)",
    ),
]
