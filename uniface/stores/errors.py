"""Typed errors of the face database; each names the database file at fault."""

from __future__ import annotations

import os


class StoreError(Exception):
    """Base class: something is wrong with a face database (`path` names it)."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = os.fspath(path)
        super().__init__(f"{self.path}: {message}")


class CorruptDatabaseError(StoreError):
    """The file is not a face database, is truncated, or a record fails its checksum."""


class ModelMismatchError(StoreError):
    """The database holds embeddings of another recognizer (different ONNX sha256 or embedding size)."""


class EmbeddingSizeError(ModelMismatchError, ValueError):
    """A vector's length differs from the database's embedding size (so it came from another model)."""


class ReadOnlyDatabaseError(StoreError):
    """A write was asked of a database opened read-only, or whose file or folder cannot be written."""


class DatabaseFullError(StoreError):
    """The disk (or the file size limit) is full; the write was rolled back and nothing acknowledged was lost."""


class DatabaseBusyError(StoreError):
    """Another process held the write lock for longer than the timeout."""
