"""Evaluate lowered calls on MLX arrays (used by constant folding and the interpreter)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import mlx.core as mx
import numpy as np

from .errors import OpListError
from .functions import FUNCTIONS
from .helpers.control import branch_taken, loop_flag, loop_go, loop_index, loop_trip
from .program import Block, Call, Dim, DType, Ref, Slice

DTYPES = {
    name: getattr(mx, name)
    for name in (
        "bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float16", "bfloat16", "float32", "float64", "complex64",
    )
}  # fmt: skip


# Sub-byte integer types MLX has no dtype for, held exactly in the byte-wide type of the same sign:
# their values fit, so arithmetic and conversions on the stored values are exact. Casts and
# quantization to them saturate or wrap to the narrow range (translator lowerings).
NARROW_STORAGE = {"int4": "int8", "int2": "int8", "uint4": "uint8", "uint2": "uint8"}


def storage_array(a: np.ndarray) -> np.ndarray:
    """A numpy array in a dtype MLX holds: sub-byte integers (ml_dtypes) widened to a byte, exactly."""
    storage = NARROW_STORAGE.get(a.dtype.name)
    return a.astype(storage) if storage else a


def to_mx(a, in_place: bool = False) -> mx.array:
    """numpy -> MLX keeping the dtype (mx.array alone turns float64 into float32). in_place: read the numpy
    memory without a copy where `native.borrow` can; only for a caller that evaluates everything computed from
    it before returning, without writing to `a` meanwhile, then calls `native.release_borrowed()`."""
    a = storage_array(np.asarray(a))
    if a.size == 0:  # MLX can hang evaluating reductions of empty arrays made from numpy buffers
        dtype = DTYPES.get("bool_" if a.dtype == np.bool_ else a.dtype.name)
        if dtype is not None:
            return mx.zeros(a.shape, dtype=dtype)
    if a.dtype == np.float64:
        return mx.array(a, dtype=mx.float64)
    if in_place:
        from opset import native

        return native.borrow(a)
    return mx.array(a)


def to_numpy(x: mx.array, dtype: np.dtype | None = None) -> np.ndarray:
    """MLX -> numpy; bfloat16 goes through float32 (numpy has no native bfloat16)."""
    if x.dtype == mx.bfloat16:
        arr = np.array(x.astype(mx.float32))
        return arr.astype(dtype) if dtype is not None else arr
    arr = np.array(x)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def resolve(value: Any, env: dict[str, mx.array]) -> Any:
    if isinstance(value, Ref):
        return env[value.name]
    if isinstance(value, Dim):
        return env[value.ref].shape[value.axis]
    if isinstance(value, DType):
        return DTYPES[value.name]
    if isinstance(value, Slice):
        return slice(value.start, value.stop, value.step)
    if isinstance(value, tuple):
        return tuple(resolve(v, env) for v in value)
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    return value


def run_calls(calls: list[Call], env: dict[str, mx.array]) -> dict[str, mx.array]:
    """Run `calls` in order, binding their outputs in `env` (which is returned)."""
    for call in calls:
        if call.fn == "if":
            _run_if(call, env)
            continue
        if call.fn == "loop":
            _run_loop(call, env)
            continue
        fn = FUNCTIONS.get(call.fn)
        if fn is None:
            raise OpListError(f"function {call.fn!r} is not on the allowlist")
        try:
            args = resolve(call.args, env)
            kwargs = resolve(call.kwargs, env)
        except KeyError as exc:
            raise OpListError(f"call {call.fn} (node {call.node!r}) reads undefined {exc}") from None
        except (IndexError, TypeError) as exc:
            raise OpListError(f"call {call.fn} (node {call.node!r}) has a malformed argument: {exc}") from None
        try:
            out = fn(*args, **kwargs)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise OpListError(f"call {call.fn} (node {call.node!r}) failed: {type(exc).__name__}: {exc}") from None
        if len(call.outputs) == 1:
            env[call.outputs[0]] = out
        else:
            for name, o in zip(call.outputs, out):
                env[name] = o
    return env


def _args(call: Call, env: dict) -> tuple:
    try:
        return resolve(call.args, env)
    except KeyError as exc:
        raise OpListError(f"{call.fn} (node {call.node!r}) reads undefined {exc}") from None


def _bind(names: tuple[str, ...], values, env: dict) -> None:
    for name, value in zip(names, values):
        env[name] = value


def _block_results(block: Block, env: dict, call: Call) -> tuple:
    run_calls(block.calls, env)
    try:
        return resolve(block.results, env)
    except KeyError as exc:
        raise OpListError(f"{call.fn} (node {call.node!r}): a block yields undefined {exc}") from None


def _run_if(call: Call, env: dict) -> None:
    """`if branch_taken(cond)`: run one block and bind its results to the call's outputs."""
    (cond,) = _args(call, env)
    try:
        taken = branch_taken(cond)
    except (ValueError, TypeError, AttributeError) as exc:
        raise OpListError(f"if (node {call.node!r}): the condition is not a one-element tensor ({exc})") from None
    _bind(call.outputs, _block_results(call.blocks[0 if taken else 1], env, call), env)


def _run_loop(call: Call, env: dict) -> None:
    """The loop protocol of opset.program, step for step as the module back end prints it."""
    trip, cond, *carried = _args(call, env)
    (body,) = call.blocks
    iter_name, cond_name, *carried_names = body.params
    n_parts = len(body.results) - 1 - len(carried)
    try:
        n, go = loop_trip(trip), loop_go(cond)
    except (ValueError, TypeError, AttributeError) as exc:
        raise OpListError(f"loop (node {call.node!r}): bad trip count or condition ({exc})") from None
    parts: list[list] = [[] for _ in range(n_parts)]
    i = 0
    while go and (n is None or i < n):
        env[iter_name], env[cond_name] = loop_index(i), loop_flag(go)
        _bind(tuple(carried_names), carried, env)
        results = _block_results(body, env, call)
        try:
            go = loop_go(results[0])
        except (ValueError, TypeError, AttributeError) as exc:
            raise OpListError(f"loop (node {call.node!r}): the body's condition is not a scalar ({exc})") from None
        carried = list(results[1 : 1 + len(carried)])
        for acc, part in zip(parts, results[1 + len(carried) :]):
            acc.append(part)
        i += 1
    _bind(call.outputs, [*carried, *parts], env)


class _CompileKey:
    """The callable handed to mx.compile in place of a model's forward.

    MLX keeps compiled traces in a per-thread cache keyed by the address of that callable, and a
    trace is forgotten only in the thread that drops the compiled function. Left in another
    thread's cache, it would be replayed for a later callable at the same address with inputs of
    the same shape: another model's graph. Keys are never freed (`_COMPILE_KEYS`), so no address
    given to mx.compile is reused; a dropped model releases its forward (and weights) through
    `release`, and only this small object stays.
    """

    __slots__ = ("target",)

    def __init__(self, target: Callable[..., Any]):
        self.target: Callable[..., Any] | None = target

    def __call__(self, *inputs: mx.array):
        if self.target is None:
            raise RuntimeError("compiled forward called after its model was released")
        return self.target(*inputs)

    def release(self) -> None:
        self.target = None


_COMPILE_KEYS: list[_CompileKey] = []


def compile_keyed(fn: Callable[..., Any]) -> tuple[Callable[..., Any], _CompileKey]:
    """mx.compile(fn) through a key no later callable can share (see _CompileKey); call key.release() when
    done with it, or let compiled_or_eager do so."""
    key = _CompileKey(fn)
    _COMPILE_KEYS.append(key)
    return mx.compile(key), key


def compiled_or_eager(fn: Callable[..., Any]) -> Callable[..., Any]:
    """mx.compile(fn), which falls back to fn for good if tracing fails (a helper that reads array values)."""
    compiled, key = compile_keyed(fn)
    use_compiled = True

    def call(*inputs: mx.array):
        nonlocal use_compiled
        if use_compiled:
            try:
                return compiled(*inputs)
            except Exception:  # noqa: BLE001 - any tracing failure: the eager function is always correct
                use_compiled = False
        return fn(*inputs)

    weakref.finalize(call, key.release)
    return call
