"""Face recognizers: aligned 112x112 crop -> embedding."""

from __future__ import annotations

from runtime.face.alignment import face_alignment
from runtime.face.embedding import l2_normalize
from runtime.face.preprocess import blob, ensure_bgr

import cv2
import numpy as np

from .._model import OnnxModel


class BaseRecognizer(OnnxModel):
    """Aligns with the ArcFace template, feeds RGB `(x - 127.5) / 127.5`, returns the raw embedding."""

    input_mean = 127.5
    input_std = 127.5

    def preprocess(self, face_img: np.ndarray) -> np.ndarray:
        """Aligned BGR crop -> [1, 3, H, W] blob."""
        if face_img.shape[1::-1] != self.input_size:
            face_img = cv2.resize(face_img, self.input_size)
        return blob(face_img, self.input_size, self.input_mean, self.input_std, swap_rb=True)

    def get_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Embedding `[1, D]` of the face at `landmarks` (5x2); without landmarks `image` is taken as an aligned crop."""
        image = ensure_bgr(image)
        if landmarks is not None:
            image, _ = face_alignment(image, np.asarray(landmarks, dtype=np.float32), self.input_size[0])
        return self._infer(self.preprocess(image))

    def get_normalized_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """L2-normalized embedding `[1, D]` (compare with a dot product or `compute_similarity`)."""
        return l2_normalize(self.get_embedding(image, landmarks))

    def get_normalized_embeddings(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        """L2-normalized embeddings `[N, D]` of N faces of one image, in as few forwards as the model allows.

        Why: a batch of crops fills the recognizer's matrix products far better
        than one crop per call. Models with a dynamic batch run in chunks of
        at most `embedding_batch`, each zero-padded to a power of two, so a few
        translations (1, 2, 4, ... crops) serve every call; a fixed batch runs
        at that size.
        """
        image = ensure_bgr(image)
        crops = [face_alignment(image, np.asarray(lm, dtype=np.float32), self.input_size[0])[0] for lm in landmarks]
        return self.embed_aligned(crops)

    embedding_batch = 16

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
        """L2-normalized embeddings `[N, D]` of already aligned BGR crops (see `get_normalized_embeddings`)."""
        if not crops:
            return np.empty((0, 0), dtype=np.float32)
        blobs = np.concatenate([self.preprocess(c) for c in crops])
        batch = self.inputs[0].shape[0]
        step = self.embedding_batch if not isinstance(batch, int) else batch
        out = []
        for start in range(0, len(blobs), step):
            chunk = blobs[start : start + step]
            size = step if isinstance(batch, int) else min(step, 1 << (len(chunk) - 1).bit_length())
            padded = np.zeros((size, *chunk.shape[1:]), dtype=chunk.dtype)
            padded[: len(chunk)] = chunk
            out.append(self._infer(padded)[: len(chunk)])
        emb = np.concatenate(out).astype(np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return emb / np.where(norms > 0, norms, 1.0)

    __call__ = get_normalized_embedding
