"""`uniface` command line: detect, verify, analyze.

    uniface detect IMAGE_OR_DIR... [--model NAME | --model-path FILE] [--out DIR] [--json]
    uniface verify IMAGE_A IMAGE_B [--threshold T]
    uniface analyze IMAGE_OR_DIR...

Every image is processed independently: unreadable files, images without
faces and odd colour layouts are reported and the batch carries on; a
summary comes at the end. Exit status: 0 when every image was read, 1 when
some could not be, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from runtime.face.preprocess import ensure_bgr

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
DEFAULT_THRESHOLD = 0.35  # cosine similarity; ArcFace-family models typically separate identities around 0.3-0.4


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


def read_image(path: Path) -> tuple[np.ndarray | None, str]:
    """(BGR uint8 image or None, note): grayscale/alpha/16-bit images are converted, with a note saying so."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        return None, "unreadable (not an image, or a format OpenCV cannot decode)"
    note = ""
    if raw.ndim == 2 or (raw.ndim == 3 and raw.shape[2] == 1):
        note = "grayscale, converted to BGR"
    elif raw.ndim == 3 and raw.shape[2] == 4:
        note = "had an alpha channel, dropped"
    if raw.dtype != np.uint8:
        note = (note + "; " if note else "") + f"{raw.dtype} pixels scaled to 8-bit"
    try:
        return ensure_bgr(raw), note
    except ValueError as exc:
        return None, f"unsupported image layout: {exc}"


class Progress:
    """A one-line progress bar on stderr (only when there is more than one item)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.done = total, 0
        self.enabled = enabled and total > 1

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label[:40]:<40}")
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    progress = Progress(len(files), enabled=not args.quiet)
    for path in files:
        image, note = read_image(path)
        progress.step(path.name)
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
        if not args.json and not progress.enabled:
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
    for path in files:
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
        prog="uniface", description="Face detection, verification and analysis (MLX or onnxruntime)."
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if getattr(args, "model", None) and getattr(args, "model_path", None):
        parser.error("--model and --model-path are alternatives; give one")
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, ConnectionError, RuntimeError) as exc:
        print(f"uniface {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
