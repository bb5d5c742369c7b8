"""SIGKILL trials for the face database: a child adds in a loop and is killed at a random moment.

    python -m tools.store_crash --trials 200 [--dir DIR]

Each trial starts a child on the same database; the child prints the
sequence number of every add *after* it returned (acknowledged), and saves
the search index cache every few adds, so kills land inside transactions, between
them and inside cache writes. After each kill the database is reopened and
checked: every acknowledged record is present, every row's vector is the
one its metadata says it should be, and searching each sampled vector finds
its own metadata first (index and metadata agree). CI runs a few trials
(tests/uniface/stores/test_crash.py); this tool runs the full count for
docs/pipeline.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DIM = 32
ANN_THRESHOLD = 300  # small, so the compressed-scan index and its cache file are exercised too
REPO = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 300  # seconds for a child to open the database and acknowledge its first add


def vector_for(seq: int) -> np.ndarray:
    """The vector that record `seq` must carry (a pure function of seq, so rows can be checked)."""
    v = np.random.default_rng(seq).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def _stores_only():
    """`uniface.stores` without running `uniface/__init__` (which loads every model family and MLX):
    the store needs only SQLite, numpy and faiss, and a child that starts in a third of the time
    makes the trial loop three times faster."""
    import types

    if "uniface" not in sys.modules:
        package = types.ModuleType("uniface")
        package.__path__ = [str(REPO / "uniface")]
        sys.modules["uniface"] = package
    from uniface.stores import FaceDatabase

    return FaceDatabase


def child(db_path: str, start: int) -> None:
    FaceDatabase = _stores_only()

    db = FaceDatabase(db_path, embedding_size=DIM, ann_threshold=ANN_THRESHOLD)
    print("ready", flush=True)
    seq = start
    while True:
        if seq % 7 == 0:  # a batch: all three or none
            ids = range(seq, seq + 3)
            db.add_many(np.stack([vector_for(i) for i in ids]), [{"seq": i} for i in ids])
            print(" ".join(str(i) for i in ids), flush=True)
            seq += 3
        else:
            db.add(vector_for(seq), {"seq": seq, "note": "x" * (seq % 50)})
            print(seq, flush=True)
            seq += 1
        if seq % 40 < 3:
            db.save()


def verify(db_path: str, acknowledged: set[int], sample: int = 50, rng: random.Random | None = None) -> dict:
    """Reopen and check; returns counts of lost and misaligned records (both must be 0)."""
    from uniface.stores import FaceDatabase

    rng = rng or random.Random(0)
    db = FaceDatabase(db_path, ann_threshold=ANN_THRESHOLD)
    try:
        seen, misaligned = set(), 0
        for record in db:
            seq = record.metadata["seq"]
            seen.add(seq)
            if not np.allclose(record.embedding, vector_for(seq), atol=1e-6):
                misaligned += 1
        lost = len(acknowledged - seen)
        for seq in rng.sample(sorted(acknowledged), min(sample, len(acknowledged))):
            meta, score = db.search(vector_for(seq), threshold=0.99)
            if meta is None or meta["seq"] != seq:
                misaligned += 1
        return {"records": len(seen), "lost": lost, "misaligned": misaligned}
    finally:
        db.close()


def run_trials(trials: int, folder: str | os.PathLike, seed: int = 0, max_wait: float = 0.4) -> dict:
    """Run `trials` kill/reopen rounds on one database in `folder`; returns totals."""
    rng = random.Random(seed)
    db_path = str(Path(folder) / "crash.db")
    acknowledged: set[int] = set()
    totals = {"trials": 0, "kills_mid_run": 0, "records": 0, "lost": 0, "misaligned": 0, "acknowledged": 0}
    next_seq = 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for _ in range(trials):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.store_crash", "--child", db_path, str(next_seq)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=env,
            text=True,
        )
        watchdog = threading.Timer(CHILD_TIMEOUT, proc.kill)  # a child that never gets going fails the trial
        watchdog.start()
        ready = proc.stdout.readline()
        first = proc.stdout.readline()  # the first acknowledged add: the child is in its loop (even on a busy machine)
        watchdog.cancel()
        if ready.strip() != "ready" or not first.strip():
            proc.kill()
            raise RuntimeError(f"crash child failed to start: {ready!r} {first!r} {proc.stderr.read()[-2000:]}")
        time.sleep(rng.uniform(0.0, max_wait))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        totals["kills_mid_run"] += proc.returncode == -signal.SIGKILL
        for line in [first, *out.splitlines()]:
            parts = line.split()
            if parts and all(p.isdigit() for p in parts):
                acknowledged.update(int(p) for p in parts)
        # Unacknowledged records may or may not have landed; either way the next child starts past them.
        next_seq = max(acknowledged | {next_seq}) + 4
        result = verify(db_path, acknowledged, rng=rng)
        totals["trials"] += 1
        totals["lost"] += result["lost"]
        totals["misaligned"] += result["misaligned"]
        totals["records"] = result["records"]
    totals["acknowledged"] = len(acknowledged)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--dir", help="folder for the database (default: a temporary one)")
    parser.add_argument("--child", nargs=2, metavar=("DB", "START"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        totals = run_trials(args.trials, args.dir or tmp)
        totals["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(totals))
    return 0 if totals["lost"] == 0 and totals["misaligned"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
