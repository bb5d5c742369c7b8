"""Loading translated models: native programs run under mx.compile, and fall back to eager when tracing fails."""

from opset.execute import compiled_or_eager
from runtime import InferenceSession

import mlx.core as mx
import numpy as np
from onnx import helper

from tests.util import make_model, run_ort


def test_compile_falls_back_to_eager_for_good():
    calls = {"eager": 0}

    def reads_values(x):  # .item() cannot be traced: mx.compile raises on the first call
        calls["eager"] += 1
        return (x * float(mx.max(x).item()),)

    fn = compiled_or_eager(reads_values)
    x = mx.array([1.0, 2.0, 3.0])
    for _ in range(2):
        np.testing.assert_array_equal(np.array(fn(x)[0]), [3.0, 6.0, 9.0])
    assert calls["eager"] == 3  # one failed trace, then two eager calls: no second attempt at compiling


def test_native_model_with_data_dependent_output_matches_onnxruntime(tmp_path):
    """A conv (native, so compile is on) feeding NonZero (data-dependent shape, so tracing fails)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("NonZero", ["r"], ["y"])]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [1, 3, 6, 5])], [("y", np.int64, [4, None])], {"w": w})
    x = rng.standard_normal((1, 3, 6, 5)).astype(np.float32)
    sess = InferenceSession(m, cache_dir=tmp_path, native=True)
    assert sess._compiled(None).notes["compile"] is True
    for _ in range(2):
        np.testing.assert_array_equal(sess.run(None, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_compiled_native_model_matches_eager(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])]  # fmt: skip
    m = make_model(nodes, [("x", np.float32, [1, 3, 9, 8])], [("y", np.float32, [1, 8, 5, 4])], {"w": w})
    x = rng.standard_normal((1, 3, 9, 8)).astype(np.float32)
    model = InferenceSession(m, cache_dir=tmp_path, native=True)._compiled(None)
    assert model.fn is not model.eager_fn
    got = np.array(model(mx.array(x))[0])
    np.testing.assert_array_equal(got, np.array(model.eager_fn(mx.array(x))[0]))
    np.testing.assert_allclose(got, run_ort(m, {"x": x})[0], atol=1e-5, rtol=1e-5)
