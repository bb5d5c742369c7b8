"""Speed of translated models against onnxruntime (and onnx2mlx, and upstream uniface), in one process.

    python tools/bench.py                      # every section below; rewrites their tables in docs/benchmarks.md
    python tools/bench.py --sections models,avx2 [--runs 40] [--models retinaface,scrfd_640]
    python tools/bench.py --ab MLX_UNIFACE_WINOGRAD=0,auto   # A/B of a translation-time switch, one process

Sections (each a table between `<!-- bench:NAME -->` markers in docs/benchmarks.md):
- models     ours (module, oplist) against onnxruntime on the tensor each model takes, default threads;
- models-1t  the same with one thread each (steadier on a busy machine);
- avx2       `models` with our AVX2 table forced (a child process with MLX_UNIFACE_ISA=avx2); onnxruntime
             keeps AVX-512 there, so those ratios are pessimistic for us;
- image      from the 8-bit image: onnxruntime fed numpy's float blob, against ours reading the image itself;
- batch      images per second at batch 1, 4 and 8 (models whose batch dim is not fixed by the graph);
- facade     end to end, SCRFD.detect() plus an embedding per face (tools/bench_facade.py): ours on MLX
             (image in), ours on MLX fed float tensors (UNIFACE_IMAGE_INPUT=0), ours on onnxruntime,
             upstream uniface 4.2.1 (its own venv);
- engines    all four engines with onnx2mlx, and peak RSS per engine in fresh processes (slow).

Engines take turns in blocks of runs, each block after a pause (onnxruntime's pool spins ~20 ms after a
run), rotating who goes first, so drift hits all alike; medians with the p10-p90 spread; ratios use medians.
Speed is a benchmark, never a test: nothing here gates CI.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runtime  # noqa: E402, F401  (fast BLAS before MLX, for every MLX engine here)
from opset import native  # noqa: E402
from translator.api import translate  # noqa: E402
from translator.version import __version__  # noqa: E402

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from tools.zoo import ZOO  # noqa: E402

ENGINES = ("onnxruntime", "module", "oplist", "onnx2mlx")
DEFAULT_MODELS = ("retinaface", "scrfd_640", "yunet", "yolov5n", "mobilefacenet")
SECTIONS = ("models", "models-1t", "avx2", "image", "batch", "facade", "engines")
BATCHES = (1, 4, 8)
DOC = ROOT / "docs" / "benchmarks.md"


# -- engines ----------------------------------------------------------------------------------------


def _ort_session(path, threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path) if not isinstance(path, bytes) else path, opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip


def build(engine: str, key: str, workdir: Path, tune: bool = False, threads: int | None = None) -> Callable:
    """A zero-argument callable running one inference of zoo model `key` (inputs converted, outputs
    materialized, as a caller would).

    - "onnxruntime", "module", "oplist", "onnx2mlx": on the float tensor the model takes;
    - "onnxruntime image", "module image": from the 8-bit image (numpy's blob for onnxruntime; the
      translation with the image input for ours);
    - "module[VAR=value]", "module image[VAR=value]": the module engine translated with environment variable
      VAR=value (`--ab`, `--ab --ab-image`).
    """
    z = ZOO[key]
    switched = re.fullmatch(r"(module(?: image)?)\[(\w+)=(.*)\]", engine)
    if switched:
        base, var, value = switched.groups()
        old = os.environ.get(var)
        os.environ[var] = value
        try:
            return build(base, key, workdir / re.sub(r"\W", "_", engine), tune, threads)
        finally:
            if old is None:
                del os.environ[var]
            else:
                os.environ[var] = old
    if engine == "onnxruntime":
        sess, x = _ort_session(z.path, threads), z.make_input()
        name = sess.get_inputs()[0].name
        return lambda: sess.run(None, {name: x})
    if engine in ("module", "oplist"):
        from runtime.session import InferenceSession

        # The default translation (native kernels where built); tune=True times conv strategies and mx.compile.
        sess, x = InferenceSession(z.path, mode=engine, cache_dir=workdir / engine, tune=tune), z.make_input()
        name = sess.get_inputs()[0].name
        return lambda: sess.run(None, {name: x})
    if engine in ("onnxruntime image", "module image"):
        from runtime.models import open_model

        img = z.make_image()
        shape = {_input_name(z.path): tuple(z.make_input().shape)}
        backend = "onnx" if engine.startswith("onnx") else "mlx"
        runner = open_model(z.path, backend, cache_dir=workdir / "image", input_shapes=shape,
                            image_input=z.image_input())  # fmt: skip
        if backend == "onnx" and threads:
            runner.session = _ort_session(z.path, threads)
        return lambda: runner.run_image(img)
    if engine == "onnx2mlx":
        import onnx
        import onnx2mlx

        fn, x = onnx2mlx.convert_to_mlx(onnx.load(str(z.path))), z.make_input()

        def run():
            out = fn(mx.array(x))
            outs = out if isinstance(out, (list, tuple)) else [out]
            mx.eval(*outs)
            return [np.array(o) for o in outs]

        return run
    raise ValueError(engine)


def _input_name(path) -> str:
    from runtime.models import read_signature

    return read_signature(path)[0][0].name


def alternate(engines: dict[str, Callable], runs: int, block: int, settle_ms: float) -> dict[str, dict]:
    """Engines take turns in blocks of `block` runs (rotating who goes first), so drift hits all alike.

    Each block starts after a `settle_ms` pause: onnxruntime's pool keeps spinning about 20 ms after a
    run (measured), and without the pause it competed with the first two runs of the next engine's block.
    """
    times: dict[str, list[float]] = {e: [] for e in engines}
    order = list(engines)
    for r in range((runs + block - 1) // block):
        for e in order[r % len(order) :] + order[: r % len(order)]:
            time.sleep(settle_ms / 1000)
            for _ in range(block):
                t = time.perf_counter()
                engines[e]()
                times[e].append((time.perf_counter() - t) * 1000)
    return {e: _stats(ts) for e, ts in times.items()}


def _stats(ts: list[float]) -> dict:
    q = np.percentile(ts, [10, 50, 90])
    return {"median_ms": float(q[1]), "p10_ms": float(q[0]), "p90_ms": float(q[2])}


def measure(
    models: list[str], runs: int, warmup: int, block: int = 5, tune: bool = False, engines_run=ENGINES,
    settle_ms: float = 30.0, threads: int | None = None,
) -> dict:  # fmt: skip
    results = {}
    for key in models:
        z = ZOO[key]
        t0 = time.perf_counter()
        translate(z.path, input_shapes=None)
        convert_s = time.perf_counter() - t0
        engines, errors = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for e in engines_run:
                try:
                    engines[e] = build(e, key, Path(tmp), tune, threads)
                    for _ in range(warmup):
                        engines[e]()
                except Exception as exc:  # a competitor failing is a result, not a crash
                    errors[e] = f"{type(exc).__name__}: {str(exc)[:120]}"
            stats = alternate(engines, runs, block, settle_ms)
        results[key] = {"label": z.label, "convert_s": convert_s, "stats": stats, "errors": errors}
        print(f"{z.label}: " + ", ".join(f"{e} {s['median_ms']:.2f} ms" for e, s in stats.items()), flush=True)
    return results


# -- batch throughput ---------------------------------------------------------------------------------


def batch_model(key: str) -> tuple[bytes | None, str]:
    """The zoo model with its batch dim made symbolic, or (None, why) if the graph pins it: onnxruntime
    then fails at a batch of 2 (RetinaFace's third head reshapes to [1, -1, 4]; YOLOv5n's channel
    shuffles to [1, 2, 32, 80, 80]), and so does our translation with every dim freed (dynamic=True)."""
    import re

    import onnx

    model = onnx.load(str(ZOO[key].path))
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = "N"
    data = model.SerializeToString()
    x = ZOO[key].make_input()
    try:
        _ort_session(data).run(None, {_input_name(ZOO[key].path): np.concatenate([x, x])})
    except Exception as exc:
        where = re.search(r"running (\w+) node\. Name:'([^']+)'", str(exc))
        node = f" (onnxruntime at batch 2 fails in {where[1]} {where[2]})" if where else ""
        return None, f"the graph hard-codes batch 1 in a Reshape constant{node}"
    return data, ""


def measure_batches(models: list[str], runs: int, block: int, settle_ms: float) -> dict:
    """Images per second at each batch size: onnxruntime and our module engine on the same batches, ours
    as it runs (sub-batches where runtime/session.py splits) and with every batch run whole."""
    from runtime.models import image_blob
    from runtime.session import InferenceSession

    results = {}
    for key in models:
        data, why = batch_model(key)
        if data is None:
            results[key] = {"label": ZOO[key].label, "fixed": why}
            print(f"{ZOO[key].label}: {why}", flush=True)
            continue
        name, x1, img1, norm = (
            _input_name(ZOO[key].path),
            ZOO[key].make_input(),
            ZOO[key].make_image(),
            ZOO[key].image_input(),
        )
        per = {}
        with tempfile.TemporaryDirectory() as tmp:
            for b in BATCHES:
                x = np.ascontiguousarray(np.concatenate([x1] * b))
                imgs = np.ascontiguousarray(np.concatenate([img1] * b))
                ort_sess = _ort_session(data)
                ours = InferenceSession(data, mode="module", cache_dir=Path(tmp) / f"b{b}")
                ours_image = InferenceSession(data, mode="module", cache_dir=Path(tmp) / f"i{b}", image_input=norm)
                engines = {"onnxruntime": lambda s=ort_sess, x=x, n=name: s.run(None, {n: x}),
                           "module": lambda s=ours, x=x, n=name: s.run(None, {n: x}),
                           "onnxruntime image": lambda s=ort_sess, i=imgs, n=name, z=norm: s.run(None, {n: image_blob(i, z)}),
                           "module image": lambda s=ours_image, i=imgs, n=name: s.run(None, {n: i})}  # fmt: skip
                if b > 1:
                    whole = InferenceSession(data, mode="module", cache_dir=Path(tmp) / f"b{b}", sub_batch_mb=0)
                    engines["module whole"] = lambda s=whole, x=x, n=name: s.run(None, {n: x})
                for fn in engines.values():
                    fn()
                stats = alternate(engines, max(block, runs // b), block, settle_ms)
                per[b] = {e: {**s, "images_per_s": 1000 * b / s["median_ms"]} for e, s in stats.items()}
                print(f"{ZOO[key].label} batch {b}: " + ", ".join(
                    f"{e} {s['images_per_s']:.0f}/s" for e, s in per[b].items()), flush=True)  # fmt: skip
        results[key] = {"label": ZOO[key].label, "batches": per}
    return results


# -- peak RSS -----------------------------------------------------------------------------------------


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
    with tempfile.TemporaryDirectory() as tmp:
        fn = build(engine, model, Path(tmp))
        for _ in range(5):
            fn()
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak.
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    print(int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# -- tables -------------------------------------------------------------------------------------------


def _cell(s: dict | None) -> str:
    return "-" if s is None else f"{s['median_ms']:.1f} ({s['p10_ms']:.1f}-{s['p90_ms']:.1f})"


def _ratio(a: dict | None, b: dict | None) -> str:
    return "-" if a is None or b is None else f"{a['median_ms'] / b['median_ms']:.2f}"


def models_table(results: dict) -> list[str]:
    lines = ["| model | onnxruntime ms | module ms | oplist ms | ours/ort (module) | ours/ort (oplist) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.values():
        s = r["stats"]
        o, m, p = s.get("onnxruntime"), s.get("module"), s.get("oplist")
        lines.append(f"| {r['label']} | {_cell(o)} | {_cell(m)} | {_cell(p)} | **{_ratio(m, o)}** | {_ratio(p, o)} |")
    return lines + _failures(results)


def image_table(results: dict) -> list[str]:
    lines = ["| model | onnxruntime + numpy blob ms | ours, image in ms | ours/ort |", "|---|---|---|---|"]
    for r in results.values():
        o, m = r["stats"].get("onnxruntime image"), r["stats"].get("module image")
        lines.append(f"| {r['label']} | {_cell(o)} | {_cell(m)} | **{_ratio(m, o)}** |")
    return lines + _failures(results)


def engines_table(results: dict, rss: dict) -> list[str]:
    lines = ["| model | onnxruntime ms | module ms | oplist ms | onnx2mlx ms | ours/ort (module) | onnx2mlx/ours |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.values():
        s = r["stats"]
        o, m, p, x = (s.get(e) for e in ENGINES)
        lines.append(
            f"| {r['label']} | {_cell(o)} | {_cell(m)} | {_cell(p)} | {_cell(x)} | {_ratio(m, o)} | {_ratio(x, m)} |"
        )
    if rss:
        lines += ["", "Peak RSS (MiB, VmHWM of a fresh process per engine, imports included):", "",
                  "| model | " + " | ".join(ENGINES) + " |", "|---|" + "---|" * len(ENGINES)]  # fmt: skip
        for key, per in rss.items():
            lines.append(f"| {results[key]['label']} | " + " | ".join(f"{per.get(e) or 0:.0f}" for e in ENGINES) + " |")
    return lines + _failures(results)


def batch_table(results: dict) -> list[str]:
    lines = ["Tensor in: both engines fed the float tensor. From the 8-bit images: onnxruntime fed numpy's float blob "
             "of the batch (`image_blob`, timed), ours reading the uint8 NHWC batch itself (`image_input`), as the "
             "facade and the indexing pipeline feed them.", "",
             "| model | batch | onnxruntime images/s | ours images/s | ours, batch run whole | ours/ort throughput "
             "| from images: onnxruntime + blob | ours, image in | ours/ort |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.values():
        if r.get("fixed"):
            lines.append(f"| {r['label']} | 1 only | - | - | - | {r['fixed']} | - | - | - |")
            continue
        for b, per in r["batches"].items():
            o, m, w = per["onnxruntime"], per["module"], per.get("module whole")
            oi, mi = per.get("onnxruntime image"), per.get("module image")
            whole = f"{w['images_per_s']:.0f}" if w else "-"
            image = (f"{oi['images_per_s']:.0f} | {mi['images_per_s']:.0f} | **{mi['images_per_s'] / oi['images_per_s']:.2f}**"
                     if oi and mi else "- | - | -")  # fmt: skip
            lines.append(f"| {r['label']} | {b} | {o['images_per_s']:.0f} | {m['images_per_s']:.0f} | {whole} | "
                         f"**{m['images_per_s'] / o['images_per_s']:.2f}** | {image} |")  # fmt: skip
    return lines


def facade_table(stats: dict) -> list[str]:
    onnx = stats.get("onnx")
    lines = ["| pipeline | ms per pass | faces | / ours on onnxruntime |", "|---|---|---|---|"]
    for name, s in stats.items():
        label = f"uniface {s['version']} (onnxruntime)" if "version" in s else f"ours, {name}"
        lines.append(f"| {label} | {_cell(s)} | {s['faces']} | **{_ratio(s, onnx)}** |")
    return lines


def _failures(results: dict) -> list[str]:
    errs = [(results[k]["label"], e, msg) for k in results for e, msg in results[k].get("errors", {}).items()]
    return ["", *[f"- {label}, {e} failed: {msg}" for label, e, msg in errs]] if errs else []


def caption(runs: int, block: int, settle_ms: float, threads: int | None = None, isa: str | None = None) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"*{datetime.date.today()}, translator {__version__}, MLX {mx.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load {load:.1f} at the start; native kernels: {isa or native.isa()}, "
        f"{threads or native.num_threads()} thread(s), spin {native.spin_us()} us; {runs} runs per engine in "
        f"alternating blocks of {block}, {settle_ms:g} ms apart. Medians (p10-p90).*"
    )


def write_sections(doc: Path, tables: dict[str, list[str]]) -> None:
    """Replace each `<!-- bench:NAME -->` ... `<!-- /bench:NAME -->` block of `doc` (appending missing ones)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    for name, lines in tables.items():
        block = f"<!-- bench:{name} -->\n" + "\n".join(lines) + f"\n<!-- /bench:{name} -->"
        pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m, b=block: b, text)
        else:
            text = text.rstrip("\n") + f"\n\n{block}\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(doc)


def _chart(results: dict, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = [e for e in ENGINES if any(e in r["stats"] for r in results.values())]
    labels = [r["label"] for r in results.values()]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(engines))
    for i, e in enumerate(engines):
        vals = [r["stats"].get(e, {}).get("median_ms", 0) for r in results.values()]
        ax.bar(np.arange(len(labels)) + (i - (len(engines) - 1) / 2) * width, vals, width, label=e)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("median latency (ms, lower is better)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


# -- main ---------------------------------------------------------------------------------------------


def run_sections(args, models: list[str]) -> tuple[dict, dict]:
    tables, raw = {}, {}
    runs, block, settle = args.runs, args.block, args.settle_ms
    sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"unknown sections {unknown}; choose from {SECTIONS}")
    main_engines = ("onnxruntime", "module", "oplist")
    if "models" in sections:
        raw["models"] = r = measure(models, runs, args.warmup, block, args.tune, main_engines, settle)
        tables["models"] = [caption(runs, block, settle), "", *models_table(r)]
        _chart(r, DOC.with_suffix(".png"))
    if "models-1t" in sections:
        before = native.num_threads()
        native.set_num_threads(1)
        try:
            raw["models-1t"] = r = measure(models, runs, args.warmup, block, args.tune, main_engines, settle, threads=1)
        finally:
            native.set_num_threads(before)
        tables["models-1t"] = [caption(runs, block, settle, threads=1), "", *models_table(r)]
    if "avx2" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "avx2.json"
            cmd = [sys.executable, __file__, "--sections", "models", "--models", ",".join(models), "--runs", str(runs),
                   "--block", str(block), "--json-only", str(out)]  # fmt: skip
            subprocess.run(cmd, env=dict(os.environ, MLX_UNIFACE_ISA="avx2"), check=True)
            raw["avx2"] = r = json.loads(out.read_text())["models"]
        tables["avx2"] = [caption(runs, block, settle, isa="avx2 (forced; onnxruntime keeps AVX-512)"), "",
                          *models_table(r)]  # fmt: skip
    if "image" in sections:
        raw["image"] = r = measure(
            models, runs, args.warmup, block, False, ("onnxruntime image", "module image"), settle
        )
        tables["image"] = [caption(runs, block, settle), "", *image_table(r)]
    if "batch" in sections:
        raw["batch"] = r = measure_batches(models, runs, block, settle)
        tables["batch"] = [caption(runs, block, settle), "", *batch_table(r)]
    if "facade" in sections:
        from tools import bench_facade

        raw["facade"] = r = bench_facade.measure(max(6, runs // 4), block=3, settle_ms=settle)
        tables["facade"] = [caption(max(6, runs // 4), 3, settle), "", *facade_table(r)]
    if "engines" in sections:
        raw["engines"] = r = measure(models, runs, args.warmup, block, args.tune, ENGINES, settle)
        rss = {} if args.no_rss else {m: {e: peak_rss(m, e) for e in ENGINES} for m in models}
        raw["rss"] = rss
        tables["engines"] = [caption(runs, block, settle), "", *engines_table(r, rss)]
    return tables, raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS))
    p.add_argument("--no-rss", action="store_true", help="engines section: skip the peak-RSS processes")
    p.add_argument("--block", type=int, default=5, help="runs per engine per turn")
    p.add_argument("--settle-ms", type=float, default=30.0, help="pause before each block (other pools stop spinning)")
    p.add_argument("--tune", action="store_true", help="translate ours with tune=True")
    p.add_argument("--threads", type=int, help="threads for every engine (default: each engine's own, the cores)")
    p.add_argument("--ab", metavar="VAR=A,B", help="A/B of a translation-time switch: the module engine per value")
    p.add_argument("--ab-image", action="store_true", help="--ab with the module engine reading the 8-bit image")
    p.add_argument("--out", default=str(DOC), help="the markdown file whose bench: blocks are rewritten")
    p.add_argument("--json-only", metavar="PATH", help=argparse.SUPPRESS)  # the avx2 section's child
    p.add_argument("--rss", nargs=2, metavar=("MODEL", "ENGINE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rss:
        _rss_child(*args.rss)
        return 0
    models = [m for m in args.models.split(",") if m]
    if args.threads:
        native.set_num_threads(args.threads)
    if args.ab:
        var, _, values = args.ab.partition("=")
        base = "module image" if args.ab_image else "module"
        engines = [f"{base}[{var}={v}]" for v in values.split(",")]
        results = measure(models, args.runs, args.warmup, args.block, args.tune, engines, args.settle_ms, args.threads)
        for r in results.values():
            base = r["stats"][engines[0]]["median_ms"]
            print(f"{r['label']}: " + ", ".join(
                f"{e} {s['median_ms']:.2f} ms ({s['p10_ms']:.2f}-{s['p90_ms']:.2f}) x{s['median_ms'] / base:.3f}"
                for e, s in r["stats"].items()))  # fmt: skip
        return 0
    tables, raw = run_sections(args, models)
    if args.json_only:
        Path(args.json_only).write_text(json.dumps(raw, indent=1))
        return 0
    out = Path(args.out)
    write_sections(out, tables)
    raw_path = out.with_suffix(".json")  # the sections not run keep their last raw results
    kept = json.loads(raw_path.read_text()) if raw_path.exists() else {}
    raw_path.write_text(json.dumps({**kept, **raw}, indent=1))
    for name, lines in tables.items():
        print(f"\n## {name}\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
