"""A translated model used from several threads at once gives what it gives from one thread.

Both back ends; a static-shape session shared by threads, a dynamic-shape session
whose first calls (each one translates, writes and imports a new shape) race each
other, and several sessions sharing one cache directory.
"""

from __future__ import annotations

import threading

from runtime.session import InferenceSession

import numpy as np
import pytest

from tests.properties.harness import assert_close, run_ort
from tests.properties.strategies import build, node

MODES = ("module", "oplist")
THREADS = 4


def _net(dynamic: bool = False):
    rng = np.random.default_rng(0)
    inits = {
        "w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3, "b": rng.standard_normal(8).astype(np.float32),
        "wd": rng.standard_normal((8, 1, 3, 3)).astype(np.float32) * 0.3, "s": np.array([1, 1, 2, 2], np.float32),
    }  # fmt: skip
    nodes = [
        node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        node("LeakyRelu", ["c"], ["r"], alpha=0.1),
        node("Conv", ["r", "wd"], ["d"], pads=[1, 1, 1, 1], group=8),
        node("MaxPool", ["d"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Resize", ["m", "", "s"], ["u"], mode="nearest"),
        node("Softmax", ["u"], ["y"], axis=1),
    ]
    model = build(nodes, {"x": np.zeros((1, 3, 8, 8), np.float32)}, inits, opset=13).model
    if dynamic:
        for vi in (model.graph.input[0], model.graph.output[0]):
            vi.type.tensor_type.shape.dim[0].dim_param = "N"
        del model.graph.value_info[:]
    return model


def _run_threads(fn, n: int) -> list:
    errors: list = []
    barrier = threading.Barrier(n)

    def wrapped(i):
        try:
            barrier.wait()
            fn(i)
        except BaseException as exc:  # noqa: BLE001  (collected and re-raised below)
            errors.append((i, exc))

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0][1]
    return errors


@pytest.mark.parametrize("mode", MODES)
def test_shared_session_threads_match_single_thread(mode, tmp_path):
    sess = InferenceSession(_net(), mode=mode, cache_dir=tmp_path)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32) for _ in range(12)]
    single = [sess.run(None, {"x": x})[0] for x in xs]
    mismatches: list = []

    def work(t):
        for _ in range(5):
            for i in range(t, len(xs), THREADS):
                out = sess.run(None, {"x": xs[i]})[0]
                if not np.array_equal(out, single[i]):
                    mismatches.append((t, i))

    _run_threads(work, THREADS)
    assert not mismatches


@pytest.mark.parametrize("mode", MODES)
def test_first_use_from_worker_threads(mode, tmp_path):
    """Create the session in one thread, run it first from others (a thread pool serving requests).

    Was a bug in module mode: the weights stayed lazy on the loading thread's MLX stream, and the first run
    from another thread raised 'There is no Stream(cpu, 0) in current thread'."""
    model = _net()
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    x = np.random.default_rng(5).standard_normal((1, 3, 8, 8)).astype(np.float32)
    (want,) = run_ort(model, {"x": x})
    outs: dict[int, np.ndarray] = {}

    def work(i):
        outs[i] = sess.run(None, {"x": x})[0]

    _run_threads(work, THREADS)
    for i in range(THREADS):
        assert_close(outs[i], want, f"{mode} thread {i}")


@pytest.mark.parametrize("mode", MODES)
def test_dynamic_session_first_calls_race(mode, tmp_path):
    """Every thread's first call for a new batch size translates, writes and loads concurrently."""
    model = _net(dynamic=True)
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path)
    rng = np.random.default_rng(2)
    # One batch size per thread: a model loaded in one thread and first run in another is
    # test_first_use_from_worker_threads.
    batches = [1, 2, 3, 4, 5, 6]
    xs = [rng.standard_normal((b, 3, 8, 8)).astype(np.float32) for b in batches]
    want = [run_ort(model, {"x": x})[0] for x in xs]
    got: dict[int, np.ndarray] = {}

    def work(i):
        got[i] = sess.run(None, {"x": xs[i]})[0]

    _run_threads(work, len(xs))
    for i, w in enumerate(want):
        assert_close(got[i], w, f"{mode} batch {batches[i]}")


@pytest.mark.parametrize("mode", MODES)
def test_sessions_sharing_a_cache_dir(mode, tmp_path):
    model = _net()
    x = np.random.default_rng(3).standard_normal((1, 3, 8, 8)).astype(np.float32)
    (want,) = run_ort(model, {"x": x})
    outs: dict[int, np.ndarray] = {}

    def work(i):
        outs[i] = InferenceSession(model, mode=mode, cache_dir=tmp_path).run(None, {"x": x})[0]

    _run_threads(work, THREADS)
    for i in range(THREADS):
        assert_close(outs[i], want, f"{mode} session {i}")
        np.testing.assert_array_equal(outs[i], outs[0])


def test_both_modes_in_parallel(tmp_path):
    model = _net()
    sessions = {m: InferenceSession(model, mode=m, cache_dir=tmp_path / m) for m in MODES}
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32) for _ in range(4)]
    single = {m: [s.run(None, {"x": x})[0] for x in xs] for m, s in sessions.items()}
    bad: list = []

    def work(t):
        mode = MODES[t % 2]
        for i, x in enumerate(xs):
            if not np.array_equal(sessions[mode].run(None, {"x": x})[0], single[mode][i]):
                bad.append((mode, i))

    _run_threads(work, THREADS)
    assert not bad
