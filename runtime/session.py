"""An onnxruntime-like InferenceSession that runs the MLX translation.

Switch existing onnxruntime code with one import:
    from runtime import InferenceSession
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opset import native
from opset.execute import to_mx
from translator.api import MODES, convert
from translator.batch_split import ImageSplit, image_split
from translator.errors import InputError, TranslatorError
from translator.frontend import ModelSource, load_model
from translator.image_input import ImageInput

import mlx.core as mx
import numpy as np
import onnx

from .loader import CompiledModel, load_module_model, load_oplist_model

# A batch runs as sub-batches whose largest feature map fits this (translator/batch_split.py): half of
# glibc's largest mmap threshold (32 MB), so the maps are reused heap memory, not faulted in afresh each
# forward; 640x640 detectors run 2 images at a time (8 and 16 MB measured alike, 32 MB faulted again in
# one run of two), MobileFaceNet 10. MLX_UNIFACE_SUB_BATCH_MB=0 runs every batch whole.
DEFAULT_SUB_BATCH_MB = 16.0

_ONNX_TYPE_NAMES = {
    "float32": "tensor(float)", "float64": "tensor(double)", "float16": "tensor(float16)",
    "bfloat16": "tensor(bfloat16)", "int8": "tensor(int8)", "int16": "tensor(int16)",
    "int32": "tensor(int32)", "int64": "tensor(int64)", "uint8": "tensor(uint8)",
    "uint16": "tensor(uint16)", "uint32": "tensor(uint32)", "uint64": "tensor(uint64)",
    "bool": "tensor(bool)",
}  # fmt: skip


@dataclass
class NodeArg:
    """Mirrors onnxruntime.NodeArg: name, shape (ints, dim names or None) and type.

    `kind` is "tensor", "sequence" (fed and returned as a list of arrays) or "optional" (None or a value);
    for the latter two, `dtype` is the elements' and `type` reads e.g. "seq(tensor(float))".
    """

    name: str
    shape: list
    type: str
    dtype: np.dtype | None = None
    kind: str = "tensor"
    elem_kind: str = "tensor"  # an optional's content: a tensor or a sequence


def _node_arg(name: str, type_proto: onnx.TypeProto) -> NodeArg:
    which = type_proto.WhichOneof("value")
    if which == "sequence_type":
        inner = _node_arg(name, type_proto.sequence_type.elem_type)
        return NodeArg(name, [], f"seq({inner.type})", inner.dtype, "sequence")
    if which == "optional_type":
        inner = _node_arg(name, type_proto.optional_type.elem_type)
        return NodeArg(name, inner.shape, f"optional({inner.type})", inner.dtype, "optional", inner.kind)
    tt = type_proto.tensor_type
    dtype = None
    if tt.elem_type:
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except (KeyError, TypeError, ValueError):
            dtype = None
    # -1 (paddle2onnx) and 0 mark dynamic dims on inputs (translator.frontend reads them the same way)
    shape = [
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or None) for d in tt.shape.dim
    ]
    return NodeArg(name, shape, _ONNX_TYPE_NAMES.get(dtype.name if dtype is not None else "", "tensor(unknown)"), dtype)


def _node_args(values) -> list[NodeArg]:
    return [_node_arg(vi.name, vi.type) for vi in values]


class InferenceSession:
    """Translate an ONNX model to MLX and run it with onnxruntime's API.

    Models with dynamic input dims are translated once per concrete input
    shape, so shape sub-graphs fold to constants (translations are cached).
    With `dynamic=True` the model is translated once, every input dim dynamic
    (declared sizes included), and that one translation runs at any size.
    With `image_input`, the model's image input is fed as the 8-bit NHWC image
    (uint8, what OpenCV gives), normalized inside the translated network.
    A batch whose images the graph provably keeps apart runs as sub-batches small
    enough to keep their feature maps reusable and in cache (`sub_batch_mb`, default
    MLX_UNIFACE_SUB_BATCH_MB or 16; 0 runs every batch whole).
    """

    def __init__(
        self,
        path_or_model: ModelSource,
        sess_options: Any = None,
        providers: Sequence[str] | None = None,
        *,
        mode: str = "oplist",
        optimize: bool = True,
        cache_dir: str | Path | None = None,
        nhwc_inputs: bool = False,
        tune: bool = False,
        native: bool | None = None,
        dynamic: bool = False,
        image_input: ImageInput | None = None,
        sub_batch_mb: float | None = None,
    ):
        if mode not in MODES:
            raise TranslatorError(f"unknown mode {mode!r}; use one of {MODES}")
        self.mode = mode
        self.optimize = optimize
        self.nhwc_inputs = nhwc_inputs
        self.tune = tune
        self.native = native
        self.image_input = image_input
        loaded = load_model(path_or_model)
        self._source = loaded.model
        self._label = loaded.label
        self._sha = loaded.sha256
        init = {i.name for i in loaded.model.graph.initializer}
        self._inputs = _node_args([i for i in loaded.model.graph.input if i.name not in init])
        if nhwc_inputs or image_input is not None:  # 4-D inputs are fed channels-last (what cv2 gives)
            for arg in self._inputs:
                if len(arg.shape) == 4:
                    arg.shape = [arg.shape[0], arg.shape[2], arg.shape[3], arg.shape[1]]
                    if image_input is not None:  # the 8-bit image itself (translator/image_input.py)
                        arg.dtype, arg.type = np.dtype(np.uint8), _ONNX_TYPE_NAMES["uint8"]
        self._outputs = _node_args(loaded.model.graph.output)
        self._tmp = None
        if cache_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlx-session-")
            cache_dir = self._tmp.name
        self._dir = Path(cache_dir)
        self._models: dict[tuple, CompiledModel] = {}
        self._splits: dict[tuple, ImageSplit | None] = {}
        if sub_batch_mb is None:
            sub_batch_mb = float(os.environ.get("MLX_UNIFACE_SUB_BATCH_MB", DEFAULT_SUB_BATCH_MB))
        self.sub_batch_bytes = int(sub_batch_mb * (1 << 20))
        self.one_translation = dynamic
        if dynamic:  # every dim dynamic, as the translation sees them
            for arg in self._inputs:
                arg.shape = [f"{arg.name}_dim{i}" if isinstance(d, int) else d for i, d in enumerate(arg.shape)]
        # Otherwise dynamic tensor dims mean one translation per concrete input shape (shape sub-graphs fold away).
        self.dynamic = not dynamic and any(
            not isinstance(d, int) for a in self._inputs if a.kind == "tensor" for d in a.shape
        )
        if not self.dynamic:
            self._compiled(None)

    # -- onnxruntime API --------------------------------------------------
    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_providers(self) -> list[str]:
        return ["MLXExecutionProvider"]

    def run(
        self, output_names: Sequence[str] | None, input_feed: dict[str, Any], run_options: Any = None
    ) -> list[np.ndarray]:
        arrays = self._check_feed(input_feed)
        names = list(output_names) if output_names else [o.name for o in self._outputs]
        for name in names:
            if name not in {o.name for o in self._outputs}:
                raise InputError(
                    f"{self._label}: no output named {name!r} (outputs: {[o.name for o in self._outputs]})"
                )
        split = self._split(arrays)
        if split is not None:
            size = split.sub_batch(self.sub_batch_bytes)
            parts = [self._forward(names, [a[i : i + size] for a in arrays]) for i in range(0, split.batch, size)]
            return [split.assemble(name, [p[k] for p in parts]) for k, name in enumerate(names)]
        return self._forward(names, arrays)

    # -- internals --------------------------------------------------------
    def _forward(self, names: list[str], arrays: list) -> list:
        shapes = None
        if self.dynamic:
            shapes = tuple(tuple(a.shape) if arg.kind == "tensor" else None for arg, a in zip(self._inputs, arrays))
        model = self._compiled(shapes)
        inputs = [_to_mx_value(a) for a in arrays]  # held until the outputs are numpy: borrowed buffers stay read
        try:
            outs = model(*inputs)
            mx.eval(*_arrays_in(outs))
            by_name = {spec.onnx_name: out for spec, out in zip(model.outputs, outs)}
            return model.handoff.to_numpy(names, [by_name[name] for name in names],
                                          [self._output_dtype(name) for name in names], inputs)  # fmt: skip
        finally:
            del inputs
            native.release_borrowed()

    def _split(self, arrays: list) -> ImageSplit | None:
        """How this batch splits into sub-batches that keep their maps in cache, or None: run it whole."""
        if self.sub_batch_bytes <= 0 or any(arg.kind != "tensor" for arg in self._inputs):
            return None
        if len({a.shape[0] if a.ndim else 0 for a in arrays}) != 1 or arrays[0].ndim == 0 or len(arrays[0]) < 2:
            return None
        shapes = tuple(tuple(a.shape) for a in arrays)
        if shapes not in self._splits:
            nhwc = self.nhwc_inputs or self.image_input is not None
            at = {arg.name: _nchw(s) if nhwc else s for arg, s in zip(self._inputs, shapes)}
            self._splits[shapes] = image_split(self._source, at)
        split = self._splits[shapes]
        if split is None or split.sub_batch(self.sub_batch_bytes) >= split.batch:
            return None
        return split

    def _output_dtype(self, name: str) -> np.dtype | None:
        return next((o.dtype for o in self._outputs if o.name == name), None)

    def _check_feed(self, feed: dict[str, Any]) -> list[np.ndarray]:
        if not isinstance(feed, dict):
            raise InputError(f"{self._label}: input_feed must be a dict of name -> array")
        expected = [i.name for i in self._inputs]
        extra = sorted(set(feed) - set(expected))
        missing = [n for n in expected if n not in feed]
        if extra or missing:
            raise InputError(f"{self._label}: inputs missing {missing}, unexpected {extra}; the model takes {expected}")
        arrays = []
        for arg in self._inputs:
            a = feed[arg.name]
            if arg.kind != "tensor":
                arrays.append(self._check_container(arg, a))
                continue
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if arg.dtype is not None and a.dtype != arg.dtype:
                raise InputError(f"{self._label}: input {arg.name!r} must be {arg.type}, got {a.dtype}")
            if len(arg.shape) != a.ndim:
                raise InputError(
                    f"{self._label}: input {arg.name!r} must have rank {len(arg.shape)} {arg.shape}, got shape {a.shape}"
                )
            for i, (want, got) in enumerate(zip(arg.shape, a.shape)):
                if isinstance(want, int) and want != got:
                    raise InputError(f"{self._label}: input {arg.name!r} dim {i} must be {want}, got shape {a.shape}")
            arrays.append(np.require(a, requirements="C"))
        return arrays

    def _check_container(self, arg: NodeArg, value: Any) -> Any:
        """A sequence input as a list of C-ordered arrays; an optional one as None or its content."""
        if arg.kind == "optional":
            if value is None:
                return None
            inner = NodeArg(arg.name, arg.shape, arg.type, arg.dtype, arg.elem_kind)
            if inner.kind == "sequence":
                return self._check_container(inner, value)
            value = np.asarray(value)
            if arg.dtype is not None and value.dtype != arg.dtype:
                raise InputError(f"{self._label}: input {arg.name!r} must hold {arg.dtype}, got {value.dtype}")
            return np.require(value, requirements="C")
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{self._label}: input {arg.name!r} is a sequence: feed a list of arrays")
        items = []
        for i, item in enumerate(value):
            item = np.asarray(item)
            if arg.dtype is not None and item.dtype != arg.dtype:
                raise InputError(f"{self._label}: input {arg.name!r} item {i} must be {arg.dtype}, got {item.dtype}")
            items.append(np.require(item, requirements="C"))
        return items

    def _compiled(self, shapes: tuple | None) -> CompiledModel:
        model = self._models.get(shapes)
        if model is not None:
            return model
        input_shapes = None
        name = "model"
        if shapes is not None:
            nhwc = self.nhwc_inputs or self.image_input is not None
            input_shapes = {arg.name: _nchw(s) if nhwc else s for arg, s in zip(self._inputs, shapes) if s is not None}
            name = "model_" + "_".join("x".join(map(str, s)) for s in shapes if s is not None)
        written = convert(self._source, self._dir, mode=self.mode, name=name, optimize=self.optimize,
                          input_shapes=input_shapes, nhwc_inputs=self.nhwc_inputs, tune=self.tune,
                          native=self.native, dynamic=self.one_translation, image_input=self.image_input)  # fmt: skip
        main = written.paths[0]
        model = load_module_model(main) if self.mode == "module" else load_oplist_model(main)
        self._models[shapes] = model
        return model


def _to_mx_value(value: Any) -> Any:
    """A fed value as MLX: arrays, lists of arrays (sequences), None (an empty optional)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [to_mx(v) for v in value]
    return to_mx(value, in_place=True)


def _arrays_in(values) -> list[mx.array]:
    out = []
    for v in values:
        if isinstance(v, list):
            out += v
        elif v is not None:
            out.append(v)
    return out


def _nchw(shape: tuple) -> tuple:
    return (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else shape
