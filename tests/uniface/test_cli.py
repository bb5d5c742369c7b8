"""The `uniface` command: batches with bad files carry on and report at the end."""

from __future__ import annotations

import json
import shutil

from uniface.cli import guess_detector_family, main

import cv2
import pytest

from .conftest import IMAGES, MODELS, need_shared

SCRFD_FILE = str(MODELS / "scrfd_500m_kps.onnx")


@pytest.fixture
def batch(tmp_path):
    need_shared()
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(IMAGES / "lfw_Rob_Lowe_0001.jpg", folder / "rob.jpg")
    shutil.copyfile(IMAGES / "facerec_aligned_a_01.jpg", folder / "tight_crop.jpg")  # SCRFD finds no face
    (folder / "broken.jpg").write_bytes(b"not an image")
    image = cv2.imread(str(IMAGES / "lfw_Rob_Lowe_0002.jpg"))
    cv2.imwrite(str(folder / "gray.png"), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "alpha.png"), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    return folder


def test_detect_folder(batch, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["detect", str(batch), "--model-path", SCRFD_FILE, "--backend", "onnx", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 1  # one unreadable file
    result = json.loads(captured.out)
    assert result["backend"] == "onnx"
    counts = {k.split("/")[-1]: len(v) for k, v in result["images"].items()}
    assert counts == {"alpha.png": 1, "gray.png": 1, "rob.jpg": 1, "tight_crop.jpg": 0}
    assert "broken.jpg: unreadable" in captured.err
    assert "no face: tight_crop.jpg" in captured.err
    assert "gray.png: grayscale" in captured.err and "alpha.png: had an alpha channel" in captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "alpha.jpg",
        "detections.json",
        "gray.jpg",
        "rob.jpg",
        "tight_crop.jpg",
    ]


def test_verify(capsys):
    need_shared()
    common = [
        "--model-path",
        SCRFD_FILE,
        "--recognizer-path",
        str(MODELS / "mobilefacenet_prelu_128d.onnx"),
        "--backend",
        "onnx",
    ]
    assert main(["verify", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), str(IMAGES / "lfw_Rob_Lowe_0002.jpg"), *common]) == 0
    assert "verdict: same person (threshold 0.35)" in capsys.readouterr().out
    assert (
        main(["verify", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), str(IMAGES / "lfw_Nathalie_Baye_0002.jpg"), *common])
        == 0
    )
    assert "verdict: different people" in capsys.readouterr().out
    assert main(["verify", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "/nonexistent.jpg", *common]) == 1


def test_analyze(tmp_path, standins, capsys):
    need_shared()
    rc = main([
        "analyze", str(IMAGES / "lfw_Rob_Lowe_0001.jpg"), "--model-path", SCRFD_FILE, "--backend", "onnx",
        "--recognizer-path", str(MODELS / "mobilefacenet_prelu_128d.onnx"), "--age-gender-path", str(standins / "genderage.onnx"),
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "1 face(s)" in out and "128-d embedding" in out and "age" in out


def test_family_is_guessed_from_outputs():
    need_shared()
    assert guess_detector_family(SCRFD_FILE) == "scrfd"
    assert guess_detector_family(str(MODELS / "retinaface_mnet025_biubug6.onnx")) == "retinaface"
    assert guess_detector_family(str(MODELS / "yolov5n_0.5_face.onnx")) == "yolov5face"
    assert guess_detector_family(str(MODELS / "face_detection_yunet_2023mar.onnx")) == "yunet"


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["detect", "x.jpg", "--model", "scrfd", "--model-path", "y.onnx"])
    assert info.value.code == 2
    assert main(["detect", "/nonexistent-folder", "--backend", "onnx"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
