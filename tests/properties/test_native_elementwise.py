"""The native sigmoid and last-axis softmax (opset/native) against float64 numpy, over generated arrays.

The oracle is numpy in float64 rather than onnxruntime: onnxruntime's sigmoid is itself an approximation
(measured: relative error 7e-4 at x = -9.9, and 0 for sigmoid(-24.4), whose value is 2.5e-11). Values
include the extremes the vectorized exp clamps (+-100, +-inf) and NaN; arrays come contiguous or as
transposed views, run eagerly or inside mx.compile, on every instruction set this CPU runs.
"""

from __future__ import annotations

import os

from opset import native

import mlx.core as mx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.properties.conftest import scaled
from tests.properties.test_native_kernels import ISAS, use_isa

pytestmark = pytest.mark.skipif(
    not native.available() and not os.environ.get("CI"),
    reason=f"native kernels not built here: {native.UNAVAILABLE_REASON}",
)

SPECIAL = [0.0, 100.0, -100.0, 88.7, -88.7, np.inf, -np.inf, np.nan]


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(1, 40), min_size=1, max_size=4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 10.0]))).astype(np.float32)
    if draw(st.booleans()):  # sprinkle special values
        flat = x.reshape(-1)
        for i in draw(st.lists(st.integers(0, flat.size - 1), max_size=4)):
            flat[i] = draw(st.sampled_from(SPECIAL))
    return {"x": x, "view": draw(st.booleans()) and x.ndim > 1, "run": draw(st.sampled_from(["eager", "compile"]))}


def _reference(op: str, x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if op == "Sigmoid":
            return 1.0 / (1.0 + np.exp(-x64))
        e = np.exp(x64 - np.max(x64, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)


def _check(case, op: str, fn) -> None:
    x = case["x"]
    if case["view"]:  # the kernel sees x.T's values through a transposed view of a contiguous buffer
        held = mx.array(np.ascontiguousarray(x.T))
        xa = mx.transpose(held, tuple(reversed(range(x.ndim))))
    else:
        xa = mx.array(x)
    want = _reference(op, x)
    for isa in ISAS:
        with use_isa(isa):
            f = fn if case["run"] == "eager" else mx.compile(fn)
            got = np.array(f(xa))
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7, equal_nan=True, err_msg=isa)


@scaled(2)
@given(case=arrays())
def test_sigmoid_matches_onnxruntime(case):
    _check(case, "Sigmoid", native.sigmoid)


@scaled(2)
@given(case=arrays())
def test_softmax_matches_onnxruntime(case):
    _check(case, "Softmax", native.softmax)


def test_softmax_off_the_last_axis():
    """Other axes go to MLX's softmax; still the softmax over that axis."""
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    e = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(np.array(native.softmax(mx.array(x), axis=1)), e / e.sum(axis=1, keepdims=True),
                               rtol=2e-6, atol=1e-7)  # fmt: skip
