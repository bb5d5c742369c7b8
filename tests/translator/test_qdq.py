"""QDQ models match onnxruntime's UNOPTIMIZED run (the spec's float simulation), level for level.

docs/quantization.md says why that run and not onnxruntime's default optimized
one (which fuses QDQ groups into integer kernels and, on AVX2 without VNNI,
saturates u8 x s8 pair sums to int16). The model is a small conv net built
here and quantized by onnxruntime's own static quantizer, as users do.
"""

from __future__ import annotations

from runtime.session import InferenceSession

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper


def _float_net(channels: int = 8) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x, c = "x", 3
    for i in range(4):
        w = (rng.standard_normal((channels, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        inits += [
            numpy_helper.from_array(w, f"w{i}"),
            numpy_helper.from_array(np.full(channels, 0.05, np.float32), f"b{i}"),
        ]
        conv = helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1], strides=[1 + i % 2] * 2)
        nodes += [conv, helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x, c = f"r{i}", channels
    nodes.append(helper.make_node("Add", ["r3", "r3"], ["sum"]))
    nodes.append(helper.make_node("GlobalAveragePool", ["sum"], ["y"]))
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TP.FLOAT, [1, channels, 1, 1])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory) -> onnx.ModelProto:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(
                [{"x": np.random.default_rng(i).standard_normal((1, 3, 32, 32)).astype(np.float32)} for i in range(4)]
            )

        def get_next(self):
            return next(self.feeds, None)

    folder = tmp_path_factory.mktemp("qdq")
    onnx.save(_float_net(), folder / "float.onnx")
    quantize_static(
        str(folder / "float.onnx"), str(folder / "qdq.onnx"), Calibration(),
        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )  # fmt: skip
    model = onnx.load(str(folder / "qdq.onnx"))
    for name in [n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear"]:
        model.graph.output.append(helper.make_tensor_value_info(name, TP.UINT8, None))  # every activation
    return model


@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_qdq_matches_onnxruntime_unoptimized_level_for_level(tmp_path, qdq_model, mode):
    import onnxruntime as ort

    assert sum(n.op_type == "QuantizeLinear" for n in qdq_model.graph.node) >= 5
    x = np.random.default_rng(9).standard_normal((1, 3, 32, 32)).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(qdq_model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    want = ref.run(None, {"x": x})
    got = InferenceSession(qdq_model, mode=mode, cache_dir=tmp_path).run(None, {"x": x})
    for output, g, w in zip(qdq_model.graph.output, got, want):
        if w.dtype == np.uint8:  # a quantized activation: compare in levels
            levels = int(np.max(np.abs(g.astype(np.int32) - w.astype(np.int32))))
            assert levels <= 1, f"{output.name}: {levels} levels from onnxruntime's unoptimized run (measured 0)"
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=output.name)
