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
from typing import Any

import numpy as np
import onnx

from .download import sha256_file

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


class ModelRunner:
    """Common API: `inputs`, `outputs`, `backend`, `run(feed) -> list of arrays in output order`."""

    backend: str = ""

    def __init__(self, path: str | os.PathLike, inputs: list[TensorInfo], outputs: list[TensorInfo]):
        self.path = Path(path)
        self.inputs = inputs
        self.outputs = outputs

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
        self, path: str | os.PathLike, inputs=None, outputs=None, threads: int | None = None, dynamic: bool = False
    ):
        """`dynamic=True` frees the declared input sizes, as the MLX runner's one dynamic translation does
        (YuNet declares 640x640 but computes every shape from its input)."""
        import onnxruntime as ort

        if inputs is None or outputs is None:
            inputs, outputs = read_signature(path)
        super().__init__(path, inputs, outputs)
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
    ):
        if inputs is None or outputs is None:
            inputs, outputs = read_signature(path)
        if dynamic and input_shapes:
            raise ValueError("give input_shapes or dynamic=True, not both")
        super().__init__(path, inputs, outputs)
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
                dynamic=self.one_translation,
            )  # fmt: skip
            self.translated_now |= fresh
            self._models[key] = model
        return model

    def _run(self, feed):
        import mlx.core as mx

        shapes = {i.name: tuple(feed[i.name].shape) for i in self.inputs} if self.dynamic else None
        model = self._model_for(shapes)
        args = []
        for spec in model.inputs:
            if spec.onnx_name not in feed:
                from translator.errors import InputError

                raise InputError(
                    f"{self.path.name}: missing input {spec.onnx_name!r}; the model takes {[i.name for i in self.inputs]}"
                )
            args.append(mx.array(feed[spec.onnx_name]))
        outs = model(*args)
        mx.eval(*outs)
        by_name = {spec.onnx_name: out for spec, out in zip(model.outputs, outs)}
        return [_to_numpy(by_name[o.name], o.dtype) for o in self.outputs]


def _to_numpy(x, dtype: np.dtype) -> np.ndarray:
    import mlx.core as mx

    if x.dtype == mx.bfloat16:
        x = x.astype(mx.float32)
    arr = np.array(x)
    return arr if arr.dtype == dtype else arr.astype(dtype)


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
) -> ModelRunner:
    """A runner for `path` on `backend` ('mlx' or 'onnx').

    `dynamic=True` (MLX): one translation for every input size, instead of one per size seen.

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
        return OnnxRunner(path, inputs, outputs, dynamic=dynamic)
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
        )
    except (TranslatorError, ImportError) as exc:
        if not fallback:
            raise
        log.warning("MLX backend unavailable for %s (%s); using onnxruntime", path.name, str(exc).splitlines()[0])
        return OnnxRunner(path, inputs, outputs, dynamic=dynamic)
