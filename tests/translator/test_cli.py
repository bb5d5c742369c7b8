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
