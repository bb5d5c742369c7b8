"""opset.native.borrow: numpy inputs read by MLX in place, and what must never follow from that.

The oracles: the same computation on a copy (mx.array), numpy's own arithmetic, and the caller's array
compared with a snapshot taken before the run (MLX must never write a borrowed buffer).
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref

from opset import native
from runtime.session import InferenceSession

import mlx.core as mx
import numpy as np
import pytest
from onnx import helper

from tests.util import make_model, run_ort

pytestmark = pytest.mark.skipif(not native.available(), reason=f"native kernels: {native.UNAVAILABLE_REASON}")


@pytest.fixture(autouse=True)
def borrowing(monkeypatch):
    """Borrowing on, whatever MLX_UNIFACE_BORROW said when the module first looked."""
    monkeypatch.setattr(native, "_borrow_ok", True)


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8", "int8", "int32", "int64"])
def test_borrowed_array_reads_the_numpy_memory(dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 7 - 3).astype(dtype) if dtype != "uint8" else np.arange(24, dtype=np.uint8)
    before = x.copy()
    view = native._ext.borrow(x, x)
    assert view is not None and view.dtype == mx.array(x).dtype and tuple(view.shape) == x.shape
    np.testing.assert_array_equal(np.array(view), x)
    np.testing.assert_array_equal(np.array(view * 2 + 1), x * 2 + 1)  # an op that could reuse its input buffer
    np.testing.assert_array_equal(x, before)  # ... never a borrowed one


def test_unsupported_arrays_are_copied():
    base = np.arange(40, dtype=np.float32).reshape(5, 8)
    cases = {
        "float64": base.astype(np.float64),
        "bool": base > 3,
        "not contiguous": base[:, ::2],
        "foreign memory": np.frombuffer(bytearray(base.tobytes()), dtype=np.float32),
        "empty": base[:0],
    }
    for name, a in cases.items():
        assert not native._borrowable(a), name
        np.testing.assert_array_equal(np.array(native.borrow(a)), np.array(mx.array(a)), err_msg=name)
    assert native._borrowable(base[1:])  # a view inside numpy's own allocation is fine


def test_owner_is_released_once_mlx_drops_the_buffer():
    gc.collect()
    native.release_borrowed()  # what earlier tests left
    x = np.ones((64, 64), dtype=np.float32)
    alive = weakref.ref(x)
    refs = sys.getrefcount(x)
    y = native.borrow(x)
    assert sys.getrefcount(x) == refs + 1
    mx.eval(mx.sum(y))
    assert native.release_borrowed() == 0  # still in use
    del y
    gc.collect()
    assert native.release_borrowed() == 1
    assert sys.getrefcount(x) == refs
    del x
    assert alive() is None


def test_the_fallback_without_the_extension_copies(monkeypatch):
    x = np.arange(6, dtype=np.float32)
    monkeypatch.setattr(native, "_ext", None)
    np.testing.assert_array_equal(np.array(native.borrow(x)), x)
    assert native.release_borrowed() == 0


# -- through InferenceSession, the caller that borrows ---------------------------------------------------


def _add_one_model():
    nodes = [helper.make_node("Add", ["x", "one"], ["y"]), helper.make_node("Identity", ["x"], ["same"])]
    return make_model(
        nodes, [("x", np.float32, [2, 3])], [("y", np.float32, [2, 3]), ("same", np.float32, [2, 3])],
        {"one": np.ones((2, 3), dtype=np.float32)},
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["module", "oplist"])
def test_session_leaves_the_input_alone_and_releases_it(mode):
    model = _add_one_model()
    sess = InferenceSession(model, mode=mode)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    before = x.copy()
    alive = weakref.ref(x)
    y, same = sess.run(None, {"x": x})
    want_y, want_same = run_ort(model, {"x": before})
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(same, want_same)
    np.testing.assert_array_equal(x, before)
    same += 100  # the output is the caller's own array, never the input's memory
    np.testing.assert_array_equal(x, before)
    sess.run(None, {"x": np.zeros((2, 3), dtype=np.float32)})  # releases what the last run's outputs held
    del x, y, same
    gc.collect()
    native.release_borrowed()
    assert alive() is None


def test_sessions_in_threads_borrow_their_own_inputs():
    model = _add_one_model()
    sess = InferenceSession(model, mode="module")
    errors = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            x = rng.standard_normal((2, 3)).astype(np.float32)
            y, _ = sess.run(None, {"x": x})
            if not np.array_equal(y, x + 1):
                errors.append(seed)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
