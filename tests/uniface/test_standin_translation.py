"""The new families' stand-ins, translated both ways (module and op list), against onnxruntime on real photos.

Inputs are real photos preprocessed as each family's facade class does, so
the numbers that reach the post-processing are the ones checked. Target:
every output within 1e-4 of onnxruntime's, relative to the output's scale
(`|mlx - ort| / max(1, max |ort|)`).
"""

from __future__ import annotations

import functools

from runtime.face import blazeface, centerface
from runtime.face.preprocess import letterbox_center, to_nchw
from runtime.models import OnnxRunner, open_model
from uniface.model_store import cache_dir

import cv2
import numpy as np
import pytest

from .conftest import IMAGES, need_shared

RTOL = 1e-4


def _photo(name: str = "uniface_test.jpg") -> np.ndarray:
    need_shared()
    return cv2.imread(str(IMAGES / name))


def _yolo_input() -> np.ndarray:
    canvas, _, _ = letterbox_center(_photo(), 640)
    return to_nchw(canvas[:, :, ::-1].astype(np.float32) / 255.0)


def _face_crop(bgr: bool) -> np.ndarray:
    crop = cv2.resize(_photo("lfw_Rob_Lowe_0001.jpg")[70:190, 70:190], (112, 112))
    pixels = crop if bgr else crop[:, :, ::-1]
    return to_nchw((pixels.astype(np.float32) - 127.5) / 127.5)


CASES = {
    "face_detection_short_range.onnx": lambda: blazeface.to_input(blazeface.letterbox(_photo(), 128)[0]),
    "centerface.onnx": lambda: centerface.to_input(centerface.resize(_photo(), (640, 640))[0]),
    "yolov8n-face.onnx": _yolo_input,
    "yolov5n_face.onnx": _yolo_input,
    "adaface_ir_18.onnx": lambda: _face_crop(bgr=True),
    "edgeface_xxs.onnx": lambda: _face_crop(bgr=False),
}


@functools.cache
def _reference(path):
    return OnnxRunner(path)


@pytest.mark.parametrize("mode", ["module", "oplist"])
@pytest.mark.parametrize("filename", sorted(CASES))
def test_translation_matches_onnxruntime(filename, mode, standins):
    path = standins / filename
    x = CASES[filename]()
    want = _reference(path).run(x)
    runner = open_model(path, "mlx", mode=mode, cache_dir=cache_dir() / "mlx")
    got = runner.run(x)
    assert len(got) == len(want)
    for g, w, info in zip(got, want, runner.outputs):
        assert g.shape == w.shape, info.name
        err = float(np.abs(g.astype(np.float64) - w).max() / max(1.0, float(np.abs(w).max())))
        assert err <= RTOL, f"{filename} {mode} output {info.name}: relative error {err:.2e}"
        print(f"{filename} {mode} {info.name}: {err:.2e}")
