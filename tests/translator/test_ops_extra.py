"""Attention, quantization, recurrent, signal and detection lowerings, in both modes.

Checked against onnxruntime where it implements the op, else against the ONNX
reference evaluator or hand-computed numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from tests.util import assert_matches_ort, make_model, run_mlx

RNG = np.random.default_rng(0)
MODES = ("module", "oplist")


def _rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _both_modes(model, feed, tmp_path):
    outs = {mode: run_mlx(model, feed, mode, tmp_path) for mode in MODES}
    for a, b in zip(outs["module"], outs["oplist"]):
        np.testing.assert_array_equal(a, b)
    return outs["oplist"]


def _matches_reference(model, feed, tmp_path, atol=1e-5, rtol=1e-5):
    want = ReferenceEvaluator(model).run(None, feed)
    got = _both_modes(model, feed, tmp_path)
    for w, g in zip(want, got):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, atol=atol, rtol=rtol)
    return got


# ----------------------------------------------------------------------------
# Attention family
# ----------------------------------------------------------------------------


def test_attention_3d_gqa_causal_with_past(tmp_path):
    # 6 query heads share 2 kv heads; causal frontier offset by the 3 cached keys
    node = helper.make_node(
        "Attention",
        ["q", "k", "v", "", "pk", "pv"],
        ["y", "present_k", "present_v"],
        q_num_heads=6,
        kv_num_heads=2,
        is_causal=1,
    )
    inputs = [
        ("q", np.float32, [2, 4, 48]),
        ("k", np.float32, [2, 4, 16]),
        ("v", np.float32, [2, 4, 16]),
        ("pk", np.float32, [2, 2, 3, 8]),
        ("pv", np.float32, [2, 2, 3, 8]),
    ]
    outputs = [
        ("y", np.float32, [2, 4, 48]),
        ("present_k", np.float32, [2, 2, 7, 8]),
        ("present_v", np.float32, [2, 2, 7, 8]),
    ]
    m = make_model([node], inputs, outputs, opset=23)
    feed = {name: _rand(*shape) for name, _, shape in inputs}
    _matches_reference(m, feed, tmp_path)


def test_attention_bool_mask_fully_masked_row_is_zero(tmp_path):
    node = helper.make_node("Attention", ["q", "k", "v", "mask"], ["y", "", "", "qk"], qk_matmul_output_mode=3)
    inputs = [
        ("q", np.float32, [1, 2, 3, 4]),
        ("k", np.float32, [1, 2, 5, 4]),
        ("v", np.float32, [1, 2, 5, 4]),
        ("mask", np.bool_, [3, 5]),
    ]
    m = make_model([node], inputs, [("y", np.float32, [1, 2, 3, 4]), ("qk", np.float32, [1, 2, 3, 5])], opset=23)
    mask = np.array([[1, 1, 0, 0, 1], [0, 0, 0, 0, 0], [1, 0, 1, 0, 1]], bool)
    feed = {"q": _rand(1, 2, 3, 4), "k": _rand(1, 2, 5, 4), "v": _rand(1, 2, 5, 4), "mask": mask}
    y, probs = _matches_reference(m, feed, tmp_path)
    assert not np.isnan(y).any()
    np.testing.assert_array_equal(y[:, :, 1], 0)
    np.testing.assert_array_equal(probs[:, :, 1], 0)
    np.testing.assert_allclose(probs.sum(-1)[:, :, [0, 2]], 1, rtol=1e-6)


def test_attention_nonpad_kv_seqlen_and_softcap(tmp_path):
    node = helper.make_node("Attention", ["q", "k", "v", "", "", "", "lens"], ["y"], is_causal=1, softcap=2.0)
    inputs = [
        ("q", np.float32, [2, 2, 2, 8]),
        ("k", np.float32, [2, 2, 6, 8]),
        ("v", np.float32, [2, 2, 6, 8]),
        ("lens", np.int64, [2]),
    ]
    m = make_model([node], inputs, [("y", np.float32, [2, 2, 2, 8])], opset=24)
    feed = {"q": _rand(2, 2, 2, 8), "k": _rand(2, 2, 6, 8), "v": _rand(2, 2, 6, 8), "lens": np.array([3, 6])}
    _matches_reference(m, feed, tmp_path)


def test_rotary_embedding_interleaved_partial(tmp_path):
    node = helper.make_node(
        "RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], interleaved=1, rotary_embedding_dim=4, num_heads=2
    )
    inputs = [
        ("x", np.float32, [2, 3, 12]),
        ("cos", np.float32, [8, 2]),
        ("sin", np.float32, [8, 2]),
        ("pos", np.int64, [2, 3]),
    ]
    m = make_model([node], inputs, [("y", np.float32, [2, 3, 12])], opset=23)
    feed = {"x": _rand(2, 3, 12), "cos": _rand(8, 2), "sin": _rand(8, 2), "pos": np.array([[0, 1, 2], [5, 6, 7]])}
    _matches_reference(m, feed, tmp_path)


def test_flex_attention_score_mod_subgraph(tmp_path):
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [], [0.5])
    mod = helper.make_graph(
        [helper.make_node("Mul", ["s", "bias"], ["out"])],
        "double",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [bias],
    )
    node = helper.make_node("FlexAttention", ["q", "k", "v"], ["y"], domain="ai.onnx.preview", score_mod=mod)
    inputs = [("q", np.float32, [1, 4, 3, 8]), ("k", np.float32, [1, 2, 5, 8]), ("v", np.float32, [1, 2, 5, 8])]
    m = make_model([node], inputs, [("y", np.float32, [1, 4, 3, 8])], opset=26)
    m.opset_import.append(helper.make_opsetid("ai.onnx.preview", 1))
    feed = {name: _rand(*shape) for name, _, shape in inputs}
    _matches_reference(m, feed, tmp_path)


# ----------------------------------------------------------------------------
# Quantization
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_quantize_rounds_half_to_even_and_saturates(dtype, tmp_path):
    zp = np.array(3 if dtype == np.uint8 else -2, dtype)
    node = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"])
    m = make_model([node], [("x", np.float32, [12])], [("y", dtype, [12])], {"s": np.float32(0.5), "zp": zp}, opset=13)
    x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 1e6, -1e6, 63.0, -65.0, 1e10, 0.0], np.float32)
    info = np.iinfo(dtype)
    want = np.clip(np.rint(x.astype(np.float64) / 0.5) + zp, info.min, info.max).astype(dtype)
    got = assert_matches_ort(m, {"x": x}, tmp_path, atol=0, rtol=0)[0]
    np.testing.assert_array_equal(got, want)
    assert got[0] == zp and got[1] == zp + 2  # 0.5 -> 0, 1.5 -> 2 (ties to even)


def test_quantize_dequantize_per_axis(tmp_path):
    scale = np.array([0.1, 0.2, 0.05], np.float32)
    zp = np.array([0, 10, -5], np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], axis=1),
        helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], axis=1),
    ]
    m = make_model(
        nodes,
        [("x", np.float32, [2, 3, 4])],
        [("q", np.int8, [2, 3, 4]), ("y", np.float32, [2, 3, 4])],
        {"s": scale, "zp": zp},
    )
    assert_matches_ort(m, {"x": _rand(2, 3, 4) * 3}, tmp_path, atol=1e-6)


def test_quantize_blocked_against_reference(tmp_path):
    node = helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1, block_size=3, output_dtype=TensorProto.INT16)
    m = make_model(
        [node], [("x", np.float32, [2, 7])], [("y", np.int16, [2, 7])], {"s": np.abs(_rand(2, 3)) + 0.01}, opset=21
    )
    _matches_reference(m, {"x": _rand(2, 7) * 50}, tmp_path)


def test_dynamic_quantize_linear(tmp_path):
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "zp"])
    outs = [("y", np.uint8, [3, 5]), ("s", np.float32, []), ("zp", np.uint8, [])]
    m = make_model([node], [("x", np.float32, [3, 5])], outs, opset=11)
    assert_matches_ort(m, {"x": _rand(3, 5) * 4 + 1}, tmp_path, atol=1e-7)


def test_float8_quantize_is_unsupported():
    from translator import UnsupportedFeatureError, translate

    node = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"])
    zp = helper.make_tensor("zp", TensorProto.FLOAT8E4M3FN, [], [0.0])
    m = make_model([node], [("x", np.float32, [4])], [], {"s": np.float32(1.0)}, opset=21)
    m.graph.initializer.append(zp)
    m.graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT8E4M3FN, [4]))
    with pytest.raises(UnsupportedFeatureError):
        translate(m)


# ----------------------------------------------------------------------------
# Recurrent
# ----------------------------------------------------------------------------


def _rnn_model(op, gates, hidden, direction, attrs, seq=4, batch=3, inp=5, peepholes=False):
    dirs = 2 if direction == "bidirectional" else 1
    inits = {
        "W": _rand(dirs, gates * hidden, inp),
        "R": _rand(dirs, gates * hidden, hidden),
        "B": _rand(dirs, 2 * gates * hidden),
    }
    names = ["x", "W", "R", "B", "lens", "h0"]
    inputs = [
        ("x", np.float32, [seq, batch, inp]),
        ("lens", np.int32, [batch]),
        ("h0", np.float32, [dirs, batch, hidden]),
    ]
    if op == "LSTM":
        names.append("c0")
        inputs.append(("c0", np.float32, [dirs, batch, hidden]))
        if peepholes:
            names.append("P")
            inits["P"] = _rand(dirs, 3 * hidden)
    outs = ["y", "yh"] + (["yc"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outs, hidden_size=hidden, direction=direction, **attrs)
    shapes = {"y": [seq, dirs, batch, hidden], "yh": [dirs, batch, hidden], "yc": [dirs, batch, hidden]}
    m = make_model([node], inputs, [(o, np.float32, shapes[o]) for o in outs], inits, opset=14)
    feed = {"x": _rand(seq, batch, inp), "lens": np.array([4, 2, 3], np.int32)}
    feed.update({n: _rand(*s) for n, _, s in inputs if n in ("h0", "c0")})
    return m, feed


def test_lstm_bidirectional_seq_lens_peepholes(tmp_path):
    m, feed = _rnn_model("LSTM", 4, 6, "bidirectional", {}, peepholes=True)
    assert_matches_ort(m, feed, tmp_path, atol=1e-5)


def test_gru_reverse_linear_before_reset_clip(tmp_path):
    m, feed = _rnn_model("GRU", 3, 4, "reverse", {"linear_before_reset": 1, "clip": 1.5})
    assert_matches_ort(m, feed, tmp_path, atol=1e-5)


def test_rnn_activation_params_consumed_in_order(tmp_path):
    attrs = {"activations": ["LeakyRelu", "ScaledTanh"], "activation_alpha": [0.3, 0.7], "activation_beta": [1.5]}
    m, feed = _rnn_model("RNN", 1, 4, "bidirectional", attrs)
    assert_matches_ort(m, feed, tmp_path, atol=1e-5)


# ----------------------------------------------------------------------------
# Signal and detection
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
def test_windows_constant_and_runtime_size(op, tmp_path):
    node = helper.make_node(op, ["n"], ["y"], periodic=0)
    const = make_model([node], [], [("y", np.float32, [7])], {"n": np.int64(7)}, opset=17)
    runtime_size = make_model([node], [("n", np.int64, [])], [("y", np.float32, ["N"])], opset=17)
    want = ReferenceEvaluator(const).run(None, {})[0]
    np.testing.assert_allclose(_both_modes(const, {}, tmp_path / "c")[0], want, atol=1e-6)
    np.testing.assert_allclose(_both_modes(runtime_size, {"n": np.array(7)}, tmp_path / "r")[0], want, atol=1e-6)


def test_dft_real_onesided_and_complex_inverse(tmp_path):
    nodes = [
        helper.make_node("DFT", ["x", "len"], ["f"], onesided=1, axis=1),
        helper.make_node("DFT", ["c"], ["i"], inverse=1, axis=2),
    ]
    inputs = [("x", np.float32, [2, 9, 1]), ("c", np.float32, [2, 3, 6, 2])]
    outs = [("f", np.float32, [2, 6, 2]), ("i", np.float32, [2, 3, 6, 2])]
    m = make_model(nodes, inputs, outs, {"len": np.int64(10)}, opset=19)
    x, c = _rand(2, 9, 1), _rand(2, 3, 6, 2)
    f, i = _both_modes(m, {"x": x, "c": c}, tmp_path)
    want_f = np.fft.rfft(x[..., 0].astype(np.float64), n=10, axis=1)
    np.testing.assert_allclose(f, np.stack([want_f.real, want_f.imag], -1), atol=1e-5)
    want_i = np.fft.ifft(c[..., 0] + 1j * c[..., 1], axis=2)
    np.testing.assert_allclose(i, np.stack([want_i.real, want_i.imag], -1), atol=1e-5)


def test_stft_with_window(tmp_path):
    node = helper.make_node("STFT", ["x", "step", "w"], ["y"])
    m = make_model(
        [node],
        [("x", np.float32, [1, 64, 1])],
        [("y", np.float32, [1, "F", "K", 2])],
        {"step": np.int64(8), "w": np.hanning(16).astype(np.float32)},
        opset=17,
    )
    assert_matches_ort(m, {"x": _rand(1, 64, 1)}, tmp_path, atol=1e-4)


def test_non_max_suppression_two_classes(tmp_path):
    node = helper.make_node("NonMaxSuppression", ["b", "s", "max", "iou", "thr"], ["y"])
    centers = RNG.uniform(0, 10, (2, 12, 2)).astype(np.float32)
    boxes = np.concatenate([centers, centers + RNG.uniform(1, 4, (2, 12, 2)).astype(np.float32)], -1)
    inits = {"max": np.array([4], np.int64), "iou": np.array([0.3], np.float32), "thr": np.array([0.2], np.float32)}
    m = make_model(
        [node],
        [("b", np.float32, [2, 12, 4]), ("s", np.float32, [2, 2, 12])],
        [("y", np.int64, ["K", 3])],
        inits,
        opset=11,
    )
    assert_matches_ort(m, {"b": boxes, "s": RNG.uniform(0, 1, (2, 2, 12)).astype(np.float32)}, tmp_path, atol=0)
