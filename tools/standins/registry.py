"""What a stand-in module declares: one `StandIn` per upstream file it can build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx


@dataclass(frozen=True)
class StandIn:
    """A buildable ONNX file named as upstream uniface names it in its cache.

    `checked_in`: generated/ holds its translation (tools/regenerate.py
    rebuilds and checks those), so its bytes must never change.
    `source`: a real file in ../shared it is derived from (None: random
    weights only); `write` skips entries whose source is missing.
    """

    filename: str
    build: Callable[[], onnx.ModelProto]
    about: str
    checked_in: bool = False
    source: Path | None = None
