"""Helpers for the attention, recurrent, quantization and signal families."""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from . import helper


@helper
def scalar_value(v):
    """A run-time scalar (0-d or 1-element array, or Python number) as a Python number."""
    if isinstance(v, (int, float)):
        return v
    a = np.array(v).reshape(-1)
    return a[0].item()


@helper
def window_values(size, kind, periodic):
    """Hann/Hamming/Blackman window of `size` points as float64 numpy values."""
    n = np.arange(size, dtype=np.float64)
    denom = size if periodic else size - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        phase = 2.0 * np.pi * n / denom
        if kind == "hann":
            return np.sin(0.5 * phase) ** 2
        if kind == "hamming":
            alpha = 25.0 / 46.0
            return alpha - (1.0 - alpha) * np.cos(phase)
        return 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2.0 * phase)


@helper(uses=("scalar_value", "window_values"))
def signal_window(size, kind, periodic, dtype):
    """A window whose length is only known at run time."""
    values = window_values(int(scalar_value(size)), kind, periodic)
    return mx.array(values).astype(dtype)


@helper
def mel_weights(num_mel_bins, dft_length, sample_rate, lower_hz, upper_hz):
    """The (dft_length//2 + 1, num_mel_bins) triangular mel filter bank, float64 numpy.

    Arguments are numpy scalars; the edges keep their own precision so the bin
    boundaries (which are floored) come out as in the ONNX reference.
    """
    num_mel_bins, dft_length, sample_rate = int(num_mel_bins), int(dft_length), int(sample_rate)
    n_points = num_mel_bins + 2
    ln10 = np.log(10)
    lo_mel = 2595 * np.log1p(lower_hz / 700) / ln10
    hi_mel = 2595 * np.log1p(upper_hz / 700) / ln10
    mels = np.arange(n_points) * ((hi_mel - lo_mel) / n_points) + lo_mel
    hz = 700 * np.expm1(mels / 2595 * ln10)
    edges = (((dft_length + 1) * hz) // sample_rate).astype(np.int64)
    out = np.zeros((dft_length // 2 + 1, num_mel_bins))
    for i in range(num_mel_bins):
        left, center, right = (int(e) for e in edges[i : i + 3])
        if center == left:
            out[center, i] = 1.0
        else:
            j = np.arange(left, center + 1)
            out[j, i] = (j - left) / float(center - left)
        if right > center:
            j = np.arange(center, right)
            out[j, i] = (right - j) / float(right - center)
    return out


@helper(uses=("mel_weights",))
def mel_weight_matrix(num_mel_bins, dft_length, sample_rate, lower_hz, upper_hz, dtype):
    def num(v):
        return np.array(v).reshape(-1)[0]

    w = mel_weights(num(num_mel_bins), num(dft_length), num(sample_rate), num(lower_hz), num(upper_hz))
    return mx.array(w).astype(dtype)


@helper
def dft_last(re, im, n, mode):
    """DFT along the last axis in float64 by matmul with a cos/sin table.

    `re`/`im` (im may be None) are float64; mode is "fwd", "fwd_half" (one-sided
    output), "inv" (1/n-normalized inverse) or "irfft" (one-sided input, real output).
    Returns (real, imag) with imag None for "irfft".
    """
    m = n // 2 + 1 if mode == "irfft" else n
    length = re.shape[-1]
    if length > m:
        re = re[..., :m]
        im = None if im is None else im[..., :m]
    elif length < m:
        widths = [(0, 0)] * (re.ndim - 1) + [(0, m - length)]
        re = mx.pad(re, widths)
        im = None if im is None else mx.pad(im, widths)
    cols = n if mode in ("fwd", "inv", "irfft") else n // 2 + 1
    # the cos/sin table in numpy float64 (MLX's float64 cos/sin run at float32 precision)
    ang = (np.arange(m)[:, None] * np.arange(cols)[None, :] % n) * (2.0 * np.pi / n)
    cos, sin = np.cos(ang), np.sin(ang)
    if mode == "irfft":
        w = np.full((m, 1), 2.0 / n)
        w[0] = 1.0 / n
        if n % 2 == 0:
            w[-1] = 1.0 / n
        out = re @ mx.array(cos * w, dtype=mx.float64)
        if im is not None:
            out = out - im @ mx.array(sin * w, dtype=mx.float64)
        return out, None
    cos, sin = mx.array(cos, dtype=mx.float64), mx.array(sin, dtype=mx.float64)
    sign = 1.0 if mode == "inv" else -1.0
    yre, yim = re @ cos, (re @ sin) * sign
    if im is not None:
        yre = yre - (im @ sin) * sign
        yim = yim + im @ cos
    if mode == "inv":
        yre, yim = yre / n, yim / n
    return yre, yim


@helper(uses=("scalar_value", "dft_last"))
def dft_apply(x, length=None, axis=-2, inverse=False, onesided=False):
    """ONNX DFT on a (..., 1|2) real/complex-pair tensor along `axis`."""
    axis = int(scalar_value(axis)) % x.ndim
    re = mx.moveaxis(x[..., 0], axis, -1)
    im = mx.moveaxis(x[..., 1], axis, -1) if x.shape[-1] == 2 else None
    if im is None:
        re = re.astype(mx.float64)
    if length is None:
        n = 2 * (x.shape[axis] - 1) if (inverse and onesided) else x.shape[axis]
    else:
        n = int(scalar_value(length))
    mode = ("irfft" if onesided else "inv") if inverse else ("fwd_half" if onesided else "fwd")
    if im is None:  # real input: float64 DFT, as numpy computes it
        yre, yim = dft_last(re, im, n, mode)
    else:  # complex input: single-precision FFT (pocketfft, like numpy on complex64)
        sig = re.astype(mx.complex64) + 1j * im.astype(mx.complex64)
        if mode == "irfft":
            yre, yim = mx.fft.irfft(sig, n=n, axis=-1), None
        else:
            y = mx.fft.ifft(sig, n=n, axis=-1) if mode == "inv" else mx.fft.fft(sig, n=n, axis=-1)
            if mode == "fwd_half":
                y = y[..., : n // 2 + 1]
            yre, yim = mx.real(y), mx.imag(y)
    if yim is None:
        out = mx.expand_dims(yre, -1)
    else:
        out = mx.stack([yre, yim], axis=-1)
    return mx.moveaxis(out, -2, axis).astype(x.dtype)


@helper(uses=("scalar_value", "dft_last"))
def stft_apply(signal, frame_step, window=None, frame_length=None, onesided=True):
    """ONNX STFT: (B, L, 1|2) signal -> (B, frames, bins, 2)."""
    step = int(scalar_value(frame_step))
    if frame_length is not None:
        n = int(scalar_value(frame_length))
    elif window is not None:
        n = window.shape[0]
    else:
        n = signal.shape[1]
    frames = 1 + (signal.shape[1] - n) // step
    idx = mx.arange(frames)[:, None] * step + mx.arange(n)[None, :]
    framed = mx.take(signal, idx, axis=1)  # (B, frames, n, 1|2)
    if window is not None:
        framed = framed * window.astype(signal.dtype)[:, None]
    re = framed[..., 0].astype(mx.float64)
    im = framed[..., 1].astype(mx.float64) if signal.shape[-1] == 2 else None
    yre, yim = dft_last(re, im, n, "fwd_half" if onesided else "fwd")
    return mx.stack([yre, yim], axis=-1).astype(signal.dtype)


@helper
def nms_select(boxes, scores, max_per_class=None, iou_threshold=None, score_threshold=None, center_point_box=0):
    """ONNX NonMaxSuppression (greedy, per batch and class) -> (k, 3) int64 indices."""
    b = np.array(boxes)
    s = np.array(scores)

    def first(v):
        if v is None:
            return None
        a = np.array(v).reshape(-1)
        return a[0] if a.size else None

    limit = first(max_per_class)
    limit = 0 if limit is None else max(int(limit), 0)
    thr = first(iou_threshold)
    thr = b.dtype.type(0) if thr is None else thr
    score_thr = first(score_threshold)
    if center_point_box:
        half_w, half_h = b[..., 2] / 2, b[..., 3] / 2
        x0, x1 = b[..., 0] - half_w, b[..., 0] + half_w
        y0, y1 = b[..., 1] - half_h, b[..., 1] + half_h
    else:
        x0, x1 = np.minimum(b[..., 1], b[..., 3]), np.maximum(b[..., 1], b[..., 3])
        y0, y1 = np.minimum(b[..., 0], b[..., 2]), np.maximum(b[..., 0], b[..., 2])
    area = (x1 - x0) * (y1 - y0)
    picked = []
    for bi in range(s.shape[0]):
        for ci in range(s.shape[1]):
            sc = s[bi, ci]
            cand = np.arange(sc.shape[0])
            if score_thr is not None:
                cand = cand[sc[cand] > score_thr]
            # highest score first; equal scores keep the lower box index first
            cand = cand[np.lexsort((cand, -sc[cand].astype(np.float64)))]
            kept = 0
            while cand.size and kept < limit:
                top, rest = cand[0], cand[1:]
                picked.append((bi, ci, int(top)))
                kept += 1
                iw = np.minimum(x1[bi, top], x1[bi, rest]) - np.maximum(x0[bi, top], x0[bi, rest])
                ih = np.minimum(y1[bi, top], y1[bi, rest]) - np.maximum(y0[bi, top], y0[bi, rest])
                inter = iw * ih
                union = area[bi, top] + area[bi, rest] - inter
                with np.errstate(divide="ignore", invalid="ignore"):
                    iou = inter / union
                overlap = (iw > 0) & (ih > 0) & (inter > 0) & (area[bi, top] > 0) & (area[bi, rest] > 0)
                overlap &= (union > 0) & (iou > thr)
                cand = rest[~overlap]
    return mx.array(np.array(picked, dtype=np.int64).reshape(-1, 3))
