"""Model zoo: uniface 4.2.1's weight enums and registry (names, URLs and sha256 are upstream's).

Every enum member is a weight slot. Its file lives in the cache folder under
`<member value><extension>` (upstream 4.x's cache name, `ModelInfo.filename`);
files saved by our earlier releases under the URL's basename are found too
where that basename is unique (several upstream repositories publish a
`mobilenetv2.onnx` or `resnet18.onnx`, so those names are not trusted).
`YuNetWeights` is ours (OpenCV Zoo's YuNet is not an upstream family).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from enum import Enum

# Fallback source when a release URL is unreachable: upstream's Hugging Face mirror, keyed by
# `<member value><extension>`; every download is checked against the registry's sha256 either way.
HF_MIRROR_URL = "https://huggingface.co/yakhyo/uniface-weights/resolve/main"


@dataclass(frozen=True)
class ModelInfo:
    """Download URL and sha256 of one slot (upstream's two fields), plus the file names we use.

    `url=None`: nothing is published upstream in a form this package runs;
    `note` says what to place where.
    """

    url: str | None
    sha256: str | None
    filename: str = ""  # cache file name; "" -> "<value><ext of url>" (set by the registry)
    note: str = ""
    url_name: str = ""  # the URL's basename, accepted as an alias in the cache when unique


# fmt: off
class SphereFaceWeights(str, Enum):
    """SphereFace-20/36 face embedders (yakhyo/face-recognition, MS1MV2)."""

    SPHERE20 = "sphere20"
    SPHERE36 = "sphere36"


class MobileFaceWeights(str, Enum):
    """MobileNet-family face embedders (yakhyo/face-recognition, MS1MV2)."""

    MNET_025      = "mobilenetv1_025"
    MNET_V2       = "mobilenetv2"
    MNET_V3_SMALL = "mobilenetv3_small"
    MNET_V3_LARGE = "mobilenetv3_large"


class ArcFaceWeights(str, Enum):
    """insightface ArcFace: MobileFaceNet (MNET) or IResNet-50 (RESNET), 512-d."""

    MNET   = "arcface_mnet"
    RESNET = "arcface_resnet"


class AdaFaceWeights(str, Enum):
    """AdaFace IResNet-18/50/101 (WebFace), 512-d; fed BGR, not RGB."""

    IR_18  = "adaface_ir_18"
    IR_50  = "adaface_ir_50"
    IR_101 = "adaface_ir_101"


class EdgeFaceWeights(str, Enum):
    """EdgeFace (EdgeNeXt backbone, optional low-rank linears), 512-d."""

    XXS         = "edgeface_xxs"
    XS_GAMMA_06 = "edgeface_xs_gamma_06"
    S_GAMMA_05  = "edgeface_s_gamma_05"
    BASE        = "edgeface_base"


class RetinaFaceWeights(str, Enum):
    """RetinaFace with MobileNet or ResNet backbones (WIDER FACE)."""

    MNET_025 = "retinaface_mnet025"
    MNET_050 = "retinaface_mnet050"
    MNET_V1  = "retinaface_mnet_v1"
    MNET_V2  = "retinaface_mnet_v2"
    RESNET18 = "retinaface_r18"
    RESNET34 = "retinaface_r34"
    RESNET50 = "retinaface_r50"


class SCRFDWeights(str, Enum):
    """insightface SCRFD with keypoints (WIDER FACE)."""

    SCRFD_10G_KPS  = "scrfd_10g"
    SCRFD_500M_KPS = "scrfd_500m"


class CenterFaceWeights(str, Enum):
    """CenterFace: anchor-free centre-point detector on one stride-4 map."""

    DEFAULT = "centerface"


class BlazeFaceWeights(str, Enum):
    """MediaPipe BlazeFace short-range (128x128, 6 keypoints, no 5-point alignment)."""

    DEFAULT = "blazeface"


class YOLOv5FaceWeights(str, Enum):
    """YOLOv5-Face exports with the decoded [1, 25200, 16] head."""

    YOLOV5N = "yolov5n"
    YOLOV5S = "yolov5s"
    YOLOV5M = "yolov5m"


class YOLOv8FaceWeights(str, Enum):
    """YOLOv8-Face (anchor-free, DFL box regression, 5 keypoints)."""

    YOLOV8_LITE_S = "yolov8_lite_s"
    YOLOV8N       = "yolov8n_face"


class EmotionWeights(str, Enum):
    """DDAMFN emotion slots (AffectNet, 7 or 8 classes); upstream ships TorchScript."""

    AFFECNET7 = "affecnet7"
    AFFECNET8 = "affecnet8"


class AgeGenderWeights(str, Enum):
    """insightface genderage."""

    DEFAULT = "age_gender"


class FairFaceWeights(str, Enum):
    """FairFace race / gender / age group."""

    DEFAULT = "fairface"


class FaceAttribNetWeights(str, Enum):
    """FaceAttribNet: eyes open, eyeglasses, mask, sunglasses."""

    DEFAULT = "face_attrib_net"


class LandmarkWeights(str, Enum):
    """insightface 2d106det (106 points)."""

    DEFAULT = "2d_106"


class PIPNetWeights(str, Enum):
    """PIPNet ResNet-18 landmarks (98 WFLW or 68 300W points)."""

    WFLW_98         = "pipnet_r18_wflw_98"
    DW300_CELEBA_68 = "pipnet_r18_300w_celeba_68"


class FaceMeshWeights(str, Enum):
    """MediaPipe dense landmarks: Face Mesh (468) and Face Landmarker (478)."""

    V1_468 = "face_mesh"
    V2_478 = "face_landmarker"


class GazeWeights(str, Enum):
    """MobileGaze gaze estimation (Gaze360)."""

    RESNET18     = "gaze_resnet18"
    RESNET34     = "gaze_resnet34"
    RESNET50     = "gaze_resnet50"
    MOBILENET_V2 = "gaze_mobilenetv2"
    MOBILEONE_S0 = "gaze_mobileone_s0"


class HeadPoseWeights(str, Enum):
    """Head pose from a 6D rotation representation (300W-LP)."""

    RESNET18           = "headpose_resnet18"
    RESNET34           = "headpose_resnet34"
    RESNET50           = "headpose_resnet50"
    MOBILENET_V2       = "headpose_mobilenetv2"
    MOBILENET_V3_SMALL = "headpose_mobilenetv3_small"
    MOBILENET_V3_LARGE = "headpose_mobilenetv3_large"


class ParsingWeights(str, Enum):
    """BiSeNet face parsing, 19 classes (CelebAMask-HQ)."""

    RESNET18 = "parsing_resnet18"
    RESNET34 = "parsing_resnet34"


class XSegWeights(str, Enum):
    """XSeg face mask (DeepFaceLab)."""

    DEFAULT = "xseg"


class MODNetWeights(str, Enum):
    """MODNet trimap-free portrait matting."""

    PHOTOGRAPHIC = "modnet_photographic"
    WEBCAM       = "modnet_webcam"


class MiniFASNetWeights(str, Enum):
    """MiniFASNet anti-spoofing (V1SE crops at scale 4.0, V2 at 2.7)."""

    V1SE = "minifasnet_v1se"
    V2   = "minifasnet_v2"


class EDifFIQAWeights(str, Enum):
    """eDifFIQA face image quality (T, S, M, L backbones)."""

    T = "ediffiqa_t"
    S = "ediffiqa_s"
    M = "ediffiqa_m"
    L = "ediffiqa_l"


class YuNetWeights(str, Enum):
    """OpenCV Zoo YuNet 2023mar (our extra detector; not an upstream family)."""

    DEFAULT = "yunet_2023mar"


# uniface 1.x name of the emotion slots.
DDAMFNWeights = EmotionWeights

# fmt: on

_R0 = "https://github.com/yakhyo/uniface/releases/download/weights/"
_R1 = "https://github.com/yakhyo/adaface-onnx/releases/download/weights/"
_R2 = "https://github.com/yakhyo/edgeface-onnx/releases/download/weights/"
_R3 = "https://github.com/yakhyo/yolov5-face-onnx-inference/releases/download/weights/"
_R4 = "https://github.com/yakhyo/yolov8-face-onnx-inference/releases/download/weights/"
_R5 = "https://github.com/yakhyo/fairface-onnx/releases/download/weights/"
_R6 = "https://github.com/yakhyo/pipnet-onnx/releases/download/weights/"
_R7 = "https://github.com/yakhyo/gaze-estimation/releases/download/weights/"
_R8 = "https://github.com/yakhyo/head-pose-estimation/releases/download/weights/"
_R9 = "https://github.com/yakhyo/face-parsing/releases/download/weights/"
_R10 = "https://github.com/yakhyo/face-anti-spoofing/releases/download/weights/"
_R11 = "https://github.com/yakhyo/face-segmentation/releases/download/weights/"
_R12 = "https://github.com/yakhyo/modnet/releases/download/weights/"
_R13 = "https://github.com/yakhyo/face-image-quality-assessment/releases/download/weights/"

# (slot, release folder, file, sha256) in upstream's registry order.
# fmt: off
_TABLE = [
    (RetinaFaceWeights.MNET_025, _R0, "retinaface_mv1_0.25.onnx", "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"),
    (RetinaFaceWeights.MNET_050, _R0, "retinaface_mv1_0.50.onnx", "d8977186f6037999af5b4113d42ba77a84a6ab0c996b17c713cc3d53b88bfc37"),
    (RetinaFaceWeights.MNET_V1, _R0, "retinaface_mv1.onnx", "75c961aaf0aff03d13c074e9ec656e5510e174454dd4964a161aab4fe5f04153"),
    (RetinaFaceWeights.MNET_V2, _R0, "retinaface_mv2.onnx", "3ca44c045651cabeed1193a1fae8946ad1f3a55da8fa74b341feab5a8319f757"),
    (RetinaFaceWeights.RESNET18, _R0, "retinaface_r18.onnx", "e8b5ddd7d2c3c8f7c942f9f10cec09d8e319f78f09725d3f709631de34fb649d"),
    (RetinaFaceWeights.RESNET34, _R0, "retinaface_r34.onnx", "bd0263dc2a465d32859555cb1741f2d98991eb0053696e8ee33fec583d30e630"),
    (RetinaFaceWeights.RESNET50, _R0, "retinaface_r50.onnx", "905eac744dc165dbcd62960938a191de3fecea6bef198fb1c5e13e690bc6a828"),
    (MobileFaceWeights.MNET_025, _R0, "mobilenetv1_0.25.onnx", "eeda7d23d9c2b40cf77fa8da8e895b5697465192648852216074679657f8ee8b"),
    (MobileFaceWeights.MNET_V2, _R0, "mobilenetv2.onnx", "38b148284dd48cc898d5d4453104252fbdcbacc105fe3f0b80e78954d9d20d89"),
    (MobileFaceWeights.MNET_V3_SMALL, _R0, "mobilenetv3_small.onnx", "d4acafa1039a82957aa8a9a1dac278a401c353a749c39df43de0e29cc1c127c3"),
    (MobileFaceWeights.MNET_V3_LARGE, _R0, "mobilenetv3_large.onnx", "0e48f8e11f070211716d03e5c65a3db35a5e917cfb5bc30552358629775a142a"),
    (SphereFaceWeights.SPHERE20, _R0, "sphere20.onnx", "c02878cf658eb1861f580b7e7144b0d27cc29c440bcaa6a99d466d2854f14c9d"),
    (SphereFaceWeights.SPHERE36, _R0, "sphere36.onnx", "13b3890cd5d7dec2b63f7c36fd7ce07403e5a0bbb701d9647c0289e6cbe7bb20"),
    (ArcFaceWeights.MNET, _R0, "w600k_mbf.onnx", "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f"),
    (ArcFaceWeights.RESNET, _R0, "w600k_r50.onnx", "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43"),
    (AdaFaceWeights.IR_18, _R1, "adaface_ir_18.onnx", "6b6a35772fb636cdd4fa86520c1a259d0c41472a76f70f802b351837a00d9870"),
    (AdaFaceWeights.IR_50, _R1, "adaface_ir_50.onnx", "9c0ae385d7362323c92d218de598d32e52a9130b78faac6a8a924091aca62c0b"),
    (AdaFaceWeights.IR_101, _R1, "adaface_ir_101.onnx", "f2eb07d03de0af560a82e1214df799fec5e09375d43521e2868f9dc387e5a43e"),
    (EdgeFaceWeights.XXS, _R2, "edgeface_xxs.onnx", "dc674de4cbc77fa0bf9a82d5149558ab8581d82a2cd3bb60f28fd1a5d3ff8a2f"),
    (EdgeFaceWeights.XS_GAMMA_06, _R2, "edgeface_xs_gamma_06.onnx", "9206e2eb13a2761d7b5b76e13016d4b9acd3fa3535a9a09939f3adacd139a5ff"),
    (EdgeFaceWeights.S_GAMMA_05, _R2, "edgeface_s_gamma_05.onnx", "b850767cf791bda585600b5c4c7d7432b2f998ccd862caae34ef1afa967d2e54"),
    (EdgeFaceWeights.BASE, _R2, "edgeface_base.onnx", "b56942f072c67385f44734b9458b0ccc4a2226888a113f77e0c802ad0c77b4c3"),
    (SCRFDWeights.SCRFD_10G_KPS, _R0, "scrfd_10g_kps.onnx", "5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91"),
    (SCRFDWeights.SCRFD_500M_KPS, _R0, "scrfd_500m_kps.onnx", "5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a"),
    (CenterFaceWeights.DEFAULT, _R0, "centerface.onnx", "f50be8b97eae35b969905619136765897e401171ab4f92aa2b8c9909292d2ba0"),
    (BlazeFaceWeights.DEFAULT, _R0, "face_detection_short_range.onnx", "2f2689b040becf555706d2cb978d2f0e3296ea82413734fba9a856c66c5f2b17"),
    (YOLOv5FaceWeights.YOLOV5N, _R3, "yolov5n_face.onnx", "eb244a06e36999db732b317c2b30fa113cd6cfc1a397eaf738f2d6f33c01f640"),
    (YOLOv5FaceWeights.YOLOV5S, _R3, "yolov5s_face.onnx", "fc682801cd5880e1e296184a14aea0035486b5146ec1a1389d2e7149cb134bb2"),
    (YOLOv5FaceWeights.YOLOV5M, _R3, "yolov5m_face.onnx", "04302ce27a15bde3e20945691b688e2dd018a10e92dd8932146bede6a49207b2"),
    (YOLOv8FaceWeights.YOLOV8_LITE_S, _R4, "yolov8-lite-s.onnx", "11bc496be01356d2d960085bfd8abb8f103199900a034f239a8a1705a1b31dba"),
    (YOLOv8FaceWeights.YOLOV8N, _R4, "yolov8n-face.onnx", "33f3951af7fc0c4d9b321b29cdcd8c9a59d0a29a8d4bdc01fcb5507d5c714809"),
    (EmotionWeights.AFFECNET7, _R0, "affecnet7.script", "10535bf8b6afe8e9d6ae26cea6c3add9a93036e9addb6adebfd4a972171d015d"),
    (EmotionWeights.AFFECNET8, _R0, "affecnet8.script", "8c66963bc71db42796a14dfcbfcd181b268b65a3fc16e87147d6a3a3d7e0f487"),
    (AgeGenderWeights.DEFAULT, _R0, "genderage.onnx", "4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb"),
    (FairFaceWeights.DEFAULT, _R5, "fairface.onnx", "9c8c47d437cd310538d233f2465f9ed0524cb7fb51882a37f74e8bc22437fdbf"),
    (FaceAttribNetWeights.DEFAULT, _R0, "face_attrib_net.onnx", "1bf7c6453bec2fb28e0830f3a76dceb9ffd020124f87b28da5355940a7bc6e48"),
    (LandmarkWeights.DEFAULT, _R0, "2d106det.onnx", "f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf"),
    (PIPNetWeights.WFLW_98, _R6, "pipnet_r18_wflw_98.onnx", "9862838dc6144bc772b6485f6f6d31295c0b1c1ab7293e6ddeb0a439cb10218d"),
    (PIPNetWeights.DW300_CELEBA_68, _R6, "pipnet_r18_300w_celeba_68.onnx", "63fa56fd4b8f6ccc4b88f2b36e00fa3d8c21a2c4244ab9381e8b432cef35197b"),
    (FaceMeshWeights.V1_468, _R0, "face_mesh_Nx3x192x192.onnx", "3ca77cf59c18e4da0eccb46695bf604683fa564253e3385892981a5c274fb10f"),
    (FaceMeshWeights.V2_478, _R0, "face_landmarker_Nx3x256x256.onnx", "111795f8703cdeb6d0c68a9f3cc966a0f23f8786bb00f4577a11f461fc4276ac"),
    (GazeWeights.RESNET18, _R7, "resnet18_gaze.onnx", "404fec1efd07ff49f981e47f461c20c2627119e465ec441bbd1c067d3f16e657"),
    (GazeWeights.RESNET34, _R7, "resnet34_gaze.onnx", "c8e6b14f6095d2425241b9302aa663d9a23b7dfb9d43941352b718c91dc7f2cf"),
    (GazeWeights.RESNET50, _R7, "resnet50_gaze.onnx", "bb28d421565adc4dfb665742f8fc80bdef36dd8caa0c87e040e0937f9fdca9a6"),
    (GazeWeights.MOBILENET_V2, _R7, "mobilenetv2_gaze.onnx", "b81312df85c7ac1c1b5f78c573620d22c2719cb839650e15f12dc7eecb7744a4"),
    (GazeWeights.MOBILEONE_S0, _R7, "mobileone_s0_gaze.onnx", "8b4fdc4e3da44733c9a82e7776b411e4a39f94e8e285aee0fc85a548a55f7d9f"),
    (HeadPoseWeights.RESNET18, _R8, "resnet18.onnx", "61c34e877989412980d1ea80c52391250b074abc00d19a6100de5c8e999212ee"),
    (HeadPoseWeights.RESNET34, _R8, "resnet34.onnx", "8da9f2ce4810298ebea68bd85fba1b6bd11716060c10534596f46be52cc908c9"),
    (HeadPoseWeights.RESNET50, _R8, "resnet50.onnx", "50c74d57b7663361b8ede83b0e4122546171119ef502ec55b790dbd7fc360260"),
    (HeadPoseWeights.MOBILENET_V2, _R8, "mobilenetv2.onnx", "1e902872868e483bd0e4f8f4a8ff2a4d61c2ccbca9dadf748e5479b5cc86a9e9"),
    (HeadPoseWeights.MOBILENET_V3_SMALL, _R8, "mobilenetv3_small.onnx", "e8ae4d932b3d13221638fc72e171603e020c6da28b770753f76146867f40e190"),
    (HeadPoseWeights.MOBILENET_V3_LARGE, _R8, "mobilenetv3_large.onnx", "3a68815fa00aba41ddc4e014bf631b637caba8619df71160383f1fee8c15a3c9"),
    (ParsingWeights.RESNET18, _R9, "resnet18.onnx", "0d9bd318e46987c3bdbfacae9e2c0f461cae1c6ac6ea6d43bbe541a91727e33f"),
    (ParsingWeights.RESNET34, _R9, "resnet34.onnx", "5b805bba7b5660ab7070b5a381dcf75e5b3e04199f1e9387232a77a00095102e"),
    (MiniFASNetWeights.V1SE, _R10, "MiniFASNetV1SE.onnx", "ebab7f90c7833fbccd46d3a555410e78d969db5438e169b6524be444862b3676"),
    (MiniFASNetWeights.V2, _R10, "MiniFASNetV2.onnx", "b32929adc2d9c34b9486f8c4c7bc97c1b69bc0ea9befefc380e4faae4e463907"),
    (XSegWeights.DEFAULT, _R11, "xseg.onnx", "0b57328efcb839d85973164b617ceee9dfe6cfcb2c82e8a033bba9f4f09b27e5"),
    (MODNetWeights.PHOTOGRAPHIC, _R12, "modnet_photographic.onnx", "5069a5e306b9f5e9f4f2b0360264c9f8ea13b257c7c39943c7cf6a2ec3a102ae"),
    (MODNetWeights.WEBCAM, _R12, "modnet_webcam.onnx", "de03cc16f3c91f25b7c2f0b42ea1a8d34f40a752234f3887572655e744e55306"),
    (EDifFIQAWeights.T, _R13, "ediffiqa_t.onnx", "7a83be63e6583ec5800fa0762e219b65b4b9f1721c4d210bfe2f16c0478832bb"),
    (EDifFIQAWeights.S, _R13, "ediffiqa_s.onnx", "1797c144f4c9b1244b5561efcab80d588a640d15cebb38dbcfdedfe65439fb47"),
    (EDifFIQAWeights.M, _R13, "ediffiqa_m.onnx", "b02ea2dcc0536d6b2480fe67ec7d8c5993bf39fe5e00f77c971a21f2701b3f37"),
    (EDifFIQAWeights.L, _R13, "ediffiqa_l.onnx", "72238239298cf645d3f5954d657b4aca7b64fd25bc808c0260778386da9b00a1"),
]
# fmt: on


def _registry() -> dict[Enum, ModelInfo]:
    url_names = Counter(name for _, _, name, _ in _TABLE)
    out: dict[Enum, ModelInfo] = {}
    for member, folder, name, sha in _TABLE:
        ext = os.path.splitext(name)[1]
        out[member] = ModelInfo(folder + name, sha, f"{member.value}{ext}", "", name if url_names[name] == 1 else "")
    out[YuNetWeights.DEFAULT] = ModelInfo(
        "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        "yunet_2023mar.onnx",
        url_name="face_detection_yunet_2023mar.onnx",
    )
    return out


MODEL_REGISTRY: dict[Enum, ModelInfo] = _registry()

# The emotion slots as ONNX exports (upstream publishes TorchScript only): what `uniface.attribute.Emotion`
# (the 1.x ONNX class) looks for in the cache folder, or pass model_path=.
EMOTION_ONNX = {
    member: ModelInfo(
        None,
        None,
        f"{member.value}.onnx",
        f"upstream ships TorchScript ({member.value}.script); no ONNX export is published, "
        f"so place an ONNX export at {member.value}.onnx in the cache folder or pass model_path=",
    )
    for member in EmotionWeights
}

# uniface 1.x tables.
MODEL_URLS = {k: v.url for k, v in MODEL_REGISTRY.items()}
MODEL_SHA256 = {k: v.sha256 for k, v in MODEL_REGISTRY.items()}
