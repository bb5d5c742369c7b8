"""Models users bring: model-local functions, -1 dims, unknown ranks and run-time sequence lengths.

Each test builds its model here and checks both back ends against onnxruntime.
Where the translation is dynamic, one translation serves every size fed.
"""

from __future__ import annotations

from opset.program import walk_calls
from runtime.session import InferenceSession
from translator import InvalidModelError, translate
from translator.frontend import load_model, prepare_model

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from tests.util import run_ort

MODES = ("module", "oplist")


def _check(model: onnx.ModelProto, feeds: list[dict], tmp_path, atol=1e-5, rtol=1e-5, **session) -> dict:
    """Both modes (one session each, so one translation per mode unless shapes differ) match onnxruntime."""
    sessions = {mode: InferenceSession(model, mode=mode, cache_dir=tmp_path / mode, **session) for mode in MODES}
    for feed in feeds:
        want = run_ort(model, feed)
        got = {mode: s.run(None, feed) for mode, s in sessions.items()}
        for mode, outs in got.items():
            for w, g in zip(want, outs):
                assert g.shape == w.shape, (mode, g.shape, w.shape)
                np.testing.assert_allclose(g, w, atol=atol, rtol=rtol, err_msg=mode)
        for a, b in zip(got["module"], got["oplist"]):
            np.testing.assert_array_equal(a, b)
    return sessions


def _attr_ref(name: str, ref: str, kind) -> onnx.AttributeProto:
    a = onnx.AttributeProto()
    a.name, a.ref_attr_name, a.type = name, ref, kind
    return a


# -- model-local functions ------------------------------------------------------------------------------


def nested_functions_model(stale_value_info: bool = False) -> onnx.ModelProto:
    """Two calls of a local function `Block` (MatMul + Add + a call of the local function `ScaledSwish`),
    an attribute passed down by reference through both levels, as spox and torch's dynamo exporter emit."""
    swish = helper.make_function(
        "pkg.local", "ScaledSwish", ["x"], ["y"],
        [
            helper.make_node("Constant", [], ["alpha"]),
            helper.make_node("Mul", ["x", "alpha"], ["ax"]),
            helper.make_node("Sigmoid", ["ax"], ["s"]),
            helper.make_node("Mul", ["x", "s"], ["y"]),
        ],
        [helper.make_opsetid("", 18)], attributes=["alpha"],
    )  # fmt: skip
    swish.node[0].attribute.append(_attr_ref("value_float", "alpha", onnx.AttributeProto.FLOAT))
    block = helper.make_function(
        "pkg.local", "Block", ["x", "w", "b"], ["y"],
        [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["hb"]),
            helper.make_node("ScaledSwish", ["hb"], ["y"], domain="pkg.local"),
        ],
        [helper.make_opsetid("", 18), helper.make_opsetid("pkg.local", 1)], attributes=["alpha"],
    )  # fmt: skip
    block.node[2].attribute.append(_attr_ref("alpha", "alpha", onnx.AttributeProto.FLOAT))
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 8)).astype(np.float32) / 3, n) for n in ("w1", "w2")]
    inits += [numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), n) for n in ("b1", "b2")]
    nodes = [
        helper.make_node("Block", ["x", "w1", "b1"], ["h1"], domain="pkg.local", alpha=1.702),
        helper.make_node("Block", ["h1", "w2", "b2"], ["y"], domain="pkg.local", alpha=0.5),
    ]
    graph = helper.make_graph(
        nodes, "fn", [helper.make_tensor_value_info("x", TP.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TP.FLOAT, ["batch", 8])], inits,
    )  # fmt: skip
    if stale_value_info:  # an exporter's annotation that inference contradicts (onnxruntime merges leniently)
        graph.value_info.append(helper.make_tensor_value_info("h1", TP.FLOAT, [5, 3]))
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("pkg.local", 1)],
        functions=[swish, block], ir_version=8,
    )  # fmt: skip


@pytest.mark.parametrize("stale", [False, True], ids=["clean", "stale-value-info"])
def test_nested_local_functions_are_inlined(tmp_path, stale):
    model = nested_functions_model(stale)
    t = translate(model, dynamic=True)
    assert not any(c.op in ("Block", "ScaledSwish") for c in walk_calls(t.program.calls))
    assert t.op_histogram == {"Mul": 4, "MatMul": 2, "Add": 2, "Constant": 2, "Sigmoid": 2}
    rng = np.random.default_rng(1)
    feeds = [{"x": rng.standard_normal((n, 8)).astype(np.float32)} for n in (1, 3, 7)]
    _check(model, feeds, tmp_path, dynamic=True)


def test_dtype_contradictions_stay_typed_errors():
    model = nested_functions_model()
    model.graph.output[0].type.tensor_type.elem_type = TP.INT64
    with pytest.raises(InvalidModelError, match="contradict"):
        translate(model)


# -- -1 dims --------------------------------------------------------------------------------------------


def paddle_style_model() -> onnx.ModelProto:
    """Conv + BN-free head with every dynamic dim written as -1, as paddle2onnx exports."""
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Shape", ["r"], ["s"]),
        helper.make_node("Slice", ["s", "zero", "two"], ["nc"]),
        helper.make_node("Concat", ["nc", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["r", "target"], ["y"]),
    ]
    inits = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "b": rng.standard_normal(4).astype(np.float32),
        "zero": np.array([0], np.int64),
        "two": np.array([2], np.int64),
        "minus_one": np.array([-1], np.int64),
    }
    graph = helper.make_graph(
        nodes, "paddle", [helper.make_tensor_value_info("x", TP.FLOAT, [-1, 3, -1, -1])],
        [helper.make_tensor_value_info("y", TP.FLOAT, [-1, 4, -1])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_minus_one_dims_are_dynamic(tmp_path):
    model = paddle_style_model()
    loaded = load_model(model)
    assert [d.WhichOneof("value") for d in loaded.model.graph.input[0].type.tensor_type.shape.dim] == [
        None, "dim_value", None, None,
    ]  # fmt: skip
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == -1  # the caller's proto is left alone
    assert translate(model).program.inputs[0].shape == (None, 3, None, None)
    rng = np.random.default_rng(3)
    feeds = [{"x": rng.standard_normal(s).astype(np.float32)} for s in ((1, 3, 640, 640), (2, 3, 37, 50))]
    sessions = _check(model, feeds, tmp_path, dynamic=True)
    assert all(len(s._models) == 1 for s in sessions.values())
    per_shape = _check(model, feeds, tmp_path / "per_shape")  # the default: one translation per input shape
    assert all(len(s._models) == 2 for s in per_shape.values())


def test_other_negative_dims_are_still_refused():
    model = paddle_style_model()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -2
    with pytest.raises(InvalidModelError, match="negative"):
        translate(model)


# -- unknown rank, run-time sequence length -------------------------------------------------------------


def gru_with_unknown_rank_state(hidden: int = 4) -> onnx.ModelProto:
    """A GRU whose input and initial state come out of value-dependent ops (Squeeze/Unsqueeze with run-time
    axes, then ScatterND and Where), so ONNX infers no rank for them, and whose sequence length is dynamic."""
    rng = np.random.default_rng(4)
    inits = {
        "W": rng.standard_normal((1, 3 * hidden, 3)).astype(np.float32) * 0.5,
        "R": rng.standard_normal((1, 3 * hidden, hidden)).astype(np.float32) * 0.5,
        "B": rng.standard_normal((1, 6 * hidden)).astype(np.float32) * 0.1,
        "idx": np.array([[0, 0]], np.int64),
        "upd": rng.standard_normal((1, hidden)).astype(np.float32),
        "zero": np.array(0.0, np.float32),
    }
    nodes = [
        helper.make_node("Squeeze", ["h_in", "axes"], ["h_sq"]),
        helper.make_node("Unsqueeze", ["h_sq", "axes"], ["h_r"]),
        helper.make_node("ScatterND", ["h_r", "idx", "upd"], ["h_s"]),
        helper.make_node("Greater", ["h_s", "zero"], ["pos"]),
        helper.make_node("Where", ["pos", "h_s", "h_r"], ["h0"]),
        helper.make_node("Unsqueeze", ["x_in", "axes"], ["x_u"]),
        helper.make_node("Squeeze", ["x_u", "axes"], ["x"]),
        helper.make_node("GRU", ["x", "W", "R", "B", "", "h0"], ["y", "y_h"], hidden_size=hidden),
    ]
    graph = helper.make_graph(
        nodes, "gru_unknown_rank",
        [
            helper.make_tensor_value_info("x_in", TP.FLOAT, ["T", 2, 3]),
            helper.make_tensor_value_info("h_in", TP.FLOAT, [1, 2, hidden]),
            helper.make_tensor_value_info("axes", TP.INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("y", TP.FLOAT, ["T", 1, 2, hidden]),
            helper.make_tensor_value_info("y_h", TP.FLOAT, [1, 2, hidden]),
        ],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_gru_with_an_unknown_rank_state(tmp_path):
    model = gru_with_unknown_rank_state()
    inferred = {vi.name: vi for vi in prepare_model(load_model(model)).graph.value_info}
    for name in ("h0", "x"):  # the premise: ONNX's inference knows no rank for them
        assert not inferred[name].type.tensor_type.HasField("shape")
    program = translate(model, dynamic=True).program
    assert [c.fn for c in walk_calls(program.calls) if c.fn == "loop"] == ["loop"]  # steps known at run time
    rng = np.random.default_rng(5)
    feeds = [
        {"x_in": rng.standard_normal((t, 2, 3)).astype(np.float32),
         "h_in": rng.standard_normal((1, 2, 4)).astype(np.float32), "axes": np.array([0], np.int64)}
        for t in (1, 5, 12)
    ]  # fmt: skip
    sessions = _check(model, feeds, tmp_path, dynamic=True)
    assert all(len(s._models) == 1 for s in sessions.values())


@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_recurrent_ops_loop_over_a_run_time_length(tmp_path, kind, direction):
    """With the sequence length dynamic, each direction is one loop; sequence_lens masks steps."""
    gates = {"LSTM": 4, "RNN": 1}[kind]
    dirs = 2 if direction == "bidirectional" else 1
    hidden = 3
    rng = np.random.default_rng(6)
    inits = {
        "W": rng.standard_normal((dirs, gates * hidden, 2)).astype(np.float32) * 0.5,
        "R": rng.standard_normal((dirs, gates * hidden, hidden)).astype(np.float32) * 0.5,
        "B": rng.standard_normal((dirs, 2 * gates * hidden)).astype(np.float32) * 0.1,
    }
    outputs = ["y", "y_h"] + (["y_c"] if kind == "LSTM" else [])
    node = helper.make_node(kind, ["x", "W", "R", "B", "lens"], outputs, hidden_size=hidden, direction=direction)
    graph = helper.make_graph(
        [node], "rnn",
        [helper.make_tensor_value_info("x", TP.FLOAT, ["T", 2, 2]), helper.make_tensor_value_info("lens", TP.INT32, [2])],
        [helper.make_tensor_value_info(o, TP.FLOAT, ["T", dirs, 2, hidden] if o == "y" else [dirs, 2, hidden])
         for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    feeds = [
        {"x": rng.standard_normal((t, 2, 2)).astype(np.float32), "lens": np.array(lens, np.int32)}
        for t, lens in ((4, [4, 2]), (7, [7, 7]), (1, [1, 1]))
    ]
    _check(model, feeds, tmp_path, dynamic=True)
