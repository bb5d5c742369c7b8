"""generated/: reproducible from the zoo, importable, and numerically right."""

from __future__ import annotations

from runtime.cache import load_or_translate
from runtime.generated import find_generated
from runtime.loader import load_module_model
from translator.api import module_weights, translate
from translator.emit.weights import sha256_bytes, weights_bytes
from translator.frontend import load_model

import numpy as np
import pytest

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
