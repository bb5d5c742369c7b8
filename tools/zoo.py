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
    # the 8-bit image the input is made from, and its normalization (translator.image_input.ImageInput's
    # mean, std, bgr_to_rgb): make_input() is that image normalized in numpy
    image_size: tuple[int, int] = (640, 640)
    image_name: str = "uniface_test.jpg"
    image_norm: tuple = (0.0, 1.0, False)

    @property
    def path(self) -> Path:
        return MODELS / self.file

    def make_image(self) -> np.ndarray:
        """The photo as an 8-bit BGR NHWC batch of one (what OpenCV gives, resized)."""
        import cv2

        img = cv2.imread(str(IMAGES / self.image_name))
        if img is None:
            raise FileNotFoundError(IMAGES / self.image_name)
        return cv2.resize(img, (self.image_size[1], self.image_size[0]))[None]

    def image_input(self):
        from translator.image_input import ImageInput

        return ImageInput(*self.image_norm)


ZOO = {
    z.key: z
    for z in (
        ZooModel("retinaface", "retinaface_mnet025_biubug6.onnx",
                 lambda: nchw(photo((640, 640)) - np.array([104, 117, 123], np.float32)), "RetinaFace-mnet0.25 640x640",
                 image_norm=((104.0, 117.0, 123.0), 1.0, False)),
        ZooModel("scrfd_640", "scrfd_500m_kps.onnx", lambda: nchw((photo((640, 640)) - 127.5) / 127.5), "SCRFD-500M 640x640",
                 image_norm=(127.5, 127.5, False)),
        ZooModel("scrfd_480x640", "scrfd_500m_kps.onnx", lambda: nchw((photo((480, 640)) - 127.5) / 127.5), "SCRFD-500M 480x640",
                 image_size=(480, 640), image_norm=(127.5, 127.5, False)),
        ZooModel("scrfd_320", "scrfd_500m_kps.onnx", lambda: nchw((photo((320, 320)) - 127.5) / 127.5), "SCRFD-500M 320x320",
                 image_size=(320, 320), image_norm=(127.5, 127.5, False)),
        ZooModel("yunet", "face_detection_yunet_2023mar.onnx", lambda: nchw(photo((640, 640))), "YuNet 640x640"),
        ZooModel("yolov5n", "yolov5n_0.5_face.onnx", lambda: nchw(photo((640, 640))[..., ::-1] / 255.0), "YOLOv5n-0.5-Face 640x640",
                 image_norm=(0.0, 255.0, True)),
        ZooModel("mobilefacenet", "mobilefacenet_prelu_128d.onnx",
                 lambda: nchw((photo((112, 112), "facerec_aligned_a_01.jpg")[..., ::-1] - 127.5) / 127.5), "MobileFaceNet 112x112",
                 image_size=(112, 112), image_name="facerec_aligned_a_01.jpg", image_norm=(127.5, 127.5, True)),
    )
}  # fmt: skip
