"""Real detector weights on real photos: the MLX backend must match onnxruntime face for face."""

from __future__ import annotations

import functools

from uniface import SCRFD, RetinaFace, YOLOv5Face, YuNet

import cv2
import numpy as np
import pytest

from .conftest import MODELS, build_pair, need_shared, real_images

DETECTORS = {
    "scrfd_500m": (SCRFD, "scrfd_500m_kps.onnx"),
    "retinaface_mnet025": (RetinaFace, "retinaface_mnet025_biubug6.onnx"),
    "yolov5n_0.5": (YOLOv5Face, "yolov5n_0.5_face.onnx"),
    "yunet": (YuNet, "face_detection_yunet_2023mar.onnx"),
}


@functools.cache
def _pair(name: str):
    cls, filename = DETECTORS[name]
    return build_pair(cls, model_path=MODELS / filename)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match(mlx_faces: list[dict], onnx_faces: list[dict]) -> list[tuple[dict, dict]]:
    """Pair each onnxruntime face with the MLX face of highest IoU (order may differ on near-ties)."""
    pairs, free = [], list(mlx_faces)
    for ref in onnx_faces:
        best = max(free, key=lambda f: iou(f["bbox"], ref["bbox"]))
        free.remove(best)
        pairs.append((best, ref))
    return pairs


@pytest.mark.parametrize("image_path", real_images(), ids=lambda p: p.stem)
@pytest.mark.parametrize("name", list(DETECTORS))
def test_mlx_matches_onnx(name, image_path):
    need_shared()
    mlx_det, onnx_det = _pair(name)
    image = cv2.imread(str(image_path))
    got, ref = mlx_det.detect(image), onnx_det.detect(image)
    assert len(got) == len(ref), f"{name} on {image_path.name}: MLX found {len(got)} faces, onnxruntime {len(ref)}"
    for g, r in match(got, ref):
        assert iou(g["bbox"], r["bbox"]) >= 0.99
        assert np.abs(g["landmarks"] - r["landmarks"]).max() <= 0.5
        assert abs(g["confidence"] - r["confidence"]) <= 1e-3


def test_faces_are_found_on_group_photo():
    """Sanity of the shared pre/post-processing itself (onnxruntime backend)."""
    need_shared()
    image = cv2.imread(str(real_images()[0].parent / "uniface_test.jpg"))
    for name, (cls, filename) in DETECTORS.items():
        faces = cls(model_path=MODELS / filename, backend="onnx").detect(image)
        assert len(faces) >= 10, name
        for f in faces:
            assert f["bbox"].shape == (4,) and f["landmarks"].shape == (5, 2)
            assert isinstance(f["confidence"], float)
            x1, y1, x2, y2 = f["bbox"]
            assert x2 > x1 and y2 > y1
            # the 5 landmarks sit inside (or very near) their box
            assert (f["landmarks"][:, 0] > x1 - 0.2 * (x2 - x1)).all() and (
                f["landmarks"][:, 0] < x2 + 0.2 * (x2 - x1)
            ).all()


def test_max_num_keeps_largest():
    need_shared()
    det = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx")
    image = cv2.imread(str(real_images()[0].parent / "uniface_test.jpg"))
    every = det.detect(image)
    top = det.detect(image, max_num=3)
    areas = sorted(((f["bbox"][2] - f["bbox"][0]) * (f["bbox"][3] - f["bbox"][1]) for f in every), reverse=True)
    assert [round(float((f["bbox"][2] - f["bbox"][0]) * (f["bbox"][3] - f["bbox"][1])), 3) for f in top] == [
        round(float(a), 3) for a in areas[:3]
    ]


def test_yunet_matches_opencv_face_detector_yn():
    """Our YuNet decoding is OpenCV's FaceDetectorYN: same boxes on the same 640x640 canvas."""
    need_shared()
    from runtime.face.preprocess import resize_top_left

    if not hasattr(cv2, "FaceDetectorYN"):
        pytest.skip("this OpenCV build has no FaceDetectorYN")
    path = str(MODELS / "face_detection_yunet_2023mar.onnx")
    reference = cv2.FaceDetectorYN.create(path, "", (640, 640), 0.9, 0.3, 5000)
    det = YuNet(model_path=path, backend="onnx")
    for image_path in real_images():
        image = cv2.imread(str(image_path))
        canvas, factor = resize_top_left(image, (640, 640))
        _, ref = reference.detect(canvas)
        ref = np.zeros((0, 15), np.float32) if ref is None else ref
        ours = det.detect(image)
        assert len(ours) == len(ref), image_path.name
        if len(ref):
            boxes = np.array([f["bbox"] for f in ours]) * factor
            ref_boxes = np.concatenate([ref[:, :2], ref[:, :2] + ref[:, 2:4]], axis=1)
            np.testing.assert_allclose(boxes, ref_boxes, atol=1e-3)
            np.testing.assert_allclose([f["confidence"] for f in ours], ref[:, 14], atol=1e-5)


def test_yolov5_decoded_export_path_matches_raw_heads():
    """uniface's YOLOv5-Face files end in one decoded [1, 25200, 16] output; that path gives the same faces."""
    need_shared()
    from runtime.face import decode

    det = YOLOv5Face(model_path=MODELS / "yolov5n_0.5_face.onnx", backend="onnx")
    image = cv2.imread(str(real_images()[0].parent / "uniface_test.jpg"))
    expected = det.detect(image)
    run = det.session.run
    det.session.run = lambda feed: [decode.yolov5_face_heads(sorted(run(feed), key=lambda o: -o.shape[2]))[None]]
    det.raw_heads = False
    got = det.detect(image)
    assert len(got) == len(expected) > 10
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g["bbox"], e["bbox"], rtol=1e-6)
