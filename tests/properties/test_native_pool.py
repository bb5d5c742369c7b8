"""A depthwise conv with its 2x2 stride-2 max pool fused (opset.native.conv2d(..., pool=True)) against onnxruntime.

Each example is ONNX Conv (group = channels) with bias, an activation, and MaxPool 2x2 stride 2, run in
onnxruntime on the NCHW input; the kernel writes only the pooled map, on every instruction set this CPU runs,
from a contiguous input or a strided view, eagerly or inside mx.compile. Examples whose conv output has an
odd height or width are discarded (the fused kernel refuses them; the translator fuses only even ones).
"""

from __future__ import annotations

import os

from opset import native

import mlx.core as mx
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from onnx import helper

from tests.properties.conftest import scaled
from tests.properties.test_native_kernels import ACTS, ISAS, _view, activation_nodes, use_isa
from tests.util import make_model, run_ort

pytestmark = pytest.mark.skipif(
    not native.available() and not os.environ.get("CI"),
    reason=f"native kernels not built here: {native.UNAVAILABLE_REASON}",
)


@st.composite
def cases(draw):
    k = draw(st.sampled_from([3, 3, 5, 1]))
    return {
        "k": k, "stride": draw(st.sampled_from([1, 2])), "pads": [draw(st.integers(0, k - 1)) for _ in range(4)],
        "n": draw(st.integers(1, 2)), "h": draw(st.integers(k, 18)), "w": draw(st.integers(k, 18)),
        "c": draw(st.integers(1, 70)), "act": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
        "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
    }  # fmt: skip


@scaled(2)
@given(b=cases())
def test_depthwise_max_pool_matches_onnxruntime(b):
    rng = np.random.default_rng(b["seed"])
    n, h, w, c, k, s = b["n"], b["h"], b["w"], b["c"], b["k"], b["stride"]
    pt, pl, pb, pr = b["pads"]
    ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
    assume(ho >= 2 and wo >= 2 and ho % 2 == 0 and wo % 2 == 0)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    w_dw = (rng.standard_normal((c, 1, k, k)) * 0.5).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32) if b["bias"] else None
    slope = rng.uniform(-0.5, 1.5, c).astype(np.float32)
    alpha, beta = (-0.4, 0.7) if b["act"] == "clip" else (0.13, 0.0)
    inits = {"wd": w_dw} | ({"bd": bias} if bias is not None else {})
    nodes = [helper.make_node("Conv", ["x", "wd"] + (["bd"] if bias is not None else []), ["d"], group=c,
                              strides=[s, s], pads=[pt, pl, pb, pr])]  # fmt: skip
    nodes += activation_nodes(b["act"], "d", "a", alpha, beta, slope, inits)
    nodes.append(helper.make_node("MaxPool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2]))
    feed = {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
    model = make_model(nodes, [("x", np.float32, list(feed["x"].shape))], [("y", np.float32, None)], inits, opset=14)
    want = run_ort(model, feed)[0].transpose(0, 2, 3, 1)

    def conv(xa):
        return native.conv2d(
            xa, mx.array(np.ascontiguousarray(w_dw[:, 0].transpose(1, 2, 0))),
            None if bias is None else mx.array(bias), depthwise=True, strides=(s, s), pads=(pt, pl, pb, pr),
            activation=b["act"], alpha=alpha, beta=beta, slope=mx.array(slope) if b["act"] == "prelu" else None,
            pool=True,
        )  # fmt: skip

    xa = _view(x, b["view"])
    for isa in ISAS:
        with use_isa(isa):
            fn = conv if b["run"] == "eager" else mx.compile(conv)
            got = np.array(fn(xa))
        assert got.shape == want.shape == (n, ho // 2, wo // 2, c)
        np.testing.assert_allclose(got, want, atol=2e-5, rtol=2e-5, err_msg=isa)


def test_pool_refuses_what_it_cannot_fuse():
    x = mx.zeros((1, 7, 8, 4))
    w = mx.zeros((3, 3, 4))
    with pytest.raises(ValueError, match="even"):  # a 7-row output
        mx.eval(native.conv2d(x, w, None, depthwise=True, pads=(1, 1, 1, 1), pool=True))
    with pytest.raises(ValueError, match="depthwise"):
        native.conv2d(x, mx.zeros((3, 3, 4, 4)), None, pads=(1, 1, 1, 1), pool=True)
    with pytest.raises(ValueError, match="residual"):
        native.conv2d(x, w, None, depthwise=True, pads=(1, 1, 1, 1), residual=mx.zeros((1, 7, 8, 4)), pool=True)
