"""Image in, not tensor in: translations that take the 8-bit NHWC image, against onnxruntime on the float blob."""

from __future__ import annotations

import contextlib

from opset import native
from translator import translate
from translator.cli import main
from translator.errors import InvalidModelError, TranslatorError
from translator.image_input import ImageInput, parse_image_input

import mlx.core as mx
import numpy as np
import onnx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper

from tests.properties.conftest import scaled
from tests.util import MODELS, make_model, run_mlx, run_ort

ISAS = native._ext.available_isas() if native.available() else []


@contextlib.contextmanager
def use_isa(name: str | None):
    if name is None:
        yield
        return
    best = native.isa()
    assert native._ext.set_isa(name), name
    try:
        yield
    finally:
        native._ext.set_isa(best)


def _stem_model(c_out: int, k: int, stride: int, pads, size_hw, channels: int = 3, extra_reader: bool = False):
    """A network's first conv (+ LeakyRelu), the way the face models start; optionally the input also feeds a
    ReduceMean, which the folded conv cannot take over."""
    rng = np.random.default_rng(c_out * 31 + k * 7 + stride)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=list(pads), strides=[stride, stride]),
             helper.make_node("LeakyRelu", ["c"], ["y"], alpha=0.1)]  # fmt: skip
    inits = {"w": (rng.standard_normal((c_out, channels, k, k)) / np.sqrt(k * k * channels)).astype(np.float32),
             "b": rng.standard_normal(c_out).astype(np.float32)}  # fmt: skip
    h, w = size_hw
    ho, wo = (h + pads[0] + pads[2] - k) // stride + 1, (w + pads[1] + pads[3] - k) // stride + 1
    outputs = [("y", np.float32, [1, c_out, ho, wo])]
    if extra_reader:
        nodes.append(helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0))
        outputs.append(("m", np.float32, [1, channels]))
    return make_model(nodes, [("x", np.float32, [1, channels, h, w])], outputs, inits, opset=13)


def _blob(img: np.ndarray, spec: ImageInput) -> np.ndarray:
    """The float NCHW input made in numpy, as the facades did (the oracle's input)."""
    mean, std, perm = spec.per_channel(img.shape[-1])
    x = (img[..., perm].astype(np.float32) - mean.astype(np.float32)) / std.astype(np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _check(model, spec, img, native_on: bool, tmp_path, isa=None, folded: int | None = None):
    want = run_ort(model, {"x": _blob(img, spec)})
    t = translate(model, native=native_on, image_input=spec)
    if folded is not None:
        assert t.program.notes.get("image_normalization_folded", 0) == folded
    with use_isa(isa):
        for mode in ("module", "oplist"):
            got = run_mlx(model, {"x": img}, mode, tmp_path, native=native_on, image_input=spec)
            for g, w in zip(got, want):
                scale = max(1.0, float(np.max(np.abs(w))))
                np.testing.assert_allclose(g, w, atol=2e-5 * scale, rtol=1e-5, err_msg=f"{mode} {isa}")
    return want


@st.composite
def stems(draw):
    k = draw(st.sampled_from([3, 3, 1, 5]))
    stride = draw(st.sampled_from([1, 2]))
    pads = [draw(st.integers(0, k - 1)) for _ in range(4)]
    h, w = draw(st.integers(k, 23)), draw(st.integers(k, 29))
    per_channel = draw(st.booleans())
    mean = tuple(draw(st.floats(0, 255)) for _ in range(3)) if per_channel else draw(st.floats(0, 255))
    std = tuple(draw(st.floats(0.5, 255)) for _ in range(3)) if per_channel else draw(st.floats(0.5, 255))
    spec = ImageInput(mean, std, draw(st.booleans()))
    return {"k": k, "stride": stride, "pads": pads, "hw": (h, w), "c_out": draw(st.integers(1, 40)), "spec": spec,
            "seed": draw(st.integers(0, 2**16))}  # fmt: skip


needs_native = pytest.mark.skipif(
    not native.available(), reason=f"native kernels not built: {native.UNAVAILABLE_REASON}"
)


@needs_native
@scaled(0.5)
@given(case=stems())
def test_folded_stem_matches_onnxruntime_on_the_blob(case, tmp_path_factory):
    """The stem reads the uint8 image with mean, std and channel order folded in: any kernel size, stride,
    padding, per-channel or shared normalization, channel swap; on every instruction set."""
    model = _stem_model(case["c_out"], case["k"], case["stride"], case["pads"], case["hw"])
    img = np.random.default_rng(case["seed"]).integers(0, 256, (1, *case["hw"], 3), dtype=np.uint8)
    for isa in ISAS:
        _check(model, case["spec"], img, True, tmp_path_factory.mktemp("img"), isa, folded=1)


@needs_native
@pytest.mark.parametrize("stride", [1, 2])
def test_borders_are_exact(stride, tmp_path):
    """The model zero-pads the normalized image; the folded conv pads the image with the mean. With a mean
    far from 0 and saturated pixels along the edges, a wrong border would be off by W * mean / std."""
    spec = ImageInput((200.0, 10.0, 120.0), (2.0, 50.0, 0.5), bgr_to_rgb=True)
    model = _stem_model(16, 3, stride, [1, 1, 1, 1], (17, 21))
    img = np.random.default_rng(stride).integers(0, 256, (1, 17, 21, 3), dtype=np.uint8)
    img[:, 0], img[:, -1], img[:, :, 0], img[:, :, -1] = 255, 0, 255, 0
    want = run_ort(model, {"x": _blob(img, spec)})[0]
    got = run_mlx(model, {"x": img}, "oplist", tmp_path, native=True, image_input=spec)[0]
    border = np.ones(want.shape[2:], bool)
    border[1:-1, 1:-1] = False
    scale = float(np.max(np.abs(want)))
    np.testing.assert_allclose(got[:, :, border], want[:, :, border], atol=2e-5 * scale, rtol=1e-5)
    np.testing.assert_allclose(got, want, atol=2e-5 * scale, rtol=1e-5)


def _stem_chain_model(k: int, stride: int, mid: bool, post: bool, size_hw=(21, 26)):
    """A stem (+ Relu) then maybe a 1x1 conv (+ Relu; YuNet), a depthwise 3x3 (+ Relu) and maybe a 1x1 conv:
    the start of SCRFD, RetinaFace and YuNet, which passes/pw_dw.py makes one call reading the image."""
    rng = np.random.default_rng(k * 5 + stride + 2 * mid + post)
    cs, c, co = 16, 8, 12
    cd = c if mid else cs
    inits = {"ws": (rng.standard_normal((cs, 3, k, k)) / np.sqrt(3 * k * k)).astype(np.float32),
             "bs": rng.standard_normal(cs).astype(np.float32),
             "wm": (rng.standard_normal((c, cs, 1, 1)) / 4).astype(np.float32),
             "wd": (rng.standard_normal((cd, 1, 3, 3)) / 3).astype(np.float32),
             "bd": rng.standard_normal(cd).astype(np.float32),
             "wp": (rng.standard_normal((co, cd, 1, 1)) / 3).astype(np.float32)}  # fmt: skip
    p = k // 2
    nodes = [helper.make_node("Conv", ["x", "ws", "bs"], ["s"], pads=[p, p, p, p], strides=[stride, stride]),
             helper.make_node("Relu", ["s"], ["sr"])]  # fmt: skip
    dw_in = "sr"
    if mid:
        nodes += [helper.make_node("Conv", ["sr", "wm"], ["m"]), helper.make_node("Relu", ["m"], ["mr"])]
        dw_in = "mr"
    nodes += [helper.make_node("Conv", [dw_in, "wd", "bd"], ["d"], group=cd, pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["d"], ["y" if not post else "dr"])]  # fmt: skip
    if post:
        nodes.append(helper.make_node("Conv", ["dr", "wp"], ["y"]))
    h, w = size_hw
    ho, wo = (h + 2 * p - k) // stride + 1, (w + 2 * p - k) // stride + 1
    outputs = [("y", np.float32, [1, co if post else cd, ho, wo])]
    return make_model(nodes, [("x", np.float32, [1, 3, h, w])], outputs, inits, opset=13)


@needs_native
@pytest.mark.parametrize(
    "k,stride,mid,post",
    [(3, 2, False, True), (3, 2, True, False), (3, 2, True, True), (1, 1, False, False), (5, 1, True, True)],
    ids=["scrfd", "yunet", "yunet-pw", "1x1-stem", "5x5-stem"],
)
def test_image_stem_chains_fuse_and_match_onnxruntime(k, stride, mid, post, tmp_path):
    """The stem reading the image, maybe a 1x1 conv, the depthwise conv (and maybe a 1x1 conv) become one
    native call whose stem rows come from the 8-bit image (a 1x1 stem on the image included: it is no plain
    1x1 conv, having the offset); on every instruction set, both modes."""
    spec = ImageInput((104.0, 117.0, 123.0), (58.0, 57.0, 57.5), bgr_to_rgb=True)
    model = _stem_chain_model(k, stride, mid, post)
    t = translate(model, native=True, image_input=spec)
    assert t.notes["pointwise_depthwise_fused"] == 1
    want = "native image stem" + ("+pointwise" if mid else "") + "+depthwise" + ("+pointwise" if post else "")
    assert t.program.notes["conv_strategies"] == {want: 1}
    img = np.random.default_rng(k + stride).integers(0, 256, (1, 21, 26, 3), dtype=np.uint8)
    img[:, 0], img[:, :, -1] = 255, 0  # borders far from the mean: the padding must be of the normalized image
    for isa in ISAS:
        _check(model, spec, img, True, tmp_path / (isa or "best"), isa, folded=1)


def test_without_native_kernels_the_normalization_runs_as_mlx_ops(tmp_path):
    """No native kernels (or the GPU): ImageNormalize stays, as MLX ops computing what numpy computed."""
    spec = ImageInput((104.0, 117.0, 123.0), 1.0)
    model = _stem_model(8, 3, 2, [1, 1, 1, 1], (16, 20))
    t = translate(model, native=False, image_input=spec)
    assert "native_image_conv2d" not in {c.fn for c in t.program.calls}
    img = np.random.default_rng(0).integers(0, 256, (1, 16, 20, 3), dtype=np.uint8)
    _check(model, spec, img, False, tmp_path)


@needs_native
def test_an_input_read_elsewhere_keeps_its_normalization(tmp_path):
    """Only convs take the image itself: another reader of the input still gets the normalized map."""
    spec = ImageInput(127.5, 127.5, True)
    model = _stem_model(16, 3, 2, [1, 1, 1, 1], (12, 14), extra_reader=True)
    img = np.random.default_rng(1).integers(0, 256, (1, 12, 14, 3), dtype=np.uint8)
    _check(model, spec, img, True, tmp_path, folded=1)
    calls = {c.fn for c in translate(model, image_input=spec).program.calls}
    assert {"native_image_conv2d", "divide"} <= calls


@needs_native
def test_image_conv_kernel_matches_the_float_conv():
    """native.image_conv2d on every table: float(x) - offset, zero-padded, for 1-4 channels, the 3x3 stem
    kernel and the GEMM over the band (other kernel sizes), a residual and a PRelu epilogue."""
    rng = np.random.default_rng(7)
    cases = [(1, 3, 3, 2, (1, 1, 1, 1), 16), (2, 3, 3, 1, (0, 2, 1, 0), 20), (1, 1, 5, 2, (2, 2, 2, 2), 5),
             (1, 4, 3, 2, (1, 0, 1, 2), 64), (1, 3, 1, 1, (0, 0, 0, 0), 8), (1, 3, 3, 2, (1, 1, 1, 1), 8)]  # fmt: skip
    for n, c, k, s, pads, co in cases:
        img = rng.integers(0, 256, (n, 13, 11, c), dtype=np.uint8)
        w = mx.array((rng.standard_normal((k, k, c, co)) / (60 * k)).astype(np.float32))
        b, off = (
            mx.array(rng.standard_normal(co).astype(np.float32)),
            mx.array(rng.uniform(0, 255, c).astype(np.float32)),
        )
        slope = mx.array(rng.uniform(0, 0.5, co).astype(np.float32))
        x = mx.array(img.astype(np.float32)) - off
        want = native.reference_conv2d(x, w, b, strides=(s, s), pads=pads, activation="prelu", slope=slope)
        r = mx.array(rng.standard_normal(want.shape).astype(np.float32))
        want = np.array(want + r)  # residual after the activation (residual_after)
        for isa in ISAS:
            with use_isa(isa):
                got = np.array(native.image_conv2d(mx.array(img), w, b, off, strides=(s, s), pads=pads,
                                                   activation="prelu", slope=slope, residual=r, residual_after=True))  # fmt: skip
            np.testing.assert_allclose(got, want, atol=2e-5, rtol=2e-5, err_msg=f"{isa} {(n, c, k, s, pads, co)}")


@needs_native
@pytest.mark.parametrize(
    "x,offset,match",
    [(np.zeros((1, 8, 8, 3), np.float32), 3, "uint8"), (np.zeros((1, 8, 8, 3), np.uint8), 2, "offset"),
     (np.zeros((1, 8, 8, 5), np.uint8), 5, "1 to 4 channels")],
)  # fmt: skip
def test_image_conv_refuses_bad_arguments(x, offset, match):
    with pytest.raises(ValueError, match=match):
        native._ext.image_conv2d(mx.array(x), mx.zeros((3, 3, x.shape[3], 8)), None, mx.zeros((offset,)), None, None,
                                 strides=[1, 1], pads=[1, 1, 1, 1])  # fmt: skip


@needs_native
def test_one_dynamic_translation_reads_images_of_every_size(tmp_path):
    """dynamic=True frees N, H and W of the image but keeps its channels (the normalization is per channel):
    one translation, declared at 16x20 like YuNet's fixed 640x640, runs at other sizes and batches."""
    from runtime.session import InferenceSession
    from translator.api import free_input_dims

    spec = ImageInput((104.0, 117.0, 123.0), (1.0, 2.0, 4.0), bgr_to_rgb=True)
    model = _stem_model(8, 3, 2, [1, 1, 1, 1], (16, 20))
    *free_dims, channels = translate(model, dynamic=True, image_input=spec).program.inputs[0].shape
    assert channels == 3 and not any(isinstance(d, int) for d in free_dims)
    free = onnx.ModelProto.FromString(model.SerializeToString())
    free_input_dims(free, True, "stem")  # onnxruntime at any size: the float blob's dims all free
    session = InferenceSession(model, mode="oplist", cache_dir=tmp_path, dynamic=True, image_input=spec)
    rng = np.random.default_rng(5)
    for shape in ((1, 16, 20, 3), (2, 33, 18, 3), (1, 64, 48, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        want = run_ort(free, {"x": _blob(img, spec)})[0]
        got = session.run(None, {"x": img})[0]
        np.testing.assert_allclose(got, want, atol=2e-5 * float(np.max(np.abs(want))), rtol=1e-5)
    assert len(session._models) == 1


def test_bad_specs_and_models_are_clear_errors():
    model = _stem_model(8, 3, 1, [1, 1, 1, 1], (8, 8))
    with pytest.raises(TranslatorError, match="mean has 2 values for 3 channels"):
        translate(model, image_input=ImageInput((1.0, 2.0), 1.0))
    with pytest.raises(TranslatorError, match="std must be finite and non-zero"):
        translate(model, image_input=ImageInput(0.0, 0.0))
    with pytest.raises(TranslatorError, match="drop nhwc_inputs"):
        translate(model, image_input=ImageInput(), nhwc_inputs=True)
    two = make_model([helper.make_node("Add", ["x", "z"], ["y"])],
                     [("x", np.float32, [1, 3, 4, 4]), ("z", np.float32, [1, 3, 4, 4])], [("y", np.float32, [1, 3, 4, 4])])  # fmt: skip
    with pytest.raises(InvalidModelError, match="exactly one 4-D"):
        translate(two, image_input=ImageInput())
    wide = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", np.float32, [1, 6, 4, 4])], [("y", np.float32, [1, 6, 4, 4])])  # fmt: skip
    with pytest.raises(InvalidModelError, match="1 to 4 channels"):
        translate(wide, image_input=ImageInput())


@pytest.mark.parametrize(
    "text,want",
    [("127.5,127.5", ImageInput(127.5, 127.5)), ("0,255,rgb", ImageInput(0.0, 255.0, True)),
     ("104:117:123,1,bgr", ImageInput((104.0, 117.0, 123.0), 1.0))],
)  # fmt: skip
def test_cli_spec_parses(text, want):
    assert parse_image_input(text) == want


@pytest.mark.parametrize("text", ["127.5", "1,2,3,4", "a,1", "1,2,hsv"])
def test_cli_spec_errors(text):
    with pytest.raises(TranslatorError, match="image-input"):
        parse_image_input(text)


def test_cli_converts_with_image_input(tmp_path, capsys):
    path = tmp_path / "stem.onnx"
    onnx.save(_stem_model(8, 3, 2, [1, 1, 1, 1], (16, 16)), path)
    assert main(["convert", str(path), "-o", str(tmp_path / "out"), "--image-input", "104:117:123,1"]) == 0
    assert "image in   : uint8 NHWC" in capsys.readouterr().out


def test_the_image_input_keeps_shape_reinference_and_the_layout(tmp_path):
    """ImageNormalize is the translator's own node, which ONNX shape inference does not know: reinference
    must infer around it. When it gave up instead, YOLOv5n's channel shuffles stayed unfolded and its
    image translation ran 53 transposes where the tensor one runs 7 (1.5x slower)."""
    path = MODELS / "yolov5n_0.5_face.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not found (../shared beside the checkout)")
    tensor_in = translate(str(path))
    image_in = translate(str(path), image_input=ImageInput(0.0, 255.0, True))
    assert image_in.notes["shapes_reinferred"] == tensor_in.notes["shapes_reinferred"] > 0
    assert image_in.notes["concat_shuffles_interleaved"] == tensor_in.notes["concat_shuffles_interleaved"] > 0
    count = lambda t: sum(c.fn == "transpose" for c in t.program.calls)  # noqa: E731
    assert count(image_in) <= count(tensor_in)
