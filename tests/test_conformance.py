"""Regression guard over the ONNX node-test conformance report (docs/conformance.json).

`tools/conformance.py` runs all node test cases and records each one's status.
Here, in CI, a fixed sample of cases (the ops that matter most for the face
models, at most MAX_PER_OP cases each, spread over the op's variants) is
rerun: every sampled case the report records as "pass" must still pass. The
oracle is each case's own expected outputs and tolerances. A floor test keeps
the recorded pass count from silently shrinking and forbids recorded crashes.

After changing lowerings, refresh the report:  python tools/conformance.py
"""

from __future__ import annotations

import collections
import functools
import json
import warnings
from pathlib import Path

import pytest

from tools.node_tests import all_cases, primary_op, run_case

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "conformance.json"
STATUSES = ("pass", "fail", "unsupported", "error", "crash")

# The recorded pass count may not drop below this (measured count, rounded down to 10).
FLOOR = 1730

# The sample: every op here, at most MAX_PER_OP of its cases, spread evenly over them.
SAMPLE_OPS = (
    # convolution, normalization, pooling, resampling
    "Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
    "Resize", "Pad", "LayerNormalization",
    # activations
    "Relu", "PRelu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Softmax", "Clip", "Gelu", "Erf",
    # arithmetic and math
    "Add", "Sub", "Mul", "Div", "Pow", "Exp", "Sqrt", "MatMul", "Gemm", "Cast",
    # shape and indexing
    "Reshape", "Transpose", "Concat", "Slice", "Gather", "Shape", "Unsqueeze", "Squeeze", "Flatten", "Split",
    "Expand", "Tile", "Where", "Equal", "Identity", "ConstantOfShape", "TopK", "ArgMax",
    # reductions
    "ReduceMean", "ReduceMax", "ReduceSum",
    # control flow, sequences, optionals
    "If", "Loop", "Scan", "SplitToSequence", "SequenceInsert", "OptionalHasElement",
)  # fmt: skip
MAX_PER_OP = 6
MAX_SAMPLE = 280


def sample_cases() -> list:
    """The deterministic CI sample (spec order within each op)."""
    by_op: dict[str, list] = collections.defaultdict(list)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = all_cases()
    for case in cases:
        by_op[primary_op(case)].append(case)
    sample = []
    for op in SAMPLE_OPS:
        found = by_op.get(op, [])
        if len(found) > MAX_PER_OP:
            found = [found[i * len(found) // MAX_PER_OP] for i in range(MAX_PER_OP)]
        sample += found
    return sample


SAMPLE = sample_cases()


@functools.cache
def _load_record() -> dict:
    return json.loads(RECORD.read_text())


def record() -> dict:
    if not RECORD.is_file():
        pytest.fail(
            f"{RECORD.relative_to(ROOT)} is missing: run `python tools/conformance.py` to produce the conformance "
            "report this test checks against",
            pytrace=False,
        )
    try:
        return _load_record()
    except (OSError, ValueError) as exc:
        pytest.fail(f"{RECORD.relative_to(ROOT)} is unreadable ({exc}): rerun `python tools/conformance.py`")


@functools.cache
def _recorded_by_name() -> dict[str, dict]:
    return {c["name"]: c for c in _load_record()["cases"]}


def test_sample_is_well_formed():
    names = [c.name for c in SAMPLE]
    assert len(names) == len(set(names))
    assert 0 < len(SAMPLE) <= MAX_SAMPLE
    ops = {primary_op(c) for c in SAMPLE}
    missing = [op for op in SAMPLE_OPS if op not in ops]
    assert not missing, f"no ONNX node test case for {missing}: fix SAMPLE_OPS"


@pytest.mark.parametrize("case", SAMPLE, ids=[c.name for c in SAMPLE])
def test_sampled_case(case):
    record()
    recorded = _recorded_by_name().get(case.name)
    if recorded is None:
        pytest.fail(
            f"{case.name} is not in {RECORD.relative_to(ROOT)} (made with onnx "
            f"{_load_record().get('versions', {}).get('onnx', '?')}): rerun `python tools/conformance.py`",
            pytrace=False,
        )
    result = run_case(case)
    if recorded["status"] == "pass":
        assert result.status == "pass", f"{case.name} regressed: recorded as pass, now {result.status}: {result.reason}"
        return
    assert result.status != "crash", f"{case.name} now crashes (recorded {recorded['status']}): {result.reason}"
    if result.status != "pass":
        pytest.xfail(f"recorded as {recorded['status']}: {recorded['reason'][:200]}")
    # Passing now although recorded otherwise: an improvement (the report is due a refresh).


def test_recorded_pass_count_floor_and_no_crashes():
    doc = record()
    cases = doc["cases"]
    bad_status = sorted({c["status"] for c in cases} - set(STATUSES))
    assert not bad_status, f"unknown statuses in the report: {bad_status}"
    assert len({c["name"] for c in cases}) == len(cases), "duplicate case names in the report"
    passed = sum(c["status"] == "pass" for c in cases)
    assert passed >= FLOOR, f"the report records {passed} passing cases, below the floor of {FLOOR}"
    crashes = [f"{c['name']}: {c['reason']}" for c in cases if c["status"] == "crash"]
    assert not crashes, f"{len(crashes)} recorded crash(es):\n" + "\n".join(crashes)
