"""Hand-checked semantics of shape and indexing lowerings that are easy to get subtly wrong.

Each check runs both back ends against onnxruntime, with shape-like inputs both
as constants (plain indexing / MLX calls) and as run-time inputs (helpers).
"""

from __future__ import annotations

from pathlib import Path

from runtime.loader import load_module_model, load_oplist_model
from translator.api import convert

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model, run_ort

MODES = ("module", "oplist")
I64 = np.int64
BIG = np.iinfo(np.int64).max


def _model(op, x_shape, params, out_shape, *, const, opset=13, x_dtype=np.float32, out_dtype=None, **attrs):
    """One `op` node on input x plus `params` (name -> array), as initializers or as graph inputs."""
    names = ["x"] + [k if v is not None else "" for k, v in params.items()]
    while names[-1] == "":
        names.pop()
    given = {k: v for k, v in params.items() if v is not None}
    inputs = [("x", x_dtype, x_shape)]
    if not const:
        inputs += [(k, v.dtype, list(v.shape)) for k, v in given.items()]
    node = helper.make_node(op, names, ["y"], **attrs)
    outs = [("y", out_dtype or x_dtype, [None] * len(x_shape) if out_shape is None else out_shape)]
    return make_model([node], inputs, outs, given if const else None, opset=opset)


def _feed(x, params, const):
    return {"x": x} if const else {"x": x, **{k: v for k, v in params.items() if v is not None}}


def _run_unspecialized(model, feed, tmp_path: Path):
    """Translate without fixing the dynamic input dims, so shapes are computed at run time."""
    import mlx.core as mx  # after runtime (imported by tests.util), which loads the fast BLAS first

    outs = {}
    for mode in MODES:
        written = convert(model, tmp_path / mode, mode=mode, name="dyn")
        loaded = (load_module_model if mode == "module" else load_oplist_model)(written.paths[0])
        res = loaded(*[mx.array(v) for v in feed.values()])
        outs[mode] = [np.array(r) for r in res]
    return outs


# -- Reshape with a shape computed at run time -----------------------------------------
def test_reshape_with_runtime_shape_from_dynamic_input(tmp_path):
    # RetinaFace-style head: Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1, 2]) -> Reshape
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 3, 1]),
        helper.make_node("Shape", ["xt"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["nu"]),
        helper.make_node("Concat", ["nu", "tail"], ["shape"], axis=0),
        helper.make_node("Reshape", ["xt", "shape"], ["y"]),
    ]
    inits = {"zero": np.array(0, I64), "ax0": np.array([0], I64), "tail": np.array([-1, 2], I64)}
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 5), dtype=np.float32)
    model = make_model(nodes, [("x", np.float32, ["N", 4, "H", "W"])], [("y", np.float32, ["N", None, 2])], inits)
    assert_matches_ort(model, {"x": x}, tmp_path / "session")  # specialized per shape: the shape sub-graph folds
    want = run_ort(model, {"x": x})[0]
    for mode, (got,) in _run_unspecialized(model, {"x": x}, tmp_path / "dyn").items():
        np.testing.assert_array_equal(got, want, err_msg=mode)


@pytest.mark.parametrize("const", [True, False])
def test_reshape_zero_copies_dim_unless_allowzero(const, tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    params = {"shape": np.array([0, -1, 2], I64)}
    model = _model("Reshape", [2, 3, 4], params, [2, 6, 2], const=const, opset=14)
    assert_matches_ort(model, _feed(x, params, const), tmp_path)
    x0 = np.zeros((0, 3, 4), np.float32)
    params = {"shape": np.array([3, 4, 0], I64)}
    model = _model("Reshape", [0, 3, 4], params, [3, 4, 0], const=const, opset=14, allowzero=1)
    assert_matches_ort(model, _feed(x0, params, const), tmp_path / "az")


# -- Slice clamping ----------------------------------------------------------------
SLICES = [
    # starts, ends, axes, steps
    ([-1, 100], [-1000, -100], [1, 2], [-2, -1]),  # negative steps, clamped starts and ends
    ([BIG, 3], [-BIG - 1, -BIG - 1], [0, 2], [-1, -2]),  # INT64 extremes with negative steps
    ([-100, 2], [BIG, -1], [-2, 0], [3, 1]),  # negative axes, start before the beginning
    ([5], [1], [1], [1]),  # empty result
    ([-20], [-30], [2], [-1]),  # start before the beginning, negative step: ONNX keeps element 0
]


@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("case", range(len(SLICES)))
def test_slice_clamps_like_onnx(case, const, tmp_path):
    starts, ends, axes, steps = (np.array(v, I64) for v in SLICES[case])
    x = np.arange(4 * 6 * 5, dtype=np.float32).reshape(4, 6, 5)
    params = {"starts": starts, "ends": ends, "axes": axes, "steps": steps}
    model = _model("Slice", [4, 6, 5], params, None, const=const)
    assert_matches_ort(model, _feed(x, params, const), tmp_path)


def test_slice_negative_step_on_run_time_dims(tmp_path):
    params = {"starts": np.array([-1, -7], I64), "ends": np.array([-BIG, 0], I64), "axes": np.array([0, 1], I64)}
    params["steps"] = np.array([-1, -2], I64)
    model = _model("Slice", ["N", "M"], params, ["A", "B"], const=True)
    x = np.arange(5 * 6, dtype=np.float32).reshape(5, 6)
    want = run_ort(model, {"x": x})[0]
    for mode, (got,) in _run_unspecialized(model, {"x": x}, tmp_path).items():
        np.testing.assert_array_equal(got, want, err_msg=mode)


# -- Gather / scatter with negative indices --------------------------------------------
@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("indices", [np.array([[-1, 0], [2, -3]], I64), np.array(-2, I64)])
def test_gather_negative_indices(indices, const, tmp_path):
    x = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    params = {"indices": indices}
    model = _model("Gather", [3, 4], params, [None] * (1 + indices.ndim), const=const, axis=1)
    assert_matches_ort(model, _feed(x, params, const), tmp_path)


def test_gather_runtime_scalar_index(tmp_path):
    # a 0-d index computed in the graph (Shape -> Gather on a shape vector works the same way)
    nodes = [
        helper.make_node("Squeeze", ["i", "ax0"], ["s"]),
        helper.make_node("Gather", ["x", "s"], ["y"], axis=1),
    ]
    inputs = [("x", np.float32, [3, 4]), ("i", I64, [1])]
    model = make_model(nodes, inputs, [("y", np.float32, [3])], {"ax0": np.array([0], I64)}, opset=13)
    x = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    assert_matches_ort(model, {"x": x, "i": np.array([-3], I64)}, tmp_path)


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements_reduction_with_negative_indices(reduction, tmp_path):
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    idx = np.array([[-1, 0, 1], [1, -4, 1]], I64)
    upd = np.array([[5, -2, 3], [7, 0.5, -1]], np.float32)
    if reduction == "none":
        idx[1, 2] = 2  # duplicate targets are undefined without a reduction
    node = helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1, reduction=reduction)
    inputs = [("x", np.float32, [3, 4]), ("i", I64, [2, 3]), ("u", np.float32, [2, 3])]
    model = make_model([node], inputs, [("y", np.float32, [3, 4])], opset=18)
    assert_matches_ort(model, {"x": x, "i": idx, "u": upd}, tmp_path)


# -- Pad, Split, TopK ----------------------------------------------------------------
@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_pad_modes_with_axes(mode, const, tmp_path):
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    params = {"pads": np.array([2, 1, 3, 0], I64), "value": np.array(7.5, np.float32) if mode == "constant" else None}
    params["axes"] = np.array([-1, 1], I64)
    model = _model("Pad", [3, 4, 5], params, None, const=const, opset=19, mode=mode)
    assert_matches_ort(model, _feed(x, params, const), tmp_path)


@pytest.mark.parametrize("const", [True, False])
def test_pad_negative_pads_crop(const, tmp_path):
    x = np.arange(4 * 5, dtype=np.float32).reshape(4, 5)
    params = {"pads": np.array([-1, 2, 1, -3], I64)}
    model = _model("Pad", [4, 5], params, None, const=const, opset=18)
    assert_matches_ort(model, _feed(x, params, const), tmp_path)


@pytest.mark.parametrize("const", [True, False])
def test_split_uneven_and_explicit(const, tmp_path):
    x = np.arange(2 * 7, dtype=np.float32).reshape(2, 7)
    node = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)
    outs = [(n, np.float32, [2, None]) for n in "abc"]
    model = make_model([node], [("x", np.float32, [2, 7])], outs, opset=18)
    assert_matches_ort(model, {"x": x}, tmp_path / "uneven")
    split = np.array([4, 0, 3], I64)
    node = helper.make_node("Split", ["x", "s"], ["a", "b", "c"], axis=-1)
    inputs = [("x", np.float32, [2, 7])] + ([] if const else [("s", I64, [3])])
    model = make_model([node], inputs, outs, {"s": split} if const else None, opset=13)
    assert_matches_ort(model, {"x": x} if const else {"x": x, "s": split}, tmp_path / "explicit")


@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("largest", [0, 1])
def test_topk_ties_keep_lower_index_first(largest, const, tmp_path):
    x = np.array([[3, 1, 3, 2, 1, 3], [0, 0, 5, 5, -1, 5]], np.float32)
    k = np.array([4], I64)
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=largest)
    inputs = [("x", np.float32, [2, 6])] + ([] if const else [("k", I64, [1])])
    outs = [("v", np.float32, [2, 4]), ("i", I64, [2, 4])]
    model = make_model([node], inputs, outs, {"k": k} if const else None, opset=11)
    assert_matches_ort(model, {"x": x} if const else {"x": x, "k": k}, tmp_path)
