"""Real models from ../shared/models, translated both ways, vs onnxruntime on real photos.

Targets (issue: translator core): max abs error <= 1e-4 on every output;
embeddings cosine >= 0.99999; SCRFD at several input sizes.
"""

from __future__ import annotations

from runtime.session import InferenceSession

import numpy as np
import pytest

from tools.zoo import MODELS, ZOO

ATOL = 1e-4


CASES = {key: (z.file, z.make_input) for key, z in ZOO.items()}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    cache: dict = {}

    def get(model: str, mode: str):
        key = (model, mode)
        if key not in cache:
            cache[key] = InferenceSession(MODELS / model, mode=mode, cache_dir=tmp_path_factory.mktemp(mode))
        return cache[key]

    return get


def _ort(model: str):
    import onnxruntime as ort

    return ort.InferenceSession(str(MODELS / model), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_real_model_matches_onnxruntime(case, mode, sessions):
    model, make_input = CASES[case]
    x = make_input().astype(np.float32)
    ref = _ort(model)
    feed = {ref.get_inputs()[0].name: x}
    want = ref.run(None, feed)
    got = sessions(model, mode).run(None, feed)
    assert len(got) == len(want)
    for w, g, out in zip(want, got, ref.get_outputs()):
        assert g.shape == w.shape, out.name
        err = float(np.max(np.abs(g.astype(np.float64) - w)))
        assert err <= ATOL, f"{case} {mode} output {out.name}: max abs error {err:.3g}"


def test_embedding_cosine(sessions):
    model, make_input = CASES["mobilefacenet"]
    x = np.concatenate([make_input(), make_input()[:, :, ::-1].copy()]).astype(np.float32)  # batch of 2
    want = _ort(model).run(None, {"x": x})[0]
    for mode in ("module", "oplist"):
        got = sessions(model, mode).run(None, {"x": x})[0]
        cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
        assert np.all(cos >= 0.99999), (mode, cos)
