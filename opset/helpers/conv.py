"""Channels-last conv and pool kernels built from MLX ops (used by ops/layout.py).

On the MLX CPU backend `groups > 1` convs run a scalar reference loop and 1x1
convs pay for padding and im2col copies; these spell out the cheap forms.
"""

from __future__ import annotations

import mlx.core as mx

from . import helper


@helper
def depthwise_conv(x, taps, stride=(1, 1), dilation=(1, 1), out_hw=None):
    """Depthwise conv of a padded NHWC `x` as shifted multiply-adds; taps: (kh, kw, C)."""
    kh, kw = taps.shape[0], taps.shape[1]
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    y = None
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            win = x[:, r : r + sh * (ho - 1) + 1 : sh, c : c + sw * (wo - 1) + 1 : sw]
            y = win * taps[i, j] if y is None else y + win * taps[i, j]
    return y


@helper
def shifted_gemm_conv3x3(x, weights, bias, out_hw):
    """3x3 stride-1 conv as nine GEMMs on shifted windows of the flattened padded input.

    `x` is padded with one spare row at the bottom, so every window of
    length Ho*Wp stays inside the flattened array and is a contiguous slice (no
    im2col copy); the Wp - Wo garbage columns per row are dropped at the end.
    weights: (3, 3, C, O); bias: (O,).
    """
    n, hp, wp, c = x.shape
    ho, wo = out_hw
    flat = mx.reshape(x, (n, hp * wp, c))
    length = ho * wp
    y = bias
    for i in range(3):
        for j in range(3):
            off = i * wp + j
            # matmul + add: measured ~100x faster than chaining mx.addmm on the MLX CPU
            y = y + flat[:, off : off + length] @ weights[i, j]
    y = mx.reshape(y, (n, ho, wp, -1))
    return y[:, :, :wo] if wp != wo else y
