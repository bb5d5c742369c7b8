"""Load a translated model (generated module or op list) as one callable."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opset.execute import compiled_or_eager
from opset.program import TensorSpec
from translator.errors import OpListError

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from .interpreter import load_oplist, load_weights_bytes
from .outputs import OutputHandoff


@dataclass
class CompiledModel:
    """A translated model ready to run: `fn(*mx_inputs) -> tuple of mx outputs`."""

    fn: Callable[..., tuple]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    mode: str
    notes: dict

    def __post_init__(self) -> None:
        self.eager_fn = self.fn  # the translated forward itself (the generated module's instance, or the op list's)
        if self.notes.get("compile"):  # native programs, or chosen per model by `translate(tune=True)`
            self.fn = compiled_or_eager(self.fn)
        self.handoff = OutputHandoff(self._arrays)  # which outputs may be handed out in place

    def _arrays(self) -> list[mx.array]:
        """The arrays the model keeps: a generated module's parameters, an op list's weights."""
        fn = self.eager_fn
        if isinstance(fn, nn.Module):
            return [a for _, a in tree_flatten(fn.parameters())]
        return list(getattr(fn, "weights", {}).values())

    def __call__(self, *inputs: mx.array) -> tuple[mx.array, ...]:
        out = self.fn(*inputs)
        return out if isinstance(out, tuple) else (out,)  # a single output may be a list (a sequence)


def _specs(entries) -> list[TensorSpec]:
    return [TensorSpec(name, onnx_name, dtype, shape) for name, onnx_name, dtype, shape in entries]


def import_module_file(path: str | Path):
    """Import a generated module from its file, under a name unique to its content."""
    path = Path(path)
    try:
        source = path.read_bytes()
    except OSError:
        raise OpListError(f"{path}: generated module is missing or unreadable") from None
    name = f"_mlx_translated_{hashlib.sha256(source).hexdigest()[:16]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise OpListError(f"{path}: generated module does not parse ({exc.msg}, line {exc.lineno})") from None
    sys.modules[name] = module
    return module


def load_module_model(path: str | Path, weights_path: str | Path | None = None) -> CompiledModel:
    path = Path(path)
    module = import_module_file(path)
    for attr in ("load_model", "INPUTS", "OUTPUTS", "WEIGHTS_SHA256"):
        if not hasattr(module, attr):
            raise OpListError(f"{path}: not a translated module (no {attr})")
    wpath = Path(weights_path) if weights_path else path.with_name(f"{path.stem}.module.safetensors")
    try:
        data = wpath.read_bytes()
    except OSError:
        raise OpListError(f"{wpath}: weights file is missing or unreadable") from None
    if hashlib.sha256(data).hexdigest() != module.WEIGHTS_SHA256:
        raise OpListError(f"{wpath}: weights file does not match {path.name} (sha256 differs: edited or replaced)")
    try:
        model = module.load_model(weights=load_weights_bytes(data, wpath))
        mx.eval(model.parameters())  # materialize now: lazy loads are bound to this thread's stream
    except (ValueError, RuntimeError, AttributeError) as exc:
        raise OpListError(f"{wpath}: weights do not fit {path.name}: {exc}") from None
    return CompiledModel(
        model, _specs(module.INPUTS), _specs(module.OUTPUTS), "module", dict(getattr(module, "NOTES", {}))
    )


def load_oplist_model(path: str | Path, weights_path: str | Path | None = None) -> CompiledModel:
    oplist = load_oplist(path, weights_path)
    return CompiledModel(oplist, oplist.inputs, oplist.outputs, "oplist", oplist.notes)


def load_translated(path: str | Path) -> CompiledModel:
    """Load by file name: `*.oplist.json` or a generated `*.py`."""
    path = Path(path)
    if path.name.endswith(".oplist.json"):
        return load_oplist_model(path)
    return load_module_model(path)
