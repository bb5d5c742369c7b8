"""eDifFIQA against upstream uniface 4.2.1 (landmark-aligned and pre-aligned faces), on both backends."""

from __future__ import annotations

import uniface
from uniface.quality import EDifFIQA

import numpy as np
import pytest

from . import upstream
from .families import BACKENDS, face_of, fixture_model


@pytest.mark.parametrize("backend", BACKENDS)
def test_ediffiqa_matches_upstream(backend, standins):
    fixture, model = fixture_model(EDifFIQA, "ediffiqa", backend, standins)
    worst = 0.0
    aligned = 0
    for case in fixture["cases"]:
        image = upstream.image(case["image"])
        if case.get("aligned"):
            result = model.score_aligned(image)
            aligned += 1
        else:
            result = model.predict(image, np.asarray(case["landmarks"], dtype=np.float32))
        assert isinstance(result, uniface.QualityResult)
        worst = max(
            worst, upstream.assert_values_close(result.score, case["score"], f"ediffiqa/{backend} {case['image']}")
        )
    assert aligned == 4
    print(f"ediffiqa/{backend}: {len(fixture['cases'])} cases, worst {worst:.2e}")


def test_ediffiqa_writes_face_quality(standins):
    """Given a Face (our extension), `predict` uses its landmarks and sets `face.quality`."""
    fixture, model = fixture_model(EDifFIQA, "ediffiqa", "onnx", standins)
    case = next(c for c in fixture["cases"] if not c.get("aligned"))
    face = face_of(case)
    result = model.predict(upstream.image(case["image"]), face)
    assert face.quality == result.score
    assert abs(result.score - case["score"]) <= upstream.VALUE_TOL
    with pytest.raises(ValueError, match="5 landmarks"):
        model.predict(upstream.image(case["image"]), np.zeros((4, 2), np.float32))
