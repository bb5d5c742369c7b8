"""Op-list back end: the lowered program as JSON (weights go to .safetensors)."""

from __future__ import annotations

import json

from opset.program import Program
from opset.serialize import FORMAT, FORMAT_VERSION, encode_call

from ..version import __version__


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
        "calls": [encode_call(c) for c in program.calls],
        "notes": program.notes,
    }
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def _shape(shape):
    return None if shape is None else list(shape)
