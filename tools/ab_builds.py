"""Two builds of the native kernels in one process: a saved copy of the extension against the one built here.

    cp opset/native/_kernels.*.so /tmp/before.so        # before a kernel change
    python setup.py build_ext --inplace                 # after it
    python tools/ab_builds.py /tmp/before.so [--models scrfd_640,yolov5n] [--runs 100] [--image]

A change inside the C++ kernels has no translation-time switch for `tools/bench.py --ab`, and alternating
two repositories in separate processes sees this VM's drift (10-30% over minutes) more than a 5% change.
Here both extensions are loaded side by side (each keeps its own thread pool and packed-weight cache);
each model is traced once with each build's primitives and the two sessions run alternately, 2 ms apart
(so one pool's spinning workers have stopped before the other runs), order swapped every round.
Prints each build's median forward, the ratio, and the largest relative difference of their outputs.
For changes inside the kernels: both builds run today's translation, so they must accept the same calls.
Speed is a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opset import native  # noqa: E402
from runtime import InferenceSession  # noqa: E402

import numpy as np  # noqa: E402

from tools.zoo import ZOO  # noqa: E402


def load_extension(path: str):
    """The extension at `path` as a module of its own, beside opset.native's."""
    loader = importlib.machinery.ExtensionFileLoader("_kernels", path)
    spec = importlib.util.spec_from_file_location("_kernels", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def session_with(ext, key: str, image: bool, cache: str) -> tuple[InferenceSession, str, np.ndarray]:
    """A session traced while `ext` is opset.native's extension (its primitives stay in the trace)."""
    z = ZOO[key]
    x = z.make_image() if image else z.make_input()
    saved = native._ext
    native._ext = ext
    try:
        s = InferenceSession(str(z.path), image_input=z.image_input() if image else None, cache_dir=cache)
        name = s.get_inputs()[0].name
        for _ in range(5):
            s.run(None, {name: x})
    finally:
        native._ext = saved
    return s, name, x


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", help="the other build's extension (.so)")
    ap.add_argument("--models", default="scrfd_640,yolov5n,yunet,retinaface,mobilefacenet")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--image", action="store_true", help="the translations reading the 8-bit image")
    args = ap.parse_args()
    if not native.available():
        print(f"native kernels not built here: {native.UNAVAILABLE_REASON}", file=sys.stderr)
        return 1
    builds = {"base": load_extension(args.base), "here": native._ext}
    for ext in builds.values():
        ext.set_num_threads(native.num_threads())
    print(f"native kernels: {native.isa()}, {native.num_threads()} threads; base {args.base}")
    for key in args.models.split(","):
        sessions = {
            tag: session_with(ext, key, args.image, f"/tmp/ab_builds_{tag}_{'image' if args.image else 'tensor'}")
            for tag, ext in builds.items()
        }
        outs = {tag: s.run(None, {name: x}) for tag, (s, name, x) in sessions.items()}
        diff = max(float(np.abs(a - b).max() / (np.abs(b).max() or 1.0)) for a, b in zip(outs["here"], outs["base"]))
        times: dict[str, list[float]] = {tag: [] for tag in sessions}
        for i in range(args.runs):
            for tag in ("base", "here") if i % 2 else ("here", "base"):
                s, name, x = sessions[tag]
                time.sleep(0.002)
                t0 = time.perf_counter()
                s.run(None, {name: x})
                times[tag].append(time.perf_counter() - t0)
        base, here = (statistics.median(times[t]) * 1e3 for t in ("base", "here"))
        print(f"{ZOO[key].label}{' image' if args.image else ''}: base {base:.2f} ms, here {here:.2f} ms, "
              f"here/base {here / base:.3f}; outputs differ by {diff:.1e} (relative)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
