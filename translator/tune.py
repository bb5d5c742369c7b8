"""`--tune`: time candidate lowerings on this machine and keep the winners.

Per NHWC conv, every applicable strategy is lowered and timed on a random
input of the conv's shape (native dense 3x3 stride-1 convs also as Winograd
F(2x2) and F(4x4)); the fastest is recorded in the node (and so in the
generated code's notes). For the whole program, `mx.compile` is timed against
plain execution: it helps some models and hurts others, so the choice is per
model. Timing needs static shapes; convs with dynamic dims keep the heuristic.
"""

from __future__ import annotations

import time

from opset import native
from opset.execute import compile_keyed, run_calls, to_mx
from opset.program import Program, Ref

import mlx.core as mx
import numpy as np

from .ir import Graph, Node
from .lowering.lower import ProgramBuilder, lower_node
from .lowering.ops.layout import DOMAIN, native_kind


def _applicable(node: Node, graph: Graph) -> list[str]:
    w = graph.value(node.inputs[1]).const
    o, kh, kw, ipg = w.shape
    groups = int(node.attrs.get("group", 1))
    strides = tuple(node.attrs.get("strides", [1, 1]))
    dil = tuple(node.attrs.get("dilations", [1, 1]))
    pads = node.attrs.get("pads", [0, 0, 0, 0])
    out = ["conv"]
    if (
        groups == 1
        and (kh, kw) == (1, 1)
        and not any(pads)
        and node.attrs.get("auto_pad", "NOTSET") in ("NOTSET", "VALID")
    ):
        out.append("matmul")
    if groups > 1 and groups == o and ipg == 1:
        out.append("depthwise")
    if groups == 1 and (kh, kw) == (3, 3) and strides == (1, 1) and dil == (1, 1):
        out.append("shifted_gemm")
    kind = native_kind(w.shape, groups, dil, w.dtype)
    if node.attrs.get("strategy") == "native" or (native.available() and kind):
        out.append("native")
        if kind == "dense" and (kh, kw) == (3, 3) and strides == (1, 1):  # the direct GEMM or Winograd
            out += [f"native{WINOGRAD}{m}" for m in (2, 4)]
    return out


WINOGRAD = "+winograd"  # a candidate "native+winograd4": the native kernel as Winograd F(4x4, 3x3)


def _set_candidate(node: Node, candidate: str) -> None:
    strategy, _, tile = candidate.partition(WINOGRAD)
    node.attrs["strategy"] = strategy
    if strategy == "native" and node.attrs.get("group", 1) == 1:
        node.attrs["winograd"] = int(tile or 0)  # explicit: 0 keeps the direct GEMM
    else:
        node.attrs.pop("winograd", None)


def _time(fn, repeats: int = 5) -> float:
    mx.eval(fn())
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        mx.eval(fn())
        best = min(best, time.perf_counter() - t)
    return best


def tune_convs(graph: Graph) -> dict[str, str]:
    """Set attrs["strategy"] on each NHWC conv with static shapes; returns node -> winner."""
    winners = {}
    rng = np.random.default_rng(0)
    for node in graph.topo_order():
        if node.domain != DOMAIN or node.op_type != "Conv":
            continue
        shape = graph.value(node.inputs[0]).static_shape
        if shape is None:
            continue
        candidates = _applicable(node, graph)
        if len(candidates) < 2:
            continue
        feeds = {"x": mx.array(rng.standard_normal(shape).astype(np.float32))}
        residual = node.inputs[3] if len(node.inputs) > 3 and node.inputs[3] else None
        if residual is not None:  # a folded residual Add: fed like the input
            res_shape = graph.value(residual).static_shape
            if res_shape is None:
                continue
            feeds["r"] = mx.array(rng.standard_normal(res_shape).astype(np.float32))
        timings = {}
        for strategy in candidates:
            _set_candidate(node, strategy)
            builder = ProgramBuilder(graph)
            builder.env[node.inputs[0]] = Ref("x")
            if residual is not None:
                builder.env[residual] = Ref("r")
            calls = lower_node(builder, node)
            env0 = dict(feeds) | {k: to_mx(v) for k, v in builder.weights.items()}
            out = builder.env[node.outputs[0]].name

            def run(calls=calls, env0=env0, out=out):
                return run_calls(calls, dict(env0))[out]

            timings[strategy] = _time(run)
        best = min(timings, key=timings.get)
        _set_candidate(node, best)
        winners[node.name] = best
    return winners


def tune_compile(program: Program, feed: list[mx.array]) -> dict:
    """Time the program with and without mx.compile; returns the notes to record."""
    weights = {k: to_mx(v) for k, v in program.weights.items()}
    outs = [o.name for o in program.outputs]

    def forward(*xs):
        env = dict(weights)
        env.update({spec.name: x for spec, x in zip(program.inputs, xs)})
        run_calls(program.calls, env)
        return [env[o] for o in outs]

    plain = _time(lambda: forward(*feed))
    compiled_fn, key = compile_keyed(forward)
    try:
        compiled = _time(lambda: compiled_fn(*feed))
    except Exception:  # compile can fail on data-dependent helpers: keep it off
        compiled = float("inf")
    finally:
        key.release()
    return {"compile": bool(compiled < plain * 0.95), "plain_ms": round(plain * 1000, 2),
            "compiled_ms": round(compiled * 1000, 2) if compiled != float("inf") else None}  # fmt: skip


def random_feed(program: Program) -> list[mx.array] | None:
    rng = np.random.default_rng(0)
    feed = []
    for spec in program.inputs:
        if spec.shape is None or not all(isinstance(d, int) for d in spec.shape):
            return None
        dtype = np.dtype(spec.dtype or "float32")
        arr = rng.standard_normal(spec.shape).astype(dtype) if dtype.kind == "f" else np.zeros(spec.shape, dtype)
        feed.append(mx.array(arr))
    return feed
