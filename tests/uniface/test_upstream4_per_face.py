"""Recognizers, AgeGender and Landmark106 against upstream uniface 4.2.1 on the same files, on both backends.

Each fixture case carries the input upstream's model got (the landmarks or
box SCRFD found), so these tests check the per-face models alone.
"""

from __future__ import annotations

import functools

import uniface

import numpy as np
import pytest

from . import upstream
from .conftest import build_pair

RECOGNIZERS = {
    "adaface": uniface.AdaFace,
    "arcface_mbf": uniface.ArcFace,
    "arcface_r50": uniface.ArcFace,
    "edgeface": uniface.EdgeFace,
    "mobileface": uniface.MobileFace,
    "sphereface": uniface.SphereFace,
}


@functools.cache
def _model(cls, family: str, backend: str, standins):
    path = upstream.main_weight_path(upstream.load(family), standins)
    if backend == "mlx":
        return build_pair(cls, model_path=path)[0]
    return cls(model_path=path, backend="onnx")


@pytest.mark.parametrize("backend", upstream.BACKENDS)
@pytest.mark.parametrize("family", sorted(RECOGNIZERS))
def test_recognizer_matches_upstream(family, backend, standins):
    fixture = upstream.load(family)
    cls = RECOGNIZERS[family]
    assert fixture["class"] == cls.__name__
    model = _model(cls, family, backend, standins)
    worst_cos, worst_val = 1.0, 0.0
    for case in fixture["cases"]:
        image = upstream.image(case["image"])
        landmarks = np.asarray(case["landmarks"], dtype=np.float32)
        context = f"{family}/{backend} {case['image']}"
        raw = model.get_embedding(image, landmarks)
        normalized = model.get_normalized_embedding(image, landmarks)
        assert raw.shape == np.shape(case["embedding"]), context  # (1, D), both versions
        assert list(normalized.shape) == case["normalized_shape"], context  # 4.x: a 1-D vector
        worst_cos = min(worst_cos, upstream.assert_cosine(raw, case["embedding"], context))
        worst_val = max(worst_val, upstream.assert_values_close(raw, case["embedding"], context))
        assert np.linalg.norm(normalized) == pytest.approx(case["normalized_norm"], abs=1e-5)
    print(
        f"{family}/{backend}: {len(fixture['cases'])} faces, worst cosine {worst_cos:.7f}, worst value {worst_val:.2e}"
    )


@pytest.mark.parametrize("backend", upstream.BACKENDS)
def test_age_gender_matches_upstream(backend, standins):
    fixture = upstream.load("agegender")
    model = _model(uniface.AgeGender, "agegender", backend, standins)
    for case in fixture["cases"]:
        image = upstream.image(case["image"])
        bbox = np.asarray(case["bbox"], dtype=np.float32)
        context = f"agegender/{backend} {case['image']}"
        raw = model._infer(model.preprocess(image, bbox))[0]
        upstream.assert_values_close(raw, case["raw"], context)
        face = uniface.Face(bbox=bbox, confidence=1.0, landmarks=np.zeros((5, 2), np.float32))
        result = model.predict(image, face)  # 4.x: a DemographyResult, also written into the face
        assert isinstance(result, uniface.DemographyResult)
        assert (face.gender, face.age) == (result.gender, result.age)
        assert result.gender == case["gender"], context
        if not upstream.rounding_tie(case["raw"][2] * 100):  # age = round(100 * raw): a tie may round either way
            assert result.age == case["age"], context
        assert model.predict(image, bbox) == (result.gender, result.age)  # 1.x: the (gender, age) tuple


@pytest.mark.parametrize("backend", upstream.BACKENDS)
def test_landmark106_matches_upstream(backend, standins):
    fixture = upstream.load("landmark106")
    model = _model(uniface.Landmark106, "landmark106", backend, standins)
    worst = 0.0
    for case in fixture["cases"]:
        got = model.get_landmarks(upstream.image(case["image"]), np.asarray(case["bbox"], dtype=np.float32))
        ref = np.asarray(case["landmarks"])
        assert got.shape == ref.shape == (106, 2)
        err = float(np.abs(got - ref).max())
        assert err <= upstream.LANDMARK_PX, f"landmark106/{backend} {case['image']}: off by {err:.5f} px"
        worst = max(worst, err)
    print(f"landmark106/{backend}: {len(fixture['cases'])} faces, worst {worst:.5f} px")
