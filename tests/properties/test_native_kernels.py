"""The native conv kernels (opset/native) against onnxruntime, over generated shapes.

Each example builds the same conv as an ONNX graph (Conv + bias, optional
residual Add, activation) and runs it in onnxruntime on the NCHW input; the
kernel runs on the NHWC input, contiguous or as a strided view, eagerly or
inside mx.compile (shapeless too). Channel counts deliberately include ones
that are not multiples of 8 (the kernels' vector width).
"""

from __future__ import annotations

import contextlib
import os

from opset import native

import mlx.core as mx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper

from tests.properties.conftest import scaled
from tests.util import make_model, run_ort

pytestmark = pytest.mark.skipif(
    not native.available() and not os.environ.get("CI"),
    reason=f"native kernels not built here: {native.UNAVAILABLE_REASON}",
)

ACTS = [None, "relu", "leaky_relu", "clip", "sigmoid", "hard_swish", "prelu", "silu"]
# The tables the kernel tests run, each in turn: every one this CPU runs, or only the one MLX_UNIFACE_ISA
# forces (CI's forced-table steps, which run these files again with the AVX2 and the baseline table as the
# default for everything, translations included).
FORCED_ISA = os.environ.get("MLX_UNIFACE_ISA")
ISAS = native._ext.available_isas() if native.available() else []
if FORCED_ISA in ISAS:
    ISAS = [FORCED_ISA]


@contextlib.contextmanager
def use_isa(name: str):
    best = native.isa()
    assert native._ext.set_isa(name), name
    try:
        yield
    finally:
        native._ext.set_isa(best)


def test_extension_is_built_in_ci():
    """CI builds the extension from a clean clone: the kernel tests below must run there, never skip."""
    assert native.available(), native.UNAVAILABLE_REASON
    assert native.isa() in ("avx512", "avx2", "neon", "baseline")


def test_the_table_in_use_is_the_forced_one_or_the_best():
    """MLX_UNIFACE_ISA names the table every kernel call uses (CI forces avx2 and baseline on x86); unset, or
    naming a table this CPU cannot run, the best one runs."""
    runnable = native._ext.available_isas()
    assert native.isa() == (FORCED_ISA if FORCED_ISA in runnable else runnable[0])


@st.composite
def conv_cases(draw, depthwise: bool):
    k = draw(st.sampled_from([1, 3, 5] if not depthwise else [3, 5]))
    if not depthwise and k == 1:
        k = draw(st.sampled_from([1, 1, 2, 7]))
    stride = draw(st.sampled_from([1, 2, 3]))
    pads = [draw(st.integers(0, k - 1)) for _ in range(4)]
    c_in = draw(st.integers(1, 40))
    c_out = c_in if depthwise else draw(st.integers(1, 40))
    n = draw(st.integers(1, 2))
    h = draw(st.integers(max(1, k - pads[0] - pads[2]), 19))
    w = draw(st.integers(max(1, k - pads[1] - pads[3]), 19))
    # dense 3x3 stride 1 also runs as Winograd F(2x2, 3x3) and F(4x4, 3x3)
    winograd = draw(st.sampled_from([0, 2, 4])) if not depthwise and k == 3 and stride == 1 else 0
    return {
        "winograd": winograd,
        "depthwise": depthwise, "k": k, "stride": stride, "pads": pads, "n": n, "h": h, "w": w, "c_in": c_in,
        "c_out": c_out, "act": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
        "residual": draw(st.sampled_from([False, "before", "after"])), "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile", "shapeless"])), "seed": draw(st.integers(0, 2**16)),
    }  # fmt: skip


def activation_nodes(act, src: str, dst: str, alpha: float, beta: float, slope, inits: dict, tag: str = "") -> list:
    """ONNX nodes computing dst = act(src) (Identity for None); their constants go into `inits`."""
    if act == "silu":  # YOLO's x * sigmoid(x)
        return [helper.make_node("Sigmoid", [src], [f"s{tag}"]), helper.make_node("Mul", [src, f"s{tag}"], [dst])]
    if act is None:
        return [helper.make_node("Identity", [src], [dst])]
    op = {"relu": "Relu", "leaky_relu": "LeakyRelu", "clip": "Clip", "sigmoid": "Sigmoid",
          "hard_swish": "HardSwish", "prelu": "PRelu"}[act]  # fmt: skip
    extra, attrs = [], {}
    if act == "leaky_relu":
        attrs["alpha"] = alpha
    if act == "clip":
        inits |= {f"lo{tag}": np.float32(alpha), f"hi{tag}": np.float32(beta)}
        extra = [f"lo{tag}", f"hi{tag}"]
    if act == "prelu":
        inits[f"slope{tag}"] = slope.reshape(-1, 1, 1)
        extra = [f"slope{tag}"]
    return [helper.make_node(op, [src, *extra], [dst], **attrs)]


def _onnx_reference(case, x_nchw, w_oihw, bias, residual_nchw, slope, alpha, beta):
    nodes = [helper.make_node(
        "Conv", ["x", "w"] + (["b"] if bias is not None else []), ["c"],
        group=case["c_in"] if case["depthwise"] else 1, strides=[case["stride"]] * 2,
        pads=[case["pads"][0], case["pads"][1], case["pads"][2], case["pads"][3]],
    )]  # fmt: skip
    inits = {"w": w_oihw} | ({"b": bias} if bias is not None else {})
    feed = {"x": x_nchw}
    last = "c"
    inputs = [("x", np.float32, list(x_nchw.shape))]
    after = case["residual"] == "after"  # act(conv) + r (FPN merges) rather than act(conv + r)
    if residual_nchw is not None:
        feed["r"] = residual_nchw
        inputs.append(("r", np.float32, list(residual_nchw.shape)))
        if not after:
            nodes.append(helper.make_node("Add", ["c", "r"], ["a"]))
            last = "a"
    nodes += activation_nodes(case["act"], last, "y", alpha, beta, slope, inits)
    if residual_nchw is not None and after:
        nodes[-1].output[0] = "y0"
        nodes.append(helper.make_node("Add", ["y0", "r"], ["y"]))
    model = make_model(nodes, inputs, [("y", np.float32, None)], inits, opset=14)
    return run_ort(model, feed)[0]


def _view(a: np.ndarray, how: str) -> mx.array:
    """The same values as `a`, as a contiguous MLX array or as a non-contiguous view."""
    if how == "transposed":  # NHWC values held in an NCHW buffer
        return mx.transpose(mx.array(np.ascontiguousarray(a.transpose(0, 3, 1, 2))), (0, 2, 3, 1))
    if how == "sliced":  # every other element of a wider buffer
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        return mx.array(wide)[..., ::2]
    return mx.array(a)


def check(case):
    rng = np.random.default_rng(case["seed"])
    n, h, w, ci, co, k = case["n"], case["h"], case["w"], case["c_in"], case["c_out"], case["k"]
    x = rng.standard_normal((n, h, w, ci)).astype(np.float32)
    if case["depthwise"]:
        w_oihw = (rng.standard_normal((ci, 1, k, k)) * 0.5).astype(np.float32)
        w_native = np.ascontiguousarray(w_oihw[:, 0].transpose(1, 2, 0))  # (kh, kw, C)
    else:
        w_oihw = (rng.standard_normal((co, ci, k, k)) / np.sqrt(ci * k * k)).astype(np.float32)
        w_native = np.ascontiguousarray(w_oihw.transpose(2, 3, 1, 0))  # HWIO
    bias = rng.standard_normal(co).astype(np.float32) if case["bias"] else None
    slope = rng.uniform(-0.5, 1.5, co).astype(np.float32)
    alpha, beta = (-0.4, 0.7) if case["act"] == "clip" else (0.13, 0.0)
    pt, pl, pb, pr = case["pads"]
    s = case["stride"]
    ho, wo = (h + pt + pb - k) // s + 1, (w + pl + pr - k) // s + 1
    fh, fw = case.get("residual_up", (1, 1))
    coarse = rng.standard_normal((n, ho // fh, wo // fw, co)).astype(np.float32) if case["residual"] else None
    residual = None if coarse is None else np.repeat(np.repeat(coarse, fh, axis=1), fw, axis=2)
    want = _onnx_reference(
        case, np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w_oihw, bias,
        None if residual is None else np.ascontiguousarray(residual.transpose(0, 3, 1, 2)), slope, alpha, beta,
    ).transpose(0, 2, 3, 1)  # fmt: skip

    groups = case.get("groups", 0)
    if groups:  # (N, H, W, G * per) -> (N, G, H, W, per)
        want = np.ascontiguousarray(want.reshape(n, ho, wo, groups, co // groups).transpose(0, 3, 1, 2, 4))

    def conv(xa, ra):
        return native.conv2d(
            xa, mx.array(w_native), None if bias is None else mx.array(bias), depthwise=case["depthwise"],
            strides=(s, s), pads=(pt, pl, pb, pr), activation=case["act"], alpha=alpha, beta=beta,
            slope=mx.array(slope) if case["act"] == "prelu" else None, residual=ra,
            residual_after=case["residual"] == "after", winograd=case.get("winograd", 0), out_groups=groups,
            residual_up=(fh, fw),
        )  # fmt: skip

    xa = _view(x, case["view"])
    ra = None if coarse is None else _view(coarse, case["view"])
    for isa in ISAS:  # every instruction set this CPU runs (AVX-512, AVX2, baseline on x86; NEON on arm64)
        with use_isa(isa):
            fn = conv if case["run"] == "eager" else mx.compile(conv, shapeless=case["run"] == "shapeless")
            got = np.array(fn(xa, ra))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=2e-5 * winograd_scale(case, want), rtol=2e-5, err_msg=isa)


def winograd_scale(case, want: np.ndarray) -> float:
    """How much larger than the direct conv's a Winograd conv's rounding may be, for this output.

    The transforms add and subtract scaled tile values (F(4x4, 3x3)'s matrices hold 4s, 5s and 8s),
    so the error grows with the largest values in the map rather than with each output: measured
    (tests/properties, 80x80x64 maps) at 1e-6 (F(2x2)) and 4e-6 (F(4x4)) of the largest output.
    The bound below allows up to 2e-5 of it (and never less than the direct conv's tolerance).
    """
    if not case.get("winograd"):
        return 1.0
    return max(1.0, float(np.max(np.abs(want))))


@scaled(2)
@given(case=conv_cases(depthwise=True))
def test_depthwise_matches_onnxruntime(case):
    check(case)


@scaled(2)
@given(case=conv_cases(depthwise=False))
def test_dense_matches_onnxruntime(case):
    check(case)


@st.composite
def group_cases(draw):
    """Dense convs whose output channels split into groups of a multiple of 16 (YOLO's heads: 3 x 16), on
    1-40 input channels (1-4: the stem kernel, which writes NHWC and then places the groups), 3x3 ones also
    as Winograd."""
    k = draw(st.sampled_from([1, 1, 3]))
    stride = draw(st.sampled_from([1, 1, 2]))
    groups, per = draw(st.integers(2, 3)), 16 * draw(st.integers(1, 2))
    pads = [draw(st.integers(0, k - 1)) for _ in range(4)]
    return {
        "depthwise": False, "k": k, "stride": stride, "pads": pads, "n": draw(st.integers(1, 2)),
        "h": draw(st.integers(k, 13)), "w": draw(st.integers(k, 13)), "c_in": draw(st.integers(1, 40)),
        "c_out": groups * per, "groups": groups, "act": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
        "residual": False, "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
        "winograd": draw(st.sampled_from([0, 2, 4])) if k == 3 and stride == 1 else 0,
    }  # fmt: skip


@st.composite
def coarse_residual_cases(draw):
    """Dense convs whose residual is the output's coarser level, added nearest-upsampled by (fh, fw): 1x1 and
    3x3 (also as Winograd), on 1-4 input channels (the stem kernel) and into 1-8 output channels (the dot-product
    path), which both get the residual upsampled first, and on more, which read it in place."""
    k, stride = draw(st.sampled_from([1, 1, 3])), draw(st.sampled_from([1, 1, 2]))
    fh, fw = draw(st.sampled_from([(2, 2), (2, 2), (1, 2), (3, 1), (2, 3)]))
    pads = [draw(st.integers(0, k - 1)) for _ in range(4)]
    ho, wo = fh * draw(st.integers(1, 6)), fw * draw(st.integers(1, 6))
    h, w = (ho - 1) * stride + k - pads[0] - pads[2], (wo - 1) * stride + k - pads[1] - pads[3]
    if h < 1 or w < 1:  # the pads alone would make the output: take them away
        pads, h, w = [0, 0, 0, 0], (ho - 1) * stride + k, (wo - 1) * stride + k
    return {
        "depthwise": False, "k": k, "stride": stride, "pads": pads, "n": draw(st.integers(1, 2)), "h": h, "w": w,
        "c_in": draw(st.integers(1, 40)), "c_out": draw(st.integers(1, 40)), "residual_up": (fh, fw),
        "act": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
        "residual": draw(st.sampled_from(["before", "after"])),
        "view": draw(st.sampled_from(["contiguous", "transposed", "sliced"])),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
        "winograd": draw(st.sampled_from([0, 2, 4])) if k == 3 and stride == 1 else 0,
    }  # fmt: skip


@scaled(2)
@given(case=coarse_residual_cases())
def test_coarse_residuals_match_onnxruntime(case):
    """residual_up=(fh, fw): the residual given at the coarser level, against onnxruntime adding its
    upsampled copy."""
    check(case)


@scaled(2)
@given(case=group_cases())
def test_group_major_outputs_match_onnxruntime(case):
    """out_groups=G: the NHWC output's G channel groups one after another, (N, G, Ho, Wo, C_out / G), as
    onnxruntime's output reshaped and transposed the way YOLO's heads do it."""
    check(case)


@pytest.mark.parametrize(
    "depthwise,k,stride,c,view,winograd",
    [(True, 3, 1, 64, "contiguous", 0), (True, 3, 2, 32, "contiguous", 0), (True, 5, 2, 24, "contiguous", 0),
     (True, 3, 1, 40, "contiguous", 0), (True, 3, 2, 72, "contiguous", 0), (True, 3, 1, 152, "contiguous", 0),
     (False, 1, 1, 64, "contiguous", 0), (False, 3, 2, 3, "contiguous", 0), (False, 3, 1, 48, "contiguous", 0),
     (False, 3, 2, 3, "transposed", 0), (False, 3, 1, 48, "contiguous", 2), (False, 3, 1, 64, "sliced", 4)],
)  # fmt: skip
def test_face_model_shapes(depthwise, k, stride, c, view, winograd):
    """Shapes from the real models (MobileNet blocks, the C_in=3 stem, the FPN/SSH 3x3 convs as Winograd),
    larger than the generated ones. SCRFD's 40, 72 and 152 channels end in a partial vector, which AVX-512
    masks.

    The stem also runs on the network's NCHW input seen as NHWC, which the dense kernel reads in place.
    """
    case = {"depthwise": depthwise, "k": k, "stride": stride, "pads": [k // 2] * 4, "n": 1, "h": 56, "w": 72,
            "c_in": c, "c_out": c if depthwise else 80, "act": "leaky_relu", "bias": True, "residual": False,
            "view": view, "run": "eager", "seed": 1, "winograd": winograd}  # fmt: skip
    check(case)


@pytest.mark.parametrize("winograd", [2, 4])
def test_winograd_tiles_at_every_edge(winograd):
    """Map sizes around the tile size (partial tiles at the right and bottom, maps smaller than one
    tile, several images, blocks spanning tile rows and images), every pad combination, a residual."""
    for n, h, w, pads in [(1, 1, 1, (1, 1, 1, 1)), (2, 5, 3, (0, 1, 2, 0)), (1, 9, 13, (1, 0, 0, 1)),
                          (3, 7, 6, (2, 2, 2, 2)), (1, 17, 33, (1, 1, 1, 1))]:  # fmt: skip
        case = {"depthwise": False, "k": 3, "stride": 1, "pads": list(pads), "n": n, "h": h, "w": w, "c_in": 19,
                "c_out": 21, "act": "relu", "bias": True, "residual": "before", "view": "contiguous",
                "run": "eager", "seed": h * w, "winograd": winograd}  # fmt: skip
        check(case)


@pytest.mark.parametrize("c", [1, 4, 10, 36])
def test_flat_depthwise_rows_of_several_convs_in_one_graph(c):
    """Stride-1 depthwise convs whose channels do not fill a vector run as flat rows with their weights
    repeated along the row, kept per thread between rows. Several such convs in one graph, with small
    unaligned operands (which reach the kernel through the same reused scratch buffer), must each use
    their own weights, bias and slope."""
    rng = np.random.default_rng(c)
    x = mx.array(rng.standard_normal((2, 11, 13, c)).astype(np.float32))

    def unaligned(shape):  # a view one float into a wider buffer: copied to an aligned scratch buffer
        return mx.array(rng.standard_normal(int(np.prod(shape)) + 1).astype(np.float32))[1:].reshape(shape)

    convs = [(unaligned((3, 3, c)), unaligned((c,)), unaligned((c,))) for _ in range(3)]
    for isa in ISAS:
        with use_isa(isa):
            got = [native.conv2d(x, w, b, depthwise=True, pads=(1, 1, 1, 1), activation="prelu", slope=sl)
                   for w, b, sl in convs]  # fmt: skip
            got = [np.array(g) for g in mx.eval(got) or got]
        for g, (w, b, sl) in zip(got, convs):
            want = native.reference_conv2d(x, w, b, depthwise=True, pads=(1, 1, 1, 1), activation="prelu", slope=sl)
            np.testing.assert_allclose(g, np.array(want), atol=2e-5, rtol=2e-5, err_msg=isa)


def test_thread_counts_agree():
    """One thread and the whole pool produce the same bits (each output is computed by one thread)."""
    rng = np.random.default_rng(3)
    x = mx.array(rng.standard_normal((2, 33, 47, 24)).astype(np.float32))
    w = mx.array(rng.standard_normal((3, 3, 24, 40)).astype(np.float32))
    before = native.num_threads()
    try:
        native.set_num_threads(1)
        one = np.array(native.conv2d(x, w, pads=(1, 1, 1, 1), activation="relu"))
        native.set_num_threads(max(2, before))
        many = np.array(native.conv2d(x, w, pads=(1, 1, 1, 1), activation="relu"))
    finally:
        native.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_packed_weights_follow_the_weight_arrays():
    """Dense weights are packed once per weight array and cached: fresh arrays (which may land where a
    freed one was) must never be served another array's packing, nor must a cleared cache."""
    rng = np.random.default_rng(4)
    x = mx.array(rng.standard_normal((1, 9, 11, 12)).astype(np.float32))
    for i in range(12):
        w = mx.array(rng.standard_normal((3, 3, 12, 20)).astype(np.float32))
        got = np.array(native.conv2d(x, w, pads=(1, 1, 1, 1)))
        want = np.array(native.reference_conv2d(x, w, pads=(1, 1, 1, 1)))
        np.testing.assert_allclose(got, want, atol=2e-5, rtol=2e-5, err_msg=f"array {i}")
        cached = native._ext.weight_cache_bytes()
        assert cached > 0
        again = np.array(native.conv2d(x, w, pads=(1, 1, 1, 1)))  # served from the cache
        np.testing.assert_array_equal(again, got)
        assert native._ext.weight_cache_bytes() == cached
        if i % 3 == 0:
            native._ext.clear_weight_cache()
        del w


def test_weight_cache_evicts_least_recently_used_and_packs_the_oversized():
    """The packed-weight cache keeps a byte limit: the least recently used entries go first, and a weight
    larger than the limit is packed per call; every result stays right."""
    rng = np.random.default_rng(5)
    x = mx.array(rng.standard_normal((1, 5, 6, 64)).astype(np.float32))
    ws = [mx.array(rng.standard_normal((1, 1, 64, 64)).astype(np.float32)) for _ in range(3)]  # 16 KB packed each
    big = mx.array(rng.standard_normal((3, 3, 64, 64)).astype(np.float32))  # 144 KB packed
    native._ext.clear_weight_cache()
    try:
        native._ext.set_weight_cache_limit(40_000)  # room for two of the small ones
        for w in ws + [ws[2], big]:
            pads = (1, 1, 1, 1) if w is big else (0, 0, 0, 0)
            got = np.array(native.conv2d(x, w, pads=pads))
            np.testing.assert_allclose(got, np.array(native.reference_conv2d(x, w, pads=pads)), atol=1e-4, rtol=1e-4)
            assert native._ext.weight_cache_bytes() <= 40_000
        assert native._ext.weight_cache_bytes() == 2 * 64 * 64 * 4  # ws[1] and ws[2]; the big one never cached
    finally:
        native._ext.set_weight_cache_limit(256 << 20)
        native._ext.clear_weight_cache()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"x": (1, 8, 8), "w": (3, 3, 4, 4)}, "NHWC"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 5, 4)}, "C_in = 4"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 5), "depthwise": True}, "C = 4"),
        ({"x": (1, 2, 2, 4), "w": (3, 3, 4, 4)}, "does not fit"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 4, 4), "bias": (5,)}, "bias"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 4, 4), "residual": (1, 8, 8, 4)}, "residual"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 4), "winograd": 4}, "winograd needs a dense 3x3"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 4), "depthwise": True, "winograd": 2}, "winograd needs a dense 3x3"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 4, 4), "strides": [2, 2], "winograd": 2}, "winograd needs a dense 3x3"),
        ({"x": (1, 8, 8, 4), "w": (3, 3, 4, 4), "winograd": 3}, "winograd must be 0, 2 or 4"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 48), "out_groups": 2}, "groups of a multiple of 16"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 32), "out_groups": 3}, "groups of a multiple of 16"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 32), "residual": (1, 8, 8, 32), "out_groups": 2}, "without residual"),
        ({"x": (1, 8, 8, 32), "w": (3, 3, 32), "depthwise": True, "out_groups": 2}, "dense conv"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 4), "residual_up": [2, 2]}, "with a residual"),
        (
            {"x": (1, 8, 8, 4), "w": (3, 3, 4), "depthwise": True, "residual": (1, 4, 4, 4), "residual_up": [2, 2]},
            "dense conv with a residual",
        ),
        ({"x": (1, 8, 6, 4), "w": (1, 1, 4, 4), "residual": (1, 2, 2, 4), "residual_up": [4, 4]}, "must divide"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 4), "residual": (1, 8, 8, 4), "residual_up": [2, 2]}, "residual must have"),
        ({"x": (1, 8, 8, 4), "w": (1, 1, 4, 4), "residual": (1, 4, 4, 4), "residual_up": [0, 2]}, "two positive"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    """A typed ValueError naming what is wrong, at graph-building time (never a crash in the kernel)."""
    args = {k: mx.zeros(v) for k, v in kwargs.items() if k in ("x", "w", "bias", "residual")}
    with pytest.raises(ValueError, match=match):
        native._ext.conv2d(
            args["x"], args["w"], args.get("bias"), args.get("residual"), None,
            depthwise=kwargs.get("depthwise", False), strides=kwargs.get("strides", [1, 1]), pads=[0, 0, 0, 0],
            winograd=kwargs.get("winograd", 0), out_groups=kwargs.get("out_groups", 0),
            residual_up=kwargs.get("residual_up", [1, 1]),
        )  # fmt: skip


@pytest.mark.parametrize("depthwise", [False, True], ids=["dense", "depthwise"])
@pytest.mark.parametrize("act", ACTS)
def test_a_nan_input_stays_nan_through_every_activation_on_every_table(act, depthwise):
    """An output whose window holds a NaN is NaN after every fused activation, on every table, as MLX's ops
    (the fallback) have it. x86's max/min instructions return their second operand for a NaN, so Relu and
    Clip gave 0 or a bound there and Sigmoid/SiLU (whose exp clamps its argument) a number, while NEON's
    fmax/fmin kept the NaN. Oracle: the windows that touch a NaN input (numpy), every other output finite."""
    rng = np.random.default_rng(12)
    c = 24
    x = rng.standard_normal((1, 8, 9, c)).astype(np.float32)
    x[0, 3, 4, 5] = x[0, 0, 8, 17] = np.nan
    w = rng.standard_normal((3, 3, c) if depthwise else (3, 3, c, 16)).astype(np.float32)
    bad = np.pad(np.isnan(x), [(0, 0), (1, 1), (1, 1), (0, 0)])
    touched = np.zeros((1, 8, 9, c), bool)
    for ky in range(3):
        for kx in range(3):
            touched |= bad[:, ky : ky + 8, kx : kx + 9]
    want_nan = touched if depthwise else np.repeat(touched.any(-1, keepdims=True), 16, -1)
    slope = mx.array(rng.uniform(-0.5, 0.5, c if depthwise else 16).astype(np.float32))
    for isa in ISAS:
        with use_isa(isa):
            got = np.array(native.conv2d(mx.array(x), mx.array(w), depthwise=depthwise, pads=(1, 1, 1, 1),
                                         activation=act, alpha=-0.5, beta=0.5, slope=slope))  # fmt: skip
        np.testing.assert_array_equal(np.isnan(got), want_nan, err_msg=f"{isa} {act}")


@st.composite
def concat_conv_cases(draw):
    """1x1 convs over 1-4 parts whose channel counts share a divisor (1, 4, 8 or 16: the kernel's segment
    length) cutting K into at most 32 segments; parts contiguous, channel slices of wider maps, or transposed
    views; into 1-40 channels (1-8 on K >= 128: the dot-product path), with residuals at the output's or a
    coarser level."""
    seg = draw(st.sampled_from([1, 4, 8, 16]))
    widths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4).filter(lambda r: sum(r) <= 32))
    fh, fw = draw(st.sampled_from([(1, 1), (1, 1), (2, 2), (1, 2)]))
    return {
        "widths": [seg * r for r in widths], "c_out": draw(st.integers(1, 40)), "n": draw(st.integers(1, 2)),
        "h": fh * draw(st.integers(1, 7)), "w": fw * draw(st.integers(1, 7)), "up": (fh, fw),
        "act": draw(st.sampled_from(ACTS)), "bias": draw(st.booleans()),
        "residual": draw(st.sampled_from([False, "before", "after"] if (fh, fw) == (1, 1) else ["before", "after"])),
        "views": draw(st.lists(st.sampled_from(["contiguous", "slice", "transposed"]), min_size=4, max_size=4)),
        "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16)),
    }  # fmt: skip


def _part_view(a: np.ndarray, how: str) -> mx.array:
    if how == "slice":  # the channels of a wider map: read in place at its row stride
        wide = np.zeros(a.shape[:-1] + (a.shape[-1] + 5,), a.dtype)
        wide[..., 3 : 3 + a.shape[-1]] = a
        return mx.array(wide)[..., 3 : 3 + a.shape[-1]]
    return _view(a, how)


@scaled(2)
@given(case=concat_conv_cases())
def test_convs_over_concatenated_parts_match_onnxruntime(case):
    """native.concat_conv2d(parts, w) against onnxruntime's 1x1 conv of the concatenated map."""
    rng = np.random.default_rng(case["seed"])
    n, h, w, co, widths = case["n"], case["h"], case["w"], case["c_out"], case["widths"]
    k = sum(widths)
    parts = [rng.standard_normal((n, h, w, c)).astype(np.float32) for c in widths]
    x = np.concatenate(parts, axis=3)
    w_oihw = (rng.standard_normal((co, k, 1, 1)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(co).astype(np.float32) if case["bias"] else None
    slope = rng.uniform(-0.5, 1.5, co).astype(np.float32)
    alpha, beta = (-0.4, 0.7) if case["act"] == "clip" else (0.13, 0.0)
    fh, fw = case["up"]
    coarse = rng.standard_normal((n, h // fh, w // fw, co)).astype(np.float32) if case["residual"] else None
    residual = None if coarse is None else np.repeat(np.repeat(coarse, fh, axis=1), fw, axis=2)
    ref_case = {"depthwise": False, "c_in": k, "stride": 1, "pads": [0, 0, 0, 0], "act": case["act"],
                "residual": case["residual"]}  # fmt: skip
    want = _onnx_reference(
        ref_case, np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w_oihw, bias,
        None if residual is None else np.ascontiguousarray(residual.transpose(0, 3, 1, 2)), slope, alpha, beta,
    ).transpose(0, 2, 3, 1)  # fmt: skip
    w_native = mx.array(np.ascontiguousarray(w_oihw.transpose(2, 3, 1, 0)))
    views = [_part_view(p, how) for p, how in zip(parts, case["views"])]

    def conv(*xs):
        return native.concat_conv2d(
            list(xs[:-1]), w_native, None if bias is None else mx.array(bias), activation=case["act"], alpha=alpha,
            beta=beta, slope=mx.array(slope) if case["act"] == "prelu" else None, residual=xs[-1],
            residual_after=case["residual"] == "after", residual_up=(fh, fw),
        )  # fmt: skip

    ra = None if coarse is None else mx.array(coarse)
    for isa in ISAS:
        with use_isa(isa):
            fn = conv if case["run"] == "eager" else mx.compile(conv)
            got = np.array(fn(*views, ra))
        np.testing.assert_allclose(got, want, atol=2e-5, rtol=2e-5, err_msg=isa)


@pytest.mark.parametrize(
    "parts,w,match",
    [
        ([(1, 4, 4, 8), (1, 4, 5, 8)], (1, 1, 16, 4), "one batch, height and width"),
        ([(1, 4, 4, 8), (1, 4, 4, 8)], (1, 1, 12, 4), r"\(1, 1, 16, C_out\)"),
        ([(1, 4, 4, 8), (1, 4, 4, 8)], (3, 3, 16, 4), r"\(1, 1, 16, C_out\)"),
        ([(1, 4, 4, 33), (1, 4, 4, 1)], (1, 1, 34, 4), "more than 32 segments"),
        ([], (1, 1, 16, 4), "at least one part"),
    ],
)
def test_bad_concat_conv_arguments_are_refused(parts, w, match):
    with pytest.raises(ValueError, match=match):
        native._ext.concat_conv2d([mx.zeros(p) for p in parts], mx.zeros(w), None, None, None)


def test_a_conv_over_many_gathered_parts_reads_each():
    """30 parts, each a transposed view (copied first into per-input scratch, which must grow past its initial 16
    slots: a review found the 17th written out of bounds), with bias, residual and slope, against numpy."""
    rng = np.random.default_rng(121)
    parts = [rng.standard_normal((1, 3, 4, 8)).astype(np.float32) for _ in range(30)]
    views = [_view(p, "transposed") for p in parts]
    w = (rng.standard_normal((1, 1, 240, 5)) / 10).astype(np.float32)
    bias, slope = rng.standard_normal(5).astype(np.float32), rng.uniform(0.1, 0.5, 5).astype(np.float32)
    residual = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    want = np.concatenate(parts, axis=3) @ w[0, 0] + bias + residual
    want = np.where(want >= 0, want, want * slope)
    for isa in ISAS:
        with use_isa(isa):
            got = native.concat_conv2d(views, mx.array(w), mx.array(bias), activation="prelu", slope=mx.array(slope),
                                       residual=mx.array(residual))  # fmt: skip
            np.testing.assert_allclose(np.array(got), want, atol=2e-5, rtol=2e-5, err_msg=isa)
