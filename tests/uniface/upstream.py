"""Comparing the facade with upstream uniface 4.2.1's outputs (fixtures from tools/uniface_oracle.py).

A fixture is `fixtures/upstream4/<family>.json`: the weight files upstream
ran (with their sha256), and `cases` (family-specific rows). The helpers
here locate the same files, check their hashes (a changed stand-in makes a
stale fixture, which is reported as such), and compare results with the
issue's tolerances:

- same face count; boxes IoU >= 0.999; landmarks within 0.01 px;
- confidences and other values within 1e-4;
- labels equal; embeddings cosine >= 0.9999.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .conftest import IMAGES, MODELS, need_shared

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "upstream4"
BACKENDS = ("mlx", "onnx")

IOU_MIN = 0.999
LANDMARK_PX = 0.01
VALUE_TOL = 1e-4
COSINE_MIN = 0.9999


@functools.cache
def load(family: str) -> dict[str, Any]:
    """The fixture of one oracle family (a missing fixture is an error: regenerate with the oracle tool)."""
    path = FIXTURES / f"{family}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python tools/uniface_oracle.py --family {family}`")
    return json.loads(path.read_text())


@functools.cache
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def weight_path(fixture: dict[str, Any], enum: str, standins: Path) -> Path:
    """Our copy of the file upstream ran for slot `enum`, with the sha256 the fixture recorded."""
    need_shared()
    slot = fixture["weights"][enum]
    path = (MODELS if slot["origin"] == "shared" else standins) / slot["file"]
    assert path.is_file(), f"{path} not found (slot {enum} of fixture {fixture['family']})"
    actual = _sha256(path)
    assert actual == slot["sha256"], (
        f"{path.name} has sha256 {actual}, the fixture {fixture['family']} was made from {slot['sha256']}: "
        f"the stand-in changed; rerun `python tools/uniface_oracle.py --family {fixture['family']}`"
    )
    return path


def main_weight_path(fixture: dict[str, Any], standins: Path) -> Path:
    """The file of the fixture's own model slot (`fixture['model']`)."""
    return weight_path(fixture, fixture["model"], standins)


@functools.cache
def image(name: str) -> np.ndarray:
    img = cv2.imread(str(IMAGES / name))
    assert img is not None, f"cannot read {IMAGES / name}"
    img.setflags(write=False)  # shared between tests: nobody may draw on it
    return img


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ax1, ay1, ax2, ay2 = (float(v) for v in a[:4])
    bx1, by1, bx2, by2 = (float(v) for v in b[:4])
    w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    h = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = w * h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else float(np.allclose(a[:4], b[:4]))


def _field(face: Any, name: str) -> Any:
    return face[name] if isinstance(face, dict) else getattr(face, name)


def assert_faces_match(
    got: Sequence[Any],
    ref: Sequence[dict[str, Any]],
    context: str,
    *,
    iou_min: float = IOU_MIN,
    landmark_px: float = LANDMARK_PX,
    confidence_tol: float = VALUE_TOL,
) -> dict[str, float]:
    """Our faces (Face objects or dicts) against upstream's rows; returns the worst figures seen.

    Faces are paired by best IoU, not by position: two faces whose scores
    differ by less than float rounding may swap places between backends.
    """
    assert len(got) == len(ref), f"{context}: {len(got)} faces, upstream found {len(ref)}"
    worst = {"iou": 1.0, "landmark_px": 0.0, "confidence": 0.0}
    free = list(range(len(got)))  # indices: Face's generated __eq__ compares arrays, so no list.remove
    for k, r in enumerate(ref):
        pick = max(free, key=lambda i: iou(_field(got[i], "bbox"), r["bbox"]))
        free.remove(pick)
        best = got[pick]
        overlap = iou(_field(best, "bbox"), r["bbox"])
        lm_ours = np.asarray(_field(best, "landmarks"), dtype=np.float64)
        lm_ref = np.asarray(r["landmarks"], dtype=np.float64)
        assert lm_ours.shape == lm_ref.shape, f"{context} face {k}: landmarks {lm_ours.shape} vs {lm_ref.shape}"
        lm_err = float(np.abs(lm_ours - lm_ref).max()) if lm_ref.size else 0.0
        conf_err = abs(float(_field(best, "confidence")) - r["confidence"])
        assert overlap >= iou_min, f"{context} face {k}: IoU {overlap:.6f} < {iou_min}"
        assert lm_err <= landmark_px, f"{context} face {k}: landmarks off by {lm_err:.5f} px > {landmark_px}"
        assert conf_err <= confidence_tol, f"{context} face {k}: confidence off by {conf_err:.2e}"
        worst["iou"] = min(worst["iou"], overlap)
        worst["landmark_px"] = max(worst["landmark_px"], lm_err)
        worst["confidence"] = max(worst["confidence"], conf_err)
    return worst


def assert_values_close(got: Any, ref: Any, context: str, tol: float = VALUE_TOL) -> float:
    """Numbers within `tol`, relative to the reference's magnitude (absolute below 1); returns the worst error."""
    a = np.asarray(got, dtype=np.float64).reshape(-1)
    b = np.asarray(ref, dtype=np.float64).reshape(-1)
    assert a.shape == b.shape, f"{context}: shape {a.shape} vs upstream {b.shape}"
    err = float((np.abs(a - b) / np.maximum(np.abs(b), 1.0)).max()) if b.size else 0.0
    assert err <= tol, f"{context}: off by {err:.2e} (relative) > {tol}"
    return err


def assert_cosine(got: Any, ref: Any, context: str, min_cos: float = COSINE_MIN) -> float:
    """Embedding direction: cosine similarity with upstream's >= `min_cos`; returns it."""
    a = np.asarray(got, dtype=np.float64).reshape(-1)
    b = np.asarray(ref, dtype=np.float64).reshape(-1)
    assert a.shape == b.shape, f"{context}: embedding {a.shape} vs upstream {b.shape}"
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert cos >= min_cos, f"{context}: cosine {cos:.6f} < {min_cos}"
    return cos


def rounding_tie(value: float, tol: float = 1e-3) -> bool:
    """True when `value` sits within `tol` of a .5 rounding boundary (a 1e-5 difference may round it either way)."""
    return abs((value % 1.0) - 0.5) <= tol
