"""The seed README's Quick Start and backend code blocks run as written.

Model files reach the code the way they reach a user: through the cache
folder (`UNIFACE_CACHE_DIR`), under uniface's upstream file names. The
shared real models and the stand-ins fill the default slots:
retinaface_mv2.onnx <- the real RetinaFace-mnet0.25 export (same heads and
priors), w600k_mbf.onnx <- the real MobileFaceNet (128-d instead of 512-d),
genderage.onnx <- the random-weight stand-in. Symlinks, nothing is copied.
"""

from __future__ import annotations

import os
import re
import shutil

import cv2
import pytest

from .conftest import IMAGES, MODELS, SHARED, need_shared

README = SHARED / "SEED_README.md"


def code_blocks(section_start: str, section_end: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text[text.index(section_start) : text.index(section_end, text.index(section_start))]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


@pytest.fixture
def user_cache(tmp_path, monkeypatch, standins):
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / "retinaface_mv2.onnx").symlink_to(MODELS / "retinaface_mnet025_biubug6.onnx")
    (cache / "w600k_mbf.onnx").symlink_to(MODELS / "mobilefacenet_prelu_128d.onnx")
    (cache / "genderage.onnx").symlink_to(standins / "genderage.onnx")
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(IMAGES / "lfw_Rob_Lowe_0001.jpg", tmp_path / "image.jpg")
    return cache


def test_quick_start_blocks_run(user_cache, capsys):
    need_shared()
    blocks = code_blocks("## Quick Start", "## Supported Models")
    assert len(blocks) == 3, "expected detection, recognition and age/gender blocks"
    # The later blocks use images the README leaves to the reader.
    namespace = {
        "image": cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg")),
        "image1": cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0001.jpg")),
        "image2": cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0002.jpg")),
    }
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Face detected with confidence: 1.00" in out
    similarity = float(re.search(r"Similarity: (-?[0-9.]+)", out).group(1))
    assert similarity > 0.5  # two photos of the same person
    assert re.search(r"(Female|Male), -?\d+ years old", out)


def test_backend_blocks_run(user_cache, monkeypatch, capsys):
    need_shared()
    monkeypatch.delenv("UNIFACE_BACKEND", raising=False)  # the block sets it; restored afterwards
    blocks = code_blocks("### Force a Specific Backend", "## Benchmarks")
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["detector"].backend == "onnx"  # the block's last assignment wins
    assert os.environ["UNIFACE_BACKEND"] == "onnx"
    assert capsys.readouterr().out.strip() == "Using: Backend.ONNX"
