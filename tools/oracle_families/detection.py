"""Face detectors: every photo, default settings plus a looser threshold and a `max_num` case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .api import SHARED, Context, Family, Weights

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

    return Family(name, (weights,), run, about)


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
]
