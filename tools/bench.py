"""Latency of translated models against onnxruntime and onnx2mlx, in one process.

For each zoo model: build every engine, warm up, then alternate single runs
(A B C D A B C D ...) so drift hits all engines alike; report the median and
the p10-p90 spread. Peak RSS is measured per engine in a fresh subprocess
(RSS is per process). Writes docs/benchmarks.md and docs/benchmarks.png.
Speed is a benchmark, never a test: nothing here gates CI.

    python tools/bench.py [--runs 30] [--models retinaface,scrfd_640]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runtime  # noqa: E402  (fast BLAS before MLX, for every MLX engine here)
from opset import native  # noqa: E402
from translator.api import translate  # noqa: E402
from translator.version import __version__  # noqa: E402

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from tools.zoo import ZOO  # noqa: E402

ENGINES = ("onnxruntime", "module", "oplist", "onnx2mlx")
DEFAULT_MODELS = ("retinaface", "scrfd_640", "yunet", "yolov5n", "mobilefacenet")


def build(engine: str, path: Path, x: np.ndarray, workdir: Path, tune: bool = False):
    """A zero-argument callable running one inference (inputs converted, outputs materialized).

    "module[VAR=value]" is the module engine translated with the environment variable VAR set to
    value (translation-time switches, for A/B pairs in one process: `--ab VAR=a,b`)."""
    if engine.startswith("module[") and engine.endswith("]"):
        var, _, value = engine[len("module[") : -1].partition("=")
        old = os.environ.get(var)
        os.environ[var] = value
        try:
            return build("module", path, x, workdir / engine.replace("=", "_").replace("[", "_").rstrip("]"), tune)
        finally:
            if old is None:
                del os.environ[var]
            else:
                os.environ[var] = old
    if engine == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if native.num_threads() != (os.cpu_count() or 1):  # --threads: both engines on as many threads
            opts.intra_op_num_threads = native.num_threads()
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda: sess.run(None, {name: x})
    if engine in ("module", "oplist"):
        from runtime.session import InferenceSession

        # The default translation (native kernels where built); tune=True times conv strategies and mx.compile.
        sess = InferenceSession(path, mode=engine, cache_dir=workdir / engine, tune=tune)
        name = sess.get_inputs()[0].name
        sess.run(None, {name: x})
        return lambda: sess.run(None, {name: x})
    if engine == "onnx2mlx":
        import onnx
        import onnx2mlx

        fn = onnx2mlx.convert_to_mlx(onnx.load(str(path)))

        def run():
            out = fn(mx.array(x))
            outs = out if isinstance(out, (list, tuple)) else [out]
            mx.eval(*outs)
            return [np.array(o) for o in outs]

        return run
    raise ValueError(engine)


def measure(
    models: list[str], runs: int, warmup: int, block: int = 5, tune: bool = False, engines_run=ENGINES,
    settle_ms: float = 30.0,
) -> dict:  # fmt: skip
    """Engines take turns in blocks of `block` runs (rotating who goes first), so drift hits all alike.

    Each block starts after a `settle_ms` pause: onnxruntime's pool keeps spinning about 20 ms after a
    run (measured), and without the pause it competed with the first two runs of the next engine's block.
    """
    results = {}
    for key in models:
        z = ZOO[key]
        x = z.make_input()
        t0 = time.perf_counter()
        translate(z.path, input_shapes=None)
        convert_s = time.perf_counter() - t0
        engines, errors = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for e in engines_run:
                try:
                    engines[e] = build(e, z.path, x, Path(tmp), tune)
                    for _ in range(warmup):
                        engines[e]()
                except Exception as exc:  # a competitor failing is a result, not a crash
                    errors[e] = f"{type(exc).__name__}: {str(exc)[:120]}"
            times: dict[str, list[float]] = {e: [] for e in engines}
            order = list(engines)
            for r in range((runs + block - 1) // block):
                for e in order[r % len(order) :] + order[: r % len(order)]:
                    time.sleep(settle_ms / 1000)
                    for _ in range(block):
                        t = time.perf_counter()
                        engines[e]()
                        times[e].append((time.perf_counter() - t) * 1000)
        stats = {}
        for e, ts in times.items():
            q = np.percentile(ts, [10, 50, 90])
            stats[e] = {"median_ms": float(q[1]), "p10_ms": float(q[0]), "p90_ms": float(q[2])}
        results[key] = {"label": z.label, "convert_s": convert_s, "stats": stats, "errors": errors}
        print(f"{z.label}: " + ", ".join(f"{e} {s['median_ms']:.1f} ms" for e, s in stats.items()), flush=True)
    return results


def peak_rss(model: str, engine: str) -> float | None:
    """Peak RSS (MiB) of a fresh process that builds `engine` and runs it 5 times."""
    proc = subprocess.run(
        [sys.executable, __file__, "--rss", model, engine], capture_output=True, text=True, timeout=600
    )
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _rss_child(model: str, engine: str) -> None:
    z = ZOO[model]
    with tempfile.TemporaryDirectory() as tmp:
        fn = build(engine, z.path, z.make_input(), Path(tmp))
        for _ in range(5):
            fn()
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak.
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    print(int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def write_report(
    results: dict, rss: dict, runs: int, out_md: Path, out_png: Path, block: int = 5, settle_ms: float = 30.0
) -> str:
    blas = runtime.active_blas()
    lines = [
        "# Benchmarks",
        "",
        f"`python tools/bench.py` (translator {__version__}, MLX {mx.__version__}, {platform.machine()}, "
        f"{mx.default_device()}, BLAS: {blas.name}, native kernels: {native.isa() or 'unavailable'} "
        f"({native.num_threads()} threads, spin {native.spin_us()} us), "
        f"{runs} runs per engine in alternating blocks of {block} after warm-up, each block after a "
        f"{settle_ms:g} ms pause, one process).",
        "Times are medians with the p10-p90 spread; ratios use medians. Peak RSS is measured in a fresh process per engine.",
        "This is a benchmark, not a test: the machine is shared, so re-run before drawing fine conclusions.",
        "",
        "| model | onnxruntime ms | module ms | oplist ms | onnx2mlx ms | ours/ort (module) | ours/ort (oplist) | oplist/module | onnx2mlx/ours | convert s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        s = r["stats"]

        def cell(e, s=s, r=r):
            if e not in s:
                return "failed" if e in r["errors"] else "-"
            return f"{s[e]['median_ms']:.1f} ({s[e]['p10_ms']:.1f}-{s[e]['p90_ms']:.1f})"

        def ratio(a, b, s=s):
            return f"{s[a]['median_ms'] / s[b]['median_ms']:.2f}" if a in s and b in s else "-"

        lines.append(
            f"| {r['label']} | {cell('onnxruntime')} | {cell('module')} | {cell('oplist')} | {cell('onnx2mlx')} | "
            f"{ratio('module', 'onnxruntime')} | {ratio('oplist', 'onnxruntime')} | {ratio('oplist', 'module')} | "
            f"{ratio('onnx2mlx', 'module')} | {r['convert_s']:.2f} |"
        )
    if rss:
        lines += ["", "## Peak RSS (MiB, fresh process per engine)", "", "| model | " + " | ".join(ENGINES) + " |",
                  "|---|" + "---|" * len(ENGINES)]  # fmt: skip
        for key, per in rss.items():
            lines.append(f"| {results[key]['label']} | " + " | ".join(f"{per.get(e) or 0:.0f}" for e in ENGINES) + " |")
    errs = [(results[k]["label"], e, msg) for k in results for e, msg in results[k]["errors"].items()]
    if errs:
        lines += ["", "## Engines that failed", ""] + [f"- {label}, {e}: {msg}" for label, e, msg in errs]
    lines += ["", f"![latency chart]({out_png.name})", ""]
    text = "\n".join(lines)
    out_md.write_text(text)
    _chart(results, out_png)
    return text


def _chart(results: dict, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in results.values()]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.2
    for i, e in enumerate(ENGINES):
        vals = [r["stats"].get(e, {}).get("median_ms", 0) for r in results.values()]
        ax.bar(np.arange(len(labels)) + (i - 1.5) * width, vals, width, label=e)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("median latency (ms, lower is better)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS))
    p.add_argument("--no-rss", action="store_true")
    p.add_argument("--block", type=int, default=5, help="runs per engine per turn")
    p.add_argument("--settle-ms", type=float, default=30.0, help="pause before each block (other pools stop spinning)")
    p.add_argument("--tune", action="store_true", help="translate ours with tune=True")
    p.add_argument("--engines", default=",".join(ENGINES), help="subset of " + ",".join(ENGINES))
    p.add_argument("--threads", type=int, help="threads for both engines (default: each engine's own, the cores)")
    p.add_argument("--ab", metavar="VAR=A,B", help="A/B of a translation-time switch: the module engine per value")
    p.add_argument("--rss", nargs=2, metavar=("MODEL", "ENGINE"), help=argparse.SUPPRESS)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    if args.rss:
        _rss_child(*args.rss)
        return 0
    models = [m for m in args.models.split(",") if m]
    if args.threads:
        native.set_num_threads(args.threads)
    if args.ab:
        var, _, values = args.ab.partition("=")
        engines = [f"module[{var}={v}]" for v in values.split(",")]
        results = measure(models, args.runs, args.warmup, args.block, args.tune, engines, args.settle_ms)
        for r in results.values():
            base = r["stats"][engines[0]]["median_ms"]
            print(f"{r['label']}: " + ", ".join(
                f"{e} {s['median_ms']:.2f} ms ({s['p10_ms']:.2f}-{s['p90_ms']:.2f}) x{s['median_ms'] / base:.3f}"
                for e, s in r["stats"].items()))  # fmt: skip
        return 0
    results = measure(models, args.runs, args.warmup, args.block, args.tune, args.engines.split(","), args.settle_ms)
    rss = {} if args.no_rss else {m: {e: peak_rss(m, e) for e in ENGINES} for m in models}
    out = Path(args.out)
    text = write_report(results, rss, args.runs, out, out.with_suffix(".png"), args.block, args.settle_ms)
    print(text)
    (out.with_suffix(".json")).write_text(json.dumps({"results": results, "rss": rss}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
