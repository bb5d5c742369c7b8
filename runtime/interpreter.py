"""The op-list interpreter: runs a serialized lowered program.

It decodes the JSON into calls, checks every function against the allowlist
and every argument against the types the format allows, and verifies the
weights file against the hash the op list records. Nothing is looked up by a
name read from the file except in the allowlist dictionaries.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from opset.errors import OpListError
from opset.execute import run_calls, to_mx
from opset.program import Block, Call, TensorSpec, refs_in
from opset.serialize import FORMAT, FORMAT_VERSION, READABLE_VERSIONS, decode_call

import mlx.core as mx


class OpList:
    """A loaded, validated op list with its weights."""

    def __init__(self, doc: dict, weights: dict[str, mx.array], label: str = "op list"):
        self.label = label
        self.inputs = [TensorSpec(**_spec(t, label)) for t in _get(doc, "inputs", list, label)]
        self.outputs = [TensorSpec(**_spec(t, label)) for t in _get(doc, "outputs", list, label)]
        self.calls = [decode_call(c, i, label) for i, c in enumerate(_get(doc, "calls", list, label))]
        self.notes = doc.get("notes", {})
        self.weights = weights
        self._check_weights(_get(doc, "weights", dict, label))
        self._check_dataflow()

    def _check_weights(self, declared: dict) -> None:
        for name, meta in declared.items():
            if name not in self.weights:
                raise OpListError(f"{self.label}: weight {name!r} is missing from the weights file")
            w = self.weights[name]
            if list(w.shape) != list(meta.get("shape", [])):
                raise OpListError(
                    f"{self.label}: weight {name!r} has shape {list(w.shape)}, expected {meta.get('shape')}"
                )

    def _check_dataflow(self) -> None:
        defined = set(self.weights) | {t.name for t in self.inputs}
        _check_calls(self.calls, defined, self.label)
        for t in self.outputs:
            if t.name not in defined:
                raise OpListError(f"{self.label}: output {t.name!r} is never computed")

    def __call__(self, *inputs: mx.array) -> tuple[mx.array, ...]:
        if len(inputs) != len(self.inputs):
            raise OpListError(f"{self.label}: expected {len(self.inputs)} inputs, got {len(inputs)}")
        env = dict(self.weights)
        env.update({spec.name: x for spec, x in zip(self.inputs, inputs)})
        run_calls(self.calls, env)
        return tuple(env[t.name] for t in self.outputs)


def _check_calls(calls: list[Call], defined: set[str], where: str) -> None:
    """Every read names a value defined before it in its own or an enclosing scope (updates `defined`)."""
    for i, call in enumerate(calls):
        for name in refs_in((call.args, call.kwargs)):
            if name not in defined:
                raise OpListError(f"{where}: call #{i} ({call.fn}) reads {name!r} before it is defined")
        for b, block in enumerate(call.blocks):
            _check_block(block, set(defined), f"{where}: call #{i} ({call.fn}) block #{b}")
        defined.update(call.outputs)


def _check_block(block: Block, defined: set[str], where: str) -> None:
    """A block sees its scope and its params; what it defines stays inside it."""
    defined.update(block.params)
    _check_calls(block.calls, defined, where)
    for name in refs_in(block.results):
        if name not in defined:
            raise OpListError(f"{where}: yields {name!r}, which is not defined in its scope")


def load_oplist(path: str | Path, weights_path: str | Path | None = None) -> OpList:
    path = Path(path)
    label = path.name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpListError(f"{path}: op list file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise OpListError(f"{path}: not a readable op list ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") not in READABLE_VERSIONS:
        raise OpListError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} file")
    wpath = Path(weights_path) if weights_path else path.with_name(path.name.replace(".oplist.json", ".safetensors"))
    try:
        data = wpath.read_bytes()
    except OSError:
        raise OpListError(f"{wpath}: weights file is missing or unreadable") from None
    expected = doc.get("weights_sha256")
    if expected != hashlib.sha256(data).hexdigest():
        raise OpListError(f"{wpath}: weights file does not match the op list (sha256 differs: edited or replaced)")
    weights = load_weights_bytes(data, wpath) if doc.get("weights") else {}
    return OpList(doc, weights, label)


def load_weights_bytes(data: bytes, label: Any) -> dict[str, mx.array]:
    """Decode a .safetensors blob: numpy's reader (float64 included), MLX's for bfloat16."""
    from safetensors.numpy import load as st_load

    try:
        return {k: to_mx(v) for k, v in st_load(data).items()}
    except Exception:  # numpy has no bfloat16: MLX reads it (but not float64)
        pass
    try:
        return dict(mx.load(io.BytesIO(data), format="safetensors"))
    except Exception as exc:  # both readers raise untyped errors on corrupt files
        raise OpListError(f"{label}: corrupt weights file ({exc})") from None


def _get(doc: dict, key: str, kind: type, label: str):
    value = doc.get(key)
    if not isinstance(value, kind):
        raise OpListError(f"{label}: field {key!r} must be a {kind.__name__}")
    return value


def _spec(t: Any, label: str) -> dict:
    if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not isinstance(t.get("onnx_name"), str):
        raise OpListError(f"{label}: malformed input/output entry {t!r}")
    shape = t.get("shape")
    if shape is not None and (
        not isinstance(shape, list) or not all(d is None or isinstance(d, (int, str)) for d in shape)
    ):
        raise OpListError(f"{label}: input/output {t['name']!r} has a malformed shape {shape!r}")
    return {
        "name": t["name"],
        "onnx_name": t["onnx_name"],
        "dtype": t.get("dtype"),
        "shape": None if shape is None else tuple(shape),
    }
