"""The real models in ../shared/models and a real-photo input for each, preprocessed
as upstream uniface does (../shared/models/MANIFEST.md). Shared by tests, bench and regenerate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"


def photo(size_hw: tuple[int, int], name: str = "uniface_test.jpg") -> np.ndarray:
    """A real photo resized to (h, w), BGR float32 HWC."""
    import cv2

    img = cv2.imread(str(IMAGES / name))
    if img is None:
        raise FileNotFoundError(IMAGES / name)
    return cv2.resize(img, (size_hw[1], size_hw[0])).astype(np.float32)


def nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None]).astype(np.float32)


@dataclass(frozen=True)
class ZooModel:
    key: str
    file: str
    make_input: Callable[[], np.ndarray]
    label: str

    @property
    def path(self) -> Path:
        return MODELS / self.file


ZOO = {
    z.key: z
    for z in (
        ZooModel("retinaface", "retinaface_mnet025_biubug6.onnx",
                 lambda: nchw(photo((640, 640)) - np.array([104, 117, 123], np.float32)), "RetinaFace-mnet0.25 640x640"),
        ZooModel("scrfd_640", "scrfd_500m_kps.onnx", lambda: nchw((photo((640, 640)) - 127.5) / 127.5), "SCRFD-500M 640x640"),
        ZooModel("scrfd_480x640", "scrfd_500m_kps.onnx", lambda: nchw((photo((480, 640)) - 127.5) / 127.5), "SCRFD-500M 480x640"),
        ZooModel("scrfd_320", "scrfd_500m_kps.onnx", lambda: nchw((photo((320, 320)) - 127.5) / 127.5), "SCRFD-500M 320x320"),
        ZooModel("yunet", "face_detection_yunet_2023mar.onnx", lambda: nchw(photo((640, 640))), "YuNet 640x640"),
        ZooModel("yolov5n", "yolov5n_0.5_face.onnx", lambda: nchw(photo((640, 640))[..., ::-1] / 255.0), "YOLOv5n-0.5-Face 640x640"),
        ZooModel("mobilefacenet", "mobilefacenet_prelu_128d.onnx",
                 lambda: nchw((photo((112, 112), "facerec_aligned_a_01.jpg")[..., ::-1] - 127.5) / 127.5), "MobileFaceNet 112x112"),
    )
}  # fmt: skip
