"""Helpers for the attention, recurrent, quantization and signal families."""

from __future__ import annotations

import math  # noqa: F401

import mlx.core as mx  # noqa: F401
import numpy as np  # noqa: F401

from . import helper  # noqa: F401
