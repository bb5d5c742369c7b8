"""What an oracle family declares, and what its runner gets inside the upstream venv.

A family module (any module in this package not starting with `_`) has a
module-level `FAMILIES` list of `Family`. Each family names the weight slots
it uses (`Weights`: upstream enum member, file name, where the file comes
from) and a `run(ctx)` function. `run` executes in the upstream uniface venv
(tools/uniface_oracle.py starts it), with upstream's registry patched so
each slot resolves to our file; it returns a JSON-able dict, usually
`{"cases": [...]}`, which becomes the fixture.

This module is imported by both interpreters: keep its top level stdlib-only
and import numpy/cv2/uniface inside functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Where a weight file comes from: ../shared/models/<file>, or tools.standins (built at run time).
SHARED = "shared"
STANDIN = "standin"


@dataclass(frozen=True)
class Weights:
    """One upstream weight slot filled with one of our files."""

    enum: str  # "SCRFDWeights.SCRFD_500M_KPS": the class in uniface.constants, then the member
    file: str  # file name in ../shared/models or a tools.standins name
    origin: str = STANDIN

    def __post_init__(self) -> None:
        if self.origin not in (SHARED, STANDIN):
            raise ValueError(f"{self.enum}: origin must be {SHARED!r} or {STANDIN!r}, not {self.origin!r}")
        if self.enum.count(".") != 1:
            raise ValueError(f"enum must read 'ClassName.MEMBER', got {self.enum!r}")


@dataclass(frozen=True)
class Family:
    """A model family the oracle runs: its weight slots and the runner that produces the fixture."""

    name: str
    weights: tuple[Weights, ...]
    run: Callable[[Context], dict[str, Any]]
    about: str = ""
    images: tuple[str, ...] = field(default=())  # photo file names; empty: every photo in ../shared/images


def round_floats(values: Any, digits: int = 9) -> Any:
    """Nested lists/arrays of numbers -> lists of floats with `digits` significant digits (9: every float32 survives the round trip)."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (list, tuple)):
        return [round_floats(v, digits) for v in values]
    if isinstance(values, bool) or values is None or isinstance(values, str):
        return values
    if isinstance(values, int):
        return values
    return float(f"{float(values):.{digits}g}")


class Context:
    """Handed to `Family.run` inside the upstream venv."""

    def __init__(self, weights: dict[str, Any], images: Sequence[tuple[str, Any]], image_paths: dict[str, str]):
        self._weights = weights  # "Class.MEMBER" -> enum member (registry already patched)
        self.images = list(images)  # (file name, BGR uint8 image)
        self.image_paths = dict(image_paths)  # file name -> path

    @property
    def uniface(self):
        import uniface

        return uniface

    def weights(self, enum: str):
        """The upstream enum member for a slot this family declared."""
        try:
            return self._weights[enum]
        except KeyError:
            raise KeyError(f"{enum} is not among this family's declared weights {sorted(self._weights)}") from None

    @staticmethod
    def faces(faces: Iterable[Any]) -> list[dict[str, Any]]:
        """Upstream Face objects -> JSON rows (bbox, confidence, landmarks), in upstream's order."""
        return [
            {
                "bbox": round_floats(f.bbox),
                "confidence": round_floats(f.confidence),
                "landmarks": round_floats(f.landmarks),
            }
            for f in faces
        ]

    def reference_faces(self, image: Any, max_num: int = 0) -> list[Any]:
        """Faces from upstream SCRFD-500M (real weights; a family that uses this declares `REFERENCE_DETECTOR`)."""
        if not hasattr(self, "_reference_detector"):
            from uniface.detection import SCRFD

            self._reference_detector = SCRFD(model_name=self.weights(REFERENCE_DETECTOR.enum))
        return self._reference_detector.detect(image, max_num=max_num)


# The detector that gives recognizers and per-face predictors their inputs (boxes and 5 landmarks):
# the real SCRFD-500M, byte-identical to upstream's file. Fixtures store the inputs it produced, so
# the tests feed our classes exactly what upstream's got.
REFERENCE_DETECTOR = Weights("SCRFDWeights.SCRFD_500M_KPS", "scrfd_500m_kps.onnx", SHARED)
