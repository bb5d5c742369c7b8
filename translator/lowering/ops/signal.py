"""Signal lowerings: windows, DFT, STFT, MelWeightMatrix.

Windows and the mel filter bank are computed at translation time when their
scalar inputs are constant, else by a helper at run time (their output shape
depends on the input values). DFT/STFT call MLX's FFT through helpers.
"""

from __future__ import annotations

from opset.helpers.extra import mel_weights, window_values
from opset.program import DType, Ref

import numpy as np

from ..context import LowerCtx, dtype_name
from ..registry import lowering
from .quant import MLX_DTYPES


def _out_dtype(ctx: LowerCtx, default: int = 1) -> np.dtype:
    from onnx import helper

    dt = np.dtype(helper.tensor_dtype_to_np_dtype(int(ctx.attr("output_datatype", default))))
    if dt.name not in MLX_DTYPES:
        ctx.fail(f"output type {dt.name} is not representable in MLX")
    return dt


def _scalar_const(ctx: LowerCtx, i: int):
    v = ctx.const(i)
    return None if v is None else np.asarray(v).reshape(-1)[0]


def _window(ctx: LowerCtx, kind: str) -> Ref:
    dt = _out_dtype(ctx)
    periodic = bool(ctx.attr("periodic", 1))
    size = _scalar_const(ctx, 0)
    if size is not None:
        values = window_values(int(size), kind, periodic)
        if dt.kind == "f" and dt.name != "bfloat16":
            return ctx.constant(values.astype(dt), "window")
        return ctx.cast(ctx.constant(values.astype(np.float32), "window"), dt)
    return ctx.call("signal_window", ctx.input(0), kind, periodic, DType(dtype_name(dt)))


@lowering("HannWindow", since=17)
def hann_window(ctx: LowerCtx) -> Ref:
    return _window(ctx, "hann")


@lowering("HammingWindow", since=17)
def hamming_window(ctx: LowerCtx) -> Ref:
    return _window(ctx, "hamming")


@lowering("BlackmanWindow", since=17)
def blackman_window(ctx: LowerCtx) -> Ref:
    return _window(ctx, "blackman")


@lowering("MelWeightMatrix", since=17)
def mel_weight_matrix(ctx: LowerCtx) -> Ref:
    dt = _out_dtype(ctx)
    consts = [ctx.const(i) for i in range(5)]
    if all(c is not None for c in consts):
        first = [np.asarray(c).reshape(-1)[0] for c in consts]
        w = mel_weights(*first)
        if dt.kind == "f" and dt.name != "bfloat16":
            return ctx.constant(w.astype(dt), "mel")
        return ctx.cast(ctx.constant(w.astype(np.float32), "mel"), dt)
    return ctx.call("mel_weight_matrix", *[ctx.input(i) for i in range(5)], DType(dtype_name(dt)))


def _dft_common(ctx: LowerCtx, axis) -> Ref:
    if ctx.dtype(0).name not in ("float16", "float32", "float64", "bfloat16"):
        ctx.fail(f"input type {ctx.dtype(0).name} is not supported")
    length = None
    if ctx.has_input(1):
        c = _scalar_const(ctx, 1)
        length = int(c) if c is not None else ctx.input(1)
    inverse = bool(ctx.attr("inverse", 0))
    onesided = bool(ctx.attr("onesided", 0))
    return ctx.call("dft_apply", ctx.input(0), length, axis, inverse, onesided)


@lowering("DFT", since=17)
def dft_17(ctx: LowerCtx) -> Ref:
    return _dft_common(ctx, int(ctx.attr("axis", 1)))


@lowering("DFT", since=20)
def dft_20(ctx: LowerCtx) -> Ref:
    axis = -2
    if ctx.has_input(2):
        c = _scalar_const(ctx, 2)
        axis = int(c) if c is not None else ctx.input(2)
    return _dft_common(ctx, axis)


@lowering("STFT", since=17)
def stft(ctx: LowerCtx) -> Ref:
    if ctx.rank(0) != 3:
        ctx.fail("signal must be 3-D (batch, length, 1|2)")
    step = _scalar_const(ctx, 1)
    step = int(step) if step is not None else ctx.input(1)
    window = ctx.input(2) if ctx.has_input(2) else None
    length = None
    if ctx.has_input(3):
        c = _scalar_const(ctx, 3)
        length = int(c) if c is not None else ctx.input(3)
    return ctx.call("stft_apply", ctx.input(0), step, window, length, bool(ctx.attr("onesided", 1)))
