"""Run a translation through both back ends in this process, for `python -m translator parity`.

The translator checks its own output here without the runtime package (which
sits above it): the op list goes through the op set's JSON decoder and
executor, and the module back end's source is imported from a temporary file,
exactly as written. No files are kept.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

from opset.execute import compiled_or_eager, run_calls, to_mx, to_numpy
from opset.serialize import decode_call

import mlx.core as mx
import numpy as np
from safetensors.numpy import load as st_load

from .api import Translation, write_outputs


def run_backends(translation: Translation, feed: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """{mode: outputs in graph order} for both back ends, fed by ONNX input name."""
    program = translation.program
    inputs = [to_mx(feed[spec.onnx_name]) for spec in program.inputs]
    compile_ = bool(program.notes.get("compile"))
    results = {}
    with tempfile.TemporaryDirectory(prefix="mlx-parity-") as tmp:
        for mode in ("module", "oplist"):
            main, weights_path = write_outputs(translation, Path(tmp) / mode, mode, "model")
            weights = {k: to_mx(v) for k, v in st_load(weights_path.read_bytes()).items()}
            fn = _module_fn(main, weights) if mode == "module" else _oplist_fn(main, weights)
            outs = (compiled_or_eager(fn) if compile_ else fn)(*inputs)
            outs = outs if isinstance(outs, tuple) else (outs,)  # a single output may be a list (a sequence)
            mx.eval(*[a for o in outs for a in (o if isinstance(o, list) else [o]) if a is not None])
            results[mode] = [_to_numpy_value(o) for o in outs]
    return results


def _to_numpy_value(value):
    """Outputs as numpy: arrays, lists of arrays (sequences), None (an empty optional)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [to_numpy(v) for v in value]
    return to_numpy(value)


def _module_fn(path: Path, weights: dict[str, mx.array]):
    spec = importlib.util.spec_from_file_location(f"_mlx_parity_{id(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_model(weights=weights)


def _oplist_fn(path: Path, weights: dict[str, mx.array]):
    doc = json.loads(path.read_text(encoding="utf-8"))
    calls = [decode_call(c, i, path.name) for i, c in enumerate(doc["calls"])]
    input_names = [t["name"] for t in doc["inputs"]]
    output_names = [t["name"] for t in doc["outputs"]]

    def forward(*arrays: mx.array) -> tuple[mx.array, ...]:
        env = dict(weights)
        env.update(zip(input_names, arrays))
        run_calls(calls, env)
        return tuple(env[n] for n in output_names)

    return forward
