"""The face database's single source of truth: one SQLite file (WAL) holding people, faces, vectors and metadata.

Every face row carries its vector (float32 bytes) and a CRC-32 over vector,
metadata and person, so a record read back is either exactly what was
written or rejected; the in-memory and ANN indexes are caches rebuilt or
verified from these rows. A write is one transaction: when it returns it is
in the WAL (fsynced with `durability="full"`), so SIGKILL cannot lose it, and
vectors and metadata cannot disagree because they live in the same row.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    DatabaseFullError,
    ModelMismatchError,
    ReadOnlyDatabaseError,
    StoreError,
)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x55464442  # "UFDB": marks the file as ours, so other SQLite files are rejected, not reused

_SCHEMA = """
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER REFERENCES people(id) ON DELETE CASCADE,
    metadata TEXT NOT NULL,
    vector BLOB NOT NULL,
    crc INTEGER NOT NULL
);
CREATE INDEX faces_person ON faces(person_id);
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    faces INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER faces_removed AFTER DELETE ON faces BEGIN
    UPDATE info SET value = CAST(value AS INTEGER) + 1 WHERE key = 'removals';
END;
"""


@dataclass(frozen=True)
class Stamp:
    """What the face table holds, cheaply: ids only grow (AUTOINCREMENT) and every delete bumps `removals`,
    so two equal stamps mean the same set of rows, and a larger max_id with the same removals means rows were
    only appended."""

    max_id: int
    count: int
    removals: int


@dataclass(frozen=True)
class FaceRow:
    id: int
    person: str | None
    metadata: dict
    vector: np.ndarray


def checksum(vector_bytes: bytes, metadata_json: str, person_id: int | None) -> int:
    return zlib.crc32(f"{person_id}|".encode() + metadata_json.encode() + vector_bytes)


def encode_metadata(metadata: dict | None) -> str:
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
    try:
        return json.dumps(metadata, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc


_ERRORS_BY_NAME = (
    ("SQLITE_FULL", DatabaseFullError, "disk or file size limit full; the write was rolled back"),
    ("SQLITE_READONLY", ReadOnlyDatabaseError, "cannot write (read-only file, folder or connection)"),
    ("SQLITE_BUSY", DatabaseBusyError, "another process holds the write lock (timed out)"),
    ("SQLITE_LOCKED", DatabaseBusyError, "locked by another connection (timed out)"),
    ("SQLITE_CORRUPT", CorruptDatabaseError, "database file is corrupted"),
    ("SQLITE_NOTADB", CorruptDatabaseError, "not a database (corrupted or truncated header)"),
    ("SQLITE_CANTOPEN", StoreError, "cannot open the database file (missing folder or no permission)"),
    ("SQLITE_IOERR", StoreError, "disk I/O error"),
)


def translate_error(path: str | os.PathLike, exc: sqlite3.Error) -> Exception:
    """The typed error for an sqlite3 exception (the original is kept as __cause__ by the caller)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    for prefix, cls, message in _ERRORS_BY_NAME:
        if name.startswith(prefix):
            return cls(path, f"{message} [{name}: {text}]")
    lowered = text.lower()
    if "disk is full" in lowered:
        return DatabaseFullError(path, f"disk full; the write was rolled back [{text}]")
    if "readonly" in lowered:
        return ReadOnlyDatabaseError(path, f"cannot write [{text}]")
    if "malformed" in lowered or "not a database" in lowered:
        return CorruptDatabaseError(path, f"database file is corrupted [{text}]")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return CorruptDatabaseError(path, f"database error [{text}]")
    return StoreError(path, text)


class RecordStore:
    """The SQLite file: schema, typed errors, one lock and one transaction per write."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        read_only: bool = False,
        durability: str = "full",
        timeout: float = 30.0,
    ) -> None:
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be 'full' (fsync every write) or 'normal', not {durability!r}")
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        existed = self.path.exists()
        if existed and self.path.is_dir():
            raise StoreError(self.path, "is a folder, not a database file")
        if existed and self.path.stat().st_size == 0:
            raise CorruptDatabaseError(self.path, "empty file (0 bytes), not a face database")
        if not existed and read_only:
            raise FileNotFoundError(f"{self.path}: no such face database")
        if not existed:
            folder = self.path.parent
            if not folder.is_dir():
                raise StoreError(self.path, f"folder {folder} does not exist")
        try:
            self.conn = self._connect(read_only, timeout)
            self._configure(durability)
        except (ReadOnlyDatabaseError, StoreError) as exc:
            if not existed:
                if type(exc) is StoreError:  # SQLITE_CANTOPEN for a new file in an existing folder: no permission
                    raise ReadOnlyDatabaseError(
                        self.path, "cannot create the database: the folder is not writable"
                    ) from exc
                raise
            if not self._reopen_immutable(exc, timeout):
                raise

    def _configure(self, durability: str) -> None:
        with self._sqlite_errors():
            if not self.read_only:
                self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
                self.conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._open_schema()

    def _reopen_immutable(self, exc: Exception, timeout: float) -> bool:
        """A database in a folder we cannot write (read-only media, no permission) is still searchable:
        SQLite cannot create the WAL's shared-memory file there, so open it as an immutable snapshot. Only
        when no WAL file exists, i.e. no writer has uncommitted-to-the-main-file changes we would miss."""
        if isinstance(exc, CorruptDatabaseError) or Path(f"{self.path}-wal").exists():
            return False
        with contextlib.suppress(Exception):
            self.conn.close()
        uri = f"file:{self.path.resolve().as_posix()}?mode=ro&immutable=1"
        try:
            self.conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return False
        self.read_only = True
        self._configure("normal")
        return True

    # -- connection -----------------------------------------------------------------------------

    def _connect(self, read_only: bool, timeout: float) -> sqlite3.Connection:
        mode = "ro" if read_only else "rwc"
        uri = f"file:{self.path.resolve().as_posix()}?mode={mode}"
        try:
            return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise translate_error(self.path, exc) from exc

    @contextlib.contextmanager
    def _sqlite_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise translate_error(self.path, exc) from exc

    def _open_schema(self) -> None:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if not tables and app_id == 0:
            if self.read_only:
                raise CorruptDatabaseError(self.path, "empty SQLite file, not a face database")
            with self.write() as cur:
                if not {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type='table'")}:
                    self._create(cur)
            return
        if app_id != APPLICATION_ID or not {"info", "faces", "people", "files"} <= tables:
            raise CorruptDatabaseError(self.path, "an SQLite file, but not a uniface face database")
        version = self.get_info("schema_version")
        if version != str(SCHEMA_VERSION):
            raise CorruptDatabaseError(
                self.path, f"face database schema version {version}, this code reads version {SCHEMA_VERSION}"
            )

    def _create(self, cur: sqlite3.Cursor) -> None:
        # executescript() would commit the open transaction; run the statements one by one inside it.
        for statement in _split_statements(_SCHEMA):
            cur.execute(statement)
        cur.execute(f"PRAGMA application_id={APPLICATION_ID}")
        cur.executemany(
            "INSERT INTO info(key, value) VALUES (?, ?)",
            [("schema_version", str(SCHEMA_VERSION)), ("removals", "0"), ("uuid", os.urandom(8).hex())],
        )

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """One IMMEDIATE transaction (the write lock taken up front); committed on exit, rolled back on error."""
        if self.read_only:
            raise ReadOnlyDatabaseError(self.path, "opened read-only (asked for, or its folder is not writable)")
        with self._lock:
            cur = self.conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate_error(self.path, exc) from exc
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise translate_error(self.path, exc) from exc
                raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, self._sqlite_errors():
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- info ---------------------------------------------------------------------------------

    def get_info(self, key: str) -> str | None:
        rows = self.read("SELECT value FROM info WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's own counter; ours do not change it)."""
        return self.read("PRAGMA data_version")[0][0]

    def removals(self) -> int:
        return int(self.get_info("removals"))

    def stamp(self) -> Stamp:
        with self._lock, self._sqlite_errors():
            cur = self.conn.cursor()
            cur.execute("BEGIN")
            try:
                max_id, count = cur.execute("SELECT coalesce(max(id), 0), count(*) FROM faces").fetchone()
                removals = int(cur.execute("SELECT value FROM info WHERE key='removals'").fetchone()[0])
            finally:
                cur.execute("COMMIT")
        return Stamp(int(max_id), int(count), removals)

    def bind_model(self, embedding_size: int | None, model_sha256: str | None, model_name: str | None) -> int | None:
        """Check (or record, on first use) which recognizer made the vectors; the database's embedding size."""
        stored_size = self.get_info("embedding_size")
        stored_sha = self.get_info("model_sha256")
        if stored_size is not None and embedding_size is not None and int(stored_size) != embedding_size:
            raise ModelMismatchError(
                self.path,
                f"holds {stored_size}-d embeddings"
                + (f" of model sha256 {stored_sha[:12]}" if stored_sha else "")
                + f", not {embedding_size}-d ones; use the recognizer that built it or another database",
            )
        if stored_sha is not None and model_sha256 is not None and stored_sha != model_sha256:
            stored_name = self.get_info("model_name") or "?"
            raise ModelMismatchError(
                self.path,
                f"was built with recognizer {stored_name} (sha256 {stored_sha[:12]}...), not "
                f"{model_name or '?'} (sha256 {model_sha256[:12]}...): its embeddings are not comparable",
            )
        updates = []
        if stored_size is None and embedding_size is not None:
            updates.append(("embedding_size", str(int(embedding_size))))
        if stored_sha is None and model_sha256 is not None:
            updates += [("model_sha256", model_sha256), ("model_name", model_name or "")]
        if updates and not self.read_only:
            with self.write() as cur:
                cur.executemany("INSERT OR REPLACE INTO info(key, value) VALUES (?, ?)", updates)
        size = stored_size if stored_size is not None else embedding_size
        return None if size is None else int(size)

    # -- faces --------------------------------------------------------------------------------

    def row_to_face(self, row: tuple, dim: int) -> FaceRow:
        """(id, person name, person_id, metadata json, vector blob, crc) -> FaceRow, checked."""
        face_id, name, person_id, meta, blob, crc = row
        if not isinstance(blob, bytes) or len(blob) != 4 * dim or checksum(blob, meta, person_id) != crc:
            raise CorruptDatabaseError(self.path, f"face record {face_id} fails its checksum")
        try:
            metadata = json.loads(meta)
        except ValueError as exc:
            raise CorruptDatabaseError(self.path, f"face record {face_id} has unreadable metadata") from exc
        return FaceRow(face_id, name, metadata, np.frombuffer(blob, dtype="<f4"))

    FACE_COLUMNS = (
        "f.id, p.name, f.person_id, f.metadata, f.vector, f.crc FROM faces f LEFT JOIN people p ON p.id = f.person_id"
    )

    def faces_by_id(self, ids: Sequence[int], dim: int) -> dict[int, FaceRow]:
        out: dict[int, FaceRow] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.read(f"SELECT {self.FACE_COLUMNS} WHERE f.id IN ({marks})", chunk):
                out[row[0]] = self.row_to_face(row, dim)
        return out

    def iter_vectors(self, dim: int, after_id: int = 0, chunk: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in id order, in chunks, every row checksummed."""
        last = after_id
        while True:
            rows = self.read(
                "SELECT id, person_id, metadata, vector, crc FROM faces WHERE id > ? ORDER BY id LIMIT ?", (last, chunk)
            )
            if not rows:
                return
            ids = np.empty(len(rows), dtype=np.int64)
            vecs = np.empty((len(rows), dim), dtype=np.float32)
            for i, (face_id, person_id, meta, blob, crc) in enumerate(rows):
                if not isinstance(blob, bytes) or len(blob) != 4 * dim or checksum(blob, meta, person_id) != crc:
                    raise CorruptDatabaseError(self.path, f"face record {face_id} fails its checksum")
                ids[i] = face_id
                vecs[i] = np.frombuffer(blob, dtype="<f4")
            yield ids, vecs
            last = int(ids[-1])

    def all_ids(self) -> np.ndarray:
        return np.array([r[0] for r in self.read("SELECT id FROM faces ORDER BY id")], dtype=np.int64)

    @staticmethod
    def insert_faces(
        cur: sqlite3.Cursor, vectors: np.ndarray, metadata_json: Sequence[str], person_ids: Sequence[int | None]
    ) -> list[int]:
        ids = []
        for vec, meta, person_id in zip(vectors, metadata_json, person_ids):
            blob = np.ascontiguousarray(vec, dtype="<f4").tobytes()
            cur.execute(
                "INSERT INTO faces(person_id, metadata, vector, crc) VALUES (?, ?, ?, ?)",
                (person_id, meta, blob, checksum(blob, meta, person_id)),
            )
            ids.append(cur.lastrowid)
        return ids

    @staticmethod
    def person_id(cur: sqlite3.Cursor, name: str, create: bool = True) -> int | None:
        row = cur.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
        if row is not None or not create:
            return None if row is None else row[0]
        cur.execute("INSERT INTO people(name) VALUES (?)", (name,))
        return cur.lastrowid

    # -- files (resumable indexing) -----------------------------------------------------------

    def done_files(self) -> dict[str, tuple[int, int]]:
        return {p: (s, m) for p, s, m in self.read("SELECT path, size, mtime_ns FROM files")}

    @staticmethod
    def mark_file(cur: sqlite3.Cursor, path: str, size: int, mtime_ns: int, faces: int, note: str = "") -> None:
        cur.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, faces, note) VALUES (?, ?, ?, ?, ?)",
            (path, size, mtime_ns, faces, note),
        )


def _split_statements(script: str) -> list[str]:
    """The schema's statements (a trigger body holds a ';', so split on 'END;' boundaries too)."""
    out, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER") or text.upper().endswith("END;")):
            out.append(text)
            current = []
    return out
