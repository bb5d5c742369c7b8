"""The search part of tools/bench_pipeline.py: single-query latency and recall@10 of the face database's index tiers.

Every row is one (data, n, d, method, setting, threads) point: wall p50/p99, the CPU time of the query's critical
path (the calling thread plus the slowest shard thread: the latency on idle cores), the total CPU time, recall@10
against the exact top-10, build time and index memory. Data is random unit vectors (no cluster structure: the
worst case for every approximate index) or clustered "face-like" vectors (identities x noisy embeddings).

- main: numpy brute force, faiss IndexFlatIP, faiss/usearch HNSW (up to --hnsw-max), the store's compressed scan
  (PQ fast-scan + exact re-ranking, 1 and 2 threads, several candidate counts) and `FaceDatabase.search` itself.
- threshold: exact vs compressed scan at small n (where the store switches).
- clustered: the scan and brute force on identities x 10 noisy embeddings.
- alternatives: the other indexes measured to choose the scan (IVF, RaBitQ, scalar quantizers, binary codes,
  PQ with other code widths), 1M vectors, one thread, each followed by the same exact re-ranking.
- hnsw-variants: HNSW with other M / efConstruction (at --hnsw-max).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

QUERIES = 200
STORE_ROUNDS = 3  # the headline (FaceDatabase at 1M) is measured this many times; rows give the median round
EXACT_QUERIES = 50  # brute force at 1M x 512 is ~0.2 s a query
SCAN_CANDIDATES = (1000, 2000, 4000, 8000)  # and the store's default for the dimension (scan_candidates)
CLUSTER_SIZE = 10  # embeddings per identity in the clustered data
CLUSTER_COSINE = 0.6  # mean cosine of two embeddings of one identity (real recognizers: ~0.5-0.8)


# -- data -------------------------------------------------------------------------------------


def unit_vectors(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), d), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def clustered_vectors(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n embeddings of n / CLUSTER_SIZE identities, and QUERIES new embeddings of random identities among them.
    Each is its identity's random unit center plus isotropic noise sized so that two embeddings of one identity
    have cosine ~CLUSTER_COSINE."""
    noise = np.sqrt(1 / CLUSTER_COSINE - 1)
    centers = unit_vectors(n // CLUSTER_SIZE, d, seed)
    rng = np.random.default_rng(seed + 1)

    def sample(who: np.ndarray) -> np.ndarray:
        v = centers[who] + noise * rng.standard_normal((len(who), d), dtype=np.float32) / np.sqrt(d)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    data = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        data[start : start + 100_000] = sample(np.arange(start, min(n, start + 100_000)) // CLUSTER_SIZE)
    return data, sample(rng.integers(0, len(centers), QUERIES)).astype(np.float32)


def exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), 10), dtype=np.int64)
    for i in range(0, len(queries), 20):
        scores = queries[i : i + 20] @ data.T
        part = np.argpartition(-scores, 9, axis=1)[:, :10]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        out[i : i + 20] = np.take_along_axis(part, order, 1)
    return out


# -- measuring --------------------------------------------------------------------------------


def measure(search: Callable, queries: np.ndarray, truth: np.ndarray, shard_cpu: Callable | None = None) -> dict:
    """Latency percentiles (ms) and recall@10 of `search(query) -> ids`. CPU: the calling thread's time plus, when
    the query ran on shard threads, the slowest shard's (`shard_cpu()`): what the latency would be on idle cores.
    The wall time adds the waits for a core on this shared machine."""
    for q in queries[:3]:
        search(q)
    wall, crit, total, hits = [], [], [], 0
    for q, t in zip(queries, truth):
        w, c, tc = time.perf_counter(), time.process_time(), time.thread_time()
        found = search(q)
        tc = time.thread_time() - tc
        total.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
        crit.append(tc + (shard_cpu() if shard_cpu else 0.0))
        hits += len(set(np.asarray(found)[:10].tolist()) & set(t.tolist()))
    ms = {k: np.array(v) * 1e3 for k, v in (("wall", wall), ("crit", crit), ("total", total))}
    return {
        "p50_ms": float(np.percentile(ms["wall"], 50)), "p99_ms": float(np.percentile(ms["wall"], 99)),
        "cpu_p50_ms": float(np.percentile(ms["crit"], 50)), "cpu_p99_ms": float(np.percentile(ms["crit"], 99)),
        "cpu_total_p50_ms": float(np.percentile(ms["total"], 50)), "recall10": hits / (10 * len(queries)),
        "queries": len(queries),
    }  # fmt: skip


def row(base: dict, method: str, setting: str, threads: int, stats: dict, **extra) -> dict:
    out = {**base, "method": method, "setting": setting, "threads": threads, **stats, **extra}
    print(json.dumps(out), flush=True)
    return out


def rerank(data: np.ndarray, q: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The exact top-10 among `candidates` (the re-ranking every compressed index below is followed by)."""
    candidates = candidates[candidates >= 0]
    scores = data[candidates] @ q
    part = np.argpartition(-scores, 9)[:10] if len(scores) > 10 else np.arange(len(scores))
    return candidates[part[np.argsort(-scores[part])]]


def faiss_threads(threads: int = 1):
    """faiss with `threads` OpenMP threads: every core to build, one to answer a single query (faiss does not split
    one query over threads; an idle OpenMP team only waits for cores on this shared machine)."""
    from uniface.stores.pqscan import faiss_module

    faiss = faiss_module()
    faiss.omp_set_num_threads(threads)
    return faiss


# -- the store's tiers ----------------------------------------------------------------------------


def scan_candidates(d: int) -> list[int]:
    """The sweep of candidate counts, with the store's default for `d` among them."""
    from uniface.stores.vectors import default_candidates

    return sorted({*SCAN_CANDIDATES, default_candidates(d)})


def scan_index(data: np.ndarray, threads: int):
    """A VectorIndex with the compressed scan forced on; ids are row numbers + 1 (as in a fresh database)."""
    from uniface.stores.vectors import VectorIndex

    index = VectorIndex(data.shape[1], ann_threshold=len(data) + 1, threads=threads)
    index.add(np.arange(1, len(data) + 1), data, build_ann=False)
    started = time.perf_counter()
    index.build_ann()
    return index, time.perf_counter() - started


def scan_memory_mb(index) -> float:
    """Codes, positions and the per-shard row map (the exact vectors are the store's own matrix, not counted)."""
    ann = index.ann
    return (ann.ntotal * (-(-ann.m // 2)) + 8 * ann.ntotal) / 1e6


def scan_rows(base, index, build_s, queries, truth, candidates, method="compressed scan (VectorIndex)") -> list[dict]:
    out = []
    for c in candidates:
        index.candidates = c
        stats = measure(lambda q: index.search(q, 10)[0] - 1, queries, truth, lambda: shard_cpu(index))
        out.append(row(base, method, f"{c} candidates", index.threads, stats, build_s=build_s,
                       memory_mb=scan_memory_mb(index)))  # fmt: skip
    return out


def shard_cpu(index) -> float:
    ann = index.ann
    return max(ann.shard_cpu) if ann is not None and len(ann.shards) > 1 else 0.0


def exact_rows(base, data, queries, truth, flat: bool = True) -> list[dict]:
    faiss = faiss_threads(1)

    def numpy_top10(q):
        scores = data @ q
        part = np.argpartition(-scores, 9)[:10]
        return part[np.argsort(-scores[part])]

    out = [row(base, "numpy brute force", "-", 1, measure(numpy_top10, queries[:EXACT_QUERIES], truth))]
    if flat:
        index = faiss.IndexFlatIP(data.shape[1])
        index.add(data)
        stats = measure(lambda q: index.search(q[None], 10)[1][0], queries[:EXACT_QUERIES], truth)
        out.append(row(base, "faiss IndexFlatIP", "-", 1, stats))
    return out


def hnsw_rows(base, data, queries, truth, efs, m=32, ef_construction=128) -> list[dict]:
    faiss = faiss_threads(os.cpu_count() or 2)
    hnsw = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = ef_construction
    started = time.perf_counter()
    hnsw.add(data)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    memory = len(faiss.serialize_index(hnsw)) / 1e6
    out = []
    for ef in efs:
        hnsw.hnsw.efSearch = ef
        stats = measure(lambda q: hnsw.search(q[None], 10)[1][0], queries, truth)
        out.append(row(base, "faiss HNSW", f"M={m} efC={ef_construction} ef {ef}", 1, stats, ef=ef, build_s=build,
                       memory_mb=memory))  # fmt: skip
    return out


def usearch_rows(base, data, queries, truth, efs) -> list[dict]:
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="ip", dtype="f32", connectivity=32, expansion_add=128)
    started = time.perf_counter()
    index.add(np.arange(len(data)), data, threads=os.cpu_count() or 2)
    build = time.perf_counter() - started
    out = []
    for ef in efs:
        index.expansion_search = ef
        stats = measure(lambda q: index.search(q, 10).keys, queries, truth)
        out.append(row(base, "usearch HNSW", f"M=32 efC=128 ef {ef}", 1, stats, ef=ef, build_s=build))
    return out


def store_rows(base, data, queries, truth) -> list[dict]:
    """FaceDatabase.search end to end (exact below its threshold, the scan above; matches re-read from SQLite),
    with the scan on every core and on one; STORE_ROUNDS rounds each (the row is the round with the median CPU
    p50, and lists every round with the load average before it)."""
    from uniface.stores import FaceDatabase

    n, d = data.shape
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        db = FaceDatabase(Path(tmp) / "bench.db", embedding_size=d, durability="normal")
        started = time.perf_counter()
        for start in range(0, n, 50_000):
            db.add_many(data[start : start + 50_000], [{"i": i} for i in range(start, min(n, start + 50_000))])
        build = time.perf_counter() - started
        tier = "scan" if db.index.ann is not None else "exact"
        setting = f"{db.index.candidates} candidates" if tier == "scan" else "-"
        for threads in sorted({1, db.index.threads}, reverse=True):
            if tier == "scan" and threads != db.index.threads:
                db.index.threads = threads
                db.index.build_ann()
            rounds = []
            for _ in range(STORE_ROUNDS):
                load = os.getloadavg()[0]
                rounds.append(measure(lambda q: [m.id - 1 for m in db.search(q, threshold=-1, k=10)], queries,
                                      truth, lambda: shard_cpu(db.index)) | {"load_average": load})  # fmt: skip
            stats = sorted(rounds, key=lambda r: r["cpu_p50_ms"])[len(rounds) // 2]
            out.append(row(base, f"FaceDatabase ({tier})", setting, threads if tier == "scan" else 1, stats,
                           build_s=build, rounds=rounds))  # fmt: skip
            if tier == "exact":
                break
        db.close()
    return out


def bandwidth(mb: int = 512, rounds: int = 5) -> dict:
    """Read bandwidth (GB/s, median of `rounds`) of a float32 matrix-vector product over `mb` MB, the memory-bound
    kernel of every scan: on one thread, and on two threads each reading half (CPU time of the slower)."""
    from concurrent.futures import ThreadPoolExecutor

    data = unit_vectors(mb * 2**20 // 512, 128, seed=5)
    q = data[0].copy()
    halves = np.array_split(data, 2)

    def read(part: np.ndarray) -> float:
        started = time.thread_time()
        part @ q
        return time.thread_time() - started

    one, two = [], []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(rounds):
            one.append(data.nbytes / read(data) / 1e9)
            two.append(data.nbytes / max(pool.map(read, halves)) / 1e9)
    return {"one_thread": float(np.median(one)), "two_threads": float(np.median(two))}


# -- sections ---------------------------------------------------------------------------------


def bench_main(sizes, dims, efs, methods, hnsw_max, usearch_max, store_max, threads) -> list[dict]:
    rows = []
    for d in dims:
        for n in sizes:
            base = {"data": "random", "table": "main", "n": n, "d": d}
            data = unit_vectors(n, d, seed=n + d)
            queries = unit_vectors(QUERIES, d, seed=1)
            truth = exact_top10(data, queries)
            if "exact" in methods:
                rows += exact_rows(base, data, queries, truth)
            if "hnsw" in methods and n <= hnsw_max:
                rows += hnsw_rows(base, data, queries, truth, efs)
            if "usearch" in methods and n <= usearch_max:
                rows += usearch_rows(base, data, queries, truth, efs)
            if "scan" in methods:
                for t in sorted({1, threads}, reverse=True):
                    index, build = scan_index(data, t)
                    rows += scan_rows(base, index, build, queries, truth, scan_candidates(d))
                    del index
            if "store" in methods and n <= store_max:
                rows += store_rows(base, data, queries, truth)
    return rows


def bench_threshold(sizes, dims, threads) -> list[dict]:
    """Exact search vs the scan (default candidates) where the store switches between them."""
    from uniface.stores.vectors import VectorIndex, default_candidates

    rows = []
    for d in dims:
        for n in sizes:
            base = {"data": "random", "table": "threshold", "n": n, "d": d}
            data = unit_vectors(n, d, seed=n + d)
            queries = unit_vectors(QUERIES, d, seed=1)
            truth = exact_top10(data, queries)
            exact = VectorIndex(d, ann_threshold=n + 1)
            exact.add(np.arange(1, n + 1), data)
            stats = measure(lambda q, x=exact: x.search(q, 10)[0] - 1, queries, truth)
            rows.append(row(base, "exact (VectorIndex)", "-", 1, stats))
            for t in sorted({1, threads}, reverse=True):
                index, build = scan_index(data, t)
                rows += scan_rows(base, index, build, queries, truth, [default_candidates(d)])
    return rows


def bench_clustered(n, dims, threads) -> list[dict]:
    rows = []
    for d in dims:
        base = {"data": "clustered", "table": "clustered", "n": n, "d": d}
        data, queries = clustered_vectors(n, d, seed=7 + d)
        truth = exact_top10(data, queries)
        rows += exact_rows(base, data, queries, truth, flat=False)
        for t in sorted({1, threads}, reverse=True):
            index, build = scan_index(data, t)
            rows += scan_rows(base, index, build, queries, truth, (250, 1000, 4000))
            del index
    return rows


def bench_alternatives(n, dims) -> list[dict]:
    """Other faiss indexes on the same 1M random vectors, one thread, each followed by exact re-ranking of its
    candidates: what the chosen scan (PQ fast-scan, 4 bits per 3 dimensions) was measured against."""
    rows = []
    for d in dims:
        base = {"data": "random", "table": "alternatives", "n": n, "d": d}
        data = unit_vectors(n, d, seed=n + d)
        queries = unit_vectors(QUERIES, d, seed=1)[:100]
        truth = exact_top10(data, queries)
        index, build_s = scan_index(data, 1)  # the store's choice, measured in the same run
        rows += scan_rows(base, index, build_s, queries, truth, (2000, 4000, 8000))
        del index
        for name, build, settings in alternatives(d):
            faiss = faiss_threads(os.cpu_count() or 2)
            started = time.perf_counter()
            index = build(faiss, data)
            build_s = time.perf_counter() - started
            faiss.omp_set_num_threads(1)
            memory = len(faiss.serialize_index(index)) / 1e6
            for label, prepare, candidates in settings:
                prepare(index)

                def search(q, index=index, candidates=candidates, data=data):
                    return rerank(data, q, index.search(q[None], candidates)[1][0])

                rows.append(row(base, name, label, 1, measure(search, queries, truth), build_s=build_s,
                                memory_mb=memory))  # fmt: skip
            del index
    return rows


def alternatives(d: int) -> list[tuple[str, Callable, list]]:
    """(name, build(faiss, data) -> index, [(setting, prepare(index), candidates)])."""

    def factory(spec: str, train: int = 100_000):
        def build(faiss, data):
            index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
            if not index.is_trained:
                index.train(data[np.random.default_rng(0).choice(len(data), train, replace=False)])
            for start in range(0, len(data), 100_000):
                index.add(data[start : start + 100_000])
            return index

        return build

    def nprobe(p):
        def prepare(index):
            faiss_threads(1).extract_index_ivf(index).nprobe = p

        return prepare

    same = lambda index: None  # noqa: E731
    return [
        (f"PQ fast-scan, 4 bits per 2 dims (PQ{d // 2}x4fs)", factory(f"PQ{d // 2}x4fs"),
         [(f"{c} candidates", same, c) for c in (500, 1000)]),
        (f"PQ fast-scan, 4 bits per 4 dims (PQ{d // 4}x4fs)", factory(f"PQ{d // 4}x4fs"),
         [(f"{c} candidates", same, c) for c in (4000, 10000)]),
        (f"IVF1024 + PQ fast-scan per 2 dims (IVF1024,PQ{d // 2}x4fsr)", factory(f"IVF1024,PQ{d // 2}x4fsr"),
         [(f"nprobe {p}, 1000 candidates", nprobe(p), 1000) for p in (256, 512)]),
        ("RaBitQ fast-scan, 1 bit per dim", factory("RaBitQfs"), [("4000 candidates", same, 4000)]),
        ("RaBitQ fast-scan, 4 bits per dim", factory("RaBitQfs4"), [("1000 candidates", same, 1000)]),
        ("scalar quantizer 4-bit (SQ4)", factory("SQ4"), [("1000 candidates", same, 1000)]),
        ("scalar quantizer 8-bit (SQ8)", factory("SQ8"), [("1000 candidates", same, 1000)]),
        (f"binary codes: sign of {4 * d} random projections (IndexLSH)", lambda faiss, data: _lsh(faiss, data, 4 * d),
         [(f"{c} candidates", same, c) for c in (4000, 10000)]),
    ]  # fmt: skip


def _lsh(faiss, data: np.ndarray, bits: int):
    index = faiss.IndexLSH(data.shape[1], bits, True, False)  # random rotation, thresholds at 0
    index.train(data[:100_000])
    for start in range(0, len(data), 100_000):
        index.add(data[start : start + 100_000])
    return index


def bench_hnsw_variants(n, d, efs) -> list[dict]:
    """HNSW with a sparser and a denser graph than the M=32 / efConstruction=128 of the main table."""
    base = {"data": "random", "table": "hnsw-variants", "n": n, "d": d}
    data = unit_vectors(n, d, seed=n + d)
    queries = unit_vectors(QUERIES, d, seed=1)
    truth = exact_top10(data, queries)
    rows = []
    for m, ef_construction in ((16, 64), (64, 256)):
        rows += hnsw_rows(base, data, queries, truth, efs, m, ef_construction)
    return rows
