"""compiled_or_eager: a compiled forward never replays another model's trace, and a dropped
model's weights are freed even though its compile key lives on."""

import gc
import queue
import threading
import weakref

from opset.execute import compiled_or_eager

import mlx.core as mx
import numpy as np


class _Weights:
    """A weight holder a weakref can watch."""

    def __init__(self, value: float):
        self.w = mx.array(np.full((3,), value, np.float32))


def _model(value: float):
    weights = _Weights(value)

    def forward(x):
        return x * weights.w

    return forward, weakref.ref(weights)


def _in_thread(job):
    out: queue.Queue = queue.Queue()
    t = threading.Thread(target=lambda: out.put(job()))
    t.start()
    t.join()
    return out.get()


def test_models_compiled_in_one_thread_and_dropped_in_another_keep_their_own_graphs():
    """MLX caches traces per thread by the compiled callable's address: drop in another thread,
    reuse of the address, same input shape. Every model must still return its own product."""
    x = mx.ones(3)
    held = []
    for i in range(40):
        fn = compiled_or_eager(_model(float(i))[0])
        assert fn(x).tolist() == [float(i)] * 3
        held.append(fn)
    _in_thread(held.clear)  # the compiled functions die in another thread
    gc.collect()
    for i in range(40, 400):
        value = float(i)
        assert compiled_or_eager(_model(value)[0])(x).tolist() == [value] * 3, f"model {i} ran another graph"


def test_threads_compile_their_own_traces():
    fn = compiled_or_eager(_model(3.0)[0])
    assert _in_thread(lambda: fn(mx.ones(3)).tolist()) == [3.0] * 3
    assert fn(mx.full((3,), 2.0)).tolist() == [6.0] * 3


def test_a_dropped_model_frees_its_weights():
    forward, alive = _model(5.0)
    fn = compiled_or_eager(forward)
    fn(mx.ones(3))
    del forward, fn
    gc.collect()
    assert alive() is None
