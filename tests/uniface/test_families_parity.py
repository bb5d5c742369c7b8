"""Each 4.x family's network, translated, against onnxruntime: both modes within 1e-4 (relative to
max(|x|, 1)), and the module and the op list bit-identical to each other (tests/util.assert_matches_ort).

Inputs are drawn in each model's own input range (what its preprocessing produces), seeded.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from tests.util import assert_matches_ort

from .conftest import MODELS, need_shared

PARITY_TOL = 1e-4


def _uniform(shape, low, high, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


IMAGENET = (-2.1, 2.6)  # ImageNet-normalized pixels
# stand-in file -> feed builder (name -> array)
STANDIN_FEEDS = {
    "pipnet_r18_wflw_98.onnx": lambda: {"input": _uniform((1, 3, 256, 256), *IMAGENET)},
    "pipnet_r18_300w_celeba_68.onnx": lambda: {"input": _uniform((1, 3, 256, 256), *IMAGENET)},
    "face_mesh.onnx": lambda: {"input": _uniform((1, 3, 192, 192), 0, 1)},
    "face_landmarker.onnx": lambda: {"input": _uniform((2, 3, 256, 256), 0, 1)},  # batch of 2: dynamic N
    "fairface.onnx": lambda: {"input": _uniform((1, 3, 224, 224), *IMAGENET)},
    "face_attrib_net.onnx": lambda: {"image": _uniform((1, 3, 128, 128), 0, 1)},
    "gaze_resnet34.onnx": lambda: {"input": _uniform((1, 3, 448, 448), *IMAGENET)},
    "headpose_resnet18.onnx": lambda: {"input": _uniform((1, 3, 224, 224), *IMAGENET)},
    "parsing_resnet18.onnx": lambda: {"input": _uniform((1, 3, 512, 512), *IMAGENET)},
    "xseg.onnx": lambda: {"input": _uniform((1, 256, 256, 3), 0, 1)},
    "modnet_photographic.onnx": lambda: {"input": _uniform((1, 3, 320, 480), -1, 1)},
    "ediffiqa_t.onnx": lambda: {"input": _uniform((1, 3, 112, 112), -1, 1)},
    "rvm_mobilenetv3.onnx": lambda: {
        "src": _uniform((1, 3, 144, 256), 0, 1),
        **{f"r{i}i": np.zeros((1, 1, 1, 1), np.float32) for i in range(1, 5)},
        "downsample_ratio": np.array([0.5], np.float32),
    },
}


@pytest.mark.parametrize("name", sorted(STANDIN_FEEDS))
def test_standin_translation_matches_onnxruntime(name, standins, tmp_path):
    model = onnx.load(str(standins / name))
    assert_matches_ort(model, STANDIN_FEEDS[name](), tmp_path, atol=PARITY_TOL, rtol=PARITY_TOL)


def test_rvm_second_frame_matches_onnxruntime(standins, tmp_path):
    """The recurrent path proper: frame 2 fed frame 1's states (full-size r*i instead of the [1,1,1,1] zeros)."""
    import onnxruntime as ort

    model = onnx.load(str(standins / "rvm_mobilenetv3.onnx"))
    first = STANDIN_FEEDS["rvm_mobilenetv3.onnx"]()
    states = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, first)[2:]
    second = {**first, "src": _uniform((1, 3, 144, 256), 0, 1, seed=1)}
    second.update({f"r{i}i": s for i, s in enumerate(states, 1)})
    assert_matches_ort(model, second, tmp_path, atol=PARITY_TOL, rtol=PARITY_TOL)


@pytest.mark.parametrize("name", ["MiniFASNetV1SE.onnx", "MiniFASNetV2.onnx"])
def test_minifasnet_real_weights_match_onnxruntime(name, tmp_path):
    need_shared()
    model = onnx.load(str(MODELS / name))
    feed = {"input": _uniform((1, 3, 80, 80), 0, 255)}  # raw BGR pixel values
    assert_matches_ort(model, feed, tmp_path, atol=PARITY_TOL, rtol=PARITY_TOL)
