"""Odd images given to the facade: handled correctly, or refused with a clear error."""

from __future__ import annotations

from runtime.face.preprocess import ImageFormatError
from uniface import SCRFD

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, MODELS, need_shared


@pytest.fixture(scope="module")
def detector():
    need_shared()
    return SCRFD(model_path=str(MODELS / "scrfd_500m_kps.onnx"))


@pytest.fixture(scope="module")
def photo():
    img = cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg"))
    assert img is not None
    return img


def _boxes(faces):
    return np.array([f["bbox"] for f in faces])


@pytest.mark.parametrize(
    "bad",
    [None, np.zeros((0, 0, 3), np.uint8), np.zeros((5, 5, 2), np.uint8), np.zeros((2, 2, 2, 3), np.uint8), "photo.jpg"],
)
def test_unusable_inputs_are_refused_clearly(detector, bad):
    with pytest.raises(ImageFormatError) as err:
        detector.detect(bad)
    assert str(err.value)


def test_none_message_names_imread(detector):
    with pytest.raises(ImageFormatError, match="imread"):
        detector.detect(None)


def test_color_variants_find_the_same_face(detector, photo):
    ref = _boxes(detector.detect(photo))
    assert len(ref) == 1
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    variants = {
        "bgra": cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA),
        "uint16": photo.astype(np.uint16) * 257,
        "noncontiguous": np.ascontiguousarray(np.pad(photo, ((0, 0), (0, 0), (0, 1))))[:, :, :3],
        "flipped_view": photo[:, ::-1][:, ::-1],
        "readonly": photo.copy(),
    }
    variants["readonly"].setflags(write=False)
    for name, img in variants.items():
        got = _boxes(detector.detect(img))
        assert got.shape == ref.shape, name
        np.testing.assert_allclose(got, ref, atol=0.5, err_msg=name)
    # Grayscale loses colour, so the box may move slightly, but the face is found.
    assert len(detector.detect(gray)) == 1
    assert len(detector.detect(gray[..., None])) == 1


def test_tiny_and_large_images(detector, photo):
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []
    big = cv2.resize(photo, (photo.shape[1] * 12, photo.shape[0] * 12))  # ~3000x3000
    faces = detector.detect(big)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0]["bbox"] / 12, _boxes(detector.detect(photo))[0], atol=3)
