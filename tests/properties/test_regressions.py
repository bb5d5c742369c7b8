"""Failures hypothesis found, shrunk, and kept as plain tests with the concrete model.

Open bugs are xfail(strict=True): the fix turns them into XPASS, which fails the
run until the mark (and the matching entry of known_bugs.KNOWN_BUGS, which keeps
the property tests from tripping over the same bug) is removed. Fixed bugs stay
here as ordinary tests.
"""

from __future__ import annotations

from runtime.session import InferenceSession

import numpy as np
import pytest

from tests.properties.harness import Case, check_case, run_backends, run_ort
from tests.properties.known_bugs import KNOWN_BUGS
from tests.properties.strategies import build, node

I64_MAX = np.iinfo(np.int64).max


def test_known_bugs_point_to_regression_tests():
    from tests.hostile.test_fuzz_frontend import FUZZ_KNOWN_BUGS

    names = {name for name in globals() if name.startswith("test_")}
    for bug, (_, test) in KNOWN_BUGS.items():
        assert test in names, f"known bug {bug} names a missing regression test {test}"
    from tests.hostile.test_fuzz_frontend import FUZZ_ALLOCATION_BUGS

    for test in list(FUZZ_KNOWN_BUGS) + list(FUZZ_ALLOCATION_BUGS):
        assert test in names, f"fuzz known bug names a missing regression test {test}"


# -- open bugs ------------------------------------------------------------------------------

# None at the moment: add new ones here as xfail(strict=True), with a known_bugs.KNOWN_BUGS entry.


# -- fixed bugs (kept) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,attrs",
    [
        ("MaxPool", dict(dilations=[1, 2], kernel_shape=[1, 4], pads=[0, 3, 0, 3])),
        ("AveragePool", dict(dilations=[1, 2], kernel_shape=[1, 2], pads=[0, 1, 0, 1])),
    ],
)
def test_pool_window_entirely_in_padding(op, attrs):
    """A dilated window holding only padding: onnxruntime gives -FLT_MAX (MaxPool, its running max starts at
    the lowest float) and 0 (AveragePool, count 0); pool_nd padded with -inf and divided by the count 0."""
    x = np.array([[[[0.82177013]]]], np.float32)
    check_case(build([node(op, ["x"], **attrs)], {"x": x}, opset=19))


@pytest.mark.parametrize(
    "shape,attrs",
    [
        ((2, 2, 3, 1), dict(dilations=[1, 2], kernel_shape=[1, 4], pads=[0, 3, 0, 3])),
        ((1, 2, 1, 2), dict(dilations=[2, 1], kernel_shape=[4, 1], pads=[3, 0, 3, 0], storage_order=1)),
        ((1, 1, 2, 1, 2), dict(dilations=[1, 2, 1], kernel_shape=[1, 4, 1], pads=[0, 3, 0, 0, 3, 0])),
        ((1, 2, 1, 1), dict(dilations=[3, 1], kernel_shape=[2, 1], pads=[1, 0, 1, 0])),  # no window: empty
    ],
)
def test_max_pool_indices_window_entirely_in_padding(shape, attrs):
    """MaxPool's Indices for a window holding only padding: onnxruntime's per-axis argmax starts at -1, so
    it reports the flat index of position (-1, ..., -1) (we gave -1); an empty output raised a raw MLX
    argmax error."""
    x = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    check_case(build([node("MaxPool", ["x"], ["y", "i"], **attrs)], {"x": x}, outputs=["y", "i"], opset=12))


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize(
    "x,attrs",
    [
        ([[[[0.82177013]]]], dict(ceil_mode=1, kernel_shape=[2, 1], pads=[1, 0, 1, 0], strides=[2, 1])),
        ([[[[0.82177013, -1.3812797]]]], dict(ceil_mode=1, kernel_shape=[2, 1], pads=[0, 0, 1, 0], strides=[1, 2])),
    ],
)
def test_nhwc_pool_ceil_mode_size_1_dims(op, x, attrs):
    """The layout pass turned the transposes around the NHWC pool that move only size-1 dims into Reshapes to
    the inferred shape, which before opset 22 keeps a ceil_mode window onnxruntime drops (raw MLX reshape
    error). Values whose inferred shape may be wrong now keep their Transpose."""
    check_case(build([node(op, ["x"], **attrs)], {"x": np.array(x, np.float32)}, opset=11))


@pytest.mark.parametrize(
    "ctm,mode,scale",
    [("align_corners", "linear", 0.6), ("tf_crop_and_resize", "linear", 0.6), ("pytorch_half_pixel", "linear", 0.3),
     ("pytorch_half_pixel", "cubic", 0.25)],
)  # fmt: skip
def test_resize_coordinates_use_output_length(ctm, mode, scale):
    """resize_axis_map used the unrounded scale * in where onnxruntime uses the integer output length
    (align_corners, tf_crop_and_resize), and mapped pytorch_half_pixel with output length 1 to -0.5, not 0."""
    x = np.array([[[[0.82177013, -1.3812797, -2.754159, -2.900834]]]], np.float32)
    inits = {"scales": np.array([1, 1, 1, scale], np.float32)}
    ins = ["x", "", "scales"]
    if ctm == "tf_crop_and_resize":
        inits["roi"] = np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float32)
        ins[1] = "roi"
    case = build([node("Resize", ins, mode=mode, coordinate_transformation_mode=ctm)], {"x": x}, inits, opset=13)
    check_case(case)


@pytest.mark.parametrize("then", [None, "Transpose"])
def test_resize_output_size_in_float32(then):
    """onnxruntime sizes a Resize as int(scale * float(dim)) in float32: 0.7f * 10 gives 7, float64 (and ONNX
    shape inference) 6. With the inferred (1, 1, 1, 6), the layout pass also made the Transpose after it a
    Reshape to (1, 1, 6, 1)."""
    x = np.linspace(-1, 1, 10, dtype=np.float32).reshape(1, 1, 1, 10)
    nodes = [node("Resize", ["x", "", "s"], ["r" if then else "y"], mode="linear")]
    if then:
        nodes.append(node("Transpose", ["r"], perm=[0, 1, 3, 2]))
    check_case(build(nodes, {"x": x}, {"s": np.array([1, 1, 1, 0.7], np.float32)}, opset=13))


@pytest.mark.parametrize("how", ["scales", "keep_aspect_ratio"])
def test_resize_to_empty_output(how):
    """A zero-size Resize output raised a raw MLX broadcast error (or kept a dim): now an empty array."""
    if how == "scales":
        x = np.array([[[[0.82177013, -1.3812797]]]], np.float32)
        inits = {"roi": np.array([], np.float32), "scales": np.array([1, 1, 0.5, 0.5], np.float32)}
        case = build([node("Resize", ["x", "roi", "scales"], mode="linear")], {"x": x}, inits, opset=11)
    else:  # not_larger: scale min(1/1, 1/3) -> H = round(1/3) = 0
        x = np.array([[[[0.82177013, -1.3812797, -2.754159]]]], np.float32)
        attrs = dict(axes=[2, 3], keep_aspect_ratio_policy="not_larger", mode="nearest")
        case = build([node("Resize", ["x", "", "", "sizes"], **attrs)], {"x": x}, {"sizes": np.array([1, 1])}, opset=18)
    check_case(case)


_ALLOC_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
sys.path.insert(0, {root!r})
import onnx
from translator import TranslatorError, translate
try:
    translate(onnx.load_model_from_string(open({path!r}, "rb").read()))
    print("ok")
except TranslatorError as exc:
    print("typed", exc)
except BaseException as exc:
    print("raw", type(exc).__name__, exc)
"""


def _translate_with_memory_cap(model, tmp_path) -> str:
    """translate() in a child capped at 3 GB of address space: what it prints (ok / typed / raw ...)."""
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    code = _ALLOC_PROBE.format(root=str(Path(__file__).resolve().parents[2]), path=str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return (out.stdout.strip().splitlines() or [f"no output, rc {out.returncode}: {out.stderr[-300:]}"])[-1]


@pytest.mark.parametrize("which", ["resize_declared_dim", "pad_reflect_constant"])
def test_translation_allocations_are_bounded(which, tmp_path):
    """Found by the deep fuzz run (its worker was OOM-killed at 23 GB): Resize built its index/weight maps from
    a declared dim of 2**31-1 (16 GiB), Pad reflect an index map the size of the padded axis (6.4 GiB). Tables
    over MAX_TABLE_ELEMENTS are now built at run time, from the actual input."""
    f32 = np.float32
    if which == "resize_declared_dim":
        case = build(
            [node("Resize", ["x", "", "s"], mode="linear")],
            {"x": np.zeros((1, 1, 1, 2), f32)},
            {"s": np.array([1, 1, 2, 2], f32)},
            opset=13,
        )
        case.model.graph.input[0].type.tensor_type.shape.dim[3].dim_value = 2**31 - 1
        for d, name in zip(case.model.graph.output[0].type.tensor_type.shape.dim, "nchw"):
            d.dim_param = name  # let inference recompute the (large) output shape
    else:
        pads = np.array([0, 0, 1, 1, 0, 0, 855638017, 1], np.int64)
        nodes = [node("Pad", ["x", "p"], ["q"], mode="reflect"), node("ReduceMean", ["q"], axes=[2, 3], keepdims=1)]
        case = build(nodes, {"x": np.zeros((1, 2, 3, 3), f32)}, {"p": pads}, opset=13)
    outcome = _translate_with_memory_cap(case.model, tmp_path)
    assert outcome == "ok" or (
        outcome.startswith("typed") and "MemoryError" not in outcome and "allocate" not in outcome
    ), outcome


def test_affine_grid_align_corners_size_1():
    """align_corners=1 with a spatial size of 1: the spec's step 2/(size-1) divides by zero; onnxruntime (Eigen's
    LinSpaced) uses the end point 1, we used 0."""
    t = np.array([[[-0.668, -0.363, -0.0498], [-0.404, 0.577, -0.419]]], np.float32)
    case = build(
        [node("AffineGrid", ["t", "s"], align_corners=1)], {"t": t}, {"s": np.array([1, 1, 1, 3], np.int64)}, opset=20
    )
    check_case(case)


@pytest.mark.parametrize("where", ["bn_scale_4d", "bn_scale_short", "conv_bias_empty", "conv_bias_short"])
def test_batchnorm_params_of_wrong_shape_opset13(where):
    from translator import InvalidModelError, translate

    f32 = np.float32
    inits = {"s": np.ones(4, f32), "b": np.zeros(4, f32), "m": np.zeros(4, f32), "v": np.ones(4, f32)}
    nodes = [node("BatchNormalization", ["x", "s", "b", "m", "v"])]
    feed = {"x": np.zeros((1, 4, 2, 2), f32)}
    if where == "bn_scale_4d":
        inits["s"] = np.ones((4, 3, 3, 3), f32)
    elif where == "bn_scale_short":
        inits["s"] = np.ones(2, f32)
    else:
        inits.update(w=np.ones((4, 3, 3, 3), f32), cb=np.zeros(0 if where == "conv_bias_empty" else 2, f32))
        conv = node("Conv", ["x", "w", "cb"], ["c"], pads=[1, 1, 1, 1])
        nodes = [conv, node("BatchNormalization", ["c", "s", "b", "m", "v"])]
        feed = {"x": np.zeros((1, 3, 2, 2), f32)}
    model = build(nodes, feed, inits, opset=13).model
    with pytest.raises(InvalidModelError):
        translate(model)


def _invalid_utf8(tag: bytes) -> bytes:
    """A Conv+Relu model whose serialized string `tag` gets an invalid UTF-8 byte (proto2 strings then
    parse as bytes in Python)."""
    f32 = np.float32
    nodes = [node("Conv", ["XXXX", "WWWW"], ["CCCC"], pads=[1, 1, 1, 1]), node("Relu", ["CCCC"], ["YYYY"])]
    nodes[0].name = "NNNN"
    case = build(nodes, {"XXXX": np.zeros((1, 2, 4, 4), f32)}, {"WWWW": np.ones((3, 2, 3, 3), f32)}, opset=13)
    data = case.model.SerializeToString()
    assert data.count(tag) >= 1
    return data.replace(tag, tag[:1] + b"\xef" + tag[2:])


@pytest.mark.parametrize("tag", [b"NNNN", b"XXXX", b"YYYY"], ids=["node_name", "input_name", "output_name"])
def test_invalid_utf8_names(tag):
    from translator import TranslatorError, translate

    data = _invalid_utf8(tag)
    try:
        translate(data)
    except TranslatorError:
        pass


@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_float64_weights_load(mode):
    """Fixed: weights are decoded by numpy's safetensors reader (MLX's has no F64), MLX's only for bf16."""
    case = build([node("Mul", ["a", "b"])], {"a": np.ones(2)}, {"b": np.array([2.0, 3.0])})
    out = InferenceSession(case.model, mode=mode).run(None, case.feed)[0]
    np.testing.assert_array_equal(out, [2.0, 3.0])
    assert out.dtype == np.float64


@pytest.mark.parametrize(
    "op,attrs,opset",
    [
        ("MaxPool", dict(ceil_mode=1, kernel_shape=[1, 1], strides=[2, 1]), 11),
        ("AveragePool", dict(ceil_mode=1, kernel_shape=[1, 1], strides=[2, 1]), 11),
        ("MaxPool", dict(auto_pad="VALID", ceil_mode=1, kernel_shape=[1, 1], strides=[2, 1]), 19),
        ("AveragePool", dict(auto_pad="SAME_UPPER", ceil_mode=1, kernel_shape=[1, 4], strides=[2, 3]), 21),
    ],
)
def test_nhwc_pool_ceil_mode_output_size(op, attrs, opset):
    """Fixed in fe48160: the NHWC pool took its output size from ONNX shape inference, which before opset 22
    keeps a ceil_mode window starting in the right padding (and applies ceil under auto_pad)."""
    x = np.arange(1 * 2 * 8 * 4, dtype=np.float32).reshape(1, 2, 8, 4) / 10
    check_case(build([node(op, ["x"], **attrs)], {"x": x}, opset=opset))


def test_pool_ceil_mode_output_size_nchw_is_right():
    """The NCHW helper (pool_geometry) gets the same cases right: only the NHWC twin is wrong."""
    x = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)
    case = build([node("MaxPool", ["x"], ceil_mode=1, kernel_shape=[1, 1], strides=[2, 1])], {"x": x}, opset=11)
    (want,) = run_ort(case.model, case.feed)
    got = run_backends(case.model, case.feed, layout="nchw")
    for mode in ("module", "oplist"):
        np.testing.assert_array_equal(got[mode][0], want)


@pytest.mark.parametrize("which", ["Size", "ConstantOfShape"])
def test_folded_scalar_output_keeps_rank_0(which):
    """Fixed: ProgramBuilder.add_weight / weights_bytes used np.ascontiguousarray (0-d -> shape (1,))."""
    x = np.array(0.5, np.float32)
    if which == "Size":
        case = build([node("Size", ["x"])], {"x": x}, opset=13)
    else:
        case = build([node("Shape", ["x"], ["s"]), node("ConstantOfShape", ["s"])], {"x": x}, opset=13)
    check_case(case)


@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_session_keeps_0d_inputs_0d(mode):
    """runtime/session.py used np.ascontiguousarray on inputs, which makes 0-d arrays shape (1,)."""
    case = build([node("Relu", ["x"])], {"x": np.array(-1.5, np.float32)})
    out = InferenceSession(case.model, mode=mode).run(None, case.feed)[0]
    assert out.shape == ()
    assert out == 0


def test_resize_cubic_single_column():
    """Resize cubic with a width of 1 raised a raw broadcast error from MLX."""
    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 2, 6, 1)
    inits = {"roi": np.array([], np.float32), "scales": np.array([1, 1, 2, 2], np.float32)}
    check_case(
        build([node("Resize", ["x", "roi", "scales"], mode="cubic", cubic_coeff_a=-0.75)], {"x": x}, inits, opset=11)
    )


def test_max_pool_3d_lowering_runs():
    """A 3-D MaxPool once hit a NameError (math) in the generated pool helper."""
    x = np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 1, 1, 5, 1)
    case = build(
        [node("MaxPool", ["x"], kernel_shape=[4, 4, 1], pads=[2, 3, 0, 1, 2, 0], strides=[3, 2, 2])], {"x": x}, opset=8
    )
    check_case(case)


# -- onnxruntime deviations the strategies avoid (documented, not bugs of ours) ---------------------


def _reference(case: Case):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(case.model).run(None, case.feed)


def test_slice_negative_step_int64_max_end_follows_spec():
    """ends=INT64_MAX with step -1: the spec clamps to dim-1 (empty); onnxruntime returns the element."""
    inits = {"s": np.array([I64_MAX]), "e": np.array([I64_MAX]), "st": np.array([-1])}
    case = build([node("Slice", ["x", "s", "e", "", "st"])], {"x": np.array([0.8], np.float32)}, inits, opset=10)
    (want,) = _reference(case)
    for mode, outs in run_backends(case.model, case.feed).items():
        assert outs[0].shape == want.shape == (0,), mode


def test_mean_variance_normalization_constant_input_follows_spec():
    """Zero variance: the spec's function adds 1e-9 to the std (result 0); onnxruntime gives NaN."""
    case = build(
        [node("MeanVarianceNormalization", ["x"], axes=[0, 2, 3])],
        {"x": np.full((1, 1, 1, 1), 0.8, np.float32)},
        opset=13,
    )
    (want,) = _reference(case)
    for mode, outs in run_backends(case.model, case.feed).items():
        np.testing.assert_allclose(outs[0], want, atol=1e-6, err_msg=mode)


def test_grid_sample_cubic_border_follows_spec():
    """cubic + border with the grid outside [-1, 1]: onnxruntime clamps the coordinate before taking the
    4x4 taps, the spec (and onnx.reference) clamp each tap; we follow the spec. Not generated."""
    x = np.array([[[[1.8796214, 2.4765334]]]], np.float32)
    g = np.array([[[[0.32870805, -0.5525119], [-1.1016636, -1.1603336]]]], np.float32)
    case = build([node("GridSample", ["x", "g"], mode="cubic", padding_mode="border")], {"x": x, "g": g}, opset=20)
    (want,) = _reference(case)
    for mode, outs in run_backends(case.model, case.feed).items():
        np.testing.assert_allclose(outs[0], want, atol=1e-5, err_msg=mode)


@pytest.mark.parametrize("elem_type", [-1, 99, 2**31 - 1])
def test_unknown_tensor_element_type(elem_type):
    """Found by the deep fuzz run: an input declared with element type -1 escaped as a raw ValueError
    ("Enum DataType has no name defined for value -1") from translator/frontend.py `_type_info`."""
    from translator import InvalidModelError, translate

    case = build([node("Relu", ["x"])], {"x": np.ones((2, 2), np.float32)})
    case.model.graph.input[0].type.tensor_type.elem_type = elem_type
    case.model.graph.output[0].type.tensor_type.elem_type = elem_type  # so shape inference sees no contradiction
    with pytest.raises(InvalidModelError, match=f"unknown tensor element type {elem_type}"):
        translate(case.model.SerializeToString())
