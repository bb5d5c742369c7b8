"""The project's typed errors, as the translator's public API names them.

They are defined in the op set (opset/errors.py), the bottom layer, so that the
interpreter and the runtime raise the same types without importing the translator.
"""

from opset.errors import (
    GeneratedWeightsError,
    InputError,
    InvalidModelError,
    LoweringError,
    ModelLoadError,
    OpListError,
    TranslatorError,
    UnsupportedFeatureError,
    UnsupportedOpError,
)

__all__ = [
    "GeneratedWeightsError", "InputError", "InvalidModelError", "LoweringError", "ModelLoadError", "OpListError",
    "TranslatorError", "UnsupportedFeatureError", "UnsupportedOpError",
]  # fmt: skip
