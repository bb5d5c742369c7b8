"""BYTETracker against upstream uniface 4.2.1's outputs on scripted detections, plus the Kalman filter by hand."""

from __future__ import annotations

import json
from pathlib import Path

from uniface.tracking import BoxKalmanFilter, BYTETracker, iou_matrix
from uniface.tracking.kalman import tlbr_to_xyah, xyah_to_tlbr

import numpy as np
import pytest

from tools.tracker_scenarios import scenarios

FIXTURE = json.loads((Path(__file__).parent / "upstream_bytetrack.json").read_text())


def test_fixture_inputs_are_the_scenarios():
    assert FIXTURE["scenarios"] == json.loads(json.dumps(scenarios()))


@pytest.mark.parametrize("name", sorted(FIXTURE["outputs"]))
def test_tracks_match_upstream(name):
    """Same track ids and boxes (to float rounding) as upstream's ByteTrack, frame by frame."""
    tracker = BYTETracker()
    for frame, (dets, expected) in enumerate(zip(FIXTURE["scenarios"][name], FIXTURE["outputs"][name])):
        got = tracker.update(np.array(dets).reshape(-1, 5))
        got = got[np.argsort(got[:, 4])] if len(got) else got.reshape(0, 5)
        want = np.array(expected).reshape(-1, 5)
        want = want[np.argsort(want[:, 4])]
        assert got[:, 4].tolist() == want[:, 4].tolist(), f"{name} frame {frame}: ids {got[:, 4]} vs {want[:, 4]}"
        np.testing.assert_allclose(got[:, :4], want[:, :4], atol=1e-3, err_msg=f"{name} frame {frame}")


def test_scenarios_exercise_the_interesting_cases():
    """The fixture is only useful if the cases happen: a re-found track, a dropped one, noise never confirmed."""
    out = FIXTURE["outputs"]
    ids = lambda name: [sorted(int(r[4]) for r in frame) for frame in out[name]]  # noqa: E731
    assert all(f == [1, 2] for f in ids("crossing")[1:])  # two faces crossing keep their ids
    assert all(f == [1] for f in ids("score_dip"))  # low scores keep the track (second stage)
    gap = ids("short_gap")
    assert gap[11] == [1] and gap[12] == [] and gap[18] == [1]  # lost, then re-found with the same id
    long_gap = ids("long_gap")
    assert long_gap[4] == [1] and long_gap[-1] == [2]  # gone longer than the buffer: back with a new id
    assert all(2 not in f for f in ids("one_frame_noise"))  # a one-frame detection never becomes a track


def test_detection_index_of_each_track():
    tracker = BYTETracker()
    for f in range(3):
        dets = np.array([[300 - 5 * f, 10, 360 - 5 * f, 80, 0.9], [10 + 5 * f, 10, 70 + 5 * f, 80, 0.95]])
        tracker.update(dets)
    for t in tracker.tracks:
        box = np.array([[300 - 10, 10, 360 - 10, 80], [20, 10, 80, 80]])[t.det_index]
        assert iou_matrix(t.tlbr[None], box[None])[0, 0] > 0.9


def test_reset_restarts_ids():
    tracker = BYTETracker()
    tracker.update(np.array([[0, 0, 10, 10, 0.9]]))
    tracker.reset()
    assert tracker.update(np.array([[0, 0, 10, 10, 0.9]]))[0, 4] == 1


def test_empty_frames():
    assert BYTETracker().update(np.empty((0, 5))).shape == (0, 5)
    assert BYTETracker().update([]).shape == (0, 5)


def test_kalman_by_hand():
    """One predict and update, written out: constant velocity, gain P H^T (H P H^T + R)^-1."""
    kf = BoxKalmanFilter()
    z0 = np.array([[50.0, 60.0, 0.8, 100.0]])
    mean, cov = kf.initiate(z0)
    assert np.allclose(mean, [[50, 60, 0.8, 100, 0, 0, 0, 0]])
    assert np.isclose(cov[0, 0, 0], (2 * 100 / 20) ** 2) and np.isclose(cov[0, 4, 4], (10 * 100 / 160) ** 2)
    mean_p, cov_p = kf.predict(mean, cov)
    f = np.eye(8)
    f[:4, 4:] = np.eye(4)
    q = np.diag(np.square([5, 5, 1e-2, 5, 100 / 160, 100 / 160, 1e-5, 100 / 160]))
    assert np.allclose(cov_p[0], f @ cov[0] @ f.T + q)
    z1 = np.array([[55.0, 62.0, 0.8, 102.0]])
    new_mean, new_cov = kf.update(mean_p, cov_p, z1)
    h = np.eye(4, 8)
    r = np.diag(np.square([5, 5, 1e-1, 5]))
    s = h @ cov_p[0] @ h.T + r
    k = cov_p[0] @ h.T @ np.linalg.inv(s)
    assert np.allclose(new_mean[0], mean_p[0] + k @ (z1[0] - h @ mean_p[0]))
    assert np.allclose(new_cov[0], cov_p[0] - k @ s @ k.T)


def test_box_conversions_round_trip():
    boxes = np.array([[10, 20, 70, 100], [0, 0, 5, 50]], dtype=float)
    assert np.allclose(xyah_to_tlbr(tlbr_to_xyah(boxes)), boxes)
