"""InstanceNormalization between convs: the layout pass keeps it in NHWC (its `mlx.nhwc` twin, statistics over
H and W), on the native kernel and on MLX's ops, against onnxruntime; MODNet's IBNorm (a channel slice through
BatchNorm, the other through InstanceNorm, concatenated) stays NHWC end to end."""

from translator import translate

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model

RNG = np.random.default_rng(23)


def _ibnorm_net(c=8, hw=(37, 21)):
    half = c // 2
    inits = {
        "w1": (RNG.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32),
        "w2": (RNG.standard_normal((c, c, 3, 3)) * 0.3).astype(np.float32),
        "g": RNG.uniform(0.5, 1.5, half).astype(np.float32), "b": RNG.standard_normal(half).astype(np.float32),
        "m": RNG.standard_normal(half).astype(np.float32), "v": RNG.uniform(0.5, 2, half).astype(np.float32),
        "s": RNG.uniform(0.5, 1.5, c - half).astype(np.float32), "t": RNG.standard_normal(c - half).astype(np.float32),
        "z": np.array([0], np.int64), "h": np.array([half], np.int64), "e": np.array([c], np.int64),
        "ax": np.array([1], np.int64),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Slice", ["c1", "z", "h", "ax"], ["lo"]),
        helper.make_node("Slice", ["c1", "h", "e", "ax"], ["hi"]),
        helper.make_node("BatchNormalization", ["lo", "g", "b", "m", "v"], ["bn"]),
        helper.make_node("InstanceNormalization", ["hi", "s", "t"], ["inorm"], epsilon=1e-5),
        helper.make_node("Concat", ["bn", "inorm"], ["cat"], axis=1),
        helper.make_node("Relu", ["cat"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    shape = [2, 3, *hw]
    model = make_model(nodes, [("x", np.float32, shape)], [("y", np.float32, [2, c, *hw])], inits, opset=17)
    return model, {"x": (RNG.standard_normal(shape) * 2 + 3).astype(np.float32)}


@pytest.mark.parametrize("native", [True, False], ids=["native", "mlx"])
def test_ibnorm_stays_nhwc_and_matches_ort(native, tmp_path):
    model, feed = _ibnorm_net()
    t = translate(model, native=native)
    fns = [c.fn for c in t.program.calls]
    assert fns.count("transpose") <= 2, fns  # only the graph's own NCHW input and output
    if native:
        norms = [c for c in t.program.calls if c.fn == "native_instance_norm"]
        assert len(norms) == 1 and norms[0].kwargs.get("channels_last") is True
    assert_matches_ort(model, feed, tmp_path, atol=1e-4, rtol=1e-4, native=native)
