"""Index a photo collection on Ray Data: an actor pool holds the models, the driver writes the database in order.

    report = index_folder_ray("photos/", "faces.db", "scrfd_500m_kps.onnx", "mobilefacenet.onnx")

The file list becomes a Ray dataset; `map_batches` runs on a pool of actors,
each of which opens one detector and one recognizer when it starts (the MLX
translation comes from the on-disk translation cache, so it is translated at
most once per machine) and returns, per file, its faces as JSON and their
embeddings as float32 bytes. The driver consumes the batches in order and
writes each one into the SQLite database in one transaction, with the files'
done marks, so a run can be killed and resumed like the in-process one.

Actors ask for half a CPU each: an actor pool that claims every CPU leaves
none for Ray's read tasks, and the dataset never finishes (measured on a
2-core machine; see docs/pipeline.md). Ray workers are fresh processes, not
forks of a process that already ran MLX (which would hang).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .pipeline import FileResult, IndexReport, _load, _tally, detect_and_embed, pending_files, write_results

ACTOR_CPUS = 0.5


class FaceEmbedder:
    """A Ray actor: one detector and one recognizer, opened once; `__call__` embeds a batch of file paths."""

    def __init__(self, detector_path: str, recognizer_path: str, detector_family: str, backend: str | None) -> None:
        from uniface.detection import DETECTORS
        from uniface.recognition import ArcFace

        self.detector = DETECTORS[detector_family](model_path=detector_path, backend=backend)
        self.recognizer = ArcFace(model_path=recognizer_path, backend=backend)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        loaded = [_load(Path(str(p))) for p in batch["path"]]
        detect_and_embed(self.detector, self.recognizer, loaded)
        return to_columns([r for r, _ in loaded])


def to_columns(results: list[FileResult]) -> dict[str, np.ndarray]:
    """Per-file results as flat columns (strings, ints, bytes) that Arrow carries without ragged arrays."""
    faces = [
        json.dumps(
            [
                {"bbox": f["bbox"].tolist(), "confidence": f["confidence"], "landmarks": f["landmarks"].tolist()}
                for f in r.faces
            ]
        )
        for r in results
    ]
    embeddings = [b"" if r.embeddings is None else np.ascontiguousarray(r.embeddings, "<f4").tobytes() for r in results]
    return {
        "path": np.array([r.path for r in results], dtype=object),
        "size": np.array([r.size for r in results], dtype=np.int64),
        "mtime_ns": np.array([r.mtime_ns for r in results], dtype=np.int64),
        "note": np.array([r.note for r in results], dtype=object),
        "readable": np.array([r.readable for r in results], dtype=bool),
        "faces": np.array(faces, dtype=object),
        "embeddings": np.array(embeddings, dtype=object),
    }


def from_columns(batch: dict[str, np.ndarray], dim: int) -> list[FileResult]:
    out = []
    for i in range(len(batch["path"])):
        faces = [
            {"bbox": np.array(f["bbox"]), "confidence": f["confidence"], "landmarks": np.array(f["landmarks"])}
            for f in json.loads(batch["faces"][i])
        ]
        blob = batch["embeddings"][i]
        emb = np.frombuffer(blob, dtype="<f4").reshape(-1, dim) if faces else None
        out.append(
            FileResult(
                str(batch["path"][i]),
                int(batch["size"][i]),
                int(batch["mtime_ns"][i]),
                faces,
                emb,
                str(batch["note"][i]),
                bool(batch["readable"][i]),
            )  # fmt: skip
        )
    return out


def index_folder_ray(
    folder: str | os.PathLike,
    db_path: str | os.PathLike,
    detector_path: str | os.PathLike,
    recognizer_path: str | os.PathLike,
    *,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int = 8,
    backend: str | None = None,
    detector_family: str | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
) -> IndexReport:
    """Index every face under `folder` into the database at `db_path`, the models running on Ray actors.

    `address`: a Ray cluster (None starts or joins a local Ray with `num_cpus`).
    `actors`: actor pool size (default: one per two CPUs of the cluster, at least one).
    """
    import ray
    from tqdm import tqdm

    from ..cli import guess_detector_family
    from ..stores import FaceDatabase

    detector_path, recognizer_path = os.path.abspath(detector_path), os.path.abspath(recognizer_path)
    family = detector_family or guess_detector_family(detector_path)
    db = FaceDatabase(db_path, recognizer=recognizer_path)
    try:
        todo, skipped = pending_files(folder, db)
        report = IndexReport(skipped=skipped)
        if not todo:
            return report
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in ("UNIFACE_CACHE_DIR", "UNIFACE_BACKEND") if k in os.environ}
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                runtime_env={"env_vars": env} if env else None,
                include_dashboard=False,
                logging_level="WARNING",
                log_to_driver=False,
                ignore_reinit_error=True,
            )
        pool = actors or max(1, int(ray.cluster_resources().get("CPU", 2)) // 2)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # results come back in file order, so writes are in order
        ctx.enable_progress_bars = False
        dataset = ray.data.from_items([{"path": str(p)} for p in todo]).map_batches(
            FaceEmbedder,
            fn_constructor_kwargs={
                "detector_path": detector_path, "recognizer_path": recognizer_path,
                "detector_family": family, "backend": backend,
            },
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=pool),
            num_cpus=ACTOR_CPUS,
        )  # fmt: skip
        started = time.perf_counter()
        with tqdm(total=len(todo), unit="img", desc="index (ray)", disable=not progress) as bar:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                results = from_columns(batch, db.embedding_size)
                report.faces += write_results(db, results)
                _tally(report, results)
                bar.update(len(results))
        report.seconds = time.perf_counter() - started
        db.save()
        return report
    finally:
        db.close()


__all__ = ["FaceEmbedder", "index_folder_ray"]
