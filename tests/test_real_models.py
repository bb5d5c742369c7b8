"""Real models from ../shared/models, translated both ways, vs onnxruntime on real photos.

Targets (issue: translator core): max abs error <= 1e-4 on every output;
embeddings cosine >= 0.99999; SCRFD at several input sizes.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.util import IMAGES, MODELS
from runtime.session import InferenceSession

ATOL = 1e-4


def _photo(size_hw: tuple[int, int], name: str = "uniface_test.jpg") -> np.ndarray:
    img = cv2.imread(str(IMAGES / name))
    assert img is not None, f"missing test photo {name}"
    return cv2.resize(img, (size_hw[1], size_hw[0])).astype(np.float32)


def _nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None])


# (model file, input builder) following ../shared/models/MANIFEST.md preprocessing.
CASES = {
    "retinaface": ("retinaface_mnet025_biubug6.onnx", lambda: _nchw(_photo((640, 640)) - np.array([104, 117, 123], np.float32))),
    "scrfd_640": ("scrfd_500m_kps.onnx", lambda: _nchw((_photo((640, 640)) - 127.5) / 127.5)),
    "scrfd_480x640": ("scrfd_500m_kps.onnx", lambda: _nchw((_photo((480, 640)) - 127.5) / 127.5)),
    "scrfd_320": ("scrfd_500m_kps.onnx", lambda: _nchw((_photo((320, 320)) - 127.5) / 127.5)),
    "yunet": ("face_detection_yunet_2023mar.onnx", lambda: _nchw(_photo((640, 640)))),
    "yolov5n": ("yolov5n_0.5_face.onnx", lambda: _nchw(_photo((640, 640))[..., ::-1] / 255.0)),
    "mobilefacenet": (
        "mobilefacenet_prelu_128d.onnx",
        lambda: _nchw((_photo((112, 112), "facerec_aligned_a_01.jpg")[..., ::-1] - 127.5) / 127.5),
    ),
}


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
