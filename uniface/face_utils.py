"""uniface's face utilities (the math lives in runtime.face)."""

from __future__ import annotations

from runtime.face.alignment import bbox_center_alignment, estimate_norm, face_alignment, transform_points_2d
from runtime.face.embedding import cosine_similarity

import numpy as np

__all__ = ["bbox_center_alignment", "compute_similarity", "estimate_norm", "face_alignment", "transform_points_2d"]


def compute_similarity(feat1: np.ndarray, feat2: np.ndarray, normalized: bool = False) -> float:
    """Cosine similarity between two embeddings (`normalized=True`: they are unit length already)."""
    return cosine_similarity(feat1, feat2, normalized)
