"""`FaceDatabase`: an embedded face database (no server) with people, faces, metadata and vector search.

    db = FaceDatabase("faces.db", detector=SCRFD(...), recognizer=MobileFace(...))
    db.enroll("alice", ["alice1.jpg", "alice2.jpg"])
    for face, person, score in db.identify(cv2.imread("group.jpg")):
        ...

SQLite (records.py) is the single source of truth: every `add` is one
committed transaction, vectors and metadata in the same row. The search
index (vectors.py) is a cache loaded from those rows, kept in step with other
processes' commits through SQLite's data_version, and every reported match
is re-read and re-scored from its row.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CorruptDatabaseError, EmbeddingSizeError, StoreError
from .records import FaceRow, RecordStore, Stamp, encode_metadata
from .vectors import VectorIndex

log = logging.getLogger(__name__)

DEFAULT_FILE_NAME = "faces.db"
DEFAULT_THRESHOLD = 0.4  # upstream uniface 4.x's default for FAISS.search


@dataclass(frozen=True)
class Match:
    """One search result: the face's id, cosine similarity, metadata, and person (None for unnamed faces)."""

    id: int
    score: float
    metadata: dict
    person: str | None = None


@dataclass(frozen=True)
class FaceRecord:
    """One stored face, as iteration yields it."""

    id: int
    person: str | None
    metadata: dict
    embedding: np.ndarray


def resolve_db_path(path: str | os.PathLike) -> Path:
    """A folder (existing, or given with a trailing slash) means `<folder>/faces.db`; anything else is the file."""
    p = Path(path)
    if p.is_dir() or str(path).endswith(os.sep):
        return p / DEFAULT_FILE_NAME
    return p


def model_identity(recognizer: Any) -> tuple[str | None, str | None, int | None]:
    """(sha256, file name, embedding size) of a recognizer object, an ONNX path, or a sha256 string."""
    if recognizer is None:
        return None, None, None
    if isinstance(recognizer, str) and len(recognizer) == 64 and all(c in "0123456789abcdef" for c in recognizer):
        return recognizer, None, None
    from runtime.download import sha256_file

    path = getattr(recognizer, "model_path", recognizer)
    outputs = getattr(recognizer, "outputs", None)
    if outputs is None:
        from runtime.models import read_signature

        outputs = read_signature(path)[1]
    size = outputs[0].shape[-1] if outputs and outputs[0].shape else None
    return sha256_file(path), os.path.basename(os.fspath(path)), size if isinstance(size, int) else None


class FaceDatabase:
    """People, faces and their embeddings in one SQLite file, searchable by cosine similarity.

    `embedding_size` and `recognizer` (a recognizer object, its ONNX path or
    sha256) bind the database to one model: the first use records them, later
    opens with another model raise `ModelMismatchError`, and vectors of
    another size raise `EmbeddingSizeError`. `durability="full"` (default)
    fsyncs every write; `"normal"` survives a killed process but not a power
    loss. `ann_threshold` is the collection size where search switches from
    exact to a compressed scan with exact re-ranking (default: measured, see
    docs/pipeline.md); `db.index.candidates` trades its recall for time.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        embedding_size: int | None = None,
        recognizer: Any = None,
        detector: Any = None,
        read_only: bool = False,
        durability: str = "full",
        ann_threshold: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.path = resolve_db_path(path)
        self.detector = detector
        self.recognizer = recognizer if not isinstance(recognizer, str | os.PathLike) else None
        existed = self.path.exists()
        self.records = RecordStore(self.path, read_only=read_only, durability=durability, timeout=timeout)
        try:
            sha, name, model_size = model_identity(recognizer)
            if embedding_size is not None and model_size is not None and embedding_size != model_size:
                raise EmbeddingSizeError(
                    self.path, f"embedding_size={embedding_size} but the recognizer {name} makes {model_size}-d vectors"
                )
            self.embedding_size = self.records.bind_model(embedding_size or model_size, sha, name)
            self.model_sha256 = self.records.get_info("model_sha256")
            self.model_name = self.records.get_info("model_name")
            self._existed = existed
            self._ann_threshold = ann_threshold
            self.index: VectorIndex | None = None
            self._synced = Stamp(0, 0, 0)
            self._data_version: int | None = None
            if self.embedding_size is not None:
                self._load()
        except BaseException:
            self.records.close()
            raise

    # -- loading and staying in step ----------------------------------------------------------

    def _new_index(self) -> VectorIndex:
        return VectorIndex(self.embedding_size, ann_threshold=self._ann_threshold)

    def _load(self) -> None:
        """Read every vector (checksummed) into memory; adopt the saved search index if it verifies."""
        self._data_version = self.records.data_version()
        stamp = self.records.stamp()
        index = self._new_index()
        for ids, vecs in self.records.iter_vectors(self.embedding_size):
            index.add(ids, vecs, build_ann=False)
        if len(index) >= index.ann_threshold:
            if not index.load_ann(self.cache_path, self.records.get_info("uuid")):
                index.build_ann()
            self._save_cache(index)
        self.index = index
        self._synced = Stamp(int(index.ids.max()) if len(index) else 0, len(index), stamp.removals)

    @property
    def cache_path(self) -> Path:
        """The search index saved beside the database (a cache: verified against SQLite before use)."""
        return self.path.with_name(self.path.name + ".index")

    def _save_cache(self, index: VectorIndex) -> None:
        if self.records.read_only or index.ann is None:
            return
        try:
            index.save_ann(self.cache_path, self.records.get_info("uuid"))
        except OSError as exc:  # a cache that cannot be written is rebuilt next time; the data is in SQLite
            log.warning("%s: could not write the search index cache (%s)", self.path, exc)

    def _sync(self) -> None:
        """Pick up other connections' commits (rows added or removed) since the last look."""
        if self.index is None:
            if self.embedding_size is None:
                self.embedding_size = _int_or_none(self.records.get_info("embedding_size"))
                if self.embedding_size is None:
                    return
            self._load()
            return
        version = self.records.data_version()
        if version == self._data_version:
            return
        self._data_version = version
        removals = self.records.removals()
        if removals != self._synced.removals:
            present = set(self.records.all_ids().tolist())
            self.index.remove(np.array([i for i in self.index.ids.tolist() if i not in present], dtype=np.int64))
        last = self._synced.max_id
        for ids, vecs in self.records.iter_vectors(self.embedding_size, after_id=last):
            self.index.add(ids, vecs)
            last = max(last, int(ids[-1]))
        self._synced = Stamp(last, len(self.index), removals)

    def refresh(self) -> None:
        """Re-read what other processes committed (searches do this themselves)."""
        with self.records._lock:
            self._sync()

    # -- vectors in -------------------------------------------------------------------------

    def _unit_vectors(self, embeddings: Any, single: bool) -> np.ndarray:
        arr = np.asarray(embeddings, dtype=np.float32)
        arr = arr.reshape(1, -1) if single else (arr.reshape(1, -1) if arr.ndim == 1 else arr)
        if arr.ndim != 2:
            raise ValueError(f"embeddings must be [N, D], got shape {arr.shape}")
        if self.embedding_size is None:
            self.embedding_size = self.records.bind_model(arr.shape[1], None, None)
            self._load()
        if arr.shape[1] != self.embedding_size:
            raise EmbeddingSizeError(
                self.path,
                f"got {arr.shape[1]}-d embeddings; this database holds {self.embedding_size}-d ones"
                + (f" from {self.model_name}" if self.model_name else "")
                + ": they come from another recognizer",
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{self.path}: embedding contains NaN or infinity")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError(f"{self.path}: embedding is all zeros")
        return np.ascontiguousarray(arr / norms, dtype=np.float32)

    # -- writes -------------------------------------------------------------------------------

    def add(self, embedding: np.ndarray, metadata: dict | None = None, *, person: str | None = None) -> int:
        """Store one embedding with its metadata (and person); durable when it returns. Returns the face id."""
        return self.add_many(np.asarray(embedding).reshape(1, -1), [metadata], person=person)[0]

    def add_many(
        self,
        embeddings: np.ndarray,
        metadata: Sequence[dict | None] | None = None,
        *,
        person: str | Sequence[str | None] | None = None,
        files: Sequence[tuple[str, int, int, int, str]] = (),
    ) -> list[int]:
        """Store N embeddings in one transaction (all or none). `person` is one name or one per embedding;
        `files=[(path, size, mtime_ns, faces, note)]` marks indexed files done in the same transaction, so an
        interrupted indexing run never records a file without its faces or faces without their file."""
        if len(embeddings) == 0 and files:
            vectors = np.empty((0, self.embedding_size or 0), dtype=np.float32)
        else:
            vectors = self._unit_vectors(embeddings, single=False)
        n = len(vectors)
        metas = [None] * n if metadata is None else list(metadata)
        if len(metas) != n:
            raise ValueError(f"{n} embeddings but {len(metas)} metadata dicts")
        meta_json = [encode_metadata(m) for m in metas]
        names = [person] * n if person is None or isinstance(person, str) else list(person)
        if len(names) != n:
            raise ValueError(f"{n} embeddings but {len(names)} person names")
        with self.records._lock:
            self._sync()
            with self.records.write() as cur:
                person_ids = {}
                for name in set(names) - {None}:
                    person_ids[name] = self.records.person_id(cur, name)
                ids = self.records.insert_faces(cur, vectors, meta_json, [person_ids.get(x) for x in names])
                for entry in files:
                    self.records.mark_file(cur, *entry)
            if ids:
                self.index.add(np.array(ids, dtype=np.int64), vectors)
        return ids

    def done_files(self) -> dict[str, tuple[int, int]]:
        """{path: (size, mtime_ns)} of files already indexed."""
        return self.records.done_files()

    def delete(self, ids: Iterable[int]) -> int:
        """Delete faces by id; returns how many existed."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        with self.records._lock:
            self._sync()
            removed = 0
            with self.records.write() as cur:
                before = int(cur.execute("SELECT value FROM info WHERE key='removals'").fetchone()[0])
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    cur.execute(f"DELETE FROM faces WHERE id IN ({','.join('?' * len(chunk))})", chunk)
                    removed += cur.rowcount
                after = int(cur.execute("SELECT value FROM info WHERE key='removals'").fetchone()[0])
            if self.index is not None:
                self.index.remove(np.array(ids, dtype=np.int64))
            if before == self._synced.removals:  # nobody else deleted meanwhile: we already know every removal
                self._synced = Stamp(self._synced.max_id, len(self.index or ()), after)
        return removed

    def remove(self, key: str, value: Any) -> int:
        """Delete every face whose `metadata[key] == value` (uniface 4.x); returns how many."""
        return self.delete(self.find(**{key: value}))

    def delete_person(self, name: str) -> int:
        """Delete a person and all their faces; returns the number of faces deleted."""
        with self.records._lock:
            ids = [r[0] for r in self.records.read(
                "SELECT f.id FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = ?", (name,)
            )]  # fmt: skip
            if not ids and not self.records.read("SELECT 1 FROM people WHERE name = ?", (name,)):
                raise KeyError(f"{self.path}: no person named {name!r}")
            removed = self.delete(ids)
            with self.records.write() as cur:
                cur.execute("DELETE FROM people WHERE name = ?", (name,))
        return removed

    # -- reads --------------------------------------------------------------------------------

    def find(self, person: str | None = None, **where: Any) -> list[int]:
        """Ids of the faces whose metadata has every `key == value` in `where` (and of `person`, if given)."""
        sql = "SELECT f.id, f.metadata FROM faces f LEFT JOIN people p ON p.id = f.person_id WHERE 1"
        params: list[Any] = []
        if person is not None:
            sql += " AND p.name = ?"
            params.append(person)
        for key, value in where.items():
            if isinstance(value, str | int | float | bool) and not (isinstance(value, float) and np.isnan(value)):
                sql += " AND json_extract(f.metadata, ?) = ?"
                params += ['$."' + key.replace('"', '\\"') + '"', value]
        return [
            face_id
            for face_id, meta in self.records.read(sql, params)
            if all(json.loads(meta).get(k) == v for k, v in where.items())
        ]

    def search(
        self,
        embedding: np.ndarray,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        k: int | None = None,
        where: dict | None = None,
        person: str | None = None,
        people_only: bool = False,
    ):
        """Nearest faces by cosine similarity.

        Without `k` (uniface 4.x): `(metadata, similarity)` of the best match,
        or `(None, similarity)` when it is not above `threshold` (`(None, 0.0)`
        when empty). With `k`: a list of up to k `Match`es scoring above
        `threshold`, best first. `where` keeps faces whose metadata has those
        key/values, `person` one person's faces, `people_only` enrolled faces.
        """
        query = self._unit_vectors(embedding, single=True)[0]
        matches = self._search(query, 1 if k is None else int(k), where, person, people_only)
        if k is None:
            if not matches:
                return None, 0.0
            best = matches[0]
            return (best.metadata, best.score) if best.score > threshold else (None, best.score)
        return [m for m in matches if m.score > threshold]

    def _search(self, query, k, where, person, people_only) -> list[Match]:
        with self.records._lock:
            self._sync()
            allowed = None
            if where or person is not None:
                allowed = np.array(self.find(person=person, **(where or {})), dtype=np.int64)
            elif people_only:
                allowed = np.array(
                    [r[0] for r in self.records.read("SELECT id FROM faces WHERE person_id IS NOT NULL")],
                    dtype=np.int64,
                )
            ids, _ = self.index.search(query, k, allowed)  # exactly scored and ranked, also above ann_threshold
            rows = self.records.faces_by_id(ids, self.embedding_size)
        # Scores come from the rows themselves (checksummed), never from the cache alone.
        matches = [
            Match(row.id, float(np.dot(row.vector, query)), row.metadata, row.person)
            for row in (rows.get(int(i)) for i in ids)
            if row is not None
        ]
        matches.sort(key=lambda m: -m.score)
        return matches[:k]

    def get(self, face_id: int) -> FaceRecord:
        rows = self.records.faces_by_id([face_id], self.embedding_size or 0)
        if face_id not in rows:
            raise KeyError(f"{self.path}: no face with id {face_id}")
        return _record(rows[face_id])

    def people(self) -> dict[str, int]:
        """{person name: number of faces}."""
        return dict(self.records.read(
            "SELECT p.name, count(f.id) FROM people p LEFT JOIN faces f ON f.person_id = p.id GROUP BY p.id ORDER BY p.name"
        ))  # fmt: skip

    def __len__(self) -> int:
        with self.records._lock:
            self._sync()
            return 0 if self.index is None else len(self.index)

    @property
    def size(self) -> int:
        return len(self)

    def __iter__(self) -> Iterator[FaceRecord]:
        last = 0
        while True:
            rows = self.records.read(
                f"SELECT {RecordStore.FACE_COLUMNS} WHERE f.id > ? ORDER BY f.id LIMIT 1000", (last,)
            )
            if not rows:
                return
            for row in rows:
                yield _record(self.records.row_to_face(row, self.embedding_size))
            last = rows[-1][0]

    @property
    def metadata(self) -> list[dict]:
        """Every face's metadata in insertion order (uniface 4.x's `FAISS.metadata`)."""
        return [r.metadata for r in self]

    # -- faces in images ----------------------------------------------------------------------

    def _models(self):
        if self.detector is None or self.recognizer is None:
            raise ValueError(
                f"{self.path}: enroll/identify need FaceDatabase(..., detector=SCRFD(...), recognizer=MobileFace(...))"
            )
        return self.detector, self.recognizer

    def enroll(self, person: str, images: Iterable[Any], metadata: dict | None = None) -> list[int]:
        """Add the largest face of each image (paths or BGR arrays) under `person`; all or nothing."""
        from ..indexing.images import embed_faces, load_image

        detector, recognizer = self._models()
        vectors, metas, problems = [], [], []
        for item in images:
            label = str(item) if not isinstance(item, np.ndarray) else f"image #{len(vectors) + len(problems)}"
            image = load_image(item)
            faces = detector.detect(image, max_num=1)
            if not faces:
                problems.append(f"{label}: no face found")
                continue
            vectors.append(embed_faces(recognizer, image, faces)[0])
            metas.append({**(metadata or {}), "source": label})
        if problems:
            raise ValueError(f"{self.path}: not enrolling {person!r}: " + "; ".join(problems))
        if not vectors:
            raise ValueError(f"{self.path}: no images given for {person!r}")
        return self.add_many(np.stack(vectors), metas, person=person)

    def identify(self, image: Any, threshold: float = DEFAULT_THRESHOLD) -> list[tuple[Any, str | None, float]]:
        """Every face in `image` with the best-matching enrolled person (None below `threshold`) and the score."""
        from ..indexing.images import embed_faces, load_image

        detector, recognizer = self._models()
        image = load_image(image)
        faces = detector.detect(image)
        if not faces:
            return []
        out = []
        for face, vector in zip(faces, embed_faces(recognizer, image, faces)):
            matches = self.search(vector, threshold=-1.0, k=1, people_only=True)
            if matches and matches[0].score > threshold:
                out.append((face, matches[0].person, matches[0].score))
            else:
                out.append((face, None, matches[0].score if matches else 0.0))
        return out

    # -- persistence (uniface 4.x) ------------------------------------------------------------

    def save(self) -> None:
        """Every write is already durable; this checkpoints the WAL and writes the search index cache (4.x API)."""
        with self.records._lock:
            self._sync()
            if self.records.read_only:
                return
            self.records.read("PRAGMA wal_checkpoint(PASSIVE)")
            if self.index is not None and self.index.ann is not None:
                self._save_cache(self.index)

    def load(self) -> bool:
        """Re-read the database (4.x API); True when it existed before or holds faces."""
        self.refresh()
        return self._existed or len(self) > 0

    def close(self) -> None:
        self.records.close()

    def __enter__(self) -> FaceDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={str(self.path)!r}, embedding_size={self.embedding_size}, "
            f"faces={len(self) if self.index is not None else 0}, model={self.model_name or None})"
        )


def _record(row: FaceRow) -> FaceRecord:
    return FaceRecord(row.id, row.person, row.metadata, row.vector.copy())


def _int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)


__all__ = ["CorruptDatabaseError", "FaceDatabase", "FaceRecord", "Match", "StoreError", "resolve_db_path"]
