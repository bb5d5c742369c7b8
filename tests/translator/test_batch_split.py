"""translator/batch_split.py: which graphs keep a batch's images apart, checked against onnxruntime.

A graph proven splittable runs as one-image sub-batches in InferenceSession; the outputs must equal
onnxruntime's on the whole batch (distinct images, so an image landing in another's place shows).
A graph that mixes images must be refused, and then runs whole, still equal to onnxruntime's.
"""

from __future__ import annotations

from runtime.session import InferenceSession
from translator.batch_split import image_split

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper

from tests.util import make_model

N, C, H, W = 3, 3, 8, 8
RNG = np.random.default_rng(7)
CONV_W = RNG.standard_normal((4, C, 3, 3)).astype(np.float32)
BIAS = RNG.standard_normal(4).astype(np.float32)


def _ort(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])


def _detector_like():
    """A conv trunk with SCRFD's head layout (the images interleaved: [H, W, N, 4] flattened) and YuNet's
    (the batch folded into axis 1: [1, N * H * W, 4]), a softmax and a per-channel constant."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t_hw"], perm=[2, 3, 0, 1]),
        helper.make_node("Reshape", ["t_hw", "flat"], ["interleaved"]),
        helper.make_node("Transpose", ["r"], ["t_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Add", ["t_nhwc", "bias"], ["biased"]),
        helper.make_node("Reshape", ["biased", "rows"], ["folded"]),
        helper.make_node("Softmax", ["folded"], ["major"], axis=-1),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("ReduceMean", ["p"], ["pooled"], axes=[2, 3], keepdims=0),
    ]
    inits = {"w": CONV_W, "bias": BIAS, "flat": np.array([-1, 1], np.int64), "rows": np.array([1, -1, 4], np.int64)}
    outs = [("interleaved", np.float32, None), ("major", np.float32, None), ("pooled", np.float32, None)]
    return make_model(nodes, [("x", np.float32, ["N", C, H, W])], outs, inits)


def _images(n: int = N) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, C, H, W)).astype(np.float32)


def test_the_split_knows_where_each_output_keeps_its_images():
    split = image_split(_detector_like(), {"x": (N, C, H, W)})
    assert split is not None
    assert split.outputs == {"interleaved": (H * W, 4), "major": (1, H * W * 4), "pooled": (1, 4)}
    assert split.image_bytes == 4 * H * W * 4  # the conv's map, per image


@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_sub_batches_match_onnxruntime_on_the_whole_batch(tmp_path, mode):
    model = _detector_like()
    x = _images()
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path, sub_batch_mb=1e-6)  # one image per sub-batch
    got = sess.run(None, {"x": x})
    split = sess._split([x])
    assert split is not None and split.sub_batch(sess.sub_batch_bytes) == 1  # it did run image by image
    want = _ort(model).run(None, {"x": x})
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_sub_batches_are_evened_out():
    split = image_split(_detector_like(), {"x": (8, C, H, W)})
    per_image = split.image_bytes
    assert split.sub_batch(5 * per_image) == 4  # 5 + 3 -> 4 + 4
    assert split.sub_batch(per_image) == 1
    assert split.sub_batch(100 * per_image) == 8


def _mixing(kind: str):
    """Graphs that mix a batch's images (or may): each must be refused."""
    conv = helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1])
    inits = {"w": CONV_W}
    if kind == "reduce over the batch":
        nodes = [conv, helper.make_node("ReduceMean", ["c"], ["y"], axes=[0], keepdims=1)]
    elif kind == "concat along the batch":
        nodes = [conv, helper.make_node("Concat", ["c", "c"], ["y"], axis=0)]
    elif kind == "softmax over a reshape that folds images with channels":
        nodes = [
            conv,
            helper.make_node("Reshape", ["c", "shape"], ["f"]),
            helper.make_node("Softmax", ["f"], ["y"], axis=1),
        ]
        inits["shape"] = np.array([4, -1], np.int64)
    elif kind == "batch reversed":
        nodes = [
            conv,
            helper.make_node("Slice", ["c", "st", "en", "ax", "step"], ["s"]),
            helper.make_node("Add", ["c", "s"], ["y"]),
        ]
        inits.update(st=np.array([-1], np.int64), en=np.array([-(2**62)], np.int64), ax=np.array([0], np.int64),
                     step=np.array([-1], np.int64))  # fmt: skip
    elif kind == "conv over the images as channels":
        nodes = [
            helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2, 3]),
            helper.make_node("Conv", ["t", "w3"], ["y"]),
        ]
        inits = {"w3": RNG.standard_normal((2, N, 1, 1)).astype(np.float32)}
    elif kind == "a weight computed from the images":
        nodes = [conv, helper.make_node("MatMul", ["c", "c"], ["y"])]
    elif kind == "unknown op":
        nodes = [conv, helper.make_node("CumSum", ["c", "axis"], ["y"])]
        inits["axis"] = np.array(3, np.int64)
    else:
        raise AssertionError(kind)
    return make_model(nodes, [("x", np.float32, [N, C, H, W])], [("y", np.float32, None)], inits)


MIXING = ["reduce over the batch", "concat along the batch", "softmax over a reshape that folds images with channels",
          "batch reversed", "conv over the images as channels", "a weight computed from the images", "unknown op"]  # fmt: skip


@pytest.mark.parametrize("kind", MIXING)
def test_graphs_that_mix_images_are_refused(kind):
    assert image_split(_mixing(kind), {"x": (N, C, H, W)}) is None


@pytest.mark.parametrize("kind", ["reduce over the batch", "batch reversed"])
def test_a_refused_graph_runs_whole_and_matches_onnxruntime(tmp_path, kind):
    model = _mixing(kind)
    x = _images()
    got = InferenceSession(model, mode="module", cache_dir=tmp_path, sub_batch_mb=1e-6).run(None, {"x": x})
    np.testing.assert_allclose(got[0], _ort(model).run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)


def test_a_single_image_or_no_batch_axis_is_not_split():
    assert image_split(_detector_like(), {"x": (1, C, H, W)}) is None
