"""Graph passes: each checked on the IR, and numerically against onnxruntime."""

from translator import translate
from translator.frontend import build_graph, load_model, prepare_model
from translator.passes import eliminate_dead_code, fold_constants, fuse_batchnorm, remove_identities

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.util import assert_matches_ort, make_model


def _graph(model):
    loaded = load_model(model)
    return build_graph(prepare_model(loaded), loaded.label)


def _ops(graph):
    return sorted(n.op_type for n in graph.nodes)


def test_identity_and_dropout_removed():
    m = make_model(
        [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Dropout", ["a"], ["b"]),
         helper.make_node("Relu", ["b"], ["c"]), helper.make_node("Identity", ["c"], ["y"])],
        [("x", np.float32, [4])], [("y", np.float32, [4])],
    )  # fmt: skip
    g = _graph(m)
    assert remove_identities(g) == 3
    assert _ops(g) == ["Relu"]
    assert g.outputs == ["y"] and g.producer("y").op_type == "Relu"
    x = np.array([-1, 2, -3, 4], np.float32)
    assert_matches_ort(m, {"x": x})


def test_dead_code_eliminated():
    m = make_model(
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["unused"])],
        [("x", np.float32, [4])], [("y", np.float32, [4])],
    )  # fmt: skip
    g = _graph(m)
    assert eliminate_dead_code(g) == 1
    assert _ops(g) == ["Relu"]


def test_shape_subgraph_folds_when_input_shape_is_fixed():
    # Shape -> Gather -> Unsqueeze -> Concat -> Reshape: a flatten written the exporter's way.
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    inits = {"zero": np.array(0, np.int64), "axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int64)}
    m = make_model(nodes, [("x", np.float32, [2, 3, 4])], [("y", np.float32, [2, 12])], inits)
    g = _graph(m)
    assert fold_constants(g) == 4
    assert _ops(g) == ["Reshape"]
    assert g.value(g.node(g.nodes[0].name).inputs[1]).const.tolist() == [2, -1]
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert_matches_ort(m, {"x": x})


def test_shape_subgraph_stays_dynamic_when_input_shape_is_not():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    inits = {"zero": np.array(0, np.int64), "axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int64)}
    m = make_model(nodes, [("x", np.float32, ["N", 3, 4])], [("y", np.float32, ["N", 12])], inits)
    g = _graph(m)
    fold_constants(g)
    assert "Shape" in _ops(g)
    t = translate(m)
    assert any(c.fn == "shape_of" for c in t.program.calls)


def _conv_bn_model(with_bias: bool):
    rng = np.random.default_rng(0)
    c_in, c_out = 3, 4
    inits = {
        "w": rng.standard_normal((c_out, c_in, 3, 3)).astype(np.float32),
        "gamma": rng.uniform(0.5, 1.5, c_out).astype(np.float32),
        "beta": rng.standard_normal(c_out).astype(np.float32),
        "mean": rng.standard_normal(c_out).astype(np.float32),
        "var": rng.uniform(0.5, 2, c_out).astype(np.float32),
    }
    conv_inputs = ["x", "w"]
    if with_bias:
        inits["b"] = rng.standard_normal(c_out).astype(np.float32)
        conv_inputs.append("b")
    nodes = [
        helper.make_node("Conv", conv_inputs, ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"], epsilon=1e-3),
    ]
    return make_model(nodes, [("x", np.float32, [1, c_in, 8, 8])], [("y", np.float32, [1, c_out, 8, 8])], inits)


def test_conv_batchnorm_fused_and_numerically_equal(tmp_path):
    for with_bias in (False, True):
        m = _conv_bn_model(with_bias)
        g = _graph(m)
        assert fuse_batchnorm(g) == {"Conv+BatchNormalization": 1}
        assert _ops(g) == ["Conv"]
        x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
        assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-4)


def test_gemm_and_matmul_batchnorm_fused(tmp_path):
    rng = np.random.default_rng(2)
    bn = {
        "gamma": rng.uniform(0.5, 1.5, 5).astype(np.float32), "beta": rng.standard_normal(5).astype(np.float32),
        "mean": rng.standard_normal(5).astype(np.float32), "var": rng.uniform(0.5, 2, 5).astype(np.float32),
    }  # fmt: skip
    for op, extra in (("Gemm", {"transB": 1}), ("MatMul", {})):
        w = rng.standard_normal((5, 6) if op == "Gemm" else (6, 5)).astype(np.float32)
        nodes = [helper.make_node(op, ["x", "w"], ["h"], **extra),
                 helper.make_node("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["y"])]  # fmt: skip
        m = make_model(nodes, [("x", np.float32, [2, 6])], [("y", np.float32, [2, 5])], {"w": w, **bn})
        g = _graph(m)
        assert fuse_batchnorm(g) == {f"{op}+BatchNormalization": 1}
        assert _ops(g) == ["Gemm"]
        x = rng.standard_normal((2, 6)).astype(np.float32)
        assert_matches_ort(m, {"x": x}, tmp_path / op, atol=1e-4)


def test_lone_batchnorm_becomes_scale_and_shift(tmp_path):
    rng = np.random.default_rng(3)
    bn = {
        "gamma": rng.uniform(0.5, 1.5, 3).astype(np.float32), "beta": rng.standard_normal(3).astype(np.float32),
        "mean": rng.standard_normal(3).astype(np.float32), "var": rng.uniform(0.5, 2, 3).astype(np.float32),
    }  # fmt: skip
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "gamma", "beta", "mean", "var"], ["y"])]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [1, 3, 4, 4])], [("y", np.float32, [1, 3, 4, 4])], bn)
    g = _graph(m)
    assert fuse_batchnorm(g) == {"BatchNormalization->Mul+Add": 1}
    assert _ops(g) == ["Add", "Mul", "Relu"]
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5)


def test_unoptimized_translation_keeps_nodes():
    m = _conv_bn_model(True)
    t = translate(m, optimize=False)
    assert "constants_folded" not in t.notes


def _heads_model(channels, acts=None, opset=17, c_in=6, kernel=3):
    """One feature map read by sibling convs (a detector's heads), each followed by `acts[i]` or nothing."""
    rng = np.random.default_rng(sum(channels))
    nodes, inits, outputs = [], {}, []
    for i, c in enumerate(channels):
        inits[f"w{i}"] = rng.standard_normal((c, c_in, kernel, kernel)).astype(np.float32)
        inits[f"b{i}"] = rng.standard_normal(c).astype(np.float32)
        act = (acts or [None] * len(channels))[i]
        conv_out = f"c{i}" if act else f"y{i}"
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", ["x", f"w{i}", f"b{i}"], [conv_out], pads=[pad] * 4))
        if act:
            nodes.append(helper.make_node(act, [conv_out], [f"y{i}"]))
        outputs.append((f"y{i}", np.float32, [1, c, 9, 7]))
    return make_model(nodes, [("x", np.float32, [1, c_in, 9, 7])], outputs, inits, opset=opset)


def _heads_feed():
    return {"x": np.random.default_rng(5).standard_normal((1, 6, 9, 7)).astype(np.float32)}


def test_sibling_head_convs_merge_into_one(tmp_path):
    for native in (True, False):
        for opset in (11, 17):  # Split's sizes: an attribute before opset 13, an input after
            m = _heads_model([2, 8, 20], opset=opset)
            t = translate(m, native=native)
            assert t.notes["sibling_convs_merged"] == 2
            assert sum(t.program.notes["conv_strategies"].values()) == 1
            assert_matches_ort(m, _heads_feed(), tmp_path / f"{native}{opset}", atol=1e-4, native=native)


def test_siblings_merge_only_with_the_same_activation(tmp_path):
    m = _heads_model([2, 8, 4], acts=["Relu", None, "Relu"])
    t = translate(m, native=True)
    assert t.notes["sibling_convs_merged"] == 1  # the two Relu convs; the plain one stays alone
    assert t.program.notes["conv_strategies"] == {"native dense": 2}
    assert_matches_ort(m, _heads_feed(), tmp_path, atol=1e-4, native=True)


def test_wide_siblings_stay_apart():
    # 32 output channels already fill the widest GEMM panel; a merged output would be strided views
    t = translate(_heads_model([32, 8], kernel=1), native=True)
    assert "sibling_convs_merged" not in t.notes
    assert t.program.notes["conv_strategies"] == {"native dense": 2}


def _ssh_model(extra_consumer=False):
    """RetinaFace's SSH shape: three branches concatenated along channels, then Relu, then a 1x1 head."""
    rng = np.random.default_rng(7)
    inits = {
        "w0": rng.standard_normal((8, 4, 1, 1)).astype(np.float32),  # branches of different shapes,
        "wt": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),  # so no two merge as siblings
        "w1": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
        "w2": rng.standard_normal((4, 4, 5, 5)).astype(np.float32),
        "wh": rng.standard_normal((6, 16, 1, 1)).astype(np.float32),
        "bh": rng.standard_normal(6).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "w0"], ["b0"]),
             helper.make_node("Conv", ["x", "wt"], ["t"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["t", "w1"], ["b1"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["t", "w2"], ["b2"], pads=[2, 2, 2, 2])]  # fmt: skip
    nodes += [helper.make_node("Concat", ["b0", "b1", "b2"], ["cat"], axis=1), helper.make_node("Relu", ["cat"], ["r"]),
              helper.make_node("Conv", ["r", "wh", "bh"], ["h"]), helper.make_node("Sigmoid", ["h"], ["y"])]  # fmt: skip
    outputs = [("y", np.float32, [1, 6, 7, 9])]
    if extra_consumer:
        nodes.append(helper.make_node("Neg", ["r"], ["z"]))
        outputs.append(("z", np.float32, [1, 16, 7, 9]))
    return make_model(nodes, [("x", np.float32, [1, 4, 7, 9])], outputs, inits)


def test_conv_over_concat_becomes_a_chain_of_convs(tmp_path):
    m = _ssh_model()
    t = translate(m, native=True)
    assert t.notes["concats_split_into_convs"] == 1
    assert not any(c.fn == "concatenate" for c in t.program.calls)
    assert t.program.notes["conv_strategies"] == {"native dense": 7}  # 4 branch convs + the head in 3 parts
    x = np.random.default_rng(8).standard_normal((1, 4, 7, 9)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_concat_read_elsewhere_is_kept(tmp_path):
    """Kept, and with native kernels a channel concat on their threads (passes/native.py)."""
    m = _ssh_model(extra_consumer=True)
    for native in (True, False):
        t = translate(m, native=native)
        assert "concats_split_into_convs" not in t.notes
        assert any(c.fn == ("native_concat" if native else "concatenate") for c in t.program.calls)
    x = np.random.default_rng(9).standard_normal((1, 4, 7, 9)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_native_sigmoid_and_last_axis_softmax(tmp_path):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Softmax", ["s"], ["y"], axis=-1),
             helper.make_node("Softmax", ["x"], ["z"], axis=1)]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [2, 3, 5])], [("y", np.float32, [2, 3, 5]), ("z", np.float32, [2, 3, 5])],
                   opset=13)  # fmt: skip
    calls = sorted(c.fn for c in translate(m, native=True).program.calls)
    assert calls == ["native_sigmoid", "native_softmax", "softmax"]  # axis 1 stays with MLX
    assert sorted(c.fn for c in translate(m, native=False).program.calls) == ["sigmoid", "softmax", "softmax"]
    x = np.random.default_rng(10).standard_normal((2, 3, 5)).astype(np.float32) * 4
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_folding_repeats_until_shapes_settle():
    """SCRFD's FPN sizes each Resize from the Shape of an Add whose other operand is the previous Resize:
    its shape is known only once that Resize's sizes fold and shapes are reinferred. Folding runs again
    until nothing changes, so every upsampling becomes a static NHWC one (one transpose: the input's)."""
    from tools.zoo import ZOO

    z = ZOO["scrfd_640"]
    t = translate(z.path, input_shapes={"input.1": (1, 3, 640, 640)}, native=True)
    fns = [c.fn for c in t.program.calls]
    assert "resize_nd" not in fns
    assert fns.count("transpose") == 1


def _mobilenet_block(extra_consumer=False):
    """Depthwise 3x3 + BN + Relu, then 1x1 + BN + Relu, then a residual Add: an inverted-residual tail."""
    rng = np.random.default_rng(11)
    c, co = 6, 6
    inits = {
        "wd": rng.standard_normal((c, 1, 3, 3)).astype(np.float32),
        "bd": rng.standard_normal(c).astype(np.float32),
        "wp": rng.standard_normal((co, c, 1, 1)).astype(np.float32),
        "bp": rng.standard_normal(co).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "wd", "bd"], ["d"], group=c, pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["d"], ["dr"]), helper.make_node("Conv", ["dr", "wp", "bp"], ["p"]),
             helper.make_node("Relu", ["p"], ["pr"]), helper.make_node("Add", ["pr", "x"], ["y"])]  # fmt: skip
    outputs = [("y", np.float32, [1, co, 7, 9])]
    if extra_consumer:
        nodes.append(helper.make_node("Neg", ["dr"], ["z"]))
        outputs.append(("z", np.float32, [1, c, 7, 9]))
    return make_model(nodes, [("x", np.float32, [1, c, 7, 9])], outputs, inits)


def test_depthwise_and_pointwise_fuse(tmp_path):
    m = _mobilenet_block()
    t = translate(m, native=True)
    assert t.notes["depthwise_pointwise_fused"] == 1
    assert t.program.notes["conv_strategies"] == {"native depthwise+pointwise": 1}
    x = np.random.default_rng(12).standard_normal((1, 6, 7, 9)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def _yunet_block(last_pointwise: bool, extra_consumer: bool = False):
    """1x1 conv, then depthwise 3x3 + BN + Relu (YuNet's block), then maybe a 1x1 conv + Relu."""
    rng = np.random.default_rng(13)
    ci, c, co = 5, 6, 7
    inits = {
        "wq": rng.standard_normal((c, ci, 1, 1)).astype(np.float32),
        "bq": rng.standard_normal(c).astype(np.float32),
        "wd": rng.standard_normal((c, 1, 3, 3)).astype(np.float32),
        "bd": rng.standard_normal(c).astype(np.float32),
        "wp": rng.standard_normal((co, c, 1, 1)).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "wq", "bq"], ["q"]),
             helper.make_node("Conv", ["q", "wd", "bd"], ["d"], group=c, pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["d"], ["y" if not last_pointwise else "dr"])]  # fmt: skip
    if last_pointwise:
        nodes += [helper.make_node("Conv", ["dr", "wp"], ["p"]), helper.make_node("Relu", ["p"], ["y"])]
    outputs = [("y", np.float32, [1, co if last_pointwise else c, 5, 6])]
    if extra_consumer:
        nodes.append(helper.make_node("Neg", ["q"], ["z"]))
        outputs.append(("z", np.float32, [1, c, 9, 11]))
    return make_model(nodes, [("x", np.float32, [1, ci, 9, 11])], outputs, inits)


@pytest.mark.parametrize("last_pointwise", [False, True], ids=["pw_dw", "pw_dw_pw"])
def test_pointwise_and_depthwise_fuse(tmp_path, last_pointwise):
    m = _yunet_block(last_pointwise)
    t = translate(m, native=True)
    assert t.notes["pointwise_depthwise_fused"] == 1
    want = "native pointwise+depthwise" + ("+pointwise" if last_pointwise else "")
    assert t.program.notes["conv_strategies"] == {want: 1}
    x = np.random.default_rng(14).standard_normal((1, 5, 9, 11)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_pointwise_output_read_elsewhere_or_switched_off_is_not_fused(tmp_path, monkeypatch):
    t = translate(_yunet_block(True, extra_consumer=True), native=True)
    assert "pointwise_depthwise_fused" not in t.notes
    monkeypatch.setenv("MLX_UNIFACE_PW_DW", "0")
    t = translate(_yunet_block(True), native=True)
    assert "pointwise_depthwise_fused" not in t.notes
    assert t.notes["depthwise_pointwise_fused"] == 1


def _stem_chain(mid: bool, last_pointwise: bool, reader: str | None = None):
    """A network's start: a 3x3 stride-2 stem (+ Relu) on 3 channels, maybe a 1x1 conv (+ Relu; YuNet's), a
    depthwise 3x3 (+ Relu), maybe a 1x1 conv. reader: "stem" or "mid", that output is also a graph output."""
    rng = np.random.default_rng(21)
    cs, c, co = 8, 6, 7
    inits = {
        "ws": (rng.standard_normal((cs, 3, 3, 3)) / 5).astype(np.float32),
        "bs": rng.standard_normal(cs).astype(np.float32),
        "wm": (rng.standard_normal((c, cs, 1, 1)) / 3).astype(np.float32),
        "bm": rng.standard_normal(c).astype(np.float32),
        "wd": rng.standard_normal((c if mid else cs, 1, 3, 3)).astype(np.float32),
        "wp": rng.standard_normal((co, c if mid else cs, 1, 1)).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "ws", "bs"], ["s"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["s"], ["sr"])]  # fmt: skip
    dw_in = "sr"
    if mid:
        nodes += [helper.make_node("Conv", ["sr", "wm", "bm"], ["m"]), helper.make_node("Relu", ["m"], ["mr"])]
        dw_in = "mr"
    nodes += [helper.make_node("Conv", [dw_in, "wd"], ["d"], group=c if mid else cs, pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["d"], ["y" if not last_pointwise else "dr"])]  # fmt: skip
    if last_pointwise:
        nodes.append(helper.make_node("Conv", ["dr", "wp"], ["y"]))
    outputs = [("y", np.float32, [1, co if last_pointwise else (c if mid else cs), 10, 12])]
    if reader:
        value, channels = {"stem": ("sr", cs), "mid": ("mr", c)}[reader]
        nodes.append(helper.make_node("Neg", [value], ["z"]))
        outputs.append(("z", np.float32, [1, channels, 10, 12]))
    return make_model(nodes, [("x", np.float32, [1, 3, 19, 23])], outputs, inits)


@pytest.mark.parametrize("mid", [False, True], ids=["stem_dw", "stem_pw_dw"])
@pytest.mark.parametrize("last_pointwise", [False, True], ids=["", "pw"])
def test_stem_chains_fuse(tmp_path, mid, last_pointwise):
    """SCRFD's start (stem, depthwise) and YuNet's (stem, 1x1, depthwise) become one native call."""
    m = _stem_chain(mid, last_pointwise)
    t = translate(m, native=True)
    assert t.notes["pointwise_depthwise_fused"] == 1
    want = "native stem" + ("+pointwise" if mid else "") + "+depthwise" + ("+pointwise" if last_pointwise else "")
    assert t.program.notes["conv_strategies"] == {want: 1}
    x = np.random.default_rng(22).standard_normal((1, 3, 19, 23)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_stem_chains_read_elsewhere_or_switched_off_are_not_fused(tmp_path, monkeypatch):
    x = np.random.default_rng(23).standard_normal((1, 3, 19, 23)).astype(np.float32)
    # the stem's map is read elsewhere: it is written, and the 1x1 conv fuses with the depthwise conv alone
    m = _stem_chain(True, False, reader="stem")
    t = translate(m, native=True)
    assert t.program.notes["conv_strategies"] == {"native dense": 1, "native pointwise+depthwise": 1}
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    # the 1x1 conv's map is read elsewhere: nothing fuses
    m = _stem_chain(True, False, reader="mid")
    t = translate(m, native=True)
    assert "pointwise_depthwise_fused" not in t.notes
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    monkeypatch.setenv("MLX_UNIFACE_STEM_CHAIN", "0")  # the A/B switch: the stem alone, as before
    t = translate(_stem_chain(True, False), native=True)
    assert t.program.notes["conv_strategies"] == {"native dense": 1, "native pointwise+depthwise": 1}
    t = translate(_stem_chain(False, False), native=True)  # stem -> depthwise still fuses
    assert t.program.notes["conv_strategies"] == {"native stem+depthwise": 1}
    monkeypatch.setenv("MLX_UNIFACE_STEM_DW", "0")
    t = translate(_stem_chain(False, False), native=True)
    assert "pointwise_depthwise_fused" not in t.notes


def test_depthwise_output_read_elsewhere_is_not_fused(tmp_path):
    m = _mobilenet_block(extra_consumer=True)
    t = translate(m, native=True)
    assert "depthwise_pointwise_fused" not in t.notes
    assert t.program.notes["conv_strategies"] == {"native dense": 1, "native depthwise": 1}
    x = np.random.default_rng(13).standard_normal((1, 6, 7, 9)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def _conv_pool(first: str, h: int = 16, w: int = 20, pool: tuple = (2, 2, 0), reader: bool = False):
    """A depthwise 3x3 conv + Relu, then MaxPool (kernel, stride, pad) (YuNet's stage ends); first: "dense" (a
    stem and a dense 3x3 conv before it: the depthwise conv stays a plain native conv), "1x1" (fused with it as
    a PointwiseDepthwise chain) or "stem+1x1" (YuNet's first block: stem, 1x1, depthwise). reader: the
    depthwise output is also a graph output."""
    rng = np.random.default_rng(31)
    ci, c = 3, 8
    inits = {
        "w0": (rng.standard_normal((c, ci, 3, 3)) / 5).astype(np.float32),
        "w1": (rng.standard_normal((c, ci if first == "1x1" else c, 1, 1)) / 3).astype(np.float32),
        "w2": (rng.standard_normal((c, c, 3, 3)) / 8).astype(np.float32),
        "wd": rng.standard_normal((c, 1, 3, 3)).astype(np.float32),
        "bd": rng.standard_normal(c).astype(np.float32),
    }
    stem_pads, stem_stride = ([1, 1, 1, 1], 2) if first == "stem+1x1" else ([1, 1, 1, 1], 1)
    nodes = []
    if first in ("dense", "stem+1x1"):
        nodes.append(helper.make_node("Conv", ["x", "w0"], ["s0" if first == "dense" else "s"], pads=stem_pads,
                                      strides=[stem_stride] * 2))  # fmt: skip
    if first == "dense":
        nodes.append(helper.make_node("Conv", ["s0", "w2"], ["s"], pads=[1, 1, 1, 1]))
    if first in ("1x1", "stem+1x1"):
        nodes.append(helper.make_node("Conv", ["s" if first == "stem+1x1" else "x", "w1"], ["q"]))
    nodes += [helper.make_node("Conv", ["q" if first != "dense" else "s", "wd", "bd"], ["d"], group=c, pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["d"], ["dr"])]  # fmt: skip
    k, s, p = pool
    nodes.append(helper.make_node("MaxPool", ["dr"], ["y"], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4))
    outputs = [("y", np.float32, None)]
    if reader:
        outputs.append(("dr", np.float32, None))
    return make_model(nodes, [("x", np.float32, [1, ci, h, w])], outputs, inits)


@pytest.mark.parametrize("first", ["dense", "1x1", "stem+1x1"])
def test_max_pools_fuse_into_depthwise_convs(tmp_path, first):
    m = _conv_pool(first)
    t = translate(m, native=True)
    assert t.notes["max_pools_fused_into_convs"] == 1
    assert all(c.fn != "native_max_pool2d" for c in t.program.calls)
    fused = {"dense": "native_conv2d", "1x1": "native_pw_dw_conv2d", "stem+1x1": "native_pw_dw_conv2d"}[first]
    assert [c.fn for c in t.program.calls if c.kwargs.get("pool")] == [fused]
    x = np.random.default_rng(32).standard_normal((1, 3, 16, 20)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


@pytest.mark.parametrize(
    "why,kwargs",
    [("odd height", {"h": 15}), ("3x3 pool", {"pool": (3, 2, 1)}), ("padded pool", {"pool": (2, 2, 1)}),
     ("stride-1 pool", {"pool": (2, 1, 0)}), ("read elsewhere", {"reader": True})],
)  # fmt: skip
def test_max_pools_that_cannot_fuse_stay_apart(tmp_path, monkeypatch, why, kwargs):
    m = _conv_pool("1x1", **kwargs)
    t = translate(m, native=True)
    assert "max_pools_fused_into_convs" not in t.notes, why
    x = np.random.default_rng(33).standard_normal((1, 3, kwargs.get("h", 16), 20)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_max_pool_fusion_switch(monkeypatch):
    monkeypatch.setenv("MLX_UNIFACE_CONV_POOL", "0")
    t = translate(_conv_pool("1x1"), native=True)
    assert "max_pools_fused_into_convs" not in t.notes


def _shuffle_units(units: int = 2, c: int = 8, h: int = 12, reader: bool = False, residual: bool = False):
    """ShuffleNet units between two 1x1 convs, as YOLOv5n-Face exports them: slice the map into halves, run the
    second through 1x1, 3x3 depthwise, 1x1 (each with a Relu), concat with the first, shuffle (Reshape,
    Transpose, Reshape). reader: the first unit's branch output is also a graph output; residual: the branch
    ends in an Add."""
    rng = np.random.default_rng(41)
    inits, nodes, x = {"zero": np.array([0], np.int64), "half": np.array([c], np.int64)}, [], "x"
    inits |= {"all": np.array([2 * c], np.int64), "axis": np.array([1], np.int64)}
    inits |= {"w_in": (rng.standard_normal((2 * c, 2 * c, 1, 1)) / 4).astype(np.float32)}
    inits |= {"w_out": (rng.standard_normal((4, 2 * c, 1, 1)) / 4).astype(np.float32)}
    nodes.append(helper.make_node("Conv", ["x", "w_in"], ["x0"]))
    x = "x0"
    inits |= {"groups": np.array([1, 2, c, h, h], np.int64), "whole": np.array([1, 2 * c, h, h], np.int64)}
    outputs = []
    for u in range(units):
        inits |= {
            f"wa{u}": (rng.standard_normal((c, c, 1, 1)) / 3).astype(np.float32),
            f"wd{u}": rng.standard_normal((c, 1, 3, 3)).astype(np.float32),
            f"wb{u}": (rng.standard_normal((c, c, 1, 1)) / 3).astype(np.float32),
            f"b{u}": rng.standard_normal(c).astype(np.float32),
        }
        nodes += [
            helper.make_node("Slice", [x, "zero", "half", "axis"], [f"p{u}"]),
            helper.make_node("Slice", [x, "half", "all", "axis"], [f"q{u}"]),
            helper.make_node("Conv", [f"q{u}", f"wa{u}", f"b{u}"], [f"a{u}"]),
            helper.make_node("Relu", [f"a{u}"], [f"ar{u}"]),
            helper.make_node("Conv", [f"ar{u}", f"wd{u}"], [f"d{u}"], group=c, pads=[1, 1, 1, 1]),
            helper.make_node("Conv", [f"d{u}", f"wb{u}", f"b{u}"], [f"e{u}"]),
            helper.make_node("Relu", [f"e{u}"], [f"er{u}"]),
        ]
        branch = f"er{u}"
        if residual:
            nodes.append(helper.make_node("Add", [branch, f"q{u}"], [f"r{u}"]))
            branch = f"r{u}"
        if reader and u == 0:
            outputs.append((branch, np.float32, None))
        nodes += [
            helper.make_node("Concat", [f"p{u}", branch], [f"c{u}"], axis=1),
            helper.make_node("Reshape", [f"c{u}", "groups"], [f"g{u}"]),
            helper.make_node("Transpose", [f"g{u}"], [f"t{u}"], perm=[0, 2, 1, 3, 4]),
            helper.make_node("Reshape", [f"t{u}", "whole"], [f"s{u}"]),
        ]
        x = f"s{u}"
    nodes.append(helper.make_node("Conv", [x, "w_out"], ["y"]))
    return make_model(nodes, [("x", np.float32, [1, 2 * c, h, h])], [("y", np.float32, None), *outputs], inits)


def test_shuffles_fuse_into_the_branch_convs(tmp_path):
    """Each unit's interleave becomes the branch chain's interleaved output, the next unit's 1x1 conv reads its
    half of that map in place, and the result matches onnxruntime."""
    m = _shuffle_units()
    t = translate(m, native=True)
    assert t.notes["interleaves_fused_into_convs"] == 2
    assert all(c.fn != "native_interleave" for c in t.program.calls)
    assert [c.fn for c in t.program.calls if "interleave_with" in c.kwargs] == ["native_pw_dw_conv2d"] * 2
    x = np.random.default_rng(42).standard_normal((1, 16, 12, 12)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


@pytest.mark.parametrize("why,kwargs", [("read elsewhere", {"reader": True}), ("residual", {"residual": True})])
def test_shuffles_that_cannot_fuse_stay_interleaves(tmp_path, why, kwargs):
    m = _shuffle_units(**kwargs)
    t = translate(m, native=True)
    assert t.notes.get("interleaves_fused_into_convs", 0) == (1 if why == "read elsewhere" else 0), why
    x = np.random.default_rng(43).standard_normal((1, 16, 12, 12)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_shuffle_fusion_switch(monkeypatch):
    monkeypatch.setenv("MLX_UNIFACE_CONV_SHUFFLE", "0")
    t = translate(_shuffle_units(), native=True)
    assert "interleaves_fused_into_convs" not in t.notes
    assert sum(c.fn == "native_interleave" for c in t.program.calls) == 2


def _fpn(lateral_read_elsewhere: bool = True, broadcast: bool = False):
    """An FPN level as YuNet's neck has it: a backbone map (also read by the next stage when
    lateral_read_elsewhere) plus the nearest 2x upsampling of a coarser map, then a 1x1 conv. broadcast: the
    coarser map's Add partner is a per-channel constant instead (a broadcasting Add, which must stay)."""
    rng = np.random.default_rng(51)
    c = 8
    inits = {name: (rng.standard_normal((c, c, k, k)) / 4).astype(np.float32)
             for name, k in (("w_lat", 3), ("w_down", 3), ("w_top", 1), ("w_out", 1))}  # fmt: skip
    inits["scales"] = np.array([1, 1, 2, 2], np.float32)
    inits["bias"] = rng.standard_normal((1, c, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w_lat"], ["lat"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["lat"], ["lat_r"]),
        helper.make_node("Conv", ["lat_r", "w_down"], ["down"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["down"], ["down_r"]),
        helper.make_node("Conv", ["down_r", "w_top"], ["top"]),
        helper.make_node("Resize", ["top", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Add", ["bias" if broadcast else "lat_r", "up"], ["sum"]),
        helper.make_node("Conv", ["sum", "w_out"], ["y"]),
    ]
    outputs = [("y", np.float32, None)]
    if lateral_read_elsewhere:
        outputs.append(("down_r", np.float32, None))
    return make_model(nodes, [("x", np.float32, [1, c, 16, 12])], outputs, inits)


def test_fpn_adds_fold_into_the_upsampling(tmp_path):
    m = _fpn()
    t = translate(m, native=True)
    assert t.notes["adds_fused_into_upsamples"] == 1
    ups = [c for c in t.program.calls if c.fn == "native_upsample_nearest"]
    assert len(ups) == 1 and "residual" in ups[0].kwargs
    assert all(c.fn != "add" for c in t.program.calls)
    x = np.random.default_rng(52).standard_normal((1, 8, 16, 12)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_broadcasting_adds_stay_apart_from_the_upsampling(tmp_path, monkeypatch):
    m = _fpn(broadcast=True)
    t = translate(m, native=True)
    assert "adds_fused_into_upsamples" not in t.notes
    x = np.random.default_rng(53).standard_normal((1, 8, 16, 12)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    monkeypatch.setenv("MLX_UNIFACE_UPSAMPLE_ADD", "0")
    assert "adds_fused_into_upsamples" not in translate(_fpn(), native=True).notes


def _heads(batch: int = 1, reshape_read_elsewhere: bool = False):
    """RetinaFace's heads in small: per level, sibling 1x1 convs for boxes (4 a cell x 2 anchors) and landmarks
    (10 x 2), each transposed to NHWC and reshaped to (N, -1, k); the levels' boxes concatenated along axis 1,
    the landmarks left per level (SCRFD's outputs). reshape_read_elsewhere: level 0's box reshape is also an
    output of its own."""
    rng = np.random.default_rng(61)
    nodes, inits, boxes, outputs = [], {}, [], []
    for level in range(2):
        src = "x" if level == 0 else "down"
        if level == 1:
            inits["w_down"] = (rng.standard_normal((6, 6, 3, 3)) / 4).astype(np.float32)
            nodes.append(helper.make_node("Conv", ["x", "w_down"], ["down"], pads=[1, 1, 1, 1], strides=[2, 2]))
        for head, k in (("box", 4), ("kps", 10)):
            inits[f"w_{head}{level}"] = (rng.standard_normal((2 * k, 6, 1, 1)) / 4).astype(np.float32)
            inits[f"shape_{head}{level}"] = np.array([batch, -1, k], np.int64)
            nodes += [
                helper.make_node("Conv", [src, f"w_{head}{level}"], [f"{head}{level}"]),
                helper.make_node("Transpose", [f"{head}{level}"], [f"{head}{level}_t"], perm=[0, 2, 3, 1]),
                helper.make_node("Reshape", [f"{head}{level}_t", f"shape_{head}{level}"], [f"{head}{level}_r"]),
            ]
        boxes.append(f"box{level}_r")
        outputs.append((f"kps{level}_r", np.float32, None))
    nodes.append(helper.make_node("Concat", boxes, ["boxes"], axis=1))
    outputs.append(("boxes", np.float32, None))
    if reshape_read_elsewhere:
        outputs.append(("box0_r", np.float32, None))
    return make_model(nodes, [("x", np.float32, [batch, 6, 8, 6])], outputs, inits)


def test_head_reshapes_and_concats_become_flat_copies(tmp_path):
    m = _heads()
    t = translate(m, native=True)
    assert t.notes["sibling_convs_merged"] == 2
    flat = [c for c in t.program.calls if c.fn == "native_flat_concat"]
    assert t.notes["flat_concats"] == 1 and len(flat) == 1  # the boxes' Concat, reading both slices in place
    assert [a.name for a in flat[0].args[0]] == ["box0_nhwc", "box1_nhwc"]
    assert all(c.fn != "concatenate" for c in t.program.calls)
    x = np.random.default_rng(62).standard_normal((1, 6, 8, 6)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_flat_copies_keep_what_else_reads_and_leave_batches_alone(tmp_path, monkeypatch):
    m = _heads(reshape_read_elsewhere=True)  # level 0's box reshape is an output too: the Concat reads it
    t = translate(m, native=True)
    assert t.notes["flat_concats"] == 1
    concat = next(c for c in t.program.calls if c.fn == "native_flat_concat")
    assert [a.name for a in concat.args[0]] == ["box0_r", "box1_nhwc"]
    x = np.random.default_rng(63).standard_normal((1, 6, 8, 6)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path / "elsewhere", atol=1e-5, native=True)
    m2 = _heads(batch=2)  # a Concat after a batch axis of 2 is not the parts one after another
    assert "flat_concats" not in translate(m2, native=True).notes
    x2 = np.random.default_rng(64).standard_normal((2, 6, 8, 6)).astype(np.float32)
    assert_matches_ort(m2, {"x": x2}, tmp_path / "batch", atol=1e-5, native=True)
    monkeypatch.setenv("MLX_UNIFACE_FLAT_CONCAT", "0")
    assert "flat_concats" not in translate(_heads(), native=True).notes


def _stem_block(stem_is_output: bool = False):
    """YOLOv5n's StemBlock in small: a 3x3 stride-2 stem (SiLU) read by a 2x2 max pool and by a 1x1 conv (SiLU)
    whose 3x3 stride-2 conv meets the pool in a Concat and a 1x1 conv."""
    rng = np.random.default_rng(71)
    inits = {"w_stem": (rng.standard_normal((8, 3, 3, 3)) / 4).astype(np.float32),
             "b_stem": rng.standard_normal(8).astype(np.float32),
             "w_a": (rng.standard_normal((4, 8, 1, 1)) / 4).astype(np.float32),
             "w_b": (rng.standard_normal((8, 4, 3, 3)) / 4).astype(np.float32),
             "w_out": (rng.standard_normal((8, 16, 1, 1)) / 4).astype(np.float32)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w_stem", "b_stem"], ["stem_c"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["stem_c"], ["stem_s"]),
        helper.make_node("Mul", ["stem_c", "stem_s"], ["stem"]),
        helper.make_node("MaxPool", ["stem"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["stem", "w_a"], ["a_c"]),
        helper.make_node("Sigmoid", ["a_c"], ["a_s"]),
        helper.make_node("Mul", ["a_c", "a_s"], ["a"]),
        helper.make_node("Conv", ["a", "w_b"], ["b_c"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["b_c"], ["b"]),
        helper.make_node("Concat", ["b", "pool"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w_out"], ["y"]),
    ]
    outputs = [("y", np.float32, None)] + ([("stem", np.float32, None)] if stem_is_output else [])
    return make_model(nodes, [("x", np.float32, [1, 3, 32, 24])], outputs, inits)


def test_a_stem_read_by_a_pool_and_a_1x1_conv_becomes_one_call(tmp_path):
    m = _stem_block()
    t = translate(m, native=True)
    assert t.notes["stems_split"] == 1
    calls = [c.fn for c in t.program.calls]
    assert calls.count("native_stem_split") == 1 and "native_max_pool2d" not in calls
    x = np.random.default_rng(72).standard_normal((1, 3, 32, 24)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_a_stem_read_elsewhere_stays_apart(tmp_path, monkeypatch):
    m = _stem_block(stem_is_output=True)
    assert "stems_split" not in translate(m, native=True).notes
    x = np.random.default_rng(73).standard_normal((1, 3, 32, 24)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    monkeypatch.setenv("MLX_UNIFACE_STEM_SPLIT", "0")
    assert "stems_split" not in translate(_stem_block(), native=True).notes


def _neck(reader: str | None = None, kernel: int = 1):
    """YOLOv5n's neck in small: a coarse map's 1x1 conv, upsampled 2x (nearest), concatenated with a finer
    map (a conv's output, as the backbone's) and read by two SiLU convs (a C3 block's cv1 and cv2; the first
    kernel x kernel). reader: "upsample" also outputs the upsampled map, "concat" the concatenation itself."""
    rng = np.random.default_rng(81)
    inits = {
        "w_top": (rng.standard_normal((6, 5, 1, 1)) / 2).astype(np.float32),
        "scales": np.array([1, 1, 2, 2], np.float32),
        "w_fine": (rng.standard_normal((3, 3, 3, 3)) / 3).astype(np.float32),
        "w1": (rng.standard_normal((4, 9, kernel, kernel)) / 3).astype(np.float32),
        "b1": rng.standard_normal(4).astype(np.float32),
        "w2": (rng.standard_normal((5, 9, 1, 1)) / 3).astype(np.float32),
        "b2": rng.standard_normal(5).astype(np.float32),
    }
    pad = kernel // 2
    nodes = [
        helper.make_node("Conv", ["coarse", "w_top"], ["top"]),
        helper.make_node("Resize", ["top", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Conv", ["fine", "w_fine"], ["lateral"], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["up", "lateral"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w1", "b1"], ["c1"], pads=[pad] * 4),
        helper.make_node("Sigmoid", ["c1"], ["s1"]),
        helper.make_node("Mul", ["c1", "s1"], ["y1"]),
        helper.make_node("Conv", ["cat", "w2", "b2"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Mul", ["c2", "s2"], ["y2"]),
    ]
    outputs = [("y1", np.float32, None), ("y2", np.float32, None)]
    if reader:
        outputs.append(({"upsample": "up", "concat": "cat"}[reader], np.float32, None))
    inputs = [("coarse", np.float32, [1, 5, 6, 7]), ("fine", np.float32, [1, 3, 12, 14])]
    return make_model(nodes, inputs, outputs, inits)


def _neck_feed(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"coarse": rng.standard_normal((1, 5, 6, 7)).astype(np.float32),
            "fine": rng.standard_normal((1, 3, 12, 14)).astype(np.float32)}  # fmt: skip


def _calls(m) -> list[str]:
    return [c.fn for c in translate(m, native=True).program.calls]


def test_a_concat_read_by_two_convs_is_split_for_each_and_its_upsampled_part_convolved_coarse(tmp_path):
    m = _neck()
    t = translate(m, native=True)
    assert t.notes["concats_split_into_convs"] == 1
    calls = [c.fn for c in t.program.calls]
    assert "native_concat" not in calls and "concatenate" not in calls
    # each conv adds its own coarse partial sum, read upsampled (passes/upsample_add.py): nothing is upsampled
    assert calls.count("native_upsample_nearest") == 0
    ups = [c.kwargs.get("residual_up") for c in t.program.calls if c.fn == "native_conv2d"]
    assert ups.count((2, 2)) == 2
    assert t.program.notes["conv_strategies"] == {"native dense": 6}  # top, fine, and two parts for each reader
    assert_matches_ort(m, _neck_feed(82), tmp_path, atol=1e-5, native=True)


@pytest.mark.parametrize("why, upsamplings", [("upsampled map read elsewhere", 1), ("3x3 reader", 1)])
def test_an_upsampling_still_needed_is_made_once(tmp_path, why, upsamplings):
    """1x1 readers still convolve the coarse map; what else needs the upsampled map gets the one upsampling."""
    m = _neck(reader="upsample") if why == "upsampled map read elsewhere" else _neck(kernel=3)
    t = translate(m, native=True)
    assert t.notes["concats_split_into_convs"] == 1
    calls = [c.fn for c in t.program.calls]
    assert "native_concat" not in calls and calls.count("native_upsample_nearest") == upsamplings
    assert_matches_ort(m, _neck_feed(83), tmp_path, atol=1e-5, native=True)


def test_a_concat_that_is_an_output_stays(tmp_path):
    m = _neck(reader="concat")
    assert "concats_split_into_convs" not in translate(m, native=True).notes
    assert_matches_ort(m, _neck_feed(84), tmp_path, atol=1e-5, native=True)


def test_concat_split_switches(monkeypatch):
    monkeypatch.setenv("MLX_UNIFACE_CONCAT_LOW_RES", "0")
    calls = _calls(_neck())
    assert "native_concat" not in calls and calls.count("native_upsample_nearest") == 1
    monkeypatch.setenv("MLX_UNIFACE_CONCAT_SHARED", "0")
    assert "native_concat" in _calls(_neck())


def _yolo_head(per: int = 16, reader: bool = False):
    """YOLOv5's Detect layer on one level: a 1x1 conv of 3 anchors x `per` values, viewed as (N, 3, per, H, W)
    and permuted to (N, 3, H, W, per). reader: the conv's output is also a graph output."""
    rng = np.random.default_rng(91)
    inits = {
        "w_in": (rng.standard_normal((8, 3, 3, 3)) / 3).astype(np.float32),
        "w": (rng.standard_normal((3 * per, 8, 1, 1)) / 3).astype(np.float32),
        "b": rng.standard_normal(3 * per).astype(np.float32),
        "shape": np.array([2, 3, per, 6, 5], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w_in"], ["f"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["f"], ["fr"]),
        helper.make_node("Conv", ["fr", "w", "b"], ["c"]),
        helper.make_node("Reshape", ["c", "shape"], ["v"]),
        helper.make_node("Transpose", ["v"], ["y"], perm=[0, 1, 3, 4, 2]),
    ]
    outputs = [("y", np.float32, None)] + ([("c", np.float32, None)] if reader else [])
    return make_model(nodes, [("x", np.float32, [2, 3, 6, 5])], outputs, inits)


def test_a_yolo_head_conv_writes_its_anchor_planes(tmp_path):
    m = _yolo_head()
    t = translate(m, native=True)
    assert t.notes["convs_writing_groups"] == 1
    head = [c for c in t.program.calls if c.fn == "native_conv2d" and c.kwargs.get("out_groups")]
    assert len(head) == 1 and head[0].kwargs["out_groups"] == 3
    assert sum(c.fn == "transpose" for c in t.program.calls) == 1  # the input's, to NHWC
    x = np.random.default_rng(92).standard_normal((2, 3, 6, 5)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


@pytest.mark.parametrize("why", ["10 values an anchor", "conv output read elsewhere", "switched off"])
def test_heads_that_cannot_write_anchor_planes_keep_their_transposes(tmp_path, monkeypatch, why):
    m = _yolo_head(per=10) if why == "10 values an anchor" else _yolo_head(reader=why == "conv output read elsewhere")
    if why == "switched off":
        monkeypatch.setenv("MLX_UNIFACE_GROUP_OUTPUT", "0")
    assert "convs_writing_groups" not in translate(m, native=True).notes
    x = np.random.default_rng(93).standard_normal((2, 3, 6, 5)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def _lateral_fpn(reader: bool = False, c_out: int = 8):
    """An FPN level as SCRFD's and RetinaFace's necks have it: a lateral 1x1 conv plus the nearest 2x upsampling
    of the coarser level, then a 3x3 conv. reader: the upsampled map is also a graph output."""
    rng = np.random.default_rng(61)
    inits = {
        "w_lat": (rng.standard_normal((c_out, 6, 1, 1)) / 2).astype(np.float32),
        "b_lat": rng.standard_normal(c_out).astype(np.float32),
        "w_down": (rng.standard_normal((6, 6, 3, 3)) / 4).astype(np.float32),
        "w_top": (rng.standard_normal((c_out, 6, 1, 1)) / 2).astype(np.float32),
        "w_out": (rng.standard_normal((4, c_out, 3, 3)) / 4).astype(np.float32),
        "scales": np.array([1, 1, 2, 2], np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w_lat", "b_lat"], ["lat"]),
        helper.make_node("Conv", ["x", "w_down"], ["down"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["down"], ["down_r"]),
        helper.make_node("Conv", ["down_r", "w_top"], ["top"]),
        helper.make_node("Resize", ["top", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Add", ["lat", "up"], ["sum"]),
        helper.make_node("Conv", ["sum", "w_out"], ["y"], pads=[1, 1, 1, 1]),
    ]
    outputs = [("y", np.float32, None)] + ([("up", np.float32, None)] if reader else [])
    return make_model(nodes, [("x", np.float32, [2, 6, 10, 8])], outputs, inits)


@pytest.mark.parametrize("c_out", [8, 20])
def test_a_lateral_conv_reads_the_coarser_level_itself(tmp_path, c_out):
    m = _lateral_fpn(c_out=c_out)
    t = translate(m, native=True)
    assert t.notes["upsampled_residuals_read_coarse"] == 1
    calls = [c for c in t.program.calls if c.fn.startswith("native_")]
    assert not any(c.fn == "native_upsample_nearest" for c in calls)
    assert [c.kwargs.get("residual_up") for c in calls if "residual" in c.kwargs] == [(2, 2)]
    x = np.random.default_rng(62).standard_normal((2, 6, 10, 8)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_an_upsampled_map_read_elsewhere_or_switched_off_stays(tmp_path, monkeypatch):
    m = _lateral_fpn(reader=True)
    assert "upsampled_residuals_read_coarse" not in translate(m, native=True).notes
    x = np.random.default_rng(63).standard_normal((2, 6, 10, 8)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    monkeypatch.setenv("MLX_UNIFACE_RESIDUAL_UP", "0")
    assert "upsampled_residuals_read_coarse" not in translate(_lateral_fpn(), native=True).notes


def _c3_end(widths=(8, 8), coarse: bool = False):
    """A C3 block's end in small: branches of `widths` channels (3x3 convs) concatenated and read by a 1x1 SiLU conv;
    coarse: a nearest 2x upsampling of a coarser map joins them (YOLOv5n's neck)."""
    rng = np.random.default_rng(101)
    inits = {f"w{i}": (rng.standard_normal((c, 4, 3, 3)) / 4).astype(np.float32) for i, c in enumerate(widths)}
    k = sum(widths) + (6 if coarse else 0)
    inits |= {
        "w_out": (rng.standard_normal((5, k, 1, 1)) / 3).astype(np.float32),
        "b_out": rng.standard_normal(5).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", f"w{i}"], [f"b{i}"], pads=[1, 1, 1, 1]) for i in range(len(widths))]
    parts = [f"b{i}" for i in range(len(widths))]
    if coarse:
        inits |= {
            "w_top": (rng.standard_normal((6, 4, 3, 3)) / 4).astype(np.float32),
            "scales": np.array([1, 1, 2, 2], np.float32),
        }
        nodes += [helper.make_node("Conv", ["x", "w_top"], ["top"], pads=[1, 1, 1, 1], strides=[2, 2]),
                  helper.make_node("Resize", ["top", "", "scales"], ["up"], mode="nearest")]  # fmt: skip
        parts = ["up"] + parts
    nodes += [helper.make_node("Concat", parts, ["cat"], axis=1),
              helper.make_node("Conv", ["cat", "w_out", "b_out"], ["c"]),
              helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])]  # fmt: skip
    return make_model(nodes, [("x", np.float32, [2, 4, 8, 6])], [("y", np.float32, None)], inits)


@pytest.mark.parametrize("coarse", [False, True])
def test_a_1x1_conv_reads_the_concatenated_parts_in_place(tmp_path, coarse):
    m = _c3_end(coarse=coarse)
    t = translate(m, native=True)
    calls = [c for c in t.program.calls if c.fn.startswith("native_")]
    fns = [c.fn for c in calls]
    assert fns.count("native_concat_conv2d") == 1 and "native_concat" not in fns
    assert "native_upsample_nearest" not in fns  # a coarse part: its conv's output is read upsampled
    if coarse:
        (parts_conv,) = [c for c in calls if c.fn == "native_concat_conv2d"]
        assert parts_conv.kwargs.get("residual_up") == (2, 2)
    x = np.random.default_rng(102).standard_normal((2, 4, 8, 6)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def test_parts_without_a_long_common_segment_or_switched_off_are_chained(tmp_path, monkeypatch):
    fns = _calls(_c3_end(widths=(8, 4)))  # gcd 4: segments too short for the kernel's vectors
    assert "native_concat_conv2d" not in fns and "native_concat" not in fns
    assert_matches_ort(
        _c3_end(widths=(8, 4)), {"x": np.ones((2, 4, 8, 6), np.float32)}, tmp_path, atol=1e-5, native=True
    )
    monkeypatch.setenv("MLX_UNIFACE_CONCAT_PARTS", "0")
    assert "native_concat_conv2d" not in _calls(_c3_end())


def _merged_heads_reshaped(reader: bool = False):
    """SCRFD's heads in small: sibling 3x3 convs of 2, 8 and 20 channels (merged, then split), each output
    transposed to NHWC and reshaped to (-1, k). reader: the boxes' conv output is also a graph output."""
    m = _heads_model([2, 8, 20])
    g = m.graph
    del g.output[:]
    for i, k in enumerate((2, 4, 10)):
        g.initializer.append(numpy_helper.from_array(np.array([-1, k], np.int64), f"flat{i}"))
        g.node.extend([helper.make_node("Transpose", [f"y{i}"], [f"t{i}"], perm=[0, 2, 3, 1]),
                       helper.make_node("Reshape", [f"t{i}", f"flat{i}"], [f"r{i}"])])  # fmt: skip
        g.output.append(helper.make_tensor_value_info(f"r{i}", TensorProto.FLOAT, None))
    if reader:
        g.output.append(helper.make_tensor_value_info("y1", TensorProto.FLOAT, None))
    return m


def test_a_merged_head_is_split_into_contiguous_parts_in_one_pass(tmp_path):
    m = _merged_heads_reshaped()
    t = translate(m, native=True)
    assert t.notes["sibling_convs_merged"] == 2 and t.notes["native_channel_splits"] == 1
    assert [c.fn for c in t.program.calls].count("native_split_channels") == 1
    assert_matches_ort(m, _heads_feed(), tmp_path, atol=1e-4, native=True)


def test_a_split_whose_part_is_read_elsewhere_or_switched_off_stays_views(tmp_path, monkeypatch):
    m = _merged_heads_reshaped(reader=True)
    assert "native_channel_splits" not in translate(m, native=True).notes
    assert_matches_ort(m, _heads_feed(), tmp_path, atol=1e-4, native=True)
    monkeypatch.setenv("MLX_UNIFACE_SPLIT", "0")
    assert "native_channel_splits" not in translate(_merged_heads_reshaped(), native=True).notes


def test_a_concat_reading_one_map_twice_gives_each_read_its_own_weights(tmp_path):
    """Concat([a, a]) read by a 1x1 conv: each copy of a takes its own slice of W (a review found both taking the
    second slice: offsets were keyed by the part's name)."""
    rng = np.random.default_rng(111)
    inits = {"w_a": (rng.standard_normal((16, 4, 3, 3)) / 4).astype(np.float32),
             "w": (rng.standard_normal((8, 32, 1, 1)) / 4).astype(np.float32)}  # fmt: skip
    nodes = [helper.make_node("Conv", ["x", "w_a"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["a", "a"], ["cat"], axis=1), helper.make_node("Conv", ["cat", "w"], ["y"])]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [1, 4, 6, 5])], [("y", np.float32, None)], inits)
    x = rng.standard_normal((1, 4, 6, 5)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLX_UNIFACE_CONCAT_PARTS", "0")  # the chained form too
        assert_matches_ort(m, {"x": x}, tmp_path / "chained", atol=1e-5, native=True)


def test_a_dilated_head_conv_keeps_its_transposes(tmp_path):
    """The group-major output is the GEMM's: a dilated conv (run over phase grids) is left as it was."""
    rng = np.random.default_rng(112)
    inits = {"w": (rng.standard_normal((32, 4, 3, 3)) / 4).astype(np.float32),
             "shape": np.array([1, 2, 16, 6, 5], np.int64)}  # fmt: skip
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[2, 2, 2, 2], dilations=[2, 2]),
             helper.make_node("Reshape", ["c", "shape"], ["v"]),
             helper.make_node("Transpose", ["v"], ["y"], perm=[0, 1, 3, 4, 2])]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [1, 4, 6, 5])], [("y", np.float32, None)], inits)
    assert "convs_writing_groups" not in translate(m, native=True).notes
    assert_matches_ort(m, {"x": rng.standard_normal((1, 4, 6, 5)).astype(np.float32)}, tmp_path, atol=1e-5, native=True)
