"""End to end, as a user sees it: `SCRFD.detect()` plus one embedding per face, over real photos.

Pipelines (each a zero-argument callable running one pass over the photos):
- "mlx": our facade on the MLX backend (the default translations);
- "onnx": our facade with `backend="onnx"`: the same pre- and post-processing, onnxruntime underneath;
- "mlx image-in": our facade's MLX runners swapped for runners translated with the 8-bit image input
  (`open_model(..., image_input=...)`), the way the facade will call them once wired (preprocess only
  crops and resizes; normalization and layout happen inside the network);
- "uniface 4.2.1": upstream uniface with onnxruntime, in its own venv, driven through a child process
  that runs blocks of passes on request (so its blocks alternate with ours like any other engine).

Upstream's SCRFD-500M file is byte-identical to ours; its ArcFace slot is given MobileFaceNet (the
recognizer whose weights exist here) by replacing its weight lookup in the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DETECTOR = SHARED / "models" / "scrfd_500m_kps.onnx"
RECOGNIZER = SHARED / "models" / "mobilefacenet_prelu_128d.onnx"
PHOTOS = ("uniface_test.jpg", "uniface_src_friends.jpg", "uniface_src_meeting.jpg", "insightface_t1.jpg",
          "yolov5face_zidane.jpg", "lfw_Rob_Lowe_0001.jpg")  # fmt: skip
UPSTREAM_VENV = Path(os.environ.get("UNIFACE4_BENCH_VENV", "/work/venvs/uniface4-bench"))


def photos() -> list[np.ndarray]:
    import cv2

    images = [cv2.imread(str(SHARED / "images" / name)) for name in PHOTOS]
    missing = [n for n, im in zip(PHOTOS, images) if im is None]
    if missing:
        raise FileNotFoundError(f"photos missing from {SHARED / 'images'}: {missing}")
    return images


def _pass(detector, recognizer, images) -> int:
    faces = 0
    for img in images:
        for face in detector.detect(img):
            landmarks = face["landmarks"] if isinstance(face, dict) else face.landmarks
            recognizer.get_normalized_embedding(img, landmarks)
            faces += 1
    return faces


def ours(backend: str, image_input: bool = False):
    """Our facade's pipeline on `backend`; with image_input, its MLX runners take the 8-bit image."""
    from uniface import SCRFD, ArcFace

    det = SCRFD(model_path=DETECTOR, backend=backend)
    rec = ArcFace(model_path=RECOGNIZER, backend=backend)
    if image_input:
        _wire_image_input(det, rec)
    images = photos()
    return lambda: _pass(det, rec, images)


def _wire_image_input(det, rec) -> None:
    """What the facade change amounts to (see docs/benchmarks.md): open the runners with the model's
    normalization as `image_input`, and hand them the resized uint8 image instead of a float blob."""
    from runtime.models import open_model
    from translator.image_input import ImageInput
    from uniface.model_store import cache_dir

    import cv2

    cache = cache_dir() / "mlx"
    shape = {det.inputs[0].name: (1, 3, det.input_size[1], det.input_size[0])}
    det.session = open_model(det.model_path, "mlx", cache_dir=cache, input_shapes=shape,
                             image_input=ImageInput(127.5, 127.5))  # fmt: skip
    det.preprocess = lambda canvas: canvas[None]  # uint8 NHWC: the network normalizes
    rec.session = open_model(rec.model_path, "mlx", cache_dir=cache, image_input=ImageInput(127.5, 127.5, True),
                             input_shapes={rec.input_name: (1, 3, rec.input_size[1], rec.input_size[0])})  # fmt: skip
    size = rec.input_size
    rec.preprocess = lambda face: (face if face.shape[1::-1] == size else cv2.resize(face, size))[None]


# -- upstream uniface 4.2.1, in its own venv ---------------------------------------------------------

_CHILD = r"""
import json, os, sys, tempfile, time
cache = tempfile.mkdtemp(prefix="uniface4-bench-")
os.symlink(sys.argv[1], os.path.join(cache, "scrfd_500m.onnx"))  # upstream's file name for SCRFD_500M_KPS
os.environ["UNIFACE_CACHE_DIR"] = cache
import cv2, uniface
import uniface.recognition.arcface as arcface
from uniface.constants import SCRFDWeights
arcface.verify_model_weights = lambda *a, **k: sys.argv[2]  # the ArcFace slot runs MobileFaceNet
det, rec = uniface.SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS), uniface.ArcFace()
images = [cv2.imread(p) for p in sys.argv[3:]]
def one_pass():
    n = 0
    for img in images:
        for f in det.detect(img):
            rec.get_normalized_embedding(img, f.landmarks if hasattr(f, "landmarks") else f["landmarks"]); n += 1
    return n
print(json.dumps({"version": uniface.__version__, "faces": one_pass()}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t = time.perf_counter(); one_pass(); times.append((time.perf_counter() - t) * 1000)
    print(json.dumps(times), flush=True)
"""


class Upstream:
    """uniface 4.2.1 in a child process: `run(k)` runs k passes there and returns their times (ms)."""

    def __init__(self, venv: Path = UPSTREAM_VENV):
        python = venv / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(
                f"{python}: create it with `python -m venv {venv} && {venv}/bin/pip install uniface==4.2.1 onnxruntime`"
            )
        paths = [str(SHARED / "images" / p) for p in PHOTOS]
        # a clean environment: our PYTHONPATH would put this project's uniface in place of upstream's
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "UNIFACE", "MLX_UNIFACE"))}
        self.proc = subprocess.Popen([str(python), "-c", _CHILD, str(DETECTOR), str(RECOGNIZER), *paths],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=tempfile.gettempdir())  # fmt: skip
        self.info = json.loads(self.proc.stdout.readline())

    def run(self, k: int) -> list[float]:
        self.proc.stdin.write(f"{k}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def measure(runs: int, block: int = 3, settle_ms: float = 30.0, upstream: bool = True) -> dict:
    """Median ms per pass (p10-p90) of each pipeline, in alternating blocks."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["UNIFACE_CACHE_DIR"] = cache  # fresh translations, never a stale cache entry
        engines = {"mlx": ours("mlx"), "onnx": ours("onnx"), "mlx image-in": ours("mlx", image_input=True)}
        faces = {name: fn() for name, fn in engines.items()}  # warm-up (and the face count)
        up = None
        if upstream:
            try:
                up = Upstream()
                faces["uniface 4.2.1"] = up.info["faces"]
            except (FileNotFoundError, OSError, ValueError) as exc:
                print(f"upstream uniface skipped: {exc}", file=sys.stderr)
        times: dict[str, list[float]] = {name: [] for name in faces}
        order = list(times)
        try:
            for r in range((runs + block - 1) // block):
                for name in order[r % len(order) :] + order[: r % len(order)]:
                    time.sleep(settle_ms / 1000)
                    if name == "uniface 4.2.1":
                        times[name] += up.run(block)
                        continue
                    for _ in range(block):
                        t = time.perf_counter()
                        engines[name]()
                        times[name].append((time.perf_counter() - t) * 1000)
        finally:
            if up is not None:
                up.close()
    stats = {}
    for name, ts in times.items():
        q = np.percentile(ts, [10, 50, 90])
        stats[name] = {"median_ms": float(q[1]), "p10_ms": float(q[0]), "p90_ms": float(q[2]), "faces": faces[name]}
    if up is not None:
        stats["uniface 4.2.1"]["version"] = up.info["version"]
    return stats
