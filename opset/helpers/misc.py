"""Helpers for this op family (see opset/helpers/__init__.py)."""

from __future__ import annotations

import math  # noqa: F401

import mlx.core as mx  # noqa: F401
import numpy as np  # noqa: F401

from . import helper  # noqa: F401
