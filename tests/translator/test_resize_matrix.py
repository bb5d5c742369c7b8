"""Static linear/cubic Resize, lowered either as native.resize_axis (the taps, on the pool's threads: native
translations) or as one matmul per axis (a dense interpolation matrix built at translation time: native=False),
checked against onnxruntime in both modes and against a hand-computed matrix."""

from __future__ import annotations

from opset.helpers import nn as nnh
from translator.api import translate

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

RNG = np.random.default_rng(7)
CTMS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric", "tf_crop_and_resize"]
IN_SHAPE = [1, 2, 6, 7]
# (scales, sizes): up, down, mixed via sizes (H down, W up)
SPECS = {
    "up": ([1, 1, 2.5, 1.75], None),
    "down": ([1, 1, 0.5, 0.6], None),
    "sizes": (None, [1, 2, 4, 11]),
}


def _out_shape(scales, sizes):
    if sizes is not None:
        return list(sizes)
    return [int(np.floor(n * s)) for n, s in zip(IN_SHAPE, scales)]


def _resize_model(mode, ctm, spec, **attrs):
    scales, sizes = SPECS[spec]
    inits = {"roi": np.array([0, 0, 0.1, -0.2, 1, 1, 0.8, 1.1], np.float32)}
    if scales is not None:
        inits["scales"] = np.array(scales, np.float32)
    else:
        inits["sizes"] = np.array(sizes, np.int64)
    ins = ["x", "roi" if ctm == "tf_crop_and_resize" else "", "scales" if scales is not None else "", ""]
    if sizes is not None:
        ins[3] = "sizes"
    node = helper.make_node("Resize", ins, ["y"], mode=mode, coordinate_transformation_mode=ctm, **attrs)
    out = _out_shape(scales, sizes)
    return make_model([node], [("x", np.float32, IN_SHAPE)], [("y", np.float32, out)], inits, opset=19)


# native=True: the taps kernel (or its MLX fallback where the extension is absent); False: the dense matrix
PATHS = {True: "native_resize_axis", False: "matmul"}


def _fns(model, native):
    return [c.fn for c in translate(model, native=native).program.calls]


def test_axis_matrix_sums_clamped_taps():
    # in 2 -> out 4, linear half_pixel: sources -0.25, 0.25, 0.75, 1.25. The border rows' two taps clamp
    # onto one input, whose weights (0.25 + 0.75) must add up to 1.
    idx, coeffs, _ = nnh.resize_axis_map(2, 4, 2.0, "linear", "half_pixel")
    want = np.array([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    np.testing.assert_allclose(nnh.resize_axis_matrix(idx, coeffs, 2), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("native", [True, False], ids=["taps", "matrix"])
@pytest.mark.parametrize("spec", sorted(SPECS))
@pytest.mark.parametrize("ctm", CTMS)
@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_static_resize_matches_ort(mode, ctm, spec, native, tmp_path):
    attrs = {"extrapolation_value": -3.5} if ctm == "tf_crop_and_resize" else {}
    m = _resize_model(mode, ctm, spec, **attrs)
    fns = _fns(m, native)
    assert PATHS[native] in fns and "take" not in fns, fns  # the chosen path, not MLX's gathers
    feed = {"x": RNG.standard_normal(IN_SHAPE).astype(np.float32)}
    assert_matches_ort(m, feed, tmp_path, atol=1e-5, native=native)


@pytest.mark.parametrize("native", [True, False], ids=["taps", "matrix"])
@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize("spec", sorted(SPECS))
@pytest.mark.parametrize(
    "attrs",
    [
        {"exclude_outside": 1},
        {"cubic_coeff_a": -0.5},
        {"cubic_coeff_a": -0.5, "exclude_outside": 1},
        {"antialias": 1},
    ],
    ids=["exclude_outside", "coeff_a", "coeff_a_exclude", "antialias"],
)
def test_static_resize_cubic_options_match_ort(attrs, spec, optimize, native, tmp_path):
    m = _resize_model("cubic", "half_pixel", spec, **attrs)
    assert "take" not in _fns(m, native)
    feed = {"x": RNG.standard_normal(IN_SHAPE).astype(np.float32)}
    assert_matches_ort(m, feed, tmp_path, atol=1e-5, optimize=optimize, native=native)


@pytest.mark.parametrize("native", [True, False], ids=["taps", "matrix"])
@pytest.mark.parametrize("opset", [10, 13])
def test_static_resize_integer_input_matches_ort(opset, native, tmp_path):
    # uint8 is resized in float32, then rounded and clipped back; exact agreement with onnxruntime.
    if opset == 10:
        node = helper.make_node("Resize", ["x", "scales"], ["y"], mode="linear")
    else:
        node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")
    inits = {"scales": np.array([1, 1, 2, 1.5], np.float32)}
    m = make_model([node], [("x", np.uint8, [1, 1, 5, 4])], [("y", np.uint8, [1, 1, 10, 6])], inits, opset=opset)
    x = RNG.integers(0, 256, (1, 1, 5, 4), dtype=np.uint8)
    assert "take" not in _fns(m, native)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1, rtol=0, native=native)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_runtime_scales_resize_matches_ort(mode, tmp_path):
    # scales fed at run time (RVM's downsample_ratio): the maps are built per call (resize_nd), and each
    # linear/cubic axis runs as native.resize_axis
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode=mode)
    m = make_model([node], [("x", np.float32, IN_SHAPE), ("s", np.float32, [4])], [("y", np.float32, None)], opset=19)
    feed = {"x": RNG.standard_normal(IN_SHAPE).astype(np.float32), "s": np.array([1, 1, 1.5, 0.6], np.float32)}
    assert "resize_nd" in _fns(m, True)
    assert_matches_ort(m, feed, tmp_path, atol=1e-5)
