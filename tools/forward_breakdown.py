"""Where one forward of ours goes: the MLX-side steps around the native kernels, and each kernel in the graph.

    python tools/forward_breakdown.py [--models retinaface,scrfd_640] [--runs 9] [--kernels] [--image]

A forward through `InferenceSession.run` is split into: numpy -> MLX input, tracing the compiled
graph, eval until the first native op starts, first native op start to last native op end, the rest
of eval (heads), MLX -> numpy. Native op times (convs, and pooling, upsampling, interleave, concat,
sigmoid, softmax) come from the extension's own in-graph timing (`opset.native._ext.set_recording`),
so they are what each took inside the real graph, with the caches as the previous op left them;
"between native ops" is the rest of the span (MLX's own ops and dispatch). Speed is a benchmark,
never a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opset import native  # noqa: E402
from opset.execute import to_mx  # noqa: E402
from runtime import InferenceSession  # noqa: E402

import mlx.core as mx  # noqa: E402

from tools.zoo import ZOO  # noqa: E402

STEPS = ("numpy -> MLX", "trace", "eval to first native op", "first to last native op", "after last native op",
         "MLX -> numpy")  # fmt: skip


def breakdown(key: str, runs: int, image: bool = False) -> tuple[dict, list]:
    """image: the translation reading the 8-bit image (fed the photo), else the float tensor."""
    z = ZOO[key]
    x = z.make_image() if image else z.make_input()
    sess = InferenceSession(str(z.path), image_input=z.image_input() if image else None)
    model = sess._compiled((tuple(x.shape),)) if sess.dynamic else sess._compiled(None)
    for _ in range(5):
        mx.eval(*model(to_mx(x, in_place=True)))
    native.release_borrowed()
    ext = native._ext
    ext.set_recording(True)
    steps, records = [], []
    try:
        for _ in range(runs):
            ext.take_records()
            t0 = time.perf_counter()
            a = to_mx(x, in_place=True)  # as InferenceSession.run hands it over (read in place where it can be)
            mx.eval(a)
            t1 = time.perf_counter()
            outs = model(a)
            t2 = time.perf_counter()
            mx.eval(*outs)
            t3 = time.perf_counter()
            held = model.handoff.to_numpy(
                [o.onnx_name for o in model.outputs], outs, [None] * len(outs), [a]
            )  # as InferenceSession.run does
            t4 = time.perf_counter()
            del a, outs, held
            native.release_borrowed()
            rec = ext.take_records()  # (kind, shape, x aligned, start us, copy us, kernel us, workers' share)
            first, last = rec[0][3] / 1e6, (rec[-1][3] + rec[-1][4] + rec[-1][5]) / 1e6  # steady clock = perf_counter
            steps.append((t1 - t0, t2 - t1, first - t2, last - first, t3 - last, t4 - t3))
            records.append(rec)
    finally:
        ext.set_recording(False)
    med = {name: 1000 * statistics.median(s[i] for s in steps) for i, name in enumerate(STEPS)}
    per_kernel = [
        (records[0][i][0], records[0][i][1], statistics.median(r[i][5] for r in records))
        for i in range(len(records[0]))
    ]
    return med, per_kernel


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="retinaface,scrfd_640")
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--kernels", action="store_true", help="also list every native op (median us)")
    p.add_argument("--image", action="store_true", help="the translations reading the 8-bit image, fed the photo")
    args = p.parse_args(argv)
    if not native.available():
        print(f"native kernels unavailable: {native.UNAVAILABLE_REASON}")
        return 1
    print(f"native kernels: {native.isa()}, {native.num_threads()} threads, spin {native.spin_us()} us\n")
    print("| model | " + " | ".join(STEPS) + " | native ops alone | between native ops |")
    print("|---|" + "---|" * (len(STEPS) + 2))
    details = {}
    for key in args.models.split(","):
        med, per_kernel = breakdown(key, args.runs, args.image)
        total_kernels = sum(t for _, _, t in per_kernel) / 1000
        between = med[STEPS[3]] - total_kernels
        print(
            f"| {ZOO[key].label} | "
            + " | ".join(f"{med[s]:.2f}" for s in STEPS)
            + f" | {total_kernels:.2f} | {between:.2f} |"
        )
        details[key] = per_kernel
    if args.kernels:
        for key, per_kernel in details.items():
            print(f"\n{ZOO[key].label}: kind, (n, h, w, c_in, ho, wo, c_out, kh, kw, stride), median us")
            for kind, shape, us in per_kernel:
                print(f"  {kind:20s} {shape} {us:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
