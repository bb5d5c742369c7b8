"""Exact references for the integer (quantized) ops, where onnxruntime cannot be the oracle.

onnxruntime's u8 x s8 integer GEMM (MLAS) depends on the CPU: without VNNI (AVX2-only CPUs, and AVX-512
ones without VNNI) it multiplies with vpmaddubsw, which saturates each pair of products to int16, so
MatMulInteger of a = [217, 163] and b = [-59, -124] gives -32768 there instead of -33015 (reproduced
under `qemu-x86_64 -cpu Haswell`, docs/portability.md). The same kernel serves QLinearMatMul,
QLinearConv and ConvInteger with int8 weights. These references compute in int64 with numpy, which
is what the ONNX specification defines, on every machine.
"""

from __future__ import annotations

import numpy as np


def _minus(x, zero_point) -> np.ndarray:
    x = np.asarray(x, np.int64)
    return x if zero_point is None else x - np.asarray(zero_point, np.int64)


def matmul_integer(a, b, a_zero_point=None, b_zero_point=None) -> np.ndarray:
    """ONNX MatMulInteger: (a - a_zp) @ (b - b_zp) in int64, returned as int32 (per-tensor zero points,
    or a per-row zero point of `a` as a 1-D array: one value per row)."""
    azp = a_zero_point
    if azp is not None and np.ndim(azp) == 1 and np.size(azp) > 1:
        azp = np.asarray(azp).reshape(-1, 1)
    y = np.matmul(_minus(a, azp), _minus(b, b_zero_point))
    assert np.all(np.abs(y) < 2**31), "MatMulInteger's int32 result overflowed"
    return y.astype(np.int32)


def requantize(acc: np.ndarray, scale: np.float32, zero_point, dtype) -> np.ndarray:
    """saturate(round_half_even(acc * scale) + zero_point), the multiply in float32 as the spec's own
    reference and onnxruntime do (acc is exact in float32 below 2**24, which the callers check)."""
    assert np.all(np.abs(acc) < 2**24), "accumulator not exact in float32"
    y = np.rint(acc.astype(np.float32) * np.float32(scale)).astype(np.int64)
    y = y + np.asarray(zero_point, np.int64)
    info = np.iinfo(dtype)
    return np.clip(y, info.min, info.max).astype(dtype)


def qlinear_matmul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) -> np.ndarray:
    """ONNX QLinearMatMul with per-tensor scales: the exact integer product, requantized to y's type."""
    acc = np.matmul(_minus(a, a_zero_point), _minus(b, b_zero_point))
    scale = np.float32(a_scale) * np.float32(b_scale) / np.float32(y_scale)
    return requantize(acc, scale, y_zero_point, np.asarray(y_zero_point).dtype)
