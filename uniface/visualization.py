"""uniface 1.x's drawing module: `draw_detections` (every call form) and `draw_fancy_bbox`."""

from __future__ import annotations

from .draw import LANDMARK_COLORS, draw_corner_bbox, draw_detections

draw_fancy_bbox = draw_corner_bbox  # 1.3.1's name for the corner-bracket box

__all__ = ["LANDMARK_COLORS", "draw_detections", "draw_fancy_bbox"]
