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


# -- AdaFace IR-18 (mk-minchul/AdaFace, exported by yakhyo/adaface-onnx) ---------------------------


def _ir_unit(g: GraphBuilder, x: str, cin: int, cout: int, stride: int) -> str:
    """BasicBlockIR: BN, 3x3 conv (BN folded), PRelu, 3x3 conv (stride, BN folded); MaxPool(1, s) or 1x1 conv shortcut."""
    y = g.bn(x, cin)
    y = g.prelu(g.conv_bias(y, cin, cout, 3, 1), cout)
    y = g.conv_bias(y, cout, cout, 3, stride, gain=0.3)
    if cin == cout:
        short = g.op("MaxPool", [x], kernel_shape=[1, 1], strides=[stride, stride]) if stride > 1 else x
    else:
        short = g.conv_bias(x, cin, cout, 1, stride, pad=0)
    return g.op("Add", [y, short])


def adaface_ir18(seed: int = 31, units: tuple[int, ...] = (2, 2, 2, 2)) -> onnx.ModelProto:
    """IR-18: input Conv/BN/PRelu, 4 stages of BasicBlockIR, BN, Flatten, Gemm, BatchNorm1d, L2 normalization."""
    g = GraphBuilder(seed)
    x = g.prelu(g.conv_bias("input", 3, 64, 3, 1), 64)
    cin = 64
    for width, n in zip((64, 128, 256, 512), units):
        for i in range(n):
            x = _ir_unit(g, x, cin, width, 2 if i == 0 else 1)
            cin = width
    y = flatten_embed(g, g.bn(x, 512), 512 * 7 * 7)
    norm = g.op("ReduceL2", [y], axes=[1], keepdims=1)  # AdaFace returns output / ||output||
    y = g.op("Div", [y, norm])
    return g.model("adaface_ir_18_standin", "input", ["batch", 3, 112, 112], y, "output", ["batch", 512])


# -- EdgeFace XXS (timm EdgeNeXt-XX-Small, head reset to 512; otroshi/edgeface) --------------------------


def _layer_norm(g: GraphBuilder, x: str, c: int) -> str:
    """LayerNorm over the last axis (channels-last)."""
    scale, bias = g.rng.uniform(0.8, 1.2, c), g.rng.normal(0, 0.05, c)
    return g.op("LayerNormalization", [x, g.const(scale), g.const(bias)], axis=-1, epsilon=1e-6)


def _layer_norm_2d(g: GraphBuilder, x: str, c: int) -> str:
    """timm's LayerNorm2d: NCHW -> NHWC, LayerNorm, back."""
    y = _layer_norm(g, g.op("Transpose", [x], perm=[0, 2, 3, 1]), c)
    return g.op("Transpose", [y], perm=[0, 3, 1, 2])


def _linear(g: GraphBuilder, x: str, cin: int, cout: int, gain: float = 1.0) -> str:
    """nn.Linear on a channels-last tensor: MatMul + Add."""
    w = g.rng.normal(0.0, np.sqrt(1.0 / cin), (cin, cout)) * gain
    return g.op("Add", [g.op("MatMul", [x, g.const(w)]), g.const(g.rng.normal(0, 0.01, cout))])


def _gelu(g: GraphBuilder, x: str) -> str:
    """nn.GELU as torch exports it before opset 20: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    erf = g.op("Erf", [g.op("Div", [x, g.const(np.array(1.4142135381698608))])])
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [erf, g.const(np.array(1.0))])]), g.const(np.array(0.5))])


def _mlp_scaled(g: GraphBuilder, x: str, c: int) -> str:
    """LayerNorm, Linear(4c), GELU, Linear(c), layer scale (channels-last)."""
    h = _linear(g, _gelu(g, _linear(g, _layer_norm(g, x, c), c, 4 * c)), 4 * c, c)
    return g.op("Mul", [h, g.const(g.rng.uniform(0.1, 0.3, c))])


def _conv_block(g: GraphBuilder, x: str, c: int, k: int) -> str:
    """EdgeNeXt ConvBlock: depthwise kxk, then (channels-last) LayerNorm + MLP + layer scale, residual."""
    y = g.op("Transpose", [g.conv_bias(x, c, c, k, groups=c)], perm=[0, 2, 3, 1])
    return g.op("Add", [x, g.op("Transpose", [_mlp_scaled(g, y, c)], perm=[0, 3, 1, 2])])


def _l2_normalize(g: GraphBuilder, x: str) -> str:
    """F.normalize(x, dim=-1) as exported: x / max(||x||, eps)."""
    norm = g.op("Clip", [g.op("ReduceL2", [x], axes=[-1], keepdims=1), g.const(np.array(1e-12))])
    return g.op("Div", [x, norm])


def _split_transpose_block(
    g: GraphBuilder, x: str, c: int, hw: tuple[int, int], scales: int, heads: int, pos_embed: bool
) -> str:
    """EdgeNeXt SDTA block: multi-scale depthwise 3x3 over channel splits, cross-covariance attention, MLP."""
    n_convs = max(1, scales - 1)
    width = -(-c // (n_convs + 1))  # torch.chunk: ceil-sized parts, the last takes the rest
    sizes = [width] * n_convs + [c - width * n_convs]
    parts = g.op_multi("Split", [x, g.const_int(sizes)], len(sizes), axis=1)  # opset 13+: sizes as an input
    outs, sp = [], parts[0]
    for i in range(n_convs):
        if i > 0:
            sp = g.op("Add", [sp, parts[i]])
        sp = g.conv_bias(sp, width, width, 3, groups=width)
        outs.append(sp)
    y = g.op("Concat", [*outs, parts[-1]], axis=1)
    h, w = hw
    tokens = g.op("Transpose", [g.op("Reshape", [y, g.const_int([-1, c, h * w])])], perm=[0, 2, 1])  # [B, N, C]
    if pos_embed:  # Fourier positional encoding + 1x1 projection: constant-folded by the exporter
        tokens = g.op("Add", [tokens, g.const(g.rng.normal(0, 0.3, (1, h * w, c)))])
    # cross-covariance attention: attention over channels, tokens L2-normalized
    head_dim = c // heads
    qkv = _linear(g, _layer_norm(g, tokens, c), c, 3 * c)
    qkv = g.op(
        "Transpose", [g.op("Reshape", [qkv, g.const_int([-1, h * w, 3, heads, head_dim])])], perm=[2, 0, 3, 4, 1]
    )
    qkv_parts = g.op_multi("Split", [qkv, g.const_int([1, 1, 1])], 3, axis=0)
    q, k, v = (g.op("Squeeze", [t, g.const_int([0])]) for t in qkv_parts)
    attn = g.op("MatMul", [_l2_normalize(g, q), g.op("Transpose", [_l2_normalize(g, k)], perm=[0, 1, 3, 2])])
    attn = g.op("Softmax", [g.op("Mul", [attn, g.const(g.rng.uniform(0.5, 2.0, (heads, 1, 1)))])], axis=-1)
    out = g.op("Transpose", [g.op("MatMul", [attn, v])], perm=[0, 3, 1, 2])  # [B, N, heads, head_dim]
    out = _linear(g, g.op("Reshape", [out, g.const_int([-1, h * w, c])]), c, c)
    tokens = g.op("Add", [tokens, g.op("Mul", [out, g.const(g.rng.uniform(0.1, 0.3, c))])])
    z = g.op("Reshape", [tokens, g.const_int([-1, h, w, c])])
    return g.op("Add", [x, g.op("Transpose", [_mlp_scaled(g, z, c)], perm=[0, 3, 1, 2])])


def edgeface_xxs(seed: int = 32) -> onnx.ModelProto:
    """EdgeNeXt-XX-Small: 4x4 patchify stem, stages of ConvBlocks ending in one SDTA block, LN head, Linear to 512."""
    g = GraphBuilder(seed)
    dims, depths, kernels, scales = (24, 48, 88, 168), (2, 2, 6, 2), (3, 5, 7, 9), (2, 2, 3, 4)
    x = _layer_norm_2d(g, g.conv_bias("input", 3, dims[0], 4, 4, pad=0), dims[0])
    size = 28
    for stage, (c, depth, k, sc) in enumerate(zip(dims, depths, kernels, scales)):
        if stage > 0:
            x = g.conv_bias(_layer_norm_2d(g, x, dims[stage - 1]), dims[stage - 1], c, 2, 2, pad=0)
            size //= 2
        for i in range(depth):
            if stage > 0 and i == depth - 1:
                x = _split_transpose_block(g, x, c, (size, size), sc, 4, pos_embed=stage == 1)
            else:
                x = _conv_block(g, x, c, k)
    pooled = g.op("ReduceMean", [x], axes=[2, 3], keepdims=1)
    y = g.gemm(g.op("Flatten", [_layer_norm_2d(g, pooled, dims[-1])], axis=1), dims[-1], 512)
    return g.model("edgeface_xxs_standin", "input", ["batch", 3, 112, 112], y, "output", ["batch", 512], opset=17)


STANDINS += [
    StandIn(
        "adaface_ir_18.onnx",
        adaface_ir18,
        "AdaFace IR-18: input Conv/PRelu, BasicBlockIR units (BN, Conv, PRelu, Conv; MaxPool(1, s) or 1x1 conv "
        "shortcuts), BN, Flatten, Gemm(25088 -> 512), BatchNorm1d, ReduceL2/Div -> [N, 512] unit vectors",
    ),
    StandIn(
        "edgeface_xxs.onnx",
        edgeface_xxs,
        "EdgeFace XXS (EdgeNeXt-XX-Small): 4x4 stem + LayerNorm2d, ConvBlocks (depthwise kxk, LayerNormalization, "
        "MatMul MLP with Erf GELU, layer scale), SDTA blocks (channel splits, cross-covariance attention with "
        "ReduceL2-normalized q/k and Softmax), LN head, Gemm -> [N, 512]; opset 17",
    ),
]
