"""The database and video commands: enroll, index, search, video; bad inputs give a message naming the culprit."""

from __future__ import annotations

import json
import shutil

from uniface.cli import main
from uniface.stores import FaceDatabase

import cv2
import pytest

from tools.synthetic_clip import build_clip, enrollment_images

from .conftest import IMAGES, need_shared
from .face_models import RECOGNIZER_FILE, SCRFD_FILE

MODELS = ["--model-path", str(SCRFD_FILE), "--recognizer-path", str(RECOGNIZER_FILE)]


@pytest.fixture
def folder(tmp_path):
    need_shared()
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("lfw_Rob_Lowe_0001.jpg", "lfw_Nathalie_Baye_0002.jpg", "yolov5face_zidane.jpg"):
        shutil.copyfile(IMAGES / name, photos / name)
    return photos


def test_enroll_index_search(folder, tmp_path, capsys):
    db = str(tmp_path / "faces.db")
    assert main(["enroll", "rob", str(IMAGES / "lfw_Rob_Lowe_0002.jpg"), "--db", db, *MODELS]) == 0
    assert "enrolled 'rob': 1 face(s)" in capsys.readouterr().out
    assert main(["index", str(folder), "--db", db, "-q", *MODELS]) == 0
    assert "3 file(s) indexed, 0 already done, 4 face(s)" in capsys.readouterr().err
    assert main(["index", str(folder), "--db", db, "-q", *MODELS]) == 0
    assert "0 file(s) indexed, 3 already done" in capsys.readouterr().err
    out_image = tmp_path / "annotated.jpg"
    rc = main(["search", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "--db", db, "-k", "2", "--out", str(out_image),
               "--json", *MODELS])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0
    results = json.loads(captured.out)
    assert len(results) == 1 and len(results[0]["matches"]) == 2
    best, second = results[0]["matches"]
    assert best["metadata"]["file"].endswith("lfw_Rob_Lowe_0001.jpg") and best["score"] > 0.999  # itself
    assert second["person"] == "rob" and second["score"] > 0.4  # the enrolled photo of the same man
    image = cv2.imread(str(out_image))
    assert image is not None and image.shape == cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg")).shape
    assert main(["search", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "--db", db, "--out", str(out_image), *MODELS]) == 0
    assert "1. 1.0000  lfw_Rob_Lowe_0001.jpg#0" in capsys.readouterr().out


def test_video_command(tmp_path, capsys):
    need_shared()
    clip = tmp_path / "clip.mp4"
    build_clip(clip, frames=40)
    db = tmp_path / "people.db"
    for name, image in enrollment_images().items():
        cv2.imwrite(str(tmp_path / f"{name}.png"), image)
        assert main(["enroll", name, str(tmp_path / f"{name}.png"), "--db", str(db), *MODELS]) == 0
    out = tmp_path / "annotated.mp4"
    assert main(["video", str(clip), "--out", str(out), "--db", str(db), "-q", *MODELS]) == 0
    text = capsys.readouterr().out
    assert (
        "40 frame(s)" in text and "FPS" in text and "4 track(s), 4 identification(s)" in text
    )  # t1 leaves and comes back
    assert ": rob (" in text and ": nathalie (" in text and ": t1 (" in text
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40


def test_bad_inputs(folder, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    assert main(["search", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "--db", str(corrupt), *MODELS]) == 1
    assert "corrupt.db: not a database" in capsys.readouterr().err

    other = tmp_path / "other.db"
    FaceDatabase(other, recognizer="0" * 64, embedding_size=128).close()
    assert main(["index", str(folder), "--db", str(other), "-q", *MODELS]) == 1
    assert "other.db: was built with recognizer" in capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["index", str(empty), "--db", str(tmp_path / "e.db"), "-q", *MODELS]) == 1
    assert "empty: no images found" in capsys.readouterr().err

    assert main(["search", str(tmp_path / "missing.jpg"), "--db", str(tmp_path / "e.db"), *MODELS]) == 1
    assert "missing.jpg: no such image file" in capsys.readouterr().err

    assert main(["search", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "--db", str(tmp_path / "e.db"), *MODELS]) == 1
    assert "the database is empty" in capsys.readouterr().err

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"junk")
    assert main(["video", str(junk), "--out", str(tmp_path / "o.mp4"), "-q", *MODELS]) == 1
    assert "junk.mp4: cannot open as a video" in capsys.readouterr().err

    assert main(["enroll", "nobody", str(IMAGES / "facerec_aligned_a_01.jpg"), "--db", str(tmp_path / "n.db"),
                 *MODELS]) == 1  # fmt: skip
    assert "facerec_aligned_a_01.jpg: no face found" in capsys.readouterr().err
