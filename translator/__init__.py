"""ONNX -> MLX translator: front end, IR, passes, lowering and two back ends."""

# The op set loads the fast BLAS before MLX is imported (opset/blas.py).
import opset  # noqa: F401, I001

from .api import MODES, Translation, convert, translate  # noqa: E402
from .errors import (  # noqa: E402
    InputError,
    InvalidModelError,
    LoweringError,
    ModelLoadError,
    OpListError,
    TranslatorError,
    UnsupportedFeatureError,
    UnsupportedOpError,
)
from .version import __version__  # noqa: E402

__all__ = [
    "MODES", "Translation", "convert", "translate", "__version__", "InputError", "InvalidModelError",
    "LoweringError", "ModelLoadError", "OpListError", "TranslatorError", "UnsupportedFeatureError",
    "UnsupportedOpError",
]  # fmt: skip
