"""MobileGaze and HeadPose against upstream uniface 4.2.1 on the same box crops, on both backends."""

from __future__ import annotations

from runtime.face.pose import gaze_angles, rotation_to_euler
from uniface.gaze import MobileGaze
from uniface.headpose import HeadPose

import numpy as np
import pytest

from . import upstream
from .families import BACKENDS, fixture_model, max_abs


def _crop(case):
    image = upstream.image(case["image"])
    x1, y1, x2, y2 = (int(v) for v in np.asarray(case["bbox"], dtype=np.float32))
    assert [x1, y1, x2, y2] == case["crop"]
    return image[y1:y2, x1:x2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mobilegaze_matches_upstream(backend, standins):
    fixture, model = fixture_model(MobileGaze, "mobilegaze", backend, standins)
    worst = 0.0
    for case in fixture["cases"]:
        crop = _crop(case)
        yaw, pitch = model.session.run({model.input_name: model.preprocess(crop)})
        context = f"mobilegaze/{backend} {case['image']}"
        worst = max(worst, upstream.assert_values_close(yaw[0], case["yaw_logits"], context))
        worst = max(worst, upstream.assert_values_close(pitch[0], case["pitch_logits"], context))
        result = model.estimate(crop)
        worst = max(
            worst, upstream.assert_values_close([result.pitch, result.yaw], [case["pitch"], case["yaw"]], context)
        )
    print(f"mobilegaze/{backend}: {len(fixture['cases'])} faces, worst {worst:.2e}")


def test_gaze_decoding_hand_computed():
    """All mass on bin k reads k * 4 - 180 degrees; equal mass on bins 45 and 46 reads 2 degrees."""
    one_hot = np.full((1, 90), -1e4, dtype=np.float32)
    one_hot[0, 60] = 0.0
    pitch, yaw = gaze_angles(one_hot, one_hot)
    assert yaw == pytest.approx(np.radians(60 * 4 - 180)) and pitch == yaw
    two = np.full((1, 90), -1e4, dtype=np.float32)
    two[0, [45, 46]] = 0.0
    pitch, yaw = gaze_angles(yaw_logits=np.full((1, 90), 0.0, dtype=np.float32), pitch_logits=two)
    assert pitch == pytest.approx(np.radians(2.0), abs=1e-6)
    assert yaw == pytest.approx(np.radians(89 / 2 * 4 - 180), abs=1e-6)  # uniform: the middle of the bins


@pytest.mark.parametrize("backend", BACKENDS)
def test_headpose_matches_upstream(backend, standins):
    fixture, model = fixture_model(HeadPose, "headpose", backend, standins)
    worst = {"matrix": 0.0, "degrees": 0.0}
    for case in fixture["cases"]:
        crop = _crop(case)
        context = f"headpose/{backend} {case['image']}"
        matrix = model._infer(model.preprocess(crop))[0]
        worst["matrix"] = max(worst["matrix"], upstream.assert_values_close(matrix, case["rotation_matrix"], context))
        result = model.estimate(crop)
        got, want = [result.pitch, result.yaw, result.roll], [case["pitch"], case["yaw"], case["roll"]]
        worst["degrees"] = max(worst["degrees"], upstream.assert_values_close(got, want, context))
    print(f"headpose/{backend}: {len(fixture['cases'])} faces, worst {worst}")


def test_euler_decomposition_matches_upstream():
    """Hand-made rotations (identity, +-90 degree yaw = gimbal lock, a general one) decompose as upstream's."""
    cases = upstream.load("headpose")["euler_cases"]
    got = HeadPose.rotation_matrix_to_euler(np.asarray(cases["matrices"]))
    assert max_abs(got, cases["euler"]) <= 1e-6
    assert np.allclose(rotation_to_euler(np.eye(3)[None]), 0.0)
    # A pure yaw of 30 degrees about y.
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    yaw30 = np.array([[[c, 0, s], [0, 1, 0], [-s, 0, c]]])
    np.testing.assert_allclose(rotation_to_euler(yaw30), [[0.0, 30.0, 0.0]], atol=1e-9)
