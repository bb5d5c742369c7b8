"""Front end: loading, validation, typed errors, external data."""

from translator import InvalidModelError, ModelLoadError, UnsupportedOpError, translate
from translator.frontend import build_graph, load_model, prepare_model

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from tests.util import make_model


def _relu_model():
    return make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [("x", np.float32, [2, 3])], [("y", np.float32, [2, 3])]
    )


def test_accepts_path_bytes_and_proto(tmp_path):
    m = _relu_model()
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    shas = {load_model(src).sha256 for src in (path, str(path), m.SerializeToString(), m)}
    assert len(shas) == 1


def test_truncated_and_random_files_raise_typed_errors(tmp_path):
    data = _relu_model().SerializeToString()
    (tmp_path / "t.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "r.onnx").write_bytes(np.random.default_rng(0).bytes(300))
    for name in ("t.onnx", "r.onnx"):
        with pytest.raises((ModelLoadError, InvalidModelError), match=name):
            translate(tmp_path / name)
    with pytest.raises(ModelLoadError, match="no such model file"):
        translate(tmp_path / "missing.onnx")


def test_all_unsupported_ops_reported_at_once():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("FancyOp", ["a"], ["b"], domain="com.example", name="f1"),
        helper.make_node("FancyOp", ["b"], ["c"], domain="com.example", name="f2"),
        helper.make_node("OtherOp", ["c"], ["y"], domain="com.example", name="o1"),
    ]
    m = make_model(nodes, [("x", np.float32, [2])], [("y", np.float32, [2])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOpError) as err:
        translate(m)
    text = str(err.value)
    assert "FancyOp" in text and "OtherOp" in text and "f1" in text and "f2" in text and "o1" in text
    assert len(err.value.unsupported) == 2


def test_dangling_input_and_cycle_are_typed():
    g = make_model([helper.make_node("Relu", ["nope"], ["y"])], [("x", np.float32, [2])], [("y", np.float32, [2])])
    with pytest.raises(InvalidModelError):
        translate(g)
    cyc = make_model(
        [
            helper.make_node("Add", ["x", "b"], ["a"]),
            helper.make_node("Relu", ["a"], ["b"]),
            helper.make_node("Relu", ["a"], ["y"]),
        ],
        [("x", np.float32, [2])],
        [("y", np.float32, [2])],
    )
    with pytest.raises(InvalidModelError):
        loaded = load_model(cyc)
        build_graph(loaded.model, loaded.label)


def test_symbolic_dims_are_kept():
    m = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [("x", np.float32, ["N", 3, None])],
        [("y", np.float32, ["N", 3, None])],
    )
    loaded = load_model(m)
    g = build_graph(prepare_model(loaded), loaded.label)
    assert g.value("x").shape == ("N", 3, None)
    assert g.value("y").shape[0] == "N"


def test_external_data_escaping_directory_is_rejected(tmp_path):
    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    m = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])], [("x", np.float32, [64, 64])], [("y", np.float32, [64, 64])]
    )
    m.graph.initializer.append(w)
    d = tmp_path / "model"
    d.mkdir()
    onnx.save(
        m, d / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="w.bin", size_threshold=0
    )
    # A legitimate external-data model loads.
    t = translate(d / "m.onnx")
    assert t.program.weights
    # Now point the tensor outside the model directory.
    bad = onnx.load(d / "m.onnx", load_external_data=False)
    for e in bad.graph.initializer[0].external_data:
        if e.key == "location":
            e.value = "../../etc/passwd"
    (d / "bad.onnx").write_bytes(bad.SerializeToString())
    with pytest.raises(ModelLoadError, match="outside the model directory"):
        translate(d / "bad.onnx")
