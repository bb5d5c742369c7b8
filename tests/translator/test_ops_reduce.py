"""Reductions, softmax family and normalizations: tricky semantics vs onnxruntime, both modes."""

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_flattens_before_opset_13(opset, tmp_path):
    x = _x(2, 3, 4)
    for op in ("Softmax", "LogSoftmax", "Hardmax"):
        m = make_model(
            [helper.make_node(op, ["x"], ["y"], axis=1)],
            [("x", np.float32, [2, 3, 4])],
            [("y", np.float32, [2, 3, 4])],
            opset=opset,
        )
        got = assert_matches_ort(m, {"x": x}, tmp_path / f"{op}{opset}")[0]
        if op == "Softmax":
            sums = got.sum(axis=(1, 2) if opset < 13 else 1)
            np.testing.assert_allclose(sums, np.ones_like(sums), rtol=1e-5)


@pytest.mark.parametrize("noop", [0, 1])
def test_reduce_sum_empty_axes(noop, tmp_path):
    x = _x(2, 3, 4)
    m = make_model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0, noop_with_empty_axes=noop)],
        [("x", np.float32, [2, 3, 4])],
        [("y", np.float32, [2, 3, 4] if noop else [])],
        initializers={"axes": np.zeros((0,), np.int64)},
        opset=13,
    )
    got = assert_matches_ort(m, {"x": x}, tmp_path)[0]
    assert got.shape == ((2, 3, 4) if noop else ())


def test_reduce_axes_as_runtime_input(tmp_path):
    x = _x(2, 3, 4)
    for op in ("ReduceMax", "ReduceL2", "ReduceLogSumExp"):
        m = make_model(
            [helper.make_node(op, ["x", "axes"], ["y"], keepdims=1)],
            [("x", np.float32, [2, 3, 4]), ("axes", np.int64, [2])],
            [("y", np.float32, [1, 3, 1])],
            opset=18,
        )
        assert_matches_ort(m, {"x": x, "axes": np.array([-1, 0], np.int64)}, tmp_path / op)


def test_reduce_max_of_empty_set_is_minus_inf(tmp_path):
    x = np.zeros((2, 0, 4), np.float32)
    m = make_model(
        [helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=1)],
        [("x", np.float32, [2, 0, 4])],
        [("y", np.float32, [2, 1, 4])],
        opset=13,
    )
    got = assert_matches_ort(m, {"x": x}, tmp_path)[0]
    assert np.all(np.isneginf(got))


def test_reduce_int_keeps_dtype(tmp_path):
    x = RNG.integers(-5, 5, (3, 4)).astype(np.int32)
    m = make_model(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
        [("x", np.int32, [3, 4])],
        [("y", np.int32, [3])],
        opset=13,
    )
    got = assert_matches_ort(m, {"x": x}, tmp_path)[0]
    assert got.dtype == np.int32


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_select_last_index(op, last, tmp_path):
    x = np.array([[2, 2, 1, 1], [0, 3, 3, 0], [5, 5, 5, 5]], np.float32)
    m = make_model(
        [helper.make_node(op, ["x"], ["y"], axis=1, keepdims=0, select_last_index=last)],
        [("x", np.float32, [3, 4])],
        [("y", np.int64, [3])],
        opset=13,
    )
    got = assert_matches_ort(m, {"x": x}, tmp_path)[0]
    assert got.dtype == np.int64


def test_cumsum_exclusive_reverse(tmp_path):
    x = _x(3, 4)
    m = make_model(
        [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=1, reverse=1)],
        [("x", np.float32, [3, 4]), ("axis", np.int64, [])],
        [("y", np.float32, [3, 4])],
        opset=14,
    )
    assert_matches_ort(m, {"x": x, "axis": np.array(1, np.int64)}, tmp_path)


def test_layer_norm_with_mean_and_inv_std(tmp_path):
    x, w, b = _x(2, 3, 4), _x(3, 4), _x(3, 4)
    m = make_model(
        [helper.make_node("LayerNormalization", ["x", "w", "b"], ["y", "mean", "istd"], axis=1)],
        [("x", np.float32, [2, 3, 4])],
        [("y", np.float32, [2, 3, 4]), ("mean", np.float32, [2, 1, 1]), ("istd", np.float32, [2, 1, 1])],
        initializers={"w": w, "b": b},
        opset=17,
    )
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, rtol=1e-4)


def test_layer_norm_fused_last_axis(tmp_path):
    x, w, b = _x(2, 5, 8), _x(8), _x(8)
    m = make_model(
        [helper.make_node("LayerNormalization", ["x", "w", "b"], ["y"], epsilon=1e-3)],
        [("x", np.float32, [2, 5, 8])],
        [("y", np.float32, [2, 5, 8])],
        initializers={"w": w, "b": b},
        opset=17,
    )
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_softmax_cross_entropy_ignore_index(reduction, tmp_path):
    x = _x(3, 5, 2)
    labels = np.array([[0, 4], [-1, 2], [1, -1]], np.int64)
    m = make_model(
        [
            helper.make_node(
                "SoftmaxCrossEntropyLoss",
                ["x", "t", "w"],
                ["loss", "logp"],
                reduction=reduction,
                ignore_index=-1,
            )
        ],
        [("x", np.float32, [3, 5, 2]), ("t", np.int64, [3, 2])],
        [("loss", np.float32, [3, 2] if reduction == "none" else []), ("logp", np.float32, [3, 5, 2])],
        initializers={"w": np.abs(_x(5)) + 0.1},
        opset=13,
    )
    assert_matches_ort(m, {"x": x, "t": labels}, tmp_path, atol=1e-5, rtol=1e-4)
