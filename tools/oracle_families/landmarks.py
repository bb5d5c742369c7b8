"""Dense landmarks of uniface 1.x carried into 4.x: Landmark106."""

from __future__ import annotations

from typing import Any

from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

LANDMARK106 = Weights("LandmarkWeights.DEFAULT", "2d106det.onnx", STANDIN)


def _landmark106(ctx: Context) -> dict[str, Any]:
    from uniface.landmark import Landmark106

    model = Landmark106(model_name=ctx.weights(LANDMARK106.enum))
    cases = []
    for image_name, image in ctx.images:
        for face in ctx.reference_faces(image, max_num=3):
            cases.append(
                {
                    "image": image_name,
                    "bbox": round_floats(face.bbox),
                    "landmarks": round_floats(model.get_landmarks(image, face.bbox)),
                }
            )
    return {"class": "Landmark106", "model": LANDMARK106.enum, "cases": cases}


FAMILIES = [Family("landmark106", (LANDMARK106, REFERENCE_DETECTOR), _landmark106, "insightface 2d106det stand-in")]
