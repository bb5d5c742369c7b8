"""`python -m translator`: convert (every --native choice, --tune), inspect and parity on a small model."""

from translator.cli import main

import numpy as np
import onnx
import pytest
from onnx import helper

from tests.util import make_model


@pytest.fixture
def model_path(tmp_path):
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    inits = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "b": rng.standard_normal(4).astype(np.float32)}
    path = tmp_path / "net.onnx"
    onnx.save(make_model(nodes, [("x", np.float32, [1, 3, 8, 8])], [("y", np.float32, [1, 4, 8, 8])], inits), path)
    return path


@pytest.mark.parametrize("extra", [["--native", "on"], ["--native", "off"], ["--native", "auto", "--mode", "oplist"],
                                   ["--native", "on", "--tune"]])  # fmt: skip
def test_convert_reports_and_writes(model_path, tmp_path, capsys, extra):
    out = tmp_path / "out"
    assert main(["convert", str(model_path), "-o", str(out), *extra]) == 0
    text = capsys.readouterr().out
    assert "convs" in text and "wrote" in text
    if "--tune" in extra or extra[1] != "off":  # native programs compile by default; --tune measures
        assert "mx.compile :" in text
    assert sorted(p.suffix for p in out.iterdir()) == sorted([".json" if "oplist" in extra else ".py", ".safetensors"])


def test_inspect_and_parity(model_path, capsys):
    assert main(["inspect", str(model_path)]) == 0
    assert "Conv" in capsys.readouterr().out
    assert main(["parity", str(model_path)]) == 0
    assert "PASS" in capsys.readouterr().out


def test_missing_model_is_a_clean_error(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.onnx")]) == 2
    assert "error:" in capsys.readouterr().err


def test_convert_dynamic_frees_declared_sizes(model_path, tmp_path, capsys):
    """--dynamic: the module's declared input shape keeps no fixed size, and the program runs at another size."""
    import importlib.util

    import mlx.core as mx
    import onnxruntime as ort

    out = tmp_path / "dyn"
    assert main(["convert", str(model_path), "-o", str(out), "--dynamic", "--native", "off"]) == 0
    spec = importlib.util.spec_from_file_location("dyn_net", out / "net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not any(isinstance(d, int) for d in module.INPUTS[0][3])
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 11)).astype(np.float32)
    got = np.array(module.load_model()(mx.array(x)))
    model = onnx.load(model_path)
    for dim in model.graph.input[0].type.tensor_type.shape.dim:
        dim.Clear()
    model.graph.output[0].type.tensor_type.ClearField("shape")
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
