"""FairFace, FaceAttribNet and Emotion (4.x form) against upstream uniface 4.2.1, on both backends."""

from __future__ import annotations

import uniface
from runtime.face.attributes import AGE_LABELS, RACE_LABELS, fairface_decode
from uniface.attribute import Emotion, FaceAttribNet, FairFace

import numpy as np
import pytest

from . import upstream
from .families import BACKENDS, face_of, fixture_model


@pytest.mark.parametrize("backend", BACKENDS)
def test_fairface_matches_upstream(backend, standins):
    fixture, model = fixture_model(FairFace, "fairface", backend, standins)
    worst = 0.0
    for case in fixture["cases"]:
        image = upstream.image(case["image"])
        context = f"fairface/{backend} {case['image']} {case['bbox']}"
        if case["bbox"] is None:
            raw = model.session.run({model.input_name: model.preprocess(image, None)})
            result = model.postprocess(raw)
        else:
            face = face_of(case)
            raw = model.session.run({model.input_name: model.preprocess(image, face.bbox)})
            result = model.predict(image, face)
            assert (face.gender, face.age_group, face.race, face.age) == (
                result.gender,
                result.age_group,
                result.race,
                None,
            )
        for got, want in zip(raw, case["raw"]):
            worst = max(worst, upstream.assert_values_close(got[0], want, context))
        assert (result.gender, result.age_group, result.race) == (case["gender"], case["age_group"], case["race"]), (
            context
        )
    print(f"fairface/{backend}: {len(fixture['cases'])} cases, worst logit error {worst:.2e}")


def test_fairface_labels_and_gender_flip():
    """The model's gender index 0 is male: it reads as 1 (male) in the 4.x convention; argmax picks the labels."""
    race, age = np.zeros((1, 7)), np.zeros((1, 9))
    race[0, 3], age[0, 8] = 5.0, 2.0
    assert fairface_decode(race, np.array([[3.0, -1.0]]), age) == (1, "70+", "East Asian")
    assert fairface_decode(race, np.array([[-1.0, 3.0]]), age)[0] == 0
    assert len(RACE_LABELS) == 7 and len(AGE_LABELS) == 9


@pytest.mark.parametrize("backend", BACKENDS)
def test_faceattribnet_matches_upstream(backend, standins):
    fixture = upstream.load("faceattribnet")
    worst = 0.0
    for case in fixture["cases"]:
        _, model = fixture_model(FaceAttribNet, "faceattribnet", backend, standins, margin=case["margin"])
        face = face_of(case)
        result = model.predict(upstream.image(case["image"]), face)
        context = f"faceattribnet/{backend} {case['image']} margin {case['margin']}"
        worst = max(
            worst, upstream.assert_values_close(list(result.as_dict().values()), case["probabilities"], context)
        )
        assert result.labels() == case["labels"] or _threshold_tie(case["probabilities"]), context
        fields = [face.left_eye_open, face.right_eye_open, face.eyeglasses, face.mask, face.sunglasses]
        assert fields == list(result.as_dict().values())
    print(f"faceattribnet/{backend}: {len(fixture['cases'])} cases, worst {worst:.2e}")


def _threshold_tie(values: list[float], tol: float = 1e-4) -> bool:
    return any(abs(v - 0.5) <= tol for v in values)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["emotion7", "emotion8"])
def test_emotion_4x_matches_upstream(family, backend, standins):
    """`predict(image, face)` -> EmotionResult, written into the Face (upstream ran behind a numpy torch shim)."""
    fixture, model = fixture_model(Emotion, family, backend, standins)
    assert model.emotion_labels == fixture["labels"]
    worst = 0.0
    for case in fixture["cases"]:
        face = face_of(case)
        result = model.predict(upstream.image(case["image"]), face)
        assert isinstance(result, uniface.EmotionResult)
        assert result.emotion == case["emotion"], f"{family}/{backend} {case['image']}"
        worst = max(worst, upstream.assert_values_close(result.confidence, case["confidence"], family))
        assert (face.emotion, face.emotion_confidence) == (result.emotion, result.confidence)
    print(f"{family}/{backend}: {len(fixture['cases'])} faces, worst confidence error {worst:.2e}")


def test_emotion_1x_call_still_returns_a_tuple(standins):
    fixture, model = fixture_model(Emotion, "emotion7", "onnx", standins)
    case = fixture["cases"][0]
    label, confidence = model.predict(upstream.image(case["image"]), np.asarray(case["landmarks"], dtype=np.float32))
    assert label == case["emotion"] and abs(confidence - case["confidence"]) <= upstream.VALUE_TOL


def test_predictors_in_face_analyzer(standins, caplog):
    """The 4.x FaceAnalyzer runs FairFace, FaceAttribNet and Emotion (and, our extension, EDifFIQA and
    MiniFASNet) on every face; the Face fields they own are filled."""
    from uniface.quality import EDifFIQA
    from uniface.spoofing import MiniFASNet

    from .conftest import MODELS

    detector = uniface.SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx")
    predictors = [
        fixture_model(FairFace, "fairface", "mlx", standins)[1],
        fixture_model(FaceAttribNet, "faceattribnet", "mlx", standins, margin=0.0)[1],
        fixture_model(Emotion, "emotion7", "mlx", standins)[1],
        fixture_model(EDifFIQA, "ediffiqa", "mlx", standins)[1],
        fixture_model(MiniFASNet, "minifasnet_v2", "mlx", standins)[1],
    ]
    analyzer = uniface.FaceAnalyzer(detector=detector, recognizer=None, predictors=predictors)
    with caplog.at_level("WARNING"):
        faces = analyzer.analyze(upstream.image("yolov5face_zidane.jpg"))
    assert "failed" not in caplog.text  # the analyzer logs and skips a predictor that raises
    assert len(faces) >= 2
    for face in faces:
        assert face.race in RACE_LABELS and face.age_group in AGE_LABELS and face.gender in (0, 1)
        assert 0.0 <= face.eyeglasses <= 1.0 and face.emotion in predictors[2].emotion_labels
        assert face.age is None  # FairFace gives an age group, not an age
        assert face.to_dict()["race"] == face.race
        assert isinstance(face.quality, float)


def test_faceattribnet_rejects_a_non_square_input_and_a_box_off_the_image(standins):
    fixture = upstream.load("faceattribnet")
    path = upstream.main_weight_path(fixture, standins)
    with pytest.raises(ValueError, match="square"):
        FaceAttribNet(model_path=path, backend="onnx", input_size=(128, 96))
    model = FaceAttribNet(model_path=path, backend="onnx")
    with pytest.raises(ValueError, match="does not overlap"):
        model.predict(np.zeros((50, 50, 3), np.uint8), np.array([60.0, 60.0, 80.0, 80.0]))
