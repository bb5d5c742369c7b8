"""Video: a synthetic clip with known face paths; tracks match the ground truth, each identified once."""

from __future__ import annotations

from uniface.stores import FaceDatabase
from uniface.tracking import BYTETracker
from uniface.video import VideoError, open_source, process_video

import cv2
import pytest

from tools.synthetic_clip import build_clip, enrollment_images, score_tracks

from .face_models import face_models  # noqa: F401

FRAMES = 90


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    truth = build_clip(folder / "clip.mp4", frames=FRAMES)
    return folder / "clip.mp4", truth


def count_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_tracks_and_identities(clip, tmp_path, face_models):  # noqa: F811
    detector, recognizer = face_models
    db = FaceDatabase(tmp_path / "people.db", detector=detector, recognizer=recognizer)
    for name, image in enrollment_images().items():
        db.enroll(name, [image])
    path, truth = clip
    out = tmp_path / "out.mp4"
    report = process_video(path, out, detector, recognizer=recognizer, db=db, progress=False)
    assert report.frames == FRAMES
    score = score_tracks(truth, report.per_frame)
    assert score["id_switches"] == 0, score
    assert score["segments_tracked"] == score["segments"] == 4  # C's two visits are two tracks
    assert score["shared_ids"] == 0 and score["coverage"] >= 0.95, score
    for segment, track_id in score["track_of_segment"].items():
        person, similarity = report.identities[track_id]
        assert person == truth.person[segment], (segment, person, similarity)
    assert report.identifications == report.tracks == len(report.identities)  # once per track, not per frame
    assert count_frames(out) == FRAMES  # playable: OpenCV reads every frame back
    assert not list(tmp_path.glob(".*partial*"))


def test_without_database(clip, tmp_path, face_models):  # noqa: F811
    detector, _ = face_models
    path, truth = clip
    report = process_video(path, tmp_path / "plain.mp4", detector, tracker=BYTETracker(), max_frames=30, progress=False)
    assert report.frames == 30 and report.identities == {} and report.identifications == 0
    assert count_frames(tmp_path / "plain.mp4") == 30


def test_bad_sources(tmp_path, face_models):  # noqa: F811
    detector, recognizer = face_models
    with pytest.raises(VideoError, match=r"nothing\.mp4: no such video file"):
        process_video(tmp_path / "nothing.mp4", tmp_path / "o.mp4", detector, progress=False)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(VideoError, match=r"junk\.mp4: cannot open as a video"):
        process_video(junk, tmp_path / "o.mp4", detector, progress=False)
    with pytest.raises(VideoError, match="webcam 97: cannot open"):
        open_source("97")
    with pytest.raises(ValueError, match="needs a recognizer"):
        process_video(junk, tmp_path / "o.mp4", detector, db=object(), progress=False)
    assert not (tmp_path / "o.mp4").exists()
