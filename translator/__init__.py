"""ONNX -> MLX translator: front end, IR, passes, lowering and two back ends."""

# The one import against the arrows: fast BLAS must be loaded before MLX is.
import runtime.blas as _blas  # noqa: I001

_blas.load_fast_blas()

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
