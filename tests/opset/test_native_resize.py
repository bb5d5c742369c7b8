"""native.resize_axis (one axis of a linear/cubic Resize from its tap maps) against a numpy reference of the
same sum, on the C++ kernel and on its MLX fallback; ONNX-level parity is in tests/translator/test_resize_matrix.py."""

from __future__ import annotations

from opset import native
from opset.helpers import nn as nnh

import mlx.core as mx
import numpy as np
import pytest

RNG = np.random.default_rng(11)


def _reference(x: np.ndarray, axis: int, idx: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """sum_t coeffs[j, t] * x[..., clip(idx[j, t]), ...] in float64."""
    idx = np.clip(idx, 0, x.shape[axis] - 1)
    g = np.take(x.astype(np.float64), idx.reshape(-1), axis=axis)
    g = g.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1 :])
    w = coeffs.astype(np.float64).reshape(idx.shape + (1,) * (x.ndim - axis - 1))
    return (g * w).sum(axis=axis + 1)


def _maps(n_in: int, n_out: int, taps: int) -> tuple[np.ndarray, np.ndarray]:
    return RNG.integers(0, n_in, (n_out, taps)).astype(np.int32), RNG.standard_normal((n_out, taps)).astype(np.float32)


@pytest.mark.parametrize("taps", [1, 2, 3, 4])
@pytest.mark.parametrize("axis", [0, 1, 2, 3])
def test_resize_axis_matches_the_sum_of_its_taps(path, axis, taps):
    shape = (2, 5, 7, 3)
    x = RNG.standard_normal(shape).astype(np.float32)
    idx, coeffs = _maps(shape[axis], 9, taps)
    got = native.resize_axis(mx.array(x), axis, mx.array(idx), mx.array(coeffs))
    np.testing.assert_allclose(np.array(got), _reference(x, axis, idx, coeffs), rtol=1e-5, atol=1e-5)


def test_resize_axis_reads_strided_views(path):
    # a transposed view: the kernel must read it through its strides (mx.contiguous), not as raw memory
    x = RNG.standard_normal((4, 6, 33)).astype(np.float32)
    view = mx.transpose(mx.array(x), (2, 0, 1))
    idx, coeffs = _maps(6, 13, 2)
    got = native.resize_axis(view, -1, mx.array(idx), mx.array(coeffs))
    np.testing.assert_allclose(np.array(got), _reference(x.transpose(2, 0, 1), 2, idx, coeffs), rtol=1e-5, atol=1e-5)


def test_out_of_range_indices_are_clamped_not_read(path):
    # an op list is data: a hand-edited map must not read outside the axis
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([[-7, 0], [3, 99]], np.int32)
    coeffs = np.array([[1.0, 0.5], [2.0, -1.0]], np.float32)
    got = np.array(native.resize_axis(mx.array(x), 1, mx.array(idx), mx.array(coeffs)))
    want = np.stack([1.5 * x[:, 0], 2.0 * x[:, 3] - x[:, 3]], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_bilinear_upsampling_by_eight_matches_the_onnx_maps(path):
    # BiSeNet's head: 64 -> 512 along H then W (half_pixel), on a map large enough to split over threads
    x = RNG.standard_normal((1, 19, 64, 64)).astype(np.float32)
    idx, coeffs, _ = nnh.resize_axis_map(64, 512, 8.0, "linear", "half_pixel")
    i, c = mx.array(idx.astype(np.int32)), mx.array(coeffs.astype(np.float32))
    y = native.resize_axis(native.resize_axis(mx.array(x), 3, i, c), 2, i, c)
    want = _reference(_reference(x, 3, idx, coeffs), 2, idx, coeffs)
    np.testing.assert_allclose(np.array(y), want, rtol=1e-5, atol=1e-5)


def test_non_finite_values_stay_in_the_outputs_whose_taps_read_them(path):
    x = np.array([[1.0, np.inf, 2.0, 3.0, 4.0, 5.0]], np.float32)
    idx = np.array([[0, 1], [2, 3], [4, 5]], np.int32)
    coeffs = np.full((3, 2), 0.5, np.float32)
    got = np.array(native.resize_axis(mx.array(x), 1, mx.array(idx), mx.array(coeffs)))
    np.testing.assert_array_equal(got, [[np.inf, 2.5, 4.5]])


@pytest.mark.skipif(not native.available(), reason="the C++ kernel's own argument checks")
def test_bad_maps_are_refused_with_a_clear_error():
    x = mx.zeros((2, 3))
    with pytest.raises(ValueError, match="share one"):
        native._ext.resize_axis(x, 1, mx.zeros((4, 2), mx.int32), mx.zeros((4, 3)))
    with pytest.raises(ValueError, match="int32"):
        native._ext.resize_axis(x, 1, mx.zeros((4, 2)), mx.zeros((4, 2)))
    with pytest.raises(ValueError, match="axis"):
        native._ext.resize_axis(x, 2, mx.zeros((4, 2), mx.int32), mx.zeros((4, 2)))
