"""Fixtures of the op-set tests."""

from __future__ import annotations

from opset import native

import pytest


@pytest.fixture(params=["kernel", "fallback"])
def path(request, monkeypatch):
    """Runs a test on the C++ kernel and again on opset.native's MLX fallback (the extension hidden)."""
    if request.param == "kernel":
        if not native.available():
            pytest.skip(f"native kernels unavailable: {native.UNAVAILABLE_REASON}")
    else:
        monkeypatch.setattr(native, "_ext", None)
    return request.param
