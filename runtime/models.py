"""One interface over the two ways to run an ONNX file: translated MLX, or onnxruntime.

Both runners take and return numpy arrays keyed by the ONNX graph's own input
and output names, so everything around them (pre/post-processing) is shared
and the backends can be compared output for output.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from .download import sha256_file

if TYPE_CHECKING:  # the translator is imported only where a translation is made
    from translator.image_input import ImageInput

log = logging.getLogger(__name__)

BACKENDS = ("mlx", "onnx")


@dataclass(frozen=True)
class TensorInfo:
    """Name, declared shape (ints, or None for dynamic dims) and numpy dtype of a graph input/output."""

    name: str
    shape: tuple
    dtype: np.dtype


def _infos(values) -> list[TensorInfo]:
    out = []
    for vi in values:
        tt = vi.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)) if tt.elem_type else np.dtype(np.float32)
        # -1 (paddle2onnx) and 0 mark dynamic dims, as the translator reads them
        shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim)
        out.append(TensorInfo(vi.name, shape, dtype))
    return out


def read_signature(path: str | os.PathLike) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """(inputs, outputs) of an ONNX file, initializers excluded from the inputs (memoized per file version)."""
    st = os.stat(path)
    return _read_signature(os.path.realpath(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _read_signature(path: str, mtime_ns: int, size: int) -> tuple[list[TensorInfo], list[TensorInfo]]:
    model = onnx.load(path, load_external_data=False)
    init = {i.name for i in model.graph.initializer}
    return _infos([i for i in model.graph.input if i.name not in init]), _infos(model.graph.output)


def image_blob(images: np.ndarray, spec: ImageInput) -> np.ndarray:
    """The float32 NCHW tensor a model expects of 8-bit HWC (or NHWC) images: channels reordered
    (`bgr_to_rgb`), (x - mean) / std, transposed: what every facade did in numpy before calling a model.

    Written image by image into one output, with no float temporaries: a batch of eight 640x640
    images built at once made ~40 MB temporaries, each mapped and faulted in afresh (53 ms there,
    20 ms this way; 1.9 -> 1.4 ms for one image). The values are the same to the bit."""
    batch = images if images.ndim == 4 else images[None]
    mean, std, perm = spec.per_channel(batch.shape[3])
    mean = mean.astype(np.float32)[:, None, None]
    std = std.astype(np.float32)[:, None, None]
    n, h, w, c = batch.shape
    out = np.empty((n, c, h, w), dtype=np.float32)
    for i in range(n):
        np.subtract(batch[i].transpose(2, 0, 1)[perm], mean, out=out[i])
        np.divide(out[i], std, out=out[i])
    return out


def _check_images(images: np.ndarray, where: str) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim not in (3, 4):
        what = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"{where}: run_image takes a uint8 HWC image or NHWC batch (as OpenCV gives), got {what}")
    return images


class ModelRunner:
    """Common API: `inputs`, `outputs`, `backend`, `run(feed) -> list of arrays in output order`.

    Runners opened with an `image_input` also take 8-bit images: `run_image(img)` (HWC, or NHWC for a
    batch). onnxruntime then gets the float blob made in numpy (`image_blob`); an MLX translation made
    with the image input reads the image itself, normalized inside the network (translator/image_input.py).
    """

    backend: str = ""

    def __init__(
        self,
        path: str | os.PathLike,
        inputs: list[TensorInfo],
        outputs: list[TensorInfo],
        image_input: ImageInput | None = None,
    ):
        self.path = Path(path)
        self.inputs = inputs
        self.outputs = outputs
        self.image_input = image_input

    def run_image(self, images: np.ndarray) -> list[np.ndarray]:
        """Run on 8-bit HWC image(s) (BGR, as OpenCV reads them), normalized as `image_input` says."""
        if self.image_input is None:
            raise ValueError(f"{self.path.name}: opened without image_input, so run_image has no normalization")
        return self.run(image_blob(_check_images(images, self.path.name), self.image_input))

    @property
    def input_name(self) -> str:
        return self.inputs[0].name

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def run(self, feed: dict[str, np.ndarray] | np.ndarray) -> list[np.ndarray]:
        """Run once; `feed` is `{input name: array}` or a single array for one-input models."""
        if isinstance(feed, np.ndarray):
            feed = {self.input_name: feed}
        return self._run({k: np.ascontiguousarray(v) for k, v in feed.items()})

    def run_named(self, feed: dict[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        """Like `run`, keyed by output name."""
        return dict(zip(self.output_names, self.run(feed)))

    def _run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path.name!r}, backend={self.backend!r})"


class OnnxRunner(ModelRunner):
    """onnxruntime on the CPU: the reference every MLX result is compared with."""

    backend = "onnx"

    def __init__(
        self,
        path: str | os.PathLike,
        inputs=None,
        outputs=None,
        threads: int | None = None,
        dynamic: bool = False,
        image_input: ImageInput | None = None,
    ):
        """`dynamic=True` frees the declared input sizes, as the MLX runner's one dynamic translation does
        (YuNet declares 640x640 but computes every shape from its input)."""
        import onnxruntime as ort

        if inputs is None or outputs is None:
            inputs, outputs = read_signature(path)
        super().__init__(path, inputs, outputs, image_input)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        source: str | bytes = str(path)
        if dynamic:
            from translator.api import free_input_dims

            model = onnx.load(str(path))
            free_input_dims(model, True, Path(path).name)
            source = model.SerializeToString()
        self.session = ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])

    def _run(self, feed):
        return [np.asarray(o) for o in self.session.run(None, feed)]


class MlxRunner(ModelRunner):
    """The translated model, loaded from (or added to) the translation cache.

    Dynamic input dims are resolved per concrete shape: `input_shapes` fixes
    them up front (translated at construction), otherwise each new shape
    seen by `run` is translated once and cached. `dynamic=True` instead
    translates once with every input dim dynamic (declared sizes included):
    that one translation runs at any input size.

    With `image_input`, the translation takes the 8-bit NHWC image in place of
    the NCHW float tensor (`run_image`); `run` then takes that image batch too.
    """

    backend = "mlx"

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        cache_dir: str | os.PathLike,
        mode: str = "module",
        sha256: str | None = None,
        input_shapes: dict[str, tuple[int, ...]] | None = None,
        inputs=None,
        outputs=None,
        dynamic: bool = False,
        image_input: ImageInput | None = None,
    ):
        if inputs is None or outputs is None:
            inputs, outputs = read_signature(path)
        if dynamic and input_shapes:
            raise ValueError("give input_shapes or dynamic=True, not both")
        super().__init__(path, inputs, outputs, image_input)
        self.mode = mode
        self.cache_dir = Path(cache_dir)
        self.sha256 = sha256 or sha256_file(path)
        self.translated_now = False
        self._models: dict[tuple, Any] = {}
        self.one_translation = dynamic
        self.dynamic = not dynamic and any(d is None for i in inputs for d in i.shape)
        if not self.dynamic:
            self._model_for(None)
        elif input_shapes:
            self._model_for({k: tuple(v) for k, v in input_shapes.items()})

    def _model_for(self, shapes: dict[str, tuple[int, ...]] | None):
        key = tuple(sorted(shapes.items())) if shapes else ()
        model = self._models.get(key)
        if model is None:
            from .cache import load_or_translate

            model, fresh = load_or_translate(
                self.path, self.sha256, self.cache_dir, mode=self.mode, input_shapes=shapes,
                dynamic=self.one_translation, image_input=self.image_input,
            )  # fmt: skip
            self.translated_now |= fresh
            self._models[key] = model
        return model

    def run_image(self, images: np.ndarray) -> list[np.ndarray]:
        """Run on 8-bit HWC image(s): the translation reads them as they are (no float blob, no copy of one)."""
        if self.image_input is None:
            return super().run_image(images)
        batch = _check_images(images, self.path.name)
        return self._run({self.input_name: np.ascontiguousarray(batch if batch.ndim == 4 else batch[None])})

    def _run(self, feed):
        from opset import native

        import mlx.core as mx

        shapes = None
        if self.dynamic:  # in the ONNX graph's terms: an image batch (N, H, W, C) is the NCHW input (N, C, H, W)
            shapes = {i.name: tuple(feed[i.name].shape) for i in self.inputs}
            if self.image_input is not None:
                n, h, w, c = shapes[self.input_name]
                shapes[self.input_name] = (n, c, h, w)
        model = self._model_for(shapes)
        args = []
        for spec in model.inputs:
            if spec.onnx_name not in feed:
                from translator.errors import InputError

                raise InputError(
                    f"{self.path.name}: missing input {spec.onnx_name!r}; the model takes {[i.name for i in self.inputs]}"
                )
            args.append(native.borrow(feed[spec.onnx_name]))  # held until the outputs are numpy
        try:
            outs = model(*args)
            mx.eval(*outs)
            by_name = {spec.onnx_name: out for spec, out in zip(model.outputs, outs)}
            names = [o.name for o in self.outputs]
            return model.handoff.to_numpy(names, [by_name[n] for n in names], [o.dtype for o in self.outputs], args)
        finally:
            del args
            native.release_borrowed()


def default_translation_dir(onnx_path: str | os.PathLike) -> Path:
    """Translations live next to the weights (`<weights folder>/mlx/`), or in the user cache if that is read-only."""
    parent = Path(onnx_path).resolve().parent
    if os.access(parent, os.W_OK):
        return parent / "mlx"
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "mlx-uniface" / "translations"


def open_model(
    path: str | os.PathLike,
    backend: str,
    *,
    mode: str = "module",
    cache_dir: str | os.PathLike | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    fallback: bool = False,
    dynamic: bool = False,
    image_input: ImageInput | None = None,
) -> ModelRunner:
    """A runner for `path` on `backend` ('mlx' or 'onnx').

    `dynamic=True` (MLX): one translation for every input size, instead of one per size seen.
    With `image_input` (the model's normalization of an 8-bit image), the runner's
    `run_image(img)` takes OpenCV's uint8 HWC image: onnxruntime is fed the float
    blob made in numpy, the MLX translation reads the image itself.

    With `fallback=True` an MLX translation failure (e.g. an op not lowered
    yet) logs a warning and returns the onnxruntime runner instead; without
    it the error propagates, so an explicitly requested backend never
    silently changes.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    inputs, outputs = read_signature(path)
    if backend == "onnx":
        return OnnxRunner(path, inputs, outputs, dynamic=dynamic, image_input=image_input)
    from translator.errors import TranslatorError

    try:
        return MlxRunner(
            path,
            cache_dir=cache_dir or default_translation_dir(path),
            mode=mode,
            input_shapes=input_shapes,
            inputs=inputs,
            outputs=outputs,
            dynamic=dynamic,
            image_input=image_input,
        )
    except (TranslatorError, ImportError) as exc:
        if not fallback:
            raise
        log.warning("MLX backend unavailable for %s (%s); using onnxruntime", path.name, str(exc).splitlines()[0])
        return OnnxRunner(path, inputs, outputs, dynamic=dynamic, image_input=image_input)
