"""The real detector and recognizer from ../shared/models, opened once per test module."""

from __future__ import annotations

import pytest

from .conftest import MODELS, need_shared

SCRFD_FILE = MODELS / "scrfd_500m_kps.onnx"
RECOGNIZER_FILE = MODELS / "mobilefacenet_prelu_128d.onnx"


@pytest.fixture(scope="module")
def face_models(translation_cache):
    """(SCRFD, MobileFace) on the default backend, translations in the session's cache."""
    need_shared()
    from uniface import SCRFD, MobileFace

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNIFACE_CACHE_DIR", str(translation_cache))
        return SCRFD(model_path=SCRFD_FILE), MobileFace(model_path=RECOGNIZER_FILE)
