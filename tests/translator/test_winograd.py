"""Dense 3x3 stride-1 convs run as Winograd in native translations: the tile choice, `--tune`, parity."""

from __future__ import annotations

from opset import native
from translator import translate
from translator.lowering.ops.layout import winograd_tile

import numpy as np
import pytest
from onnx import helper

from tests.util import assert_matches_ort, make_model, run_mlx, run_ort

needs_native = pytest.mark.skipif(
    not native.available(), reason=f"native kernels not built: {native.UNAVAILABLE_REASON}"
)


def _conv_model(c_in: int, c_out: int, size: int, stride: int = 1):
    rng = np.random.default_rng(c_in * c_out + size)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[stride, stride]),
             helper.make_node("Relu", ["c"], ["y"])]  # fmt: skip
    inits = {"w": (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32),
             "b": rng.standard_normal(c_out).astype(np.float32)}  # fmt: skip
    out = (size - 1) // stride + 1
    return make_model(
        nodes, [("x", np.float32, [1, c_in, size, size])], [("y", np.float32, [1, c_out, out, out])], inits
    )


def _winograd_args(t) -> list:
    return [c.kwargs.get("winograd", 0) for c in t.program.calls if c.fn == "native_conv2d"]


@pytest.mark.parametrize(
    "w_shape,strides,out_hw,tile",
    [((64, 3, 3, 64), (1, 1), (80, 80), 4), ((64, 3, 3, 64), (1, 1), (20, 20), 4),
     ((64, 3, 3, 64), (1, 1), (10, 10), 2), ((64, 3, 3, 64), (1, 1), (4, 4), 0),
     ((64, 3, 3, 64), (2, 2), (80, 80), 0), ((64, 1, 1, 64), (1, 1), (80, 80), 0),
     ((2, 3, 3, 64), (1, 1), (80, 80), 0), ((64, 3, 3, 3), (1, 1), (80, 80), 0),
     ((16, 3, 3, 16), (1, 1), (None, None), 4)],
)  # fmt: skip
def test_tile_choice(w_shape, strides, out_hw, tile, monkeypatch):
    """F(4x4) on large maps, F(2x2) on small ones, the direct GEMM where the transforms cannot pay off."""
    monkeypatch.delenv("MLX_UNIFACE_WINOGRAD", raising=False)
    assert winograd_tile(w_shape, strides, out_hw) == tile


@needs_native
@pytest.mark.parametrize("size,tile", [(24, 4), (8, 2)])
def test_translation_uses_winograd_and_matches_onnxruntime(size, tile, tmp_path, monkeypatch):
    monkeypatch.delenv("MLX_UNIFACE_WINOGRAD", raising=False)
    m = _conv_model(16, 24, size)
    assert _winograd_args(translate(m, native=True)) == [tile]
    x = np.random.default_rng(1).standard_normal((1, 16, size, size)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=5e-5, rtol=1e-5, native=True)


@needs_native
def test_switch_forces_the_direct_conv(monkeypatch):
    monkeypatch.setenv("MLX_UNIFACE_WINOGRAD", "0")
    assert _winograd_args(translate(_conv_model(16, 24, 24), native=True)) == [0]


@needs_native
def test_tune_times_winograd_against_the_direct_conv(tmp_path):
    """--tune records its pick (direct, F(2x2) or F(4x4)) in the node; whichever it is, the result matches."""
    m = _conv_model(16, 24, 24)
    t = translate(m, native=True, tune=True)
    [tile] = _winograd_args(t)
    assert tile in (0, 2, 4)
    x = np.random.default_rng(2).standard_normal((1, 16, 24, 24)).astype(np.float32)
    # one mode: each translation tunes afresh, and two could pick different tiles
    got = run_mlx(m, {"x": x}, "oplist", tmp_path, native=True, tune=True)[0]
    np.testing.assert_allclose(got, run_ort(m, {"x": x})[0], atol=5e-5, rtol=1e-5)
