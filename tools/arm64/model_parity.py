"""One zoo model through both back ends and onnxruntime; prints the largest error per output.

Used by tools/arm64_check.sh under emulation (the numbers in docs/portability.md); tests/test_real_models.py
asserts the same parity (1e-4). Usage: python tools/arm64/model_parity.py [zoo key, default mobilefacenet]
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import runtime  # noqa: E402  (fast BLAS before MLX, where there is one)
from opset import native  # noqa: E402
from runtime.session import InferenceSession  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from tools.zoo import ZOO  # noqa: E402


def main(key: str = "mobilefacenet") -> int:
    z = ZOO[key]
    x = z.make_input().astype(np.float32)
    ref = ort.InferenceSession(str(z.path), providers=["CPUExecutionProvider"])
    feed = {ref.get_inputs()[0].name: x}
    want = ref.run(None, feed)
    print(f"{z.label} on {platform.machine()}, native kernels: {native.isa()}, BLAS: {runtime.active_blas()}")
    worst = 0.0
    for mode in ("module", "oplist"):
        t0 = time.perf_counter()
        sess = InferenceSession(z.path, mode=mode)
        t1 = time.perf_counter()
        got = sess.run(None, feed)
        t2 = time.perf_counter()
        errs = [float(np.max(np.abs(g.astype(np.float64) - w))) for g, w in zip(got, want)]
        worst = max(worst, *errs)
        print(
            f"  {mode}: max abs error per output {[f'{e:.2e}' for e in errs]}; translate {t1 - t0:.1f} s, run {t2 - t1:.1f} s"
        )
    print(f"  worst {worst:.2e} ({'within' if worst <= 1e-4 else 'ABOVE'} the 1e-4 target)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
