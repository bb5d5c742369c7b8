"""Face database: people, faces, metadata and vector search in one embedded SQLite file (no server).

`FAISS` keeps uniface 4.x's API (`add`, `search`, `remove`, `save`, `load`);
`FaceDatabase` is the same store addressed by file, with top-k search,
people, filters, enroll/identify and durable writes.
"""

from .database import FaceDatabase, FaceRecord, Match, resolve_db_path
from .errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    DatabaseFullError,
    EmbeddingSizeError,
    ModelMismatchError,
    ReadOnlyDatabaseError,
    StoreError,
)
from .faiss import FAISS

__all__ = [
    "FAISS", "CorruptDatabaseError", "DatabaseBusyError", "DatabaseFullError", "EmbeddingSizeError", "FaceDatabase",
    "FaceRecord", "Match", "ModelMismatchError", "ReadOnlyDatabaseError", "StoreError", "resolve_db_path",
]  # fmt: skip
