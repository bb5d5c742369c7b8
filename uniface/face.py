"""uniface 1.x's home of `Face`; the class lives in `uniface.types` (its 4.x home)."""

from __future__ import annotations

from .types import Face

__all__ = ["Face"]
