"""Runners that take the 8-bit image (`open_model(..., image_input=...)`, `run_image`), on real models."""

from __future__ import annotations

from pathlib import Path

from runtime.models import image_blob, open_model
from translator.image_input import ImageInput

import numpy as np
import pytest

from tools.zoo import IMAGES, ZOO

# the normalizations upstream uniface applies (../shared/models/MANIFEST.md; YuNet: BGR, none, as OpenCV's)
SPECS = {"scrfd_640": ImageInput(127.5, 127.5), "mobilefacenet": ImageInput(127.5, 127.5, bgr_to_rgb=True),
         "retinaface": ImageInput((104.0, 117.0, 123.0), 1.0), "yunet": ImageInput(0.0, 1.0)}  # fmt: skip


def _photo(key: str) -> np.ndarray:
    import cv2

    size, name = (
        ((112, 112), "facerec_aligned_a_01.jpg") if key == "mobilefacenet" else ((640, 640), "uniface_test.jpg")
    )
    img = cv2.imread(str(IMAGES / name))
    return cv2.resize(img, size)


@pytest.mark.parametrize("key", sorted(SPECS))
def test_mlx_reads_the_image_and_matches_onnxruntime_on_the_blob(key, tmp_path):
    """The MLX runner's translation reads the uint8 image (normalization folded into its stem); the onnx
    runner gets numpy's float blob. Same outputs within the parity bound, both modes."""
    spec, img = SPECS[key], _photo(key)
    images = (
        np.stack([img, img[:, ::-1].copy()]) if key == "mobilefacenet" else img
    )  # a batch where the model takes one
    want = open_model(ZOO[key].path, "onnx", image_input=spec).run_image(images)
    for mode in ("module", "oplist"):
        runner = open_model(ZOO[key].path, "mlx", mode=mode, cache_dir=tmp_path, image_input=spec)
        got = runner.run_image(images)
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want):
            assert float(np.max(np.abs(g - w))) <= 1e-4 * max(1.0, float(np.max(np.abs(w)))), (key, mode)


def test_image_blob_is_what_the_facades_computed():
    img = np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3)
    blob = image_blob(img, ImageInput((1.0, 2.0, 3.0), (2.0, 4.0, 8.0), bgr_to_rgb=True))
    assert blob.shape == (2, 3, 3, 4) and blob.dtype == np.float32
    np.testing.assert_array_equal(blob[:, 0], (img[..., 2].astype(np.float32) - 1) / 2)  # R first
    np.testing.assert_array_equal(blob[:, 2], (img[..., 0].astype(np.float32) - 3) / 8)
    np.testing.assert_array_equal(blob[:, 1], (img[..., 1].astype(np.float32) - 2) / 4)
    one = image_blob(img[1], ImageInput((1.0, 2.0, 3.0), (2.0, 4.0, 8.0), bgr_to_rgb=True))  # one HWC image
    np.testing.assert_array_equal(one, blob[1:])


def test_translations_with_and_without_image_input_are_cached_apart(tmp_path):
    path = ZOO["mobilefacenet"].path
    for spec in (None, SPECS["mobilefacenet"], ImageInput(0.0, 255.0)):
        open_model(path, "mlx", cache_dir=tmp_path, image_input=spec, input_shapes={"x": (1, 3, 112, 112)})
    assert len([p for p in Path(tmp_path).iterdir() if not p.name.startswith(".")]) == 3


def test_run_image_errors_are_clear(tmp_path):
    path = ZOO["mobilefacenet"].path
    plain = open_model(path, "onnx")
    with pytest.raises(ValueError, match="opened without image_input"):
        plain.run_image(np.zeros((112, 112, 3), np.uint8))
    runner = open_model(path, "mlx", cache_dir=tmp_path, image_input=SPECS["mobilefacenet"])
    with pytest.raises(ValueError, match="uint8 HWC image"):
        runner.run_image(np.zeros((112, 112, 3), np.float32))
