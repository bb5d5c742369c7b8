"""In-memory search over the database's vectors: exact (numpy) for small collections, usearch HNSW above.

This is a cache of the SQLite rows, keyed by face id. Exact search is a
matrix-vector product; once the collection reaches `ann_threshold` vectors an
HNSW index (usearch) takes over, and callers re-score its candidates against
the rows in SQLite, so what is reported always comes from the source of truth.
The HNSW graph can be saved beside the database (`save_ann`) and reused on
open only if its stamp (database uuid, max id, count, removals) still matches.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

# Measured in tools/bench_pipeline.py (docs/pipeline.md): below this many vectors exact search is faster than
# HNSW at the recall we require, above it HNSW wins. Scaled by dimension: the exact scan costs n * d.
DEFAULT_ANN_THRESHOLD_128D = 50_000
HNSW_CONNECTIVITY = 32
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 200


def default_ann_threshold(dim: int) -> int:
    return max(1000, DEFAULT_ANN_THRESHOLD_128D * 128 // max(dim, 1))


def _usearch():
    from usearch.index import Index

    return Index


class VectorIndex:
    """Face ids and unit vectors; `search` returns (ids, scores) best first."""

    def __init__(self, dim: int, ann_threshold: int | None = None, expansion_search: int = HNSW_EXPANSION_SEARCH):
        self.dim = dim
        self.ann_threshold = default_ann_threshold(dim) if ann_threshold is None else int(ann_threshold)
        self.expansion_search = expansion_search
        self._ids = np.empty(0, dtype=np.int64)
        self._vecs = np.empty((0, dim), dtype=np.float32)
        self._n = 0
        self._row: dict[int, int] = {}
        self.ann = None  # usearch Index once the collection is large

    def __len__(self) -> int:
        return self._n

    def __contains__(self, face_id: int) -> bool:
        return int(face_id) in self._row

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._n]

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        return self._vecs[[self._row[int(i)] for i in ids]]

    # -- changes ------------------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray, build_ann: bool = True) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        keep = np.array([int(i) not in self._row for i in ids], dtype=bool)
        ids, vectors = ids[keep], np.asarray(vectors, dtype=np.float32)[keep]
        if not len(ids):
            return
        need = self._n + len(ids)
        if need > len(self._ids):
            cap = max(need, 2 * len(self._ids), 1024)
            grown_ids = np.empty(cap, dtype=np.int64)
            grown = np.empty((cap, self.dim), dtype=np.float32)
            grown_ids[: self._n], grown[: self._n] = self._ids[: self._n], self._vecs[: self._n]
            self._ids, self._vecs = grown_ids, grown
        self._ids[self._n : need] = ids
        self._vecs[self._n : need] = vectors
        for offset, face_id in enumerate(ids.tolist()):
            self._row[face_id] = self._n + offset
        self._n = need
        if self.ann is not None:
            self.ann.add(ids, vectors, threads=0)
        elif build_ann and self._n >= self.ann_threshold:
            self.build_ann()

    def remove(self, ids: np.ndarray) -> None:
        drop = {int(i) for i in ids} & self._row.keys()
        if not drop:
            return
        keep = np.array([int(i) not in drop for i in self.ids], dtype=bool)
        n = int(keep.sum())
        self._ids[:n], self._vecs[:n] = self.ids[keep], self._vecs[: self._n][keep]
        self._n = n
        self._row = {int(i): r for r, i in enumerate(self._ids[:n].tolist())}
        if self.ann is not None:
            for face_id in drop:
                self.ann.remove(face_id)
            if self._n < self.ann_threshold // 2:
                self.ann = None

    def build_ann(self) -> None:
        Index = _usearch()
        ann = Index(
            ndim=self.dim,
            metric="ip",
            dtype="f32",
            connectivity=HNSW_CONNECTIVITY,
            expansion_add=HNSW_EXPANSION_ADD,
            expansion_search=self.expansion_search,
        )
        if self._n:
            ann.add(self.ids.copy(), self._vecs[: self._n], threads=0)
        self.ann = ann

    # -- search -------------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) for one unit query; `allowed` restricts to those face ids (exact over them)."""
        if self._n == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if allowed is not None:
            rows = np.array([self._row[int(i)] for i in allowed if int(i) in self._row], dtype=np.int64)
            return _top_k(self._ids[rows], self._vecs[rows] @ query, k)
        if self.ann is None:
            return _top_k(self.ids, self._vecs[: self._n] @ query, k)
        found = self.ann.search(query, min(k, self._n))
        return np.asarray(found.keys, dtype=np.int64), 1.0 - np.asarray(found.distances, dtype=np.float32)

    # -- ANN cache file -----------------------------------------------------------------------

    def save_ann(self, db_path: Path, stamp_text: str) -> Path | None:
        """Write the HNSW graph to `<db>.<stamp>.usearch` (temp file, fsync, rename); drop older caches."""
        if self.ann is None:
            return None
        target = db_path.with_name(f"{db_path.name}.{stamp_text}.usearch")
        tmp = target.with_name(target.name + ".tmp")
        self.ann.save(str(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        for old in ann_cache_files(db_path):
            if old != target:
                old.unlink(missing_ok=True)
        return target

    def load_ann(self, path: Path) -> bool:
        """Adopt a saved graph; the caller has checked its stamp and spot-checks its vectors."""
        Index = _usearch()
        try:
            ann = Index.restore(str(path), view=False)
        except Exception:  # a damaged cache is not an error: it is rebuilt from SQLite
            return False
        if ann is None or ann.ndim != self.dim or len(ann) != self._n:
            return False
        ann.expansion_search = self.expansion_search
        self.ann = ann
        return True


_CACHE_RE = re.compile(r"\.([0-9a-f]{16})-(\d+)-(\d+)-(\d+)\.usearch$")


def ann_cache_files(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob(f"{db_path.name}.*.usearch*"))


def parse_cache_stamp(path: Path) -> tuple[str, int, int, int] | None:
    match = _CACHE_RE.search(path.name)
    if match is None:
        return None
    uuid, max_id, count, removals = match.groups()
    return uuid, int(max_id), int(count), int(removals)


def _top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order].astype(np.float32)
