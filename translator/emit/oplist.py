"""Op-list back end: the lowered program as JSON (weights go to .safetensors)."""

from __future__ import annotations

import json
import math
from typing import Any

from ..lowering.program import Call, Dim, DType, Program, Ref, Slice
from ..version import __version__

FORMAT = "mlx-onnx-oplist"
FORMAT_VERSION = 1


def encode_arg(v: Any) -> Any:
    if isinstance(v, Ref):
        return {"ref": v.name}
    if isinstance(v, Dim):
        return {"dim": [v.ref, v.axis]}
    if isinstance(v, DType):
        return {"dtype": v.name}
    if isinstance(v, Slice):
        return {"slice": [v.start, v.stop, v.step]}
    if isinstance(v, tuple):
        return {"tuple": [encode_arg(x) for x in v]}
    if isinstance(v, list):
        return [encode_arg(x) for x in v]
    if isinstance(v, dict):
        return {"dict": {str(k): encode_arg(x) for k, x in v.items()}}
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": repr(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"cannot serialize argument of type {type(v).__name__}")


def to_json(program: Program, source_sha256: str, weights_sha256: str) -> str:
    doc = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "translator": __version__,
        "source_sha256": source_sha256,
        "weights_sha256": weights_sha256,
        "inputs": [vars(t) | {"shape": _shape(t.shape)} for t in program.inputs],
        "outputs": [vars(t) | {"shape": _shape(t.shape)} for t in program.outputs],
        "weights": {k: {"dtype": str(w.dtype), "shape": list(w.shape)} for k, w in sorted(program.weights.items())},
        "calls": [_call(c) for c in program.calls],
        "notes": program.notes,
    }
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def _shape(shape):
    return None if shape is None else list(shape)


def _call(c: Call) -> dict:
    return {
        "fn": c.fn,
        "args": [encode_arg(a) for a in c.args],
        "kwargs": {k: encode_arg(v) for k, v in c.kwargs.items()},
        "out": list(c.outputs),
        "node": c.node,
        "op": c.op,
    }
