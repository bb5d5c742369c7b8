"""Embeddings: MLX vs onnxruntime, and face verification with the real MobileFaceNet."""

from __future__ import annotations

import functools
import itertools

from uniface import SCRFD, ArcFace, compute_similarity, face_alignment

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, MODELS, build_pair, need_shared

PEOPLE = {
    "lfw_Rob_Lowe_0001": "rob",
    "lfw_Rob_Lowe_0002": "rob",
    "lfw_Nathalie_Baye_0002": "nathalie",
    "facerec_aligned_a_01": "a",
    "facerec_aligned_a_02": "a",
    "facerec_aligned_b_01": "b",
    "facerec_aligned_b_02": "b",
}


@functools.cache
def _models(backend: str):
    if backend == "mlx":
        det_m, _ = build_pair(SCRFD, model_path=MODELS / "scrfd_500m_kps.onnx")
        rec_m, _ = build_pair(ArcFace, model_path=MODELS / "mobilefacenet_prelu_128d.onnx")
        return det_m, rec_m
    return SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx"), ArcFace(
        model_path=MODELS / "mobilefacenet_prelu_128d.onnx", backend="onnx"
    )


def _embedding(name: str, backend: str) -> np.ndarray:
    detector, recognizer = _models(backend)
    image = cv2.imread(str(IMAGES / f"{name}.jpg"))
    faces = detector.detect(image, max_num=1)
    # the 112x112 crops are aligned already (SCRFD finds no face on such tight crops)
    landmarks = faces[0]["landmarks"] if faces else None
    assert faces or image.shape[:2] == (112, 112), name
    return recognizer.get_normalized_embedding(image, landmarks)


@pytest.mark.parametrize("backend", ["onnx", "mlx"])
def test_same_person_pairs_score_above_every_different_pair(backend):
    need_shared()
    emb = {name: _embedding(name, backend) for name in PEOPLE}
    same, different = [], []
    for a, b in itertools.combinations(PEOPLE, 2):
        (same if PEOPLE[a] == PEOPLE[b] else different).append(compute_similarity(emb[a], emb[b]))
    assert len(same) == 3
    assert min(same) > max(different), f"same {sorted(same)} vs different max {max(different):.3f}"


@pytest.mark.parametrize("name", list(PEOPLE))
def test_embedding_cosine_between_backends(name):
    need_shared()
    _models("mlx")  # skips while MobileFaceNet cannot be translated
    a, b = _embedding(name, "mlx"), _embedding(name, "onnx")
    assert compute_similarity(a, b) >= 0.9999


def test_normalized_embedding_is_unit_length_and_shaped_like_uniface():
    need_shared()
    _, recognizer = _models("onnx")
    image = cv2.imread(str(IMAGES / "facerec_aligned_a_01.jpg"))
    raw = recognizer.get_embedding(image)
    norm = recognizer.get_normalized_embedding(image)
    assert raw.shape == (1, 128)  # the raw output keeps its batch axis (1.x and 4.x)
    assert norm.shape == (128,)  # uniface 4.x: a 1-D unit vector
    assert np.linalg.norm(norm) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(norm, raw.ravel() / np.linalg.norm(raw), rtol=1e-6)


def test_alignment_maps_landmarks_onto_template():
    """face_alignment warps the 5 detected points onto the ArcFace template (within a pixel or two)."""
    from runtime.face.alignment import ARCFACE_TEMPLATE, estimate_norm

    need_shared()
    detector, _ = _models("onnx")
    image = cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg"))
    lms = detector.detect(image, max_num=1)[0]["landmarks"]
    aligned, inverse = face_alignment(image, lms)
    assert aligned.shape == (112, 112, 3)
    matrix, _ = estimate_norm(lms)
    mapped = lms @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 6.0
    back = ARCFACE_TEMPLATE @ inverse[:, :2].T + inverse[:, 2]
    np.testing.assert_allclose(back @ matrix[:, :2].T + matrix[:, 2], ARCFACE_TEMPLATE, atol=1e-3)
