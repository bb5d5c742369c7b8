"""Layers for the 4.x families' stand-ins: torchvision ResNet / MobileNet units and opset-aware op helpers.

Kept apart from graph.py (whose draw order pins the 1.x stand-ins' bytes):
everything here draws from the same seeded `GraphBuilder.rng`, so a builder
that keeps its calls in order writes the same bytes on every run. Append;
never reorder the draws of an existing helper (the upstream fixtures pin the
files' sha256).

The ops follow what the exporters behind upstream's files emit: PyTorch
(`torch.onnx.export` at the repository's opset) or tf2onnx. Where an op's
signature changed between opsets (ReduceMean axes, Split sizes, Squeeze
axes, Resize inputs) the helper takes the model's opset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

from .graph import GraphBuilder


class Net(GraphBuilder):
    """A GraphBuilder that knows its opset and has the extra layers the 4.x families need."""

    def __init__(self, seed: int, opset: int):
        super().__init__(seed)
        self.opset = opset

    # -- convolutions -------------------------------------------------------------------

    def conv2d(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int | tuple[int, int] = 3,
        stride: int = 1,
        pads: Sequence[int] | None = None,
        groups: int = 1,
        dilation: int = 1,
        bias: bool = False,
        gain: float = 1.0,
    ) -> str:
        """Conv with He-scaled random weights; `pads` ONNX-style [top, left, bottom, right] (default: same)."""
        kh, kw = (k, k) if isinstance(k, int) else k
        fan_in = cin // groups * kh * kw
        w = self.rng.normal(0.0, gain * np.sqrt(2.0 / fan_in), (cout, cin // groups, kh, kw))
        inputs = [x, self.const(w)]
        if bias:
            inputs.append(self.const(self.rng.normal(0.0, 0.05, cout)))
        if pads is None:
            ph, pw = dilation * (kh - 1) // 2, dilation * (kw - 1) // 2
            pads = [ph, pw, ph, pw]
        return self.op(
            "Conv",
            inputs,
            kernel_shape=[kh, kw],
            strides=[stride, stride],
            pads=list(pads),
            group=groups,
            dilations=[dilation, dilation],
        )

    def conv_transpose(self, x: str, cin: int, cout: int, k: int, stride: int, pads: Sequence[int]) -> str:
        """ConvTranspose with bias (tf2onnx's Conv2DTranspose); weight layout (cin, cout, k, k)."""
        w = self.rng.normal(0.0, np.sqrt(1.0 / (cin * k * k)), (cin, cout, k, k))
        b = self.rng.normal(0.0, 0.05, cout)
        return self.op(
            "ConvTranspose",
            [x, self.const(w), self.const(b)],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=list(pads),
        )

    def cbr(self, x: str, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1) -> str:
        """Conv (no bias), BatchNorm, Relu."""
        return self.op("Relu", [self.bn(self.conv2d(x, cin, cout, k, stride, groups=groups, dilation=dilation), cout)])

    # -- activations --------------------------------------------------------------------

    def relu6(self, x: str) -> str:
        if self.opset >= 11:
            return self.op("Clip", [x, self.const(np.array(0.0)), self.const(np.array(6.0))])
        return self.op("Clip", [x], min=0.0, max=6.0)

    def hardswish(self, x: str) -> str:
        """torch's Hardswish: the HardSwish op from opset 14, HardSigmoid * x before."""
        if self.opset >= 14:
            return self.op("HardSwish", [x])
        return self.op("Mul", [x, self.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])

    def hardsigmoid(self, x: str) -> str:
        return self.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)

    def prelu_scalar(self, x: str) -> str:
        """nn.PReLU() with one shared slope."""
        return self.op("PRelu", [x, self.const(np.array([self.rng.uniform(0.1, 0.3)]))])

    # -- opset-dependent shape ops ------------------------------------------------------

    def reduce_mean(self, x: str, axes: Sequence[int], keepdims: int = 1) -> str:
        if self.opset >= 18:
            return self.op("ReduceMean", [x, self.const_int(list(axes), "axes")], keepdims=keepdims)
        return self.op("ReduceMean", [x], axes=list(axes), keepdims=keepdims)

    def reduce_l2(self, x: str, axes: Sequence[int], keepdims: int = 1) -> str:
        if self.opset >= 18:
            return self.op("ReduceL2", [x, self.const_int(list(axes), "axes")], keepdims=keepdims)
        return self.op("ReduceL2", [x], axes=list(axes), keepdims=keepdims)

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        if self.opset >= 13:
            return self.op("Unsqueeze", [x, self.const_int(list(axes), "axes")])
        return self.op("Unsqueeze", [x], axes=list(axes))

    def split(self, x: str, sizes: Sequence[int], axis: int) -> list[str]:
        if self.opset >= 13:
            return self.op_multi("Split", [x, self.const_int(list(sizes), "split")], len(sizes), axis=axis)
        return self.op_multi("Split", [x], len(sizes), axis=axis, split=list(sizes))

    def slice(self, x: str, starts: Sequence[int], ends: Sequence[int], axes: Sequence[int]) -> str:
        return self.op(
            "Slice", [x, self.const_int(starts, "starts"), self.const_int(ends, "ends"), self.const_int(axes, "axes")]
        )

    def shape_slice(self, x: str, start: int, end: int) -> str:
        """`Shape(x)[start:end]` as the exporters spell it (Shape, then Slice)."""
        return self.slice(self.op("Shape", [x]), [start], [end], [0])

    def resize_scales(
        self, x: str, scales: Sequence[float], mode: str = "linear", ctm: str = "pytorch_half_pixel"
    ) -> str:
        """Resize by constant scales (opset >= 11; roi empty)."""
        roi = self.const(np.zeros(0), "roi")
        return self.op(
            "Resize",
            [x, roi, self.const(np.asarray(scales), "scales")],
            mode=mode,
            coordinate_transformation_mode=ctm,
            nearest_mode="floor",
            cubic_coeff_a=-0.75,
        )

    def resize_to(self, x: str, sizes: str, mode: str = "linear", ctm: str = "pytorch_half_pixel") -> str:
        """Resize to a computed `sizes` tensor (int64 [N, C, H, W]), scales empty."""
        empty = self.const(np.zeros(0), "roi")
        empty2 = self.const(np.zeros(0), "scales")
        return self.op(
            "Resize", [x, empty, empty2, sizes], mode=mode, coordinate_transformation_mode=ctm, nearest_mode="floor"
        )

    def resize_like(self, x: str, like: str, mode: str = "linear", ctm: str = "pytorch_half_pixel") -> str:
        """Resize `x` to `like`'s spatial size: sizes = Concat(Shape(x)[:2], Shape(like)[2:]) (PyTorch export)."""
        sizes = self.op("Concat", [self.shape_slice(x, 0, 2), self.shape_slice(like, 2, 4)], axis=0)
        return self.resize_to(x, sizes, mode, ctm)

    def linear(self, x: str, cin: int, cout: int, bias: bool = True) -> str:
        """nn.Linear as exported: Gemm(transB=1), or MatMul without bias."""
        if not bias:
            return self.op("MatMul", [x, self.const(self.rng.normal(0.0, np.sqrt(1.0 / cin), (cin, cout)))])
        return self.gemm(x, cin, cout)

    # -- assembling ---------------------------------------------------------------------

    def finish_model(
        self,
        name: str,
        inputs: Sequence[tuple[str, list]],
        outputs: Sequence[tuple[str, str, list]],
    ) -> onnx.ModelProto:
        """Several float inputs `(name, shape)` and outputs `(tensor, name, shape)` (each through an Identity)."""
        for tensor, out_name, _ in outputs:
            self.nodes.append(helper.make_node("Identity", [tensor], [out_name], name=out_name + "_out"))
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for _, n, s in outputs],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="mlx-uniface-standins"
        )
        model.ir_version = 7 if self.opset <= 13 else 8 if self.opset <= 18 else 9
        onnx.checker.check_model(model)
        return model


# -- torchvision ResNet ---------------------------------------------------------------------


def basic_block(g: Net, x: str, cin: int, cout: int, stride: int) -> str:
    """torchvision BasicBlock: 3x3 conv-BN-ReLU, 3x3 conv-BN, (1x1 conv-BN downsample), add, ReLU."""
    y = g.cbr(x, cin, cout, 3, stride)
    y = g.bn(g.conv2d(y, cout, cout, 3), cout, gain=0.5)
    short = x if (stride == 1 and cin == cout) else g.bn(g.conv2d(x, cin, cout, 1, stride, pads=[0, 0, 0, 0]), cout)
    return g.op("Relu", [g.op("Add", [y, short])])


def bottleneck(g: Net, x: str, cin: int, width: int, stride: int) -> str:
    """torchvision Bottleneck (expansion 4): 1x1, 3x3 (stride), 1x1, downsample when the shape changes."""
    cout = 4 * width
    y = g.cbr(x, cin, width, 1)
    y = g.cbr(y, width, width, 3, stride)
    y = g.bn(g.conv2d(y, width, cout, 1, pads=[0, 0, 0, 0]), cout, gain=0.5)
    short = x if (stride == 1 and cin == cout) else g.bn(g.conv2d(x, cin, cout, 1, stride, pads=[0, 0, 0, 0]), cout)
    return g.op("Relu", [g.op("Add", [y, short])])


def resnet_stem(g: Net, x: str, width: int) -> str:
    """7x7/2 conv-BN-ReLU then 3x3/2 max pool."""
    y = g.cbr(x, 3, width, 7, 2)
    return g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])


def resnet_stages(
    g: Net, x: str, widths: Sequence[int], units: Sequence[int], stem: int, bottlenecks: bool = False
) -> tuple[list[str], int]:
    """The four stages (strides 1, 2, 2, 2); returns every stage's output and the last channel count."""
    feats, cin = [], stem
    for i, (width, n) in enumerate(zip(widths, units)):
        for j in range(n):
            stride = 2 if (i > 0 and j == 0) else 1
            if bottlenecks:
                x = bottleneck(g, x, cin, width, stride)
                cin = 4 * width
            else:
                x = basic_block(g, x, cin, width, stride)
                cin = width
        feats.append(x)
    return feats, cin


def global_pool_flatten(g: Net, x: str) -> str:
    """AdaptiveAvgPool2d(1) + torch.flatten(x, 1): GlobalAveragePool, Flatten."""
    return g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)


# -- MobileNet units -------------------------------------------------------------------------


def inverted_residual_v2(g: Net, x: str, cin: int, cout: int, expand: int, stride: int) -> str:
    """MobileNetV2 unit: 1x1 expand (BN, ReLU6), 3x3 depthwise (BN, ReLU6), 1x1 project (BN), residual."""
    hidden = cin * expand
    y = x
    if expand != 1:
        y = g.relu6(g.bn(g.conv2d(y, cin, hidden, 1, pads=[0, 0, 0, 0]), hidden))
    y = g.relu6(g.bn(g.conv2d(y, hidden, hidden, 3, stride, groups=hidden), hidden))
    y = g.bn(g.conv2d(y, hidden, cout, 1, pads=[0, 0, 0, 0]), cout, gain=0.5)
    return g.op("Add", [x, y]) if (stride == 1 and cin == cout) else y


def squeeze_excite_v3(g: Net, x: str, c: int, squeeze: int) -> str:
    """torchvision MobileNetV3 SE: GAP, 1x1 conv (bias) + ReLU, 1x1 conv (bias) + Hardsigmoid, Mul."""
    s = g.op("GlobalAveragePool", [x])
    s = g.op("Relu", [g.conv2d(s, c, squeeze, 1, pads=[0, 0, 0, 0], bias=True)])
    s = g.hardsigmoid(g.conv2d(s, squeeze, c, 1, pads=[0, 0, 0, 0], bias=True))
    return g.op("Mul", [x, s])


def inverted_residual_v3(
    g: Net, x: str, cin: int, k: int, expanded: int, cout: int, se: bool, hs: bool, stride: int, dilation: int = 1
) -> str:
    """torchvision MobileNetV3 unit (InvertedResidualConfig): expand, depthwise (dilated), SE, project, residual."""
    act = g.hardswish if hs else (lambda t: g.op("Relu", [t]))
    y = x
    if expanded != cin:
        y = act(g.bn(g.conv2d(y, cin, expanded, 1, pads=[0, 0, 0, 0]), expanded))
    y = act(
        g.bn(
            g.conv2d(y, expanded, expanded, k, 1 if dilation > 1 else stride, groups=expanded, dilation=dilation),
            expanded,
        )
    )
    if se:
        y = squeeze_excite_v3(g, y, expanded, max(8, (expanded // 4 + 4) // 8 * 8))
    y = g.bn(g.conv2d(y, expanded, cout, 1, pads=[0, 0, 0, 0]), cout, gain=0.5)
    return g.op("Add", [x, y]) if (stride == 1 and cin == cout) else y
