"""The Ray Data path: `uniface index --ray` on a local Ray gives the same faces and embeddings as in process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from uniface.indexing import index_folder
from uniface.stores import FaceDatabase

import pytest

from ..conftest import IMAGES
from ..face_models import RECOGNIZER_FILE, SCRFD_FILE, face_models  # noqa: F401
from .test_pipeline import REPO, faces_by_file

pytest.importorskip("ray", reason="the Ray path is an optional extra: pip install -e '.[ray]'")

RAY_TIMEOUT = 600  # seconds; Ray start, two actors opening the models, five images (about 30 s on 2 idle cores)


def test_ray_matches_in_process(tmp_path, translation_cache, face_models):  # noqa: F811
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("lfw_Rob_Lowe_0001.jpg", "yolov5face_zidane.jpg", "uniface_src_friends.jpg",
                 "facerec_aligned_a_01.jpg"):  # fmt: skip
        shutil.copyfile(IMAGES / name, folder / name)
    (folder / "broken.png").write_bytes(b"nope")
    ray_db = tmp_path / "ray.db"
    env = {**os.environ, "UNIFACE_CACHE_DIR": str(translation_cache), "PYTHONPATH": str(REPO),
           "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
    cmd = [sys.executable, "-m", "uniface.cli", "index", str(folder), "--db", str(ray_db), "--ray", "--actors", "2",
           "--group", "2", "-q", "--model-path", str(SCRFD_FILE), "--recognizer-path", str(RECOGNIZER_FILE)]  # fmt: skip
    run = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RAY_TIMEOUT)
    assert run.returncode == 1, run.stderr[-3000:]  # 1: broken.png could not be read
    assert "5 file(s) indexed, 0 already done" in run.stderr and "broken.png: unreadable" in run.stderr

    detector, recognizer = face_models
    local = FaceDatabase(tmp_path / "local.db", recognizer=recognizer)
    index_folder(folder, local, detector, recognizer, progress=False)
    ours, theirs = faces_by_file(FaceDatabase(ray_db)), faces_by_file(local)
    assert sorted(ours) == sorted(theirs) and len(ours) == 3
    for name, faces in theirs.items():
        assert sorted(ours[name]) == sorted(faces), name
        for i, emb in faces.items():
            assert float(ours[name][i] @ emb) >= 0.99999, (name, i)
    ray_files = dict(FaceDatabase(ray_db).done_files())
    assert len(ray_files) == 5  # every file marked done, in the same transactions as its faces

    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RAY_TIMEOUT)
    assert again.returncode == 0 and "0 file(s) indexed, 5 already done" in again.stderr
