"""BiSeNet class maps and XSeg soft masks against upstream uniface 4.2.1, on both backends."""

from __future__ import annotations

from runtime.face.segmentation import xseg_mask
from uniface.parsing import BiSeNet, XSeg

import numpy as np
import pytest

from tools.oracle_families._arrays import decode, sample

from . import upstream
from .families import BACKENDS, fixture_model

# Soft masks are stored as 16-bit steps (1.5e-5): the comparison allows the 1e-4 plus half a step.
MASK_TOL = upstream.VALUE_TOL + 0.5 / 65535


def _crop(case):
    x1, y1, x2, y2 = case["crop"]
    return upstream.image(case["image"])[y1:y2, x1:x2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bisenet_matches_upstream(backend, standins):
    fixture, model = fixture_model(BiSeNet, "bisenet", backend, standins)
    assert model.mask_type == fixture["mask_type"] == "class_ids"
    differing = 0
    for case in fixture["cases"]:
        crop = _crop(case)
        mask = model.parse(crop)
        want = decode(case["mask"])
        assert mask.dtype == np.uint8 and mask.shape == want.shape == crop.shape[:2]
        flips = np.argwhere(mask != want)
        if len(flips):
            # A label may only differ where the two best classes are a float-rounding tie in onnxruntime's logits.
            _assert_ties(model, crop, flips, mask, want, f"bisenet/{backend} {case['image']}")
        differing += len(flips)
    print(f"bisenet/{backend}: {len(fixture['cases'])} crops, {differing} pixels on near-ties")


def _assert_ties(model, crop, flips, mask, want, context):
    from .conftest import need_shared

    need_shared()
    logits = BiSeNet(model_path=model.model_path, backend="onnx")._infer(model.preprocess(crop))[0]
    h, w = mask.shape
    for y, x in flips:
        # Output pixel (y, x) was resized (nearest) from the network's grid.
        gy, gx = (
            min(int(y * logits.shape[1] / h), logits.shape[1] - 1),
            min(int(x * logits.shape[2] / w), logits.shape[2] - 1),
        )
        pair = logits[[mask[y, x], want[y, x]], gy, gx]
        assert abs(pair[0] - pair[1]) <= 1e-4 * max(1.0, abs(pair[1])), f"{context}: label flip at {(y, x)} is no tie"


# XSeg's FRN layers take a ReduceMean over the whole map (65536 values at 256x256): the op set's blocked
# mean keeps that within tolerance (MLX's own float32 running sum was 7e-4 off upstream here).
@pytest.mark.parametrize("backend", ["mlx", "onnx"])
def test_xseg_matches_upstream(backend, standins):
    fixture = upstream.load("xseg")
    worst = 0.0
    for case in fixture["cases"]:
        _, model = fixture_model(XSeg, "xseg", backend, standins, blur_sigma=case["blur_sigma"])
        image = upstream.image(case["image"])
        landmarks = np.asarray(case["landmarks"], dtype=np.float32)
        context = f"xseg/{backend} {case['image']} blur {case['blur_sigma']}"
        mask = model.parse(image, landmarks=landmarks)
        assert mask.dtype == np.float32 and list(mask.shape) == case["mask"]["shape"] == list(image.shape[:2])
        worst = max(worst, _compare_unit(mask, case["mask"], context))
        if "crop_mask" in case:
            crop_mask, crop, inverse = model.parse_with_inverse(image, landmarks)
            assert crop.shape == (model.align_size, model.align_size, 3)
            np.testing.assert_allclose(inverse, case["inverse"], rtol=1e-12, atol=1e-9)
            worst = max(worst, _compare_unit(crop_mask, case["crop_mask"], context + " (crop)"))
    print(f"xseg/{backend}: {len(fixture['cases'])} masks, worst {worst:.2e}")


def _compare_unit(got: np.ndarray, entry: dict, context: str) -> float:
    err = float(np.abs(sample(got, entry) - decode(entry)).max())
    assert err <= MASK_TOL, f"{context}: mask off by {err:.2e}"
    for stat in ("mean", "min", "max"):
        assert abs(float(getattr(got, stat)()) - entry[stat]) <= upstream.VALUE_TOL, f"{context}: {stat}"
    return err


def test_xseg_needs_five_landmarks(standins):
    fixture, model = fixture_model(XSeg, "xseg", "onnx", standins, blur_sigma=0)
    image = upstream.image(fixture["cases"][0]["image"])
    with pytest.raises(ValueError, match="requires 5-point"):
        model.parse(image)
    with pytest.raises(ValueError, match=r"shape \(5, 2\)"):
        model.parse(image, landmarks=np.zeros((6, 2), np.float32))


def test_xseg_mask_sharpening_hand_computed():
    """With blur, [0.5, 1] stretches to [0, 1] and everything below 0.5 drops to 0."""
    flat = np.full((1, 8, 8, 1), 0.75, dtype=np.float32)
    np.testing.assert_allclose(xseg_mask(flat, (4, 4), blur_sigma=1.0), 0.5)
    low = np.full((1, 8, 8, 1), 0.3, dtype=np.float32)
    assert (xseg_mask(low, (4, 4), blur_sigma=1.0) == 0).all()
    out_of_range = np.full((1, 8, 8, 1), 1.7, dtype=np.float32)
    assert (xseg_mask(out_of_range, (5, 3)) == 1.0).all() and xseg_mask(out_of_range, (5, 3)).shape == (3, 5)
