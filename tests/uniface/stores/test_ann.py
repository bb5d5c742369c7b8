"""The compressed-scan tier: recall against exact search, deletions, re-scoring from SQLite, the cache file and its
verification (damaged, foreign and stale caches). Run at 32-d and at 512-d, the size of most face embeddings."""

from __future__ import annotations

import shutil

from uniface.stores import FaceDatabase, pqscan
from uniface.stores import vectors as vectors_module
from uniface.stores.pqscan import PQScan, exact_top_k, fingerprints
from uniface.stores.vectors import VectorIndex

import numpy as np
import pytest

N, D, THRESHOLD = 3000, 32, 1000
CANDIDATES = 200  # of 3000: the scan must rank well for recall, not re-rank everything


def unit(rng, n, d=D):
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=[1, 2], ids=["one-shard", "two-shards"])
def threads(request, monkeypatch):
    """Both search paths on any machine: one shard on the calling thread, and two shards on two threads."""
    monkeypatch.setattr(vectors_module, "default_threads", lambda: request.param)
    return request.param


def open_db(path, **kwargs) -> FaceDatabase:
    db = FaceDatabase(path, ann_threshold=THRESHOLD, durability="normal", **kwargs)
    if db.index is not None:
        db.index.candidates = CANDIDATES
    return db


@pytest.fixture(params=[D, 512], ids=["32-d", "512-d"])
def dim(request):
    return request.param


@pytest.fixture
def big(tmp_path, threads, dim):
    vecs = unit(np.random.default_rng(3), N, dim)
    db = open_db(tmp_path / "big.db", embedding_size=dim)
    db.add_many(vecs, [{"i": i} for i in range(N)])
    db.index.candidates = CANDIDATES
    return db, vecs


def recall_at_10(db, vecs, queries, alive=None):
    """Mean overlap of the database's top-10 with numpy's exact top-10 over the `alive` rows of `vecs`."""
    alive = np.arange(len(vecs)) if alive is None else np.asarray(alive)
    hits = 0
    for q in queries:
        truth = set(alive[np.argsort(-(vecs[alive] @ q))[:10]].tolist())
        hits += len(truth & {m.metadata["i"] for m in db.search(q, threshold=-1, k=10)})
    return hits / (10 * len(queries))


def test_switches_to_the_scan_with_high_recall(big, threads):
    db, vecs = big
    assert db.index.ann is not None and db.index.ann.ntotal == N and len(db.index.ann.shards) == threads
    assert db.index.ann.per_code == pqscan.DIMS_PER_CODE
    queries = unit(np.random.default_rng(4), 50, vecs.shape[1])
    assert recall_at_10(db, vecs, queries) >= 0.95
    for m in db.search(queries[0], threshold=-1, k=10):  # scores come from the stored rows
        assert m.score == pytest.approx(float(vecs[m.metadata["i"]] @ queries[0]), abs=1e-5)
    db.index.candidates = 20  # the scan really ranks (it is not an exact search in disguise)
    assert recall_at_10(db, vecs, queries) < 0.9


def test_deleted_faces_never_come_back(big):
    db, vecs = big
    gone = db.find()[:400]  # below the rebuild fraction: tombstones
    db.delete(gone)
    assert db.index.ann.dead == 400 and db.index.ann.ntotal == N
    gone_i = {i - 1 for i in gone}  # ids start at 1 and were added in order
    for q in vecs[:50]:  # the deleted vectors themselves are the best candidates of these queries
        found = [m.metadata["i"] for m in db.search(q, threshold=-1, k=10)]
        assert len(set(found)) == len(found) == 10 and not set(found) & gone_i
        ids, _ = db.index.search(
            q, db.index.candidates
        )  # every candidate the scan returns: tombstones skipped, not mapped
        assert len(set(ids.tolist())) == len(ids) and set(ids.tolist()) <= set(db.index.ids.tolist())
    alive = sorted(set(range(N)) - gone_i)
    assert recall_at_10(db, vecs, unit(np.random.default_rng(7), 50, vecs.shape[1]), alive) >= 0.95
    db.delete(db.find()[:400])  # past a fifth of the codes: rebuilt without them
    assert db.index.ann.dead == 0 and db.index.ann.ntotal == N - 800
    db.delete(db.find()[: N - 800 - THRESHOLD // 2 + 1])  # below half the threshold: back to exact search
    assert db.index.ann is None and len(db) == THRESHOLD // 2 - 1


def test_cache_is_reused_and_extended(big, monkeypatch):
    db, vecs = big
    db.save()
    assert db.cache_path.exists()
    extra = unit(np.random.default_rng(5), 10, vecs.shape[1])
    db.add_many(extra, [{"i": N + k} for k in range(10)])  # after the cache was written
    db.delete(db.find(i=5))
    db.close()
    builds = []
    monkeypatch.setattr(VectorIndex, "build_ann", lambda self: builds.append(1))
    reopened = open_db(db.path)
    assert builds == [] and reopened.index.ann.ntotal == N + 10 and reopened.index.ann.dead == 1
    assert reopened.search(extra[3])[0] == {"i": N + 3}
    assert reopened.search(vecs[5], threshold=0.99)[0] is None
    queries = unit(np.random.default_rng(8), 30, vecs.shape[1])
    assert recall_at_10(reopened, vecs, queries, np.delete(np.arange(N), 5)) >= 0.95


def test_damaged_or_foreign_cache_is_rebuilt(big, tmp_path):
    db, vecs = big
    db.save()
    data = bytearray(db.cache_path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # in the ids, fingerprints or codes: the CRC-32 catches it
    data[-5000] ^= 0xFF
    db.cache_path.write_bytes(bytes(data))
    other = open_db(tmp_path / "other.db", embedding_size=vecs.shape[1])
    other.add_many(unit(np.random.default_rng(9), N, vecs.shape[1]), [{"i": -1}] * N)
    other.save()
    db.close()
    for cache in (db.cache_path, other.cache_path):
        shutil.copyfile(cache, db.cache_path) if cache != db.cache_path else None
        reopened = open_db(db.path)
        assert reopened.index.ann is not None
        assert recall_at_10(reopened, vecs, unit(np.random.default_rng(6), 30, vecs.shape[1])) >= 0.95
        assert reopened.search(vecs[77])[0] == {"i": 77}
        reopened.close()


def test_stale_cache_is_rebuilt(tmp_path, threads, dim, monkeypatch):
    """A cache of the same database (same uuid, same face ids) whose vectors are not SQLite's: e.g. the database
    file was restored from a copy taken before these faces were added, and other faces took their ids."""
    db = open_db(tmp_path / "a.db", embedding_size=dim)
    uuid = db.records.get_info("uuid")
    db.close()  # the last connection checkpoints the WAL into the file
    shutil.copyfile(db.path, tmp_path / "b.db")  # empty, same uuid
    db = open_db(db.path)
    db.add_many(unit(np.random.default_rng(1), N, dim), [{"i": -1}] * N)
    db.save()
    db.close()
    other = unit(np.random.default_rng(2), N, dim)
    restored = open_db(tmp_path / "b.db")
    assert restored.records.get_info("uuid") == uuid
    restored.add_many(other, [{"i": i} for i in range(N)])  # ids 1..N again, other vectors
    restored.close()
    shutil.copyfile(db.cache_path, restored.cache_path)
    builds = []
    real_build = VectorIndex.build_ann
    monkeypatch.setattr(VectorIndex, "build_ann", lambda self: builds.append(1) or real_build(self))
    reopened = open_db(restored.path)
    assert builds == [1]  # the fingerprints differ: the codes were not reused
    assert reopened.search(other[7])[0] == {"i": 7}
    assert recall_at_10(reopened, other, unit(np.random.default_rng(6), 30, dim)) >= 0.95


def test_cache_of_another_code_width_is_rebuilt(big, monkeypatch):
    """Codes written with another number of dimensions per code (another version's choice) are not adopted: they are
    rebuilt, and search still finds every face."""
    db, vecs = big
    d = vecs.shape[1]
    with monkeypatch.context() as patched:
        patched.setattr(pqscan, "DIMS_PER_CODE", 2)
        db.index.build_ann()
        assert db.index.ann.per_code == 2
        db.save()
    db.close()
    builds = []
    real_build = VectorIndex.build_ann
    monkeypatch.setattr(VectorIndex, "build_ann", lambda self: builds.append(1) or real_build(self))
    reopened = open_db(db.path)
    assert builds == [1] and reopened.index.ann.per_code == pqscan.DIMS_PER_CODE
    assert reopened.search(vecs[11])[0] == {"i": 11}
    assert recall_at_10(reopened, vecs, unit(np.random.default_rng(12), 30, d)) >= 0.95


def test_exact_top_k_equals_numpy():
    rng = np.random.default_rng(0)
    vectors = unit(rng, 500, 64)
    query = unit(rng, 1, 64)[0]
    rows = rng.choice(500, 120, replace=False)
    found, scores = exact_top_k(vectors, rows, query, 10)
    truth = rows[np.argsort(-(vectors[rows] @ query))[:10]]
    assert found.tolist() == truth.tolist()
    np.testing.assert_allclose(scores, vectors[truth] @ query, rtol=1e-5, atol=1e-6)
    few, few_scores = exact_top_k(vectors, rows[:4], query, 10)  # fewer rows than k: all of them, best first
    assert sorted(few.tolist()) == sorted(rows[:4].tolist()) and np.all(np.diff(few_scores) <= 0)
    assert len(exact_top_k(vectors, rows[:0], query, 10)[0]) == 0
    with pytest.raises(ValueError):
        exact_top_k(vectors, np.array([3, 500]), query, 10)  # a row outside the matrix
    with pytest.raises(ValueError):
        exact_top_k(vectors[:, :32], rows, query[:32], 10)  # a strided view: faiss would read the wrong bytes


def test_exact_below_threshold(tmp_path):
    db = FaceDatabase(tmp_path / "s.db", embedding_size=D, ann_threshold=THRESHOLD)
    db.add_many(unit(np.random.default_rng(1), 100), [{}] * 100)
    assert db.index.ann is None and not db.cache_path.exists()


def test_killed_save_leaves_no_temp_file_behind(big):
    db, _ = big
    stale = db.cache_path.with_name(f"{db.cache_path.name}.999999999.tmp")  # a save whose process was killed
    stale.write_bytes(b"half an index")
    db.save()
    assert not stale.exists() and db.cache_path.exists()
    assert not list(db.path.parent.glob("*.tmp"))


def test_scan_bytes_are_checked_against_the_dimension():
    scan = PQScan(D, 2)
    scan.train(unit(np.random.default_rng(0), 500))
    scan.add(unit(np.random.default_rng(1), 300), np.arange(300))
    payload = memoryview(scan.to_bytes(lambda rows: (rows, np.zeros(len(rows), dtype=np.uint64))))
    loaded, labels = PQScan.from_bytes(payload, D)
    assert loaded.ntotal == 300 and sorted(np.concatenate([ids for ids, _ in labels]).tolist()) == list(range(300))
    assert PQScan.from_bytes(payload, D + 1) is None  # another embedding size
    assert PQScan.from_bytes(payload[:-1], D) is None  # truncated


def test_fingerprint_sees_any_changed_word():
    vecs = unit(np.random.default_rng(0), 64)
    base = fingerprints(vecs)
    assert len(set(base.tolist())) == 64
    rng = np.random.default_rng(1)
    for _ in range(200):
        changed = vecs.copy()
        row, col, bit = rng.integers(64), rng.integers(D), rng.integers(32)
        changed.view(np.uint32)[row, col] ^= np.uint32(1 << int(bit))
        after = fingerprints(changed)
        assert after[row] != base[row] and np.array_equal(np.delete(after, row), np.delete(base, row))
