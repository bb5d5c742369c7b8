"""Helpers for the 4.x family tests: build a model once per (class, file, backend, options), rebuild Faces from fixtures.

MLX is always requested explicitly, so a model the translator cannot
handle fails its test (the automatic choice would quietly fall back to
onnxruntime and compare onnxruntime with itself).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import uniface

import numpy as np

from . import upstream

BACKENDS = upstream.BACKENDS


@functools.cache
def _cached(cls: type, path: str, backend: str, options: tuple) -> Any:
    model = cls(model_path=path, backend=backend, **dict(options))
    assert model.backend == backend, f"{cls.__name__} runs on {model.backend}, not {backend}"
    return model


def make(cls: type, path: Path | str, backend: str, **options: Any) -> Any:
    """`cls(model_path=path, backend=backend, **options)`, built once per test session."""
    return _cached(cls, str(path), backend, tuple(sorted(options.items())))


def fixture_model(cls: type, family: str, backend: str, standins: Path, **options: Any) -> tuple[dict, Any]:
    """(fixture, our model on the file upstream ran for the fixture's own slot)."""
    fixture = upstream.load(family)
    assert fixture["upstream"] == "uniface 4.2.1", fixture["upstream"]
    return fixture, make(cls, upstream.main_weight_path(fixture, standins), backend, **options)


def slot(fixture: dict) -> Any:
    """The uniface enum member of the fixture's own model slot (e.g. `MiniFASNetWeights.V1SE`)."""
    cls_name, member = fixture["model"].split(".")
    return getattr(getattr(uniface.constants, cls_name), member)


def face_of(row: dict[str, Any]) -> uniface.Face:
    """A Face with the detector outputs a fixture row recorded (float32, as SCRFD returns them)."""
    return uniface.Face(
        bbox=np.asarray(row["bbox"], dtype=np.float32),
        confidence=float(row.get("confidence", 1.0)),
        landmarks=np.asarray(row["landmarks"], dtype=np.float32).reshape(-1, 2),
    )


def max_abs(got: Any, want: Any) -> float:
    a, b = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} vs upstream {b.shape}"
    return float(np.abs(a - b).max()) if a.size else 0.0
