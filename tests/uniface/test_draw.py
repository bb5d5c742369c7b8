"""uniface.draw and uniface.privacy against upstream 4.2.1's pixels (fixtures/upstream4/drawing.json).

Each case is replayed with our package through the same `render` the oracle
ran with upstream's. With the OpenCV version the fixture was made with, the
pixels must be identical (sha256); under another OpenCV release, font and
anti-aliasing rasterization may move a few edge pixels, so then the
quarter-size thumbnails must agree within one grey level on average.
"""

from __future__ import annotations

import base64

import uniface

import cv2
import numpy as np
import pytest

from tools.oracle_families.drawing import CASES, digest, render

from . import upstream
from .conftest import IMAGES, need_shared

FIXTURE = upstream.FIXTURES / "drawing.json"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_drawing_matches_upstream_pixels(case):
    need_shared()
    ref = {c["name"]: c for c in upstream.load("drawing")["cases"]}[case["name"]]
    got = render(case, uniface, IMAGES)
    assert list(got.shape) == ref["shape"]
    mine = digest(got)
    if cv2.__version__ == upstream.load("drawing")["opencv"]:
        assert mine["sha256"] == ref["sha256"], f"{case['name']}: pixels differ from upstream's"
    else:
        theirs = cv2.imdecode(np.frombuffer(base64.b64decode(ref["thumb_png"]), np.uint8), cv2.IMREAD_COLOR)
        ours = cv2.imdecode(np.frombuffer(base64.b64decode(mine["thumb_png"]), np.uint8), cv2.IMREAD_COLOR)
        assert np.abs(ours.astype(int) - theirs).mean() <= 1.0, case["name"]


def test_draw_detections_call_forms_agree():
    """1.x keyword lists, 1.x/ours positional and 4.x faces= give the same picture; dict faces too."""
    faces = [
        uniface.Face(bbox=np.array(b, np.float32), confidence=s, landmarks=np.full((5, 2), 50, np.float32))
        for b, s in (([10, 10, 90, 100], 0.9), ([100, 20, 150, 90], 0.5))
    ]
    canvas = np.zeros((120, 160, 3), np.uint8)
    ref = uniface.draw.draw_detections(image=canvas.copy(), faces=faces)
    bboxes, scores, lms = [f.bbox for f in faces], [f.confidence for f in faces], [f.landmarks for f in faces]
    forms = [
        uniface.visualization.draw_detections(image=canvas.copy(), bboxes=bboxes, scores=scores, landmarks=lms),
        uniface.draw_detections(canvas.copy(), faces),
        uniface.draw_detections(canvas.copy(), bboxes, scores, lms, 0.6),
        uniface.draw_detections(canvas.copy(), [dict(f) for f in faces]),
        uniface.draw_detections(image=canvas.copy(), faces=faces, fancy_bbox=True),
    ]
    for out in forms:
        np.testing.assert_array_equal(out, ref)
    assert ref.any() and not np.array_equal(ref, uniface.draw_detections(canvas.copy(), faces, vis_threshold=0.4))
    with pytest.raises(ValueError, match="faces, or bboxes"):
        uniface.draw.draw_detections(image=canvas)


def test_blur_face_rejects_unknown_method_and_keeps_input():
    with pytest.raises(ValueError, match="Invalid blur method"):
        uniface.BlurFace(method="swirl")
    image = np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    face = uniface.Face(bbox=np.array([10, 10, 60, 70], np.float32), confidence=1.0, landmarks=np.zeros((5, 2)))
    for method in sorted(uniface.BlurFace.VALID_METHODS):
        before = image.copy()
        out = uniface.BlurFace(method=method).anonymize(image, [face])
        np.testing.assert_array_equal(image, before)  # a new image unless inplace=True
        assert not np.array_equal(out[10:70, 10:60], before[10:70, 10:60]), method
        inplace = image.copy()
        assert uniface.BlurFace(method=method).anonymize(inplace, [face], inplace=True) is inplace
        np.testing.assert_array_equal(inplace, out)  # elliptical included (upstream returns a new array there)
