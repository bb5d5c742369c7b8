"""Face recognizers: 5-landmark aligned crop -> embedding (both generations' API).

`get_embedding` returns the raw `(1, D)` network output (as in 1.x and 4.x);
`get_normalized_embedding` returns the unit-length embedding as a 1-D `(D,)`
vector, as 4.x does (1.x returned `(1, D)`; `compute_similarity`, `np.dot`
and `Face.compute_similarity` accept either).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum

from runtime.face.alignment import face_alignment
from runtime.face.embedding import l2_normalize
from runtime.face.preprocess import blob, ensure_bgr, normalize_channels
from translator.image_input import ImageInput

import cv2
import numpy as np

from .._model import OnnxModel


@dataclass
class PreprocessConfig:
    """Normalization of the aligned crop: `(x - input_mean) / input_std`, scalars or per channel (RGB)."""

    input_mean: float | list[float] = 127.5
    input_std: float | list[float] = 127.5
    input_size: tuple[int, int] = (112, 112)


class BaseRecognizer(OnnxModel):
    """Aligns with the ArcFace template, normalizes (RGB unless `swap_rb` is False), embeds.

    The network reads the aligned 8-bit crops itself (`normalization`, from the preprocessing config),
    or, with `UNIFACE_IMAGE_INPUT=0`, gets the float blob `preprocess` makes.

    `BaseRecognizer(model_name=None, preprocessing=None, *, model_path=None,
    backend=None, providers=None)`: `model_name` and `preprocessing`
    positional as in 1.x, or keywords as in 4.x.
    """

    swap_rb = True  # RGB input; AdaFace keeps BGR

    def __init__(
        self,
        model_name: Enum | None = None,
        preprocessing: PreprocessConfig | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        self.preprocessing = preprocessing or PreprocessConfig()
        self.input_mean = self.preprocessing.input_mean
        self.input_std = self.preprocessing.input_std
        super().__init__(
            model_name,
            model_path=model_path,
            backend=backend,
            mode=mode,
            input_size=tuple(self.preprocessing.input_size) if preprocessing is not None else None,
            providers=providers,
            image_input=self.normalization,
        )
        if len(self.outputs) != 1:
            raise ValueError(f"{self.model_path}: expected one embedding output, got {self.output_names}")

    @property
    def normalization(self) -> ImageInput:
        """`(x - input_mean) / input_std` of the crop in the model's channel order (RGB unless `swap_rb` is False)."""
        values = [tuple(v) if isinstance(v, (list, tuple)) else float(v) for v in (self.input_mean, self.input_std)]
        return ImageInput(*values, bgr_to_rgb=self.swap_rb)

    def preprocess(self, face_img: np.ndarray) -> np.ndarray:
        """Aligned BGR crop -> `[1, 3, H, W]` blob (resized to the input size first)."""
        resized = cv2.resize(face_img, self.input_size)
        if isinstance(self.input_std, (list, tuple)):
            return normalize_channels(resized, self.input_mean, self.input_std, swap_rb=self.swap_rb)
        return blob(resized, self.input_size, self.input_mean, self.input_std, swap_rb=self.swap_rb)

    def get_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Raw embedding `(1, D)` of the face at `landmarks` (5x2); without landmarks `image` is an aligned crop."""
        image = ensure_bgr(image)
        if landmarks is not None:
            image, _ = face_alignment(image, np.asarray(landmarks), self.input_size)
        return self._embed([image], 1)

    def get_normalized_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Unit-length embedding `(D,)` (compare with a dot product or `compute_similarity`)."""
        return l2_normalize(self.get_embedding(image, landmarks).ravel())

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
        crops = [ensure_bgr(c) for c in crops]
        batch = self.inputs[0].shape[0]
        step = self.embedding_batch if not isinstance(batch, int) else batch
        out = []
        for start in range(0, len(crops), step):
            chunk = crops[start : start + step]
            size = step if isinstance(batch, int) else min(step, 1 << (len(chunk) - 1).bit_length())
            out.append(self._embed(chunk, size)[: len(chunk)])
        emb = np.concatenate(out).astype(np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return emb / np.where(norms > 0, norms, 1.0)

    def _embed(self, crops: list[np.ndarray], size: int) -> np.ndarray:
        """Raw embeddings of BGR crops, run as one batch zero-padded to `size` rows (ignored by the caller):
        the uint8 NHWC crops themselves when the runner takes images, else `preprocess`'s float blobs."""
        if self.takes_images:
            x = np.stack([c if c.shape[1::-1] == self.input_size else cv2.resize(c, self.input_size) for c in crops])
        else:
            x = np.concatenate([self.preprocess(c) for c in crops])
        if size > len(x):
            x = np.concatenate([x, np.zeros((size - len(x), *x.shape[1:]), dtype=x.dtype)])
        return self.session.run_image(x)[0] if self.takes_images else self._infer(x)

    __call__ = get_normalized_embedding
