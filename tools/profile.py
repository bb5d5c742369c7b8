"""Per-layer-category profile of a model: ours (native kernels or pure MLX) against onnxruntime.

Categories: stem (a conv reading the 3-channel image), depthwise, pointwise
(1x1), dense kxk, and other (everything that is not a conv). For ours, each
lowered call is run and evaluated on its own and timed, less MLX's eval round
trip (measured on a tiny op, ~50 us here, which a call inside one graph does not pay); for onnxruntime, its own
profiler's per-node times are used. Conv categories also report achieved
GFLOP/s (2 * MACs / time), next to the machine's sgemm peak measured here.
Speed is a benchmark, never a test.

    python tools/profile.py [--models retinaface,scrfd_640,mobilefacenet] [--runs 10] [--native auto|on|off]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runtime  # noqa: E402  (fast BLAS before MLX)
from opset import native  # noqa: E402
from opset.execute import resolve, to_mx  # noqa: E402
from opset.functions import FUNCTIONS  # noqa: E402
from translator.api import translate  # noqa: E402

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from tools.zoo import ZOO  # noqa: E402

CATEGORIES = ("stem", "depthwise", "pointwise", "depthwise+pointwise", "dense kxk", "other")
FUSED = "depthwise+pointwise"  # ours only: a depthwise conv and its 1x1 conv(s) in one kernel


def conv_category(c_in: int, groups: int, kh: int, kw: int) -> str:
    if groups > 1 and groups == c_in:
        return "depthwise"
    if c_in == 3 and groups == 1:
        return "stem"
    if (kh, kw) == (1, 1):
        return "pointwise"
    return "dense kxk"


def _native_call_info(call, env) -> tuple[str, float]:
    """(category, MACs per output element) of a native_conv2d call, from its evaluated operands."""
    x, w = resolve(call.args[0], env), resolve(call.args[1], env)
    c_in = x.shape[3]
    kh, kw = w.shape[0], w.shape[1]
    depthwise = call.kwargs.get("depthwise", False)
    return conv_category(c_in, c_in if depthwise else 1, kh, kw), kh * kw * (1 if depthwise else c_in)


def eval_round_trip() -> float:
    """Seconds MLX spends handing one tiny op to its stream thread and back (subtracted per call below)."""
    a = mx.zeros((4,))
    mx.eval(a)
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        mx.eval(a + 1)
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def profile_ours(path: Path, x: np.ndarray, runs: int, native_opt) -> dict:
    """Median time per category over `runs` passes; each call evaluated and timed alone, minus the
    eval round trip a call pays only when evaluated on its own (inside one graph, calls run back to back)."""
    trip = eval_round_trip()
    import onnx

    name = next(i.name for i in onnx.load(str(path), load_external_data=False).graph.input)
    # concrete input shapes, as runtime.InferenceSession translates models with dynamic dims
    t = translate(path, native=native_opt, input_shapes={name: tuple(x.shape)})
    program = t.program
    weights = {k: to_mx(v) for k, v in program.weights.items()}
    feed = {program.inputs[0].name: mx.array(x)}
    per_run = []
    macs = collections.Counter()
    for r in range(runs + 1):  # the first pass warms up
        env = dict(weights) | feed
        times = collections.Counter()
        for call in program.calls:
            fn = FUNCTIONS[call.fn]
            args, kwargs = resolve(call.args, env), resolve(call.kwargs, env)
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            mx.eval(out)
            elapsed = max(0.0, time.perf_counter() - start - trip)
            outs = [out] if len(call.outputs) == 1 else list(out)
            env.update(zip(call.outputs, outs))
            category = "other"
            if call.fn == "native_dw_pw_conv2d":
                w = resolve(call.args[1], env)
                category, per_pixel = (
                    FUSED,
                    w.shape[2] * (w.shape[0] * w.shape[1] + outs[0].shape[3]),
                )  # C (kh kw + C_out)
                if r == 0:
                    macs[category] += float(np.prod(outs[0].shape[:3])) * per_pixel
            elif call.fn == "native_pw_dw_conv2d":  # the first conv's (and a middle 1x1's) MACs, then the rest
                x, w = resolve(call.args[0], env), resolve(call.args[3], env)
                w_pw = resolve(call.args[5], env) if len(call.args) > 5 else resolve(call.kwargs.get("w_pw"), env)
                category = FUSED
                if r == 0:
                    pooled = 4 if call.kwargs.get("pool") else 1  # the conv made 4 pixels per one written
                    macs[category] += _pw_dw_first_macs(call, env, x) + pooled * float(
                        np.prod(outs[0].shape[:3])
                    ) * w.shape[2] * (w.shape[0] * w.shape[1] + (0 if w_pw is None else w_pw.shape[3]))
            elif call.fn == "native_conv2d":
                category, per_pixel = _native_call_info(call, env)
                if r == 0:
                    o = outs[0]
                    pooled = 4 if call.kwargs.get("pool") else 1  # the conv made 4 pixels per one written
                    macs[category] += pooled * float(np.prod(o.shape)) * per_pixel
            times[category] += elapsed
        if r:
            per_run.append(times)
    return {
        "ms": {c: 1000 * float(np.median([t[c] for t in per_run])) for c in CATEGORIES},
        "gmacs": {c: macs[c] / 1e9 for c in CATEGORIES},
        "strategies": program.notes.get("conv_strategies", {}),
        "round_trip_us": trip * 1e6,
    }


def _pw_dw_first_macs(call, env, x) -> float:
    """MACs of a fused pw_dw call's first stage: a 1x1 conv over x's pixels, or a stem (kh x kw, strided and
    padded, x NHWC or NCHW) and then, with w_mid, a 1x1 conv over the stem's pixels."""
    w_pre = resolve(call.args[1], env)
    kh, kw, c_in, c_first = w_pre.shape
    sh, sw = call.kwargs.get("pre_strides", (1, 1))
    pt, pl, pb, pr = call.kwargs.get("pre_pads", (0, 0, 0, 0))
    n, h, w = (x.shape[0], x.shape[1], x.shape[2]) if x.shape[3] == c_in else (x.shape[0], x.shape[2], x.shape[3])
    pixels = float(n * ((h + pt + pb - kh) // sh + 1) * ((w + pl + pr - kw) // sw + 1))
    w_mid = resolve(call.kwargs.get("w_mid"), env)
    return pixels * kh * kw * c_in * c_first + (0.0 if w_mid is None else pixels * w_mid.shape[2] * w_mid.shape[3])


def _ort_category(args: dict) -> str:
    """Category of one onnxruntime kernel from its op and operand shapes (its graph is rewritten: NCHWc, fusions)."""
    if args.get("op_name") not in ("Conv", "FusedConv"):
        return "other"
    shapes = [next(iter(d.values())) for d in args.get("input_type_shape", [])]
    if len(shapes) < 2 or len(shapes[1]) != 4:
        return "other"
    c_in = shapes[0][1]
    _, i_per_group, kh, kw = shapes[1]
    groups = c_in // i_per_group if i_per_group else 1
    return conv_category(c_in, groups, kh, kw)


def profile_ort(path: Path, x: np.ndarray, runs: int, threads: int = 0) -> dict:
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        for _ in range(runs + 1):
            sess.run(None, {name: x})
        trace = json.loads(Path(sess.end_profiling()).read_text())
    # Each kernel belongs to the model_run whose [ts, ts + dur] holds its start (the run events
    # are written after their kernels, so order alone would shift kernels into the next run).
    run_spans = sorted(
        (ev["ts"], ev["ts"] + ev["dur"]) for ev in trace if ev.get("cat") == "Session" and ev.get("name") == "model_run"
    )
    per_run = [collections.Counter() for _ in run_spans]
    for ev in trace:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        i = bisect.bisect_right([start for start, _ in run_spans], ev["ts"]) - 1
        if i >= 0 and ev["ts"] <= run_spans[i][1]:
            per_run[i][_ort_category(ev.get("args", {}))] += ev["dur"] / 1000.0
    runs_ms = per_run[1:] if len(per_run) > 1 else per_run  # the first run warms up
    return {"ms": {c: float(np.median([r[c] for r in runs_ms])) for c in CATEGORIES}}


def sgemm_peak() -> dict:
    """GFLOP/s of a 1024^3 float32 matmul through MLX (the fast BLAS), best of 5."""
    a = mx.random.normal((1024, 1024))
    mx.eval(a)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        mx.eval(a @ a)
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * 1024**3 / best / 1e9}


def _gflops(gmac: float, ms: float) -> str:
    return f"{2 * gmac / ms * 1000:.0f}" if gmac and ms > 0 else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="retinaface,scrfd_640,mobilefacenet")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--native", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    p.add_argument("--threads", type=int, default=0, help="threads for both (0: their defaults, the cores)")
    args = p.parse_args(argv)
    native_opt = {"auto": None, "on": True, "off": False}[args.native]
    if args.threads:
        native.set_num_threads(args.threads)
    peak = sgemm_peak()
    print(f"sgemm peak (MLX matmul 1024^3, {runtime.active_blas()}): {peak['gflops']:.0f} GFLOP/s; "
          f"native kernels: {native.isa() or 'unavailable'}, {native.num_threads()} threads")  # fmt: skip
    results = {"sgemm_gflops": peak["gflops"], "isa": native.isa(), "models": {}}
    for key in args.models.split(","):
        z = ZOO[key]
        x = z.make_input()
        ours, ort_ = profile_ours(z.path, x, args.runs, native_opt), profile_ort(z.path, x, args.runs, args.threads)
        results["models"][z.label] = {"ours": ours, "onnxruntime": ort_}
        print(f"\n**{z.label}** (ours: {', '.join(f'{k} {v}' for k, v in ours['strategies'].items())})\n")
        print("| category | ours ms | onnxruntime ms | ours/ort | GMAC | ours GFLOP/s | onnxruntime GFLOP/s |")
        print("|---|---|---|---|---|---|---|")
        fused = ours["gmacs"][FUSED] > 0
        for c in CATEGORIES:
            a, b, g = ours["ms"][c], ort_["ms"][c], ours["gmacs"][c]
            ratio = f"{a / b:.2f}" if b > 0.005 else "-"
            mac = f"{g:.3f}" if g else ""
            # with pairs fused, onnxruntime's depthwise/pointwise times cover convs ours counts elsewhere
            theirs = "" if fused and c in ("depthwise", "pointwise") else _gflops(g, b)
            print(f"| {c} | {a:.2f} | {b:.2f} | {ratio} | {mac} | {_gflops(g, a)} | {theirs} |")
        if fused:
            parts = ("depthwise", "pointwise", FUSED)
            a, b = sum(ours["ms"][c] for c in parts), sum(ort_["ms"][c] for c in parts)
            g = sum(ours["gmacs"][c] for c in parts)
            print(
                f"| (depthwise, pointwise and pairs together) | {a:.2f} | {b:.2f} | {a / b:.2f} | {g:.3f} | "
                f"{_gflops(g, a)} | {_gflops(g, b)} |"
            )
        ta, tb = sum(ours["ms"].values()), sum(ort_["ms"].values())
        print(f"| total | {ta:.2f} | {tb:.2f} | {ta / tb:.2f} | | | |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
