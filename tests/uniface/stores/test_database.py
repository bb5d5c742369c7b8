"""FaceDatabase: top-k against numpy brute force, filters, people, deletes, iteration, typed errors."""

from __future__ import annotations

from uniface.stores import EmbeddingSizeError, FaceDatabase, ModelMismatchError

import numpy as np
import pytest


def unit(rng, n, d=16):
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def filled(tmp_path):
    rng = np.random.default_rng(1)
    vecs = unit(rng, 200)
    db = FaceDatabase(tmp_path / "f.db", embedding_size=16)
    db.add_many(vecs[:150], [{"i": i, "group": i % 3, "tag": "x" if i < 50 else "y"} for i in range(150)])
    for i in range(150, 200):
        db.add(vecs[i], {"i": i, "group": i % 3, "tag": "z"}, person=f"p{i % 5}")
    yield db, vecs
    db.close()


def test_top_k_equals_brute_force(filled):
    db, vecs = filled
    rng = np.random.default_rng(2)
    for q in unit(rng, 20):
        scores = vecs @ q
        order = np.argsort(-scores)[:10]
        got = db.search(q, threshold=-1.0, k=10)
        assert [m.metadata["i"] for m in got] == order.tolist()
        np.testing.assert_allclose([m.score for m in got], scores[order], atol=1e-5)


def test_threshold_and_4x_form(filled):
    db, vecs = filled
    meta, score = db.search(vecs[42])
    assert meta["i"] == 42 and score == pytest.approx(1.0, abs=1e-6)
    best = float(np.max(vecs @ -vecs[42]))
    meta, score = db.search(-vecs[42], threshold=best + 0.01)
    assert meta is None and score == pytest.approx(best, abs=1e-5)
    assert all(m.score > 0.3 for m in db.search(vecs[0], threshold=0.3, k=50))


def test_filters(filled):
    db, vecs = filled
    q = vecs[7]
    got = db.search(q, threshold=-1, k=200, where={"group": 1})
    assert {m.metadata["i"] for m in got} == {i for i in range(200) if i % 3 == 1}
    got = db.search(q, threshold=-1, k=5, where={"tag": "x", "group": 1})
    expected = sorted((i for i in range(50) if i % 3 == 1), key=lambda i: -float(vecs[i] @ q))[:5]
    assert [m.metadata["i"] for m in got] == expected
    assert {m.person for m in db.search(q, threshold=-1, k=100, person="p2")} == {"p2"}
    assert len(db.search(q, threshold=-1, k=100, people_only=True)) == 50
    assert db.find(tag="z", group=0) == [r.id for r in db if r.metadata["tag"] == "z" and r.metadata["group"] == 0]


def test_people_and_deletes(filled):
    db, vecs = filled
    assert db.people() == {f"p{k}": 10 for k in range(5)}
    assert db.delete_person("p3") == 10
    assert "p3" not in db.people() and len(db) == 190
    with pytest.raises(KeyError, match="no person named 'p3'"):
        db.delete_person("p3")
    assert db.remove("tag", "x") == 50 and len(db) == 140
    assert db.remove("tag", "x") == 0
    assert all(m.metadata["tag"] != "x" for m in db.search(vecs[3], threshold=-1, k=200))
    assert db.delete([1_000_000]) == 0


def test_iteration_and_get(filled):
    db, vecs = filled
    records = list(db)
    assert len(records) == len(db) == 200
    by_i = {r.metadata["i"]: r for r in records}
    np.testing.assert_allclose(by_i[160].embedding, vecs[160], atol=1e-6)
    assert by_i[160].person == "p0"
    assert db.get(records[5].id).metadata == records[5].metadata
    with pytest.raises(KeyError):
        db.get(999_999)


def test_vectors_are_normalized(tmp_path):
    db = FaceDatabase(tmp_path / "n.db", embedding_size=3)
    db.add(np.array([3.0, 0, 0]), {"a": 1})
    meta, score = db.search(np.array([0.5, 0, 0]))
    assert meta == {"a": 1} and score == pytest.approx(1.0)


def test_bad_vectors_and_metadata(tmp_path):
    db = FaceDatabase(tmp_path / "b.db", embedding_size=4)
    with pytest.raises(EmbeddingSizeError, match=r"b\.db: got 5-d embeddings; this database holds 4-d"):
        db.add(np.ones(5), {})
    with pytest.raises(EmbeddingSizeError):
        db.search(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        db.add(np.array([1, np.nan, 0, 0]), {})
    with pytest.raises(ValueError, match="all zeros"):
        db.add(np.zeros(4), {})
    with pytest.raises(TypeError, match="JSON"):
        db.add(np.ones(4), {"x": object()})
    with pytest.raises(TypeError, match="must be a dict"):
        db.add(np.ones(4), ["not", "a", "dict"])
    with pytest.raises(ValueError, match="3 embeddings but 2 metadata"):
        db.add_many(np.ones((3, 4)), [{}, {}])
    assert len(db) == 0  # nothing half-written


def test_model_is_recorded_and_checked(tmp_path):
    path = tmp_path / "m.db"
    FaceDatabase(path, recognizer="a" * 64, embedding_size=8).close()
    with pytest.raises(ModelMismatchError, match=r"m\.db: was built with recognizer .* not comparable"):
        FaceDatabase(path, recognizer="b" * 64)
    with pytest.raises(ModelMismatchError, match="holds 8-d embeddings"):
        FaceDatabase(path, embedding_size=512)
    db = FaceDatabase(path, recognizer="a" * 64)
    assert db.embedding_size == 8 and db.model_sha256 == "a" * 64
    db.close()


def test_embedding_size_bound_on_first_add(tmp_path):
    db = FaceDatabase(tmp_path)  # a folder: the file is faces.db inside it
    assert db.path == tmp_path / "faces.db"
    db.add(np.ones(6), {})
    db.close()
    with pytest.raises(EmbeddingSizeError):
        FaceDatabase(tmp_path).add(np.ones(7), {})


def test_empty_database_search(tmp_path):
    db = FaceDatabase(tmp_path / "e.db", embedding_size=4)
    assert db.search(np.ones(4)) == (None, 0.0)
    assert db.search(np.ones(4), k=3) == []
