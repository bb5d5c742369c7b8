"""Outputs handed out in place (runtime/outputs.py): never shared with an input, another output, or the model.

The oracles: onnxruntime's outputs for the same feeds, and the caller's arrays compared with snapshots after
writing into what an earlier call returned.
"""

from __future__ import annotations

from runtime.outputs import OutputHandoff
from runtime.session import InferenceSession

import mlx.core as mx
import numpy as np
import pytest
from onnx import helper

from tests.util import make_model, run_ort

MODES = ("module", "oplist")


def _run_many(sess, feeds):
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: x}) for x in feeds]


def _feeds(count, shape=(2, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


@pytest.mark.parametrize("mode", MODES)
def test_results_of_earlier_calls_keep_their_values(tmp_path, mode):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Mul", ["r", "x"], ["y"])],
        [("x", np.float32, [2, 3, 4])],
        [("y", np.float32, [2, 3, 4])],
    )
    feeds = _feeds(6)
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    results = _run_many(sess, feeds)
    for x, (got,) in zip(feeds, results):
        np.testing.assert_allclose(got, run_ort(model, {"x": x})[0], rtol=1e-6)
    handed = [r[0] for r in results[2:]]
    assert any(not a.flags.owndata for a in handed)  # past the first calls, in place
    assert len({a.ctypes.data for a in handed}) == len(handed)
    for a in handed:
        a[...] = 7.0  # the caller's own array: writing it disturbs nothing else
    (again,) = sess.run(None, {"x": feeds[0]})
    np.testing.assert_allclose(again, run_ort(model, {"x": feeds[0]})[0], rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_an_output_viewing_the_input_is_copied(tmp_path, mode):
    model = make_model(
        [
            helper.make_node("Identity", ["x"], ["same"]),
            helper.make_node("Reshape", ["x", "shape"], ["flat"]),
            helper.make_node("Neg", ["x"], ["neg"]),
        ],
        [("x", np.float32, [2, 3, 4])],
        [("same", np.float32, [2, 3, 4]), ("flat", np.float32, [24]), ("neg", np.float32, [2, 3, 4])],
        {"shape": np.array([24], dtype=np.int64)},
    )
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    for x in _feeds(5):
        before = x.copy()
        same, flat, neg = sess.run(None, {"x": x})
        same[...] = 1.0
        flat[...] = 2.0
        neg[...] = 3.0
        np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("mode", MODES)
def test_outputs_sharing_a_buffer_are_copied(tmp_path, mode):
    model = make_model(
        [
            helper.make_node("Exp", ["x"], ["e"]),
            helper.make_node("Identity", ["e"], ["e2"]),
            helper.make_node("Flatten", ["e"], ["e3"], axis=0),
        ],
        [("x", np.float32, [2, 3, 4])],
        [("e", np.float32, [2, 3, 4]), ("e2", np.float32, [2, 3, 4]), ("e3", np.float32, [1, 24])],
    )
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    for x in _feeds(5):
        want = run_ort(model, {"x": x})
        e, e2, e3 = sess.run(None, {"x": x})
        e[...] = -1.0
        np.testing.assert_allclose(e2, want[1], rtol=1e-6)
        np.testing.assert_allclose(e3, want[2], rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_an_output_the_model_keeps_is_copied(tmp_path, mode):
    """A weight returned as an output, and a view of one: writing what a call returned must not change the model."""
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    model = make_model(
        [
            helper.make_node("Identity", ["w"], ["w_out"]),
            helper.make_node("Transpose", ["w"], ["w_t"], perm=[1, 0]),
            helper.make_node("Add", ["x", "w"], ["y"]),
        ],
        [("x", np.float32, [3, 4])],
        [("w_out", np.float32, [3, 4]), ("w_t", np.float32, [4, 3]), ("y", np.float32, [3, 4])],
        {"w": weight},
    )
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    for x in _feeds(6, shape=(3, 4)):
        w_out, w_t, y = sess.run(None, {"x": x})
        np.testing.assert_array_equal(w_out, weight)
        np.testing.assert_array_equal(w_t, weight.T)
        np.testing.assert_allclose(y, x + weight, rtol=1e-6)
        w_out[...] = -5.0
        w_t[...] = -6.0


def test_a_buffer_that_outlives_its_call_is_learnt():
    """The handoff on its own: an array returned by every call (a cached constant) is copied from the start."""
    kept = mx.arange(8, dtype=mx.float32)
    mx.eval(kept)
    handoff = OutputHandoff()
    results = []
    for _ in range(5):
        fresh = mx.arange(8, dtype=mx.float32) * 2
        mx.eval(fresh)
        results.append(handoff.to_numpy(["kept", "fresh"], [kept, fresh], [np.dtype(np.float32)] * 2, []))
    for constant, computed in results:
        constant[...] = 99.0
        np.testing.assert_array_equal(computed, np.arange(8, dtype=np.float32) * 2)
    np.testing.assert_array_equal(np.array(kept), np.arange(8, dtype=np.float32))
    assert not results[-1][1].flags.owndata  # the computed output, in place once learnt


def test_a_dtype_the_caller_asked_for_is_converted():
    handoff = OutputHandoff()
    for _ in range(3):
        out = mx.array([1.5, 2.5], dtype=mx.float32) + 0
        mx.eval(out)
        (got,) = handoff.to_numpy(["out"], [out], [np.dtype(np.float64)], [])
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [1.5, 2.5])


@pytest.mark.parametrize("mode", MODES)
def test_asking_for_other_outputs_later_never_hands_out_a_weight(tmp_path, mode):
    """What is learnt belongs to an output's name, not its place in the list asked for: asking for the computed
    output twice, then for the weight, must still copy the weight."""
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    model = make_model(
        [helper.make_node("Identity", ["w"], ["w_out"]), helper.make_node("Add", ["x", "w"], ["y"])],
        [("x", np.float32, [2, 3])],
        [("w_out", np.float32, [2, 3]), ("y", np.float32, [2, 3])],
        {"w": weight},
    )
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    x = np.ones((2, 3), np.float32)
    for _ in range(3):
        sess.run(["y"], {"x": x})
    for names in (["w_out"], ["y", "w_out"], ["w_out", "y"]):
        got = dict(zip(names, sess.run(names, {"x": x})))
        np.testing.assert_array_equal(got["w_out"], weight)
        got["w_out"][...] = -5.0
    np.testing.assert_array_equal(sess.run(["y"], {"x": x})[0], x + weight)


@pytest.mark.parametrize("mode", MODES)
def test_strided_outputs_come_back_as_copies(tmp_path, mode):
    """A transpose, a broadcast (Expand) and a reversed slice come back owning their values (no stride-0 or
    interleaved view of MLX's buffer reaches the caller); onnxruntime gives the values."""
    model = make_model(
        [
            helper.make_node("Exp", ["x"], ["e"]),
            helper.make_node("Transpose", ["e"], ["t"], perm=[1, 0]),
            helper.make_node("Expand", ["e", "shape"], ["b"]),
            helper.make_node("Slice", ["e", "starts", "ends", "axes", "steps"], ["r"]),
        ],
        [("x", np.float32, [1, 4])],
        [("t", np.float32, None), ("b", np.float32, None), ("r", np.float32, None)],
        {"shape": np.array([3, 4], np.int64), "starts": np.array([-1], np.int64),
         "ends": np.array([-5], np.int64), "axes": np.array([1], np.int64), "steps": np.array([-1], np.int64)},
    )  # fmt: skip
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    for x in _feeds(4, shape=(1, 4)):
        got = sess.run(None, {"x": x})
        for g, w in zip(got, run_ort(model, {"x": x})):
            assert g.flags.owndata and 0 not in g.strides
            np.testing.assert_allclose(g, w, rtol=1e-6)
        got[1][0, 0] = 123.0  # one element of the broadcast, not its whole column
        assert np.count_nonzero(got[1] == 123.0) == 1
