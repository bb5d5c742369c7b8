"""Robust Video Matting (PeterL1n/RobustVideoMatting): video matting with a recurrent state between frames.

Not an upstream uniface family: this is our own, on the official ONNX export's
signature (`src`, `r1i`..`r4i`, `downsample_ratio` -> `fgr`, `pha`,
`r1o`..`r4o`). The four recurrent tensors returned for one frame are fed with
the next, so consecutive `predict` calls on one object form a video; `reset()`
starts a new one. A frame of another size, or another downsample ratio,
starts a new sequence by itself (the old state cannot be fed at the new size).
"""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.matting import rvm_downsample_ratio, rvm_initial_state, rvm_input, rvm_outputs
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import ModelInfo
from .base import BaseMatting

__all__ = ["RVM_WEIGHTS", "RVMWeights", "RobustVideoMatting"]

RVM_INPUTS = ("src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio")
RVM_OUTPUTS = ("fgr", "pha", "r1o", "r2o", "r3o", "r4o")


class RVMWeights(str, Enum):
    """Robust Video Matting exports (official release v1.0.0, float32)."""

    MOBILENETV3 = "rvm_mobilenetv3"
    RESNET50 = "rvm_resnet50"


_RELEASE = "https://github.com/PeterL1n/RobustVideoMatting/releases/download/v1.0.0/"

# No sha256 is published for these files, and downloads here are only ever sha256-verified, so the slots are
# filled by a local file: `<cache>/<value>.onnx` or `model_path=`.
RVM_WEIGHTS = {
    member: ModelInfo(
        None,
        None,
        f"{member.value}.onnx",
        f"no sha256 is published for RVM's {_RELEASE}{member.value}_fp32.onnx, so it is not downloaded; "
        f"place that file at {member.value}.onnx in the cache folder or pass model_path=",
    )
    for member in RVMWeights
}


class RobustVideoMatting(BaseMatting):
    """`predict(frame) -> (H, W) float32` alpha; `predict_foreground(frame) -> (BGR uint8 foreground, alpha)`.

    Each call feeds the previous call's recurrent state (per object: one
    object per video). `downsample_ratio` None picks RVM's automatic ratio
    (working resolution at most 512 px on the long side).
    """

    default_model = RVMWeights.MOBILENETV3

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        downsample_ratio: float | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        names = [i.name for i in self.inputs]
        if sorted(names) != sorted(RVM_INPUTS) or [o.name for o in self.outputs] != list(RVM_OUTPUTS):
            raise ValueError(
                f"{self.model_path}: expected RVM's inputs {list(RVM_INPUTS)} and outputs {list(RVM_OUTPUTS)}, "
                f"the model has {names} -> {[o.name for o in self.outputs]}"
            )
        if downsample_ratio is not None and not 0 < downsample_ratio <= 1:
            raise ValueError(f"downsample_ratio must be in (0, 1], got {downsample_ratio}")
        self.downsample_ratio = downsample_ratio
        self.frames = 0  # frames since the state was last reset
        self._state = rvm_initial_state()
        self._key: tuple | None = None  # (height, width, ratio) the state belongs to

    def _registry_entry(self):
        return RVM_WEIGHTS.get(self.model_name)

    @property
    def state(self) -> list[np.ndarray]:
        """Copies of the four recurrent tensors the next frame will be fed."""
        return [s.copy() for s in self._state]

    def reset(self) -> None:
        """Forget the recurrent state: the next frame starts a new sequence."""
        self._state = rvm_initial_state()
        self._key = None
        self.frames = 0

    def ratio_for(self, height: int, width: int) -> float:
        return self.downsample_ratio if self.downsample_ratio is not None else rvm_downsample_ratio(height, width)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, int, int]:
        return rvm_input(image), image.shape[0], image.shape[1]

    def postprocess(self, outputs: list[np.ndarray], original_size: tuple[int, int]) -> np.ndarray:
        return rvm_outputs(outputs[0], outputs[1])[1]

    def _step(self, image: np.ndarray) -> list[np.ndarray]:
        src, h, w = self.preprocess(ensure_bgr(image))
        ratio = self.ratio_for(h, w)
        key = (h, w, ratio)
        if key != self._key:
            self.reset()
            self._key = key
        feed = {"src": src, "downsample_ratio": np.array([ratio], dtype=np.float32)}
        feed.update({f"r{i}i": s for i, s in enumerate(self._state, 1)})
        outputs = self.session.run(feed)
        self._state = [np.asarray(o) for o in outputs[2:6]]
        self.frames += 1
        return outputs

    def predict(self, image: np.ndarray) -> np.ndarray:
        outputs = self._step(image)
        return self.postprocess(outputs, (image.shape[1], image.shape[0]))

    def predict_foreground(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(foreground as BGR uint8, alpha float32) of this frame."""
        outputs = self._step(image)
        return rvm_outputs(outputs[0], outputs[1])
