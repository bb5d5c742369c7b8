"""`dynamic_size=True`: detectors run every image at its own size from ONE MLX translation.

Oracles: onnxruntime running the same file at the same size (through the facade's onnx backend, same
pre/post-processing), and for YuNet OpenCV's own FaceDetectorYN set to the padded image size.
"""

from __future__ import annotations

from uniface import SCRFD, YuNet

import cv2
import numpy as np
import pytest

from .conftest import MODELS, need_shared, real_images

# Photos of different sizes (250x250 up to 1280x854), so the one translation sees several shapes.
PHOTOS = ("lfw_Rob_Lowe_0001.jpg", "uniface_image5.jpg", "uniface_test.jpg", "uniface_src_meeting.jpg")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:4], b[2:4])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / area)


def _images():
    folder = real_images()[0].parent
    return [(name, cv2.imread(str(folder / name))) for name in PHOTOS]


@pytest.mark.parametrize(
    ("cls", "file"), [(SCRFD, "scrfd_500m_kps.onnx"), (YuNet, "face_detection_yunet_2023mar.onnx")]
)
def test_one_translation_runs_every_size_like_onnxruntime(cls, file):
    need_shared()
    mlx = cls(model_path=MODELS / file, backend="mlx", dynamic_size=True)
    ref = cls(model_path=MODELS / file, backend="onnx", dynamic_size=True)
    sizes = set()
    for name, image in _images():
        sizes.add(image.shape[:2])
        got, want = mlx.detect(image), ref.detect(image)
        assert len(got) == len(want) > 0, f"{name}: {len(got)} faces on MLX, {len(want)} on onnxruntime"
        for g, w in zip(got, want):
            assert _iou(g.bbox, w.bbox) >= 0.999, name
            np.testing.assert_allclose(g.landmarks, w.landmarks, atol=0.01)
            assert abs(g.confidence - w.confidence) <= 1e-4
    assert len(sizes) == len(PHOTOS)
    assert len(mlx.session._models) == 1, "every size ran on the one dynamic translation"


def test_dynamic_size_detects_at_the_image_size():
    """At its own size (1024x624) the crowd photo keeps small faces that the 640 canvas shrinks away:
    21 faces at 640x640, 24 at full size (both counted with onnxruntime on the same file)."""
    need_shared()
    image = cv2.imread(str(real_images()[0].parent / "uniface_test.jpg"))
    fixed = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="mlx").detect(image)
    native = SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="mlx", dynamic_size=True).detect(image)
    assert (len(fixed), len(native)) == (21, 24)


def test_yunet_dynamic_size_matches_opencv_at_the_image_size():
    need_shared()
    if not hasattr(cv2, "FaceDetectorYN"):
        pytest.skip("this OpenCV build has no FaceDetectorYN")
    path = str(MODELS / "face_detection_yunet_2023mar.onnx")
    det = YuNet(model_path=path, backend="mlx", dynamic_size=True)
    for name, image in _images():
        h, w = image.shape[:2]
        reference = cv2.FaceDetectorYN.create(path, "", (w, h), 0.9, 0.3, 5000)
        _, ref = reference.detect(image)
        ref = np.zeros((0, 15), np.float32) if ref is None else ref
        ours = det.detect(image)
        assert len(ours) == len(ref), name
        ref_boxes = np.concatenate([ref[:, :2], ref[:, :2] + ref[:, 2:4]], axis=1)
        np.testing.assert_allclose(np.array([f.bbox for f in ours]).reshape(-1, 4), ref_boxes, atol=1e-2)
        np.testing.assert_allclose([f.confidence for f in ours], ref[:, 14], atol=1e-4)
