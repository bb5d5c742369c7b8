"""`uniface` command line: detect, verify, analyze; enroll, index, search; video.

    uniface detect IMAGE_OR_DIR... [--model NAME | --model-path FILE] [--out DIR] [--json]
    uniface verify IMAGE_A IMAGE_B [--threshold T]
    uniface analyze IMAGE_OR_DIR...
    uniface enroll NAME IMAGE... [--db DB]
    uniface index FOLDER [--db DB] [--ray [ADDRESS]]
    uniface search IMAGE [--db DB] [-k K] [--out ANNOTATED.jpg]
    uniface video INPUT [--out OUT.mp4] [--db DB]      (INPUT: a file or a webcam index)

Every image is processed independently: unreadable files, images without
faces and odd colour layouts are reported and the batch carries on; a
summary comes at the end. Progress bars are tqdm's, on stderr. Exit status:
0 when every image was read, 1 when some could not be (or a typed error such
as a corrupted database or a model mismatch), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .indexing.images import IMAGE_SUFFIXES, read_image

DEFAULT_THRESHOLD = 0.35  # cosine similarity; ArcFace-family models typically separate identities around 0.3-0.4
DEFAULT_DB = "faces.db"


# -- inputs -------------------------------------------------------------------------


def expand_inputs(items: list[str]) -> tuple[list[Path], list[str]]:
    """Files and folder contents (image suffixes, sorted); plus messages for paths that do not exist."""
    files, problems = [], []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(f"{p}: folder has no images")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems


def progress_bar(items, *, quiet: bool = False, unit: str = "img", desc: str = ""):
    """tqdm over `items` on stderr (hidden with --quiet or for a single item)."""
    from tqdm import tqdm

    items = list(items)
    return tqdm(items, unit=unit, desc=desc, disable=quiet or len(items) <= 1, leave=False)


@dataclass
class Report:
    processed: int = 0
    faces: int = 0
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.processed} image(s) processed, {self.faces} face(s) found"]
        if self.no_face:
            lines.append(f"{len(self.no_face)} image(s) with no face: {', '.join(self.no_face)}")
        if self.unreadable:
            lines.append(f"{len(self.unreadable)} image(s) could not be read:")
            lines.extend(f"  {u}" for u in self.unreadable)
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  {n}" for n in self.notes)
        return "\n".join(lines)


# -- model construction ----------------------------------------------------------------


def _detector_families():
    from .constants import RetinaFaceWeights, SCRFDWeights, YOLOv5FaceWeights, YuNetWeights
    from .detection import DETECTORS

    return DETECTORS, {
        "retinaface": RetinaFaceWeights,
        "scrfd": SCRFDWeights,
        "yolov5face": YOLOv5FaceWeights,
        "yunet": YuNetWeights,
    }


def guess_detector_family(model_path: str) -> str:
    """Detector family of an ONNX file, from its outputs (RetinaFace 3, SCRFD 9, YuNet 12, YOLOv5-Face 1 or 3 5-D)."""
    from runtime.models import read_signature

    _, outputs = read_signature(model_path)
    names = {o.name for o in outputs}
    if {"cls_8", "obj_8", "bbox_8", "kps_8"} <= names:
        return "yunet"
    if len(outputs) == 9:
        return "scrfd"
    if len(outputs) == 1 or (len(outputs) == 3 and all(len(o.shape) == 5 for o in outputs)):
        return "yolov5face"
    if len(outputs) == 3:
        return "retinaface"
    raise ValueError(f"{model_path}: cannot tell which detector this is ({len(outputs)} outputs); pass --detector")


def build_detector(args):
    detectors, families = _detector_families()
    kwargs = {"backend": args.backend}
    if args.conf is not None:
        kwargs["conf_thresh"] = args.conf
    if args.model_path:
        family = args.detector or guess_detector_family(args.model_path)
        return detectors[family](model_path=args.model_path, **kwargs)
    name = (args.model or args.detector or "retinaface").lower()
    key = name.replace("-", "").replace("_", "")
    if key in ("yolov5", "yolo"):
        key = "yolov5face"
    if key in detectors:
        return detectors[key](**kwargs)
    for family, enum in families.items():
        for member in enum:
            if name in (member.value.lower(), member.name.lower()):
                return detectors[family](model_name=member, **kwargs)
    choices = sorted(detectors) + sorted(m.value for e in families.values() for m in e)
    raise ValueError(f"unknown model {args.model!r}; choose one of: {', '.join(choices)}")


def build_recognizer(args):
    from .recognition import ArcFace, MobileFace, SphereFace

    cls = {"arcface": ArcFace, "mobileface": MobileFace, "sphereface": SphereFace}[args.recognizer]
    return (
        cls(model_path=args.recognizer_path, backend=args.backend)
        if args.recognizer_path
        else cls(backend=args.backend)
    )


# -- commands -----------------------------------------------------------------------------


def _jsonable(faces: list[dict]) -> list[dict]:
    return [
        {"bbox": [round(float(v), 2) for v in f["bbox"]], "confidence": round(float(f["confidence"]), 5),
         "landmarks": np.round(np.asarray(f["landmarks"], dtype=float), 2).tolist()}
        for f in faces
    ]  # fmt: skip


def cmd_detect(args) -> int:
    from .visualization import draw_detections

    files, problems = expand_inputs(args.images)
    report = Report(unreadable=list(problems))
    if not files:
        print(report.summary(), file=sys.stderr)
        return 1
    detector = build_detector(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results, written = {}, set()
    show_bar = not args.quiet and len(files) > 1
    for path in progress_bar(files, quiet=args.quiet, desc="detect"):
        image, note = read_image(path)
        if image is None:
            report.unreadable.append(f"{path}: {note}")
            continue
        if note:
            report.notes.append(f"{path.name}: {note}")
        faces = detector.detect(image)
        report.processed += 1
        report.faces += len(faces)
        if not faces:
            report.no_face.append(path.name)
        results[str(path)] = _jsonable(faces)
        annotated = draw_detections(image.copy(), faces, vis_threshold=0.0)
        name = f"{path.stem}.jpg"
        if name in written:  # a.png and a.jpg in one batch: keep both
            name = f"{path.stem}_{path.suffix.lstrip('.')}.jpg"
        written.add(name)
        cv2.imwrite(str(out / name), annotated)
        if not args.json and not show_bar:
            print(f"{path}: {len(faces)} face(s)")
    if args.json:
        (out / "detections.json").write_text(json.dumps(results, indent=1))
        print(json.dumps({"backend": detector.backend, "images": results}, indent=1))
    print(
        report.summary()
        + f"\nannotated images in {out}/"
        + (f", JSON in {out / 'detections.json'}" if args.json else ""),
        file=sys.stderr,
    )
    return 1 if report.unreadable else 0


def _embedding_of(path: Path, detector, recognizer) -> tuple[np.ndarray | None, str]:
    image, note = read_image(path)
    if image is None:
        return None, f"{path}: {note}"
    faces = detector.detect(image, max_num=1)
    if faces:
        return recognizer.get_normalized_embedding(image, faces[0]["landmarks"]), ""
    if image.shape[:2] == (recognizer.input_size[1], recognizer.input_size[0]):
        return recognizer.get_normalized_embedding(image, None), "no face detected; used as an already aligned crop"
    return None, f"{path}: no face found"


def cmd_verify(args) -> int:
    from .face_utils import compute_similarity

    detector = build_detector(args)
    recognizer = build_recognizer(args)
    embeddings = []
    for item in (args.image_a, args.image_b):
        path = Path(item)
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 1
        emb, note = _embedding_of(path, detector, recognizer)
        if emb is None:
            print(note, file=sys.stderr)
            return 1
        if note:
            print(f"{path.name}: {note}", file=sys.stderr)
        embeddings.append(emb)
    sim = float(compute_similarity(embeddings[0], embeddings[1]))
    verdict = "same person" if sim >= args.threshold else "different people"
    print(f"similarity: {sim:.4f}")
    print(f"verdict: {verdict} (threshold {args.threshold})")
    return 0


def cmd_analyze(args) -> int:
    from .analyzer import FaceAnalyzer
    from .attribute import AgeGender

    files, problems = expand_inputs(args.images)
    report = Report(unreadable=list(problems))
    detector = build_detector(args)
    recognizer = build_recognizer(args) if not args.no_recognizer else None
    age_gender = None
    if not args.no_age_gender:
        try:
            age_gender = (
                AgeGender(model_path=args.age_gender_path, backend=args.backend)
                if args.age_gender_path
                else AgeGender(backend=args.backend)
            )
        except (OSError, ValueError) as exc:
            report.notes.append(f"age/gender skipped: {exc}")
    analyzer = FaceAnalyzer(detector, recognizer, age_gender)
    results = {}
    for path in progress_bar(files, quiet=args.json, desc="analyze"):
        image, note = read_image(path)
        if image is None:
            report.unreadable.append(f"{path}: {note}")
            continue
        if note:
            report.notes.append(f"{path.name}: {note}")
        faces = analyzer.analyze(image)
        report.processed += 1
        report.faces += len(faces)
        if not faces:
            report.no_face.append(path.name)
        results[str(path)] = [f.to_dict() for f in faces]
        if not args.json:
            print(f"{path}: {len(faces)} face(s)")
            for i, f in enumerate(faces):
                extra = "" if f.age is None else f", {f.sex}, age {f.age}"
                emb = "" if f.embedding is None else f", {np.asarray(f.embedding).size}-d embedding"
                print(f"  #{i}: box {np.round(f.bbox).astype(int).tolist()}, confidence {f.confidence:.3f}{extra}{emb}")
    if args.json:
        for faces in results.values():
            for f in faces:
                f.pop("embedding", None)
        print(json.dumps(results, indent=1))
    print(report.summary(), file=sys.stderr)
    return 1 if report.unreadable else 0


def open_database(args, detector=None, recognizer=None):
    from .stores import FaceDatabase

    return FaceDatabase(args.db, detector=detector, recognizer=recognizer)


def cmd_enroll(args) -> int:
    detector, recognizer = build_detector(args), build_recognizer(args)
    with open_database(args, detector, recognizer) as db:
        ids = db.enroll(args.name, args.images)
        print(f"enrolled {args.name!r}: {len(ids)} face(s); {len(db)} face(s) in {db.path}")
    return 0


def cmd_index(args) -> int:
    detector_path, recognizer_path = args.model_path, args.recognizer_path
    if args.ray is not None:
        from .indexing.ray_index import index_folder_ray

        if not detector_path or not recognizer_path:
            raise ValueError("--ray needs --model-path and --recognizer-path (files every Ray worker can read)")
        report = index_folder_ray(
            args.folder, args.db, detector_path, recognizer_path, address=None if args.ray == "local" else args.ray,
            actors=args.actors, batch_size=args.group, backend=args.backend, progress=not args.quiet,
        )  # fmt: skip
    else:
        from .indexing import index_folder

        detector, recognizer = build_detector(args), build_recognizer(args)
        with open_database(args, detector, recognizer) as db:
            report = index_folder(args.folder, db, detector, recognizer, group=args.group, progress=not args.quiet)
            db.save()
    print(report.summary(), file=sys.stderr)
    return 1 if report.unreadable else 0


def cmd_search(args) -> int:
    from .indexing.images import embed_faces, load_image
    from .video import draw_track

    detector, recognizer = build_detector(args), build_recognizer(args)
    image = load_image(args.image)
    with open_database(args, detector, recognizer) as db:
        if len(db) == 0:
            raise ValueError(f"{db.path}: the database is empty (enroll people or index a folder first)")
        faces = detector.detect(image)
        if not faces:
            print(f"{args.image}: no face found", file=sys.stderr)
            return 1
        vectors = embed_faces(recognizer, image, faces)
        results = []
        for i, (face, vector) in enumerate(zip(faces, vectors)):
            matches = db.search(vector, threshold=args.threshold, k=args.k)
            results.append({"face": i, **_jsonable([face])[0], "matches": [
                {"id": m.id, "score": round(m.score, 5), "person": m.person, "metadata": m.metadata} for m in matches
            ]})  # fmt: skip
            best = (matches[0].person or _short(matches[0].metadata), matches[0].score) if matches else None
            draw_track(image, np.asarray(face["bbox"]), i, best)
    out = Path(args.out or f"{Path(args.image).stem}.search.jpg")
    if not cv2.imwrite(str(out), image):
        raise ValueError(f"{out}: cannot write the annotated picture")
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            print(f"face #{r['face']} box {[round(v) for v in r['bbox']]}:")
            if not r["matches"]:
                print(f"  no match above {args.threshold}")
            for rank, m in enumerate(r["matches"], 1):
                who = m["person"] or _short(m["metadata"])
                print(f"  {rank}. {m['score']:.4f}  {who}  (face id {m['id']})")
    print(f"annotated picture: {out}", file=sys.stderr)
    return 0


def _short(metadata: dict) -> str:
    if "file" in metadata:
        return f"{Path(metadata['file']).name}#{metadata.get('face', 0)}"
    return json.dumps(metadata)[:40]


def cmd_video(args) -> int:
    from .video import process_video

    detector = build_detector(args)
    recognizer = db = None
    if args.db:
        recognizer = build_recognizer(args)
        db = open_database(args, detector, recognizer)
    try:
        report = process_video(
            args.input, args.out, detector, recognizer=recognizer, db=db, threshold=args.threshold,
            max_frames=args.max_frames, progress=not args.quiet,
        )  # fmt: skip
    finally:
        if db is not None:
            db.close()
    print(
        f"{report.frames} frame(s) in {report.seconds:.1f}s ({report.fps:.1f} FPS), {report.tracks} track(s), "
        f"{report.identifications} identification(s); wrote {report.output}"
    )
    for track_id, (person, score) in sorted(report.identities.items()):
        print(f"  track #{track_id}: {person or 'unknown'} ({score:.3f})")
    return 0


# -- parser --------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("detector")
    g.add_argument(
        "--model", help="detector family (retinaface, scrfd, yolov5face, yunet) or weights name (e.g. scrfd_500m)"
    )
    g.add_argument("--model-path", help="local ONNX detector file (family guessed from its outputs, or --detector)")
    g.add_argument(
        "--detector", choices=["retinaface", "scrfd", "yolov5face", "yunet"], help="detector family for --model-path"
    )
    g.add_argument("--conf", type=float, help="confidence threshold (default: the detector's own)")
    p.add_argument("--backend", choices=["mlx", "onnx"], help="force a backend (default: UNIFACE_BACKEND, else MLX)")
    p.add_argument("-v", "--verbose", action="store_true", help="log model loading and backend choice")


def _recognizer_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recognizer", choices=["arcface", "mobileface", "sphereface"], default="arcface")
    p.add_argument("--recognizer-path", help="local ONNX recognizer file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uniface", description="Face detection, verification, analysis, search and video (MLX or onnxruntime)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("detect", help="detect faces; write annotated images (and JSON)")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("--out", default="annotated", help="output folder (default: ./annotated)")
    p.add_argument("--json", action="store_true", help="print detections as JSON and write OUT/detections.json")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _common(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("verify", help="are two images the same person?")
    p.add_argument("image_a")
    p.add_argument("image_b")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"cosine similarity threshold (default {DEFAULT_THRESHOLD})",
    )
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("analyze", help="detection + embedding + age/gender per face")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--age-gender-path", help="local ONNX age/gender file")
    p.add_argument("--no-recognizer", action="store_true")
    p.add_argument("--no-age-gender", action="store_true")
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("enroll", help="add a person's face(s) to a face database")
    p.add_argument("name", help="the person's name")
    p.add_argument("images", nargs="+", help="photos of that person (the largest face of each is used)")
    _db_opt(p)
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("index", help="add every face of a photo folder to a face database (resumable)")
    p.add_argument("folder")
    _db_opt(p)
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray Data (a local Ray, or the cluster at ADDRESS)")  # fmt: skip
    p.add_argument("--actors", type=int, default=None, help="Ray actors (default: one per 2 CPUs of the cluster)")
    p.add_argument("--group", type=int, default=8, help="images per batch and per transaction (default 8)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="find the closest faces in a face database")
    p.add_argument("image")
    _db_opt(p)
    p.add_argument("-k", type=int, default=5, help="matches per face (default 5)")
    p.add_argument("--threshold", type=float, default=-1.0, help="only matches scoring above this")
    p.add_argument("--out", help="annotated picture (default: IMAGE_STEM.search.jpg)")
    p.add_argument("--json", action="store_true", help="print matches as JSON")
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("video", help="detect, track and identify faces in a video or webcam stream")
    p.add_argument("input", help="video file, or a webcam index such as 0")
    p.add_argument("--out", default="annotated.mp4", help="annotated video (default: annotated.mp4)")
    p.add_argument("--db", help="face database to identify each track against (once per track)")
    p.add_argument("--threshold", type=float, default=0.4, help="similarity needed to name a track (default 0.4)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames (webcams run until then)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _common(p)
    _recognizer_opts(p)
    p.set_defaults(func=cmd_video)
    return parser


def _db_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=DEFAULT_DB, help=f"face database file or folder (default: ./{DEFAULT_DB})")


def main(argv: list[str] | None = None) -> int:
    from .stores.errors import StoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if getattr(args, "model", None) and getattr(args, "model_path", None):
        parser.error("--model and --model-path are alternatives; give one")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, ConnectionError, RuntimeError, StoreError) as exc:
        print(f"uniface {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
