"""Gaze and head-pose read-outs: binned soft-argmax angles (MobileGaze) and rotation matrix to Euler angles."""

from __future__ import annotations

import numpy as np

from .imagenet import softmax

GAZE_BINS = 90  # Gaze360 configuration
GAZE_BIN_WIDTH = 4  # degrees
GAZE_OFFSET = 180  # degrees


def gaze_angles(yaw_logits: np.ndarray, pitch_logits: np.ndarray) -> tuple[float, float]:
    """(pitch, yaw) in radians: the expected bin under the softmax, times 4 degrees, minus 180."""
    bins = np.arange(GAZE_BINS, dtype=np.float32)
    yaw = np.sum(softmax(np.asarray(yaw_logits)) * bins, axis=1) * GAZE_BIN_WIDTH - GAZE_OFFSET
    pitch = np.sum(softmax(np.asarray(pitch_logits)) * bins, axis=1) * GAZE_BIN_WIDTH - GAZE_OFFSET
    return float(np.radians(pitch[0])), float(np.radians(yaw[0]))


def rotation_to_euler(rotation: np.ndarray) -> np.ndarray:
    """(B, 3, 3) rotation matrices -> (B, 3) [pitch (x), yaw (y), roll (z)] in degrees, ZYX decomposition.

    Near gimbal lock (sy < 1e-6) roll is 0 and pitch comes from the second row.
    """
    r = np.asarray(rotation)
    sy = np.sqrt(r[:, 0, 0] ** 2 + r[:, 1, 0] ** 2)
    singular = sy < 1e-6
    x = np.where(singular, np.arctan2(-r[:, 1, 2], r[:, 1, 1]), np.arctan2(r[:, 2, 1], r[:, 2, 2]))
    y = np.arctan2(-r[:, 2, 0], sy)
    z = np.where(singular, np.zeros_like(sy), np.arctan2(r[:, 1, 0], r[:, 0, 0]))
    return np.degrees(np.stack([x, y, z], axis=1))
