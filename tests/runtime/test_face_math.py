"""runtime.face: priors, decoders, NMS and alignment against straightforward reference loops."""

from __future__ import annotations

import math

from runtime.face import decode, detectors
from runtime.face.alignment import ARCFACE_TEMPLATE, bbox_center_matrix, estimate_norm, transform_points_2d, umeyama
from runtime.face.nms import nms
from runtime.face.preprocess import ensure_bgr, letterbox_center, resize_top_left
from runtime.face.priors import anchor_centers, retinaface_priors

import numpy as np
import pytest


def loop_priors(h: int, w: int) -> np.ndarray:
    out = []
    for step, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512))):
        for i in range(math.ceil(h / step)):
            for j in range(math.ceil(w / step)):
                for s in sizes:
                    out.append([(j + 0.5) * step / w, (i + 0.5) * step / h, s / w, s / h])
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("hw", [(640, 640), (480, 640), (200, 328)])
def test_priors_match_loop(hw):
    np.testing.assert_array_equal(retinaface_priors(hw), loop_priors(*hw))


def test_priors_count_for_640():
    assert retinaface_priors((640, 640)).shape == (16800, 4)


def test_anchor_centers_order():
    c = anchor_centers(2, 3, 8, 2)
    expected = [[x * 8, y * 8] for y in range(2) for x in range(3) for _ in range(2)]
    np.testing.assert_array_equal(c, expected)


def loop_nms(dets: np.ndarray, thr: float) -> list[int]:
    order = list(np.argsort(-dets[:, 4], kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            xx1, yy1 = max(dets[i, 0], dets[j, 0]), max(dets[i, 1], dets[j, 1])
            xx2, yy2 = min(dets[i, 2], dets[j, 2]), min(dets[i, 3], dets[j, 3])
            inter = max(0.0, xx2 - xx1 + 1) * max(0.0, yy2 - yy1 + 1)
            a = (dets[i, 2] - dets[i, 0] + 1) * (dets[i, 3] - dets[i, 1] + 1)
            b = (dets[j, 2] - dets[j, 0] + 1) * (dets[j, 3] - dets[j, 1] + 1)
            if inter / (a + b - inter) <= thr:
                rest.append(j)
        order = rest
    return keep


def test_nms_matches_loop():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 200, (300, 2))
    wh = rng.uniform(10, 60, (300, 2))
    dets = np.hstack([xy, xy + wh, rng.permutation(300)[:, None] / 300.0]).astype(np.float32)
    assert nms(dets, 0.4) == loop_nms(dets, 0.4)
    assert nms(np.zeros((0, 5), np.float32), 0.4) == []


def test_retinaface_decoding_inverts_encoding():
    priors = retinaface_priors((64, 64))
    boxes = np.array([[0.2, 0.3, 0.5, 0.7]] * len(priors), dtype=np.float32)
    centers, sizes = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
    loc = np.hstack([(centers - priors[:, :2]) / (0.1 * priors[:, 2:]), np.log(sizes / priors[:, 2:]) / 0.2])
    np.testing.assert_allclose(decode.retinaface_boxes(loc.astype(np.float32), priors), boxes, atol=1e-5)


def test_distance_decoding():
    pts = np.array([[10.0, 20.0]], dtype=np.float32)
    np.testing.assert_array_equal(
        decode.distance2bbox(pts, np.array([[15.0, 5.0, 3.0, 4.0]])), [[0.0, 15.0, 13.0, 24.0]]
    )
    kps = decode.distance2kps(pts, np.arange(10, dtype=np.float32)[None])
    np.testing.assert_array_equal(kps, [[10, 21, 12, 23, 14, 25, 16, 27, 18, 29]])


def test_yolov5_decoding_matches_elementwise_formula():
    rng = np.random.default_rng(1)
    heads = [rng.normal(size=(1, 3, 640 // s, 640 // s, 16)).astype(np.float32) for s in (8, 16, 32)]
    out = decode.yolov5_face_heads(heads)
    assert out.shape == (3 * (6400 + 1600 + 400), 16)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    # stride 16, anchor 2, row 5, col 7
    raw = heads[1][0, 2, 5, 7]
    row = out[3 * 6400 + 2 * 1600 + 5 * 40 + 7]
    aw, ah = 73, 105
    assert row[0] == pytest.approx((sig(raw[0]) * 2 - 0.5 + 7) * 16, rel=1e-5)
    assert row[1] == pytest.approx((sig(raw[1]) * 2 - 0.5 + 5) * 16, rel=1e-5)
    assert row[2] == pytest.approx((sig(raw[2]) * 2) ** 2 * aw, rel=1e-5)
    assert row[3] == pytest.approx((sig(raw[3]) * 2) ** 2 * ah, rel=1e-5)
    assert row[4] == pytest.approx(sig(raw[4]), rel=1e-5)
    assert row[5] == pytest.approx(raw[5] * aw + 7 * 16, rel=1e-5)
    assert row[6] == pytest.approx(raw[6] * ah + 5 * 16, rel=1e-5)
    assert row[15] == pytest.approx(sig(raw[15]), rel=1e-5)


def test_umeyama_recovers_similarity():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = src @ (scale * rot).T + shift
    t = umeyama(src, dst)
    np.testing.assert_allclose(t[:2, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(t[:2, 2], shift, atol=1e-9)


def test_estimate_norm_is_identity_on_the_template():
    m, inv = estimate_norm(ARCFACE_TEMPLATE)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-5)
    m128, _ = estimate_norm(ARCFACE_TEMPLATE * 128 / 112, 128)
    assert m128[0, 2] == pytest.approx(8.0, abs=1e-4)
    with pytest.raises(ValueError):
        estimate_norm(ARCFACE_TEMPLATE, 100)


def test_bbox_center_matrix_centres_the_box():
    m = bbox_center_matrix((50.0, 80.0), 96, 0.5, 0.0)
    np.testing.assert_allclose(transform_points_2d(np.array([[50.0, 80.0]]), m), [[48.0, 48.0]], atol=1e-5)
    r = bbox_center_matrix((50.0, 80.0), 96, 1.0, 90.0)
    np.testing.assert_allclose(transform_points_2d(np.array([[60.0, 80.0]]), r), [[48.0, 58.0]], atol=1e-4)


def test_resize_and_letterbox():
    img = np.full((100, 200, 3), 7, np.uint8)
    canvas, factor = resize_top_left(img, (640, 640))
    assert factor == 3.2 and canvas[:320].min() == 7 and canvas[320:].max() == 0
    boxed, scale, (pw, ph) = letterbox_center(img, 640)
    assert scale == 3.2 and (pw, ph) == (0, 160) and boxed[0, 0, 0] == 114 and boxed[320, 320, 0] == 7


def test_ensure_bgr_layouts():
    assert ensure_bgr(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert ensure_bgr(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    assert ensure_bgr(np.full((4, 5, 3), 65535, np.uint16)).max() == 255
    with pytest.raises(ValueError):
        ensure_bgr(np.zeros((4, 5, 2), np.uint8))


def test_select_top_by_area_and_centre():
    dets = np.array([[0, 0, 10, 10, 0.9], [40, 40, 60, 60, 0.8], [0, 0, 30, 30, 0.7]], np.float32)
    lms = np.zeros((3, 5, 2), np.float32)
    top, _ = detectors.select_top(dets, lms, 1, (100, 100), "max")
    assert top[0, 4] == pytest.approx(0.7)
    central, _ = detectors.select_top(dets, lms, 1, (100, 100), "default")
    assert central[0, 4] == pytest.approx(0.8)
