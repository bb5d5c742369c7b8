"""Building blocks for stand-in ONNX graphs: a seeded graph builder and the layers the families share.

Every weight is drawn from `GraphBuilder.rng` in build order, so a builder
that keeps its calls in the same order writes the same bytes on every run
(the translations in generated/ and the upstream fixtures pin those bytes).
Append new helpers; never reorder the draws of an existing one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11


class GraphBuilder:
    """Named nodes and random initializers, in build order."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def const(self, value: np.ndarray, kind: str = "w") -> str:
        n = self.name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), n))
        return n

    def const_int(self, value: Sequence[int] | np.ndarray, kind: str = "shape") -> str:
        """An int64 initializer (shapes, axes, slice bounds)."""
        n = self.name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.int64), n))
        return n

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def op_multi(self, op_type: str, inputs: list[str], n_out: int, **attrs) -> list[str]:
        """A node with several outputs (Split)."""
        base = self.name(op_type.lower())
        outs = [f"{base}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=base, **attrs))
        return outs

    def conv(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int = 3,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
        pad: int | None = None,
    ) -> str:
        fan_in = cin // groups * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        inputs = [x, self.const(w)]
        if bias:
            inputs.append(self.const(self.rng.normal(0.0, 0.01, cout)))
        pad = k // 2 if pad is None else pad
        return self.op(
            "Conv",
            inputs,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
            dilations=[1, 1],
        )

    def conv_bias(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int = 3,
        stride: int = 1,
        groups: int = 1,
        pad: int | None = None,
        bias: np.ndarray | float | None = None,
        gain: float = 1.0,
    ) -> str:
        """Conv with a bias (a BatchNorm folded in, as exporters do); `bias` is added to the random one.

        Heads use `bias` and `gain` to set the prior and the spread of their
        outputs (e.g. a low face score, so a random-weight detector finds a
        handful of faces, not thousands); residual branches use a small
        `gain`, as a trained network's last BatchNorm would, so activations
        stay bounded through deep stacks without normalization.
        """
        fan_in = cin // groups * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k)) * gain
        b = self.rng.normal(0.0, 0.05, cout)
        if bias is not None:
            b = b + np.broadcast_to(np.asarray(bias, dtype=np.float64), (cout,))
        pad = k // 2 if pad is None else pad
        return self.op(
            "Conv",
            [x, self.const(w), self.const(b)],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
            dilations=[1, 1],
        )

    def bn(self, x: str, c: int, gain: float = 1.0) -> str:
        r = self.rng
        params = [r.uniform(0.8, 1.2, c) * gain, r.normal(0, 0.05, c), r.normal(0, 0.05, c), r.uniform(0.8, 1.2, c)]
        return self.op("BatchNormalization", [x, *[self.const(p) for p in params]], epsilon=1e-5, momentum=0.9)

    def prelu(self, x: str, c: int, spatial: bool = True) -> str:
        slope = self.rng.uniform(0.1, 0.3, (c, 1, 1) if spatial else (c,))
        return self.op("PRelu", [x, self.const(slope)])

    def gemm(self, x: str, cin: int, cout: int) -> str:
        w = self.rng.normal(0.0, np.sqrt(1.0 / cin), (cout, cin))
        return self.op(
            "Gemm", [x, self.const(w), self.const(self.rng.normal(0, 0.01, cout))], alpha=1.0, beta=1.0, transB=1
        )

    def model(
        self, name: str, x_name: str, x_shape: list, y: str, y_name: str, y_shape: list, opset: int = OPSET
    ) -> onnx.ModelProto:
        """One input, one output (renamed through an Identity)."""
        self.nodes.append(helper.make_node("Identity", [y], [y_name], name=y_name + "_out"))
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, y_shape)],
            self.inits,
        )
        return finish(graph, opset)

    def multi_output_model(
        self,
        name: str,
        x_name: str,
        x_shape: list,
        outputs: Sequence[tuple[str, str, list]],
        opset: int = OPSET,
    ) -> onnx.ModelProto:
        """One input, several outputs `(tensor, output name, shape)` (each renamed through an Identity)."""
        for tensor, out_name, _ in outputs:
            self.nodes.append(helper.make_node("Identity", [tensor], [out_name], name=out_name + "_out"))
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for _, n, s in outputs],
            self.inits,
        )
        return finish(graph, opset)


def finish(graph: onnx.GraphProto, opset: int = OPSET) -> onnx.ModelProto:
    """Wrap a graph as a checked model with the stand-ins' producer name."""
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="mlx-uniface-standins"
    )
    model.ir_version = 7 if opset <= 13 else 8
    onnx.checker.check_model(model)
    return model


# -- layers shared by several families --------------------------------------------------


def cbp(g: GraphBuilder, x: str, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1) -> str:
    """Conv, BatchNorm, PRelu."""
    return g.prelu(g.bn(g.conv(x, cin, cout, k, s, groups, pad=k // 2), cout), cout)


def depthwise_block(g: GraphBuilder, x: str, cin: int, cout: int, expand: int, stride: int, residual: bool) -> str:
    """MobileFaceNet bottleneck: 1x1 expand (BN, PRelu), 3x3 depthwise (BN, PRelu), 1x1 project (BN)."""
    y = cbp(g, x, cin, expand, 1)
    y = cbp(g, y, expand, expand, 3, stride, groups=expand)
    y = g.bn(g.conv(y, expand, cout, 1, pad=0), cout, gain=0.3 if residual else 1.0)
    return g.op("Add", [x, y]) if residual else y


def mobilefacenet_trunk(g: GraphBuilder, x: str, width: int = 64, blocks=(4, 6, 2)) -> str:
    """112x112 -> [N, 512, 7, 7] (insightface MobileFaceNet layout)."""
    x = cbp(g, x, 3, width, 3, 2)
    x = cbp(g, x, width, width, 3, 1, groups=width)
    x = depthwise_block(g, x, width, width, 2 * width, 2, residual=False)
    for _ in range(blocks[0]):
        x = depthwise_block(g, x, width, width, 2 * width, 1, residual=True)
    x = depthwise_block(g, x, width, 2 * width, 4 * width, 2, residual=False)
    for _ in range(blocks[1]):
        x = depthwise_block(g, x, 2 * width, 2 * width, 4 * width, 1, residual=True)
    x = depthwise_block(g, x, 2 * width, 2 * width, 8 * width, 2, residual=False)
    for _ in range(blocks[2]):
        x = depthwise_block(g, x, 2 * width, 2 * width, 4 * width, 1, residual=True)
    return cbp(g, x, 2 * width, 512, 1)


def flatten_embed(g: GraphBuilder, x: str, features: int, out: int = 512, bn1d: bool = True) -> str:
    """Flatten, Gemm to `out` features, optional BatchNorm1d (the insightface embedding head)."""
    y = g.gemm(g.op("Flatten", [x], axis=1), features, out)
    return g.bn(y, out) if bn1d else y


def normalize_in_graph(g: GraphBuilder, x: str) -> str:
    """insightface MXNet exports start with `_minus_scalar` / `_mul_scalar` (x - 127.5) * 1/128."""
    return g.op("Mul", [g.op("Sub", [x, g.const(np.array(127.5))]), g.const(np.array(0.0078125))])


def iresnet_unit(g: GraphBuilder, x: str, cin: int, cout: int, stride: int) -> str:
    """IResNet unit: BN, 3x3 conv, BN, PRelu, 3x3 conv (stride), BN; 1x1 conv + BN shortcut when shape changes."""
    y = g.bn(x, cin)
    y = g.prelu(g.bn(g.conv(y, cin, cout, 3, 1), cout), cout)
    y = g.bn(g.conv(y, cout, cout, 3, stride), cout, gain=0.3)
    short = x if (cin == cout and stride == 1) else g.bn(g.conv(x, cin, cout, 1, stride, pad=0), cout)
    return g.op("Add", [y, short])


def small_cnn(
    g: GraphBuilder, x: str, widths: tuple[int, ...], act: Callable[[GraphBuilder, str, int], str]
) -> tuple[str, int]:
    """Conv/BN/act stem, then per width a depthwise 3x3 (stride 2) + pointwise 1x1 pair."""
    x = act(g, g.bn(g.conv(x, 3, widths[0], 3, 2), widths[0]), widths[0])
    cin = widths[0]
    for width in widths[1:]:
        x = act(g, g.bn(g.conv(x, cin, cin, 3, 2, groups=cin), cin), cin)
        x = act(g, g.bn(g.conv(x, cin, width, 1, pad=0), width), width)
        cin = width
    return g.op("GlobalAveragePool", [x]), cin


def relu(g: GraphBuilder, x: str, c: int) -> str:
    return g.op("Relu", [x])


def prelu(g: GraphBuilder, x: str, c: int) -> str:
    return g.prelu(x, c)
