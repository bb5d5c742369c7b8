"""Run with upstream uniface 4.2.1 (its own venv): a scripted session on its `uniface.stores.FAISS`, as JSON.

    /path/to/uniface4-venv/bin/python tools/upstream_store_script.py > tests/uniface/stores/upstream_faiss.json

The test replays the same calls on our `FAISS` and compares every result,
so 4.x code gets the same answers (ours are also durable without save()).
"""

from __future__ import annotations

import json
import tempfile

import numpy as np


def script_vectors() -> tuple[list[list[float]], list[list[float]]]:
    rng = np.random.default_rng(7)
    stored = rng.standard_normal((30, 16))
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    queries = np.concatenate([stored[[3, 17]] + 0.05 * rng.standard_normal((2, 16)), rng.standard_normal((2, 16))])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return stored.astype(np.float32).tolist(), queries.astype(np.float32).tolist()


def run(faiss_cls, folder: str, stored, queries) -> dict:
    """The scripted session; `faiss_cls` is upstream's FAISS or ours."""
    out: dict = {}
    store = faiss_cls(embedding_size=16, db_path=folder)
    out["empty_search"] = list(store.search(np.array(queries[0], dtype=np.float32)))
    for i, v in enumerate(stored):
        store.add(np.array(v, dtype=np.float32), {"id": i, "name": f"person{i % 4}", "even": i % 2 == 0})
    out["len"] = len(store)
    out["searches"] = [
        list(store.search(np.array(q, dtype=np.float32), threshold=t)) for q in queries for t in (0.4, 0.9)
    ]
    out["remove_person1"] = store.remove("name", "person1")
    out["remove_missing"] = store.remove("name", "nobody")
    out["remove_even_true"] = store.remove("even", True)
    out["len_after_remove"] = len(store)
    out["searches_after_remove"] = [list(store.search(np.array(q, dtype=np.float32))) for q in queries]
    store.save()
    reopened = faiss_cls(embedding_size=16, db_path=folder)
    out["load"] = reopened.load()
    out["len_reopened"] = len(reopened)
    out["searches_reopened"] = [list(reopened.search(np.array(q, dtype=np.float32))) for q in queries]
    out["size"] = reopened.size
    return out


def main() -> None:
    from uniface.stores import FAISS

    stored, queries = script_vectors()
    with tempfile.TemporaryDirectory() as folder:
        result = run(FAISS, folder, stored, queries)
    print(json.dumps({"upstream": "uniface 4.2.1", "stored": stored, "queries": queries, "results": result}))


if __name__ == "__main__":
    main()
