"""Gaze (MobileGaze) and head pose (HeadPose) on the box crops upstream's docs use."""

from __future__ import annotations

from typing import Any

from ._per_face import box_crop, each_face, face_inputs
from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

GAZE = Weights("GazeWeights.RESNET34", "gaze_resnet34.onnx", STANDIN)
HEADPOSE = Weights("HeadPoseWeights.RESNET18", "headpose_resnet18.onnx", STANDIN)


def _gaze(ctx: Context) -> dict[str, Any]:
    from uniface.gaze import MobileGaze

    model = MobileGaze(model_name=ctx.weights(GAZE.enum))
    cases = []
    for image_name, image, face in each_face(ctx):
        crop, box = box_crop(image, face.bbox)
        yaw, pitch = model.session.run(model.output_names, {model.input_name: model.preprocess(crop)})
        result = model.estimate(crop)
        cases.append(
            {
                "image": image_name,
                **face_inputs(face),
                "crop": box,
                "yaw_logits": round_floats(yaw[0]),
                "pitch_logits": round_floats(pitch[0]),
                "pitch": round_floats(result.pitch),
                "yaw": round_floats(result.yaw),
            }  # fmt: skip
        )
    return {"class": "MobileGaze", "model": GAZE.enum, "cases": cases}


def _headpose(ctx: Context) -> dict[str, Any]:
    from uniface.headpose import HeadPose

    model = HeadPose(model_name=ctx.weights(HEADPOSE.enum))
    cases = []
    for image_name, image, face in each_face(ctx):
        crop, box = box_crop(image, face.bbox)
        matrix = model.session.run(model.output_names, {model.input_name: model.preprocess(crop)})[0]
        result = model.estimate(crop)
        cases.append(
            {
                "image": image_name,
                **face_inputs(face),
                "crop": box,
                "rotation_matrix": round_floats(matrix[0]),
                "pitch": round_floats(result.pitch),
                "yaw": round_floats(result.yaw),
                "roll": round_floats(result.roll),
            }  # fmt: skip
        )
    # Euler angles of hand-made matrices, the gimbal-lock branch included.
    import numpy as np

    matrices = np.array(
        [
            np.eye(3),
            [[0, 0, 1], [0, 1, 0], [-1, 0, 0]],
            [[0, 0, -1], [0, 1, 0], [1, 0, 0]],
            [[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]],
        ]  # fmt: skip
    )
    euler = model.rotation_matrix_to_euler(matrices)
    return {
        "class": "HeadPose",
        "model": HEADPOSE.enum,
        "euler_cases": {"matrices": matrices.tolist(), "euler": round_floats(euler)},
        "cases": cases,
    }


FAMILIES = [
    Family("mobilegaze", (GAZE, REFERENCE_DETECTOR), _gaze, "MobileGaze ResNet stand-in"),
    Family("headpose", (HEADPOSE, REFERENCE_DETECTOR), _headpose, "HeadPose ResNet-18 stand-in"),
]
