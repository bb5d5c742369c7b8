"""Property-based parity: one generated single-op model at a time, both back ends vs onnxruntime.

Strategies live in strategies.py (face-model ops first, then every other op we can
generate). Both the generated module and the op-list interpreter must match
onnxruntime within the per-dtype tolerance of harness.assert_close, and each
other exactly. Profiles: see conftest.py (HYPOTHESIS_PROFILE=deep for thousands).
"""

from __future__ import annotations

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from tests.properties import stats
from tests.properties.harness import OrtRejected, check_case
from tests.properties.known_bugs import known_bug
from tests.properties.strategies import FACE_OPS, SINGLE_OPS

OTHER_OPS = [op for op in SINGLE_OPS if op not in FACE_OPS]


def _check(op: str, case) -> None:
    bug = known_bug(case)
    if bug:
        stats.record("known_bug", f"{op}:{bug}")
        return
    try:
        check_case(case)
    except OrtRejected:
        stats.record("ort_rejected", op)
        reject()
    stats.record("single_op", op)


@pytest.mark.parametrize("op", FACE_OPS)
@given(data=st.data())
def test_face_op_matches_onnxruntime(op, data):
    _check(op, data.draw(SINGLE_OPS[op], label=op))


@pytest.mark.parametrize("op", OTHER_OPS)
@given(data=st.data())
def test_op_matches_onnxruntime(op, data):
    _check(op, data.draw(SINGLE_OPS[op], label=op))
