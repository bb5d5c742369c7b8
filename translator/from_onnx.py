"""Weights for a checked-in generated module, derived from its source ONNX file.

A generated class ships without weights. Deriving them from the ONNX file is
translation (batch norms folded into convs, layouts transposed, sibling convs
concatenated), so a generated module's `load_model(onnx=...)` imports this
lazily: generated code otherwise needs only MLX and the op set.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from opset.errors import GeneratedWeightsError
from opset.execute import to_mx

import mlx.core as mx
import numpy as np

from .api import module_weights, translate
from .emit.weights import sha256_bytes, weights_bytes
from .version import __version__


def derive_weights(onnx_path: str | os.PathLike) -> tuple[dict[str, np.ndarray], str]:
    """(weights keyed as the generated module's tree, sha256 of their .safetensors bytes).

    Translated with the native kernels on, as tools/regenerate.py writes generated/.
    """
    weights = module_weights(translate(str(onnx_path), native=True))
    return weights, sha256_bytes(weights_bytes(weights))


def generated_weights(
    onnx_path: str | os.PathLike, source_sha256: str, weights_sha256: str, module_name: str, source_file: str = ""
) -> dict[str, mx.array]:
    """The weights of generated module `module_name` from its ONNX file, checked against both hashes.

    source_file: the name of the file the module was generated from (for the error messages).
    """
    path = Path(onnx_path)
    source_file = source_file or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc.strerror or exc})"
        raise GeneratedWeightsError(f"{path}: {reason}", source_file, source_sha256, module_name) from None
    found = hashlib.sha256(data).hexdigest()
    if found != source_sha256:
        raise GeneratedWeightsError(
            f"{path} is not the model {module_name} was generated from (its sha256 is {found}, "
            f"{module_name} expects {source_sha256})",
            source_file,
            source_sha256,
            module_name,
        )
    weights, sha = derive_weights(path)
    if sha != weights_sha256:
        raise GeneratedWeightsError(
            f"{path} is the right model, but this translator ({__version__}) derives other weights from it than "
            f"the one that generated {module_name} (weights sha256 {sha}, expected {weights_sha256}): "
            "regenerate the module (python tools/regenerate.py) or write its weights with this translator",
            source_file,
            source_sha256,
            module_name,
        )
    return {k: to_mx(v) for k, v in weights.items()}
