"""The seed README's Python code blocks (uniface 1.x) run as written, every one of them.

Model files reach the code the way they reach a user: through the cache
folder (`UNIFACE_CACHE_DIR`). The shared real models and the stand-ins fill
the default slots: RetinaFace MNET_V2 <- the real RetinaFace-mnet0.25
export (same heads and priors), ArcFace MNET <- the real MobileFaceNet
(128-d instead of 512-d), AgeGender <- the random-weight stand-in. Symlinks,
nothing is copied. The slots are filled both under the release files'
names (what our earlier releases cached) and under upstream 4.x's cache
names (`<enum value>.onnx`).
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


# slot -> (release file name, upstream 4.x cache name)
NAMES = {
    "retinaface": ("retinaface_mv2.onnx", "retinaface_mnet_v2.onnx"),
    "arcface": ("w600k_mbf.onnx", "arcface_mnet.onnx"),
    "agegender": ("genderage.onnx", "age_gender.onnx"),
}


@pytest.fixture(params=[0, 1], ids=["release-names", "4x-cache-names"])
def user_cache(request, tmp_path, monkeypatch, standins):
    cache = tmp_path / "models"
    cache.mkdir()
    names = {slot: pair[request.param] for slot, pair in NAMES.items()}
    (cache / names["retinaface"]).symlink_to(MODELS / "retinaface_mnet025_biubug6.onnx")
    (cache / names["arcface"]).symlink_to(MODELS / "mobilefacenet_prelu_128d.onnx")
    (cache / names["agegender"]).symlink_to(standins / "genderage.onnx")
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(IMAGES / "lfw_Rob_Lowe_0001.jpg", tmp_path / "image.jpg")
    return cache


def test_every_python_block_is_exercised():
    """Quick Start (3) and backend selection (2) are all the seed README's Python; a new one needs a test."""
    text = README.read_text(encoding="utf-8")
    assert len(re.findall(r"```python\n", text)) == 5
    assert (
        len(code_blocks("## Quick Start", "## Supported Models"))
        + len(code_blocks("### Force a Specific Backend", "## Benchmarks"))
        == 5
    )


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
