"""Multi-face tracking for video: ByteTrack with uniface 4.x's `BYTETracker` API."""

from .bytetrack import BYTETracker, Track, iou_matrix
from .kalman import BoxKalmanFilter

__all__ = ["BYTETracker", "BoxKalmanFilter", "Track", "iou_matrix"]
