"""Face detectors: every photo, default settings plus a looser threshold and a `max_num` case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .api import SHARED, STANDIN, Context, Family, Weights

# (constructor keywords, detect keywords) per case; the looser threshold exercises more NMS.
DEFAULT_SETTINGS: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
    ({}, {}),
    ({"confidence_threshold": 0.3}, {}),
    ({}, {"max_num": 2, "metric": "default"}),
)


def detector_family(
    name: str,
    class_name: str,
    weights: Weights,
    about: str,
    settings: Sequence[tuple[dict[str, Any], dict[str, Any]]] = DEFAULT_SETTINGS,
    images: tuple[str, ...] = (),
) -> Family:
    """A family that runs `uniface.detection.<class_name>` with each setting on every photo."""

    def run(ctx: Context) -> dict[str, Any]:
        import uniface.detection as detection

        cls = getattr(detection, class_name)
        cases = []
        for init, call in settings:
            detector = cls(model_name=ctx.weights(weights.enum), **init)
            for image_name, image in ctx.images:
                faces = detector.detect(image, **call)
                cases.append({"image": image_name, "init": init, "detect": call, "faces": ctx.faces(faces)})
        return {"class": class_name, "model": weights.enum, "cases": cases}

    return Family(name, (weights,), run, about, images)


FAMILIES = [
    detector_family(
        "retinaface",
        "RetinaFace",
        Weights("RetinaFaceWeights.MNET_025", "retinaface_mnet025_biubug6.onnx", SHARED),
        "RetinaFace-MobileNet0.25 (real biubug6 weights in the MNET_025 slot)",
    ),
    detector_family(
        "scrfd",
        "SCRFD",
        Weights("SCRFDWeights.SCRFD_500M_KPS", "scrfd_500m_kps.onnx", SHARED),
        "SCRFD-500M (upstream's exact file)",
    ),
    detector_family(
        "yolov5face",
        "YOLOv5Face",
        Weights("YOLOv5FaceWeights.YOLOV5N", "yolov5n_face.onnx", STANDIN),
        "YOLOv5n-0.5-Face real weights with the decoded head appended (tools/standins/detection.py)",
    ),
    detector_family(
        "yolov8face",
        "YOLOv8Face",
        Weights("YOLOv8FaceWeights.YOLOV8N", "yolov8n-face.onnx", STANDIN),
        "YOLOv8n-Face stand-in",
    ),
    detector_family(
        "blazeface",
        "BlazeFace",
        Weights("BlazeFaceWeights.DEFAULT", "face_detection_short_range.onnx", STANDIN),
        "BlazeFace short-range stand-in",
        settings=(({}, {}), ({"confidence_threshold": 0.3, "nms_threshold": 0.5}, {}), ({}, {"max_num": 2})),
    ),
    detector_family(
        "centerface",
        "CenterFace",
        Weights("CenterFaceWeights.DEFAULT", "centerface.onnx", STANDIN),
        "CenterFace stand-in (dynamic input: five photos, five input shapes)",
        settings=(({}, {}), ({"confidence_threshold": 0.25}, {}), ({}, {"max_num": 2, "metric": "default"})),
        images=("insightface_t1.jpg", "lfw_Rob_Lowe_0001.jpg", "uniface_image5.jpg", "uniface_test.jpg",
                "yolov5face_zidane.jpg"),
    ),
]  # fmt: skip
