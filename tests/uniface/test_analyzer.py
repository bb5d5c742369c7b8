"""FaceAnalyzer in both generations' forms, and constructors taking both generations' keywords."""

from __future__ import annotations

import logging

import uniface
from uniface import SCRFD, AgeGender, ArcFace, BlazeFace, EdgeFace, FaceAnalyzer, RetinaFace

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, MODELS, need_shared

SCRFD_PATH = MODELS / "scrfd_500m_kps.onnx"


@pytest.fixture
def image():
    need_shared()
    return cv2.imread(str(IMAGES / "uniface_src_meeting.jpg"))


@pytest.fixture
def parts(standins):
    need_shared()
    return (
        SCRFD(model_path=SCRFD_PATH, backend="onnx"),
        ArcFace(model_path=MODELS / "mobilefacenet_prelu_128d.onnx", backend="onnx"),
        AgeGender(model_path=standins / "genderage.onnx", backend="onnx"),
    )


def test_1x_positional_form(parts, image):
    detector, recognizer, age_gender = parts
    analyzer = FaceAnalyzer(detector, recognizer, age_gender)
    faces = analyzer.analyze(image)
    reference = detector.detect(image)
    assert len(faces) == len(reference) >= 3
    for face, ref in zip(faces, reference):
        np.testing.assert_array_equal(face["bbox"], ref.bbox)
        np.testing.assert_allclose(face.embedding, recognizer.get_normalized_embedding(image, ref.landmarks))
        assert (face.gender, face.age) == age_gender.predict(image, ref.bbox)  # the 1.x tuple call
    assert FaceAnalyzer(detector).recognizer is None  # 1.x: no recognizer unless given
    assert FaceAnalyzer(detector=detector, recognizer=recognizer, age_gender=age_gender).predictors == [age_gender]


def test_4x_keyword_form_with_predictors(parts, image):
    detector, recognizer, age_gender = parts
    calls = []

    class Counter:  # any object with predict(image, face) is a predictor
        def predict(self, img, face):
            calls.append(face)
            face.quality = 0.5

    analyzer = FaceAnalyzer(detector=detector, recognizer=recognizer, predictors=[age_gender, Counter()])
    faces = analyzer(image)
    assert len(calls) == len(faces) and all(f.quality == 0.5 and f.age is not None for f in faces)
    assert "predictors=[AgeGender, Counter]" in repr(analyzer)
    assert FaceAnalyzer(detector=detector, recognizer=None).analyze(image)[0].embedding is None


def test_4x_defaults_come_from_the_cache(monkeypatch, tmp_path, standins, image):
    """FaceAnalyzer() loads RetinaFace MNET_V2 and EdgeFace XXS from the cache under upstream 4.x's file names."""
    need_shared()
    (tmp_path / "retinaface_mnet_v2.onnx").symlink_to(MODELS / "retinaface_mnet025_biubug6.onnx")
    (tmp_path / "edgeface_xxs.onnx").symlink_to(standins / "edgeface_xxs.onnx")
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("UNIFACE_BACKEND", "onnx")
    analyzer = FaceAnalyzer()
    assert isinstance(analyzer.detector, RetinaFace) and isinstance(analyzer.recognizer, EdgeFace)
    faces = analyzer.analyze(image)
    assert faces and all(f.embedding.shape == (512,) for f in faces)


def test_blazeface_turns_recognition_off(standins, caplog, parts):
    need_shared()
    detector = BlazeFace(model_path=standins / "face_detection_short_range.onnx", backend="onnx")
    with caplog.at_level(logging.WARNING, logger="uniface"):
        analyzer = FaceAnalyzer(detector=detector, recognizer=parts[1])
    assert analyzer.recognizer is None and "recognition disabled" in caplog.text


def test_a_failing_predictor_loses_only_its_field(parts, image, caplog):
    class Broken:
        def predict(self, img, face):
            raise RuntimeError("boom")

    with caplog.at_level(logging.WARNING, logger="uniface"):
        faces = FaceAnalyzer(detector=parts[0], recognizer=None, predictors=[Broken(), parts[2]]).analyze(image)
    assert faces and all(f.age is not None for f in faces) and "boom" in caplog.text


def test_bad_forms_are_rejected(parts):
    with pytest.raises(TypeError, match="both positionally and as keywords"):
        FaceAnalyzer(parts[0], detector=parts[0])
    with pytest.raises(TypeError, match="predict"):
        FaceAnalyzer(detector=parts[0], recognizer=None, predictors=[object()])


def test_both_threshold_spellings():
    need_shared()
    new = SCRFD(model_path=SCRFD_PATH, backend="onnx", confidence_threshold=0.3, nms_threshold=0.5)
    old = SCRFD(model_path=SCRFD_PATH, backend="onnx", conf_thresh=0.3, nms_thresh=0.5)
    assert (new.confidence_threshold, new.nms_threshold) == (old.conf_thresh, old.nms_thresh) == (0.3, 0.5)
    old.conf_thresh = 0.7  # 1.x code tweaking the attribute
    assert old.confidence_threshold == 0.7 and old.config["confidence_threshold"] == 0.3
    with pytest.raises(TypeError, match="both"):
        SCRFD(model_path=SCRFD_PATH, backend="onnx", conf_thresh=0.3, confidence_threshold=0.3)
    info = new.get_info()
    assert info["name"] == "SCRFD" and info["supports_alignment"] and info["config"]["nms_threshold"] == 0.5


def test_1x_positional_and_4x_keyword_constructors(standins):
    need_shared()
    from uniface.constants import AgeGenderWeights, ArcFaceWeights

    path = standins / "genderage.onnx"
    assert AgeGender(AgeGenderWeights.DEFAULT, (96, 96), model_path=path, backend="onnx").input_size == (96, 96)
    assert AgeGender(model_name=AgeGenderWeights.DEFAULT, model_path=path, backend="onnx").input_size == (96, 96)
    rec = ArcFace(ArcFaceWeights.MNET, uniface.recognition.PreprocessConfig(), model_path=standins / "w600k_mbf.onnx")
    assert rec.input_size == (112, 112)
    with pytest.raises(TypeError, match="weights enum"):
        ArcFace("w600k_mbf.onnx")
    with pytest.raises(ValueError, match="96x96 inputs, not 112x112"):
        AgeGender(input_size=(112, 112), model_path=path, backend="onnx")


def test_factories_of_1x(standins):
    need_shared()
    det = uniface.create_detector("yolov8", model_path=standins / "yolov8n-face.onnx", backend="onnx")
    assert isinstance(det, uniface.YOLOv8Face)
    assert isinstance(uniface.create_recognizer("edgeface", model_path=standins / "edgeface_xxs.onnx"), EdgeFace)
    assert isinstance(uniface.create_landmarker(model_path=standins / "2d106det.onnx"), uniface.Landmark106)
    info = uniface.list_available_detectors()
    assert {"retinaface", "scrfd", "yolov5face", "yolov8face", "centerface", "blazeface", "yunet"} == set(info)
    assert info["blazeface"]["supports_alignment"] is False
    with pytest.raises(ValueError, match="unknown detector"):
        uniface.create_detector("mtcnn")
