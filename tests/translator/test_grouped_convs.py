"""Grouped convs (1 < groups < channels): split per group (passes/grouped.py) on the native path, conv_general
with groups on the MLX one; both against onnxruntime, with the tails the epilogue pass fuses after them."""

from translator import translate
from translator.frontend import build_graph, load_model, prepare_model
from translator.passes import run_passes

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

TAILS = ("none", "Relu", "PRelu", "Add", "Add+Relu")


def _model(groups, cin_g, cout_g, k, stride, pad, dilation, bias, tail, hw=9):
    cin, cout = groups * cin_g, groups * cout_g
    rng = np.random.default_rng(groups * 1000 + cin_g * 100 + cout_g * 10 + k)
    inits = {"w": (rng.standard_normal((cout, cin_g, k, k)) / np.sqrt(cin_g * k * k)).astype(np.float32)}
    conv_in = ["x", "w"]
    if bias:
        inits["b"] = rng.standard_normal(cout).astype(np.float32)
        conv_in.append("b")
    attrs = {"group": groups, "kernel_shape": [k, k], "strides": [stride, stride], "pads": [pad] * 4}
    if dilation != 1:
        attrs["dilations"] = [dilation, dilation]
    nodes = [helper.make_node("Conv", conv_in, ["c"], **attrs)]
    out_hw = (hw + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    out_shape = [1, cout, out_hw, out_hw]
    inputs = [("x", np.float32, [1, cin, hw, hw])]
    last = "c"
    if tail.startswith("Add"):
        inputs.append(("r", np.float32, out_shape))
        nodes.append(helper.make_node("Add", [last, "r"], ["a"]))
        last = "a"
    if tail.endswith("Relu") and tail != "PRelu":
        nodes.append(helper.make_node("Relu", [last], ["act"]))
        last = "act"
    if tail == "PRelu":
        inits["slope"] = rng.uniform(0.05, 0.5, (cout, 1, 1)).astype(np.float32)
        nodes.append(helper.make_node("PRelu", [last, "slope"], ["act"]))
        last = "act"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    return make_model(nodes, inputs, [("y", np.float32, out_shape)], inits, opset=13)


def _feed(model):
    rng = np.random.default_rng(7)
    feed = {}
    for i in model.graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feed[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feed


CASES = [  # groups, channels in / out per group, kernel, stride, pad, dilation, bias, tail
    (2, 8, 8, 3, 1, 1, 1, True, "Relu"),
    (4, 8, 8, 3, 2, 1, 1, True, "PRelu"),
    (8, 8, 8, 3, 1, 1, 1, False, "Add"),
    (16, 8, 8, 3, 1, 1, 1, True, "Add+Relu"),
    (3, 1, 2, 3, 1, 0, 1, True, "none"),
    (2, 16, 4, 1, 1, 0, 1, True, "PRelu"),
    (5, 3, 7, 5, 2, 2, 1, False, "Relu"),
    (4, 2, 2, 5, 1, 2, 1, True, "Add"),
    (6, 4, 1, 1, 2, 0, 1, False, "Relu"),
    (2, 5, 16, 3, 2, 0, 1, True, "Add+Relu"),
    (10, 16, 16, 3, 1, 1, 1, True, "PRelu"),
    (4, 8, 8, 3, 1, 2, 2, True, "Relu"),  # dilated: stays one conv_general with groups
]


@pytest.mark.parametrize("native", [False, True], ids=["mlx", "native"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "g{}_{}x{}_k{}s{}p{}d{}_{}_{}".format(*c[:7], "b" * c[7], c[8]))
def test_grouped_conv_matches_onnxruntime(case, native, tmp_path):
    m = _model(*case)
    assert_matches_ort(m, _feed(m), tmp_path, atol=1e-4, rtol=1e-4, native=native)


@pytest.mark.parametrize("case", CASES[:-1])
def test_native_path_splits_grouped_convs(case):
    t = translate(_model(*case), native=True)
    assert t.notes["grouped_convs_split"] == 1
    assert set(t.program.notes["conv_strategies"]) == {"native dense"}


def test_mlx_path_keeps_one_grouped_conv():
    t = translate(_model(*CASES[0]), native=False)
    assert "grouped_convs_split" not in t.notes
    assert t.program.notes["conv_strategies"] == {"conv": 1}


def _passed(case):
    loaded = load_model(_model(*case))
    graph = build_graph(prepare_model(loaded), loaded.label)
    run_passes(graph, native=True)
    return graph


def test_prelu_slopes_split_per_group():
    # 4 groups of 8 output channels: each part's conv carries its own 8 slopes; no PRelu node is left.
    graph = _passed(CASES[1])
    convs = [n for n in graph.topo_order() if n.op_type == "Conv"]
    assert len(convs) == 4 and all(int(c.attrs.get("group", 1)) == 1 for c in convs)
    assert not any(n.op_type == "PRelu" for n in graph.nodes)
    slope = _model(*CASES[1]).graph.initializer
    want = next(np.frombuffer(s.raw_data, np.float32) for s in slope if s.name == "slope")
    got = np.concatenate([c.attrs["activation"][1] for c in convs])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_relu_fused_into_every_part():
    graph = _passed(CASES[0])
    convs = [n for n in graph.nodes if n.op_type == "Conv"]
    assert len(convs) == 2 and all(c.attrs.get("activation") == ["Relu"] for c in convs)
    assert not any(n.op_type == "Relu" for n in graph.nodes)


def test_dilated_grouped_conv_stays_whole():
    # The native kernels take no dilation: the parts would run on MLX's dense conv, so the conv is left as is.
    t = translate(_model(*CASES[-1]), native=True)
    assert "grouped_convs_split" not in t.notes
    assert t.program.notes["conv_strategies"] == {"conv": 1}
