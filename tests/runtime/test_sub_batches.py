"""Real detectors fed a batch of distinct photos run image by image (runtime/session.py's sub-batches)
and must give onnxruntime's outputs on the whole batch: SCRFD's heads interleave the images
([H, W, N, 2] flattened), YuNet's fold the batch into axis 1 ([1, N * H * W, 1])."""

from __future__ import annotations

from runtime.session import DEFAULT_SUB_BATCH_MB, InferenceSession
from translator.batch_split import image_split

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tools.zoo import MODELS, nchw, photo

ATOL = 1e-4
PHOTOS = ["uniface_test.jpg", "insightface_t1.jpg", "uniface_image0.jpg"]
MODELS_PREPROCESS = {
    "scrfd_500m_kps.onnx": lambda img: nchw((img - 127.5) / 127.5),
    "face_detection_yunet_2023mar.onnx": nchw,
}


def _free_batch(model_file: str) -> bytes:
    """The model with its input's batch and size dims, and every output dim, made dynamic (the graph untouched)."""
    model = onnx.load(str(MODELS / model_file))
    for i in (0, 2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[i].Clear()
        model.graph.input[0].type.tensor_type.shape.dim[i].dim_param = f"d{i}"
    del model.graph.value_info[:]
    for out in model.graph.output:
        for dim in out.type.tensor_type.shape.dim:
            dim.Clear()
    return model.SerializeToString()


def _batch(model_file: str, hw: tuple[int, int]) -> np.ndarray:
    return np.concatenate([MODELS_PREPROCESS[model_file](photo(hw, name)) for name in PHOTOS])


@pytest.mark.parametrize("model_file", sorted(MODELS_PREPROCESS))
@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_a_batch_run_image_by_image_matches_onnxruntime(tmp_path, model_file, mode):
    data = _free_batch(model_file)
    x = _batch(model_file, (320, 320))
    sess = InferenceSession(data, mode=mode, cache_dir=tmp_path, sub_batch_mb=1e-6)
    name = sess.get_inputs()[0].name
    got = sess.run(None, {name: x})
    split = sess._split([x])
    assert split is not None and split.sub_batch(sess.sub_batch_bytes) == 1, "the batch ran image by image"
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    want = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"]).run(None, {name: x})
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (i, g.shape, w.shape)
        err = float(np.max(np.abs(g.astype(np.float64) - w)))
        assert err <= ATOL, f"{model_file} {mode} output {i}: max abs error {err:.3g}"


@pytest.mark.parametrize("model_file", sorted(MODELS_PREPROCESS))
def test_the_default_budget_runs_640_detectors_two_images_at_a_time(model_file):
    """One image's largest map (640x640: 320x320x16 floats, 6.5 MB): two fill the default budget."""
    split = image_split(_free_batch(model_file), {"input.1" if "scrfd" in model_file else "input": (8, 3, 640, 640)})
    assert split is not None
    assert split.image_bytes == 320 * 320 * 16 * 4
    assert split.sub_batch(int(DEFAULT_SUB_BATCH_MB * (1 << 20))) == 2


def test_one_dynamic_translation_runs_the_sub_batches(tmp_path):
    """dynamic=True: the one translation runs every sub-batch (no per-size translation is made)."""
    model_file = "face_detection_yunet_2023mar.onnx"
    data = _free_batch(model_file)
    x = _batch(model_file, (320, 320))
    sess = InferenceSession(data, mode="module", cache_dir=tmp_path, sub_batch_mb=1e-6, dynamic=True)
    got = sess.run(None, {"input": x})
    assert sess._split([x]) is not None and len(sess._models) == 1
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    want = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"]).run(None, {"input": x})
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (i, g.shape, w.shape)
        assert float(np.max(np.abs(g.astype(np.float64) - w))) <= ATOL, i
