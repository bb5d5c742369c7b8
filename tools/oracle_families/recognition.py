"""Face recognizers: embeddings of the faces upstream SCRFD finds on every photo."""

from __future__ import annotations

from typing import Any

from .api import REFERENCE_DETECTOR, SHARED, STANDIN, Context, Family, Weights, round_floats


def recognizer_family(name: str, class_name: str, weights: Weights, about: str, max_faces: int = 3) -> Family:
    """A family that embeds the `max_faces` largest SCRFD faces per photo with `uniface.recognition.<class_name>`.

    The fixture keeps the landmarks the embeddings were computed from, so the
    tests feed our recognizer the same alignment input.
    """

    def run(ctx: Context) -> dict[str, Any]:
        import uniface.recognition as recognition

        recognizer = getattr(recognition, class_name)(model_name=ctx.weights(weights.enum))
        cases = []
        for image_name, image in ctx.images:
            for face in ctx.reference_faces(image, max_num=max_faces):
                raw = recognizer.get_embedding(image, face.landmarks)
                normalized = recognizer.get_normalized_embedding(image, face.landmarks)
                cases.append(
                    {
                        "image": image_name,
                        "landmarks": round_floats(face.landmarks),
                        "embedding": round_floats(raw),  # (1, D), as upstream returns it
                        "normalized_shape": list(normalized.shape),
                        "normalized_norm": round_floats(float((normalized**2).sum() ** 0.5)),
                    }
                )
        return {"class": class_name, "model": weights.enum, "cases": cases}

    return Family(name, (weights, REFERENCE_DETECTOR), run, about)


FAMILIES = [
    recognizer_family("arcface_mbf", "ArcFace", Weights("ArcFaceWeights.MNET", "w600k_mbf.onnx", STANDIN),
                      "ArcFace MobileFaceNet stand-in"),
    recognizer_family("arcface_r50", "ArcFace", Weights("ArcFaceWeights.RESNET", "w600k_r50.onnx", STANDIN),
                      "ArcFace IResNet stand-in"),
    recognizer_family("mobileface", "MobileFace",
                      Weights("MobileFaceWeights.MNET_V2", "mobilefacenet_prelu_128d.onnx", SHARED),
                      "real MobileFaceNet (128-d) in the MobileFace MNET_V2 slot"),
    recognizer_family("sphereface", "SphereFace", Weights("SphereFaceWeights.SPHERE20", "sphere20.onnx", STANDIN),
                      "SphereFace-20 stand-in"),
    recognizer_family("adaface", "AdaFace", Weights("AdaFaceWeights.IR_18", "adaface_ir_18.onnx", STANDIN),
                      "AdaFace IR-18 stand-in (fed BGR)"),
    recognizer_family("edgeface", "EdgeFace", Weights("EdgeFaceWeights.XXS", "edgeface_xxs.onnx", STANDIN),
                      "EdgeFace XXS stand-in"),
]  # fmt: skip
