"""Tricky cases of the neural-network lowerings, checked against onnxruntime in both modes.

Most checks run the unoptimized translation (optimize=False keeps ONNX's NCHW layout,
so the lowerings in translator/lowering/ops/nn.py run as written) and the default
optimized one (the NHWC layout pass may take over 4-D convs, pools and Resize).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from tests import exact_reference
from tests.util import assert_both_modes_equal, assert_matches_ort, make_model

RNG = np.random.default_rng(0)
OPTIMIZE = (False, True)


def _rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inputs, out_shape, inits=None, opset=17, out_dtype=np.float32, outputs=None):
    outs = outputs or [("y", out_dtype, out_shape)]
    return make_model(nodes, inputs, outs, inits, opset=opset)


# ----------------------------------------------------------------------------
# Conv / ConvTranspose
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimize", OPTIMIZE)
def test_conv_asymmetric_pads_strides_dilations_const_weight(optimize, tmp_path):
    w, b = _rand(6, 4, 3, 3, scale=0.3), _rand(6)
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], pads=[0, 1, 2, 0], strides=[2, 1], dilations=[1, 2], kernel_shape=[3, 3]
    )
    m = _model([node], [("x", np.float32, [2, 4, 9, 10])], [2, 6, 5, 7], {"w": w, "b": b})
    assert_matches_ort(m, {"x": _rand(2, 4, 9, 10)}, tmp_path, atol=1e-4, optimize=optimize)


@pytest.mark.parametrize("optimize", OPTIMIZE)
def test_conv_depthwise_and_grouped(optimize, tmp_path):
    wd = _rand(8, 1, 3, 3, scale=0.3)
    wg = _rand(6, 4, 1, 3, scale=0.3)
    nodes = [
        helper.make_node("Conv", ["x", "wd"], ["d"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Conv", ["d", "wg"], ["y"], pads=[0, 0, 0, 2], group=2, strides=[1, 2]),
    ]
    m = _model(nodes, [("x", np.float32, [1, 8, 6, 7])], [1, 6, 6, 4], {"wd": wd, "wg": wg})
    assert_matches_ort(m, {"x": _rand(1, 8, 6, 7)}, tmp_path, atol=1e-4, optimize=optimize)


def test_conv_runtime_weight_1d_and_3d_grouped(tmp_path):
    n1 = helper.make_node("Conv", ["x1", "w1"], ["y1"], pads=[2, 1], strides=[2], group=2)
    n3 = helper.make_node("Conv", ["x3", "w3", "b3"], ["y3"], pads=[1, 0, 1, 0, 1, 1], group=2)
    m = make_model(
        [n1, n3],
        [
            ("x1", np.float32, [1, 4, 11]),
            ("w1", np.float32, [6, 2, 3]),
            ("x3", np.float32, [1, 4, 5, 4, 3]),
            ("w3", np.float32, [4, 2, 3, 2, 2]),
            ("b3", np.float32, [4]),
        ],
        [("y1", np.float32, [1, 6, 6]), ("y3", np.float32, [1, 4, 4, 4, 4])],
        opset=17,
    )
    feed = {
        "x1": _rand(1, 4, 11),
        "w1": _rand(6, 2, 3),
        "x3": _rand(1, 4, 5, 4, 3),
        "w3": _rand(4, 2, 3, 2, 2),
        "b3": _rand(4),
    }
    assert_matches_ort(m, feed, tmp_path, atol=1e-4, optimize=False)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_conv_auto_pad(auto_pad, tmp_path):
    w = _rand(3, 2, 4, 3, scale=0.3)
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=auto_pad, strides=[2, 2])
    out = [1, 3, 4, 4] if auto_pad != "VALID" else [1, 3, 3, 3]
    m = _model([node], [("x", np.float32, [1, 2, 8, 7])], out, {"w": w})
    assert_matches_ort(m, {"x": _rand(1, 2, 8, 7)}, tmp_path, atol=1e-4, optimize=False)


@pytest.mark.parametrize("const_weight", [True, False])
def test_conv_transpose_groups_output_padding_pads(const_weight, tmp_path):
    w = _rand(4, 3, 3, 3, scale=0.3)
    node = helper.make_node(
        "ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 0, 0, 2], output_padding=[1, 0], group=2
    )
    inputs = [("x", np.float32, [1, 4, 5, 4])]
    inits = {"b": _rand(6)}
    feed = {"x": _rand(1, 4, 5, 4)}
    if const_weight:
        inits["w"] = w
    else:
        inputs.append(("w", np.float32, [4, 3, 3, 3]))
        feed["w"] = w
    m = _model([node], inputs, [1, 6, 11, 7], inits)
    assert_matches_ort(m, feed, tmp_path, atol=1e-4, optimize=False)


def test_conv_transpose_output_shape_and_dilations(tmp_path):
    w = _rand(2, 3, 3, 2, scale=0.3)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[3, 2], output_shape=[12, 9], dilations=[1, 2])
    m = _model([node], [("x", np.float32, [1, 2, 4, 4])], [1, 3, 12, 9], {"w": w})
    assert_matches_ort(m, {"x": _rand(1, 2, 4, 4)}, tmp_path, atol=1e-4, optimize=False)


# ----------------------------------------------------------------------------
# Pools
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimize", OPTIMIZE)
@pytest.mark.parametrize("pads", [[0, 0, 0, 0], [1, 0, 1, 1]])
def test_maxpool_ceil_mode(pads, optimize, tmp_path):
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=pads, ceil_mode=1)
    x = _rand(1, 3, 8, 7)
    out_h = -(-(8 + pads[0] + pads[2] - 3) // 2) + 1
    out_w = -(-(7 + pads[1] + pads[3] - 2) // 2) + 1
    m = _model([node], [("x", np.float32, [1, 3, 8, 7])], [1, 3, out_h, out_w])
    assert_matches_ort(m, {"x": x}, tmp_path, optimize=optimize)


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_averagepool_ceil_mode_and_pads(count_include_pad, tmp_path):
    node = helper.make_node(
        "AveragePool",
        ["x"],
        ["y"],
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 0, 1],
        ceil_mode=1,
        count_include_pad=count_include_pad,
    )
    m = _model([node], [("x", np.float32, [1, 2, 6, 7])], [1, 2, 3, 4])
    assert_matches_ort(m, {"x": _rand(1, 2, 6, 7)}, tmp_path, optimize=False)


def test_maxpool_indices_and_unpool(tmp_path):
    pool = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 1, 1, 0])
    m = make_model(
        [pool],
        [("x", np.float32, [2, 3, 5, 5])],
        [("y", np.float32, [2, 3, 3, 3]), ("i", np.int64, [2, 3, 3, 3])],
        opset=12,
    )
    assert_matches_ort(m, {"x": _rand(2, 3, 5, 5)}, tmp_path, optimize=False)


def test_global_pools_and_lppool(tmp_path):
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["a"]),
        helper.make_node("GlobalMaxPool", ["x"], ["b"]),
        helper.make_node("LpPool", ["x"], ["c"], kernel_shape=[2, 3], p=3, pads=[1, 1, 0, 0]),
    ]
    m = make_model(
        nodes,
        [("x", np.float32, [2, 3, 4, 5])],
        [("a", np.float32, [2, 3, 1, 1]), ("b", np.float32, [2, 3, 1, 1]), ("c", np.float32, [2, 3, 4, 4])],
        opset=17,
    )
    assert_matches_ort(m, {"x": _rand(2, 3, 4, 5)}, tmp_path, atol=1e-4, optimize=False)


# ----------------------------------------------------------------------------
# Resize / Upsample
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimize", OPTIMIZE)
@pytest.mark.parametrize("opset", [11, 13])
def test_resize_nearest_scales_constant(opset, optimize, tmp_path):
    node = helper.make_node(
        "Resize",
        ["x", "roi", "s"],
        ["y"],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )
    inits = {"roi": np.zeros(0, np.float32), "s": np.array([1, 1, 2, 2], np.float32)}
    m = _model([node], [("x", np.float32, [1, 3, 5, 4])], [1, 3, 10, 8], inits, opset=opset)
    assert_matches_ort(m, {"x": _rand(1, 3, 5, 4)}, tmp_path, optimize=optimize)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_resize_from_constant_sizes(mode, tmp_path):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode)
    m = _model([node], [("x", np.float32, [1, 2, 5, 6])], [1, 2, 7, 4], {"sizes": np.array([1, 2, 7, 4], np.int64)})
    assert_matches_ort(m, {"x": _rand(1, 2, 5, 6)}, tmp_path, atol=1e-5, optimize=False)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_from_runtime_sizes(mode, tmp_path):
    # sizes is a graph input, so the map is computed at run time by the resize_nd helper
    node = helper.make_node(
        "Resize", ["x", "", "", "sizes"], ["y"], mode=mode, coordinate_transformation_mode="align_corners"
    )
    m = make_model(
        [node],
        [("x", np.float32, [1, 2, 5, 6]), ("sizes", np.int64, [4])],
        [("y", np.float32, [1, 2, None, None])],
        opset=13,
    )
    feed = {"x": _rand(1, 2, 5, 6), "sizes": np.array([1, 2, 9, 4], np.int64)}
    assert_matches_ort(m, feed, tmp_path, atol=1e-5, optimize=False)


def test_resize_sizes_from_shape_subgraph_dynamic_input(tmp_path):
    # The retinaface/scrfd pattern: sizes = concat(shape(x)[:2], shape(skip)[2:]) with dynamic H, W.
    nodes = [
        helper.make_node("Shape", ["x"], ["sx"]),
        helper.make_node("Shape", ["skip"], ["ss"]),
        helper.make_node("Slice", ["sx", "zero", "two"], ["nc"]),
        helper.make_node("Slice", ["ss", "two", "four"], ["hw"]),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["r"], mode="nearest", nearest_mode="floor",
                         coordinate_transformation_mode="asymmetric"),
        helper.make_node("Add", ["r", "skip"], ["y"]),
    ]  # fmt: skip
    inits = {k: np.array([v], np.int64) for k, v in (("zero", 0), ("two", 2), ("four", 4))}
    m = make_model(
        nodes,
        [("x", np.float32, [1, 3, "h", "w"]), ("skip", np.float32, [1, 3, "H", "W"])],
        [("y", np.float32, [1, 3, "H", "W"])],
        inits,
        opset=13,
    )
    feed = {"x": _rand(1, 3, 4, 5), "skip": _rand(1, 3, 8, 10)}
    assert_matches_ort(m, feed, tmp_path)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize10_and_upsample_legacy_semantics(mode, tmp_path):
    x = _rand(1, 2, 5, 6)
    r10 = helper.make_node("Resize", ["x", "s"], ["y"], mode=mode)
    m = _model(
        [r10], [("x", np.float32, [1, 2, 5, 6])], [1, 2, 3, 13], {"s": np.array([1, 1, 0.6, 2.2], np.float32)}, opset=10
    )
    assert_matches_ort(m, {"x": x}, tmp_path / "r10", atol=1e-5, optimize=False)
    up = helper.make_node("Upsample", ["x", "s"], ["y"], mode=mode)
    m = _model(
        [up], [("x", np.float32, [1, 2, 5, 6])], [1, 2, 10, 9], {"s": np.array([1, 1, 2, 1.5], np.float32)}, opset=9
    )
    assert_matches_ort(m, {"x": x}, tmp_path / "up", atol=1e-5, optimize=False)


# ----------------------------------------------------------------------------
# Matmuls and normalizations
# ----------------------------------------------------------------------------


def test_gemm_trans_b_constant_and_broadcast_c(tmp_path):
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0)
    inits = {"b": _rand(5, 4), "c": _rand(1, 5)}
    m = _model([node], [("a", np.float32, [4, 3])], [3, 5], inits, opset=13)
    assert_matches_ort(m, {"a": _rand(4, 3)}, tmp_path, atol=1e-5)


def test_batchnorm_const_params_and_instance_norm(tmp_path):
    c = 3
    inits = {
        "g": _rand(c),
        "b": _rand(c),
        "m": _rand(c),
        "v": np.abs(_rand(c)) + 0.5,
    }
    nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"], epsilon=1e-3),
        helper.make_node("InstanceNormalization", ["bn", "g", "b"], ["y"]),
    ]
    m = _model(nodes, [("x", np.float32, [2, c, 4, 5])], [2, c, 4, 5], inits, opset=15)
    assert_matches_ort(m, {"x": _rand(2, c, 4, 5)}, tmp_path, atol=1e-4, optimize=False)


def test_matmul_integer_and_qlinear_matmul_const_weights(tmp_path):
    # Oracle: exact int64 numpy, not onnxruntime, whose u8 x s8 GEMM saturates pair sums to int16 on
    # AVX2-only CPUs (tests/exact_reference.py); these values do saturate there.
    a = RNG.integers(0, 255, (3, 7), dtype=np.uint8)
    b = RNG.integers(-128, 127, (7, 4), dtype=np.int8)
    nodes = [
        helper.make_node("MatMulInteger", ["a", "b", "azp", "bzp"], ["y"]),
        helper.make_node("QLinearMatMul", ["a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"], ["q"]),
    ]
    inits = {
        "b": b,
        "azp": np.array(12, np.uint8),
        "bzp": np.array(-3, np.int8),
        "as": np.array(0.02, np.float32),
        "bs": np.array(0.01, np.float32),
        "ys": np.array(0.05, np.float32),
        "yzp": np.array(128, np.uint8),
    }
    m = make_model(
        nodes,
        [("a", np.uint8, [3, 7])],
        [("y", np.int32, [3, 4]), ("q", np.uint8, [3, 4])],
        inits,
        opset=13,
    )
    i = inits
    want = [
        exact_reference.matmul_integer(a, b, i["azp"], i["bzp"]),
        exact_reference.qlinear_matmul(a, i["as"], i["azp"], b, i["bs"], i["bzp"], i["ys"], i["yzp"]),
    ]
    assert_both_modes_equal(m, {"a": a}, want, tmp_path, optimize=False)


def test_matmul_integer_pair_sums_beyond_int16(tmp_path):
    """217 * -59 + 163 * -124 = -33015 (hand-computed): a pair of u8 x s8 products past int16's range, which
    onnxruntime returns as -32768 on AVX2-only CPUs. Ours must be exact on every CPU."""
    m = make_model(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        [("a", np.uint8, [1, 2])],
        [("y", np.int32, [1, 1])],
        {"b": np.array([[-59], [-124]], np.int8)},
        opset=10,
    )
    assert_both_modes_equal(m, {"a": np.array([[217, 163]], np.uint8)}, [np.array([[-33015]], np.int32)], tmp_path)
