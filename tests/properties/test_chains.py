"""Property-based parity for 2-6 op chains of face-model ops.

The optimized translation (translate(m), the default: BN fusion, NHWC layout,
conv strategies, epilogue fusion) must match onnxruntime in both back ends, and
must match the unoptimized translation run through
runtime.session.InferenceSession(m, mode=..., optimize=False).
"""

from __future__ import annotations

from runtime.session import InferenceSession

import numpy as np
from hypothesis import given, reject

from tests.properties import stats
from tests.properties.chains import chain_case
from tests.properties.conftest import scaled
from tests.properties.harness import MODES, OrtRejected, assert_close, compile_backends, run_backends, run_ort
from tests.properties.known_bugs import known_bug


def _record_passes(notes: dict) -> None:
    """Which optimizing passes fired on this chain (for tools/deep_properties.py)."""
    layout = notes.get("layout") or {}
    if isinstance(layout, dict) and layout.get("nhwc_ops"):
        stats.record("chain_pass", "nhwc_layout")
    if notes.get("fused"):
        stats.record("chain_pass", "bn_fusion")
    if notes.get("epilogues_fused"):
        stats.record("chain_pass", "epilogue_fusion")
    for strategy in notes.get("conv_strategies") or {}:
        stats.record("chain_pass", f"conv:{strategy}")


def check_chain(case) -> None:
    try:
        want = run_ort(case.model, case.feed)
    except OrtRejected:
        stats.record("ort_rejected", "chain")
        reject()
    built = compile_backends(case.model)
    optimized = run_backends(case.model, case.feed, built=built)
    _record_passes(built["translation"].program.notes)
    for mode in MODES:
        for i, (g, w) in enumerate(zip(optimized[mode], want)):
            assert_close(g, w, f"{case.label} [optimized {mode}, output {i}] vs onnxruntime", case.tol)
        reference = InferenceSession(case.model, mode=mode, optimize=False).run(None, case.feed)
        for i, (g, r) in enumerate(zip(optimized[mode], reference)):
            assert_close(g, r, f"{case.label} [optimized vs unoptimized {mode}, output {i}]", case.tol)
    for a, b in zip(optimized["module"], optimized["oplist"]):
        assert np.array_equal(a, b, equal_nan=True), f"{case.label}: module and oplist differ"


@scaled(4)
@given(case=chain_case())
def test_chain_matches_onnxruntime_and_unoptimized(case):
    bug = known_bug(case)
    if bug:
        stats.record("known_bug", f"chain:{bug}")
        return
    check_chain(case)
    stats.record("chain", "chains")
    for op in set(case.label.split("->")):
        stats.record("chain_op", op)
    stats.record("chain_length", str(len(case.model.graph.node)))
