"""MiniFASNet on the REAL V1SE / V2 weights against upstream uniface 4.2.1, on both backends."""

from __future__ import annotations

import uniface
from runtime.face.spoofing import context_crop
from uniface.spoofing import MiniFASNet
from uniface.spoofing.minifasnet import DEFAULT_SCALES

import numpy as np
import pytest

from . import upstream
from .families import BACKENDS, face_of, fixture_model, slot


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["minifasnet_v1se", "minifasnet_v2"])
def test_minifasnet_matches_upstream(family, backend, standins):
    fixture = upstream.load(family)
    assert fixture["weights"][fixture["model"]]["origin"] == "shared"
    worst = 0.0
    for case in fixture["cases"]:
        _, model = fixture_model(MiniFASNet, family, backend, standins, scale=case["scale"], model_name=slot(fixture))
        assert model.scale == case["used_scale"]
        image = upstream.image(case["image"])
        bbox = np.asarray(case["bbox"], dtype=np.float32)
        context = f"{family}/{backend} {case['image']} scale {case['scale']}"
        worst = max(
            worst, upstream.assert_values_close(model._infer(model.preprocess(image, bbox))[0], case["logits"], context)
        )
        result = model.predict(image, bbox)
        assert isinstance(result, uniface.SpoofingResult)
        assert result.is_real == case["is_real"], context
        worst = max(worst, upstream.assert_values_close(result.confidence, case["confidence"], context))
    print(f"{family}/{backend}: {len(fixture['cases'])} cases, worst {worst:.2e}")


def test_minifasnet_default_scales_and_face_input(standins):
    fixture = upstream.load("minifasnet_v1se")
    path = upstream.main_weight_path(fixture, standins)
    assert DEFAULT_SCALES[uniface.constants.MiniFASNetWeights.V1SE] == 4.0
    assert MiniFASNet(uniface.constants.MiniFASNetWeights.V1SE, model_path=path, backend="onnx").scale == 4.0
    model = MiniFASNet(model_path=path, backend="onnx")  # default slot V2: 2.7
    assert model.scale == 2.7
    case = fixture["cases"][0]
    image, face = upstream.image(case["image"]), face_of(case)
    assert model.predict(image, face) == model.predict(image, face.bbox)  # a Face works as the box
    assert model(image, {"bbox": face.bbox}) == model.predict(image, face.bbox)


def test_context_crop_hand_computed():
    """A 20x10 box at (40, 30) scaled 2x about its centre (50, 35): rows 25..45, cols 30..70 (inclusive)."""
    image = np.arange(100 * 120, dtype=np.uint32).reshape(100, 120)
    image = np.stack([image % 251, image % 241, image % 239], axis=-1).astype(np.uint8)
    crop = context_crop(image, np.array([40.7, 30.2, 60.9, 40.5]), 2.0, (41, 21))
    np.testing.assert_array_equal(crop, image[25:46, 30:71])
    # Too large a scale is capped at (120 - 1) / 20 = 5.95 (the width that fits): a 119 x 59.5 region about
    # (50, 35), truncated and clamped: cols 0..109, rows 5..64.
    capped = context_crop(image, np.array([40.0, 30.0, 60.0, 40.0]), 10.0, (110, 60))
    np.testing.assert_array_equal(capped, image[5:65, 0:110])
    with pytest.raises(ValueError, match="no area"):
        context_crop(image, np.array([5.0, 5.0, 5.0, 9.0]), 2.0, (80, 80))
