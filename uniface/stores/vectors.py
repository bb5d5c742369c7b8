"""In-memory search over the database's vectors: exact (numpy) for small collections, a compressed scan above.

This is a cache of the SQLite rows, keyed by face id. Exact search is a
matrix-vector product; once the collection reaches `ann_threshold` vectors a
scan of 4-bit codes (pqscan.py) picks `candidates`, re-scored here from the
exact vectors, and callers re-score the final matches against the rows in
SQLite, so what is reported always comes from the source of truth. Deleted
faces stay among the codes as tombstones and are skipped; the codes are
rebuilt when tombstones pass a fifth of them. The codes can be saved beside
the database (`<db>.index`) and are reused on open only after the
fingerprint of every vector they encode has been compared with SQLite's.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .pqscan import TRAIN_SAMPLE, PQScan, default_threads, fingerprints, top_k

# Measured in tools/bench_pipeline.py (docs/pipeline.md, 'Where exact search stops'): the collection size (at 128-d
# and 512-d) where the compressed scan, whose cost is mostly re-ranking a fixed number of candidates, becomes faster
# than the exact scan of n x d floats (which stays in cache longer at small d); interpolated in between.
MEASURED_CROSSOVER = ((128, 50_000), (512, 10_000))
# Re-ranked exactly, by embedding size (interpolated in between): recall@10 ~0.99 at 1M random vectors, 2 shards
# (128-d: 2,000 gave 0.97; 512-d: 2,000 gave 0.98 and 4,000 0.994 for 0.2 ms more) (docs/pipeline.md).
MEASURED_CANDIDATES = ((128, 4000), (512, 3000))
_CACHE_MAGIC = b"UFPQFS01"


def default_candidates(dim: int) -> int:
    dims, counts = zip(*MEASURED_CANDIDATES)
    return int(np.interp(dim, dims, counts))


def default_ann_threshold(dim: int) -> int:
    dims, sizes = zip(*MEASURED_CROSSOVER)
    return int(np.interp(dim, dims, sizes))


class VectorIndex:
    """Face ids and unit vectors; `search` returns (ids, scores) best first.

    `candidates` is how many codes the compressed scan hands to the exact re-ranking (recall for time);
    `threads` how many shards, one thread each, a query scans in parallel (default: this process's cores).
    """

    def __init__(
        self,
        dim: int,
        ann_threshold: int | None = None,
        candidates: int | None = None,
        threads: int | None = None,
    ):
        self.dim = dim
        self.ann_threshold = default_ann_threshold(dim) if ann_threshold is None else int(ann_threshold)
        self.candidates = default_candidates(dim) if candidates is None else int(candidates)
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self._ids = np.empty(0, dtype=np.int64)
        self._vecs = np.empty((0, dim), dtype=np.float32)
        self._n = 0
        self._row: dict[int, int] = {}
        self.ann: PQScan | None = None  # the compressed scan, once the collection is large

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
        first, need = self._n, self._n + len(ids)
        if need > len(self._ids):
            cap = max(need, 2 * len(self._ids), 1024)
            grown_ids = np.empty(cap, dtype=np.int64)
            grown = np.empty((cap, self.dim), dtype=np.float32)
            grown_ids[: self._n], grown[: self._n] = self._ids[: self._n], self._vecs[: self._n]
            self._ids, self._vecs = grown_ids, grown
        self._ids[first:need] = ids
        self._vecs[first:need] = vectors
        self._row.update(zip(ids.tolist(), range(first, need)))
        self._n = need
        if self.ann is not None:
            self.ann.add(vectors, np.arange(first, need))
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
        self._row = dict(zip(self._ids[:n].tolist(), range(n)))
        if self.ann is not None:
            new_row = np.full(len(keep), -1, dtype=np.int64)
            new_row[keep] = np.arange(n)
            self.ann.remap(new_row)
            if self._n < self.ann_threshold // 2:
                self.ann = None
            elif self.ann.dead > self.ann.ntotal // 5:
                self.build_ann()

    def build_ann(self) -> None:
        """Train the codebooks on a sample of the vectors and encode them all."""
        ann = PQScan(self.dim, self.threads)
        sample = np.random.default_rng(self._n).choice(self._n, min(self._n, TRAIN_SAMPLE), replace=False)
        ann.train(self._vecs[np.sort(sample)])
        if self._n:
            ann.add(self._vecs[: self._n], np.arange(self._n))
        self.ann = ann

    # -- search -------------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) for one unit query; `allowed` restricts to those face ids (exact over them)."""
        if self._n == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if allowed is not None:
            rows = np.array([self._row[int(i)] for i in allowed if int(i) in self._row], dtype=np.int64)
            return top_k(self._ids[rows], self._vecs[rows] @ query, k)
        if self.ann is None:
            return top_k(self.ids, self._vecs[: self._n] @ query, k)
        rows, scores = self.ann.search(query, self._vecs, max(self.candidates, k), k)
        return self._ids[rows], scores

    # -- the cache file -----------------------------------------------------------------------

    def _label(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(face id, fingerprint) of each code position; (-1, 0) for tombstones."""
        live = rows >= 0
        ids = np.full(len(rows), -1, dtype=np.int64)
        prints = np.zeros(len(rows), dtype=np.uint64)
        ids[live] = self._ids[rows[live]]
        prints[live] = fingerprints(self._vecs[rows[live]])
        return ids, prints

    def save_ann(self, path: Path, uuid: str) -> None:
        """Write the codes, their face ids and fingerprints to `path` (temp file, fsync, rename)."""
        if self.ann is None:
            return
        payload = self.ann.to_bytes(self._label)
        header = _CACHE_MAGIC + uuid.encode().ljust(32, b"\0") + struct.pack("<QI", len(payload), zlib.crc32(payload))
        _remove_stale_temp_files(path)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(header)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load_ann(self, path: Path, uuid: str) -> bool:
        """Adopt saved codes if they belong to this database, pass their CRC-32, and the fingerprint of every vector
        they encode equals that of SQLite's vector with the same face id.

        Faces added since they were saved are encoded now; faces deleted since become tombstones.
        """
        try:
            data = memoryview(path.read_bytes())
        except OSError:
            return False
        head = len(_CACHE_MAGIC) + 32 + 12
        owner = bytes(data[8:40]).rstrip(b"\0").decode(errors="replace")
        if len(data) < head or data[:8] != _CACHE_MAGIC or owner != uuid:
            return False
        n_payload, crc = struct.unpack("<QI", data[40:head])
        payload = data[head:]
        if len(payload) != n_payload or zlib.crc32(payload) != crc:
            return False  # truncated or damaged: never hand faiss bytes that fail their checksum
        loaded = PQScan.from_bytes(payload, self.dim)
        if loaded is None:
            return False
        ann, labels = loaded
        covered: set[int] = set()
        for s, (ids, prints) in enumerate(labels):
            rows = np.array([self._row.get(i, -1) for i in ids.tolist()], dtype=np.int64)
            live = rows >= 0
            if not np.array_equal(prints[live], fingerprints(self._vecs[rows[live]])):
                return False
            ann.rows[s] = rows
            covered.update(ids[live].tolist())
            if len(covered) != sum(int((r >= 0).sum()) for r in ann.rows[: s + 1]):
                return False  # a face coded twice
        ann.dead = sum(int((rows < 0).sum()) for rows in ann.rows)
        self.ann = ann
        missing = np.array([r for r, i in enumerate(self.ids.tolist()) if i not in covered], dtype=np.int64)
        if len(missing):
            ann.add(self._vecs[missing], missing)
        if ann.dead > ann.ntotal // 5:
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
