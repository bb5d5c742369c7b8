"""native.instance_norm (ONNX InstanceNormalization of (N, C, spatial...) planes) against a float64 numpy
reference, on the C++ kernel and on its MLX fallback; ONNX-level parity with onnxruntime is in the node tests
and tests/properties/test_norm_chains.py."""

from __future__ import annotations

from opset import native

import mlx.core as mx
import numpy as np
import pytest

RNG = np.random.default_rng(5)


def _reference(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x64 = x.astype(np.float64)
    axes = tuple(range(2, x.ndim))
    mean = x64.mean(axis=axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    return (x64 - mean) / np.sqrt(var + eps) * scale.reshape(per_channel) + bias.reshape(per_channel)


def _run(x: np.ndarray, scale, bias, eps: float, channels_last: bool) -> np.ndarray:
    """native.instance_norm on NC<spatial> x, or on its channels-last transpose (and back)."""
    if not channels_last:
        return np.array(native.instance_norm(mx.array(x), mx.array(scale), mx.array(bias), eps))
    to_last = (0, *range(2, x.ndim), 1)
    xl = mx.array(np.ascontiguousarray(x.transpose(to_last)))
    y = np.array(native.instance_norm(xl, mx.array(scale), mx.array(bias), eps, channels_last=True))
    return y.transpose(np.argsort(to_last))


LAYOUTS = pytest.mark.parametrize("channels_last", [False, True], ids=["planes", "channels_last"])


@LAYOUTS
@pytest.mark.parametrize(
    "shape", [(1, 3, 5), (2, 4, 7, 9), (1, 8, 64, 104), (2, 3, 2, 3, 4), (1, 2, 1), (2, 19, 33, 17), (1, 5, 300, 7)]
)
def test_instance_norm_matches_the_float64_reference(path, shape, channels_last):
    x = (RNG.standard_normal(shape) * 3 + 1).astype(np.float32)
    scale, bias = RNG.standard_normal(shape[1]).astype(np.float32), RNG.standard_normal(shape[1]).astype(np.float32)
    got = _run(x, scale, bias, 1e-5, channels_last)
    np.testing.assert_allclose(got, _reference(x, scale, bias, 1e-5), rtol=1e-4, atol=1e-5)


@LAYOUTS
def test_a_large_mean_does_not_cancel_the_deviations(path, channels_last):
    # planes of 1000 + N(0, 0.01^2): a float32 mean (ulp 6e-5) or x * a + (b - m * a) at |x * a| ~ 1e5 would
    # shift every output by ~1e-3 or more
    x = (1000 + 0.01 * RNG.standard_normal((1, 2, 96, 96))).astype(np.float32)
    ones, zeros = np.ones(2, np.float32), np.zeros(2, np.float32)
    got = _run(x, ones, zeros, 1e-9, channels_last)
    np.testing.assert_allclose(got, _reference(x, ones, zeros, 1e-9), rtol=0, atol=1e-4)


@LAYOUTS
def test_a_constant_plane_gives_the_bias(path, channels_last):
    x = np.full((1, 2, 4, 4), 7.0, np.float32)
    got = _run(x, np.ones(2, np.float32), np.array([0.5, -2.0], np.float32), 1e-5, channels_last)
    np.testing.assert_array_equal(got, np.broadcast_to(np.array([0.5, -2.0], np.float32)[None, :, None, None], x.shape))


@pytest.mark.skipif(not native.available(), reason="the C++ kernel's own argument checks")
def test_bad_arguments_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="rank|spatial"):
        native._ext.instance_norm(mx.zeros((2, 3)), mx.ones((3,)), mx.zeros((3,)), 1e-5)
    with pytest.raises(ValueError, match="C = x.shape"):
        native._ext.instance_norm(mx.zeros((1, 3, 4)), mx.ones((2,)), mx.zeros((3,)), 1e-5)
    with pytest.raises(ValueError, match=r"C = x.shape\[-1\]"):
        native._ext.instance_norm(mx.zeros((1, 3, 4)), mx.ones((3,)), mx.zeros((3,)), 1e-5, channels_last=True)
