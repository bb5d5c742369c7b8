"""Video: read frames (file or webcam), detect, track, identify each track once, write an annotated video.

    report = process_video("in.mp4", "out.mp4", detector, recognizer=rec, db=FaceDatabase("faces.db"))

Identification runs once per track (on the first frame the track is
confirmed with a detection), not per frame: the track id carries the name
from then on. The output is written to a temporary file beside the target
and renamed into place only when the whole video was written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .indexing.images import embed_faces, face_field
from .tracking import BYTETracker

DEFAULT_FPS = 25.0


class VideoError(ValueError):
    """A video source cannot be opened or read, or the output cannot be written (the message names it)."""


def open_source(source: str | int | os.PathLike) -> tuple[cv2.VideoCapture, str]:
    """A capture for a file path or a webcam index ("0" counts as index 0); VideoError if nothing can be read."""
    label = str(source)
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        cap = cv2.VideoCapture(int(source))
        label = f"webcam {int(source)}"
    else:
        path = Path(source)
        if not path.is_file():
            raise VideoError(f"{path}: no such video file")
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"{label}: cannot open as a video (unreadable file, unknown format or no such camera)")
    return cap, label


def frames_of(cap: cv2.VideoCapture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = cap.read()
        if not ok or frame is None:
            return
        yield frame


@dataclass
class VideoReport:
    """What a run did: frames, wall time, tracks, and the identity found for each track."""

    source: str
    output: str
    frames: int = 0
    seconds: float = 0.0
    tracks: int = 0
    identifications: int = 0
    identities: dict[int, tuple[str | None, float]] = field(default_factory=dict)
    per_frame: list[list[tuple[int, np.ndarray]]] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class _PartialWriter:
    """cv2.VideoWriter into `<target>.partial<suffix>`, renamed onto the target by `commit()` only."""

    def __init__(self, target: Path, fps: float, size: tuple[int, int]):
        self.target = target
        self.tmp = target.with_name(f".{target.stem}.partial{target.suffix or '.mp4'}")
        fourcc = cv2.VideoWriter_fourcc(*("mp4v" if target.suffix.lower() in (".mp4", ".m4v", ".mov", "") else "MJPG"))
        self.writer = cv2.VideoWriter(str(self.tmp), fourcc, fps, size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise VideoError(f"{target}: OpenCV cannot write this video (check the folder and the file suffix)")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def commit(self) -> None:
        self.writer.release()
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        self.writer.release()
        self.tmp.unlink(missing_ok=True)


def draw_track(frame: np.ndarray, box: np.ndarray, track_id: int, identity: tuple[str | None, float] | None) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
    known = identity is not None and identity[0] is not None
    color = (0, 200, 0) if known else (0, 165, 255)
    cv2.rectangle(frame, (x1, y1), (x2, y2), color, 2)
    label = f"#{track_id}"
    if identity is not None:
        label += f" {identity[0] or 'unknown'} {identity[1]:.2f}"
    cv2.putText(frame, label, (x1, max(12, y1 - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)


def process_video(
    source: str | int | os.PathLike,
    output: str | os.PathLike,
    detector: Any,
    *,
    recognizer: Any = None,
    db: Any = None,
    tracker: BYTETracker | None = None,
    threshold: float = 0.4,
    max_frames: int | None = None,
    progress: bool = True,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
) -> VideoReport:
    """Detect and track faces in every frame of `source`, identify each new track against `db` once,
    and write the annotated frames to `output`. Returns a `VideoReport` (frames, FPS, identities)."""
    from tqdm import tqdm

    if db is not None and recognizer is None:
        raise ValueError("identifying faces needs a recognizer as well as a database")
    cap, label = open_source(source)
    tracker = tracker or BYTETracker()
    out = Path(output)
    report = VideoReport(source=label, output=str(out))
    writer = None
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        if max_frames:
            total = min(total or max_frames, max_frames)
        bar = tqdm(total=total, unit="frame", desc=label[-30:], disable=not progress, leave=False)
        started = time.perf_counter()
        for frame in frames_of(cap):
            if writer is None:
                writer = _PartialWriter(out, fps if 0 < fps < 1000 else DEFAULT_FPS, (frame.shape[1], frame.shape[0]))
            faces = detector.detect(frame)
            dets = np.array(
                [[*np.asarray(face_field(f, "bbox"))[:4], float(face_field(f, "confidence"))] for f in faces]
            ).reshape(-1, 5)
            tracker.update(dets)
            tracks = tracker.tracks
            if db is not None:
                _identify_new_tracks(frame, faces, tracks, recognizer, db, threshold, report)
            for t in tracks:
                draw_track(frame, t.tlbr, t.track_id, t.data.get("identity"))
            report.per_frame.append([(t.track_id, t.tlbr.copy()) for t in tracks])
            writer.write(frame)
            if on_frame is not None:
                on_frame(report.frames, frame)
            report.frames += 1
            report.seconds = time.perf_counter() - started
            bar.update(1)
            bar.set_postfix(fps=f"{report.fps:.1f}", tracks=len(tracks))
            if max_frames and report.frames >= max_frames:
                break
        bar.close()
        if writer is None:
            raise VideoError(f"{label}: no frames could be read")
        writer.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        cap.release()
    report.tracks = len({tid for frame in report.per_frame for tid, _ in frame})
    return report


def _identify_new_tracks(frame, faces, tracks, recognizer, db, threshold, report: VideoReport) -> None:
    """Embed (in one batch) the faces of tracks not identified yet, and look each up once."""
    new = [t for t in tracks if "identity" not in t.data and t.det_index >= 0]
    if not new:
        return
    vectors = embed_faces(recognizer, frame, [faces[t.det_index] for t in new])
    for t, vector in zip(new, vectors):
        matches = db.search(vector, threshold=-1.0, k=1, people_only=True)
        best = matches[0] if matches else None
        identity = (best.person, best.score) if best and best.score > threshold else (None, best.score if best else 0.0)
        t.data["identity"] = identity
        report.identities[t.track_id] = identity
        report.identifications += 1
