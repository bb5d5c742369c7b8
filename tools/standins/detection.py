"""Face detectors of uniface 4.x: BlazeFace, CenterFace, YOLOv8-Face stand-ins, and YOLOv5-Face with its decoded head.

The random-weight detectors get head biases that set a low face prior (as
trained detectors have: most anchors are background), so on a real photo
they report a handful to a few dozen faces with boxes of plausible size,
which is what the post-processing under test needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .graph import GraphBuilder
from .registry import StandIn

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


# -- BlazeFace (MediaPipe face_detection_short_range) -----------------------------------------


def _blaze_block(g: GraphBuilder, x: str, cin: int, cout: int, stride: int) -> str:
    """BlazeBlock: depthwise 3x3 + pointwise 1x1, added to the (pooled, zero-channel-padded) input, ReLU."""
    if stride == 2:
        h = g.op("Pad", [x, g.const_int([0, 0, 0, 0, 0, 0, 2, 2], "pads")], mode="constant")  # TF 'same' for s2
        h = g.conv_bias(h, cin, cin, 3, 2, groups=cin, pad=0)
        skip = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    else:
        h = g.conv_bias(x, cin, cin, 3, 1, groups=cin, pad=1)
        skip = x
    h = g.conv_bias(h, cin, cout, 1, pad=0, gain=0.3)
    if cout > cin:
        skip = g.op("Pad", [skip, g.const_int([0, 0, 0, 0, 0, cout - cin, 0, 0], "pads")], mode="constant")
    return g.op("Relu", [g.op("Add", [h, skip])])


def _flatten_head(g: GraphBuilder, x: str, per_cell: int) -> str:
    """[1, A*k, H, W] -> [1, H*W*A, k] (NHWC order, as MediaPipe's anchors are laid out)."""
    t = g.op("Transpose", [x], perm=[0, 2, 3, 1])
    return g.op("Reshape", [t, g.const_int([1, -1, per_cell])])


def blazeface(seed: int = 21) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = g.op("Pad", ["input", g.const_int([0, 0, 1, 1, 0, 0, 2, 2], "pads")], mode="constant")
    x = g.op("Relu", [g.conv_bias(x, 3, 24, 5, 2, pad=0)])  # 128 -> 64
    widths = [(24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2), (48, 56, 1),
              (56, 64, 1), (64, 72, 1), (72, 80, 1), (80, 88, 1)]  # fmt: skip
    for cin, cout, s in widths:
        x = _blaze_block(g, x, cin, cout, s)  # -> [1, 88, 16, 16]
    y = _blaze_block(g, x, 88, 96, 2)
    for _ in range(4):
        y = _blaze_block(g, y, 96, 96, 1)  # -> [1, 96, 8, 8]
    # Regressor layout per anchor: (dx, dy, w, h, 6 x (kx, ky)) in 128-px units; sizes get a positive prior.
    size_prior = np.tile(np.r_[0, 0, 24, 24, np.zeros(12)], 1)
    score_prior = -3.0
    cls16 = _flatten_head(g, g.conv_bias(x, 88, 2, 1, pad=0, bias=score_prior, gain=0.25), 1)
    cls8 = _flatten_head(g, g.conv_bias(y, 96, 6, 1, pad=0, bias=score_prior, gain=0.25), 1)
    reg16 = _flatten_head(g, g.conv_bias(x, 88, 32, 1, pad=0, bias=np.tile(size_prior, 2), gain=0.3), 16)
    reg8 = _flatten_head(g, g.conv_bias(y, 96, 96, 1, pad=0, bias=np.tile(size_prior, 6), gain=0.3), 16)
    regressors = g.op("Concat", [reg16, reg8], axis=1)
    classificators = g.op("Concat", [cls16, cls8], axis=1)
    return g.multi_output_model(
        "face_detection_short_range_standin",
        "input",
        [1, 3, 128, 128],
        [
            (regressors, "regressors", ["batch", "anchors", 16]),
            (classificators, "classificators", ["batch", "anchors", 1]),
        ],
    )


# -- CenterFace (MobileNetV2 + FPN, one stride-4 map) ------------------------------------------


def _relu6(g: GraphBuilder, x: str) -> str:
    return g.op("Clip", [x, g.const(np.array(0.0)), g.const(np.array(6.0))])


def _inverted_residual(g: GraphBuilder, x: str, cin: int, cout: int, stride: int, expand: int) -> str:
    """MobileNetV2 block: 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear project, residual when shapes agree."""
    hidden = cin * expand
    h = _relu6(g, g.conv_bias(x, cin, hidden, 1, pad=0)) if expand != 1 else x
    h = _relu6(g, g.conv_bias(h, hidden, hidden, 3, stride, groups=hidden))
    h = g.conv_bias(h, hidden, cout, 1, pad=0, gain=0.3)
    return g.op("Add", [x, h]) if stride == 1 and cin == cout else h


def _upsample2(g: GraphBuilder, x: str, c: int) -> str:
    """Learned 2x upsampling (ConvTranspose 2x2, stride 2), as CenterFace's FPN does it."""
    w = g.rng.normal(0.0, np.sqrt(1.0 / c), (c, c, 2, 2))
    return g.op(
        "ConvTranspose", [x, g.const(w), g.const(g.rng.normal(0, 0.01, c))], kernel_shape=[2, 2], strides=[2, 2]
    )


def centerface(seed: int = 22) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = _relu6(g, g.conv_bias("input.1", 3, 16, 3, 2))  # 1/2
    # (expand, out channels, repeats, stride): MobileNetV2 at width 0.5, keeping the level outputs
    stages = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 3, 2), (6, 32, 4, 2), (6, 48, 3, 1), (6, 80, 3, 2)]
    cin, levels = 16, []
    for expand, cout, repeats, stride in stages:
        for i in range(repeats):
            x = _inverted_residual(g, x, cin, cout, stride if i == 0 else 1, expand)
            cin = cout
        levels.append(x)
    c2, c3, c4, c5 = levels[1], levels[2], levels[4], levels[5]  # strides 4, 8, 16, 32
    fpn = 24
    p = g.op("Relu", [g.conv_bias(c5, 80, fpn, 1, pad=0)])
    for lateral, c in ((c4, 48), (c3, 16), (c2, 12)):
        p = g.op("Add", [_upsample2(g, p, fpn), g.op("Relu", [g.conv_bias(lateral, c, fpn, 1, pad=0)])])
    p = g.op("Relu", [g.conv_bias(p, fpn, fpn, 3)])
    heatmap = g.op("Sigmoid", [g.conv_bias(p, fpn, 1, 1, pad=0, bias=-5.0, gain=2.0)])
    scale = g.conv_bias(p, fpn, 2, 1, pad=0, bias=3.2)  # log box size in stride units: ~36 px faces
    offset = g.conv_bias(p, fpn, 2, 1, pad=0)
    landmarks = g.conv_bias(p, fpn, 10, 1, pad=0, bias=0.5)  # relative to the box: around its middle
    dims = ["batch", 1, "h4", "w4"]
    return g.multi_output_model(
        "centerface_standin",
        "input.1",
        ["batch", 3, "height", "width"],
        [(heatmap, "537", dims), (scale, "538", [*dims[:1], 2, *dims[2:]]), (offset, "539", [*dims[:1], 2, *dims[2:]]),
         (landmarks, "540", [*dims[:1], 10, *dims[2:]])],
        opset=17,
    )  # fmt: skip


# -- YOLOv8n-Face (CSP backbone with C2f blocks, SPPF, PAN neck, pose heads) -----------------------


def _silu_conv(g: GraphBuilder, x: str, cin: int, cout: int, k: int = 1, s: int = 1, gain: float = 1.0) -> str:
    """Conv (BN folded) + SiLU, exported as Sigmoid and Mul."""
    y = g.conv_bias(x, cin, cout, k, s, gain=gain)
    return g.op("Mul", [y, g.op("Sigmoid", [y])])


def _c2f(g: GraphBuilder, x: str, cin: int, cout: int, n: int, shortcut: bool) -> str:
    """C2f: 1x1 conv, split in two, n bottlenecks chained on the second half, concat all, 1x1 conv."""
    c = cout // 2
    y = _silu_conv(g, x, cin, 2 * c)
    parts = g.op_multi("Split", [y], 2, axis=1, split=[c, c])
    last = parts[1]
    for _ in range(n):
        b = _silu_conv(g, _silu_conv(g, last, c, c, 3), c, c, 3, gain=0.5 if shortcut else 1.0)
        last = g.op("Add", [last, b]) if shortcut else b
        parts.append(last)
    return _silu_conv(g, g.op("Concat", parts, axis=1), (2 + n) * c, cout)


def _sppf(g: GraphBuilder, x: str, c: int) -> str:
    h = c // 2
    y = _silu_conv(g, x, c, h)
    pools = [y]
    for _ in range(3):
        pools.append(g.op("MaxPool", [pools[-1]], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]))
    return _silu_conv(g, g.op("Concat", pools, axis=1), 4 * h, c)


def _upsample_nearest(g: GraphBuilder, x: str) -> str:
    roi = g.const(np.zeros(0), "roi")  # a required input before opset 13
    return g.op("Resize", [x, roi, g.const(np.array([1.0, 1.0, 2.0, 2.0]))], mode="nearest")


def _pose_head(g: GraphBuilder, x: str, c: int, score_prior: float) -> str:
    """Per level: box (64 DFL bins), class (1 logit), keypoints (5 x 3) branches, concatenated to 80 channels."""
    c2, c3, c4 = max(16, c // 4, 64), max(c, 16), max(c // 4, 15)
    outs = []
    # output gains spread the DFL logits enough to pick bins and keep keypoints within about a cell
    for width, n_out, gain, prior in ((c2, 64, 4.0, 0.0), (c3, 1, 4.0, score_prior), (c4, 15, 2.0, 0.0)):
        h = _silu_conv(g, _silu_conv(g, x, c, width, 3), width, width, 3)
        outs.append(g.conv_bias(h, width, n_out, 1, pad=0, bias=prior, gain=gain))
    return g.op("Concat", outs, axis=1)


def yolov8n_face(seed: int = 23) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    # A stem gain keeps the SiLU stack in its ReLU-like range, where He's weight scale holds the spread
    # steady; near zero SiLU halves its input and a random network's signal would fade to its biases.
    x = _silu_conv(g, "images", 3, 16, 3, 2, gain=4.0)  # 1/2
    x = _silu_conv(g, x, 16, 32, 3, 2)  # 1/4
    x = _c2f(g, x, 32, 32, 1, True)
    x = _silu_conv(g, x, 32, 64, 3, 2)  # 1/8
    p3 = _c2f(g, x, 64, 64, 2, True)
    x = _silu_conv(g, p3, 64, 128, 3, 2)  # 1/16
    p4 = _c2f(g, x, 128, 128, 2, True)
    x = _silu_conv(g, p4, 128, 256, 3, 2)  # 1/32
    p5 = _sppf(g, _c2f(g, x, 256, 256, 1, True), 256)
    n4 = _c2f(g, g.op("Concat", [_upsample_nearest(g, p5), p4], axis=1), 384, 128, 1, False)
    n3 = _c2f(g, g.op("Concat", [_upsample_nearest(g, n4), p3], axis=1), 192, 64, 1, False)
    m4 = _c2f(g, g.op("Concat", [_silu_conv(g, n3, 64, 64, 3, 2), n4], axis=1), 192, 128, 1, False)
    m5 = _c2f(g, g.op("Concat", [_silu_conv(g, m4, 128, 128, 3, 2), p5], axis=1), 384, 256, 1, False)
    # face priors per level: a few cells per photo clear 0.5, mostly where the picture has texture
    heads = [_pose_head(g, n3, 64, -5.0), _pose_head(g, m4, 128, -6.5), _pose_head(g, m5, 256, -4.5)]
    return g.multi_output_model(
        "yolov8n_face_standin",
        "images",
        [1, 3, 640, 640],
        [(h, f"output{i}", [1, 80, 640 // s, 640 // s]) for i, (h, s) in enumerate(zip(heads, (8, 16, 32)))],
        opset=12,
    )


# -- YOLOv5-Face with the decoded head (derived from the real yolov5n-0.5 weights) ---------------

YOLOV5_SOURCE = SHARED_MODELS / "yolov5n_0.5_face.onnx"
_YOLOV5_ANCHORS = (((4, 5), (8, 10), (13, 16)), ((23, 29), (43, 55), (73, 105)), ((146, 217), (231, 300), (335, 433)))


def yolov5n_face_decoded() -> onnx.ModelProto:
    """The real yolov5n-0.5 face model with yolov5-face's Detect decoding appended, as uniface's exports have it.

    Our copy of the weights ends at the raw `[1, 3, H, W, 16]` heads; uniface's
    YOLOv5Face files end in the decoded `[1, 25200, 16]` rows (sigmoid on box,
    objectness and class; `xy = (2s - 0.5 + cell) * stride`, `wh = (2s)^2 *
    anchor`; landmarks `raw * anchor + cell * stride`). Appending that
    decoding to the real weights gives a file upstream's YOLOv5Face runs as is.
    """
    model = onnx.load(str(YOLOV5_SOURCE))
    graph = model.graph
    heads = sorted(graph.output, key=lambda o: -o.type.tensor_type.shape.dim[2].dim_value)  # stride 8 first
    nodes, inits, rows = [], [], []

    def const(name: str, value: np.ndarray, dtype: type = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(name: str, value: list[int]) -> str:
        return const(name, value, np.int64)

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    for level, (head, anchors) in enumerate(zip(heads, _YOLOV5_ANCHORS)):
        dims = [d.dim_value for d in head.type.tensor_type.shape.dim]
        _, na, ny, nx, no = dims
        stride = 640 // ny
        ys, xs = np.mgrid[:ny, :nx]
        grid = np.stack([xs, ys], axis=-1).reshape(1, 1, ny, nx, 2).astype(np.float32)
        anchor = np.asarray(anchors, dtype=np.float32).reshape(1, na, 1, 1, 2)
        p = f"decode{level}"
        s = node("Sigmoid", [head.name], f"{p}_sigmoid")
        sl = {}
        for key, lo, hi, src in (("xy", 0, 2, s), ("wh", 2, 4, s), ("obj", 4, 5, s), ("lm", 5, 15, head.name),
                                 ("cls", 15, no, s)):  # fmt: skip
            sl[key] = node("Slice", [src, ints(f"{p}_{key}_lo", [lo]), ints(f"{p}_{key}_hi", [hi]),
                                     ints(f"{p}_{key}_ax", [4])], f"{p}_{key}")  # fmt: skip
        xy = node("Mul", [node("Add", [node("Sub", [node("Mul", [sl["xy"], const(f"{p}_two", 2.0)], f"{p}_xy2"),
                                                    const(f"{p}_half", 0.5)], f"{p}_xy3"),
                                       const(f"{p}_grid", grid)], f"{p}_xy4"), const(f"{p}_stride", stride)], f"{p}_xyo")  # fmt: skip
        wh2 = node("Mul", [sl["wh"], const(f"{p}_two_wh", 2.0)], f"{p}_wh2")
        wh = node("Mul", [node("Mul", [wh2, wh2], f"{p}_wh_sq"), const(f"{p}_anchor", anchor)], f"{p}_who")
        lm = node("Add", [node("Mul", [sl["lm"], const(f"{p}_anchor5", np.tile(anchor, 5))], f"{p}_lm_a"),
                          const(f"{p}_grid5", np.tile(grid * stride, 5))], f"{p}_lmo")  # fmt: skip
        cat = node("Concat", [xy, wh, sl["obj"], lm, sl["cls"]], f"{p}_cat", axis=4)
        rows.append(node("Reshape", [cat, ints(f"{p}_shape", [1, -1, no])], f"{p}_rows"))
    nodes.append(helper.make_node("Concat", rows, ["output"], name="output_concat", axis=1))
    graph.node.extend(nodes)
    graph.initializer.extend(inits)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 25200, 16]))
    model.producer_name = "mlx-uniface-standins"
    onnx.checker.check_model(model)
    return model


STANDINS = [
    StandIn(
        "face_detection_short_range.onnx",
        blazeface,
        "MediaPipe BlazeFace short range: `input` [1, 3, 128, 128], 5x5 stem, BlazeBlocks (depthwise 3x3 + 1x1, "
        "MaxPool + channel-Pad skips, ReLU), heads at 16x16 (2 anchors) and 8x8 (6) -> `regressors` [1, 896, 16], "
        "`classificators` [1, 896, 1]",
    ),
    StandIn(
        "centerface.onnx",
        centerface,
        "CenterFace: `input.1` [N, 3, H, W] dynamic, MobileNetV2 (width 0.5, ReLU6) + FPN with ConvTranspose "
        "upsampling -> stride-4 heads `537` heatmap (Sigmoid), `538` log size, `539` offset, `540` 5 landmarks",
    ),
    StandIn(
        "yolov8n-face.onnx",
        yolov8n_face,
        "YOLOv8n-Face: `images` [1, 3, 640, 640], Conv+SiLU, C2f (Split/Concat), SPPF, nearest Resize PAN neck, "
        "pose heads -> three [1, 80, H, W] maps (64 DFL bins, 1 class logit, 5 x 3 keypoint values)",
    ),
    StandIn(
        "yolov5n_face.onnx",
        yolov5n_face_decoded,
        "NOT random: the real yolov5n-0.5-Face weights (../shared) with yolov5-face's Detect decoding appended "
        "-> `output` [1, 25200, 16], the form of uniface's YOLOv5Face files",
        source=YOLOV5_SOURCE,
    ),
]
