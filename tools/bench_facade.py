"""End to end, as a user sees it: `SCRFD.detect()` plus one embedding per face, over real photos.

Pipelines (each a zero-argument callable running one pass over the photos):
- "mlx": our facade on the MLX backend as it ships: the networks read the 8-bit image (the translations
  made with the image input; preprocessing only resizes, pads and aligns in OpenCV);
- "mlx float-in": the same with `UNIFACE_IMAGE_INPUT=0`: the float tensor made in numpy, fed to the
  default translations (generated/ where the sha256 matches);
- "onnx": our facade with `backend="onnx"`: the same pre- and post-processing, onnxruntime underneath;
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


def ours(backend: str, image_input: bool = True):
    """Our facade's pipeline on `backend`; image_input=False constructs it with `UNIFACE_IMAGE_INPUT=0`."""
    from uniface import SCRFD, ArcFace
    from uniface.backend import IMAGE_INPUT_ENV_VAR

    previous = os.environ.get(IMAGE_INPUT_ENV_VAR)
    os.environ[IMAGE_INPUT_ENV_VAR] = "1" if image_input else "0"  # read when a model is constructed
    try:
        det = SCRFD(model_path=DETECTOR, backend=backend)
        rec = ArcFace(model_path=RECOGNIZER, backend=backend)
    finally:
        if previous is None:
            os.environ.pop(IMAGE_INPUT_ENV_VAR)
        else:
            os.environ[IMAGE_INPUT_ENV_VAR] = previous
    assert det.takes_images == rec.takes_images == image_input
    images = photos()
    return lambda: _pass(det, rec, images)


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
        engines = {"mlx": ours("mlx"), "mlx float-in": ours("mlx", image_input=False), "onnx": ours("onnx")}
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
