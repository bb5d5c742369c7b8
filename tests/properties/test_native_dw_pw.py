"""The fused depthwise + pointwise kernel (opset.native.dw_pw_conv2d) against onnxruntime.

Each example is a MobileNet block as ONNX: a depthwise conv with bias and activation, then a 1x1 conv
with bias, activation and optionally a residual Add (before or after its activation), run in
onnxruntime on the NCHW input; the kernel computes the pair in one pass on the NHWC input (contiguous
or a strided view), eagerly or inside mx.compile, on every instruction set this CPU runs.
"""

from __future__ import annotations

import os

from opset import native

import mlx.core as mx
import numpy as np
import pytest
from hypothesis import given
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
def blocks(draw):
    k = draw(st.sampled_from([3, 5]))
    return {
        "k": k, "stride": draw(st.sampled_from([1, 2])), "pads": [draw(st.integers(0, k - 1)) for _ in range(4)],
        "n": draw(st.integers(1, 2)), "h": draw(st.integers(k, 17)), "w": draw(st.integers(k, 17)),
        "c": draw(st.integers(1, 40)), "c_out": draw(st.integers(1, 40)),
        "act": draw(st.sampled_from(ACTS)), "act_pw": draw(st.sampled_from(ACTS)),
        "bias": draw(st.booleans()), "bias_pw": draw(st.booleans()),
        "residual": draw(st.sampled_from([False, "before", "after"])),
        "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
    }  # fmt: skip


def check(b):
    rng = np.random.default_rng(b["seed"])
    n, h, w, c, co, k, s = b["n"], b["h"], b["w"], b["c"], b["c_out"], b["k"], b["stride"]
    pt, pl, pb, pr = b["pads"]
    ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    w_dw = (rng.standard_normal((c, 1, k, k)) * 0.5).astype(np.float32)
    w_pw = (rng.standard_normal((co, c, 1, 1)) / np.sqrt(c)).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32) if b["bias"] else None
    bias_pw = rng.standard_normal(co).astype(np.float32) if b["bias_pw"] else None
    slope, slope_pw = rng.uniform(-0.5, 1.5, c).astype(np.float32), rng.uniform(-0.5, 1.5, co).astype(np.float32)
    residual = rng.standard_normal((n, ho, wo, co)).astype(np.float32) if b["residual"] else None
    alpha, beta = (-0.4, 0.7) if b["act"] == "clip" else (0.13, 0.0)
    alpha_pw, beta_pw = (-0.3, 0.9) if b["act_pw"] == "clip" else (0.2, 0.0)

    inits = {"wd": w_dw, "wp": w_pw} | ({"bd": bias} if bias is not None else {}) | (
        {"bp": bias_pw} if bias_pw is not None else {})  # fmt: skip
    nodes = [helper.make_node("Conv", ["x", "wd"] + (["bd"] if bias is not None else []), ["d"], group=c,
                              strides=[s, s], pads=[pt, pl, pb, pr])]  # fmt: skip
    nodes += activation_nodes(b["act"], "d", "da", alpha, beta, slope, inits, "_dw")
    nodes.append(helper.make_node("Conv", ["da", "wp"] + (["bp"] if bias_pw is not None else []), ["p"]))
    feed = {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
    inputs = [("x", np.float32, list(feed["x"].shape))]
    last = "p"
    if residual is not None:
        feed["r"] = np.ascontiguousarray(residual.transpose(0, 3, 1, 2))
        inputs.append(("r", np.float32, list(feed["r"].shape)))
        if b["residual"] == "before":
            nodes.append(helper.make_node("Add", ["p", "r"], ["pr"]))
            last = "pr"
    nodes += activation_nodes(b["act_pw"], last, "y0", alpha_pw, beta_pw, slope_pw, inits, "_pw")
    nodes.append(helper.make_node("Add", ["y0", "r"], ["y"]) if b["residual"] == "after" else
                 helper.make_node("Identity", ["y0"], ["y"]))  # fmt: skip
    model = make_model(nodes, inputs, [("y", np.float32, None)], inits, opset=14)
    want = run_ort(model, feed)[0].transpose(0, 2, 3, 1)

    def block(xa, ra):
        return native.dw_pw_conv2d(
            xa, mx.array(np.ascontiguousarray(w_dw[:, 0].transpose(1, 2, 0))), None if bias is None else mx.array(bias),
            mx.array(np.ascontiguousarray(w_pw.transpose(2, 3, 1, 0))), None if bias_pw is None else mx.array(bias_pw),
            strides=(s, s), pads=(pt, pl, pb, pr), activation=b["act"], alpha=alpha, beta=beta,
            slope=mx.array(slope) if b["act"] == "prelu" else None, pw_activation=b["act_pw"], pw_alpha=alpha_pw,
            pw_beta=beta_pw, pw_slope=mx.array(slope_pw) if b["act_pw"] == "prelu" else None, residual=ra,
            residual_after=b["residual"] == "after",
        )  # fmt: skip

    xa = _view(x, b["view"])
    ra = None if residual is None else _view(residual, b["view"])
    for isa in ISAS:
        with use_isa(isa):
            fn = block if b["run"] == "eager" else mx.compile(block)
            got = np.array(fn(xa, ra))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=3e-5, rtol=3e-5, err_msg=isa)


@scaled(2)
@given(b=blocks())
def test_depthwise_pointwise_matches_onnxruntime(b):
    check(b)


@pytest.mark.parametrize("c,c_out,stride", [(16, 16, 1), (40, 72, 2), (72, 72, 1), (288, 288, 1), (64, 4, 1)])
def test_face_model_blocks(c, c_out, stride):
    """SCRFD/MobileNet block shapes, larger than the generated ones (channels off the vector width too)."""
    check({"k": 3, "stride": stride, "pads": [1, 1, 1, 1], "n": 1, "h": 24, "w": 40, "c": c, "c_out": c_out,
           "act": "relu", "act_pw": "relu", "bias": True, "bias_pw": True, "residual": False, "view": "contiguous",
           "run": "eager", "seed": 3})  # fmt: skip


def test_pointwise_weight_must_be_1x1():
    x, w = mx.zeros((1, 8, 8, 4)), mx.zeros((3, 3, 4))
    with pytest.raises(ValueError, match="pointwise weight"):
        native._ext.dw_pw_conv2d(x, w, None, None, mx.zeros((3, 3, 4, 4)), None, None, None, strides=[1, 1],
                                 pads=[1, 1, 1, 1])  # fmt: skip
