"""Stand-in ONNX models for uniface zoo slots whose real weights are not available here.

Each builder makes a structurally faithful graph (same op families, same
input/output signature as the upstream file) with RANDOM weights drawn from
a seeded generator at run time. Nothing here is trained: the stand-ins
exist to check that the MLX translation matches onnxruntime on these
architectures and that the facade's pre/post-processing runs end to end.

    python -m tools.standins OUT_DIR [--only NAME ...]

Slots (file names as uniface stores them):
  w600k_mbf.onnx   ArcFace MobileFaceNet: Conv/BN/PRelu, depthwise bottlenecks,
                   linear GDC 7x7, Flatten, Gemm, BatchNorm1d -> [N, 512]
  w600k_r50.onnx   ArcFace IResNet: BN-Conv-BN-PRelu-Conv-BN residual units,
                   BN, Flatten, Gemm(25088 -> 512), BatchNorm1d -> [N, 512].
                   Real IResNet-50 has (3, 4, 14, 3) units per stage; the
                   stand-in keeps every unit type and the full widths and head
                   but uses (1, 2, 2, 1) units so it builds in seconds.
  sphere20.onnx    SphereFace-20: stride-2 Conv/BN/PRelu per stage plus
                   Conv-PRelu residual units (1, 2, 4, 1), Flatten, Gemm -> [N, 512]
  genderage.onnx   insightface genderage: `data` [1, 3, 96, 96], in-graph Sub/Mul
                   normalization, Conv/BN/Relu + depthwise, GAP, Gemm -> `fc1` [1, 3]
  2d106det.onnx    insightface 2d106det: `data` [1, 3, 192, 192], in-graph Sub/Mul,
                   Conv/BN/PRelu + depthwise, GAP, Gemm -> `fc1` [1, 212]
  affecnet7.onnx   emotion (DDAMFN-like MobileFaceNet trunk): [1, 3, 112, 112] -> [1, 7]
  affecnet8.onnx   same, 8 classes
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11


class GraphBuilder:
    """Tiny helper: named nodes and random initializers, in build order."""

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

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

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

    def model(self, name: str, x_name: str, x_shape: list, y: str, y_name: str, y_shape: list) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [y], [y_name], name=y_name + "_out"))
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, y_shape)],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mlx-uniface-standins"
        )
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model


# -- building blocks ---------------------------------------------------------------


def _cbp(g: GraphBuilder, x: str, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1) -> str:
    return g.prelu(g.bn(g.conv(x, cin, cout, k, s, groups, pad=k // 2), cout), cout)


def _depthwise_block(g: GraphBuilder, x: str, cin: int, cout: int, expand: int, stride: int, residual: bool) -> str:
    """MobileFaceNet bottleneck: 1x1 expand (BN, PRelu), 3x3 depthwise (BN, PRelu), 1x1 project (BN)."""
    y = _cbp(g, x, cin, expand, 1)
    y = _cbp(g, y, expand, expand, 3, stride, groups=expand)
    y = g.bn(g.conv(y, expand, cout, 1, pad=0), cout, gain=0.3 if residual else 1.0)
    return g.op("Add", [x, y]) if residual else y


def _mobilefacenet_trunk(g: GraphBuilder, x: str, width: int = 64, blocks=(4, 6, 2)) -> str:
    """112x112 -> [N, 512, 7, 7] (insightface MobileFaceNet layout)."""
    x = _cbp(g, x, 3, width, 3, 2)
    x = _cbp(g, x, width, width, 3, 1, groups=width)
    x = _depthwise_block(g, x, width, width, 2 * width, 2, residual=False)
    for _ in range(blocks[0]):
        x = _depthwise_block(g, x, width, width, 2 * width, 1, residual=True)
    x = _depthwise_block(g, x, width, 2 * width, 4 * width, 2, residual=False)
    for _ in range(blocks[1]):
        x = _depthwise_block(g, x, 2 * width, 2 * width, 4 * width, 1, residual=True)
    x = _depthwise_block(g, x, 2 * width, 2 * width, 8 * width, 2, residual=False)
    for _ in range(blocks[2]):
        x = _depthwise_block(g, x, 2 * width, 2 * width, 4 * width, 1, residual=True)
    return _cbp(g, x, 2 * width, 512, 1)


def _flatten_embed(g: GraphBuilder, x: str, features: int, out: int = 512, bn1d: bool = True) -> str:
    y = g.gemm(g.op("Flatten", [x], axis=1), features, out)
    return g.bn(y, out) if bn1d else y


def _normalize_in_graph(g: GraphBuilder, x: str) -> str:
    """insightface MXNet exports start with `_minus_scalar` / `_mul_scalar` (x - 127.5) * 1/128."""
    return g.op("Mul", [g.op("Sub", [x, g.const(np.array(127.5))]), g.const(np.array(0.0078125))])


# -- the stand-ins -------------------------------------------------------------------


def arcface_mbf(seed: int = 1) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = _mobilefacenet_trunk(g, "input.1")
    x = g.bn(g.conv(x, 512, 512, 7, 1, groups=512, pad=0), 512)  # linear GDC: 7x7 depthwise -> 1x1
    y = _flatten_embed(g, x, 512)
    return g.model("w600k_mbf_standin", "input.1", ["None", 3, 112, 112], y, "embedding", ["None", 512])


def _iresnet_unit(g: GraphBuilder, x: str, cin: int, cout: int, stride: int) -> str:
    """IResNet unit: BN, 3x3 conv, BN, PRelu, 3x3 conv (stride), BN; 1x1 conv + BN shortcut when shape changes."""
    y = g.bn(x, cin)
    y = g.prelu(g.bn(g.conv(y, cin, cout, 3, 1), cout), cout)
    y = g.bn(g.conv(y, cout, cout, 3, stride), cout, gain=0.3)
    short = x if (cin == cout and stride == 1) else g.bn(g.conv(x, cin, cout, 1, stride, pad=0), cout)
    return g.op("Add", [y, short])


def arcface_r50(seed: int = 2, units: tuple[int, ...] = (1, 2, 2, 1)) -> onnx.ModelProto:
    """IResNet; `units=(3, 4, 14, 3)` gives the real IResNet-50 depth (about 170 MB of weights)."""
    g = GraphBuilder(seed)
    x = _cbp(g, "input.1", 3, 64, 3, 1)
    cin = 64
    for width, n in zip((64, 128, 256, 512), units):
        for i in range(n):
            x = _iresnet_unit(g, x, cin, width, 2 if i == 0 else 1)
            cin = width
    x = g.bn(x, 512)
    y = _flatten_embed(g, x, 512 * 7 * 7)
    return g.model("w600k_r50_standin", "input.1", ["None", 3, 112, 112], y, "embedding", ["None", 512])


def sphere20(seed: int = 3, units: tuple[int, ...] = (1, 2, 4, 1)) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, cin = "input", 3
    for width, n in zip((64, 128, 256, 512), units):
        x = _cbp(g, x, cin, width, 3, 2)
        cin = width
        for _ in range(n):
            y = g.prelu(g.conv(x, width, width, 3, 1, bias=True), width)
            y = g.conv(y, width, width, 3, 1, bias=True)
            x = g.op("Add", [x, g.prelu(g.op("Mul", [y, g.const(np.array(0.3))]), width)])
    y = _flatten_embed(g, x, 512 * 7 * 7, bn1d=False)
    return g.model("sphere20_standin", "input", ["None", 3, 112, 112], y, "output", ["None", 512])


def _small_cnn(
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


def _relu(g: GraphBuilder, x: str, c: int) -> str:
    return g.op("Relu", [x])


def _prelu(g: GraphBuilder, x: str, c: int) -> str:
    return g.prelu(x, c)


def genderage(seed: int = 4) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, c = _small_cnn(g, _normalize_in_graph(g, "data"), (16, 32, 64, 128), _relu)
    y = g.gemm(g.op("Flatten", [x], axis=1), c, 3)
    return g.model("genderage_standin", "data", [1, 3, 96, 96], y, "fc1", [1, 3])


def landmark106(seed: int = 5) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x, c = _small_cnn(g, _normalize_in_graph(g, "data"), (16, 32, 64, 128, 128), _prelu)
    y = g.op("Tanh", [g.gemm(g.op("Flatten", [x], axis=1), c, 212)])  # keeps points inside the crop
    return g.model("2d106det_standin", "data", [1, 3, 192, 192], y, "fc1", [1, 212])


def emotion(classes: int = 7, seed: int = 6) -> onnx.ModelProto:
    g = GraphBuilder(seed + classes)
    x = _mobilefacenet_trunk(g, "input", width=32, blocks=(1, 2, 1))
    x = g.bn(g.conv(x, 512, 512, 7, 1, groups=512, pad=0), 512)
    y = g.gemm(g.op("Flatten", [x], axis=1), 512, classes)
    return g.model(f"affecnet{classes}_standin", "input", [1, 3, 112, 112], y, "output", [1, classes])


STANDINS: dict[str, Callable[[], onnx.ModelProto]] = {
    "w600k_mbf.onnx": arcface_mbf,
    "w600k_r50.onnx": arcface_r50,
    "sphere20.onnx": sphere20,
    "genderage.onnx": genderage,
    "2d106det.onnx": landmark106,
    "affecnet7.onnx": lambda: emotion(7),
    "affecnet8.onnx": lambda: emotion(8),
}


def build(filename: str) -> onnx.ModelProto:
    """The stand-in for one upstream file name."""
    return STANDINS[filename]()


def write(out_dir: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write stand-ins (all, or `names`) into `out_dir` under their upstream file names."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in names or list(STANDINS):
        path = out / name
        onnx.save(build(name), str(path))
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write random-weight stand-in ONNX models for missing uniface zoo files."
    )
    parser.add_argument("out_dir")
    parser.add_argument("--only", nargs="*", choices=sorted(STANDINS), help="file names to write (default: all)")
    args = parser.parse_args(argv)
    for name, path in write(args.out_dir, args.only).items():
        print(f"{name}: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
