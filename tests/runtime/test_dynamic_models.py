"""SCRFD and YuNet at any input size from ONE translation, against onnxruntime on a real photo.

SCRFD declares dynamic height and width. YuNet declares a fixed 1x3x640x640
input, but its graph computes every shape from that input (its Reshapes use -1
and its upsampling uses scales), so `dynamic=True` frees the declared size and
one translation runs at every size. onnxruntime refuses other sizes of the
declared YuNet, so the oracle runs the same graph with the declared size freed
(the graph itself untouched). YuNet's two top-down Adds need height and width
to be multiples of 32.
"""

from __future__ import annotations

from runtime.models import open_model
from runtime.session import InferenceSession

import numpy as np
import onnx
import pytest

from tools.zoo import MODELS, nchw, photo

ATOL = 1e-4
SIZES = [(640, 640), (480, 640), (320, 320), (256, 416), (96, 160)]
PREPROCESS = {
    "scrfd_500m_kps.onnx": lambda img: nchw((img - 127.5) / 127.5),
    "face_detection_yunet_2023mar.onnx": nchw,
}


def _ort_any_size(model_file: str):
    """onnxruntime on the model with its declared input size (and output sizes) made dynamic."""
    import onnxruntime as ort

    model = onnx.load(str(MODELS / model_file))
    for dim in model.graph.input[0].type.tensor_type.shape.dim[2:]:
        dim.Clear()
    del model.graph.value_info[:]
    for out in model.graph.output:
        for dim in out.type.tensor_type.shape.dim:
            dim.Clear()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])


def _assert_matches(got: list, want: list, label: str) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (label, i, g.shape, w.shape)
        err = float(np.max(np.abs(g.astype(np.float64) - w)))
        assert err <= ATOL, f"{label} output {i}: max abs error {err:.3g}"


@pytest.mark.parametrize("model_file", sorted(PREPROCESS))
@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_one_session_translation_runs_every_size(tmp_path, model_file, mode):
    sess = InferenceSession(MODELS / model_file, mode=mode, cache_dir=tmp_path, dynamic=True)
    ref = _ort_any_size(model_file)
    name = sess.get_inputs()[0].name
    for hw in SIZES:
        x = PREPROCESS[model_file](photo(hw))
        _assert_matches(sess.run(None, {name: x}), ref.run(None, {name: x}), f"{model_file} {hw} {mode}")
    assert len(sess._models) == 1, "one translation for every size"
    assert not list(tmp_path.glob("model_*")), "no per-size translation was made"


@pytest.mark.parametrize("model_file", sorted(PREPROCESS))
def test_open_model_dynamic_translates_once(tmp_path, model_file):
    runner = open_model(MODELS / model_file, "mlx", cache_dir=tmp_path, dynamic=True)
    ref = _ort_any_size(model_file)
    for hw in SIZES[:3]:
        x = PREPROCESS[model_file](photo(hw))
        _assert_matches(runner.run(x), ref.run(None, {runner.input_name: x}), f"{model_file} {hw}")
    assert len(runner._models) == 1
    entries = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and entries[0].endswith("-dynamic"), entries
    again = open_model(MODELS / model_file, "mlx", cache_dir=tmp_path, dynamic=True)
    assert not again.translated_now  # the one translation is cached
