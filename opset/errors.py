"""Typed errors. Every failure the translator or runtime reports is one of these."""

from __future__ import annotations


class TranslatorError(Exception):
    """Base class for every error this project raises on purpose."""


class ModelLoadError(TranslatorError):
    """The model file or bytes could not be read as a valid ONNX model."""


class InvalidModelError(TranslatorError):
    """The model parsed but its graph is inconsistent (dangling inputs, cycles, ...)."""


class UnsupportedOpError(TranslatorError):
    """One or more ops have no lowering. Lists all of them at once."""

    def __init__(self, unsupported: list[tuple[str, str, int, list[str]]], model: str = "model"):
        self.unsupported = unsupported
        lines = [
            f"  {domain or 'ai.onnx'}::{op} (opset {opset}) at nodes: {', '.join(names[:5])}"
            + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            for op, domain, opset, names in unsupported
        ]
        super().__init__(f"{model} uses {len(unsupported)} unsupported op(s):\n" + "\n".join(lines))


class UnsupportedFeatureError(TranslatorError):
    """A supported op used with an attribute, dtype or input MLX cannot express."""


class LoweringError(TranslatorError):
    """A lowering failed for a specific node."""


class OpListError(TranslatorError):
    """An op list or its weights file is missing, edited or refers to unknown names."""


class InputError(TranslatorError, ValueError):
    """Run-time inputs do not match the model's declared inputs."""


class GeneratedWeightsError(TranslatorError):
    """A generated module's weights are missing, or the file offered for them does not fit it.

    The message always says both ways to get them: from the source ONNX file, or
    written once by the translator's command line.
    """

    def __init__(self, problem: str, source_file: str, source_sha256: str, module_name: str):
        self.problem = problem
        super().__init__(
            f"{problem}\n"
            f"{module_name} gets its weights one of two ways:\n"
            f"  - from its source ONNX file {source_file} (sha256 {source_sha256}):\n"
            f"      load_model(onnx='path/to/{source_file}')\n"
            f"  - or from a .safetensors file the translator writes once:\n"
            f"      python -m translator convert path/to/{source_file} -o DIR --mode module --name {module_name}"
            f" --native on\n"
            f"      load_model(weights_path='DIR/{module_name}.module.safetensors')"
        )
