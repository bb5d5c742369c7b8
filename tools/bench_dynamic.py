"""One dynamic translation versus one translation per input size, in one process.

For SCRFD and YuNet at several input sizes: latency of the per-size translation
(what a session does by default for dynamic dims: shape sub-graphs fold to
constants) against the one dynamic translation (`dynamic=True`: every size
from one program, shapes read at run time), alternating blocks as
tools/bench.py does; plus what each costs to set up for a new size.
Prints a markdown table for docs/benchmarks.md. A benchmark, never a test.

    python tools/bench_dynamic.py [--runs 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runtime  # noqa: E402,F401  (fast BLAS before MLX)
from runtime.session import InferenceSession  # noqa: E402

import numpy as np  # noqa: E402

from tools.zoo import MODELS, nchw, photo  # noqa: E402

CASES = [
    (
        "SCRFD-500M",
        "scrfd_500m_kps.onnx",
        lambda img: nchw((img - 127.5) / 127.5),
        [(640, 640), (480, 640), (320, 320)],
    ),
    ("YuNet", "face_detection_yunet_2023mar.onnx", nchw, [(640, 640), (480, 640), (320, 320)]),
]


def measure(runs: int, block: int = 5, mode: str = "module") -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, file, prep, sizes in CASES:
            t0 = time.perf_counter()
            dyn = InferenceSession(MODELS / file, mode=mode, cache_dir=Path(tmp) / f"{file}-dyn", dynamic=True)
            dyn_setup = time.perf_counter() - t0
            name = dyn.get_inputs()[0].name
            for hw in sizes:
                x = prep(photo(hw))
                per = InferenceSession(MODELS / file, mode=mode, cache_dir=Path(tmp) / f"{file}-{hw}", dynamic=False)
                t0 = time.perf_counter()
                if per.dynamic:  # SCRFD: translated on the first run at this size
                    per.run(None, {name: x})
                else:  # YuNet's declared 640x640: the per-size translation is the declared one (other sizes refused)
                    if hw != (640, 640):
                        continue
                    per.run(None, {name: x})
                per_first = time.perf_counter() - t0
                t0 = time.perf_counter()
                dyn.run(None, {name: x})
                dyn_first = time.perf_counter() - t0
                engines = {
                    "per-size": lambda s=per, feed={name: x}: s.run(None, feed),
                    "dynamic": lambda s=dyn, feed={name: x}: s.run(None, feed),
                }
                for fn in engines.values():
                    for _ in range(3):
                        fn()
                times = {k: [] for k in engines}
                order = list(engines)
                for r in range((runs + block - 1) // block):
                    for k in order[r % 2 :] + order[: r % 2]:
                        time.sleep(0.03)
                        for _ in range(block):
                            t = time.perf_counter()
                            engines[k]()
                            times[k].append((time.perf_counter() - t) * 1000)
                med = {k: float(np.median(v)) for k, v in times.items()}
                rows.append({"model": label, "size": f"{hw[1]}x{hw[0]}", "per_ms": med["per-size"], "dyn_ms": med["dynamic"],
                             "per_first_s": per_first, "dyn_first_s": dyn_first, "dyn_setup_s": dyn_setup})  # fmt: skip
                print(rows[-1], flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| model | input (WxH) | per-size ms | dynamic ms | dynamic/per-size | first run at a new size: per-size s | dynamic s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['size']} | {r['per_ms']:.1f} | {r['dyn_ms']:.1f} | {r['dyn_ms'] / r['per_ms']:.2f} | "
            f"{r['per_first_s']:.2f} | {r['dyn_first_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--mode", default="module", choices=("module", "oplist"))
    args = p.parse_args(argv)
    print(table(measure(args.runs, mode=args.mode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
