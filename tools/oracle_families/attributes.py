"""Per-face attribute predictors of uniface 1.x carried into 4.x: AgeGender."""

from __future__ import annotations

from typing import Any

from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

AGE_GENDER = Weights("AgeGenderWeights.DEFAULT", "genderage.onnx", STANDIN)


def _age_gender(ctx: Context) -> dict[str, Any]:
    from uniface.attribute import AgeGender

    model = AgeGender(model_name=ctx.weights(AGE_GENDER.enum))
    cases = []
    for image_name, image in ctx.images:
        for face in ctx.reference_faces(image, max_num=3):
            blob = model.preprocess(image, face.bbox)
            raw = model.session.run(model.output_names, {model.input_name: blob})[0][0]
            result = model.predict(image, face)
            cases.append(
                {
                    "image": image_name,
                    "bbox": round_floats(face.bbox),
                    "raw": round_floats(raw),
                    "gender": result.gender,
                    "age": result.age,
                }
            )
    return {"class": "AgeGender", "model": AGE_GENDER.enum, "cases": cases}


FAMILIES = [Family("agegender", (AGE_GENDER, REFERENCE_DETECTOR), _age_gender, "insightface genderage stand-in")]
