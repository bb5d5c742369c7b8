"""The facade hands its detectors and recognizers the 8-bit image (`UNIFACE_IMAGE_INPUT`, on by default).

Oracle: the same class on the same file and backend with `UNIFACE_IMAGE_INPUT=0`, which feeds the float
tensor made in numpy (the path upstream uniface takes). On MLX the image path is a different translation
(the normalization folded into the stem conv, which reads the uint8 image); on onnxruntime it is fed
`runtime.models.image_blob`, which must be exactly what the detectors' `preprocess` made.

Tolerances: raw outputs within 1e-4 of the float path's, relative to max(1, max |x|) (the project's parity
bound); final detections with the facade's own (tests/uniface/upstream.py: same count, IoU >= 0.999,
landmarks within 0.01 px, confidences within 1e-4).
"""

from __future__ import annotations

import functools
from pathlib import Path

import uniface
from runtime.models import TensorInfo, image_blob
from translator.image_input import ImageInput
from uniface._runner import fits_image_input
from uniface.backend import image_input_enabled
from uniface.recognition import PreprocessConfig

import cv2
import numpy as np
import onnx
import pytest
from onnx import helper

from . import upstream
from .conftest import IMAGES, MODELS, need_shared

RTOL = 1e-4
PHOTOS = ("uniface_test.jpg", "yolov5face_zidane.jpg", "lfw_Rob_Lowe_0001.jpg")

# name -> (class, file: a fixture family whose file upstream ran, or a file in ../shared/models)
DETECTORS = {
    "blazeface": (uniface.BlazeFace, "blazeface"),
    "centerface": (uniface.CenterFace, "centerface"),
    "retinaface": (uniface.RetinaFace, "retinaface"),
    "scrfd": (uniface.SCRFD, "scrfd"),
    "yolov5face": (uniface.YOLOv5Face, "yolov5face"),
    "yolov5n_0.5_raw_heads": (uniface.YOLOv5Face, "yolov5n_0.5_face.onnx"),
    "yolov8face": (uniface.YOLOv8Face, "yolov8face"),
    "yunet": (uniface.YuNet, "face_detection_yunet_2023mar.onnx"),
}
RECOGNIZERS = {
    "adaface": uniface.AdaFace,
    "arcface_mbf": uniface.ArcFace,
    "arcface_r50": uniface.ArcFace,
    "edgeface": uniface.EdgeFace,
    "mobileface": uniface.MobileFace,
    "sphereface": uniface.SphereFace,
}


def _path(source: str, standins: Path) -> Path:
    need_shared()
    return MODELS / source if source.endswith(".onnx") else upstream.main_weight_path(upstream.load(source), standins)


@functools.cache
def _pair(cls: type, path: Path, backend: str, options: tuple = ()) -> tuple:
    """(image-in model, tensor-in model): the same class, file and backend, `UNIFACE_IMAGE_INPUT` 1 and 0."""
    models = []
    for flag in ("1", "0"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("UNIFACE_IMAGE_INPUT", flag)
            model = cls(model_path=path, backend=backend, **dict(options))
        assert model.backend == backend
        models.append(model)
    image_in, tensor_in = models
    assert image_in.takes_images and image_in.session.image_input == image_in.normalization
    assert not tensor_in.takes_images and tensor_in.session.image_input is None
    return image_in, tensor_in


def _photo(name: str) -> np.ndarray:
    return upstream.image(name)


def _assert_close(got: list[np.ndarray], want: list[np.ndarray], context: str) -> None:
    assert [g.shape for g in got] == [w.shape for w in want], context
    for i, (g, w) in enumerate(zip(got, want)):
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        err = float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0
        assert err <= RTOL * scale, f"{context} output {i}: off by {err:.2e} (scale {scale:.3g})"


def _as_rows(faces) -> list[dict]:
    return [{"bbox": f.bbox, "landmarks": f.landmarks, "confidence": f.confidence} for f in faces]


def _canvas(detector) -> np.ndarray:
    """A real photo resized to the size the detector's network runs at (640x480 where any size goes)."""
    h, w = detector.inputs[0].shape[2:]
    return cv2.resize(_photo(PHOTOS[0]), (w or 640, h or 480))


@pytest.mark.parametrize("backend", upstream.BACKENDS)
@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_reads_the_image_like_the_float_tensor(name, backend, standins):
    cls, source = DETECTORS[name]
    image_in, tensor_in = _pair(cls, _path(source, standins), backend)
    canvas = _canvas(image_in)
    got, want = image_in._run_canvas(canvas), tensor_in._run_canvas(canvas)
    if backend == "onnx":  # the same float blob reaches onnxruntime both ways
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    _assert_close(got, want, f"{name}/{backend} raw")
    for photo in PHOTOS:
        faces, ref = image_in.detect(_photo(photo)), tensor_in.detect(_photo(photo))
        upstream.assert_faces_match(faces, _as_rows(ref), f"{name}/{backend} {photo}")


@pytest.mark.parametrize("backend", upstream.BACKENDS)
def test_upstream_inference_still_takes_the_float_tensor(backend):
    """`inference(preprocess(canvas))` (upstream's API) runs the float tensor even where the runner reads images."""
    need_shared()
    image_in, _ = _pair(uniface.SCRFD, MODELS / "scrfd_500m_kps.onnx", backend)
    canvas = _canvas(image_in)
    _assert_close(image_in.inference(image_in.preprocess(canvas)), image_in._run_canvas(canvas), "inference")


def _dynamic_retinaface(folder: Path) -> Path:
    """The RetinaFace file made a dynamic export: its two FPN upsamplings take their sizes from the feature
    map they are added to (as the PyTorch code computes them), not the constants a 640x640 export froze."""
    model = onnx.load(str(MODELS / "retinaface_mnet025_biubug6.onnx"))
    frozen = {"/fpn/Constant_3_output_0": "/fpn/output2/output2.2/LeakyRelu_output_0",
              "/fpn/Constant_7_output_0": "/fpn/output1/output1.2/LeakyRelu_output_0"}  # fmt: skip
    nodes = []
    for node in model.graph.node:
        target = frozen.get(node.output[0]) if node.op_type == "Constant" else None
        if target is None:
            nodes.append(node)
            continue
        out = node.output[0]
        nodes += [helper.make_node("Shape", [target], [out + "_shape"]),
                  helper.make_node("Constant", [], [out + "_from"], value=helper.make_tensor("f", 7, [1], [2])),
                  helper.make_node("Constant", [], [out + "_to"], value=helper.make_tensor("t", 7, [1], [4])),
                  helper.make_node("Slice", [out + "_shape", out + "_from", out + "_to"], [out])]  # fmt: skip
    assert len(nodes) == len(model.graph.node) + 6
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    for value in (*model.graph.input, *model.graph.output):
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis != 1 or value in model.graph.output:
                dim.dim_param = f"{value.name}_{axis}"
    path = folder / "retinaface_dynamic.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("backend", upstream.BACKENDS)
@pytest.mark.parametrize("name", ["scrfd", "yunet", "retinaface"])
def test_dynamic_size_reads_images_of_every_size(name, backend, tmp_path_factory):
    """dynamic_size=True: one translation with free N, H, W takes the image at each photo's own size."""
    need_shared()
    cls = {"scrfd": uniface.SCRFD, "yunet": uniface.YuNet, "retinaface": uniface.RetinaFace}[name]
    path = {"scrfd": MODELS / "scrfd_500m_kps.onnx", "yunet": MODELS / "face_detection_yunet_2023mar.onnx"}.get(name)
    if path is None:
        path = _dynamic_retinaface(tmp_path_factory.mktemp("retinaface"))
    image_in, tensor_in = _pair(cls, path, backend, (("dynamic_size", True),))
    sizes = set()
    for photo in PHOTOS:
        image = _photo(photo)
        if name == "retinaface":  # fed at its own size: the FPN's 2x upsamplings need sides divisible by 32
            image = image[: image.shape[0] // 32 * 32, : image.shape[1] // 32 * 32]
        sizes.add(image.shape[:2])
        faces, ref = image_in.detect(image), tensor_in.detect(image)
        upstream.assert_faces_match(faces, _as_rows(ref), f"{name}/{backend} dynamic {photo}")
        assert len(ref) > 0, photo
    assert len(sizes) == len(PHOTOS)
    if backend == "mlx":
        assert len(image_in.session._models) == 1, "every size ran on the one dynamic translation"


@pytest.mark.parametrize("backend", upstream.BACKENDS)
@pytest.mark.parametrize("family", sorted(RECOGNIZERS))
def test_recognizer_reads_the_crops_like_the_float_blob(family, backend, standins):
    fixture = upstream.load(family)
    image_in, tensor_in = _pair(RECOGNIZERS[family], _path(family, standins), backend)
    crops = []
    for case in fixture["cases"][:5]:
        image, landmarks = _photo(case["image"]), np.asarray(case["landmarks"], dtype=np.float32)
        context = f"{family}/{backend} {case['image']}"
        _assert_close([image_in.get_embedding(image, landmarks)], [tensor_in.get_embedding(image, landmarks)], context)
        crops.append(uniface.face_alignment(image, landmarks, image_in.input_size[0])[0])
    # a batch of 5 crops runs zero-padded to 8 (uint8 rows for the image path, float rows for the other)
    _assert_close([image_in.embed_aligned(crops)], [tensor_in.embed_aligned(crops)], f"{family}/{backend} batch")


@pytest.mark.parametrize("backend", upstream.BACKENDS)
def test_per_channel_preprocessing_config_reads_the_image_the_same(backend):
    """A PreprocessConfig with per-channel mean and std (RGB order) becomes the same ImageInput."""
    need_shared()
    config = PreprocessConfig(input_mean=[120.0, 127.5, 131.0], input_std=[58.0, 64.0, 71.0])
    pair = []
    for flag in ("1", "0"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("UNIFACE_IMAGE_INPUT", flag)
            pair.append(
                uniface.ArcFace(None, config, model_path=MODELS / "mobilefacenet_prelu_128d.onnx", backend=backend)
            )
    image_in, tensor_in = pair
    assert image_in.session.image_input == ImageInput((120.0, 127.5, 131.0), (58.0, 64.0, 71.0), bgr_to_rgb=True)
    crop = cv2.imread(str(IMAGES / "facerec_aligned_a_01.jpg"))
    np.testing.assert_allclose(image_blob(crop, image_in.normalization), tensor_in.preprocess(crop), rtol=1e-6)
    _assert_close([image_in.get_embedding(crop)], [tensor_in.get_embedding(crop)], f"per-channel/{backend}")


@pytest.mark.parametrize("value,enabled", [("", True), ("1", True), ("true", True), (" ON ", True),
                                           ("0", False), ("false", False), ("no", False), ("Off", False)])  # fmt: skip
def test_the_opt_out_variable(value, enabled, monkeypatch):
    monkeypatch.setenv("UNIFACE_IMAGE_INPUT", value)
    assert image_input_enabled() is enabled


def test_a_bad_opt_out_value_is_a_clear_error(monkeypatch):
    need_shared()
    monkeypatch.setenv("UNIFACE_IMAGE_INPUT", "maybe")
    with pytest.raises(ValueError, match="UNIFACE_IMAGE_INPUT='maybe'"):
        uniface.SCRFD(model_path=MODELS / "scrfd_500m_kps.onnx", backend="onnx")


def test_only_one_three_channel_nchw_float_input_takes_the_image():
    """Files given as model_path whose input does not fit keep the float tensor path."""
    spec = ImageInput(127.5, 127.5)
    f32, nchw = np.dtype(np.float32), (1, 3, 112, 112)
    assert fits_image_input([TensorInfo("x", nchw, f32)], spec)
    assert fits_image_input([TensorInfo("x", (None, 3, None, None), f32)], ImageInput((1.0, 2.0, 3.0), 2.0))
    assert not fits_image_input([TensorInfo("x", (1, 112, 112, 3), f32)], spec)  # NHWC
    assert not fits_image_input([TensorInfo("x", (1, 1, 112, 112), f32)], spec)  # gray
    assert not fits_image_input([TensorInfo("x", nchw, np.dtype(np.uint8))], spec)
    assert not fits_image_input([TensorInfo("x", nchw, f32), TensorInfo("y", (1,), f32)], spec)
    assert not fits_image_input([TensorInfo("x", nchw, f32)], ImageInput((1.0, 2.0), 1.0))
