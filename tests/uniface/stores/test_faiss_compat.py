"""`uniface.stores.FAISS` replays upstream uniface 4.2.1's results call for call (fixture from its own venv)."""

from __future__ import annotations

import json
from pathlib import Path

from uniface.stores import FAISS

import numpy as np

from tools.upstream_store_script import run

FIXTURE = json.loads((Path(__file__).parent / "upstream_faiss.json").read_text())


def _same(ours, theirs, where):
    if isinstance(theirs, float):
        assert abs(ours - theirs) < 1e-5, f"{where}: {ours} vs {theirs}"
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


def test_same_results_as_upstream(tmp_path):
    ours = run(FAISS, str(tmp_path / "index"), FIXTURE["stored"], FIXTURE["queries"])
    assert set(ours) == set(FIXTURE["results"])
    for key, theirs in FIXTURE["results"].items():
        _same(ours[key], theirs, key)


def test_adds_are_durable_without_save(tmp_path):
    """Upstream loses everything not save()d; ours has every add on disk when add returns."""
    store = FAISS(embedding_size=4, db_path=str(tmp_path))
    store.add(np.array([1, 0, 0, 0], dtype=np.float32), {"name": "a"})
    other = FAISS(embedding_size=4, db_path=str(tmp_path))
    meta, score = other.search(np.array([1, 0, 0, 0], dtype=np.float32))
    assert meta == {"name": "a"} and abs(score - 1.0) < 1e-6


def test_repr_and_size(tmp_path):
    store = FAISS(embedding_size=4, db_path=str(tmp_path))
    store.add(np.ones(4), {})
    assert store.size == len(store) == 1
    assert repr(store) == "FAISS(embedding_size=4, vectors=1)"
