"""runtime.onnx_backend: ONNX's Backend API over the MLX translation, checked against onnxruntime."""

from __future__ import annotations

import unittest

import runtime.onnx_backend as backend
from translator.errors import (
    InputError,
    InvalidModelError,
    ModelLoadError,
    TranslatorError,
    UnsupportedFeatureError,
    UnsupportedOpError,
)

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

MODES = ("oplist", "module")
RNG = np.random.default_rng(0)


def _small_model(batch: int | str = 2) -> onnx.ModelProto:
    """x + bias -> Relu -> y;  Identity(x) -> x_copy;  Shape(x) -> x_shape (int64)."""
    bias = numpy_helper.from_array(RNG.standard_normal((3, 1, 1)).astype(np.float32), "bias")
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["t"]),
        helper.make_node("Relu", ["t"], ["y"]),
        helper.make_node("Identity", ["x"], ["x_copy"]),
        helper.make_node("Shape", ["x"], ["x_shape"]),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 4, 4])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3, 4, 4]),
            helper.make_tensor_value_info("x_copy", TensorProto.FLOAT, [batch, 3, 4, 4]),
            helper.make_tensor_value_info("x_shape", TensorProto.INT64, [4]),
        ],
        [bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _two_input_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["r"])],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 5]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [5]),
        ],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, [2, 5])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _ort(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def _assert_same(got, want) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


# -- prepare / run --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", ["proto", "bytes", "path"])
def test_prepare_run_matches_onnxruntime(mode, source, tmp_path):
    model = _small_model()
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    if source == "bytes":
        src = model.SerializeToString()
    elif source == "path":
        src = str(tmp_path / "small.onnx")
        onnx.save(model, src)
    else:
        src = model
    rep = backend.prepare(src, "CPU", mode=mode)
    assert isinstance(rep, backend.MLXBackendRep) and rep.mode == mode
    want = _ort(model, {"x": x})
    _assert_same(list(rep.run([x])), want)
    _assert_same(list(rep.run({"x": x})), want)
    _assert_same(list(rep.run(x)), want)  # a single array for a one-input model


@pytest.mark.parametrize("mode", MODES)
def test_outputs_are_a_namedtupledict(mode):
    rep = backend.prepare(_small_model(), mode=mode)
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    out = rep.run([x])
    assert isinstance(out, tuple) and len(out) == 3
    assert out._fields == ("y", "x_copy", "x_shape")
    assert out["y"] is out[0] and out.y is out[0]
    np.testing.assert_array_equal(out["x_copy"], x)
    np.testing.assert_array_equal(out.x_shape, np.array([2, 3, 4, 4], np.int64))
    assert out.x_shape.dtype == np.int64


@pytest.mark.parametrize("mode", MODES)
def test_dynamic_batch_is_retranslated_per_shape(mode):
    model = _small_model(batch="N")
    rep = backend.prepare(model, mode=mode)
    for n in (1, 3):
        x = RNG.standard_normal((n, 3, 4, 4)).astype(np.float32)
        _assert_same(list(rep.run([x])), _ort(model, {"x": x}))


@pytest.mark.parametrize("mode", MODES)
def test_run_model_with_list_and_dict(mode):
    model = _two_input_model()
    a = RNG.standard_normal((2, 5)).astype(np.float32)
    b = RNG.standard_normal(5).astype(np.float32)
    want = _ort(model, {"a": a, "b": b})
    _assert_same(list(backend.run_model(model, [a, b], "CPU", mode=mode)), want)
    _assert_same(list(backend.run_model(model, {"b": b, "a": a}, mode=mode)), want)
    _assert_same(list(backend.run(model, [a, b], mode=mode)), want)


def test_prepare_accepts_a_rep_or_a_session():
    from runtime.session import InferenceSession

    rep = backend.prepare(_two_input_model())
    assert backend.prepare(rep) is rep
    sess = InferenceSession(_two_input_model(), mode="module")
    rep2 = backend.prepare(sess)
    assert rep2.session is sess and rep2.mode == "module"


def test_modes_agree_exactly():
    model = _small_model()
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    a = backend.run_model(model, [x], mode="oplist")
    b = backend.run_model(model, [x], mode="module")
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# -- run_node -------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8])
def test_run_node_add_infers_dtypes(mode, dtype):
    node = helper.make_node("Add", ["a", "b"], ["c"])
    a = (RNG.standard_normal((3, 4)) * 10).astype(dtype)
    b = (RNG.standard_normal(4) * 10).astype(dtype)
    out = backend.run_node(node, [a, b], mode=mode)
    assert out._fields == ("c",)
    assert out.c.dtype == np.dtype(dtype) and out.c.shape == (3, 4)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(out.c, a + b, rtol=1e-6)
    else:
        np.testing.assert_array_equal(out.c, a + b)


@pytest.mark.parametrize("mode", MODES)
def test_run_node_dict_inputs_and_reused_name(mode):
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    out = backend.run_node(helper.make_node("Relu", ["x"], ["y"]), {"x": x}, mode=mode)
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))
    # Add(x, x): one graph input, fed once (a list may name it twice)
    twice = backend.run_node(helper.make_node("Add", ["x", "x"], ["y"]), [x, x], mode=mode)
    np.testing.assert_allclose(twice.y, 2 * x)


def test_run_node_matches_onnxruntime_on_a_multi_output_node():
    node = helper.make_node("Dropout", ["x"], ["y", "mask"])
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    out = backend.run_node(node, [x])
    graph = helper.make_graph(
        [node],
        "d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 5])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 5]),
            helper.make_tensor_value_info("mask", TensorProto.BOOL, [4, 5]),
        ],
    )
    want = _ort(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), {"x": x})
    assert out._fields == ("y", "mask")
    for g, w in zip(out, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_run_node_outputs_info_and_opset():
    node = helper.make_node("Relu", ["x"], ["y"])
    x = RNG.standard_normal((3,)).astype(np.float32)
    out = backend.run_node(node, [x], outputs_info=[(np.float32, (3,))], opset_version=13)
    np.testing.assert_array_equal(out.y, np.maximum(x, 0))
    model, _ = backend._node_model(node, [x], None, 13)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 13)]
    model, _ = backend._node_model(node, [x], None, onnx.defs.onnx_opset_version())
    assert model.opset_import[0].version == onnx.defs.onnx_opset_version()


# -- errors and devices -----------------------------------------------------------


def test_errors_are_typed():
    rep = backend.prepare(_two_input_model())
    a = np.zeros((2, 5), np.float32)
    with pytest.raises(InputError):
        rep.run([a])  # too few
    with pytest.raises(InputError):
        rep.run(a)  # one array for a two-input model
    with pytest.raises(InputError):
        rep.run([a, np.zeros(5, np.float64)])  # wrong dtype
    with pytest.raises(InputError):
        rep.run({"a": a, "zzz": a})
    with pytest.raises(InputError):
        backend.run_node(helper.make_node("Add", ["a", "b"], ["c"]), [a])
    with pytest.raises(ModelLoadError):
        backend.prepare(b"not a model")
    with pytest.raises(ModelLoadError):
        backend.prepare("/nonexistent/model.onnx")
    with pytest.raises(TranslatorError):
        backend.prepare(_two_input_model(), mode="bogus")
    with pytest.raises(TranslatorError):
        backend.prepare(_two_input_model(), mdoe="module")  # typo in an option
    with pytest.raises(UnsupportedFeatureError):
        backend.prepare(_two_input_model(), "TPU")
    with pytest.raises(InvalidModelError):
        backend.run_node(helper.make_node("NoSuchOp", ["a"], ["b"]), [a])


def test_unsupported_op_is_reported():
    # An op with no lowering (a made-up domain keeps this true as op coverage grows)
    node = helper.make_node("Frobnicate", ["a"], ["b"], domain="com.example")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises(UnsupportedOpError):
        backend.prepare(model)


def test_supports_device():
    import mlx.core as mx

    assert backend.supports_device("CPU")
    assert backend.supports_device("cpu")
    assert backend.supports_device("CUDA") == mx.cuda.is_available()
    assert backend.supports_device("CUDA:0") == mx.cuda.is_available()
    assert backend.supports_device("GPU") == (mx.cuda.is_available() or mx.metal.is_available())
    assert not backend.supports_device("TPU")
    assert not backend.supports_device("CPU:x")
    assert backend.is_compatible(_two_input_model(), "CPU")
    if not mx.cuda.is_available():
        with pytest.raises(UnsupportedFeatureError):
            backend.prepare(_two_input_model(), "CUDA")


# -- onnx.backend.test machinery ----------------------------------------------------

BACKEND_TEST_CASES = ("test_relu", "test_add", "test_add_bcast", "test_add_uint8", "test_identity")


class _ModuleModeBackend(backend.MLXBackend):
    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        return super().prepare(model, device, **{"mode": "module", **kwargs})


@pytest.fixture(scope="module")
def backend_test_cases():
    import warnings

    import onnx.backend.test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runners = {
            "oplist": onnx.backend.test.BackendTest(backend, __name__),
            "module": onnx.backend.test.BackendTest(_ModuleModeBackend, __name__),
        }
    pattern = "^(" + "|".join(BACKEND_TEST_CASES) + ")_cpu$"
    return {mode: r.include(pattern).test_cases["OnnxBackendNodeModelTest"] for mode, r in runners.items()}


@pytest.mark.parametrize("mode", MODES)
def test_onnx_backend_test_runner(backend_test_cases, mode):
    test_case = backend_test_cases[mode]
    names = [f"{n}_cpu" for n in BACKEND_TEST_CASES]
    for name in names:
        assert hasattr(test_case, name), f"{name} is not an ONNX backend node test"
    suite = unittest.TestSuite(test_case(name) for name in names)
    result = unittest.TestResult()
    suite.run(result)
    problems = [f"{t.id()}: {err.strip().splitlines()[-1]}" for t, err in result.errors + result.failures]
    assert not problems, "\n".join(problems)
    assert not result.skipped, result.skipped
    assert result.testsRun == len(names) and result.wasSuccessful()
