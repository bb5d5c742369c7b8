"""The fused pointwise + depthwise (+ pointwise) kernel (opset.native.pw_dw_conv2d) against onnxruntime.

Each example is a YuNet-style block as ONNX: a 1x1 conv with bias and activation, a depthwise conv with
bias and activation, optionally another 1x1 conv, and optionally a residual Add (before or after the last
activation), run in onnxruntime on the NCHW input; the kernel computes the chain in one pass on the NHWC
input (contiguous or a strided view), eagerly or inside mx.compile, on every instruction set this CPU runs.
The first conv may be a stem (a dense conv on 1-4 channels), reading floats or the 8-bit image (minus a
per-channel offset: onnxruntime gets float(image) - offset, the kernel the image itself), and may be
followed by a 1x1 conv before the depthwise one (YuNet's stem, 1x1, depthwise). The output may be
interleaved with another map (a ShuffleNet unit's Concat, Reshape, Transpose, Reshape in onnxruntime).
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
def chains(draw):
    k = draw(st.sampled_from([3, 5]))
    return {
        "k": k, "stride": draw(st.sampled_from([1, 2])), "pads": [draw(st.integers(0, k - 1)) for _ in range(4)],
        "n": draw(st.integers(1, 2)), "h": draw(st.integers(k, 17)), "w": draw(st.integers(k, 17)),
        "c_in": draw(st.integers(1, 40)), "c": draw(st.integers(1, 40)),
        "c_out": draw(st.sampled_from([None, draw(st.integers(1, 40))])),
        "act_pre": draw(st.sampled_from(ACTS)), "act": draw(st.sampled_from(ACTS)),
        "act_pw": draw(st.sampled_from(ACTS)), "bias_pre": draw(st.booleans()), "bias": draw(st.booleans()),
        "bias_pw": draw(st.booleans()), "residual": draw(st.sampled_from([False, "before", "after"])),
        "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
    }  # fmt: skip


def _maybe(rng, flag: bool, n: int):
    return rng.standard_normal(n).astype(np.float32) if flag else None


@st.composite
def stem_chains(draw):
    """A network's stem (a dense conv on 1-4 channels, any kernel, stride and pads) as the first conv."""
    kp = draw(st.sampled_from([3, 3, 1, 2, 5]))
    b = draw(chains())
    return b | {
        "c_in": draw(st.integers(1, 4)), "k_pre": kp, "stride_pre": draw(st.sampled_from([1, 2, 2, 3])),
        "pads_pre": [draw(st.integers(0, kp - 1)) for _ in range(4)], "h": draw(st.integers(kp + 4, 40)),
        "w": draw(st.integers(kp + 4, 40)), "c": draw(st.integers(1, 33)),
    }  # fmt: skip


@st.composite
def image_stem_chains(draw):
    """A stem on the 8-bit image (its normalization folded into the weights and an offset), maybe then a 1x1."""
    return draw(stem_chains()) | {"image": True, **draw(mids())}


@st.composite
def mids(draw):
    """A 1x1 conv between the stem and the depthwise conv (YuNet: 3 -> 16 stem, 16 -> 16 1x1)."""
    return {
        "c_stem": draw(st.integers(1, 33)), "act_mid": draw(st.sampled_from(ACTS)), "bias_mid": draw(st.booleans()),
    }  # fmt: skip


@st.composite
def stem_mid_chains(draw):
    return draw(stem_chains()) | draw(mids())


def check(b):
    rng = np.random.default_rng(b["seed"])
    n, h0, w0, ci, c, k, s = b["n"], b["h"], b["w"], b["c_in"], b["c"], b["k"], b["stride"]
    kp, sp, pads_pre = b.get("k_pre", 1), b.get("stride_pre", 1), b.get("pads_pre", [0, 0, 0, 0])
    image, c_stem = b.get("image", False), b.get("c_stem")  # c_stem: a 1x1 conv (c_stem -> c) after the stem
    cq = c_stem or c  # the first conv's output channels
    if c_stem is None:
        b = b | {"act_mid": None, "bias_mid": False}
    h = (h0 + pads_pre[0] + pads_pre[2] - kp) // sp + 1  # the depthwise conv's input
    w = (w0 + pads_pre[1] + pads_pre[3] - kp) // sp + 1
    post = b["c_out"] is not None
    co = b["c_out"] if post else c
    if not post:  # the last stage is the depthwise one: its activation and epilogue are the last
        b = b | {"act_pw": None, "bias_pw": False}
    pt, pl, pb, pr = b["pads"]
    ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
    if ho < 1 or wo < 1:
        return
    pool = b.get("pool", False)  # the depthwise output's 2x2 stride-2 max pool (no 1x1 after, no residual)
    if pool and (post or b["residual"] or ho % 2 or wo % 2):
        return
    if image:  # the image; onnxruntime gets float(image) - offset, as the kernel reads it (one rounding each)
        pixels = rng.integers(0, 256, (n, h0, w0, ci), dtype=np.uint8)
        offset = rng.uniform(60, 190, ci).astype(np.float32)
        x = pixels.astype(np.float32) - offset
    else:
        x = rng.standard_normal((n, h0, w0, ci)).astype(np.float32)
    scale = 1 / 128 if image else 1.0  # the folded 1 / std of an image stem
    w_pre = (rng.standard_normal((cq, ci, kp, kp)) * scale / np.sqrt(ci * kp * kp)).astype(np.float32)
    w_mid = (rng.standard_normal((c, cq, 1, 1)) / np.sqrt(cq)).astype(np.float32)
    w_dw = (rng.standard_normal((c, 1, k, k)) * 0.5).astype(np.float32)
    w_pw = (rng.standard_normal((co, c, 1, 1)) / np.sqrt(c)).astype(np.float32)
    bias_pre, bias, bias_pw = _maybe(rng, b["bias_pre"], cq), _maybe(rng, b["bias"], c), _maybe(rng, b["bias_pw"], co)
    bias_mid = _maybe(rng, b["bias_mid"], c)
    slopes = {
        tag: rng.uniform(-0.5, 1.5, m).astype(np.float32) for tag, m in (("pre", cq), ("mid", c), ("dw", c), ("pw", co))
    }
    residual = rng.standard_normal((n, ho, wo, co)).astype(np.float32) if b["residual"] else None
    bounds = {"pre": (-0.6, 0.8), "mid": (-0.5, 0.6), "dw": (-0.4, 0.7), "pw": (-0.3, 0.9)}
    leaky = {"pre": 0.1, "mid": 0.07, "dw": 0.13, "pw": 0.2}

    def ab(tag, act):
        return bounds[tag] if act == "clip" else (leaky[tag], 0.0)

    inits = {"wq": w_pre, "wm": w_mid, "wd": w_dw, "wp": w_pw}
    biases = (("bq", bias_pre), ("bm", bias_mid), ("bd", bias), ("bp", bias_pw))
    inits |= {name: v for name, v in biases if v is not None}
    nodes = [helper.make_node("Conv", ["x", "wq"] + (["bq"] if bias_pre is not None else []), ["q"],
                              strides=[sp, sp], pads=list(pads_pre))]  # fmt: skip
    nodes += activation_nodes(b["act_pre"], "q", "qa", *ab("pre", b["act_pre"]), slopes["pre"], inits, "_pre")
    dw_in = "qa"
    if c_stem is not None:
        nodes.append(helper.make_node("Conv", ["qa", "wm"] + (["bm"] if bias_mid is not None else []), ["m"]))
        nodes += activation_nodes(b["act_mid"], "m", "ma", *ab("mid", b["act_mid"]), slopes["mid"], inits, "_mid")
        dw_in = "ma"
    nodes.append(helper.make_node("Conv", [dw_in, "wd"] + (["bd"] if bias is not None else []), ["d"], group=c,
                                  strides=[s, s], pads=[pt, pl, pb, pr]))  # fmt: skip
    last, last_act, last_tag = "d", b["act"], "_dw"
    if post:
        nodes += activation_nodes(b["act"], "d", "da", *ab("dw", b["act"]), slopes["dw"], inits, "_dw")
        nodes.append(helper.make_node("Conv", ["da", "wp"] + (["bp"] if bias_pw is not None else []), ["p"]))
        last, last_act, last_tag = "p", b["act_pw"], "_pw"
    feed = {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
    inputs = [("x", np.float32, list(feed["x"].shape))]
    if residual is not None:
        feed["r"] = np.ascontiguousarray(residual.transpose(0, 3, 1, 2))
        inputs.append(("r", np.float32, list(feed["r"].shape)))
        if b["residual"] == "before":
            nodes.append(helper.make_node("Add", [last, "r"], ["lr"]))
            last = "lr"
    stage = last_tag[1:]
    nodes += activation_nodes(last_act, last, "y0", *ab(stage, last_act), slopes[stage], inits, last_tag)
    nodes.append(helper.make_node("Add", ["y0", "r"], ["y"]) if b["residual"] == "after" else
                 helper.make_node("Identity", ["y0"], ["y"]))  # fmt: skip
    if pool:
        nodes[-1].output[0] = "y1"
        nodes.append(helper.make_node("MaxPool", ["y1"], ["y"], kernel_shape=[2, 2], strides=[2, 2]))
    shuffle = b.get("shuffle", False)  # the output interleaved with `other`, other first (ShuffleNet)
    other = rng.standard_normal((n, ho, wo, co)).astype(np.float32) if shuffle else None
    if shuffle:
        feed["o"] = np.ascontiguousarray(other.transpose(0, 3, 1, 2))
        inputs.append(("o", np.float32, list(feed["o"].shape)))
        nodes[-1].output[0] = "y1"
        inits |= {"split": np.array([n, 2, co, ho, wo], np.int64), "whole": np.array([n, 2 * co, ho, wo], np.int64)}
        nodes += [helper.make_node("Concat", ["o", "y1"], ["cat"], axis=1),
                  helper.make_node("Reshape", ["cat", "split"], ["groups"]),
                  helper.make_node("Transpose", ["groups"], ["swapped"], perm=[0, 2, 1, 3, 4]),
                  helper.make_node("Reshape", ["swapped", "whole"], ["y"])]  # fmt: skip
    model = make_model(nodes, inputs, [("y", np.float32, None)], inits, opset=14)
    want = run_ort(model, feed)[0].transpose(0, 2, 3, 1)

    def arr(a):
        return None if a is None else mx.array(a)

    def acts(prefix, tag, act):
        alpha, beta = ab(tag, act)
        slope = arr(slopes[tag]) if act == "prelu" else None
        return {f"{prefix}activation": act, f"{prefix}alpha": alpha, f"{prefix}beta": beta, f"{prefix}slope": slope}

    def chain(xa, ra, oa=None):
        return native.pw_dw_conv2d(
            xa, mx.array(np.ascontiguousarray(w_pre.transpose(2, 3, 1, 0))), arr(bias_pre),
            mx.array(np.ascontiguousarray(w_dw[:, 0].transpose(1, 2, 0))), arr(bias),
            mx.array(np.ascontiguousarray(w_pw.transpose(2, 3, 1, 0))) if post else None, arr(bias_pw),
            strides=(s, s), pads=(pt, pl, pb, pr), residual=ra, residual_after=b["residual"] == "after",
            pre_strides=(sp, sp), pre_pads=tuple(pads_pre), pre_offset=mx.array(offset) if image else None,
            **acts("pre_", "pre", b["act_pre"]), **acts("", "dw", b["act"]),
            **(acts("pw_", "pw", b["act_pw"]) if post else {}),
            **({"w_mid": mx.array(np.ascontiguousarray(w_mid.transpose(2, 3, 1, 0))), "bias_mid": arr(bias_mid),
                **acts("mid_", "mid", b["act_mid"])} if c_stem is not None else {}),
            pool=pool, interleave_with=oa,
        )  # fmt: skip

    def channel_slice(a, first):  # a's values as one half of a map twice as wide, as a ShuffleNet unit reads them
        c = a.shape[-1]
        wide = rng.standard_normal(a.shape[:-1] + (2 * c,)).astype(np.float32)
        half = slice(0, c) if first else slice(c, 2 * c)
        wide[..., half] = a
        return mx.array(wide)[..., half]

    xa = channel_slice(x, False) if shuffle and b["view"] == "sliced" else _view(pixels if image else x, b["view"])
    ra = None if residual is None else _view(residual, b["view"])
    oa = None if other is None else channel_slice(other, True) if b["view"] != "contiguous" else mx.array(other)
    for isa in ISAS:
        with use_isa(isa):
            fn = chain if b["run"] == "eager" else mx.compile(chain)
            got = np.array(fn(xa, ra, oa) if shuffle else fn(xa, ra))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=3e-5, rtol=3e-5, err_msg=isa)
    return True  # compared (the shapes drawn fit)


@scaled(2)
@given(b=chains())
def test_pointwise_depthwise_matches_onnxruntime(b):
    check(b)


@scaled(2)
@given(b=stem_chains())
def test_stem_depthwise_matches_onnxruntime(b):
    """The stem's rows made by the stem kernel (3x3 on 3 channels) or the GEMM over its row bands (any other
    shape), read from NHWC or in place from an NCHW buffer (the "transposed" view: a network's input)."""
    check(b)


@scaled(2)
@given(b=stem_mid_chains())
def test_stem_pointwise_depthwise_matches_onnxruntime(b):
    """A stem, then a 1x1 conv over its rows (made a few at a time in a second buffer), then the depthwise conv."""
    check(b)


@scaled(2)
@given(b=image_stem_chains())
def test_image_stem_depthwise_matches_onnxruntime(b):
    """The stem reads the 8-bit image (float(x) - offset, zero-padded), with or without a 1x1 conv after it."""
    check(b)


@scaled(2)
@given(b=chains(), stem=st.sampled_from([None, "stem", "stem+1x1"]), data=st.data())
def test_depthwise_max_pool_matches_onnxruntime(b, stem, data):
    """pool=True: the chain's depthwise output (maybe after a stem, or a stem and a 1x1 conv: YuNet's first
    block) 2x2-max-pooled in the same pass, against onnxruntime's MaxPool after the same convs."""
    if stem is not None:
        b = data.draw(stem_mid_chains() if stem == "stem+1x1" else stem_chains())
    assume(check(b | {"c_out": None, "residual": False, "pool": True}))


@scaled(2)
@given(b=chains(), stem=st.sampled_from([None, "stem", "stem+1x1"]), data=st.data())
def test_interleaved_output_matches_onnxruntime(b, stem, data):
    """interleave_with: the chain's result interleaved with another map channel by channel, other first, against
    onnxruntime's Concat and channel shuffle; the other map (and x, for the "sliced" view) a channel slice of a
    map twice as wide, read in place, as in YOLOv5n's ShuffleNet units."""
    if stem is not None:
        b = data.draw(stem_mid_chains() if stem == "stem+1x1" else stem_chains())
    b = b | {"c_out": b["c_out"] or b["c"], "residual": False, "shuffle": True}
    assume(check(b))


@pytest.mark.parametrize("c,c_out,view", [(16, 16, "transposed"), (8, 16, "transposed"), (32, None, "contiguous")])
def test_face_model_stems(c, c_out, view):
    """SCRFD's (3x3 stride-2 stem to 16 channels, then depthwise and 1x1) and RetinaFace's (8 channels) first
    block on maps tall enough for several bands per thread, the input read in place from NCHW."""
    check({"k": 3, "stride": 1, "pads": [1, 1, 1, 1], "n": 2, "h": 96, "w": 130, "c_in": 3, "c": c, "c_out": c_out,
           "k_pre": 3, "stride_pre": 2, "pads_pre": [1, 1, 1, 1], "act_pre": "relu", "act": "relu", "act_pw": "relu",
           "bias_pre": True, "bias": True, "bias_pw": True, "residual": False, "view": view, "run": "eager",
           "seed": 11})  # fmt: skip


@pytest.mark.parametrize(
    "image,c_stem,c,c_out",
    [(True, None, 16, 16), (True, None, 8, 16), (True, 16, 16, 32), (False, 16, 16, 32), (True, 8, 24, None)],
    ids=["scrfd-image", "retinaface-image", "yunet-image", "yunet", "narrow-stem"],
)
def test_face_model_image_stems(image, c_stem, c, c_out):
    """SCRFD's and RetinaFace's image stem (3x3 stride 2 on the 8-bit BGR image) then depthwise (and 1x1), and
    YuNet's stem, 1x1 and depthwise, on maps tall and wide enough for several bands per thread."""
    check({"k": 3, "stride": 1, "pads": [1, 1, 1, 1], "n": 2, "h": 96, "w": 130, "c_in": 3, "c": c, "c_out": c_out,
           "k_pre": 3, "stride_pre": 2, "pads_pre": [1, 1, 1, 1], "act_pre": "relu", "act": "relu", "act_pw": "relu",
           "bias_pre": True, "bias": True, "bias_pw": True, "residual": False, "view": "contiguous", "run": "eager",
           "seed": 13, "image": image, "c_stem": c_stem, "act_mid": "relu", "bias_mid": True})  # fmt: skip


@pytest.mark.parametrize(
    "h,w,c_in,c,c_out,stride",
    [(64, 200, 16, 16, None, 1), (48, 96, 16, 16, 32, 1), (41, 120, 24, 32, 64, 2), (30, 50, 64, 64, 64, 1),
     (33, 70, 8, 10, None, 1)],
)  # fmt: skip
def test_face_model_blocks(h, w, c_in, c, c_out, stride):
    """YuNet block shapes, wide enough that each thread's rows go through several bands (the rows two bands
    share are kept, the rest made anew), and channels off the vector width (the depthwise rows' flat path)."""
    check({"k": 3, "stride": stride, "pads": [1, 1, 1, 1], "n": 2, "h": h, "w": w, "c_in": c_in, "c": c,
           "c_out": c_out, "act_pre": None, "act": "relu", "act_pw": "relu", "bias_pre": True, "bias": True,
           "bias_pw": True, "residual": False, "view": "contiguous", "run": "eager", "seed": 5})  # fmt: skip


@pytest.mark.parametrize("post", [False, True], ids=["pw_dw", "pw_dw_pw"])
def test_a_nan_input_stays_nan_on_every_table(post):
    """A NaN input pixel makes its whole 1x1 output pixel NaN, so every depthwise output whose window touches
    it is NaN in every channel (and so is the last 1x1 output there); every other output stays finite, on
    every table, through Relu stages (x86's max would turn a NaN into 0). Oracle: the windows (numpy)."""
    rng = np.random.default_rng(7)
    h, w, c = 12, 40, 16
    x = rng.standard_normal((1, h, w, 8)).astype(np.float32)
    x[0, 3, 4, 5] = x[0, 10, 39, 0] = np.nan
    bad = np.pad(np.isnan(x).any(-1), [(0, 0), (1, 1), (1, 1)])
    touched = np.zeros((1, h, w), bool)
    for ky in range(3):
        for kx in range(3):
            touched |= bad[:, ky : ky + h, kx : kx + w]
    c_out = 24 if post else c
    want_nan = np.repeat(touched[..., None], c_out, -1)
    w_pre, w_dw = (
        mx.array(rng.standard_normal((1, 1, 8, c)).astype(np.float32)),
        mx.array(rng.standard_normal((3, 3, c)).astype(np.float32)),
    )
    w_pw = mx.array(rng.standard_normal((1, 1, c, c_out)).astype(np.float32)) if post else None
    for isa in ISAS:
        with use_isa(isa):
            got = np.array(native.pw_dw_conv2d(mx.array(x), w_pre, None, w_dw, None, w_pw, pads=(1, 1, 1, 1),
                                               pre_activation="relu", activation="relu",
                                               pw_activation="relu" if post else None))  # fmt: skip
        np.testing.assert_array_equal(np.isnan(got), want_nan, err_msg=isa)


def test_weights_are_checked():
    x = mx.zeros((1, 8, 8, 4))
    with pytest.raises(ValueError, match="first weight must be"):
        native._ext.pw_dw_conv2d(x, mx.zeros((1, 1, 5, 4)), None, None, mx.zeros((3, 3, 4)), None, None, None, None,
                                 None, None, strides=[1, 1], pads=[1, 1, 1, 1])  # fmt: skip
    wide = mx.zeros((1, 8, 8, 5))  # a 3x3 first conv is a stem only on 1-4 channels
    with pytest.raises(ValueError, match="a stem on at most 4 channels"):
        native._ext.pw_dw_conv2d(wide, mx.zeros((3, 3, 5, 4)), None, None, mx.zeros((3, 3, 4)), None, None, None,
                                 None, None, None, strides=[1, 1], pads=[1, 1, 1, 1])  # fmt: skip
    with pytest.raises(ValueError, match="a stem on at most 4 channels"):  # a strided 1x1 conv, likewise
        native._ext.pw_dw_conv2d(wide, mx.zeros((1, 1, 5, 4)), None, None, mx.zeros((3, 3, 4)), None, None, None,
                                 None, None, None, strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2])  # fmt: skip
    with pytest.raises(ValueError, match="first kernel does not fit"):
        native._ext.pw_dw_conv2d(mx.zeros((1, 4, 4, 4)), mx.zeros((7, 3, 4, 4)), None, None, mx.zeros((3, 3, 4)), None,
                                 None, None, None, None, None, strides=[1, 1], pads=[1, 1, 1, 1])  # fmt: skip
    with pytest.raises(ValueError, match="depthwise weight"):
        native._ext.pw_dw_conv2d(x, mx.zeros((1, 1, 4, 6)), None, None, mx.zeros((3, 3, 4)), None, None, None, None,
                                 None, None, strides=[1, 1], pads=[1, 1, 1, 1])  # fmt: skip
    image = mx.zeros((1, 8, 8, 3), dtype=mx.uint8)
    stem = mx.zeros((3, 3, 3, 4))
    with pytest.raises(ValueError, match="needs pre_offset"):
        native._ext.pw_dw_conv2d(image, stem, None, None, mx.zeros((3, 3, 4)), None, None, None, None, None, None,
                                 strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2])  # fmt: skip
    with pytest.raises(ValueError, match="x must be the uint8 image"):
        native._ext.pw_dw_conv2d(mx.zeros((1, 8, 8, 3)), stem, None, None, mx.zeros((3, 3, 4)), None, None, None,
                                 None, None, None, strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2],
                                 pre_offset=mx.zeros((3,)))  # fmt: skip
    with pytest.raises(ValueError, match="one value per image channel"):
        native._ext.pw_dw_conv2d(image, stem, None, None, mx.zeros((3, 3, 4)), None, None, None, None, None, None,
                                 strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2],
                                 pre_offset=mx.zeros((4,)))  # fmt: skip
    with pytest.raises(ValueError, match="middle weight must be"):
        native._ext.pw_dw_conv2d(mx.zeros((1, 8, 8, 3)), stem, None, None, mx.zeros((3, 3, 6)), None, None, None,
                                 None, None, None, strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2],
                                 w_mid=mx.zeros((1, 1, 5, 6)))  # fmt: skip
    with pytest.raises(ValueError, match="depthwise weight"):  # the depthwise conv reads the middle conv's 6
        native._ext.pw_dw_conv2d(mx.zeros((1, 8, 8, 3)), stem, None, None, mx.zeros((3, 3, 4)), None, None, None,
                                 None, None, None, strides=[1, 1], pads=[1, 1, 1, 1], pre_strides=[2, 2],
                                 w_mid=mx.zeros((1, 1, 4, 6)))  # fmt: skip


def test_interleave_with_bad_operands_are_refused():
    """interleave_with needs the last 1x1 conv, no residual or pool, and the result's shape: a clear ValueError."""
    rng = np.random.default_rng(5)
    x = mx.array(rng.standard_normal((1, 6, 6, 4)).astype(np.float32))
    w0, wd = mx.array(np.ones((1, 1, 4, 4), np.float32)), mx.array(np.ones((3, 3, 4), np.float32))
    w1 = mx.array(np.ones((1, 1, 4, 4), np.float32))
    good = mx.zeros((1, 6, 6, 4))
    with pytest.raises(ValueError, match="interleave_with"):
        native.pw_dw_conv2d(x, w0, None, wd, None, None, pads=(1, 1, 1, 1), interleave_with=good)
    with pytest.raises(ValueError, match="interleave_with"):
        native.pw_dw_conv2d(x, w0, None, wd, None, w1, pads=(1, 1, 1, 1), residual=good, interleave_with=good)
    with pytest.raises(ValueError, match="interleave_with"):
        native.pw_dw_conv2d(x, w0, None, wd, None, w1, pads=(1, 1, 1, 1), interleave_with=mx.zeros((1, 6, 6, 5)))
    got = native.pw_dw_conv2d(x, w0, None, wd, None, w1, pads=(1, 1, 1, 1), interleave_with=good)
    assert got.shape == (1, 6, 6, 8)
