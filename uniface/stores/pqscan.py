"""The search index of large collections: a scan of 4-bit product-quantized codes, re-ranked exactly.

Why a scan and not a graph (HNSW) or clusters (IVF): on embeddings without
cluster structure (random unit vectors, the benchmark's worst case) the true
10 nearest neighbours are only ~4 standard deviations above the rest, so a
graph or cluster index must visit a large part of the collection to reach
recall@10 0.98, and a 1M-vector HNSW graph takes hours to build on 2 cores.
This tier reads every vector, but as 4-bit codes (one per 3 dimensions: 1/24
of the float32 bytes) compared with SIMD lookup tables (faiss fast-scan), and
re-scores its best `candidates` in place from the exact vectors. Its time is
the code bytes over memory bandwidth, plus keeping and re-ranking the
candidates (measured in docs/pipeline.md). The codes are split into shards,
one thread each, so one query uses every core.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

# One 4-bit code per 3 dimensions (1.33 bits per dimension): codes per 2 dimensions scanned 45% more bytes for the same
# recall; per 4 (at 512-d: 64 bytes a vector instead of 86) needed ~3x the candidates, and keeping and re-ranking them
# cost more than the bytes saved: 6.6 ms against 5.9 at recall@10 0.988, 1M x 512-d, 2 shards (docs/pipeline.md).
DIMS_PER_CODE = 3
CODE_BITS = 4  # fast-scan's SIMD lookup tables need 4-bit codes
TRAIN_SAMPLE = 16_384  # codebook training (faiss's k-means samples 256 points per centroid, 4096, anyway)
PARALLEL_ENCODE_FROM = 50_000  # vectors added at once; fewer are encoded on one OpenMP thread (see omp_threads)
SHARD_OVERFETCH = 1.1  # each of S shards returns 1.1 x candidates / S, so their union covers the global best


def faiss_module():
    os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")  # faiss and another library may both bundle libomp
    import faiss

    return faiss


@contextmanager
def omp_threads(count: int) -> Iterator[None]:
    """faiss's OpenMP team size for this thread within the block. Small jobs (codebook training on <= 16k vectors,
    adding a few faces) run on one: a team of two waiting for a busy core took 25 s instead of 0.7 s to train 3,000
    512-d vectors on this shared 2-core machine."""
    faiss = faiss_module()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def default_threads() -> int:
    """The cores this process may run on (capped at 8: smaller shards gain nothing from more threads)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor(threads: int) -> ThreadPoolExecutor:
    """One process-wide pool; re-created after a fork (a forked child inherits the pool but not its threads)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1]._max_workers < threads:
        _pool = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="uniface-search"))
    return _pool[1]


class PQScan:
    """Codes of the collection's vectors in `shards` faiss `IndexPQFastScan`s; `rows[s][position]` is the row of
    the exact vector in the caller's matrix (-1 once deleted: a tombstone, since packed codes cannot be removed)."""

    def __init__(self, dim: int, shards: int):
        self.dim = dim
        self.per_code = DIMS_PER_CODE
        m = -(-dim // self.per_code)
        self.m = m + m % 2  # codes are packed in pairs: an odd count would leave a nibble unused
        self.padded_dim = self.m * self.per_code  # zero-padded to whole subspaces
        self.shards: list = []
        self.rows: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(shards)]
        self._size = [0] * shards
        self.dead = 0  # tombstones
        self.shard_cpu = [0.0] * shards  # CPU seconds each shard's thread spent on the last query (benchmarks)

    @property
    def ntotal(self) -> int:
        return sum(self._size)

    def _pad(self, vectors: np.ndarray) -> np.ndarray:
        if self.padded_dim == self.dim:
            return np.ascontiguousarray(vectors, dtype=np.float32)
        out = np.zeros((len(vectors), self.padded_dim), dtype=np.float32)
        out[:, : self.dim] = vectors
        return out

    def train(self, sample: np.ndarray) -> None:
        faiss = faiss_module()
        if len(sample) < 256:  # k-means needs more points than its 16 centroids; tiny collections re-rank all anyway
            extra = np.random.default_rng(len(sample)).standard_normal((256 - len(sample), self.dim), dtype=np.float32)
            sample = np.concatenate([sample, extra / np.linalg.norm(extra, axis=1, keepdims=True)])
        base = faiss.IndexPQFastScan(self.padded_dim, self.m, CODE_BITS, faiss.METRIC_INNER_PRODUCT)
        base.pq.cp.min_points_per_centroid = 1  # small collections train on what they have (no warning)
        with omp_threads(1):
            base.train(self._pad(sample))
        self.shards = [faiss.clone_index(base) for _ in self.rows]

    def add(self, vectors: np.ndarray, rows: np.ndarray) -> None:
        """Encode `vectors` (exact copies live at `rows`); round-robin over shards keeps them within one of equal."""
        count = len(self.shards)
        first = self.ntotal
        for s, shard in enumerate(self.shards):
            part = slice((s - first) % count, None, count)
            new_rows = rows[part]
            if len(new_rows):
                with omp_threads(faiss_module().omp_get_max_threads() if len(new_rows) >= PARALLEL_ENCODE_FROM else 1):
                    shard.add(self._pad(vectors[part]))
                self.rows[s] = _append(self.rows[s], self._size[s], new_rows)
                self._size[s] += len(new_rows)

    def remap(self, new_row_of_old: np.ndarray) -> None:
        """The caller compacted its matrix: old row r is now `new_row_of_old[r]` (-1: deleted)."""
        self.dead = 0
        for s, n in enumerate(self._size):
            rows = self.rows[s][:n]
            live = rows >= 0
            rows[live] = new_row_of_old[rows[live]]
            self.dead += int((rows < 0).sum())

    def search(self, query: np.ndarray, vectors: np.ndarray, candidates: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (rows, exact scores) best first: each shard's best codes, re-scored from `vectors`."""
        padded = self._pad(query[None])
        alive = max(1, self.ntotal - self.dead)
        share = candidates * (SHARD_OVERFETCH if len(self.shards) > 1 else 1.0) / len(self.shards)
        per_shard = int(np.ceil(share * self.ntotal / alive))  # tombstones take candidate slots: ask for more

        def one(s: int) -> tuple[np.ndarray, np.ndarray]:
            started = time.thread_time()
            rows = np.empty(0, dtype=np.int64)
            if self._size[s]:
                _, pos = self.shards[s].search(padded, min(per_shard, self._size[s]))
                rows = self.rows[s][pos[0][pos[0] >= 0]]
                rows = rows[rows >= 0]
            best = exact_top_k(vectors, rows, query, k)
            self.shard_cpu[s] = time.thread_time() - started
            return best

        if len(self.shards) == 1:
            parts = [one(0)]
        else:
            parts = list(_executor(len(self.shards)).map(one, range(len(self.shards))))
        return top_k(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), k)

    # -- bytes (the cache file's payload) -------------------------------------------------------

    def to_bytes(self, label: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> bytes:
        """Per shard: (face id, fingerprint) of every position, from `label(rows)`, then the faiss index."""
        faiss = faiss_module()
        out = [struct.pack("<IIII", self.dim, self.m, self.per_code, len(self.shards))]
        for s, shard in enumerate(self.shards):
            ids, prints = label(self.rows[s][: self._size[s]])
            blob = faiss.serialize_index(shard).tobytes()
            out += [struct.pack("<QQ", self._size[s], len(blob)), ids.astype("<i8").tobytes(),
                    prints.astype("<u8").tobytes(), blob]  # fmt: skip
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: memoryview, dim: int) -> tuple[PQScan, list[tuple[np.ndarray, np.ndarray]]] | None:
        """The index and each shard's (face ids, fingerprints), or None if the bytes are not such an index for `dim`
        (the caller has already checked their CRC); rows are left for the caller to fill in."""
        faiss = faiss_module()
        if len(data) < 16:
            return None
        d, m, per_code, shards = struct.unpack_from("<IIII", data, 0)
        if (d, per_code) != (dim, DIMS_PER_CODE) or not 1 <= shards <= 64:
            return None
        scan = cls(dim, shards)
        if m != scan.m:
            return None
        offset, labels = 16, []
        for _ in range(shards):
            if len(data) < offset + 16:
                return None
            n, n_blob = struct.unpack_from("<QQ", data, offset)
            offset += 16
            if len(data) < offset + 16 * n + n_blob:
                return None
            ids = np.frombuffer(data, dtype="<i8", count=n, offset=offset).astype(np.int64)
            prints = np.frombuffer(data, dtype="<u8", count=n, offset=offset + 8 * n).astype(np.uint64)
            offset += 16 * n
            try:
                shard = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8, count=n_blob, offset=offset))
            except RuntimeError:
                return None
            offset += n_blob
            if not isinstance(shard, faiss.IndexPQFastScan) or shard.d != scan.padded_dim or shard.ntotal != n:
                return None
            if shard.pq.M != scan.m or shard.pq.nbits != CODE_BITS or shard.metric_type != faiss.METRIC_INNER_PRODUCT:
                return None
            scan.shards.append(shard)
            labels.append((ids, prints))
        if offset != len(data):
            return None
        scan._size = [len(ids) for ids, _ in labels]
        scan.rows = [np.full(n, -1, dtype=np.int64) for n in scan._size]
        return scan, labels


def fingerprints(vectors: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each vector's bytes: the sum of its 32-bit words times fixed odd multipliers (mod 2^64), so
    any change to one word changes it. The cache file keeps one per code, to be compared with SQLite's vectors."""
    words = np.ascontiguousarray(vectors, dtype="<f4").view("<u4")
    multipliers = np.random.default_rng(0x55464442).integers(0, 2**63, size=words.shape[1], dtype=np.uint64) * 2 + 1
    out = np.empty(len(words), dtype=np.uint64)
    for start in range(0, len(words), 8192):
        chunk = words[start : start + 8192].astype(np.uint64)
        out[start : start + len(chunk)] = (chunk * multipliers).sum(axis=1, dtype=np.uint64)
    return out


def exact_top_k(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (rows, scores) best first among `rows` of `vectors` by inner product with `query`. faiss reads each row
    in place (numpy's `vectors[rows] @ query` copies the rows first: ~3.5x slower at 2,000 rows of 512-d)."""
    faiss = faiss_module()
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    k = min(k, len(rows))
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if not (vectors.flags.c_contiguous and vectors.dtype == np.float32) or rows.min() < 0 or rows.max() >= len(vectors):
        raise ValueError("exact_top_k needs a C-contiguous float32 matrix and rows inside it")
    query = np.ascontiguousarray(query, dtype=np.float32)
    scores, found = np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int64)
    faiss.knn_inner_products_by_idx(faiss.swig_ptr(query), faiss.swig_ptr(vectors), faiss.swig_ptr(rows),
                                    vectors.shape[1], 1, len(vectors), len(rows), k, faiss.swig_ptr(scores),
                                    faiss.swig_ptr(found), len(rows))  # fmt: skip
    return top_k(found, scores, k)


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order].astype(np.float32)


def _append(array: np.ndarray, used: int, values: np.ndarray) -> np.ndarray:
    """`array[:used] + values`, growing the buffer geometrically (one add at a time stays O(1) amortized)."""
    need = used + len(values)
    if need > len(array):
        grown = np.empty(max(need, 2 * len(array), 1024), dtype=array.dtype)
        grown[:used] = array[:used]
        array = grown
    array[used:need] = values
    return array
