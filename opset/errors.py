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
