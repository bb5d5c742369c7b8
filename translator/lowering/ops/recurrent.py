"""Lowerings for this op family. Each one is a few lines of calls; see ops/misc.py."""

from __future__ import annotations

import numpy as np  # noqa: F401

from ..context import LowerCtx  # noqa: F401
from ..program import DType, Ref, Slice  # noqa: F401
from ..registry import lowering  # noqa: F401
