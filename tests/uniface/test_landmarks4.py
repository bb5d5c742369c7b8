"""PIPNet, FaceMesh and Landmark106 against upstream uniface 4.2.1 (fixtures/upstream4), on both backends."""

from __future__ import annotations

from runtime.face import pipnet as pipnet_math
from runtime.face.facemesh import roi_from_box, warp_roi
from uniface.landmark import FaceMesh, PIPNet

import numpy as np
import pytest

from . import upstream
from .families import BACKENDS, face_of, fixture_model, max_abs

PX = upstream.LANDMARK_PX


@pytest.mark.parametrize("family", ["pipnet98", "pipnet68"])
def test_pipnet_neighbour_tables_are_upstreams(family):
    """The reverse-neighbour tables built from our mean-face files equal upstream's, entry for entry."""
    fixture = upstream.load(family)
    tables = pipnet_math.tables_for(fixture["num_lms"])
    n = fixture["num_lms"]
    assert tables.max_len == fixture["tables"]["max_len"]
    assert tables.landmark.reshape(-1).tolist() == fixture["tables"]["reverse_index1"]
    assert tables.slot.reshape(-1).tolist() == fixture["tables"]["reverse_index2"]
    assert tables.landmark.shape == (n, fixture["tables"]["max_len"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["pipnet98", "pipnet68"])
def test_pipnet_matches_upstream(family, backend, standins):
    fixture, model = fixture_model(PIPNet, family, backend, standins)
    assert model.num_lms == fixture["num_lms"]
    worst = 0.0
    for case in fixture["cases"]:
        got = model.get_landmarks(upstream.image(case["image"]), np.asarray(case["bbox"], dtype=np.float32))
        err = max_abs(got, case["landmarks_out"])
        assert err <= PX, f"{family}/{backend} {case['image']} {case['bbox']}: off by {err:.4f} px"
        assert got.dtype == np.float32 and got.shape == (fixture["num_lms"], 2)
        worst = max(worst, err)
    print(f"{family}/{backend}: {len(fixture['cases'])} faces, worst {worst:.2e} px")


def test_pipnet_accepts_a_face_and_a_dict(standins):
    fixture, model = fixture_model(PIPNet, "pipnet98", "onnx", standins)
    case = next(c for c in fixture["cases"] if "landmarks" in c)
    image = upstream.image(case["image"])
    face = face_of(case)
    want = np.asarray(case["landmarks_out"])
    assert max_abs(model.get_landmarks(image, face), want) <= PX
    assert max_abs(model(image, {"bbox": face.bbox, "landmarks": face.landmarks}), want) <= PX


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["facemesh468", "facemesh478"])
def test_facemesh_matches_upstream(family, backend, standins):
    fixture, model = fixture_model(FaceMesh, family, backend, standins)
    assert model.num_landmarks == fixture["num_landmarks"]
    worst = {"px": 0.0, "score": 0.0}
    for case in fixture["cases"]:
        image = upstream.image(case["image"])
        faces = [face_of(row) for row in case["faces"]]
        if case["call"] == "predict":
            results = model.predict(image, faces)
            assert len(results) == len(case["landmarks_out"])
            for result, want, score in zip(results, case["landmarks_out"], case["scores"]):
                assert result.landmarks.shape == (fixture["num_landmarks"], 3)
                worst["px"] = max(worst["px"], max_abs(result.landmarks, want))
                worst["score"] = max(worst["score"], abs(result.score - score))
        else:
            got = model.get_landmarks(image, faces[0].bbox)
            worst["px"] = max(worst["px"], max_abs(got, case["landmarks_out"][0]))
        assert worst["px"] <= PX, f"{family}/{backend} {case['image']} {case['call']}: off by {worst['px']:.4f} px"
        assert worst["score"] <= upstream.VALUE_TOL
    print(f"{family}/{backend}: {len(fixture['cases'])} calls, worst {worst}")


def test_facemesh_box_and_keypoint_forms_agree(standins):
    """`predict(image, faces)` equals `predict(image, bboxes=, keypoints=)` for the same inputs."""
    fixture, model = fixture_model(FaceMesh, "facemesh468", "onnx", standins)
    case = fixture["cases"][0]
    image = upstream.image(case["image"])
    faces = [face_of(row) for row in case["faces"]]
    by_face = model.predict(image, faces)
    by_box = model.predict(image, bboxes=[f.bbox for f in faces], keypoints=[f.landmarks for f in faces])
    for a, b in zip(by_face, by_box):
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
    with pytest.raises(ValueError, match="either faces or bboxes"):
        model.predict(image)
    with pytest.raises(ValueError, match="keypoint sets"):
        model.predict(image, bboxes=[faces[0].bbox], keypoints=[])
    assert model.predict(image, []) == []


def test_roi_geometry_hand_computed():
    """A 100x50 box at (10, 20): side 1.5 x 100, centre (60, 45); eyes on a 45-degree line roll the ROI by 45."""
    roi = roi_from_box(np.array([10, 20, 110, 70]), np.array([[0, 0], [10, 10], [5, 5]]))
    assert roi == pytest.approx((60.0, 45.0, 150.0, 45.0))
    assert roi_from_box(np.array([10, 20, 110, 70])).angle == 0.0
    with pytest.raises(ValueError, match="at least 2 keypoints"):
        roi_from_box(np.array([0, 0, 1, 1]), np.zeros((1, 2)))
    # The crop's centre pixel samples the ROI's centre: a single bright pixel there lands mid-crop.
    image = np.zeros((100, 140, 3), dtype=np.uint8)
    image[45, 60] = 255
    crop, inverse = warp_roi(image, (60.0, 45.0, 10.0, 0.0), 10)
    assert crop[5, 5].max() == 255 and crop.sum() == 3 * 255
    np.testing.assert_allclose(inverse @ np.array([5.0, 5.0, 1.0]), [60.0, 45.0])
