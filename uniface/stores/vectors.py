"""In-memory search over the database's vectors: exact (numpy) for small collections, HNSW (faiss) above.

This is a cache of the SQLite rows, keyed by face id. Exact search is a
matrix-vector product; once the collection reaches `ann_threshold` vectors a
faiss HNSW graph takes over, and callers re-score its candidates against the
rows in SQLite, so what is reported always comes from the source of truth.
Deleted faces stay in the graph as tombstones (HNSW cannot unlink nodes)
and are filtered out; the graph is rebuilt when they pass a fifth of it.
The graph can be saved beside the database (`<db>.hnsw`) and is reused on
open only after every vector in it has been compared with SQLite's.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

# Measured in tools/bench_pipeline.py (docs/pipeline.md): at 100k x 128-d an exact scan takes ~5 ms on one core
# with recall 1, while HNSW needs about as long for recall@10 >= 0.98 on random vectors; beyond that the scan
# grows linearly and HNSW does not. Scaled by dimension, since the exact scan costs n * d.
DEFAULT_ANN_THRESHOLD_128D = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 512  # recall first: 0.96 at 100k random 128-d vectors (0.83 at 256), ~4 ms; clustered data does better
_CACHE_MAGIC = b"UFHNSW02"


def default_ann_threshold(dim: int) -> int:
    return max(1000, DEFAULT_ANN_THRESHOLD_128D * 128 // max(dim, 1))


def _faiss():
    os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")  # faiss and another library may both bundle libomp
    import faiss

    return faiss


class VectorIndex:
    """Face ids and unit vectors; `search` returns (ids, scores) best first."""

    def __init__(self, dim: int, ann_threshold: int | None = None, ef_search: int = HNSW_EF_SEARCH):
        self.dim = dim
        self.ann_threshold = default_ann_threshold(dim) if ann_threshold is None else int(ann_threshold)
        self.ef_search = ef_search
        self._ids = np.empty(0, dtype=np.int64)
        self._vecs = np.empty((0, dim), dtype=np.float32)
        self._n = 0
        self._row: dict[int, int] = {}
        self.ann = None  # faiss IndexHNSWFlat once the collection is large
        self._ann_ids = np.empty(0, dtype=np.int64)  # graph position -> face id
        self._dead: set[int] = set()  # face ids deleted but still in the graph

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
            self._ann_add(ids, vectors)
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
            self._dead |= drop
            if self._n < self.ann_threshold // 2:
                self.ann, self._ann_ids, self._dead = None, np.empty(0, dtype=np.int64), set()
            elif len(self._dead) > self.ann.ntotal // 5:
                self.build_ann()

    def _ann_add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ann.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._ann_ids = np.concatenate([self._ann_ids, ids])

    def build_ann(self) -> None:
        faiss = _faiss()
        ann = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        ann.hnsw.efSearch = self.ef_search
        self.ann, self._ann_ids, self._dead = ann, np.empty(0, dtype=np.int64), set()
        if self._n:
            self._ann_add(self.ids.copy(), self._vecs[: self._n])

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
        want = min(k, self._n)
        scores, pos = self.ann.search(query.reshape(1, -1), min(want + len(self._dead), self.ann.ntotal))
        pos, scores = pos[0], scores[0]
        ok = pos >= 0
        ids = self._ann_ids[pos[ok]]
        alive = np.array([int(i) not in self._dead for i in ids], dtype=bool)
        return ids[alive][:want], scores[ok][alive][:want].astype(np.float32)

    # -- HNSW cache file ----------------------------------------------------------------------

    def save_ann(self, path: Path, uuid: str) -> None:
        """Write the graph and its face ids to `path` (temp file, fsync, rename)."""
        if self.ann is None:
            return
        blob = _faiss().serialize_index(self.ann).tobytes()
        ids = self._ann_ids.astype("<i8").tobytes()
        header = uuid.encode().ljust(32, b"\0")
        crc = zlib.crc32(blob, zlib.crc32(ids))
        _remove_stale_temp_files(path)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(_CACHE_MAGIC + header + struct.pack("<QQI", len(self._ann_ids), len(blob), crc))
            fh.write(ids)
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load_ann(self, path: Path, uuid: str) -> bool:
        """Adopt a saved graph if it belongs to this database, passes its CRC-32, and every vector in it
        equals SQLite's.

        Faces added since it was saved are added to it; faces deleted since become tombstones.
        """
        try:
            data = path.read_bytes()
        except OSError:
            return False
        head = len(_CACHE_MAGIC) + 32 + 20
        if len(data) < head or data[:8] != _CACHE_MAGIC or data[8:40].rstrip(b"\0").decode(errors="replace") != uuid:
            return False
        n_ids, n_blob, crc = struct.unpack("<QQI", data[40:head])
        if len(data) != head + 8 * n_ids + n_blob or zlib.crc32(memoryview(data)[head:]) != crc:
            return False  # truncated or damaged: a bad graph link could even crash faiss, so never load it
        ann_ids = np.frombuffer(data, dtype="<i8", count=n_ids, offset=head).astype(np.int64)
        faiss = _faiss()
        try:
            ann = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8, offset=head + 8 * n_ids))
        except RuntimeError:
            return False
        if ann.d != self.dim or ann.ntotal != n_ids or not isinstance(ann, faiss.IndexHNSWFlat):
            return False
        stored = faiss.rev_swig_ptr(faiss.downcast_index(ann.storage).get_xb(), ann.ntotal * self.dim)
        stored = np.asarray(stored).reshape(ann.ntotal, self.dim)
        live = np.array([int(i) in self._row for i in ann_ids], dtype=bool)
        if not np.array_equal(stored[live], self.vectors_of(ann_ids[live])):
            return False
        ann.hnsw.efSearch = self.ef_search
        self.ann, self._ann_ids = ann, ann_ids
        self._dead = {int(i) for i in ann_ids[~live]}
        missing = np.array([i for i in self.ids.tolist() if i not in set(ann_ids.tolist())], dtype=np.int64)
        if len(missing):
            self._ann_add(missing, self.vectors_of(missing))
        if len(self._dead) > self.ann.ntotal // 5:
            self.build_ann()
        return True


def _remove_stale_temp_files(path: Path) -> None:
    """Temp files of saves that were killed midway (their writer process is gone)."""
    for stale in path.parent.glob(f"{path.name}.*.tmp"):
        pid = stale.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order].astype(np.float32)
