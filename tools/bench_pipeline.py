"""Benchmarks of the face pipeline: indexing throughput, vector search, video FPS, SIGKILL durability.

    python tools/bench_pipeline.py                       # everything (the 1M-vector builds take a while)
    python tools/bench_pipeline.py --sections index,video --rounds 5
    python tools/bench_pipeline.py --sections search --sizes 10000,100000 --dims 128
    python tools/bench_pipeline.py --report              # re-render docs/pipeline.md from the saved JSON

Each section's results are merged into docs/pipeline.json; docs/pipeline.md
and docs/pipeline.png are rendered from it. Sections:

- index: faces/s on the shared photos (each file 3 times under different
  names): upstream uniface 4.2.1 on onnxruntime (installed into its own venv,
  run as a subprocess on the same files), ours one image at a time (detect,
  then one embedding per face), and ours pipelined (`index_folder`: decode
  ahead in threads, all faces of a group embedded in one batch, one durable
  transaction per group). Rounds alternate the three; medians are reported.
- search: latency p50/p99 and recall@10 (against exact top-10) for random
  unit vectors: numpy brute force, faiss IndexFlatIP, faiss HNSW and usearch
  HNSW at several `ef`, and the FaceDatabase search itself (HNSW candidates
  re-scored from SQLite) where it fits in time.
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
# brute force, p50 0.2 ms with one thread, 50 ms with two on a busy machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SHARED = REPO / ".." / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"
SCRFD_FILE = MODELS / "scrfd_500m_kps.onnx"
RECOGNIZER_FILE = MODELS / "mobilefacenet_prelu_128d.onnx"
RESULTS = REPO / "docs" / "pipeline.json"
UPSTREAM_VENV = Path(os.environ.get("UNIFACE4_VENV", "/work/venvs/uniface4-stores"))
QUERIES = 200


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


# -- search -----------------------------------------------------------------------------------


def unit_vectors(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), d), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), 10), dtype=np.int64)
    for i in range(0, len(queries), 20):
        scores = queries[i : i + 20] @ data.T
        part = np.argpartition(-scores, 9, axis=1)[:, :10]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        out[i : i + 20] = np.take_along_axis(part, order, 1)
    return out


def timed(fn, queries) -> tuple[list, float, float, float, float]:
    """Results and (wall p50, wall p99, CPU p50, CPU p99) in ms. A single-query search runs on the calling
    thread (one BLAS / OpenMP thread), so its thread CPU time is what its latency would be on an idle core;
    the wall time also counts the time other processes held the core (this machine is shared)."""
    results, wall, cpu = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        results.append(fn(q))
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    w, c = np.array(wall) * 1e3, np.array(cpu) * 1e3
    return results, *(float(np.percentile(x, p)) for x in (w, c) for p in (50, 99))


def recall(found: list, truth: np.ndarray) -> float:
    return float(np.mean([len(set(np.asarray(f)[:10].tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))


def numpy_top10(data: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = data @ q
    part = np.argpartition(-scores, 9)[:10]
    return part[np.argsort(-scores[part])]


def bench_search(sizes: list[int], dims: list[int], efs: list[int], usearch_max: int, store_max: int) -> list[dict]:
    from uniface.stores.vectors import HNSW_EF_CONSTRUCTION, HNSW_M

    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 2)
    rows = []
    for d in dims:
        for n in sizes:
            data = unit_vectors(n, d, seed=n + d)
            queries = unit_vectors(QUERIES, d, seed=1)
            truth = exact_top10(data, queries)
            rows += search_rows(n, d, "numpy brute force", [None], lambda q, _ef, x=data: numpy_top10(x, q),
                                queries[:50], truth)  # fmt: skip
            flat = faiss.IndexFlatIP(d)
            flat.add(data)
            rows += search_rows(n, d, "faiss IndexFlatIP", [None], lambda q, _ef, x=flat: x.search(q[None], 10)[1][0],
                                queries[:50], truth)  # fmt: skip
            del flat
            hnsw = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            t = time.perf_counter()
            hnsw.add(data)
            build = time.perf_counter() - t

            def faiss_search(q, ef, x=hnsw):
                x.hnsw.efSearch = ef
                return x.search(q[None], 10)[1][0]

            rows += search_rows(n, d, "faiss HNSW", efs, faiss_search, queries, truth, build)
            del hnsw
            if n <= usearch_max:
                from usearch.index import Index

                index = Index(ndim=d, metric="ip", dtype="f32", connectivity=HNSW_M,
                              expansion_add=HNSW_EF_CONSTRUCTION)  # fmt: skip
                t = time.perf_counter()
                index.add(np.arange(n), data, threads=os.cpu_count() or 2)
                build = time.perf_counter() - t

                def usearch_search(q, ef, x=index):
                    x.expansion_search = ef
                    return x.search(q, 10).keys

                rows += search_rows(n, d, "usearch HNSW", efs, usearch_search, queries, truth, build)
                del index
            if n <= store_max:
                rows += bench_store(data, queries, truth, efs)
    return rows


def search_rows(n, d, method, efs, search, queries, truth, build=None) -> list[dict]:
    """One row per ef: p50/p99 latency of single queries and recall@10. faiss runs one OpenMP thread here,
    since a one-query search gains nothing from a team of threads and suffers when the cores are busy."""
    import faiss

    faiss.omp_set_num_threads(1)
    rows = []
    for ef in efs:
        search(queries[0], ef)  # set ef, warm caches
        found, p50, p99, cpu50, cpu99 = timed(lambda q, ef=ef: search(q, ef), queries)
        row = {"n": n, "d": d, "method": method, "ef": ef, "p50_ms": p50, "p99_ms": p99, "cpu_p50_ms": cpu50,
               "cpu_p99_ms": cpu99, "recall10": recall(found, truth[: len(queries)]), "build_s": build}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    faiss.omp_set_num_threads(os.cpu_count() or 2)
    return rows


def bench_store(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, efs: list[int]) -> list[dict]:
    """FaceDatabase.search end to end (exact below its threshold; HNSW + re-scoring from SQLite above)."""
    from uniface.stores import FaceDatabase

    n, d = data.shape
    with tempfile.TemporaryDirectory() as tmp:
        db = FaceDatabase(Path(tmp) / "bench.db", embedding_size=d, durability="normal")
        t = time.perf_counter()
        for start in range(0, n, 50_000):
            db.add_many(data[start : start + 50_000], [{"i": i} for i in range(start, min(n, start + 50_000))])
        build = time.perf_counter() - t
        hnsw = db.index.ann is not None

        def search(q, ef):
            if hnsw:
                db.index.ann.hnsw.efSearch = ef
            return [m.id - 1 for m in db.search(q, threshold=-1, k=10)]

        rows = search_rows(n, d, f"FaceDatabase ({'HNSW' if hnsw else 'exact'})", efs if hnsw else [None], search,
                           queries, truth, build)  # fmt: skip
        db.close()
    return rows


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


def bench_crash(trials: int) -> dict:
    from tools.store_crash import run_trials

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        totals = run_trials(trials, tmp)
        totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals


# -- report -------------------------------------------------------------------------------------


def machine() -> dict:
    from runtime import native

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
    parser.add_argument("--usearch-max", type=int, default=100_000, help="largest size to build usearch at")
    parser.add_argument("--store-max", type=int, default=100_000, help="largest size to build a FaceDatabase at")
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
                done = {(r["n"], r["d"]) for r in value}
                results["search"] = [r for r in results.get("search", []) if (r["n"], r["d"]) not in done] + value
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
        if "search" in sections:
            new = bench_search(
                [int(s) for s in args.sizes.split(",")], [int(d) for d in args.dims.split(",")],
                [int(e) for e in args.efs.split(",")], args.usearch_max, args.store_max,
            )  # fmt: skip
            done = {(r["n"], r["d"]) for r in new}
            results["search"] = [r for r in results.get("search", []) if (r["n"], r["d"]) not in done] + new
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
