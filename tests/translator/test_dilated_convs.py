"""Dilated stride-1 convs on the native kernels (native.conv2d runs them undilated over the input's phase
grids, padding H and W up to multiples of the dilation) against onnxruntime, with the epilogues the passes fuse
into them; convs the kernels cannot take stay on MLX's conv."""

from translator import translate

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

RNG = np.random.default_rng(41)


def _model(c, groups, k, d, pads, hw, tail):
    cin_g = c // groups
    inits = {
        "w": (RNG.standard_normal((c, cin_g, k, k)) / np.sqrt(cin_g * k * k)).astype(np.float32),
        "b": RNG.standard_normal(c).astype(np.float32),
    }
    attrs = {"group": groups, "kernel_shape": [k, k], "dilations": [d, d], "pads": list(pads)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y0"], **attrs)]
    out_hw = [hw[a] + pads[a] + pads[a + 2] - d * (k - 1) for a in range(2)]
    out_shape = [2, c, *out_hw]
    inputs, last = [("x", np.float32, [2, c, *hw])], "y0"
    if "Add" in tail:  # a residual the epilogue pass folds into the conv
        inputs.append(("r", np.float32, out_shape))
        nodes.append(helper.make_node("Add", [last, "r"], ["a"]))
        last = "a"
    if "Relu" in tail:
        nodes.append(helper.make_node("Relu", [last], ["act"]))
        last = "act"
    model = make_model(nodes, inputs, [(last, np.float32, out_shape)], inits)
    feed = {name: RNG.standard_normal(shape).astype(np.float32) for name, _, shape in inputs}
    return model, feed


CASES = {
    # name: (channels, groups, kernel, dilation, pads, input hw)
    "rvm_depthwise_5x5_d2": (16, 16, 5, 2, (4, 4, 4, 4), (18, 32)),
    "depthwise_odd_size": (8, 8, 3, 2, (2, 2, 2, 2), (17, 13)),
    "depthwise_d3_uneven_pads": (8, 8, 3, 3, (3, 0, 6, 3), (20, 11)),
    "dense_3x3_d2": (6, 1, 3, 2, (2, 2, 2, 2), (15, 16)),
    "dense_d4_no_pads": (4, 1, 3, 4, (0, 0, 0, 0), (19, 21)),
}


@pytest.mark.parametrize("tail", ["none", "Relu", "Add+Relu"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_dilated_convs_run_native_and_match_ort(case, tail, tmp_path):
    model, feed = _model(*CASES[case], tail)
    strategies = translate(model, native=True).program.notes["conv_strategies"]
    assert all(s.startswith("native") for s in strategies), strategies
    assert_matches_ort(model, feed, tmp_path, atol=1e-4, rtol=1e-4, native=True)


def test_a_dilated_conv_with_pads_not_divisible_by_the_dilation_stays_on_mlx(tmp_path):
    model, feed = _model(8, 8, 3, 2, (1, 1, 1, 1), (12, 12), "Relu")
    strategies = translate(model, native=True).program.notes["conv_strategies"]
    assert not any(s.startswith("native") for s in strategies), strategies
    assert_matches_ort(model, feed, tmp_path, atol=1e-4, rtol=1e-4, native=True)
