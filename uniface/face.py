"""The `Face` record returned by FaceAnalyzer."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from runtime.face.embedding import cosine_similarity

import numpy as np


@dataclass
class Face:
    """One analyzed face: detection plus whatever the analyzer's models added."""

    bbox: np.ndarray
    confidence: float
    landmarks: np.ndarray
    embedding: np.ndarray | None = None
    age: int | None = None
    gender: int | None = None

    @property
    def sex(self) -> str | None:
        """'Female' (gender 0) or 'Male' (gender 1), None if unknown."""
        return None if self.gender is None else ("Female" if self.gender == 0 else "Male")

    def compute_similarity(self, other: Face) -> float:
        """Cosine similarity of the two faces' embeddings."""
        if self.embedding is None or other.embedding is None:
            raise ValueError("both faces need an embedding (build the FaceAnalyzer with a recognizer)")
        return cosine_similarity(self.embedding, other.embedding)

    def to_dict(self) -> dict:
        """JSON-friendly dict (arrays become lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
            elif isinstance(value, np.generic):
                out[key] = value.item()
        return out

    def __repr__(self) -> str:
        parts = [f"bbox={np.round(self.bbox, 1).tolist()}", f"confidence={self.confidence:.3f}"]
        if self.age is not None:
            parts.append(f"age={self.age}")
        if self.gender is not None:
            parts.append(f"sex={self.sex}")
        if self.embedding is not None:
            parts.append(f"embedding=<{np.asarray(self.embedding).size}-d>")
        return f"Face({', '.join(parts)})"
