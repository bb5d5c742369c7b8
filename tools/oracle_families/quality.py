"""Face image quality: eDifFIQA-T on every reference face (landmark alignment), and on pre-aligned crops."""

from __future__ import annotations

from typing import Any

from ._per_face import each_face, face_inputs
from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

EDIFFIQA = Weights("EDifFIQAWeights.T", "ediffiqa_t.onnx", STANDIN)


def _ediffiqa(ctx: Context) -> dict[str, Any]:
    from uniface.quality import EDifFIQA

    model = EDifFIQA(model_name=ctx.weights(EDIFFIQA.enum))
    cases = []
    for image_name, image, face in each_face(ctx):
        cases.append(
            {
                "image": image_name,
                **face_inputs(face),
                "score": round_floats(model.predict(image, face.landmarks).score),
            }
        )
    for image_name, image in ctx.images:
        if image.shape[:2] == (112, 112):  # the already aligned photos
            cases.append(
                {"image": image_name, "aligned": True, "score": round_floats(model.score_aligned(image).score)}
            )
    return {"class": "EDifFIQA", "model": EDIFFIQA.enum, "cases": cases}


FAMILIES = [Family("ediffiqa", (EDIFFIQA, REFERENCE_DETECTOR), _ediffiqa, "eDifFIQA-T stand-in")]
