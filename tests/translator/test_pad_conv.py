"""Zero spatial Pads folded into the Conv that alone reads them (passes/pad_conv.py), against onnxruntime in
both modes; Pads the fold must leave alone (non-zero value, reflect, channel pads, a second reader, pooling)."""

from translator import translate

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

RNG = np.random.default_rng(3)


def _model(
    pads, conv_pads=(0, 0, 0, 0), stride=2, group=1, value=None, mode="constant", axes=None, second=None, opset=18
):
    c = 4
    c_in = c + (pads[1] + pads[5] if len(pads) == 8 else 0)  # a channel pad widens what the conv reads
    inits = {"w": RNG.standard_normal((c, c_in // group, 3, 3)).astype(np.float32), "p": np.array(pads, np.int64)}
    pad_in = ["x", "p"]
    if value is not None or axes is not None:
        inits["v"] = np.array(0.0 if value is None else value, np.float32)
        pad_in.append("v")
    if axes is not None:
        inits["a"] = np.array(axes, np.int64)
        pad_in.append("a")
    nodes = [helper.make_node("Pad", pad_in, ["padded"], mode=mode)]
    if second == "MaxPool":
        nodes.append(helper.make_node("MaxPool", ["padded"], ["y"], kernel_shape=[3, 3], strides=[stride, stride]))
    else:
        conv = dict(kernel_shape=[3, 3], strides=[stride, stride], pads=list(conv_pads), group=group)
        nodes.append(helper.make_node("Conv", ["padded", "w"], ["y"], **conv))
    outputs = [("y", np.float32, None)]
    if second == "output":
        outputs.append(("padded", np.float32, None))
    model = make_model(nodes, [("x", np.float32, [1, c, 13, 10])], outputs, inits, opset=opset)
    return model, {"x": RNG.standard_normal((1, c, 13, 10)).astype(np.float32)}


def _folded(model) -> int:
    return translate(model).program.notes.get("pads_folded_into_convs", 0)


@pytest.mark.parametrize(
    "pads, conv_pads, stride, group, axes",
    [
        ((0, 0, 0, 0, 0, 0, 1, 1), (0, 0, 0, 0), 2, 1, None),  # tf2onnx SAME before a stride-2 conv
        ((0, 0, 2, 1, 0, 0, 1, 2), (1, 1, 1, 1), 1, 1, None),  # added to the conv's own pads
        ((0, 0, 0, 0, 0, 0, 2, 2), (0, 0, 0, 0), 2, 4, None),  # FaceMesh: depthwise stride 2
        ((1, 2, 0, 1), (0, 0, 0, 0), 1, 1, (2, 3)),  # Pad-18 with axes
    ],
)
def test_zero_spatial_pads_fold_into_the_conv(pads, conv_pads, stride, group, axes, tmp_path):
    model, feed = _model(pads, conv_pads, stride, group, axes=axes)
    assert _folded(model) == 1
    assert_matches_ort(model, feed, tmp_path, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"pads": (0, 0, 0, 0, 0, 0, 1, 1), "value": 1.5}, "a non-zero pad value"),
        ({"pads": (0, 0, 1, 1, 0, 0, 1, 1), "mode": "reflect"}, "reflect padding"),
        ({"pads": (0, 1, 0, 0, 0, 1, 0, 0), "conv_pads": (1, 1, 1, 1), "stride": 1}, "a channel pad"),
        ({"pads": (0, 0, 1, 1, 0, 0, 1, 1), "second": "output"}, "the padded map is also a graph output"),
        ({"pads": (0, 0, 1, 1, 0, 0, 1, 1), "second": "MaxPool"}, "a max pool pads with -inf, not zeros"),
    ],
)
def test_pads_the_fold_leaves_alone(kwargs, why, tmp_path):
    pads = kwargs.pop("pads")
    model, feed = _model(pads, **kwargs)
    assert _folded(model) == 0, why
    assert_matches_ort(model, feed, tmp_path, atol=1e-5)
