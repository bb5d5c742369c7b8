"""Index every face of a photo collection into a FaceDatabase, in process: resumable and pipelined.

    report = index_folder("photos/", db, detector, recognizer)

- Resumable: each group of files is written in one transaction together with
  the "done" mark of every file in it, so a second run skips finished files
  and a run killed midway leaves no file half-indexed.
- Pipelined: a thread pool decodes the next images while the models run
  (OpenCV releases the GIL), and the faces of several images are aligned
  and embedded as one batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .images import face_field, list_images, read_image

DEFAULT_GROUP = 8  # images per transaction and per embedding batch


@dataclass
class FileResult:
    """What indexing found in one file: its faces (bbox, confidence, landmarks) and their unit embeddings."""

    path: str
    size: int
    mtime_ns: int
    faces: list[dict] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    note: str = ""
    readable: bool = True


@dataclass
class IndexReport:
    files: int = 0
    skipped: int = 0
    faces: int = 0
    seconds: float = 0.0
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def faces_per_second(self) -> float:
        return self.faces / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        lines = [
            f"{self.files} file(s) indexed, {self.skipped} already done, {self.faces} face(s) "
            f"in {self.seconds:.1f}s ({self.faces_per_second:.1f} faces/s)"
        ]
        if self.no_face:
            lines.append(f"{len(self.no_face)} file(s) with no face")
        if self.unreadable:
            lines.append(f"{len(self.unreadable)} file(s) could not be read:")
            lines += [f"  {u}" for u in self.unreadable]
        return "\n".join(lines)


def file_key(path: Path) -> tuple[str, int, int]:
    """(absolute path as the user named it, size, mtime): a symlink is its own entry, like any other name."""
    st = path.stat()
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


def pending_files(folder: str | os.PathLike, db: Any) -> tuple[list[Path], int]:
    """(files still to index, number already done) for `folder`; a file changed since it was indexed is redone."""
    files = list_images(folder)
    if not files:
        raise FileNotFoundError(f"{folder}: no images found (looked for {', '.join(sorted(_suffixes()))})")
    done = db.done_files()
    todo, skipped = [], 0
    for f in files:
        key, size, mtime = file_key(f)
        if done.get(key) == (size, mtime):
            skipped += 1
            continue
        if key in done:  # changed since it was indexed: its old faces go
            db.delete(db.find(file=key))
        todo.append(f)
    return todo, skipped


def _suffixes() -> set[str]:
    from .images import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES


def face_metadata(result: FileResult, i: int) -> dict:
    face = result.faces[i]
    return {
        "file": result.path,
        "face": i,
        "bbox": [round(float(v), 2) for v in face["bbox"]],
        "confidence": round(float(face["confidence"]), 5),
        "landmarks": np.round(np.asarray(face["landmarks"], dtype=float), 2).tolist(),
    }


def write_results(db: Any, results: Sequence[FileResult]) -> int:
    """Write a group of files' faces and their done marks in one transaction; returns the faces written."""
    vectors, metas = [], []
    for r in results:
        if r.embeddings is not None and len(r.faces):
            vectors.append(r.embeddings)
            metas += [face_metadata(r, i) for i in range(len(r.faces))]
    stacked = np.concatenate(vectors) if vectors else np.empty((0, db.embedding_size or 0), dtype=np.float32)
    db.add_many(stacked, metas, files=[(r.path, r.size, r.mtime_ns, len(r.faces), r.note) for r in results])
    return len(metas)


def detect_and_embed(detector: Any, recognizer: Any, images: Sequence[tuple[FileResult, np.ndarray | None]]) -> None:
    """Detect in each image, then embed the faces of all of them in one batched call (fills in the results)."""
    crops, owners = [], []
    for result, image in images:
        if image is None:
            continue
        faces = detector.detect(image)
        result.faces = [
            {
                "bbox": np.asarray(face_field(f, "bbox"), dtype=np.float32)[:4],
                "confidence": float(face_field(f, "confidence")),
                "landmarks": np.asarray(face_field(f, "landmarks"), dtype=np.float32).reshape(5, 2),
            }
            for f in faces
        ]
        for face in result.faces:
            crops.append(_align(recognizer, image, face["landmarks"]))
            owners.append(result)
    if not crops:
        return
    embeddings = recognizer.embed_aligned(crops)
    start = 0
    for result, _ in images:
        n = len(result.faces)
        if n:
            result.embeddings = embeddings[start : start + n]
            start += n


def _align(recognizer: Any, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    from runtime.face.alignment import face_alignment

    return face_alignment(image, landmarks, recognizer.input_size[0])[0]


def _load(path: Path) -> tuple[FileResult, np.ndarray | None]:
    key, size, mtime = file_key(path)
    image, note = read_image(path)
    return FileResult(key, size, mtime, note=note, readable=image is not None), image


def decoded(files: Sequence[Path], workers: int, ahead: int) -> Iterator[tuple[FileResult, np.ndarray | None]]:
    """Decoded images in file order, `ahead` of the consumer, from a thread pool."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        futures = [pool.submit(_load, f) for f in files[:ahead]]
        for i in range(len(files)):
            if i + ahead < len(files):
                futures.append(pool.submit(_load, files[i + ahead]))
            yield futures[i].result()
            futures[i] = None  # free the decoded image


def groups(items: Iterable, size: int) -> Iterator[list]:
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def index_folder(
    folder: str | os.PathLike,
    db: Any,
    detector: Any,
    recognizer: Any,
    *,
    group: int = DEFAULT_GROUP,
    workers: int = 2,
    progress: bool = True,
) -> IndexReport:
    """Index the faces of every image under `folder` that is not in `db` yet (see the module doc)."""
    from tqdm import tqdm

    todo, skipped = pending_files(folder, db)
    report = IndexReport(skipped=skipped)
    started = time.perf_counter()
    with tqdm(total=len(todo), unit="img", desc="index", disable=not progress) as bar:
        for batch in groups(decoded(todo, workers, ahead=2 * group), group):
            detect_and_embed(detector, recognizer, batch)
            report.faces += write_results(db, [r for r, _ in batch])
            _tally(report, [r for r, _ in batch])
            bar.update(len(batch))
            bar.set_postfix(faces=report.faces, faces_per_s=f"{report.faces / (time.perf_counter() - started):.1f}")
    report.seconds = time.perf_counter() - started
    return report


def _tally(report: IndexReport, results: Sequence[FileResult]) -> None:
    for r in results:
        report.files += 1
        name = Path(r.path).name
        if not r.readable:
            report.unreadable.append(f"{r.path}: {r.note}")
        elif not r.faces:
            report.no_face.append(name)
        if r.readable and r.note:
            report.notes.append(f"{name}: {r.note}")
