"""Drawing and anonymization: upstream's `uniface.draw` and `BlurFace` on fixed inputs, compared pixel for pixel.

`CASES` are plain data and `render(case, uniface_module)` replays one with
whichever `uniface` it is given: upstream's inside the venv (the fixture),
ours in tests/uniface/test_draw.py. A case draws onto a gray canvas or a
crop of a shared photo; the fixture keeps the result's sha256 and a
quarter-size thumbnail (for a readable report if the pixels differ).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from .api import Context, Family

FACES = [
    {"bbox": [30.6, 40.2, 130.9, 170.4], "confidence": 0.98, "track_id": 3,
     "landmarks": [[60.2, 90.1], [100.7, 88.9], [80.5, 115.3], [64.9, 140.2], [97.1, 139.8]]},
    {"bbox": [170.2, 60.8, 250.5, 160.1], "confidence": 0.55, "track_id": None,
     "landmarks": [[192.3, 98.4], [228.6, 97.7], [210.1, 118.2], [195.5, 138.4], [226.2, 137.9]]},
    {"bbox": [260.0, 150.0, 310.0, 215.0], "confidence": 0.71, "track_id": 12,
     "landmarks": [[272.0, 175.0], [297.0, 174.0], [285.0, 188.0], [274.0, 200.0], [295.0, 199.0]]},
]  # fmt: skip
GRAY = {"kind": "gray", "shape": [240, 320, 3], "value": 40}
PHOTO = {"kind": "photo", "image": "uniface_test.jpg", "crop": [100, 340, 300, 620]}
BOX = [40.0, 30.0, 200.0, 210.0]

CASES: list[dict[str, Any]] = [
    {"name": "detections_faces", "canvas": GRAY, "call": "draw_detections", "kwargs": {"image": "$image", "faces": "$faces"}},
    {"name": "detections_lists_scores", "canvas": GRAY, "call": "draw_detections",
     "kwargs": {"image": "$image", "bboxes": "$bboxes", "scores": "$scores", "landmarks": "$landmarks",
                "vis_threshold": 0.5, "draw_score": True, "corner_bbox": False}},
    {"name": "tracks", "canvas": GRAY, "call": "draw_tracks", "kwargs": {"image": "$image", "faces": "$faces"}},
    {"name": "gaze", "canvas": GRAY, "call": "draw_gaze", "args": ["$image", BOX, 0.3, -0.5]},
    {"name": "gaze_plain", "canvas": GRAY, "call": "draw_gaze", "args": ["$image", BOX, -0.2, 0.4],
     "kwargs": {"corner_bbox": False, "draw_angles": False}},
    {"name": "head_pose_cube", "canvas": GRAY, "call": "draw_head_pose", "args": ["$image", BOX, 12.0, -25.0, 8.0]},
    {"name": "head_pose_axis", "canvas": GRAY, "call": "draw_head_pose", "args": ["$image", BOX, -10.0, 30.0, -5.0],
     "kwargs": {"draw_type": "axis", "draw_bbox": True}},
    {"name": "quality_low", "canvas": GRAY, "call": "draw_quality_score", "args": ["$image", BOX, 0.21]},
    {"name": "quality_mid", "canvas": GRAY, "call": "draw_quality_score", "args": ["$image", BOX, 0.45],
     "kwargs": {"corner_bbox": False}},
    {"name": "text_label", "canvas": GRAY, "call": "draw_text_label", "args": ["$image", "Hello 42", 20, 100, [0, 128, 255]],
     "kwargs": {"font_scale": 0.8}},
    {"name": "parsing", "canvas": PHOTO, "call": "vis_parsing_maps", "args": ["$image", "$mask"]},
    *({"name": f"blur_{method}", "canvas": PHOTO, "call": "BlurFace.anonymize", "init": {"method": method}}
      for method in ("pixelate", "gaussian", "median", "blackout", "elliptical")),
    {"name": "blur_strong_gaussian", "canvas": PHOTO, "call": "BlurFace.anonymize",
     "init": {"method": "gaussian", "blur_strength": 5.0}},
]  # fmt: skip


def _canvas(spec: dict[str, Any], images: Path):
    import cv2
    import numpy as np

    if spec["kind"] == "gray":
        return np.full(spec["shape"], spec["value"], dtype=np.uint8)
    image = cv2.imread(str(images / spec["image"]))
    if image is None:
        raise FileNotFoundError(images / spec["image"])
    y0, y1, x0, x1 = spec["crop"]
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def render(case: dict[str, Any], uniface: Any, images: Path):
    """Run one case with the given `uniface` package; returns the resulting image."""
    import importlib

    import numpy as np

    draw = importlib.import_module(f"{uniface.__name__}.draw")
    privacy = importlib.import_module(f"{uniface.__name__}.privacy")
    image = _canvas(case["canvas"], images)
    faces = []
    for f in FACES:
        face = uniface.Face(
            bbox=np.array(f["bbox"], np.float32),
            confidence=f["confidence"],
            landmarks=np.array(f["landmarks"], np.float32),
        )
        face.track_id = f["track_id"]
        faces.append(face)
    h, w = image.shape[:2]
    values = {
        "$image": image,
        "$faces": faces,
        "$bboxes": [f.bbox for f in faces],
        "$scores": [f.confidence for f in faces],
        "$landmarks": [f.landmarks for f in faces],
        "$mask": (np.add.outer(np.arange(h) // 16, np.arange(w) // 16) % 21).astype(np.uint8),
    }

    def resolve(v: Any) -> Any:
        return values[v] if isinstance(v, str) and v in values else v

    args = [resolve(a) for a in case.get("args", [])]
    kwargs = {k: resolve(v) for k, v in case.get("kwargs", {}).items()}
    if case["call"] == "BlurFace.anonymize":
        return privacy.BlurFace(**case.get("init", {})).anonymize(image, faces)
    out = getattr(draw, case["call"])(*args, **kwargs)
    return out if isinstance(out, np.ndarray) else image


def digest(image: Any) -> dict[str, Any]:
    """sha256 of the pixels (with the shape) and a quarter-size PNG thumbnail, base64."""
    import cv2

    thumb = cv2.resize(image, (max(1, image.shape[1] // 4), max(1, image.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    png = cv2.imencode(".png", thumb)[1].tobytes()
    return {
        "shape": list(image.shape),
        "sha256": hashlib.sha256(image.tobytes()).hexdigest(),
        "thumb_png": base64.b64encode(png).decode("ascii"),
    }


def _run(ctx: Context) -> dict[str, Any]:
    import uniface

    import cv2

    images = Path(ctx.image_paths["uniface_test.jpg"]).parent
    return {
        "opencv": cv2.__version__,
        "faces": FACES,
        "cases": [{"name": c["name"], **digest(render(c, uniface, images))} for c in CASES],
    }


FAMILIES = [Family("drawing", (), _run, "uniface.draw functions and BlurFace methods", images=("uniface_test.jpg",))]
