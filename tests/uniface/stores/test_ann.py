"""The HNSW path: recall against exact search, re-scoring from SQLite, the cache file and its verification."""

from __future__ import annotations

import shutil

from uniface.stores import FaceDatabase
from uniface.stores.vectors import VectorIndex

import numpy as np
import pytest

N, D, THRESHOLD = 3000, 32, 1000


def unit(rng, n, d=D):
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def big(tmp_path):
    vecs = unit(np.random.default_rng(3), N)
    db = FaceDatabase(tmp_path / "big.db", embedding_size=D, ann_threshold=THRESHOLD, durability="normal")
    db.add_many(vecs, [{"i": i} for i in range(N)])
    return db, vecs


def recall_at_10(db, vecs, queries):
    hits = 0
    for q in queries:
        truth = set(np.argsort(-(vecs @ q))[:10].tolist())
        hits += len(truth & {m.metadata["i"] for m in db.search(q, threshold=-1, k=10)})
    return hits / (10 * len(queries))


def test_switches_to_hnsw_with_high_recall(big):
    db, vecs = big
    assert db.index.ann is not None and db.index.ann.ntotal == N
    queries = unit(np.random.default_rng(4), 50)
    assert recall_at_10(db, vecs, queries) >= 0.95
    for m in db.search(queries[0], threshold=-1, k=10):  # scores come from the stored rows
        assert m.score == pytest.approx(float(vecs[m.metadata["i"]] @ queries[0]), abs=1e-5)


def test_deleted_faces_never_come_back(big):
    db, vecs = big
    gone = db.find()[:400]  # below the rebuild fraction: tombstones
    db.delete(gone)
    assert len(db.index._dead) == 400
    gone_i = {i - 1 for i in gone}  # ids start at 1 and were added in order
    for q in vecs[:50]:
        assert not {m.metadata["i"] for m in db.search(q, threshold=-1, k=10)} & gone_i
    db.delete(db.find()[:400])  # past a fifth of the graph: rebuilt without them
    assert not db.index._dead and db.index.ann.ntotal == N - 800


def test_cache_is_reused_and_extended(big, monkeypatch):
    db, vecs = big
    db.save()
    assert db.cache_path.exists()
    extra = unit(np.random.default_rng(5), 10)
    db.add_many(extra, [{"i": N + k} for k in range(10)])  # after the cache was written
    db.delete(db.find(i=5))
    db.close()
    builds = []
    monkeypatch.setattr(VectorIndex, "build_ann", lambda self: builds.append(1))
    reopened = FaceDatabase(db.path, ann_threshold=THRESHOLD)
    assert builds == [] and reopened.index.ann.ntotal == N + 10
    assert reopened.search(extra[3])[0] == {"i": N + 3}
    assert reopened.search(vecs[5], threshold=0.99)[0] is None


def test_tampered_or_foreign_cache_is_rebuilt(big, tmp_path):
    db, vecs = big
    db.save()
    data = bytearray(db.cache_path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # in the graph's links
    data[-5000] ^= 0xFF  # in the stored vectors
    db.cache_path.write_bytes(bytes(data))
    other = FaceDatabase(tmp_path / "other.db", embedding_size=D, ann_threshold=THRESHOLD)
    other.add_many(unit(np.random.default_rng(9), N), [{"i": -1}] * N)
    other.save()
    db.close()
    for cache in (db.cache_path, other.cache_path):
        shutil.copyfile(cache, db.cache_path) if cache != db.cache_path else None
        reopened = FaceDatabase(db.path, ann_threshold=THRESHOLD)
        queries = unit(np.random.default_rng(6), 30)
        assert recall_at_10(reopened, vecs, queries) >= 0.95
        assert reopened.search(vecs[77])[0] == {"i": 77}
        reopened.close()


def test_exact_below_threshold(tmp_path):
    db = FaceDatabase(tmp_path / "s.db", embedding_size=D, ann_threshold=THRESHOLD)
    db.add_many(unit(np.random.default_rng(1), 100), [{}] * 100)
    assert db.index.ann is None and not db.cache_path.exists()


def test_killed_save_leaves_no_temp_file_behind(big):
    db, _ = big
    stale = db.cache_path.with_name(f"{db.cache_path.name}.999999999.tmp")  # a save whose process was killed
    stale.write_bytes(b"half a graph")
    db.save()
    assert not stale.exists() and db.cache_path.exists()
    assert not list(db.path.parent.glob("*.tmp"))
