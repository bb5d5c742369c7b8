"""Helpers for the elementwise op family (see opset/helpers/__init__.py)."""

from __future__ import annotations

import mlx.core as mx

from . import helper


@helper
def int_trunc_divide(a, b):
    """Signed integer division rounding toward zero (C / ONNX Div).

    A divisor of -1 is handled apart: INT_MIN // -1 traps (SIGFPE) on x86.
    """
    minus_one = mx.equal(b, -1)
    safe = mx.where(minus_one, 1, b).astype(b.dtype)
    q = mx.floor_divide(a, safe)
    r = mx.remainder(a, safe)
    fix = mx.logical_and(mx.not_equal(r, 0), mx.logical_xor(mx.less(a, 0), mx.less(safe, 0)))
    q = mx.add(q, fix.astype(q.dtype))
    return mx.where(minus_one, mx.negative(a), q)


@helper
def int_safe_remainder(a, b):
    """Python-style integer remainder (sign of the divisor); x % -1 == 0 without trapping."""
    safe = mx.where(mx.equal(b, -1), 1, b).astype(b.dtype)
    return mx.remainder(a, safe)


@helper
def c_fmod(a, b):
    """C fmod: the remainder takes the sign of the dividend (ONNX Mod with fmod=1)."""
    if mx.issubdtype(b.dtype, mx.signedinteger):
        b = mx.where(mx.equal(b, -1), 1, b).astype(b.dtype)
    r = mx.remainder(a, b)
    fix = mx.logical_and(mx.not_equal(r, 0), mx.not_equal(mx.less(r, 0), mx.less(a, 0)))
    r = mx.where(fix, mx.subtract(r, b), r)
    if mx.issubdtype(r.dtype, mx.floating):
        # fmod(finite, +-inf) is the dividend (the floored remainder gives +-inf or nan there)
        r = mx.where(mx.logical_and(mx.isinf(b), mx.isfinite(a)), a, r)
    return r


@helper
def bit_view(x, src_dtype, dtype):
    """ONNX BitCast between types of the same width: reinterpret the bytes.

    `x` is first made `src_dtype` (its declared type) so that an array that reached us in
    another type (e.g. float64 fed as float32) is not reinterpreted at the wrong width.
    """
    if x.dtype != src_dtype:
        x = x.astype(src_dtype)
    return mx.view(x, dtype)
