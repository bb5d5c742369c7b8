"""Strided 2-D ConvTranspose as one dense conv over the input + pixel shuffle + crop (passes/subpixel.py),
against onnxruntime in both modes, on the native and the MLX path, across kernels, strides, pads and
output paddings; and the cases the rewrite must leave to the general lowering."""

from translator import translate

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

# (kernel, strides, pads (top, left, bottom, right), output_padding)
GEOMETRIES = {
    "xseg_3x3_s2": ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    "4x4_s2_p1": ((4, 4), (2, 2), (1, 1, 1, 1), (0, 0)),
    "2x2_s2": ((2, 2), (2, 2), (0, 0, 0, 0), (0, 0)),
    "1x1_s2": ((1, 1), (2, 2), (0, 0, 0, 0), (1, 1)),
    "5x3_s3x2_uneven_pads": ((5, 3), (3, 2), (2, 0, 1, 2), (2, 1)),
    "3x3_s4": ((3, 3), (4, 4), (0, 0, 0, 0), (0, 0)),
    "3x3_s2_no_pads": ((3, 3), (2, 2), (0, 0, 0, 0), (0, 0)),
}


def _model(geometry, bias=True, c_in=5, c_out=3, hw=(6, 7), tail=None, group=1):
    (kh, kw), strides, pads, out_pad = GEOMETRIES[geometry] if isinstance(geometry, str) else geometry
    rng = np.random.default_rng(kh * 31 + kw * 7 + strides[0])
    inits = {"w": (rng.standard_normal((c_in, c_out // group, kh, kw)) / np.sqrt(c_in * kh * kw)).astype(np.float32)}
    ins = ["x", "w"]
    if bias:
        inits["b"] = rng.standard_normal(c_out).astype(np.float32)
        ins.append("b")
    attrs = {"strides": list(strides), "pads": list(pads), "output_padding": list(out_pad), "group": group}
    nodes = [helper.make_node("ConvTranspose", ins, ["y"], **attrs)]
    out_hw = [
        s * (n - 1) + op + k - pads[a] - pads[a + 2]
        for a, (n, s, op, k) in enumerate(zip(hw, strides, out_pad, (kh, kw)))
    ]
    last = "y"
    if tail == "Relu":  # a consumer in the NHWC domain after the shuffle
        nodes.append(helper.make_node("Relu", ["y"], ["r"]))
        last = "r"
    model = make_model(nodes, [("x", np.float32, [2, c_in, *hw])], [(last, np.float32, [2, c_out, *out_hw])], inits)
    return model, {"x": rng.standard_normal((2, c_in, *hw)).astype(np.float32)}


def _rewritten(model, native) -> int:
    return translate(model, native=native).program.notes.get("conv_transposes_as_phases", 0)


@pytest.mark.parametrize("native", [True, False], ids=["native", "mlx"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_strided_conv_transpose_as_phases_matches_ort(geometry, bias, native, tmp_path):
    model, feed = _model(geometry, bias=bias, tail="Relu")
    assert _rewritten(model, native) == 1
    assert_matches_ort(model, feed, tmp_path, atol=1e-5, native=native)


@pytest.mark.parametrize(
    "geometry, group, why",
    [
        (((3, 3), (1, 1), (1, 1, 1, 1), (0, 0)), 1, "stride 1 is a plain conv already"),
        ("xseg_3x3_s2", 3, "grouped"),
        (((3, 3), (2, 2), (5, 0, 0, 0), (0, 0)), 1, "the begin pad crops past the kernel's reach"),
    ],
)
def test_conv_transposes_the_rewrite_leaves_alone_still_match_ort(geometry, group, why, tmp_path):
    model, feed = _model(geometry, c_in=6, c_out=3, group=group)
    assert _rewritten(model, True) == 0, why
    assert_matches_ort(model, feed, tmp_path, atol=1e-5)
