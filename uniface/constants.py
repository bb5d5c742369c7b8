"""Model zoo: uniface's weights enums and where each file comes from.

Enum names and values are uniface's. Files keep their upstream names in the
cache folder (older uniface releases stored them as `<enum value>.onnx`;
those names are accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

_UNIFACE = "https://github.com/yakhyo/uniface/releases/download/weights/"
_YOLOV5 = "https://github.com/yakhyo/yolov5-face-onnx-inference/releases/download/weights/"


@dataclass(frozen=True)
class ModelInfo:
    """Upstream file name, URL and sha256 (url None: no ONNX file is published upstream)."""

    filename: str
    url: str | None
    sha256: str | None
    note: str = ""


# fmt: off
class RetinaFaceWeights(str, Enum):
    MNET_025 = "retinaface_mnet025"
    MNET_050 = "retinaface_mnet050"
    MNET_V1  = "retinaface_mnet_v1"
    MNET_V2  = "retinaface_mnet_v2"
    RESNET18 = "retinaface_r18"
    RESNET34 = "retinaface_r34"


class SCRFDWeights(str, Enum):
    SCRFD_10G_KPS  = "scrfd_10g"
    SCRFD_500M_KPS = "scrfd_500m"


class YOLOv5FaceWeights(str, Enum):
    YOLOV5N = "yolov5n"
    YOLOV5S = "yolov5s"
    YOLOV5M = "yolov5m"


class YuNetWeights(str, Enum):
    DEFAULT = "yunet_2023mar"


class ArcFaceWeights(str, Enum):
    MNET   = "arcface_mnet"
    RESNET = "arcface_resnet"


class MobileFaceWeights(str, Enum):
    MNET_025      = "mobilenetv1_025"
    MNET_V2       = "mobilenetv2"
    MNET_V3_SMALL = "mobilenetv3_small"
    MNET_V3_LARGE = "mobilenetv3_large"


class SphereFaceWeights(str, Enum):
    SPHERE20 = "sphere20"
    SPHERE36 = "sphere36"


class AgeGenderWeights(str, Enum):
    DEFAULT = "age_gender"


class LandmarkWeights(str, Enum):
    DEFAULT = "2d_106"


class DDAMFNWeights(str, Enum):
    AFFECNET7 = "affecnet7"
    AFFECNET8 = "affecnet8"


def _u(name: str, sha: str, base: str = _UNIFACE) -> ModelInfo:
    return ModelInfo(name, base + name, sha)


_NO_ONNX = "upstream ships TorchScript ({}); no ONNX export is published, so place an ONNX export under this name"

MODEL_REGISTRY: dict[Enum, ModelInfo] = {
    RetinaFaceWeights.MNET_025: _u("retinaface_mv1_0.25.onnx", "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"),
    RetinaFaceWeights.MNET_050: _u("retinaface_mv1_0.50.onnx", "d8977186f6037999af5b4113d42ba77a84a6ab0c996b17c713cc3d53b88bfc37"),
    RetinaFaceWeights.MNET_V1:  _u("retinaface_mv1.onnx", "75c961aaf0aff03d13c074e9ec656e5510e174454dd4964a161aab4fe5f04153"),
    RetinaFaceWeights.MNET_V2:  _u("retinaface_mv2.onnx", "3ca44c045651cabeed1193a1fae8946ad1f3a55da8fa74b341feab5a8319f757"),
    RetinaFaceWeights.RESNET18: _u("retinaface_r18.onnx", "e8b5ddd7d2c3c8f7c942f9f10cec09d8e319f78f09725d3f709631de34fb649d"),
    RetinaFaceWeights.RESNET34: _u("retinaface_r34.onnx", "bd0263dc2a465d32859555cb1741f2d98991eb0053696e8ee33fec583d30e630"),
    SCRFDWeights.SCRFD_10G_KPS:  _u("scrfd_10g_kps.onnx", "5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91"),
    SCRFDWeights.SCRFD_500M_KPS: _u("scrfd_500m_kps.onnx", "5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a"),
    YOLOv5FaceWeights.YOLOV5N: _u("yolov5n_face.onnx", "eb244a06e36999db732b317c2b30fa113cd6cfc1a397eaf738f2d6f33c01f640", _YOLOV5),
    YOLOv5FaceWeights.YOLOV5S: _u("yolov5s_face.onnx", "fc682801cd5880e1e296184a14aea0035486b5146ec1a1389d2e7149cb134bb2", _YOLOV5),
    YOLOv5FaceWeights.YOLOV5M: _u("yolov5m_face.onnx", "04302ce27a15bde3e20945691b688e2dd018a10e92dd8932146bede6a49207b2", _YOLOV5),
    YuNetWeights.DEFAULT: ModelInfo(
        "face_detection_yunet_2023mar.onnx",
        "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    ),
    ArcFaceWeights.MNET:   _u("w600k_mbf.onnx", "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f"),
    ArcFaceWeights.RESNET: _u("w600k_r50.onnx", "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43"),
    MobileFaceWeights.MNET_025:      _u("mobilenetv1_0.25.onnx", "eeda7d23d9c2b40cf77fa8da8e895b5697465192648852216074679657f8ee8b"),
    MobileFaceWeights.MNET_V2:       _u("mobilenetv2.onnx", "38b148284dd48cc898d5d4453104252fbdcbacc105fe3f0b80e78954d9d20d89"),
    MobileFaceWeights.MNET_V3_SMALL: _u("mobilenetv3_small.onnx", "d4acafa1039a82957aa8a9a1dac278a401c353a749c39df43de0e29cc1c127c3"),
    MobileFaceWeights.MNET_V3_LARGE: _u("mobilenetv3_large.onnx", "0e48f8e11f070211716d03e5c65a3db35a5e917cfb5bc30552358629775a142a"),
    SphereFaceWeights.SPHERE20: _u("sphere20.onnx", "c02878cf658eb1861f580b7e7144b0d27cc29c440bcaa6a99d466d2854f14c9d"),
    SphereFaceWeights.SPHERE36: _u("sphere36.onnx", "13b3890cd5d7dec2b63f7c36fd7ce07403e5a0bbb701d9647c0289e6cbe7bb20"),
    AgeGenderWeights.DEFAULT: _u("genderage.onnx", "4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb"),
    LandmarkWeights.DEFAULT:  _u("2d106det.onnx", "f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf"),
    DDAMFNWeights.AFFECNET7: ModelInfo("affecnet7.onnx", None, None, _NO_ONNX.format("affecnet7.script")),
    DDAMFNWeights.AFFECNET8: ModelInfo("affecnet8.onnx", None, None, _NO_ONNX.format("affecnet8.script")),
}
# fmt: on

# Upstream TorchScript files for the emotion slots (not runnable here; kept for reference).
UPSTREAM_TORCHSCRIPT = {
    DDAMFNWeights.AFFECNET7: ModelInfo(
        "affecnet7.script",
        _UNIFACE + "affecnet7.script",
        "10535bf8b6afe8e9d6ae26cea6c3add9a93036e9addb6adebfd4a972171d015d",
    ),
    DDAMFNWeights.AFFECNET8: ModelInfo(
        "affecnet8.script",
        _UNIFACE + "affecnet8.script",
        "8c66963bc71db42796a14dfcbfcd181b268b65a3fc16e87147d6a3a3d7e0f487",
    ),
}

MODEL_URLS = {k: v.url for k, v in MODEL_REGISTRY.items()}
MODEL_SHA256 = {k: v.sha256 for k, v in MODEL_REGISTRY.items()}
