"""Choosing the kernel table: a forced table the CPU cannot run is reported, never silently replaced."""

from __future__ import annotations

import os
import subprocess
import sys

from opset import native

import pytest


@pytest.mark.skipif(not native.available(), reason="the extension is not built (tests/runtime/test_native.py)")
def test_an_unknown_forced_table_is_reported_not_silently_replaced():
    env = dict(os.environ, MLX_UNIFACE_ISA="no-such-table")
    code = "from opset import native; print(native.isa())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MLX_UNIFACE_ISA='no-such-table' is not a kernel table this CPU runs" in done.stderr
    assert done.stdout.strip() == native._ext.available_isas()[0]


@pytest.mark.skipif(not native.available(), reason="the extension is not built (tests/runtime/test_native.py)")
def test_a_runnable_forced_table_is_used_quietly():
    table = native._ext.available_isas()[-1]
    env = dict(os.environ, MLX_UNIFACE_ISA=table)
    code = "from opset import native; print(native.isa())"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == table
