"""A synthetic video with known face paths, built from the shared photos (for tracker tests and the FPS benchmark).

Three face patches move over a textured background along straight lines:
A left to right, B right to left crossing A (they overlap for a few frames,
B in front), and C drifting right, leaving the frame, and re-entering later
moving left. The ground truth per frame is each visible patch's rectangle and
a segment id (C's two visits are two segments: a motion-only tracker cannot
know the returning face is the same; identification can).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SHARED_IMAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "images"
FRAME_W, FRAME_H, FPS = 640, 480, 25
PATCH = 140


@dataclass(frozen=True)
class Actor:
    name: str  # person label, for identification checks
    source: str  # shared image the patch is cut from
    crop: tuple[int, int, int, int] | None  # y0, y1, x0, x1 in the source (None: whole image)


ACTORS = (
    Actor("rob", "lfw_Rob_Lowe_0001.jpg", (35, 215, 35, 215)),
    Actor("nathalie", "lfw_Nathalie_Baye_0002.jpg", (35, 215, 35, 215)),
    Actor("t1", "insightface_t1.jpg", (300, 520, 685, 905)),
)
# Photos to enroll each person from (Rob: a different photo than the clip's; the others: the clip's source).
ENROLL_SOURCES = {"rob": ("lfw_Rob_Lowe_0002.jpg", None), "nathalie": ("lfw_Nathalie_Baye_0002.jpg", None),
                  "t1": ("insightface_t1.jpg", (300, 520, 685, 905))}  # fmt: skip


def enrollment_images(images: str | os.PathLike = SHARED_IMAGES) -> dict[str, np.ndarray]:
    """{person: BGR image to enroll them from}."""
    out = {}
    for name, (source, crop) in ENROLL_SOURCES.items():
        image = cv2.imread(str(Path(images) / source))
        if image is None:
            raise FileNotFoundError(f"{Path(images) / source}: shared photo missing")
        out[name] = image if crop is None else image[crop[0] : crop[1], crop[2] : crop[3]].copy()
    return out


def _patch(actor: Actor, images: Path) -> np.ndarray:
    image = cv2.imread(str(images / actor.source))
    if image is None:
        raise FileNotFoundError(f"{images / actor.source}: shared photo missing")
    if actor.crop:
        y0, y1, x0, x1 = actor.crop
        image = image[y0:y1, x0:x1]
    return cv2.resize(image, (PATCH, PATCH), interpolation=cv2.INTER_AREA)


def positions(frame: int, frames: int) -> dict[str, tuple[float, float] | None]:
    """Top-left corner of each actor's patch at `frame` (None: outside the frame)."""
    t = frame / max(frames - 1, 1)
    out: dict[str, tuple[float, float] | None] = {
        "rob": (10 + t * (FRAME_W - PATCH - 20), 40.0),
        "nathalie": (FRAME_W - PATCH - 10 - t * (FRAME_W - PATCH - 20), 130.0),
    }
    # C: drifts right along the bottom, leaves at ~35% of the clip, comes back at ~60% moving left.
    if t < 0.35:
        out["t1"] = (300 + t / 0.35 * (FRAME_W + 20 - 300), FRAME_H - PATCH - 10.0)
    elif t < 0.6:
        out["t1"] = None
    else:
        out["t1"] = (FRAME_W + 20 - (t - 0.6) / 0.4 * (FRAME_W + 20 - 200), FRAME_H - PATCH - 10.0)
    return out


@dataclass
class GroundTruth:
    """Per frame: {segment id: (x1, y1, x2, y2) patch rectangle, clipped to the frame}; segment -> person."""

    boxes: list[dict[str, tuple[float, float, float, float]]]
    person: dict[str, str]


def build_clip(path: str | os.PathLike, frames: int = 100, images: str | os.PathLike = SHARED_IMAGES) -> GroundTruth:
    """Write the clip to `path` (mp4v) and return its ground truth."""
    images = Path(images)
    patches = {a.name: _patch(a, images) for a in ACTORS}
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 200, (FRAME_H, FRAME_W, 3), dtype=np.uint8), (31, 31), 0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (FRAME_W, FRAME_H))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write mp4v video here")
    truth = GroundTruth([], {})
    was_visible: dict[str, bool] = {}
    segment: dict[str, int] = {}
    try:
        for f in range(frames):
            frame = background.copy()
            boxes = {}
            for name in ("rob", "t1", "nathalie"):  # drawing order: nathalie passes in front of rob
                pos = positions(f, frames).get(name)
                x1 = y1 = None
                if pos is not None:
                    x1, y1 = int(round(pos[0])), int(round(pos[1]))
                visible = pos is not None and x1 + PATCH * 0.75 <= FRAME_W and x1 >= -PATCH * 0.25
                if visible and not was_visible.get(name):
                    segment[name] = segment.get(name, 0) + 1
                was_visible[name] = visible
                if pos is None:
                    continue
                _paste(frame, patches[name], x1, y1)
                if visible:
                    key = f"{name}#{segment[name]}"
                    truth.person[key] = name
                    boxes[key] = (max(x1, 0), max(y1, 0), min(x1 + PATCH, FRAME_W), min(y1 + PATCH, FRAME_H))
            truth.boxes.append(boxes)
            writer.write(frame)
    finally:
        writer.release()
    return truth


def _paste(frame: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    h, w = patch.shape[:2]
    fx0, fy0, fx1, fy1 = max(x, 0), max(y, 0), min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if fx0 < fx1 and fy0 < fy1:
        frame[fy0:fy1, fx0:fx1] = patch[fy0 - y : fy1 - y, fx0 - x : fx1 - x]


def _overlaps(box: tuple, others: list[tuple]) -> bool:
    return any(min(box[2], o[2]) > max(box[0], o[0]) and min(box[3], o[3]) > max(box[1], o[1]) for o in others)


def score_tracks(truth: GroundTruth, tracks_per_frame: list[list[tuple[int, np.ndarray]]]) -> dict:
    """ID switches and coverage of tracker output against the ground truth.

    A track output belongs to a segment when its box centre lies inside the
    segment's rectangle. Frames where the segment's rectangle overlaps
    another's are skipped (an occluded face may be lost or swapped there);
    an ID switch is a change of the track id between consecutive scored
    frames of one segment. Also reports segments that share a track id.
    """
    ids: dict[str, list[int]] = {}
    scored = matched = 0
    for boxes, tracks in zip(truth.boxes, tracks_per_frame):
        for key, box in boxes.items():
            if _overlaps(box, [b for k, b in boxes.items() if k != key]):
                continue
            scored += 1
            inside = [
                tid
                for tid, tb in tracks
                if box[0] <= (tb[0] + tb[2]) / 2 <= box[2] and box[1] <= (tb[1] + tb[3]) / 2 <= box[3]
            ]
            if len(inside) == 1:
                matched += 1
                ids.setdefault(key, []).append(inside[0])
    switches = sum(sum(a != b for a, b in zip(seq, seq[1:])) for seq in ids.values())
    first_ids = {key: seq[0] for key, seq in ids.items() if seq}
    shared = len(first_ids) - len(set(first_ids.values()))
    return {
        "id_switches": switches,
        "segments": len(truth.person),
        "segments_tracked": len(ids),
        "shared_ids": shared,
        "coverage": matched / max(scored, 1),
        "track_of_segment": first_ids,
    }
