"""Dense landmarks new in 4.x: PIPNet (98 / 68) and MediaPipe FaceMesh (468 / 478)."""

from __future__ import annotations

from typing import Any

from ._per_face import SMALL_SET, each_face, face_inputs
from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

PIPNET_98 = Weights("PIPNetWeights.WFLW_98", "pipnet_r18_wflw_98.onnx", STANDIN)
PIPNET_68 = Weights("PIPNetWeights.DW300_CELEBA_68", "pipnet_r18_300w_celeba_68.onnx", STANDIN)
FACE_MESH = Weights("FaceMeshWeights.V1_468", "face_mesh.onnx", STANDIN)
FACE_LANDMARKER = Weights("FaceMeshWeights.V2_478", "face_landmarker.onnx", STANDIN)


def _pipnet_family(name: str, weights: Weights) -> Family:
    """Every reference face, plus boxes pushed over the image's corners (the crop's clamping)."""

    def run(ctx: Context) -> dict[str, Any]:
        from uniface.landmark import PIPNet

        import numpy as np

        model = PIPNet(model_name=ctx.weights(weights.enum))
        cases = []
        for image_name, image, face in each_face(ctx):
            cases.append(
                {
                    "image": image_name,
                    **face_inputs(face),
                    "landmarks_out": round_floats(model.get_landmarks(image, face.bbox)),
                }
            )
        for image_name, image in ctx.images[:3]:
            h, w = image.shape[:2]
            for box in ([-0.2 * w, -0.1 * h, 0.5 * w, 0.6 * h], [0.6 * w, 0.55 * h, 1.1 * w, 1.2 * h]):
                bbox = np.asarray(box, dtype=np.float32)
                cases.append(
                    {
                        "image": image_name,
                        "bbox": round_floats(bbox, 9),
                        "landmarks_out": round_floats(model.get_landmarks(image, bbox)),
                    }
                )
        tables = {
            "reverse_index1": model._reverse_index1.tolist(),
            "reverse_index2": model._reverse_index2.tolist(),
            "max_len": int(model._max_len),
        }
        return {"class": "PIPNet", "model": weights.enum, "num_lms": model.num_lms, "tables": tables, "cases": cases}

    return Family(name, (weights, REFERENCE_DETECTOR), run, f"PIPNet {weights.enum} stand-in")


def _facemesh_family(name: str, weights: Weights) -> Family:
    """Batched `predict(image, faces)` per photo (roll from the eyes), and axis-aligned `get_landmarks`."""

    def run(ctx: Context) -> dict[str, Any]:
        from uniface.landmark import FaceMesh

        mesher = FaceMesh(model_name=ctx.weights(weights.enum))
        cases = []
        for image_name, image in ctx.images:
            faces = ctx.reference_faces(image, max_num=2)
            if not faces:
                continue
            results = mesher.predict(image, faces)
            cases.append(
                {
                    "image": image_name,
                    "call": "predict",
                    "faces": [face_inputs(f) for f in faces],
                    "landmarks_out": [round_floats(r.landmarks, 7) for r in results],
                    "scores": [round_floats(r.score) for r in results],
                }
            )
            points = mesher.get_landmarks(image, faces[0].bbox)
            cases.append(
                {
                    "image": image_name,
                    "call": "get_landmarks",
                    "faces": [face_inputs(faces[0])],
                    "landmarks_out": [round_floats(points, 7)],
                }
            )
        return {"class": "FaceMesh", "model": weights.enum, "num_landmarks": mesher.num_landmarks, "cases": cases}

    return Family(name, (weights, REFERENCE_DETECTOR), run, f"FaceMesh {weights.enum} stand-in", images=SMALL_SET)


FAMILIES = [
    _pipnet_family("pipnet98", PIPNET_98),
    _pipnet_family("pipnet68", PIPNET_68),
    _facemesh_family("facemesh468", FACE_MESH),
    _facemesh_family("facemesh478", FACE_LANDMARKER),
]
