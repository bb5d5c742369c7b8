"""Scope recovery (translator/emit/scopes.py): the exporter's names -> where each call sits."""

from __future__ import annotations

from translator.emit.scopes import common_prefix, constituents, node_scopes, param_scope, parse_scoped_name
from translator.frontend import build_graph, load_model, prepare_model

import numpy as np
from onnx import helper

from tests.util import make_model


def test_torch_scoped_names_repeat_their_parent():
    assert parse_scoped_name("/body/stage1/stage1.0/stage1.0.0/Conv") == ("body", "stage1", "0", "0")
    assert parse_scoped_name("/BboxHead.0/conv1x1/Conv") == ("BboxHead", "0", "conv1x1")
    assert parse_scoped_name("/model.0/conv/Conv") == ("model", "0", "conv")
    assert parse_scoped_name("/Concat") == ()
    assert parse_scoped_name("model/conv2d/Conv2D") == ("model", "conv2d")  # TF-style, no leading slash
    assert parse_scoped_name("Conv_12") is None


def test_state_dict_keys_name_the_owner():
    assert param_scope(["model.0.stem_1.conv.weight", "model.0.stem_1.conv.bias"]) == ("model", "0", "stem_1", "conv")
    assert param_scope(["bbox_head.stride_cls.(16, 16).weight"]) == ("bbox_head", "stride_cls", "(16, 16)")
    # numbers (torch's folded constants) and paddle's names say nothing
    assert param_scope(["1013", "onnx::Conv_345"]) is None
    assert param_scope(["create_parameter_0.w_0_deepcopy_0"]) is None
    assert param_scope(["420", "model.2.cv1.conv.weight"]) == ("model", "2", "cv1", "conv")


def test_common_prefix():
    assert common_prefix([("a", "b", "c"), ("a", "b", "d"), ("a", "b")]) == ("a", "b")
    assert common_prefix([("a",), ("b",)]) == ()
    assert common_prefix([]) == ()


def test_pass_made_names_trace_back_to_their_nodes():
    known = {"/a/b/Conv": ("a", "b"), "/a/c/Conv": ("a", "c"), "Conv_1": None, "Conv_11": None, "Conv_1_2": None}
    assert constituents("/a/b/Conv_/a/c/Conv", known) == ["/a/b/Conv", "/a/c/Conv"]  # a fused pair
    assert constituents("/a/b/Conv_merged_part0_1", known) == ["/a/b/Conv"]
    assert constituents("Conv_11_part0_1", known) == ["Conv_11"]  # not Conv_1
    assert constituents("Conv_1_2", known) == ["Conv_1_2"]  # an original name wins whole
    assert constituents("Conv_1_2_in_transpose", known) == ["Conv_1_2"]  # the longest match, not Conv_1
    assert constituents("Relu_9", known) == []
    assert constituents("_" * 500, known) == []  # hostile: quadratic matching is bounded


def test_node_scopes_read_names_then_parameters():
    w = np.zeros((2, 2, 1, 1), np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "model.0.conv.weight"], ["a"], name="Conv_0"),
        helper.make_node("Conv", ["a", "w1"], ["b"], name="/neck/lat/Conv"),
        helper.make_node("Conv", ["b", "77"], ["y"], name="Conv_2"),
    ]
    inits = {"model.0.conv.weight": w, "w1": w, "77": w}
    m = make_model(nodes, [("x", np.float32, [1, 2, 4, 4])], [("y", np.float32, [1, 2, 4, 4])], inits)
    loaded = load_model(m)
    scopes = node_scopes(build_graph(prepare_model(loaded), loaded.label))
    assert scopes == {"Conv_0": ("model", "0", "conv"), "/neck/lat/Conv": ("neck", "lat"), "Conv_2": None}
