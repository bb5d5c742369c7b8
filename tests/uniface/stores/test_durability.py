"""Nothing acknowledged is lost: SIGKILL, concurrent readers and writers, damaged files, full disks, read-only folders.

The SIGKILL loop runs a bounded number of trials here; `python -m tools.store_crash --trials 200` runs the full
count (docs/pipeline.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from uniface.stores import (
    CorruptDatabaseError,
    DatabaseFullError,
    FaceDatabase,
    ReadOnlyDatabaseError,
    StoreError,
)

import numpy as np
import pytest

from tools.store_crash import DIM, REPO, run_trials, vector_for, verify

CI_TRIALS = 12


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _start_writer(db: Path, start: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.store_crash", "--child", str(db), str(start)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=_env(), text=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _acked(lines: list[str]) -> set[int]:
    return {int(p) for line in lines for p in line.split() if p.isdigit()}


def test_sigkill_trials(tmp_path):
    totals = run_trials(CI_TRIALS, tmp_path, seed=1)
    assert totals["trials"] == CI_TRIALS and totals["kills_mid_run"] == CI_TRIALS
    assert totals["acknowledged"] > 0
    assert totals["lost"] == 0 and totals["misaligned"] == 0, totals


def test_reader_sees_every_acknowledged_add_while_a_writer_runs(tmp_path):
    db_path = tmp_path / "rw.db"
    FaceDatabase(db_path, embedding_size=DIM).close()
    reader = FaceDatabase(db_path)
    writer = _start_writer(db_path, 0)
    checked, sizes = 0, []
    try:
        deadline = time.monotonic() + 240  # bounded; on an idle machine 60 adds take well under a second
        while checked < 60 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            for seq in _acked([line]):
                meta, score = reader.search(vector_for(seq), threshold=0.99)
                assert meta is not None and meta["seq"] == seq, f"acknowledged record {seq} not visible to a reader"
                checked += 1
            sizes.append(len(reader))
    finally:
        writer.kill()
        writer.communicate()
    assert checked >= 60
    assert sizes == sorted(sizes)  # a reader never sees the collection shrink while only adds happen


def test_two_writers(tmp_path):
    db_path = tmp_path / "two.db"
    FaceDatabase(db_path, embedding_size=DIM).close()
    writers = [_start_writer(db_path, 0), _start_writer(db_path, 1_000_000)]
    lines: list[list[str]] = [[], []]
    readers = [threading.Thread(target=lambda w=w, sink=sink: sink.extend(w.stdout), daemon=True)
               for w, sink in zip(writers, lines)]  # fmt: skip
    for t in readers:
        t.start()
    deadline = time.monotonic() + 240  # both writers interleave commits well before this
    while min(len(sink) for sink in lines) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    for w in writers:
        w.send_signal(signal.SIGKILL)
        w.wait()
    for t in readers:
        t.join(timeout=30)
    acked = _acked(lines[0]) | _acked(lines[1])
    assert len(_acked(lines[0])) >= 50 and len(_acked(lines[1])) >= 50
    result = verify(str(db_path), acked, sample=100)
    assert result["lost"] == 0 and result["misaligned"] == 0, result


# -- damaged files -------------------------------------------------------------------------


@pytest.fixture
def saved_db(tmp_path):
    path = tmp_path / "good.db"
    db = FaceDatabase(path, embedding_size=DIM)
    db.add_many(np.stack([vector_for(i) for i in range(300)]), [{"seq": i} for i in range(300)])
    db.close()  # checkpoints the WAL into the main file
    assert not Path(f"{path}-wal").exists()
    return path


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(10_000))
    with pytest.raises(CorruptDatabaseError, match=r"garbage\.db: not a database"):
        FaceDatabase(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(CorruptDatabaseError, match=r"empty\.db: empty file"):
        FaceDatabase(path)


def test_foreign_sqlite_file(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(CorruptDatabaseError, match=r"other\.db: an SQLite file, but not a uniface face database"):
        FaceDatabase(path)


def test_truncated_file(saved_db):
    size = saved_db.stat().st_size
    with open(saved_db, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(CorruptDatabaseError, match=r"good\.db"):
        FaceDatabase(saved_db)


def test_damaged_header(saved_db):
    with open(saved_db, "r+b") as fh:
        fh.write(b"X" * 16)
    with pytest.raises(CorruptDatabaseError, match=r"good\.db: not a database"):
        FaceDatabase(saved_db)


def test_flipped_vector_byte_is_caught_not_matched(saved_db):
    with sqlite3.connect(saved_db) as conn:
        blob = bytearray(conn.execute("SELECT vector FROM faces WHERE id = 17").fetchone()[0])
        blob[8] ^= 0x40
        conn.execute("UPDATE faces SET vector = ? WHERE id = 17", (bytes(blob),))
    with pytest.raises(CorruptDatabaseError, match=r"good\.db: face record 17 fails its checksum"):
        FaceDatabase(saved_db)


def test_edited_metadata_is_caught(saved_db):
    with sqlite3.connect(saved_db) as conn:
        conn.execute("""UPDATE faces SET metadata = '{"seq": 5}' WHERE id = 40""")  # now claims another record
    with pytest.raises(CorruptDatabaseError, match="face record 40 fails its checksum"):
        FaceDatabase(saved_db)


# -- full disk, read-only folder -------------------------------------------------------------

_FILL = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    from uniface.stores import FaceDatabase
    db = FaceDatabase(sys.argv[1], embedding_size=64)
    if sys.argv[2] == "rlimit":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
    i = 0
    try:
        while i < 100_000:
            db.add(np.random.default_rng(i).standard_normal(64), {"seq": i, "pad": "x" * 500})
            print(i, flush=True)
            i += 1
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc, flush=True)
    """
)


def _tmpfs_available() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"], capture_output=True
    )
    return probe.returncode == 0


def test_full_disk_rolls_back_and_keeps_everything_acknowledged(tmp_path):
    """A real ENOSPC on a tiny private tmpfs where we may mount one, else the file size limit (EFBIG)."""
    script = tmp_path / "fill.py"
    script.write_text(_FILL)
    if _tmpfs_available():
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        db = mnt / "full.db"
        copy = tmp_path / "copy.db"
        # The tmpfs vanishes with the namespace: copy the database out before the shell exits.
        cmd = ["unshare", "-m", "sh", "-c",
               f'mount -t tmpfs -o size=400k tmpfs "{mnt}" && "{sys.executable}" "{script}" "{db}" tmpfs; '
               f'cp "{db}" "{copy}"; [ -f "{db}-wal" ] && cp "{db}-wal" "{copy}-wal"; true']  # fmt: skip
        expected = DatabaseFullError
    else:
        copy = tmp_path / "limited.db"
        cmd = [sys.executable, str(script), str(copy), "rlimit"]
        expected = StoreError
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=120).stdout.splitlines()
    error = [line for line in out if line.startswith("ERROR")]
    assert error and error[0].split()[1] in {c.__name__ for c in expected.__mro__ if issubclass(c, StoreError)}, out
    assert "full.db" in error[0] or "limited.db" in error[0]
    acked = _acked([line for line in out if not line.startswith("ERROR")])
    assert len(acked) > 5
    db = FaceDatabase(copy)
    assert {r.metadata["seq"] for r in db} >= acked
    for seq in sorted(acked)[-5:]:
        vec = np.random.default_rng(seq).standard_normal(64)
        assert db.search(vec, threshold=0.99)[0]["seq"] == seq


_READ_ONLY = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from uniface.stores import FaceDatabase, ReadOnlyDatabaseError
    import faiss, json  # everything imported before giving up root (the interpreter's folder may be private)
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    db = FaceDatabase(sys.argv[1])
    meta, score = db.search(np.ones(4))
    print("search", json.dumps(meta), round(score, 4))
    try:
        db.add(np.ones(4), {"b": 2})
    except ReadOnlyDatabaseError as exc:
        print("add", type(exc).__name__, exc)
    try:
        FaceDatabase(sys.argv[2], embedding_size=4)
    except ReadOnlyDatabaseError as exc:
        print("create", type(exc).__name__, exc)
    """
)


def test_read_only_folder():
    """Searchable, and writes are a typed error (as root the child drops to nobody, since root ignores modes)."""
    folder = Path(tempfile.mkdtemp(prefix="uniface-ro-"))
    try:
        sub = folder / "sub"
        sub.mkdir()
        db = FaceDatabase(sub / "ro.db", embedding_size=4)
        db.add(np.ones(4), {"a": 1})
        db.close()
        os.chmod(sub / "ro.db", 0o444)
        os.chmod(sub, 0o555)
        os.chmod(folder, 0o755)
        script = folder / "ro.py"
        script.write_text(_READ_ONLY)
        os.chmod(script, 0o644)
        out = subprocess.run(
            [sys.executable, str(script), str(sub / "ro.db"), str(sub / "new.db")],
            capture_output=True, text=True, env=_env(), timeout=120,
        )  # fmt: skip
        lines = out.stdout.splitlines()
        assert lines[0] == 'search {"a": 1} 1.0', out.stderr
        assert lines[1].startswith("add ReadOnlyDatabaseError") and "ro.db" in lines[1]
        assert lines[2].startswith("create ReadOnlyDatabaseError") and "new.db" in lines[2]
    finally:
        os.chmod(folder / "sub", 0o755)
        shutil.rmtree(folder)


def test_read_only_flag(saved_db):
    db = FaceDatabase(saved_db, read_only=True)
    assert len(db) == 300
    with pytest.raises(ReadOnlyDatabaseError, match=r"good\.db: opened read-only"):
        db.add(vector_for(1), {})
    with pytest.raises(FileNotFoundError):
        FaceDatabase(saved_db.with_name("missing.db"), read_only=True)
