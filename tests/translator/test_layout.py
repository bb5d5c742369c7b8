"""NHWC layout pass, conv strategies and epilogues: parity with onnxruntime and with
the unoptimized (NCHW, no passes) translation."""

from translator import translate
from translator.lowering.ops.layout import conv_strategy

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model, run_mlx

C = 8


def _net(strides=(2, 2), act="LeakyRelu"):
    rng = np.random.default_rng(0)
    inits = {
        "w1": rng.standard_normal((C, 3, 3, 3)).astype(np.float32) * 0.3, "b1": rng.standard_normal(C).astype(np.float32),
        "wd": rng.standard_normal((C, 1, 3, 3)).astype(np.float32) * 0.3,
        "w2": rng.standard_normal((C, C, 1, 1)).astype(np.float32) * 0.3,
        "w3": rng.standard_normal((C, C, 3, 3)).astype(np.float32) * 0.3,
        "slope": rng.uniform(0, 0.5, (C, 1, 1)).astype(np.float32), "scales": np.array([1, 1, 2, 2], np.float32),
    }  # fmt: skip
    act_node = helper.make_node(act, ["c1"], ["r1"], **({"alpha": 0.1} if act == "LeakyRelu" else {}))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=list(strides)),
        act_node,
        helper.make_node("Conv", ["r1", "wd"], ["c2"], pads=[1, 1, 1, 1], group=C),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w2"], ["c3"]),
        helper.make_node("PRelu", ["c3", "slope"], ["p3"]),
        helper.make_node("Conv", ["p3", "w3"], ["c4"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c4", "r1"], ["a4"]),
        helper.make_node("MaxPool", ["a4"], ["m4"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["m4", "", "scales"], ["u4"], mode="nearest"),
        helper.make_node("Transpose", ["u4"], ["y"], perm=[0, 2, 3, 1]),
    ]
    h = 32 // strides[0]
    return make_model(nodes, [("x", np.float32, [1, 3, 32, 32])], [("y", np.float32, [1, h, h, C])], inits, opset=14)


@pytest.mark.parametrize("native", [False, True], ids=["mlx", "native"])
@pytest.mark.parametrize("act", ["LeakyRelu", "Relu", "Sigmoid", "HardSwish"])
def test_layout_network_matches_onnxruntime_and_unoptimized(act, native, tmp_path):
    m = _net(act=act)
    t = translate(m, native=native)
    assert t.notes["layout"]["nhwc_ops"] == 6
    # Only the input's transpose remains: the output transpose cancelled against the last NHWC op.
    assert t.notes["layout"]["transposes_after"] <= 1
    if native:  # every conv goes native (the depthwise one with its 1x1); the residual Add folds into the last
        assert t.notes["epilogues_fused"] == 4
        assert t.program.notes["conv_strategies"] == {"native dense": 2, "native depthwise+pointwise": 1}
    else:
        assert t.notes["epilogues_fused"] == 3
        assert set(t.program.notes["conv_strategies"]) == {"conv", "depthwise", "matmul", "shifted_gemm"}
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    fast = assert_matches_ort(m, {"x": x}, tmp_path / "fast", atol=1e-4, native=native)
    slow = run_mlx(m, {"x": x}, "oplist", tmp_path / "slow", optimize=False)
    np.testing.assert_allclose(fast[0], slow[0], atol=1e-4, rtol=1e-4)


def test_nchw_layout_option_keeps_transposes_out(tmp_path):
    m = _net()
    t = translate(m, layout="nchw")
    assert "layout" not in t.notes
    assert not any(c.fn == "addmm" for c in t.program.calls)


def test_batch_of_two(tmp_path):
    m = _net(strides=(1, 1))
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 2
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 2
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-4)


def test_strategy_choice():
    assert conv_strategy((16, 1, 1, 8), 1, [1, 1], [1, 1], [0, 0, 0, 0]) == "matmul"
    assert conv_strategy((16, 3, 3, 1), 16, [2, 2], [1, 1], [1, 1, 1, 1]) == "depthwise"
    assert conv_strategy((16, 3, 3, 8), 1, [1, 1], [1, 1], [1, 1, 1, 1]) == "shifted_gemm"
    assert conv_strategy((16, 3, 3, 8), 1, [2, 2], [1, 1], [1, 1, 1, 1]) == "conv"
    assert conv_strategy((16, 3, 3, 8), 1, [1, 1], [1, 1], [1, 1, 1, 1], device="gpu") == "conv"


def test_nhwc_inputs_take_channels_last(tmp_path):
    from runtime.session import InferenceSession

    from tests.util import run_ort

    m = _net()
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    want = run_ort(m, {"x": x})[0]
    t = translate(m, nhwc_inputs=True)
    assert t.notes["layout"]["transposes_after"] == 0
    for mode in ("module", "oplist"):
        sess = InferenceSession(m, mode=mode, nhwc_inputs=True, cache_dir=tmp_path / mode)
        assert sess.get_inputs()[0].shape == [1, 32, 32, 3]
        got = sess.run(None, {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))})[0]
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("native", [False, True], ids=["mlx", "native"])
def test_add_after_an_activation_folds_into_native_convs(native, tmp_path):
    """FPN merge: LeakyRelu(conv(x)) + upsampled -> one native conv with residual_after (same numbers)."""
    rng = np.random.default_rng(4)
    inits = {
        "w": (rng.standard_normal((C, C, 1, 1)) * 0.3).astype(np.float32), "b": rng.standard_normal(C).astype(np.float32),
        "w2": (rng.standard_normal((C, C, 3, 3)) * 0.3).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"]),
        helper.make_node("LeakyRelu", ["c"], ["r"], alpha=0.1),
        helper.make_node("Conv", ["x", "w2"], ["c2"], pads=[1, 1, 1, 1]),  # the other branch, channels-last too
        helper.make_node("Relu", ["c2"], ["u"]),
        helper.make_node("Add", ["r", "u"], ["y"]),
    ]
    shape = [1, C, 8, 8]
    m = make_model(nodes, [("x", np.float32, shape)], [("y", np.float32, shape)], inits)
    t = translate(m, native=native)
    native_calls = [c for c in t.program.calls if c.fn == "native_conv2d"]
    if native:  # two activations and the Add, which follows an activation on both sides
        assert t.notes["epilogues_fused"] == 3
        assert [c.kwargs.get("residual_after") for c in native_calls].count(True) == 1
        assert not any(c.fn == "add" for c in t.program.calls)
    else:
        assert not native_calls
    feed = {"x": rng.standard_normal(shape).astype(np.float32)}
    assert_matches_ort(m, feed, tmp_path, atol=1e-5, native=native)


@pytest.mark.parametrize("native", [False, True], ids=["mlx", "native"])
def test_activation_after_concat_moves_into_the_convs(native, tmp_path):
    """SSH module: Relu(Concat(conv, conv)) == Concat(conv+Relu, conv+Relu); no separate Relu pass remains."""
    rng = np.random.default_rng(5)
    inits = {"w1": (rng.standard_normal((4, C, 3, 3)) * 0.3).astype(np.float32),
             "w2": (rng.standard_normal((4, C, 3, 3)) * 0.3).astype(np.float32)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "w2"], ["b"], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
        helper.make_node("Relu", ["cat"], ["y"]),
    ]
    shape = [1, C, 8, 8]
    m = make_model(nodes, [("x", np.float32, shape)], [("y", np.float32, shape)], inits)
    t = translate(m, native=native)
    assert t.notes["epilogues_fused"] == 1
    if native:  # the Relu runs inside the kernels (the MLX lowering applies it per conv with maximum)
        assert not any(c.fn == "maximum" for c in t.program.calls)
    assert_matches_ort(m, {"x": rng.standard_normal(shape).astype(np.float32)}, tmp_path, native=native)


def _shuffle_block(opset=13):
    """ShuffleNetV2's unit as exported: two convs concatenated, the channel shuffle spelled as
    Reshape (N, 2, C/2, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape, then the halves split by Slice."""
    rng = np.random.default_rng(21)
    c = 8
    inits = {"wa": rng.standard_normal((c // 2, 3, 3, 3)).astype(np.float32) * 0.3,
             "wb": rng.standard_normal((c // 2, 3, 1, 1)).astype(np.float32) * 0.3,
             "wc": rng.standard_normal((c // 2, c // 2, 1, 1)).astype(np.float32) * 0.3,
             "split": np.array([1, 2, c // 2, 6, 7], np.int64), "merged": np.array([1, -1, 6, 7], np.int64),
             "s0": np.array([0], np.int64), "s1": np.array([c // 2], np.int64), "s2": np.array([c], np.int64),
             "ax": np.array([1], np.int64)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "wa"], ["a"], pads=[1, 1, 1, 1]), helper.make_node("Conv", ["x", "wb"], ["b"]),
        helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
        helper.make_node("Reshape", ["cat", "split"], ["r5"]),
        helper.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t5", "merged"], ["shuffled"]),
        helper.make_node("Slice", ["shuffled", "s0", "s1", "ax"], ["keep"]),
        helper.make_node("Slice", ["shuffled", "s1", "s2", "ax"], ["branch"]),
        helper.make_node("Conv", ["branch", "wc"], ["bc"]), helper.make_node("Relu", ["bc"], ["br"]),
        helper.make_node("Concat", ["keep", "br"], ["y"], axis=1),
    ]  # fmt: skip
    return make_model(nodes, [("x", np.float32, [1, 3, 6, 7])], [("y", np.float32, [1, c, 6, 7])], inits, opset=opset)


@pytest.mark.parametrize("native", [False, True], ids=["mlx", "native"])
def test_channel_shuffle_stays_channels_last(native, tmp_path):
    m = _shuffle_block()
    t = translate(m, native=native)
    assert t.notes["channel_shuffles"] == 1
    # the input's transposes (one per conv reading it) and the output's: the shuffle and both slices
    # moved to NHWC with the convs (spelled out as a 5-D reshape, the shuffle pinned them to NCHW)
    assert t.notes["layout"]["transposes_after"] == 3
    calls = [c.fn for c in t.program.calls]
    assert calls[0] == "transpose" and calls[-1] == "transpose" and calls[1:-1].count("transpose") == 1
    # with native kernels the Concat + shuffle pair is one interleave of the two branches
    assert t.notes.get("concat_shuffles_interleaved") == (1 if native else None)
    assert ("native_interleave" in calls) == native
    x = np.random.default_rng(22).standard_normal((1, 3, 6, 7)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=native)


def test_channel_shuffle_matches_its_reference():
    from tests.util import shuffle_reference

    x = np.arange(2 * 6 * 2 * 1).reshape(2, 6, 2, 1)
    # channels 0..5 in 2 groups of 3 -> 0, 3, 1, 4, 2, 5
    np.testing.assert_array_equal(shuffle_reference(x, 1, 2)[0, :, 0, 0], x[0, [0, 3, 1, 4, 2, 5], 0, 0])


@pytest.mark.parametrize(
    "opset, with_axes", [(10, False), (13, False), (18, True)], ids=["pad2", "pad13", "pad18_axes"]
)
def test_a_pad_between_nhwc_ops_keeps_the_layout(opset, with_axes, tmp_path):
    # MediaPipe's channel-Pad shortcut (and a spatial pad) between convs: the layout pass carries the
    # transposes through the Pad (its amounts permuted) instead of stopping at it
    rng = np.random.default_rng(9)
    c = 4
    inits = {
        "w1": rng.standard_normal((c, 3, 3, 3)).astype(np.float32),
        "w2": rng.standard_normal((c + 2, c + 2, 1, 1)).astype(np.float32),
    }
    pads = [0, 1, 0, 2, 0, 1, 1, 0]  # channels 1 + 1, W 2 | 0, H 0 | 1
    if opset < 11:
        pad = helper.make_node("Pad", ["c1"], ["p"], pads=pads, mode="constant")
    elif with_axes:
        inits["pads"], inits["axes"] = np.array([1, 0, 2, 1, 1, 0], np.int64), np.array([1, 2, 3], np.int64)
        inits["v"] = np.array(0.0, np.float32)
        pad = helper.make_node("Pad", ["c1", "pads", "v", "axes"], ["p"])
    else:
        inits["pads"] = np.array(pads, np.int64)
        pad = helper.make_node("Pad", ["c1", "pads"], ["p"])
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        pad,
        helper.make_node("Relu", ["p"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["y"]),
    ]
    model = make_model(
        nodes, [("x", np.float32, [1, 3, 9, 11])], [("y", np.float32, [1, c + 2, 10, 13])], inits, opset=opset
    )
    fns = [call.fn for call in translate(model).program.calls]
    assert fns.count("transpose") <= 2, fns  # the graph's own NCHW input and output only
    assert_matches_ort(model, {"x": rng.standard_normal((1, 3, 9, 11)).astype(np.float32)}, tmp_path, atol=1e-4)


@pytest.mark.parametrize("middle", ["resize_linear_scales", "resize_cubic_sizes", "resize_axes", "depth_to_space"])
def test_resize_and_depth_to_space_between_nhwc_convs_keep_the_layout(middle, tmp_path):
    # BiSeNet/MODNet upsample bilinearly between convs, and strided ConvTransposes become a conv + DepthToSpace:
    # the transposes pass through them (per-axis scales/sizes permuted; DepthToSpace has an NHWC twin)
    rng = np.random.default_rng(4)
    c, hw = 8, (6, 7)
    inits = {"w1": rng.standard_normal((c, 3, 3, 3)).astype(np.float32)}
    if middle == "resize_linear_scales":
        inits["s"] = np.array([1, 1, 2, 1.5], np.float32)
        mid = helper.make_node("Resize", ["c1", "", "s"], ["m"], mode="linear")
        out_c, out_hw = c, (12, 10)
    elif middle == "resize_cubic_sizes":
        inits["z"] = np.array([1, c, 11, 13], np.int64)
        mid = helper.make_node("Resize", ["c1", "", "", "z"], ["m"], mode="cubic")
        out_c, out_hw = c, (11, 13)
    elif middle == "resize_axes":
        inits["z"] = np.array([9, 5], np.int64)
        mid = helper.make_node("Resize", ["c1", "", "", "z"], ["m"], mode="linear", axes=[2, 3])
        out_c, out_hw = c, (9, 5)
    else:
        mid = helper.make_node("DepthToSpace", ["c1"], ["m"], blocksize=2, mode="DCR")
        out_c, out_hw = c // 4, (12, 14)
    inits["w2"] = rng.standard_normal((4, out_c, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        mid,
        helper.make_node("Conv", ["m", "w2"], ["y"]),
    ]
    model = make_model(nodes, [("x", np.float32, [1, 3, *hw])], [("y", np.float32, [1, 4, *out_hw])], inits, opset=19)
    layout = translate(model).program.notes["layout"]
    assert layout["transposes_after"] <= 2, layout  # the graph's own NCHW input and output only
    assert_matches_ort(model, {"x": rng.standard_normal((1, 3, *hw)).astype(np.float32)}, tmp_path, atol=1e-4)


@pytest.mark.parametrize("opset", [13, 18])
def test_keepdims_reductions_between_nhwc_convs_keep_the_layout(opset, tmp_path):
    # XSeg's FRN: x * rsqrt(mean(x^2 over H, W) + eps) between convs; ReduceMean's axes are an attribute before
    # opset 18 and an input from it; ReduceMax over the channels is reduced too (axes renumbered either way)
    rng = np.random.default_rng(6)
    c, hw = 8, (7, 9)
    inits = {
        "w1": rng.standard_normal((c, 3, 3, 3)).astype(np.float32),
        "w2": rng.standard_normal((4, c, 1, 1)).astype(np.float32),
    }
    inits["eps"] = np.array([1e-6], np.float32)
    if opset >= 18:
        inits["hw_axes"], inits["c_axes"] = np.array([2, 3], np.int64), np.array([1], np.int64)
        mean = helper.make_node("ReduceMean", ["sq", "hw_axes"], ["nu2"], keepdims=1)
        peak = helper.make_node("ReduceMax", ["c1", "c_axes"], ["peak"], keepdims=1)
    else:
        mean = helper.make_node("ReduceMean", ["sq"], ["nu2"], axes=[2, 3], keepdims=1)
        peak = helper.make_node("ReduceMax", ["c1"], ["peak"], axes=[1], keepdims=1)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c1", "c1"], ["sq"]),
        mean,
        helper.make_node("Add", ["nu2", "eps"], ["d"]),
        helper.make_node("Sqrt", ["d"], ["s"]),
        helper.make_node("Div", ["c1", "s"], ["n"]),
        peak,
        helper.make_node("Sub", ["n", "peak"], ["m"]),
        helper.make_node("Conv", ["m", "w2"], ["y"]),
    ]
    model = make_model(nodes, [("x", np.float32, [1, 3, *hw])], [("y", np.float32, [1, 4, *hw])], inits, opset=opset)
    layout = translate(model).program.notes["layout"]
    assert layout["transposes_after"] <= 2, layout
    assert_matches_ort(model, {"x": rng.standard_normal((1, 3, *hw)).astype(np.float32)}, tmp_path, atol=1e-4)


def test_a_squeeze_excite_scale_meets_the_nhwc_map_without_moving_it(tmp_path):
    # SE: pool -> FC -> sigmoid -> Reshape (N, C, 1, 1) -> Mul with the map. The run-time (1, C, 1, 1) operand
    # is transposed instead (only size-1 dims move: a reshape), so the map stays NHWC around the Mul
    rng = np.random.default_rng(8)
    c, hw = 8, (9, 7)
    inits = {
        "w1": rng.standard_normal((c, 3, 3, 3)).astype(np.float32), "fc": rng.standard_normal((c, c)).astype(np.float32),
        "shape": np.array([1, c, 1, 1], np.int64), "w2": rng.standard_normal((4, c, 1, 1)).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c1"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "fc"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["s"]),
        helper.make_node("Reshape", ["s", "shape"], ["s4"]),
        helper.make_node("Mul", ["c1", "s4"], ["m"]),
        helper.make_node("Conv", ["m", "w2"], ["y"]),
    ]
    model = make_model(nodes, [("x", np.float32, [1, 3, *hw])], [("y", np.float32, [1, 4, *hw])], inits, opset=17)
    layout = translate(model).program.notes["layout"]
    assert layout["transposes_after"] <= 2, layout  # the graph's input and output (the SE one became a reshape)
    assert_matches_ort(model, {"x": rng.standard_normal((1, 3, *hw)).astype(np.float32)}, tmp_path, atol=1e-4)


def test_a_small_nchw_part_of_a_concat_is_transposed_instead_of_the_maps(tmp_path):
    # MODNet's fusion branch concatenates the 3-channel NCHW image with 32-channel conv maps: the image part
    # takes a transpose, and the concat and the conv after it stay NHWC
    rng = np.random.default_rng(10)
    c, hw = 16, (9, 8)
    inits = {
        "w1": rng.standard_normal((c, 3, 3, 3)).astype(np.float32),
        "w2": rng.standard_normal((4, c + 3, 3, 3)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Concat", ["r1", "x"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    model = make_model(nodes, [("x", np.float32, [1, 3, *hw])], [("y", np.float32, [1, 4, *hw])], inits, opset=17)
    layout = translate(model).program.notes["layout"]
    assert layout["transposes_after"] <= 3, layout  # input (twice: conv and concat) and output; the maps stay
    assert_matches_ort(model, {"x": rng.standard_normal((1, 3, *hw)).astype(np.float32)}, tmp_path, atol=1e-4)
