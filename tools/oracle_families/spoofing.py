"""Anti-spoofing: MiniFASNet V1SE and V2 on real weights (../shared/models), every reference face."""

from __future__ import annotations

from typing import Any

from ._per_face import each_face, face_inputs
from .api import REFERENCE_DETECTOR, SHARED, Context, Family, Weights, round_floats

V1SE = Weights("MiniFASNetWeights.V1SE", "MiniFASNetV1SE.onnx", SHARED)
V2 = Weights("MiniFASNetWeights.V2", "MiniFASNetV2.onnx", SHARED)


def _minifasnet_family(name: str, weights: Weights) -> Family:
    def run(ctx: Context) -> dict[str, Any]:
        from uniface.spoofing import MiniFASNet

        cases = []
        for scale in (None, 1.5):
            model = MiniFASNet(model_name=ctx.weights(weights.enum), scale=scale)
            for image_name, image, face in each_face(ctx):
                logits = model.session.run([model.output_name], {model.input_name: model.preprocess(image, face.bbox)})
                result = model.predict(image, face.bbox)
                cases.append(
                    {
                        "image": image_name,
                        "scale": scale,
                        "used_scale": model.scale,
                        **face_inputs(face),
                        "logits": round_floats(logits[0][0]),
                        "is_real": bool(result.is_real),
                        "confidence": round_floats(result.confidence),
                    }  # fmt: skip
                )
        return {"class": "MiniFASNet", "model": weights.enum, "cases": cases}

    return Family(name, (weights, REFERENCE_DETECTOR), run, f"MiniFASNet {weights.enum}, real weights")


FAMILIES = [_minifasnet_family("minifasnet_v1se", V1SE), _minifasnet_family("minifasnet_v2", V2)]
