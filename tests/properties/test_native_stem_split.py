"""native.stem_split (a stem read by a 2x2 max pool and a 1x1 conv, the stem's map never stored) against
onnxruntime's Conv, activation, MaxPool and 1x1 Conv on the NCHW input.

Stems of 1-4 input channels, kernels 1-5, strides 1-2, any pads with an even output size, 1-40 stem channels
and 1-24 after the 1x1 conv, bias or not, every activation but PRelu on each conv, the input contiguous, a
transposed view of an NCHW array (read in place), a strided view, or the 8-bit image minus an offset, on
every instruction set this CPU runs, eager or compiled.
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
from tests.properties.test_native_kernels import ISAS, _view, activation_nodes, use_isa
from tests.util import make_model, run_ort

pytestmark = pytest.mark.skipif(
    not native.available() and not os.environ.get("CI"),
    reason=f"native kernels not built here: {native.UNAVAILABLE_REASON}",
)

ACTS = [None, "relu", "leaky_relu", "clip", "sigmoid", "hard_swish", "silu"]
PARAMS = {None: (0.0, 0.0), "relu": (0.0, 0.0), "leaky_relu": (0.1, 0.0), "clip": (-0.5, 0.7), "sigmoid": (0.0, 0.0),
          "hard_swish": (0.0, 0.0), "silu": (0.0, 0.0)}  # fmt: skip


@st.composite
def stems(draw):
    k, s = draw(st.sampled_from([1, 2, 3, 5])), draw(st.integers(1, 2))
    pads = [draw(st.integers(0, k - 1)) for _ in range(4)]
    ho, wo = 2 * draw(st.integers(1, 7)), 2 * draw(st.integers(1, 9))
    # the input size giving that output: (h + pads - k) // s + 1 == ho
    h = (ho - 1) * s + k - pads[0] - pads[2] + draw(st.integers(0, s - 1))
    w = (wo - 1) * s + k - pads[1] - pads[3] + draw(st.integers(0, s - 1))
    assume(h >= 1 and w >= 1)  # pads larger than the input would need
    return {"k": k, "s": s, "pads": pads, "h": h, "w": w, "n": draw(st.integers(1, 2)),
            "c_in": draw(st.integers(1, 4)), "c": draw(st.integers(1, 40)), "c_mid": draw(st.integers(1, 24)),
            "act": draw(st.sampled_from(ACTS)), "act_mid": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
            "view": draw(st.sampled_from(["contiguous", "transposed", "sliced", "image"])),
            "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16))}  # fmt: skip


def _reference(case, x_nchw, w, b, w_mid, b_mid):
    """onnxruntime: Conv -> act -> (MaxPool 2x2 s2, Conv 1x1 -> act), NCHW."""
    inits = {"w": w, "w_mid": w_mid} | ({"b": b, "b_mid": b_mid} if case["bias"] else {})
    bias = ["b"] if case["bias"] else []
    nodes = [helper.make_node("Conv", ["x", "w", *bias], ["c"], strides=[case["s"]] * 2, pads=case["pads"])]
    nodes += activation_nodes(case["act"], "c", "y", *PARAMS[case["act"]], None, inits, "0")
    nodes.append(helper.make_node("MaxPool", ["y"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node("Conv", ["y", "w_mid", *(["b_mid"] if case["bias"] else [])], ["m"]))
    nodes += activation_nodes(case["act_mid"], "m", "mid", *PARAMS[case["act_mid"]], None, inits, "1")
    model = make_model(nodes, [("x", np.float32, list(x_nchw.shape))],
                       [("pool", np.float32, None), ("mid", np.float32, None)], inits, opset=14)  # fmt: skip
    return run_ort(model, {"x": x_nchw})


@scaled(2)
@given(case=stems())
def test_stem_split_matches_onnxruntime(case):
    rng = np.random.default_rng(case["seed"])
    image = case["view"] == "image"
    shape = (case["n"], case["h"], case["w"], case["c_in"])
    if image:
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        offset = rng.uniform(0, 255, case["c_in"]).astype(np.float32)
        x_nhwc = pixels.astype(np.float32) - offset
        x = mx.array(pixels)
    else:
        x_nhwc = rng.standard_normal(shape).astype(np.float32)
        x, offset = _view(x_nhwc, case["view"]), None
    w = (rng.standard_normal((case["c"], case["c_in"], case["k"], case["k"])) / 4).astype(np.float32)
    w_mid = (rng.standard_normal((case["c_mid"], case["c"], 1, 1)) / 4).astype(np.float32)
    b = rng.standard_normal(case["c"]).astype(np.float32)
    b_mid = rng.standard_normal(case["c_mid"]).astype(np.float32)
    want_pool, want_mid = _reference(case, np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)), w, b, w_mid, b_mid)

    def run(x):
        (alpha, beta), (alpha_mid, beta_mid) = PARAMS[case["act"]], PARAMS[case["act_mid"]]
        return native.stem_split(
            x, mx.array(w.transpose(2, 3, 1, 0)), mx.array(b) if case["bias"] else None,
            mx.array(w_mid.transpose(2, 3, 1, 0)), mx.array(b_mid) if case["bias"] else None,
            strides=(case["s"], case["s"]), pads=tuple(case["pads"]), activation=case["act"], alpha=alpha, beta=beta,
            mid_activation=case["act_mid"], mid_alpha=alpha_mid, mid_beta=beta_mid,
            offset=mx.array(offset) if image else None,
        )  # fmt: skip

    fn = mx.compile(run) if case["run"] == "compile" else run
    scale = 255.0 if image else 1.0  # the image's values are up to 255: the sums' rounding scales with them
    for isa in ISAS:
        with use_isa(isa):
            pool, mid = fn(x)
            np.testing.assert_allclose(np.array(pool), want_pool.transpose(0, 2, 3, 1), atol=2e-5 * scale, rtol=2e-5,
                                       err_msg=isa)  # fmt: skip
            np.testing.assert_allclose(np.array(mid), want_mid.transpose(0, 2, 3, 1), atol=2e-5 * scale, rtol=2e-5,
                                       err_msg=isa)  # fmt: skip


@pytest.mark.parametrize("c, c_mid", [(16, 8), (8, 16), (40, 24)])
def test_yolov5n_stem_shapes(c, c_mid):
    """The StemBlock's own geometry (3x3 stride 2, pads 1, SiLU) at a 64x48 input, every table."""
    rng = np.random.default_rng(c)
    x_nchw = rng.standard_normal((1, 3, 64, 48)).astype(np.float32)
    w = (rng.standard_normal((c, 3, 3, 3)) / 4).astype(np.float32)
    w_mid = (rng.standard_normal((c_mid, c, 1, 1)) / 4).astype(np.float32)
    b, b_mid = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c_mid).astype(np.float32)
    case = {"s": 2, "pads": [1, 1, 1, 1], "act": "silu", "act_mid": "silu", "bias": True}
    want_pool, want_mid = _reference(case, x_nchw, w, b, w_mid, b_mid)
    x = mx.transpose(mx.array(x_nchw), (0, 2, 3, 1))  # the tensor input: an NCHW array seen as NHWC
    for isa in ISAS:
        with use_isa(isa):
            pool, mid = native.stem_split(x, mx.array(w.transpose(2, 3, 1, 0)), mx.array(b),
                                          mx.array(w_mid.transpose(2, 3, 1, 0)), mx.array(b_mid), strides=(2, 2),
                                          pads=(1, 1, 1, 1), activation="silu", mid_activation="silu")  # fmt: skip
            np.testing.assert_allclose(np.array(pool), want_pool.transpose(0, 2, 3, 1), atol=2e-5, rtol=2e-5)
            np.testing.assert_allclose(np.array(mid), want_mid.transpose(0, 2, 3, 1), atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": (1, 7, 8, 3)}, "even"),  # a 3x3 stride-1 pad-1 stem keeps the odd height
        ({"x": (1, 8, 8, 5)}, "1-4 channels"),
        ({"w_mid": (1, 1, 7, 4)}, "w_mid"),
        ({"act": 6}, "activation"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    x = mx.zeros(kwargs.get("x", (1, 8, 8, 3)))
    w = mx.zeros((3, 3, x.shape[3], 8))
    w_mid = mx.zeros(kwargs.get("w_mid", (1, 1, 8, 4)))
    with pytest.raises(ValueError, match=match):
        native._ext.stem_split(
            x, w, None, w_mid, None, None, strides=[1, 1], pads=[1, 1, 1, 1], act=kwargs.get("act", 0)
        )


def test_weights_given_as_views_are_each_packed_apart():
    """Weights that are not stored row-major are packed outside the cache, in a per-thread buffer. A fused call
    packs two or three of them before it runs; each must keep its own packing (they once shared one buffer).
    Oracle: MLX's own convolution (native.reference_conv2d) on the same values."""
    rng = np.random.default_rng(5)
    x = mx.array(rng.standard_normal((1, 12, 8, 3)).astype(np.float32))

    def strided(shape):  # HWIO values held transposed: a non-contiguous MLX view
        a = (rng.standard_normal(shape) / 4).astype(np.float32)
        return mx.transpose(mx.array(np.ascontiguousarray(a.transpose(3, 2, 1, 0))), (3, 2, 1, 0))

    w, w_mid, w_dw = (
        strided((3, 3, 3, 8)),
        strided((1, 1, 8, 6)),
        mx.array(rng.standard_normal((3, 3, 6)).astype(np.float32)),
    )
    y = native.reference_conv2d(x, w, strides=(2, 2), pads=(1, 1, 1, 1), activation="relu")
    mid = native.reference_conv2d(y, w_mid)
    for isa in ISAS:
        with use_isa(isa):
            pool, got_mid = native.stem_split(
                x, w, None, w_mid, None, strides=(2, 2), pads=(1, 1, 1, 1), activation="relu"
            )
            np.testing.assert_allclose(np.array(got_mid), np.array(mid), atol=2e-5, rtol=2e-5, err_msg=isa)
            np.testing.assert_allclose(np.array(pool), np.array(native._pool2_reference(y)), atol=2e-5, err_msg=isa)
            chain = native.pw_dw_conv2d(x, w, None, w_dw, None, pre_strides=(2, 2), pre_pads=(1, 1, 1, 1),
                                        pre_activation="relu", w_mid=w_mid, pads=(1, 1, 1, 1))  # fmt: skip
            want = native.reference_conv2d(mid, w_dw, depthwise=True, pads=(1, 1, 1, 1))
            np.testing.assert_allclose(np.array(chain), np.array(want), atol=2e-5, rtol=2e-5, err_msg=isa)
