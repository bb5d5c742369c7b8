"""`Face` as the 4.x dataclass and as the 1.x detection dict; the result dataclasses; writing results into faces."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from uniface import DemographyResult, EmotionResult, Face, FaceStateResult, QualityResult, SpoofingResult
from uniface.predictor import bbox_of, is_face, landmarks_of, write_result

import numpy as np
import pytest


def make_face(**kw) -> Face:
    return Face(
        bbox=np.array([10.0, 20.0, 50.0, 80.0], np.float32),
        confidence=0.9,
        landmarks=np.arange(10, dtype=np.float32).reshape(5, 2),
        **kw,
    )


def test_reads_as_the_1x_detection_dict():
    face = make_face()
    assert list(face) == face.keys() == ["bbox", "confidence", "landmarks"]  # exactly a 1.x detection's keys
    np.testing.assert_array_equal(face["bbox"], face.bbox)
    assert face["confidence"] == face.get("confidence") == 0.9
    assert "bbox" in face and "embedding" not in face and "nope" not in face
    assert face.get("embedding") is None and face.get("embedding", 7) == 7
    with pytest.raises(KeyError, match="embedding"):
        face["embedding"]
    assert dict(face).keys() == {"bbox", "confidence", "landmarks"} and len(face.keys()) == 3
    assert isinstance(face, Mapping)
    assert {**face}["confidence"] == 0.9  # ** unpacking, as with a dict


def test_a_list_of_faces_stays_a_list_of_objects_for_numpy():
    faces = [make_face(), make_face()]
    arr = np.array(faces, dtype=object)
    assert arr.shape == (2,) and arr[0] is faces[0]


def test_dict_writes_land_in_fields_or_extra_keys():
    face = make_face()
    face["embedding"] = np.ones(4)
    assert face.embedding is not None and "embedding" in face
    face["name"] = "Ann"  # 1.x code could add any key to its dicts
    assert face["name"] == "Ann" and face.keys()[-1] == "name"
    assert "name" not in face.to_dict() and "name" not in dataclasses.asdict(face)  # not a 4.x field
    face.update(age=31, note="x")
    assert face.age == 31 and face["note"] == "x"
    assert face.pop("note") == "x" and "note" not in face
    del face["embedding"]
    assert face.embedding is None
    with pytest.raises(KeyError, match="required"):
        del face["bbox"]
    assert face.setdefault("gender", 1) == 1 and face.sex == "Male"
    copy = face.copy()
    copy["name"] = "Bob"
    assert face["name"] == "Ann"


def test_4x_dataclass_api():
    face = make_face(gender=0, age=30)
    assert face.sex == "Female" and make_face().sex is None
    np.testing.assert_allclose(face.bbox_xywh, [10, 20, 40, 60])
    xyxy = face.bbox_xyxy
    xyxy[0] = 99
    assert face.bbox[0] == 10  # a copy
    assert [f.name for f in dataclasses.fields(Face)][:3] == ["bbox", "confidence", "landmarks"]
    assert len(dataclasses.fields(Face)) == 17
    data = json.loads(face.to_json())
    assert data["bbox"] == [10.0, 20.0, 50.0, 80.0] and data["age"] == 30 and data["track_id"] is None
    assert set(face.to_dict()) == {f.name for f in dataclasses.fields(Face)}
    with pytest.raises(ValueError, match="embedding"):
        face.compute_similarity(make_face())
    a, b = make_face(embedding=np.array([1.0, 0.0])), make_face(embedding=np.array([1.0, 1.0]))
    assert a.compute_similarity(b) == pytest.approx(2**-0.5, abs=1e-4)
    assert "age=30" in repr(face) and "sex=Female" in repr(face)


def test_result_dataclasses_are_frozen_values():
    r = DemographyResult(gender=1, age=40)
    assert r.sex == "Male" and "age=40" in repr(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.age = 3
    s = FaceStateResult(0.9, 0.2, 0.7, 0.1, 0.6)
    assert s.labels() == ["left_eye_open", "eyeglasses", "sunglasses"]
    assert repr(SpoofingResult(True, 0.87654)) == "SpoofingResult(Real, confidence=0.8765)"


def test_write_result_fills_only_the_fields_a_result_has():
    face = make_face()
    write_result(face, DemographyResult(gender=1, age=40))
    write_result(face, DemographyResult(gender=0, age_group="20-29", race="White"))  # FairFace: no exact age
    assert (face.gender, face.age, face.age_group, face.race) == (0, 40, "20-29", "White")
    write_result(face, EmotionResult("Happy", 0.8))
    write_result(face, QualityResult(0.7))
    write_result(face, FaceStateResult(0.9, 0.8, 0.1, 0.0, 0.2))
    assert (face.emotion, face.emotion_confidence, face.quality, face.left_eye_open) == ("Happy", 0.8, 0.7, 0.9)
    write_result(face, SpoofingResult(True, 0.9))  # no Face field for it: nothing changes
    assert "is_real" not in face


def test_box_and_landmark_readers_accept_both_generations():
    face = make_face()
    for value in (face, dict(face), face.bbox, list(face.bbox)):
        np.testing.assert_array_equal(bbox_of(value), face.bbox)
    assert bbox_of(face).dtype == np.float32  # kept: upstream computes crops in the detector's dtype
    assert landmarks_of(dict(face)).shape == (5, 2)
    assert is_face(face) and not is_face(dict(face)) and not is_face(face.bbox)
    with pytest.raises(KeyError, match="bbox"):
        bbox_of({"box": [1, 2, 3, 4]})
