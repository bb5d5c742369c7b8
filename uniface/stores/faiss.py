"""`FAISS`: uniface 4.x's store class, so 4.x code runs unchanged, on the durable SQLite-backed database.

Same constructor (`embedding_size=`, `db_path=` a folder) and methods
(`add`, `search -> (metadata | None, similarity)`, `remove`, `save`,
`load`, `len`, `size`). Unlike 4.x, every `add` is on disk when it returns,
so a crash never loses or misaligns records; `save()` only checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .database import DEFAULT_FILE_NAME, FaceDatabase


class FAISS(FaceDatabase):
    """uniface 4.x's vector store API (plus everything `FaceDatabase` offers).

    The name is kept for compatibility; the vectors are searched exactly (or,
    in large collections, by a faiss fast-scan of compressed codes re-ranked
    exactly), see docs/pipeline.md.
    """

    def __init__(self, *, embedding_size: int = 512, db_path: str | os.PathLike = "./vector_index", **kwargs: Any):
        folder = Path(db_path)
        folder.mkdir(parents=True, exist_ok=True)
        self.db_path = os.fspath(db_path)
        super().__init__(folder / DEFAULT_FILE_NAME, embedding_size=embedding_size, **kwargs)

    def __repr__(self) -> str:
        return f"FAISS(embedding_size={self.embedding_size}, vectors={len(self)})"
