"""Usage examples of upstream uniface's documentation, run against this package with local weights.

Each test follows one documented example call for call (the page is named in
its docstring): uniface 4.2.1's quickstart and module pages, and the 1.3.1
README's examples beyond the seed README's (tests/uniface/test_readme.py
runs those verbatim). Weights reach the examples through the cache folder
under upstream 4.x's names; real files where ../shared has the family, the
stand-ins otherwise. Examples of families built elsewhere (FairFace, gaze,
head pose, parsing, spoofing, tracking, FAISS) are left to their branches.
"""

from __future__ import annotations

import logging

import uniface
from uniface.constants import (
    AgeGenderWeights,
    ArcFaceWeights,
    RetinaFaceWeights,
    SCRFDWeights,
    YOLOv5FaceWeights,
    YOLOv8FaceWeights,
)

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, MODELS, need_shared

# upstream 4.x cache name -> our file (../shared/models or a stand-in)
SLOTS = {
    "retinaface_mnet_v2.onnx": MODELS / "retinaface_mnet025_biubug6.onnx",
    "retinaface_mnet025.onnx": MODELS / "retinaface_mnet025_biubug6.onnx",
    "scrfd_10g.onnx": MODELS / "scrfd_500m_kps.onnx",
    "scrfd_500m.onnx": MODELS / "scrfd_500m_kps.onnx",
    "arcface_mnet.onnx": MODELS / "mobilefacenet_prelu_128d.onnx",
    "yolov5s.onnx": "yolov5n_face.onnx",
    "yolov5n.onnx": "yolov5n_face.onnx",
    "yolov8n_face.onnx": "yolov8n-face.onnx",
    "adaface_ir_18.onnx": "adaface_ir_18.onnx",
    "edgeface_xxs.onnx": "edgeface_xxs.onnx",
    "age_gender.onnx": "genderage.onnx",
    "2d_106.onnx": "2d106det.onnx",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory, standins):
    need_shared()
    folder = tmp_path_factory.mktemp("examples-cache")
    for name, source in SLOTS.items():
        (folder / name).symlink_to(source if not isinstance(source, str) else standins / source)
    return folder


@pytest.fixture
def env(cache, monkeypatch, tmp_path):
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def photo(name: str = "uniface_src_meeting.jpg") -> np.ndarray:
    return cv2.imread(str(IMAGES / name))


def test_quickstart_detection(env, capsys):
    """docs/quickstart.md, Face Detection: attributes of the Face objects."""
    from uniface.detection import RetinaFace

    image = photo()
    detector = RetinaFace()
    faces = detector.detect(image)
    for i, face in enumerate(faces):
        print(f"Face {i + 1}:")
        print(f"  Confidence: {face.confidence:.2f}")
        print(f"  BBox: {face.bbox}")
        print(f"  Landmarks: {len(face.landmarks)} points")
    out = capsys.readouterr().out
    assert len(faces) >= 3 and out.count("Landmarks: 5 points") == len(faces)


def test_quickstart_visualize_and_detection_module(env):
    """docs/quickstart.md, Visualize Detections; docs/modules/detection.md, Visualization (faces=)."""
    from uniface.detection import RetinaFace
    from uniface.draw import draw_detections

    detector = RetinaFace()
    image = photo()
    faces = detector.detect(image)
    bboxes = [f.bbox for f in faces]
    scores = [f.confidence for f in faces]
    landmarks = [f.landmarks for f in faces]
    draw_detections(image=image, bboxes=bboxes, scores=scores, landmarks=landmarks, vis_threshold=0.6)
    cv2.imwrite("output.jpg", image)
    second = photo()
    draw_detections(image=second, faces=faces, vis_threshold=0.6)
    cv2.imwrite("result.jpg", second)
    assert not np.array_equal(image, photo()) and np.array_equal(image, second)


def test_quickstart_recognition(env, capsys):
    """docs/quickstart.md, Face Recognition: 1-D normalized embeddings, compute_similarity(normalized=True)."""
    from uniface import compute_similarity
    from uniface.detection import RetinaFace
    from uniface.recognition import ArcFace

    detector = RetinaFace()
    recognizer = ArcFace()
    image1, image2 = photo("lfw_Rob_Lowe_0001.jpg"), photo("lfw_Rob_Lowe_0002.jpg")
    faces1, faces2 = detector.detect(image1), detector.detect(image2)
    assert faces1 and faces2
    emb1 = recognizer.get_normalized_embedding(image1, faces1[0].landmarks)
    emb2 = recognizer.get_normalized_embedding(image2, faces2[0].landmarks)
    similarity = compute_similarity(emb1, emb2, normalized=True)
    print("Same person" if similarity > 0.6 else "Different people", f"(similarity: {similarity:.3f})")
    assert emb1.ndim == 1 and similarity > 0.5  # two photos of one person (real MobileFaceNet)


def test_quickstart_age_gender(env, capsys):
    """docs/quickstart.md, Age & Gender: predict(image, face) -> DemographyResult."""
    from uniface.attribute import AgeGender
    from uniface.detection import RetinaFace

    detector, age_gender = RetinaFace(), AgeGender()
    image = photo()
    faces = detector.detect(image)
    for i, face in enumerate(faces):
        result = age_gender.predict(image, face)
        print(f"Face {i + 1}: {result.sex}, {result.age} years old")
    assert capsys.readouterr().out.count("years old") == len(faces) > 0
    assert all(f.age is not None for f in faces)


def test_quickstart_landmarks_106(env):
    """docs/quickstart.md, Facial Landmarks (106 Points)."""
    from uniface.detection import RetinaFace
    from uniface.landmark import Landmark106

    detector, landmarker = RetinaFace(), Landmark106()
    image = photo()
    faces = detector.detect(image)
    landmarks = landmarker.get_landmarks(image, faces[0].bbox)
    for x, y in landmarks.astype(int):
        cv2.circle(image, (x, y), 2, (0, 255, 0), -1)
    assert len(landmarks) == 106 and cv2.imwrite("landmarks.jpg", image)


def test_quickstart_anonymization_and_privacy_module(env):
    """docs/quickstart.md, Face Anonymization; docs/modules/privacy.md, one-line anonymize_faces."""
    from uniface.detection import RetinaFace
    from uniface.privacy import BlurFace, anonymize_faces

    image = photo()
    faces = RetinaFace().detect(image)
    anonymized = BlurFace(method="pixelate").anonymize(image, faces)
    custom = BlurFace(method="gaussian", blur_strength=5.0).anonymize(image, faces)
    one_line = anonymize_faces(image, method="pixelate")
    assert np.array_equal(image, photo())  # the input is left alone
    x1, y1, x2, y2 = map(int, faces[0].bbox)
    for out in (anonymized, custom, one_line):
        assert not np.array_equal(out[y1:y2, x1:x2], image[y1:y2, x1:x2])
    np.testing.assert_array_equal(one_line, BlurFace(method="pixelate", pixel_blocks=10).anonymize(image, faces))


def test_quickstart_model_download(env):
    """docs/quickstart.md, Models Not Downloading: verify_model_weights returns the cached file."""
    from uniface.constants import RetinaFaceWeights
    from uniface.model_store import verify_model_weights

    model_path = verify_model_weights(RetinaFaceWeights.MNET_V2)
    assert model_path.endswith("retinaface_mnet_v2.onnx")


def test_detection_module_configurations(env):
    """docs/modules/detection.md: the Configuration blocks of RetinaFace, SCRFD, YOLOv5-Face and YOLOv8-Face."""
    from uniface.detection import SCRFD, RetinaFace, YOLOv5Face, YOLOv8Face

    detectors = [
        RetinaFace(model_name=RetinaFaceWeights.MNET_V2, confidence_threshold=0.5, nms_threshold=0.4,
                   input_size=(640, 640), dynamic_size=False, providers=None),
        RetinaFace(model_name=RetinaFaceWeights.MNET_025),
        SCRFD(model_name=SCRFDWeights.SCRFD_10G_KPS, confidence_threshold=0.5, nms_threshold=0.4,
              input_size=(640, 640), providers=None),
        SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS),
        YOLOv5Face(model_name=YOLOv5FaceWeights.YOLOV5S, confidence_threshold=0.6, nms_threshold=0.5,
                   nms_mode="numpy", providers=None),
        YOLOv5Face(model_name=YOLOv5FaceWeights.YOLOV5N),
        YOLOv8Face(model_name=YOLOv8FaceWeights.YOLOV8N, confidence_threshold=0.5, nms_threshold=0.45,
                   nms_mode="numpy", providers=None),
    ]  # fmt: skip
    image = photo()
    for detector in detectors:
        for face in detector.detect(image):  # Output Format
            bbox, confidence, landmarks = face.bbox, face.confidence, face.landmarks
            assert bbox.shape == (4,) and 0 <= confidence <= 1 and landmarks.shape == (5, 2)


def test_analyzer_with_predictors(env, capsys):
    """The 4.x README / FaceAnalyzer docstring: FaceAnalyzer(predictors=[...]) with the default detector and recognizer."""
    from uniface import AgeGender, FaceAnalyzer

    analyzer = FaceAnalyzer(predictors=[AgeGender()])
    for face in analyzer.analyze(photo()):
        print(face.bbox, face.sex, face.age, face.embedding.shape)
    out = capsys.readouterr().out
    assert "(512,)" in out  # EdgeFace XXS, upstream 4.x's default recognizer


# -- uniface 1.3.1 README examples beyond the seed README's ------------------------------------------


def test_1x_landmarks_and_custom_config(env):
    """1.3.1 README: Landmark106 on faces[0]['bbox']; SCRFD(model_name=..., conf_thresh=0.4, input_size=...)."""
    from uniface import Landmark106, RetinaFace
    from uniface.detection import SCRFD

    image = photo()
    faces = RetinaFace().detect(image)
    landmarks = Landmark106().get_landmarks(image, faces[0]["bbox"])
    detector = SCRFD(model_name=SCRFDWeights.SCRFD_10G_KPS, conf_thresh=0.4, input_size=(640, 640))
    assert landmarks.shape == (106, 2) and detector.conf_thresh == 0.4 and detector.detect(image)


def test_1x_detect_faces_and_visualization(env):
    """1.3.1 README: detect_faces(image, method=..., conf_thresh=0.8); draw_detections(image=, bboxes=, ...)."""
    from uniface import detect_faces
    from uniface.visualization import draw_detections

    frame = photo()
    faces = detect_faces(frame, method="retinaface", conf_thresh=0.8)
    bboxes = [f["bbox"] for f in faces]
    scores = [f["confidence"] for f in faces]
    landmarks = [f["landmarks"] for f in faces]
    draw_detections(image=frame, bboxes=bboxes, scores=scores, landmarks=landmarks, vis_threshold=0.6)
    assert faces and all(s >= 0.8 for s in scores) and not np.array_equal(frame, photo())


def test_1x_face_search_pattern(env, capsys):
    """1.3.1 README, face search: a database of embeddings, best match by dot product.

    The README indexes `np.dot(q, db.T)[0][0]` on 1.x's (1, D) embeddings; the
    4.x embeddings here are 1-D (docs/uniface4.md), so the score is the plain dot.
    """
    from uniface import ArcFace, RetinaFace

    detector, recognizer = RetinaFace(), ArcFace(ArcFaceWeights.MNET)
    person_images = {"rob": IMAGES / "lfw_Rob_Lowe_0001.jpg", "nathalie": IMAGES / "lfw_Nathalie_Baye_0002.jpg"}
    database = {}
    for person_id, image_path in person_images.items():
        image = cv2.imread(str(image_path))
        faces = detector.detect(image)
        if faces:
            database[person_id] = recognizer.get_normalized_embedding(image, faces[0]["landmarks"])
    query_image = photo("lfw_Rob_Lowe_0002.jpg")
    query_faces = detector.detect(query_image)
    query = recognizer.get_normalized_embedding(query_image, query_faces[0]["landmarks"])
    best = max(database, key=lambda pid: float(np.dot(query, database[pid])))
    assert best == "rob"


def test_1x_model_store_root_and_logger(env, tmp_path):
    """1.3.1 README: verify_model_weights(..., root='./custom_models'); Logger.setLevel."""
    from uniface import Logger
    from uniface.model_store import verify_model_weights

    (tmp_path / "custom_models").mkdir()
    (tmp_path / "custom_models" / "retinaface_mnet_v2.onnx").symlink_to(MODELS / "retinaface_mnet025_biubug6.onnx")
    assert verify_model_weights(RetinaFaceWeights.MNET_V2, root="./custom_models").startswith("custom_models")
    Logger.setLevel(logging.DEBUG)
    Logger.setLevel(logging.CRITICAL)
    Logger.setLevel(logging.WARNING)
    assert uniface.Logger is logging.getLogger("uniface")


def test_1x_age_gender_with_bbox(env):
    """1.3.1 README: gender, age = age_gender.predict(image, faces[0]['bbox'])."""
    from uniface import AgeGender, RetinaFace

    image = photo()
    faces = RetinaFace().detect(image)
    gender, age = AgeGender(AgeGenderWeights.DEFAULT).predict(image, faces[0]["bbox"])
    assert gender in (0, 1) and isinstance(age, int)
