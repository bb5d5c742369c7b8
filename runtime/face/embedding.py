"""Embedding helpers: L2 normalization and cosine similarity."""

from __future__ import annotations

import numpy as np


def l2_normalize(embedding: np.ndarray) -> np.ndarray:
    """Unit-length copy of `embedding` (unchanged if its norm is 0)."""
    norm = np.linalg.norm(embedding)
    return embedding / norm if norm > 0 else embedding


def cosine_similarity(a: np.ndarray, b: np.ndarray, normalized: bool = False) -> float:
    """Cosine similarity of two embeddings of any shape (flattened); plain dot if `normalized`."""
    a, b = np.ravel(a), np.ravel(b)
    if normalized:
        return float(np.dot(a, b))
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-5))
