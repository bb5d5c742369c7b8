"""Run-time inputs: odd memory layouts and non-finite values.

Wrong dtype / rank / shape and missing or extra inputs are covered by
tests/runtime/test_interpreter.py. Here: every numpy layout a caller may hand over
(transposed, negative strides, broadcast zero strides, Fortran order, read-only,
unaligned, memmap, big-endian) gives onnxruntime's answer in both modes, also when
the compiled model is called directly with mx arrays; and NaN/Inf propagate as
onnxruntime propagates them through Relu, MaxPool, Softmax, Conv, Add and friends.
"""

from __future__ import annotations

import runtime  # noqa: F401  (fast BLAS before MLX)
from runtime.loader import load_module_model, load_oplist_model
from runtime.session import InferenceSession
from translator import InputError, convert

import mlx.core as mx
import numpy as np
import pytest

from tests.properties.harness import assert_close, run_backends, run_ort
from tests.properties.strategies import build, node

MODES = ("module", "oplist")


def _conv_net():
    rng = np.random.default_rng(0)
    inits = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, "b": rng.standard_normal(4).astype(np.float32),
        "slope": np.full((4, 1, 1), 0.1, np.float32),
    }  # fmt: skip
    nodes = [
        node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        node("PRelu", ["c", "slope"], ["p"]),
        node("MaxPool", ["p"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Softmax", ["m"], ["y"], axis=1),
    ]
    return build(nodes, {"x": np.zeros((1, 3, 6, 8), np.float32)}, inits, opset=13).model


def _layouts(shape):
    """name -> an array of `shape` (float32 values) with that memory layout."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal(shape).astype(np.float32)
    out = {"contiguous": base}
    out["fortran"] = np.asfortranarray(base)
    rev = np.flip(base, axis=-1).copy()
    out["negative_strides"] = rev[..., ::-1]
    big = np.zeros(tuple(2 * d for d in shape), np.float32)
    big[tuple(slice(None, None, 2) for _ in shape)] = base
    out["step_view"] = big[tuple(slice(None, None, 2) for _ in shape)]
    out["transposed_view"] = np.ascontiguousarray(np.moveaxis(base, -1, 0)).transpose(list(range(1, len(shape))) + [0])
    ro = base.copy()
    ro.setflags(write=False)
    out["read_only"] = ro
    buf = np.zeros(base.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(buf.data, dtype=np.float32, count=base.size, offset=1).reshape(shape)
    unaligned.setflags(write=True) if unaligned.flags.writeable else None
    raw = np.frombuffer(base.tobytes(), np.uint8)
    buf[1:] = raw
    out["unaligned"] = np.frombuffer(buf.data, dtype=np.float32, count=base.size, offset=1).reshape(shape)
    row = base[..., :1, :]
    if shape[-2] > 1 and np.all(base == row):
        out["broadcast"] = np.broadcast_to(row, shape)
    return out


def _broadcast_input(shape):
    rng = np.random.default_rng(2)
    row = rng.standard_normal((*shape[:-2], 1, shape[-1])).astype(np.float32)
    return np.broadcast_to(row, shape)  # zero stride, read-only


@pytest.fixture(scope="module")
def conv_model():
    return _conv_net()


@pytest.mark.parametrize("mode", MODES)
def test_memory_layouts_match_onnxruntime(conv_model, mode, tmp_path):
    shape = (1, 3, 6, 8)
    layouts = _layouts(shape)
    layouts["broadcast"] = _broadcast_input(shape)
    sess = InferenceSession(conv_model, mode=mode, cache_dir=tmp_path)
    for name, x in layouts.items():
        assert x.shape == shape, name
        (want,) = run_ort(conv_model, {"x": np.ascontiguousarray(x)})
        (got,) = sess.run(None, {"x": x})
        assert_close(got, want, f"{mode} {name}")
        if not x.flags.writeable:
            assert not x.flags.writeable  # the session did not flip the caller's flag


def test_memmap_input(conv_model, tmp_path):
    shape = (1, 3, 6, 8)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=shape)
    mm[:] = np.random.default_rng(3).standard_normal(shape)
    (want,) = run_ort(conv_model, {"x": np.array(mm)})
    for mode in MODES:
        (got,) = InferenceSession(conv_model, mode=mode, cache_dir=tmp_path / mode).run(None, {"x": mm})
        assert_close(got, want, mode)


@pytest.mark.parametrize("mode", MODES)
def test_compiled_model_called_with_strided_mx_arrays(conv_model, mode, tmp_path):
    """mx.array() of a numpy view keeps its strides: the compiled model must still compute the right thing."""
    written = convert(conv_model, tmp_path, mode=mode, name="net")
    compiled = load_module_model(written.paths[0]) if mode == "module" else load_oplist_model(written.paths[0])
    for name, x in _layouts((1, 3, 6, 8)).items():
        if name == "negative_strides":
            with pytest.raises(ValueError, match="negative strides"):  # MLX itself refuses these
                mx.array(x)
            continue
        (want,) = run_ort(conv_model, {"x": np.ascontiguousarray(x)})
        (got,) = compiled(mx.array(x))
        assert_close(np.array(got), want, f"{mode} {name}")


def test_big_endian_input_is_converted_or_refused(conv_model):
    """onnxruntime converts a big-endian float32 array; we either match it or say why (InputError)."""
    x = np.random.default_rng(4).standard_normal((1, 3, 6, 8)).astype(">f4")
    (want,) = run_ort(conv_model, {"x": x})
    for mode in MODES:
        sess = InferenceSession(conv_model, mode=mode)
        try:
            (got,) = sess.run(None, {"x": x})
        except InputError as exc:
            assert ">f4" in str(exc)
            continue
        assert_close(got, want, mode)


def test_python_lists_and_scalars_are_typed_errors(conv_model):
    sess = InferenceSession(conv_model)
    with pytest.raises(InputError):
        sess.run(None, {"x": np.zeros((1, 3, 6, 8)).tolist()})  # float64 after np.asarray
    with pytest.raises(InputError):
        sess.run(None, {"x": 1.0})
    with pytest.raises(InputError):
        sess.run(None, [np.zeros((1, 3, 6, 8), np.float32)])  # type: ignore[arg-type]


# -- non-finite values -------------------------------------------------------------------------------------


def _special(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    idx = rng.permutation(flat.size)
    flat[idx[0::7]] = np.nan
    flat[idx[1::7]] = np.inf
    flat[idx[2::7]] = -np.inf
    return x


NONFINITE_CASES = {
    "Relu": lambda: build([node("Relu", ["x"])], {"x": _special((2, 3, 4, 5))}),
    "LeakyRelu": lambda: build([node("LeakyRelu", ["x"], alpha=0.1)], {"x": _special((2, 3, 4, 5))}),
    "Sigmoid": lambda: build([node("Sigmoid", ["x"])], {"x": _special((2, 3, 4, 5))}),
    "Clip": lambda: build(
        [node("Clip", ["x", "lo", "hi"])],
        {"x": _special((2, 3, 4, 5))},
        {"lo": np.array(-1, np.float32), "hi": np.array(1, np.float32)},
    ),
    "Add": lambda: build([node("Add", ["x", "z"])], {"x": _special((2, 3, 4, 5)), "z": _special((3, 1, 5), 1)}),
    "Mul": lambda: build([node("Mul", ["x", "z"])], {"x": _special((2, 3, 4, 5)), "z": _special((3, 1, 5), 1)}),
    "MaxPool": lambda: build(
        [node("MaxPool", ["x"], kernel_shape=[2, 2], strides=[2, 2])], {"x": _special((1, 3, 6, 6))}
    ),
    "MaxPool_padded": lambda: build(
        [node("MaxPool", ["x"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], {"x": _special((1, 3, 6, 6))}
    ),
    "AveragePool": lambda: build(
        [node("AveragePool", ["x"], kernel_shape=[2, 2], strides=[2, 2])], {"x": _special((1, 3, 6, 6))}
    ),
    "GlobalAveragePool": lambda: build([node("GlobalAveragePool", ["x"])], {"x": _special((1, 3, 6, 6))}),
    "Softmax": lambda: build([node("Softmax", ["x"], axis=-1)], {"x": _special((3, 4, 6))}),
    "Softmax_axis1": lambda: build([node("Softmax", ["x"], axis=1)], {"x": _special((2, 5, 3, 3))}),
    "Conv": lambda: build(
        [node("Conv", ["x", "w"], pads=[1, 1, 1, 1])],
        {"x": _special((1, 3, 6, 6))},
        {"w": np.random.default_rng(5).standard_normal((4, 3, 3, 3)).astype(np.float32)},
    ),
    "Conv_depthwise": lambda: build(
        [node("Conv", ["x", "w"], pads=[1, 1, 1, 1], group=3)],
        {"x": _special((1, 3, 6, 6))},
        {"w": np.random.default_rng(5).standard_normal((3, 1, 3, 3)).astype(np.float32)},
    ),
    "Conv_pointwise": lambda: build(
        [node("Conv", ["x", "w"])],
        {"x": _special((1, 3, 6, 6))},
        {"w": np.random.default_rng(5).standard_normal((4, 3, 1, 1)).astype(np.float32)},
    ),
    "Gemm": lambda: build(
        [node("Gemm", ["x", "w"], transB=1)],
        {"x": _special((4, 6))},
        {"w": np.random.default_rng(6).standard_normal((3, 6)).astype(np.float32)},
    ),
    "ReduceMean": lambda: build([node("ReduceMean", ["x"], axes=[1])], {"x": _special((3, 4, 5))}, opset=13),
    "BatchNormalization": lambda: build(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"])],
        {"x": _special((1, 3, 4, 4))},
        {
            "s": np.ones(3, np.float32),
            "b": np.zeros(3, np.float32),
            "m": np.zeros(3, np.float32),
            "v": np.ones(3, np.float32),
        },
    ),  # fmt: skip
    "Resize": lambda: build(
        [node("Resize", ["x", "", "s"], mode="linear")],
        {"x": _special((1, 2, 3, 3))},
        {"s": np.array([1, 1, 2, 2], np.float32)},
    ),
    "Max": lambda: build([node("Max", ["x", "z"])], {"x": _special((3, 4)), "z": _special((3, 4), 2)}),
}

# NaN/Inf semantics that differ from onnxruntime (xfail, strict): case -> reason.
_MAXPOOL_NAN = (
    "MaxPool lowerings (translator/lowering/ops/layout.py maxpool_nhwc, helpers/nn.py pool_nd) use mx.maximum, "
    "which propagates a NaN to every window holding it; onnxruntime's MaxPool keeps a running `if (v > max)` "
    "so a NaN counts only in some window positions: [nan, 1] -> 1, [2, nan] -> nan (onnx.reference: nan, 2)."
)
NONFINITE_DIVERGENCES: dict[str, str] = {
    "MaxPool": _MAXPOOL_NAN,
    "MaxPool_padded": _MAXPOOL_NAN,
    "Resize": "Ours multiplies only the taps an output reads (native.resize_axis, or the gathers of resize_nd); "
    "where a border output's taps clamp onto one input, their weights are summed into that input. onnxruntime keeps a "
    "zero-weight tap on the neighbour, so an Inf next to a border pixel gives NaN there (0 * inf): x=[1, inf, 2, 3], "
    "scale 2 -> onnxruntime [nan, inf, ...], ours [1, inf, ...]. Interior outputs agree, NaN and Inf included. "
    "(native=False lowers to a dense interpolation matrix, where a non-finite input spreads along its whole row.)",
}


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("case", sorted(NONFINITE_CASES))
def test_nonfinite_values_propagate_like_onnxruntime(case, optimize, request):
    if case in NONFINITE_DIVERGENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=NONFINITE_DIVERGENCES[case]))
    c = NONFINITE_CASES[case]()
    want = run_ort(c.model, c.feed)
    got = run_backends(c.model, c.feed, optimize=optimize)
    for mode in MODES:
        for g, w in zip(got[mode], want):
            assert_close(g, w, f"{case} {mode}")


def _max_pool_reference(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """IEEE max over each window, NaN propagating (numpy's np.max): the exact reference where onnxruntime's
    running `if (v > max)` depends on the NaN's position in the window."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(-2, -1))


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("case, k, stride, pad", [("MaxPool", 2, 2, 0), ("MaxPool_padded", 3, 1, 1)])
def test_max_pool_nonfinite_values_match_the_exact_reference(case, k, stride, pad, optimize):
    c = NONFINITE_CASES[case]()
    want = _max_pool_reference(c.feed["x"], k, stride, pad)
    got = run_backends(c.model, c.feed, optimize=optimize)
    for mode in MODES:
        assert_close(got[mode][0], want, f"{case} {mode} vs numpy")


def test_nonfinite_through_the_session(conv_model):
    x = _special((1, 3, 6, 8), 7)
    (want,) = run_ort(conv_model, {"x": x})
    for mode in MODES:
        (got,) = InferenceSession(conv_model, mode=mode).run(None, {"x": x})
        assert_close(got, want, mode)
