"""Every facade class on its random-weight stand-in: MLX output matches onnxruntime."""

from __future__ import annotations

from uniface import AgeGender, ArcFace, Emotion, Landmark106, RetinaFace, SphereFace, compute_similarity

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, MODELS, build_pair, need_shared


@pytest.fixture(scope="module")
def face():
    need_shared()
    image = cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg"))
    det = RetinaFace(model_path=MODELS / "retinaface_mnet025_biubug6.onnx", backend="onnx")
    return image, det.detect(image, max_num=1)[0]


@pytest.mark.parametrize(
    "cls, filename",
    [(ArcFace, "w600k_mbf.onnx"), (ArcFace, "w600k_r50.onnx"), (SphereFace, "sphere20.onnx")],
    ids=["arcface_mbf", "arcface_r50", "sphereface20"],
)
def test_recognizer(standins, face, cls, filename):
    image, det = face
    mlx_model, onnx_model = build_pair(cls, model_path=standins / filename)
    a = mlx_model.get_normalized_embedding(image, det["landmarks"])
    b = onnx_model.get_normalized_embedding(image, det["landmarks"])
    assert a.shape == b.shape == (512,)
    assert compute_similarity(a, b) >= 0.9999


def test_age_gender(standins, face):
    image, det = face
    mlx_model, onnx_model = build_pair(AgeGender, model_path=standins / "genderage.onnx")
    assert mlx_model.input_size == (96, 96)
    blob = onnx_model.preprocess(image, det["bbox"])
    raw_mlx, raw_onnx = mlx_model._infer(blob), onnx_model._infer(blob)
    np.testing.assert_allclose(raw_mlx, raw_onnx, rtol=1e-4, atol=1e-4)
    gender, age = mlx_model.predict(image, det["bbox"])
    assert (gender, age) == onnx_model.predict(image, det["bbox"])
    assert gender in (0, 1) and isinstance(age, int)


def test_landmark106(standins, face):
    image, det = face
    mlx_model, onnx_model = build_pair(Landmark106, model_path=standins / "2d106det.onnx")
    a, b = mlx_model.get_landmarks(image, det["bbox"]), onnx_model.get_landmarks(image, det["bbox"])
    assert a.shape == b.shape == (106, 2)
    assert np.abs(a - b).max() <= 0.5
    x1, y1, x2, y2 = det["bbox"]
    side = 1.5 * max(x2 - x1, y2 - y1)  # the crop is 1.5x the box; tanh keeps points inside it
    assert (np.abs(b - [(x1 + x2) / 2, (y1 + y2) / 2]) <= side / 2 + 1).all()


@pytest.mark.parametrize("classes", [7, 8])
def test_emotion(standins, face, classes):
    image, det = face
    mlx_model, onnx_model = build_pair(Emotion, model_path=standins / f"affecnet{classes}.onnx")
    assert len(onnx_model.emotion_labels) == classes
    label_m, conf_m = mlx_model.predict(image, det["landmarks"])
    label_o, conf_o = onnx_model.predict(image, det["landmarks"])
    assert label_m == label_o and label_o in onnx_model.emotion_labels
    assert abs(conf_m - conf_o) <= 1e-3
