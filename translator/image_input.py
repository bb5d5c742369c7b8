"""Image in, not tensor in: a translated network that takes the 8-bit image OpenCV gives.

`translate(..., image_input=ImageInput(mean, std, bgr_to_rgb))` makes the model's one NCHW float input
(N, C, H, W) an 8-bit NHWC image (N, H, W, C) of the same name, and puts the preprocessing every face
model's caller did in numpy into the graph:

    model_input[c] = (float(image[perm[c]]) - mean[c]) / std[c]

(perm swaps BGR to RGB when the model wants RGB). In graph terms: an `ImageNormalize` node (mlx.nhwc) and
a Transpose to NCHW, which the layout pass cancels against the stem conv's own. With the native kernels,
`passes/image_input.py` then folds the normalization and the channel order into the stem conv's weights,
which reads the uint8 image itself (`native.image_conv2d`): the numpy blob, the float32 image and its
copy into MLX are never made. Without them, `ImageNormalize` runs as MLX ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidModelError, TranslatorError
from .ir import Graph, Node, Value

NORMALIZE = "ImageNormalize"  # domain mlx.nhwc: uint8 NHWC image -> normalized float32 NHWC map
IMAGE_DOMAIN = "mlx.nhwc"
TO_NCHW = (0, 3, 1, 2)


@dataclass(frozen=True)
class ImageInput:
    """The normalization a model expects of an 8-bit image, in the model's channel order.

    mean, std: one value for every channel, or one per channel. bgr_to_rgb: the image is BGR (OpenCV's
    order) and the model wants RGB, so model channel c reads image channel C - 1 - c.
    """

    mean: float | Sequence[float] = 0.0
    std: float | Sequence[float] = 1.0
    bgr_to_rgb: bool = False

    def per_channel(self, channels: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(mean, std, perm) for `channels` model channels: model channel c reads image channel perm[c]."""
        mean = np.broadcast_to(np.asarray(self.mean, np.float64).reshape(-1), (channels,)).copy()
        std = np.broadcast_to(np.asarray(self.std, np.float64).reshape(-1), (channels,)).copy()
        if np.any(std == 0) or not (np.all(np.isfinite(std)) and np.all(np.isfinite(mean))):
            raise TranslatorError(f"image input: std must be finite and non-zero, mean finite (got {self})")
        perm = list(range(channels))[::-1] if self.bgr_to_rgb else list(range(channels))
        return mean, std, perm

    def key(self) -> str:
        """A short, stable text for cache keys and file names."""
        fmt = lambda v: ":".join(f"{x:g}" for x in np.asarray(v, np.float64).reshape(-1))  # noqa: E731
        return f"img{fmt(self.mean)},{fmt(self.std)}{',rgb' if self.bgr_to_rgb else ''}"


def parse_image_input(text: str) -> ImageInput:
    """The CLI's `--image-input MEAN,STD[,rgb]`: MEAN and STD a number or three colon-separated numbers
    (the model's channel order); `rgb` when the model wants RGB from OpenCV's BGR image."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() not in ("rgb", "bgr")):
        raise TranslatorError(
            f"--image-input wants MEAN,STD[,rgb] (e.g. 127.5,127.5,rgb or 104:117:123,1), got {text!r}"
        )

    def numbers(p: str) -> float | tuple[float, ...]:
        try:
            vals = tuple(float(v) for v in p.split(":"))
        except ValueError:
            raise TranslatorError(f"--image-input: {p!r} is not a number or colon-separated numbers") from None
        return vals[0] if len(vals) == 1 else vals

    return ImageInput(numbers(parts[0]), numbers(parts[1]), len(parts) == 3 and parts[2].lower() == "rgb")


def apply_image_input(graph: Graph, spec: ImageInput, label: str = "model") -> str:
    """Make the graph's NCHW float input an 8-bit NHWC image; returns its name (unchanged)."""
    candidates = [n for n in graph.inputs if graph.value(n).shape is not None and len(graph.value(n).shape) == 4]
    if len(candidates) != 1:
        raise InvalidModelError(
            f"{label}: image input needs exactly one 4-D (N, C, H, W) input, found {len(candidates)} among {graph.inputs}"
        )
    name = candidates[0]
    v = graph.value(name)
    n, c, h, w = v.shape
    if not isinstance(c, int) or not 1 <= c <= 4:
        raise InvalidModelError(f"{label}: image input {name!r} must have 1 to 4 channels (dim 1), got shape {v.shape}")
    if v.dtype is not None and np.dtype(v.dtype).kind != "f":
        raise InvalidModelError(f"{label}: image input {name!r} must be a float tensor, got {np.dtype(v.dtype)}")
    for given, what in ((spec.mean, "mean"), (spec.std, "std")):
        size = np.asarray(given).size
        if size not in (1, c):
            raise TranslatorError(f"{label}: image input {what} has {size} values for {c} channels")
    mean, std, perm = spec.per_channel(c)
    float_dtype = np.dtype(v.dtype) if v.dtype is not None else np.dtype(np.float32)
    nhwc = graph.fresh_name(f"{name}_normalized")
    nchw = graph.fresh_name(f"{name}_nchw")
    graph.add_value(Value(nhwc, float_dtype, (n, h, w, c)))
    graph.add_value(Value(nchw, float_dtype, (n, c, h, w)))
    graph.replace_uses(name, nchw)
    v.dtype, v.shape = np.dtype(np.uint8), (n, h, w, c)
    attrs = {"mean": [float(m) for m in mean], "std": [float(s) for s in std], "perm": perm}
    graph.add_node(Node(graph.fresh_name(f"{name}_normalize"), NORMALIZE, IMAGE_DOMAIN, [name], [nhwc], attrs))
    graph.add_node(Node(graph.fresh_name(f"{name}_to_nchw"), "Transpose", "", [nhwc], [nchw], {"perm": list(TO_NCHW)}))
    return name
