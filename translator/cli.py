"""Command line: convert, inspect and parity-check ONNX models."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .errors import TranslatorError


def _shape_arg(text: str) -> tuple[str, tuple[int, ...]]:
    name, _, dims = text.rpartition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"expected NAME=D1,D2,..., got {text!r}")
    try:
        return name, tuple(int(d) for d in dims.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"dims must be integers in {text!r}") from None


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"


def cmd_convert(args: argparse.Namespace) -> int:
    from .api import convert
    from .image_input import parse_image_input

    shapes = dict(args.input_shape or [])
    image = parse_image_input(args.image_input) if args.image_input else None
    start = time.perf_counter()
    written = convert(args.model, args.output, mode=args.mode, name=args.name or Path(args.model).stem,
                      optimize=not args.no_optimize, input_shapes=shapes or None, tune=args.tune,
                      layout=args.layout, nhwc_inputs=args.nhwc_input, dynamic=args.dynamic,
                      native={"auto": None, "on": True, "off": False}[args.native], image_input=image)  # fmt: skip
    t = written.translation
    calls = t.program.calls
    print(f"translated {t.label} (sha256 {t.source_sha256[:16]}...) in {time.perf_counter() - start:.2f} s")
    print(f"  ONNX nodes : {sum(t.op_histogram.values())} ({len(t.op_histogram)} op types)")
    print("  ops        : " + ", ".join(f"{k} {v}" for k, v in t.op_histogram.items()))
    fused = t.notes.get("fused", {})
    print("  fused      : " + (", ".join(f"{k} x{v}" for k, v in fused.items()) if fused else "none"))
    print(f"  folded     : {t.notes.get('constants_folded', 0)} constant nodes, "
          f"{t.notes.get('identities_removed', 0)} identities, {t.notes.get('dead_nodes_removed', 0)} dead nodes")  # fmt: skip
    print(f"  MLX calls  : {len(calls)} using {len(t.program.functions_used())} functions")
    lay = t.notes.get("layout")
    if lay:
        print(f"  layout     : NHWC, {lay['nhwc_ops']} channels-last ops, transposes {lay['transposes_before']} -> "
              f"{lay['transposes_after']}, {t.notes.get('epilogues_fused', 0)} activations fused")  # fmt: skip
    if image is not None:
        folded = t.notes.get("image_normalization_folded", 0)
        print(f"  image in   : uint8 NHWC, {image.key()}; normalization "
              + (f"folded into {folded} stem conv(s)" if folded else "run as MLX ops"))  # fmt: skip
    if t.program.notes.get("conv_strategies"):
        print("  convs      : " + ", ".join(f"{k} {v}" for k, v in t.program.notes["conv_strategies"].items()))
    notes = t.program.notes
    if "compile" in notes:
        why = (f"plain {notes['plain_ms']} ms, compiled {notes['compiled_ms']} ms" if "plain_ms" in notes
               else "the default with native kernels")  # fmt: skip
        print(f"  mx.compile : {'on' if notes['compile'] else 'off'} ({why})")
    print(f"  weights    : {len(t.program.weights)} tensors, {_fmt_bytes(t.weights_nbytes)}")
    for p in written.paths:
        print(f"  wrote      : {p}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .frontend import build_graph, load_model, prepare_model
    from .lowering import ops as _ops  # noqa: F401
    from .lowering.registry import find_lowering

    loaded = load_model(args.model)
    graph = build_graph(prepare_model(loaded), loaded.label)
    print(f"model   : {loaded.label}")
    print(f"sha256  : {loaded.sha256}")
    print("opsets  : " + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(graph.opsets.items())))
    for kind, names in (("inputs", graph.inputs), ("outputs", graph.outputs)):
        print(f"{kind} :")
        for n in names:
            v = graph.value(n)
            print(f"  {n}: {v.dtype} {list(v.shape) if v.shape is not None else '?'}")
    hist: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    for node in graph.nodes:
        key = f"{node.domain + '::' if node.domain else ''}{node.op_type}"
        hist[key] = hist.get(key, 0) + 1
        if find_lowering(node.op_type, node.domain, graph.opset(node.domain)) is None:
            missing.setdefault(key, []).append(node.name)
    print(f"ops ({sum(hist.values())} nodes):")
    for k, v in sorted(hist.items(), key=lambda kv: -kv[1]):
        print(f"  {k:28s} {v}")
    if missing:
        print("unsupported:")
        for k, names in missing.items():
            print(f"  {k} at {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
    else:
        print("unsupported: none")
        from .api import translate

        t = translate(loaded.model)
        lay = t.notes.get("layout", {})
        print(f"transposes: {lay.get('transposes_before', hist.get('Transpose', 0))} in the ONNX graph, "
              f"{lay.get('transposes_after', '?')} after the NHWC layout pass "
              f"({lay.get('nhwc_ops', 0)} ops made channels-last, {lay.get('transposes_as_reshape', 0)} became reshapes)")  # fmt: skip
        strategies = t.program.notes.get("conv_strategies", {})
        if strategies:
            print("conv strategies: " + ", ".join(f"{k} {v}" for k, v in strategies.items()))
    return 0


def _random_inputs(model, rng: np.random.Generator, shapes: dict) -> dict[str, np.ndarray]:
    """Random data for every graph input: dynamic dims become 1 (batch) or 640 unless `shapes` fixes them."""
    import onnx

    init = {i.name for i in model.graph.initializer}
    feed = {}
    for vi in model.graph.input:
        if vi.name in init:
            continue
        tt = vi.type.tensor_type
        shape = shapes.get(vi.name)
        if shape is None:
            shape = tuple(
                d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (1 if i == 0 else 640)
                for i, d in enumerate(tt.shape.dim)
            )
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)) if tt.elem_type else np.dtype(np.float32)
        if dtype.kind == "f":
            feed[vi.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            feed[vi.name] = rng.random(shape) > 0.5
        else:
            feed[vi.name] = rng.integers(0, 8, shape).astype(dtype)
    return feed


def cmd_parity(args: argparse.Namespace) -> int:
    import onnxruntime as ort

    from .api import translate
    from .frontend import load_model
    from .selfcheck import run_backends

    loaded = load_model(args.model)
    ref = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    names = [i.name for i in ref.get_inputs()]
    if args.input:
        arrays = [np.load(p) for p in args.input]
        if len(arrays) != len(names):
            raise TranslatorError(f"the model takes {len(names)} inputs {names}; got {len(arrays)} --input files")
        feed = dict(zip(names, arrays))
    else:
        feed = _random_inputs(loaded.model, np.random.default_rng(args.seed), dict(args.input_shape or []))
    for n, a in feed.items():
        print(f"input {n}: {a.dtype} {list(a.shape)}")
    expected = ref.run(None, feed)
    out_names = [o.name for o in ref.get_outputs()]
    translation = translate(loaded.model, input_shapes={n: tuple(a.shape) for n, a in feed.items()})
    by_mode = run_backends(translation, feed)
    worst = 0.0
    print(f"{'output':24s} {'mode':7s} {'max abs err':>12s} {'max rel err':>12s}")
    for mode, got in by_mode.items():
        got_by_name = {spec.onnx_name: g for spec, g in zip(translation.program.outputs, got)}
        for name, want in zip(out_names, expected):
            have = got_by_name[name]
            if want.shape != have.shape:
                print(f"{name[:24]:24s} {mode:7s} shape {have.shape} != {want.shape}")
                worst = float("inf")
                continue
            diff = np.abs(have.astype(np.float64) - want.astype(np.float64))
            abs_err = float(diff.max()) if diff.size else 0.0
            rel_err = float((diff / np.maximum(np.abs(want.astype(np.float64)), 1e-6)).max()) if diff.size else 0.0
            worst = max(worst, abs_err)
            print(f"{name[:24]:24s} {mode:7s} {abs_err:12.3e} {rel_err:12.3e}")
    ok = worst <= args.tol
    print(f"{'PASS' if ok else 'FAIL'}: max abs error {worst:.3e} (tolerance {args.tol:g})")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m translator", description="Translate ONNX models to MLX.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="write a generated module or an op list, plus weights")
    c.add_argument("model")
    c.add_argument("-o", "--output", required=True, help="output directory")
    c.add_argument("--mode", choices=("module", "oplist"), default="module")
    c.add_argument("--name", help="file stem and class name (default: the model's file name)")
    c.add_argument("--no-optimize", action="store_true", help="skip folding and fusion passes")
    c.add_argument("--input-shape", action="append", type=_shape_arg, metavar="NAME=D1,D2,...",
                   help="fix a dynamic input shape (repeatable)")  # fmt: skip
    c.add_argument("--tune", action="store_true", help="time conv strategies and mx.compile on this machine")
    c.add_argument("--layout", choices=("nhwc", "nchw"), default="nhwc", help="internal layout (default nhwc)")
    c.add_argument("--nhwc-input", action="store_true", help="take 4-D inputs as NHWC (what cv2 gives)")
    c.add_argument("--dynamic", action="store_true",
                   help="every input dim dynamic, declared sizes included: one translation for any input size")  # fmt: skip
    c.add_argument("--native", choices=("auto", "on", "off"), default="auto",
                   help="native C++ conv kernels: auto = when built and the target is the CPU (default)")  # fmt: skip
    c.add_argument("--image-input", metavar="MEAN,STD[,rgb]",
                   help="take the 8-bit BGR HWC image instead of the float NCHW tensor, normalized as "
                        "(x - MEAN) / STD in the graph (MEAN, STD: a number or three colon-separated, model "
                        "order); rgb: the model wants RGB (e.g. 127.5,127.5,rgb; 104:117:123,1)")  # fmt: skip
    c.set_defaults(func=cmd_convert)
    i = sub.add_parser("inspect", help="op histogram, opsets, inputs/outputs, unsupported ops")
    i.add_argument("model")
    i.set_defaults(func=cmd_inspect)
    r = sub.add_parser("parity", help="compare both back ends with onnxruntime")
    r.add_argument("model")
    r.add_argument("--input", action="append", help=".npy file per model input, in order")
    r.add_argument("--input-shape", action="append", type=_shape_arg, metavar="NAME=D1,D2,...")
    r.add_argument("--tol", type=float, default=1e-4, help="max abs error allowed (default 1e-4)")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=cmd_parity)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TranslatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
