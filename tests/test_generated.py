"""generated/: reproducible from the zoo, importable, and numerically right."""

from __future__ import annotations

import importlib
import json

from opset.errors import GeneratedWeightsError
from opset.execute import to_mx
from runtime.cache import load_or_translate
from runtime.generated import find_generated
from runtime.interpreter import OpList
from runtime.loader import load_module_model
from translator.api import module_weights, translate
from translator.cli import main as cli_main
from translator.emit.oplist import to_json
from translator.emit.weights import sha256_bytes, weights_bytes
from translator.from_onnx import generated_weights
from translator.frontend import load_model

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from tools import regenerate
from tools.zoo import ZOO


def test_regenerate_check_passes(capsys):
    assert regenerate.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("key", ["retinaface", "yunet", "mobilefacenet"])
def test_generated_class_matches_onnxruntime(key, tmp_path):
    import onnxruntime as ort

    z = ZOO[key]
    sha = load_model(z.path).sha256
    found = find_generated(sha)
    assert found is not None, f"no generated module for {z.file}"
    path, weights_sha = found
    data = weights_bytes(module_weights(translate(z.path, native=True)))
    assert sha256_bytes(data) == weights_sha
    (tmp_path / "w.safetensors").write_bytes(data)
    model = load_module_model(path, tmp_path / "w.safetensors")
    x = z.make_input()
    ref = ort.InferenceSession(str(z.path), providers=["CPUExecutionProvider"])
    want = ref.run(None, {ref.get_inputs()[0].name: x})
    import mlx.core as mx

    got = model(mx.array(x))
    for w, g in zip(want, got):
        assert float(np.max(np.abs(np.array(g) - w))) <= 1e-4


def test_cache_uses_generated_class(tmp_path):
    z = ZOO["yunet"]
    sha = load_model(z.path).sha256
    model, fresh = load_or_translate(z.path, sha, tmp_path, mode="module")
    assert fresh
    path, _ = find_generated(sha)
    assert type(model.eager_fn).__module__.startswith("_mlx_translated_")
    assert (next(tmp_path.iterdir()) / "generated.txt").read_text() == path.name
    again, fresh2 = load_or_translate(z.path, sha, tmp_path, mode="module")
    assert not fresh2


# generated module -> zoo key of its source model (the real models; stand-ins have no file to load from)
REAL = {
    "retinaface_mnet025": "retinaface",
    "scrfd_500m_kps": "scrfd_640",
    "yunet_2023mar": "yunet",
    "yolov5n_05_face": "yolov5n",
    "mobilefacenet_128d": "mobilefacenet",
}


def _generated(name: str):
    return importlib.import_module(f"generated.{name}")


def _oplist(z) -> OpList:
    """The op list of the same translation the generated modules come from (native kernels on)."""
    t = translate(z.path, native=True)
    wsha = sha256_bytes(weights_bytes(t.program.weights))
    weights = {k: to_mx(v) for k, v in t.program.weights.items()}
    return OpList(json.loads(to_json(t.program, t.source_sha256, wsha)), weights, z.file)


@pytest.mark.parametrize("name", sorted(REAL))
def test_generated_class_loads_from_its_onnx_file_and_computes_what_the_op_list_does(name):
    """`load_model(onnx=...)`: a user with only the ONNX file gets the nested class with its weights,
    under keys that follow its module tree, and it computes bit for bit what the op list computes."""
    z = ZOO[REAL[name]]
    module = _generated(name)
    model = module.load_model(onnx=z.path)
    keys = {k for k, _ in tree_flatten(model.parameters())}
    assert keys == set(module_weights(translate(z.path, native=True)))
    assert all("." in k or k.isidentifier() for k in keys)
    x = mx.array(z.make_input())
    got = model(x)
    got = got if isinstance(got, tuple) else (got,)
    want = _oplist(z)(x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.array_equal(np.array(g), np.array(w)), f"{name}: module and op list differ"


def test_load_model_without_weights_says_both_ways_to_get_them():
    module = _generated("retinaface_mnet025")
    with pytest.raises(GeneratedWeightsError) as err:
        module.load_model()
    text = str(err.value)
    assert "retinaface_mnet025.module.safetensors: no such weights file" in text
    assert "load_model(onnx='path/to/retinaface_mnet025_biubug6.onnx')" in text
    assert "python -m translator convert path/to/retinaface_mnet025_biubug6.onnx" in text
    assert module.SOURCE_SHA256 in text


def test_load_model_refuses_another_model_and_a_missing_file(tmp_path):
    module = _generated("retinaface_mnet025")
    with pytest.raises(GeneratedWeightsError, match="is not the model retinaface_mnet025 was generated from"):
        module.load_model(onnx=ZOO["yunet"].path)
    with pytest.raises(GeneratedWeightsError, match="no such file") as err:
        module.load_model(onnx=tmp_path / "retinaface.onnx")
    assert "python -m translator convert" in str(err.value)


def test_weights_of_another_translator_version_are_refused():
    """The right ONNX file, but the weights derived from it are not the ones the header pins."""
    module = _generated("yunet_2023mar")
    with pytest.raises(GeneratedWeightsError, match="regenerate the module"):
        generated_weights(ZOO["yunet"].path, module.SOURCE_SHA256, "0" * 64, module.MODULE_NAME)


def test_cli_writes_the_weights_a_generated_class_loads(tmp_path, capsys):
    """The second way: `python -m translator convert ... --native on` writes the .safetensors the header
    pins, and MLX's own loader reads it into the checked-in class."""
    module = _generated("mobilefacenet_128d")
    z = ZOO["mobilefacenet"]
    argv = ["convert", str(z.path), "-o", str(tmp_path), "--mode", "module", "--name", module.MODULE_NAME]
    assert cli_main(argv + ["--native", "on"]) == 0
    path = tmp_path / module.WEIGHTS_FILE
    assert sha256_bytes(path.read_bytes()) == module.WEIGHTS_SHA256
    from_file = module.load_model(weights_path=path)
    from_onnx = module.load_model(onnx=z.path)
    x = mx.array(z.make_input())
    assert np.array_equal(np.array(from_file(x)), np.array(from_onnx(x)))
