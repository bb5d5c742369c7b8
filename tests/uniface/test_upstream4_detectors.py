"""Detectors against upstream uniface 4.2.1's own outputs on the same files (fixtures/upstream4), on both backends."""

from __future__ import annotations

import functools

import uniface

import pytest

from . import upstream
from .conftest import build_pair

# oracle family -> our class; the fixtures say which file, settings and photos.
FAMILIES = {
    "blazeface": uniface.BlazeFace,
    "centerface": uniface.CenterFace,
    "retinaface": uniface.RetinaFace,
    "scrfd": uniface.SCRFD,
    "yolov5face": uniface.YOLOv5Face,
    "yolov8face": uniface.YOLOv8Face,
}


@functools.cache
def _detector(family: str, backend: str, init: tuple, standins) -> uniface.detection.BaseDetector:
    fixture = upstream.load(family)
    path = upstream.main_weight_path(fixture, standins)
    cls = FAMILIES[family]
    if backend == "mlx":
        return build_pair(cls, model_path=path, **dict(init))[0]
    return cls(model_path=path, backend="onnx", **dict(init))


@pytest.mark.parametrize("backend", upstream.BACKENDS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_detector_matches_upstream(family, backend, standins):
    fixture = upstream.load(family)
    assert fixture["upstream"] == "uniface 4.2.1" and fixture["class"] == FAMILIES[family].__name__
    worst = {"iou": 1.0, "landmark_px": 0.0, "confidence": 0.0}
    for case in fixture["cases"]:
        detector = _detector(family, backend, tuple(sorted(case["init"].items())), standins)
        faces = detector.detect(upstream.image(case["image"]), **case["detect"])
        context = f"{family}/{backend} {case['image']} {case['init']} {case['detect']}"
        got = upstream.assert_faces_match(faces, case["faces"], context)
        worst = {k: (min if k == "iou" else max)(worst[k], got[k]) for k in worst}
        assert all(isinstance(f, uniface.Face) for f in faces)
    print(f"{family}/{backend}: {len(fixture['cases'])} cases, worst {worst}")
