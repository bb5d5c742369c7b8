"""Benchmarks of the face pipeline: indexing throughput, vector search, video FPS, SIGKILL durability.

    python tools/bench_pipeline.py                       # everything but the optional search sweeps (~1 h)
    python tools/bench_pipeline.py --sections index,video --rounds 5
    python tools/bench_pipeline.py --sections search     # 10k-1M random vectors, threshold, clustered (~30 min)
    python tools/bench_pipeline.py --sections search --sizes 1000000 --dims 512 --methods scan,store
    python tools/bench_pipeline.py --sections search-alternatives,hnsw-variants   # what the scan was chosen over
    python tools/bench_pipeline.py --report              # re-render docs/pipeline.md from the saved JSON

Each section's results are merged into docs/pipeline.json; docs/pipeline.md
and docs/pipeline.png are rendered from it. Sections:

- index: faces/s on the shared photos (each file 3 times under different
  names): upstream uniface 4.2.1 on onnxruntime (installed into its own venv,
  run as a subprocess on the same files), ours one image at a time (detect,
  then one embedding per face), and ours pipelined (`index_folder`: decode
  ahead in threads, all faces of a group embedded in one batch, one durable
  transaction per group). Rounds alternate the three; medians are reported.
- search: latency p50/p99 (wall, and CPU of the query's critical path) and
  recall@10 against the exact top-10, at 10k-1M random unit vectors: numpy
  brute force, faiss IndexFlatIP, faiss and usearch HNSW (up to
  --hnsw-max), the store's compressed scan (PQ fast-scan re-ranked exactly,
  1 and 2 threads) and `FaceDatabase.search` itself; exact vs scan at small
  n (the store's switch); clustered face-like vectors (tools/bench_search.py).
- search-alternatives, hnsw-variants: the other indexes the scan was chosen
  over, at 1M (and HNSW graphs at --hnsw-max); not in the default run.
- video: FPS of detect + track (+ identify once per track) on the synthetic clip.
- crash: SIGKILL trials (tools/store_crash.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Single-query latency: one BLAS thread. A matrix-vector product is memory-bound, and a team of threads
# that must all be scheduled turns every query into a wait when the cores are shared (measured: 10k x 128
# brute force, p50 0.2 ms with one thread, 50 ms with two on a busy machine). The store's scan splits one
# query over cores itself (shards on threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning on a core

import numpy as np  # noqa: E402

SHARED = REPO / ".." / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"
SCRFD_FILE = MODELS / "scrfd_500m_kps.onnx"
RECOGNIZER_FILE = MODELS / "mobilefacenet_prelu_128d.onnx"
RESULTS = REPO / "docs" / "pipeline.json"
UPSTREAM_VENV = Path(os.environ.get("UNIFACE4_VENV", "/work/venvs/uniface4-stores"))


# -- indexing ---------------------------------------------------------------------------------


def upstream_python() -> Path:
    """The venv with upstream uniface 4.2.1 + onnxruntime, created on first use."""
    python = UPSTREAM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(UPSTREAM_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "uniface==4.2.1", "onnxruntime", "faiss-cpu"], check=True
        )
    return python


def photo_folder(tmp: Path, copies: int = 3) -> Path:
    folder = tmp / "photos"
    folder.mkdir()
    for k in range(copies):
        for src in sorted(IMAGES.glob("*.jpg")):
            os.symlink(src.resolve(), folder / f"{k}_{src.name}")
    return folder


def bench_index(rounds: int) -> dict:
    from uniface import SCRFD, MobileFace
    from uniface.indexing import index_folder
    from uniface.stores import FaceDatabase

    python = upstream_python()
    detector = SCRFD(model_path=SCRFD_FILE)
    recognizer = MobileFace(model_path=RECOGNIZER_FILE)
    runs = {"upstream": [], "single": [], "pipeline": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = photo_folder(tmp)
        files = sorted(str(p) for p in folder.iterdir())
        import cv2

        def single() -> tuple[int, float]:
            started, faces = time.perf_counter(), 0
            for path in files:
                image = cv2.imread(path)
                for face in detector.detect(image):
                    recognizer.get_normalized_embedding(image, face["landmarks"])
                    faces += 1
            return faces, time.perf_counter() - started

        def pipeline(r: int) -> tuple[int, float]:
            db = FaceDatabase(tmp / f"bench{r}.db", recognizer=recognizer)
            report = index_folder(folder, db, detector, recognizer, progress=False)
            db.close()
            return report.faces, report.seconds

        # Upstream must import its own uniface, not this checkout's (which PYTHONPATH may point at).
        upstream_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        single()  # warm-up: translations of every batch size
        pipeline(-1)
        upstream_embeddings = None
        for r in range(rounds):
            out = subprocess.run(
                [str(python), str(REPO / "tools" / "upstream_index.py"), str(SCRFD_FILE), str(RECOGNIZER_FILE), *files],
                capture_output=True, text=True, check=True, env=upstream_env,
            )  # fmt: skip
            up = json.loads(out.stdout)
            runs["upstream"].append(up["faces"] / up["seconds"])
            upstream_embeddings = up["embeddings"]
            faces, seconds = single()
            runs["single"].append(faces / seconds)
            faces, seconds = pipeline(r)
            runs["pipeline"].append(faces / seconds)
            print(f"index round {r}: " + ", ".join(f"{k} {v[-1]:.1f} faces/s" for k, v in runs.items()), flush=True)
        agreement = embedding_agreement(tmp / "bench0.db", upstream_embeddings)
    med = {k: float(np.median(v)) for k, v in runs.items()}
    return {
        "files": len(files),
        "faces": faces,
        "rounds": rounds,
        "faces_per_s": med,
        "all_runs": runs,
        "speedup_single": med["single"] / med["upstream"],
        "speedup_pipeline": med["pipeline"] / med["upstream"],
        "upstream_agreement": agreement,
    }


def embedding_agreement(db_path: Path, upstream: dict) -> dict:
    """Same faces per file as upstream, and the cosine of our embedding with upstream's for each face."""
    from uniface.stores import FaceDatabase

    ours: dict[str, dict[int, np.ndarray]] = {}
    for record in FaceDatabase(db_path):
        name = os.path.basename(record.metadata["file"])
        ours.setdefault(name, {})[record.metadata["face"]] = record.embedding
    counts_equal, cosines = True, []
    for path, faces in upstream.items():
        mine = ours.get(os.path.basename(path), {})
        counts_equal &= len(mine) == len(faces)
        for i, emb in enumerate(faces):
            if i in mine:
                cosines.append(float(np.dot(mine[i], emb) / np.linalg.norm(emb)))
    return {"face_counts_equal": bool(counts_equal), "faces": len(cosines), "min_cosine": min(cosines, default=0.0)}


# -- video and crash ------------------------------------------------------------------------------


def bench_video(rounds: int) -> dict:
    from uniface import SCRFD, MobileFace
    from uniface.stores import FaceDatabase
    from uniface.video import process_video

    from tools.synthetic_clip import build_clip, enrollment_images, score_tracks

    detector = SCRFD(model_path=SCRFD_FILE)
    recognizer = MobileFace(model_path=RECOGNIZER_FILE)
    out = {"frames": 0, "fps_track": [], "fps_identify": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        truth = build_clip(tmp / "clip.mp4", frames=150)
        db = FaceDatabase(tmp / "people.db", detector=detector, recognizer=recognizer)
        for name, image in enrollment_images().items():
            db.enroll(name, [image])
        process_video(tmp / "clip.mp4", tmp / "warm.mp4", detector, max_frames=5, progress=False)
        for _ in range(rounds):
            plain = process_video(tmp / "clip.mp4", tmp / "a.mp4", detector, progress=False)
            named = process_video(tmp / "clip.mp4", tmp / "b.mp4", detector, recognizer=recognizer, db=db,
                                  progress=False)  # fmt: skip
            out["fps_track"].append(plain.fps)
            out["fps_identify"].append(named.fps)
        score = score_tracks(truth, named.per_frame)
        out.update(
            frames=named.frames, tracks=named.tracks, identifications=named.identifications,
            id_switches=score["id_switches"], segments=score["segments"], coverage=score["coverage"],
            identities_correct=all(
                named.identities[t][0] == truth.person[s] for s, t in score["track_of_segment"].items()
            ),
        )  # fmt: skip
    out["fps_track"] = float(np.median(out["fps_track"]))
    out["fps_identify"] = float(np.median(out["fps_identify"]))
    return out


def bench_writes(dim: int = 128, per_transaction: int = 20, transactions: int = 200) -> dict:
    """How fast one process can commit faces (durability='full', one fsync per transaction): the bound on a
    single database writer that collects results from many indexing nodes."""
    from uniface.stores import FaceDatabase

    from tools.bench_search import unit_vectors

    data = unit_vectors(per_transaction * transactions, dim, seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        db = FaceDatabase(Path(tmp) / "w.db", embedding_size=dim)
        started = time.perf_counter()
        for t in range(transactions):
            chunk = data[t * per_transaction : (t + 1) * per_transaction]
            db.add_many(chunk, [{"file": f"/photos/{t}.jpg", "face": i} for i in range(len(chunk))],
                        files=[(f"/photos/{t}.jpg", 1, 1, len(chunk), "")])  # fmt: skip
        seconds = time.perf_counter() - started
        db.close()
    return {"dim": dim, "faces_per_transaction": per_transaction, "transactions_per_s": transactions / seconds,
            "faces_per_s": per_transaction * transactions / seconds}  # fmt: skip


def run_search(args: argparse.Namespace, sections: list[str]) -> tuple[list[dict], list[dict]]:
    """The search sections asked for, and a record of the run (load average before and after: wall times depend
    on it)."""
    from uniface.stores.pqscan import default_threads

    from tools import bench_search as bs

    dims = [int(d) for d in args.dims.split(",")]
    threads = args.search_threads or default_threads()
    started, load = time.time(), os.getloadavg()[0]
    rows = []
    if "search" in sections:
        sizes = [int(s) for s in args.sizes.split(",")]
        efs = [int(e) for e in args.efs.split(",")]
        rows += bs.bench_main(sizes, dims, efs, args.methods.split(","), args.hnsw_max, args.usearch_max,
                              args.store_max, threads)  # fmt: skip
        if args.threshold_sizes:
            rows += bs.bench_threshold([int(s) for s in args.threshold_sizes.split(",")], dims, threads)
        if args.clustered:
            rows += bs.bench_clustered(args.clustered, dims, threads)
    if "search-alternatives" in sections:
        rows += bs.bench_alternatives(1_000_000, dims)
    if "hnsw-variants" in sections:
        rows += bs.bench_hnsw_variants(args.hnsw_max, 128, [int(e) for e in args.efs.split(",")])
    run = {"sections": [s for s in sections if s.startswith("search") or s == "hnsw-variants"], "dims": dims,
           "load_average_start": load, "load_average_end": os.getloadavg()[0], "bandwidth_gb_s": bs.bandwidth(),
           "minutes": (time.time() - started) / 60, "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    return rows, [run]


def search_key(row: dict) -> tuple:
    """What a row measures. `FaceDatabase` rows measure the store's defaults, whatever they are: a new row replaces
    the old one even when the defaults (e.g. its candidates) changed in between."""
    setting = "-" if row["method"].startswith("FaceDatabase") else row.get("setting", "-")
    return (row.get("data", "random"), row.get("table", "main"), row["n"], row["d"], row["method"], setting,
            row.get("threads", 1))  # fmt: skip


def merge_search(old: list[dict], new: list[dict]) -> list[dict]:
    """New rows replace old ones measuring the same thing; rows of methods the store no longer has are dropped."""
    done = {search_key(r) for r in new}
    kept = [older_row(r) for r in old if r["method"] != "FaceDatabase (HNSW)"]
    return [r for r in kept if search_key(r) not in done] + new


def older_row(row: dict) -> dict:
    """Rows written before the search table had data/table/setting/threads (HNSW M=32, efC=128, one thread)."""
    if "setting" in row:
        return row
    setting = f"M=32 efC=128 ef {row['ef']}" if row.get("ef") else "-"
    return {"data": "random", "table": "main", "setting": setting, "threads": 1, **row}


def bench_crash(trials: int) -> dict:
    from tools.store_crash import run_trials

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        totals = run_trials(trials, tmp)
        totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals


# -- report -------------------------------------------------------------------------------------


def machine() -> dict:
    from opset import native

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "isa": native.isa() if native.available() else "none",
        "python": platform.python_version(),
        "load_average": os.getloadavg()[0],
    }


def render(results: dict) -> None:
    from tools.pipeline_report import write_report

    write_report(results, REPO / "docs" / "pipeline.md", REPO / "docs" / "pipeline.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="index,search,video,crash,writes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dims", default="128,512")
    parser.add_argument("--efs", default="64,128,256,512,1024")
    parser.add_argument("--methods", default="exact,hnsw,usearch,scan,store", help="search methods of the main table")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build an HNSW graph at")
    parser.add_argument("--usearch-max", type=int, default=100_000, help="largest size to build usearch at")
    parser.add_argument("--store-max", type=int, default=1_000_000, help="largest size to build a FaceDatabase at")
    parser.add_argument("--threshold-sizes", default="2000,5000,10000,20000,50000", help="exact vs scan ('' skips)")
    parser.add_argument("--clustered", type=int, default=1_000_000, help="size of the clustered run (0 skips)")
    parser.add_argument("--search-threads", type=int, default=None, help="shards of the scan (default: cores)")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--report", action="store_true", help="only re-render docs/pipeline.md from the JSON")
    parser.add_argument("--json", type=Path, default=RESULTS, help="results file to merge into (default: docs/)")
    parser.add_argument("--merge", type=Path, action="append", default=[], help="merge sections from another run")
    args = parser.parse_args(argv)
    path = args.json
    results = json.loads(path.read_text()) if path.exists() else {}
    for other in args.merge:
        extra = json.loads(other.read_text())
        for key, value in extra.items():
            if key == "search":
                results["search"] = merge_search(results.get("search", []), value)
            elif key == "search_runs":
                results[key] = results.get(key, []) + value
            elif key != "machine" or "machine" not in results:
                results[key] = value
    if not args.report:
        sections = args.sections.split(",")
        results.setdefault("machine", {})
        results["machine"] = machine()
        if "index" in sections:
            results["index"] = bench_index(args.rounds)
        if "video" in sections:
            results["video"] = bench_video(max(1, args.rounds // 2))
        if any(s.startswith("search") or s == "hnsw-variants" for s in sections):
            new, runs = run_search(args, sections)
            results["search"] = merge_search(results.get("search", []), new)
            results["search_runs"] = results.get("search_runs", []) + runs
        if "crash" in sections:
            results["crash"] = bench_crash(args.trials)
        if "writes" in sections:
            results["writes"] = bench_writes()
        path.write_text(json.dumps(results, indent=1))
    if path == RESULTS or args.merge:
        RESULTS.write_text(json.dumps(results, indent=1))
        render(results)
        print(f"wrote {RESULTS}, docs/pipeline.md, docs/pipeline.png")
    else:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
