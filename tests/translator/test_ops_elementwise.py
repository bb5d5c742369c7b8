"""Hand-checked semantics of elementwise lowerings that are easy to get subtly wrong."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from tests.util import assert_matches_ort, make_model, run_mlx

MODES = ("module", "oplist")


def _one_node(op, inputs, out_dtype, out_shape, opset=17, initializers=None, **attrs):
    """A one-node model; inputs: list of (name, dtype, shape), "" for an omitted optional input."""
    names = [i[0] if i else "" for i in inputs]
    node = helper.make_node(op, names, ["out"], **attrs)
    graph_inputs = [i for i in inputs if i and i[0] not in (initializers or {})]
    return make_model([node], graph_inputs, [("out", out_dtype, out_shape)], initializers, opset=opset)


def _check_both(model, feed, want, tmp_path):
    for mode in MODES:
        (got,) = run_mlx(model, feed, mode, tmp_path)
        assert got.dtype == want.dtype, (mode, got.dtype)
        np.testing.assert_array_equal(got, want, err_msg=mode)


def test_integer_div_truncates_toward_zero(tmp_path):
    x = np.array([-7, 7, -7, 7, -6, 0, 1], np.int32)
    y = np.array([2, -2, -2, 2, 3, 5, -3], np.int32)
    model = _one_node("Div", [("x", np.int32, [7]), ("y", np.int32, [7])], np.int32, [7])
    out = assert_matches_ort(model, {"x": x, "y": y}, tmp_path)
    np.testing.assert_array_equal(out[0], [-3, -3, 3, 3, -2, 0, 0])


def test_integer_div_by_constant_and_by_minus_one(tmp_path):
    x = np.array([-7, 7, -8, 0], np.int64)
    by3 = _one_node("Div", [("x", np.int64, [4]), ("d", np.int64, [])], np.int64, [4], initializers={"d": np.array(3)})
    _check_both(by3, {"x": x}, np.array([-2, 2, -2, 0], np.int64), tmp_path / "c")
    # INT_MIN / -1 traps in plain integer division: it must wrap instead of killing the process.
    x = np.array([np.iinfo(np.int32).min, 5, -5], np.int32)
    y = np.array([-1, -1, -1], np.int32)
    model = _one_node("Div", [("x", np.int32, [3]), ("y", np.int32, [3])], np.int32, [3])
    _check_both(model, {"x": x, "y": y}, np.array([np.iinfo(np.int32).min, -5, 5], np.int32), tmp_path / "m")


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_mod_sign_rules(fmod, dtype, tmp_path):
    x = np.array([-4, 7, 5, 4, -7, 8, -9], dtype)
    y = np.array([3, -3, 8, -3, 3, 5, -2], dtype)
    if dtype == np.float32:
        x, y = x + np.float32(0.25), y * np.float32(1.5)
    model = _one_node("Mod", [("x", dtype, [7]), ("y", dtype, [7])], dtype, [7], fmod=fmod)
    # fmod=0 takes the divisor's sign (numpy mod), fmod=1 the dividend's (C fmod)
    want = (np.fmod if fmod else np.mod)(x, y)
    for mode in MODES:
        (got,) = run_mlx(model, {"x": x, "y": y}, mode, tmp_path)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=mode)


def test_clip_with_missing_bounds(tmp_path):
    x = np.array([-5.0, -1.0, 0.5, 3.0, 9.0], np.float32)
    lo = np.array(-1.5, np.float32)
    hi = np.array(2.0, np.float32)
    only_max = _one_node("Clip", [("x", np.float32, [5]), "", ("hi", np.float32, [])], np.float32, [5])
    _check_both(only_max, {"x": x, "hi": hi}, np.minimum(x, hi), tmp_path / "max")
    only_min = _one_node("Clip", [("x", np.float32, [5]), ("lo", np.float32, [])], np.float32, [5])
    _check_both(only_min, {"x": x, "lo": lo}, np.maximum(x, lo), tmp_path / "min")
    neither = _one_node("Clip", [("x", np.float32, [5])], np.float32, [5])
    _check_both(neither, {"x": x}, x, tmp_path / "none")
    # min > max: everything becomes max
    both = _one_node("Clip", [("x", np.float32, [5]), ("lo", np.float32, []), ("hi", np.float32, [])], np.float32, [5])
    _check_both(both, {"x": x, "lo": hi, "hi": lo}, np.full(5, lo, np.float32), tmp_path / "swap")


def test_clip_int8_constant_bound(tmp_path):
    x = np.array([-128, -3, 0, 50, 127], np.int8)
    model = _one_node(
        "Clip", [("x", np.int8, [5]), ("lo", np.int8, [])], np.int8, [5], initializers={"lo": np.array(-2, np.int8)}
    )
    _check_both(model, {"x": x}, np.array([-2, -2, 0, 50, 127], np.int8), tmp_path)


@pytest.mark.parametrize(
    "to,dtype",
    [
        (TensorProto.INT32, np.int32),
        (TensorProto.UINT8, np.uint8),
        (TensorProto.FLOAT16, np.float16),
        (TensorProto.BOOL, np.bool_),
        (TensorProto.DOUBLE, np.float64),
    ],
)
def test_cast_from_float(to, dtype, tmp_path):
    # Truncation toward zero for integers; float16 overflows to +-inf (no saturation).
    x = np.array([-0.0, 0.7, -3.7, 2.5, 255.4, 1e5, -1e5, 0.1], np.float32)
    if dtype == np.uint8:
        x = np.abs(x[:6])
    elif dtype == np.int32:
        x = x[:5]
    model = _one_node("Cast", [("x", np.float32, [len(x)])], dtype, [len(x)], to=to)
    assert_matches_ort(model, {"x": x}, tmp_path, atol=0, rtol=0)


def test_cast_to_float8_is_unsupported(tmp_path):
    from translator.errors import UnsupportedFeatureError

    model = make_model(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E4M3FN)],
        [("x", np.float32, [2])],
        [],
    )
    model.graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT8E4M3FN, [2]))
    with pytest.raises(UnsupportedFeatureError, match="FLOAT8E4M3FN"):
        run_mlx(model, {"x": np.zeros(2, np.float32)}, "oplist", tmp_path)


def test_bitshift_out_of_range_amounts(tmp_path):
    x = np.array([1, 255, 128, 7], np.uint8)
    y = np.array([8, 3, 7, 200], np.uint8)
    for direction, want in (("RIGHT", [0, 31, 1, 0]), ("LEFT", [0, 248, 0, 0])):
        model = _one_node("BitShift", [("x", np.uint8, [4]), ("y", np.uint8, [4])], np.uint8, [4], direction=direction)
        _check_both(model, {"x": x, "y": y}, np.array(want, np.uint8), tmp_path / direction)


def test_pow_integer_base_float_exponent(tmp_path):
    x = np.array([2, 3, 5, -2], np.int32)
    y = np.array([3.0, 0.5, 3.0, 2.0], np.float32)
    model = _one_node("Pow", [("x", np.int32, [4]), ("y", np.float32, [4])], np.int32, [4])
    out = assert_matches_ort(model, {"x": x, "y": y}, tmp_path)
    np.testing.assert_array_equal(out[0], [8, 1, 125, 4])


@pytest.mark.parametrize("alpha", [0.1, -0.5, 2.0])
def test_leaky_relu_any_alpha(alpha, tmp_path):
    x = np.array([-3.0, -0.5, 0.0, 0.5, 4.0], np.float32)
    model = _one_node("LeakyRelu", [("x", np.float32, [5])], np.float32, [5], alpha=alpha)
    want = np.where(x < 0, np.float32(alpha) * x, x).astype(np.float32)
    _check_both(model, {"x": x}, want, tmp_path)


@pytest.mark.parametrize("slope", [[0.25, -0.5, 1.0], [1.5, 2.0, 3.0], [-0.5, 0.25, 2.0]])
def test_prelu_constant_slopes(slope, tmp_path):
    x = np.array([[-2.0, -1.0, 3.0], [4.0, -0.5, -3.0]], np.float32)
    s = np.array(slope, np.float32)
    model = _one_node(
        "PRelu", [("x", np.float32, [2, 3]), ("s", np.float32, [3])], np.float32, [2, 3], initializers={"s": s}
    )
    _check_both(model, {"x": x}, np.where(x < 0, s * x, x).astype(np.float32), tmp_path)
