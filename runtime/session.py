"""An onnxruntime-like InferenceSession that runs the MLX translation.

Switch existing onnxruntime code with one import:
    from runtime import InferenceSession
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opset.execute import to_mx, to_numpy
from translator.api import MODES, convert
from translator.errors import InputError, TranslatorError
from translator.frontend import ModelSource, load_model
from translator.image_input import ImageInput

import mlx.core as mx
import numpy as np
import onnx

from .loader import CompiledModel, load_module_model, load_oplist_model

_ONNX_TYPE_NAMES = {
    "float32": "tensor(float)", "float64": "tensor(double)", "float16": "tensor(float16)",
    "bfloat16": "tensor(bfloat16)", "int8": "tensor(int8)", "int16": "tensor(int16)",
    "int32": "tensor(int32)", "int64": "tensor(int64)", "uint8": "tensor(uint8)",
    "uint16": "tensor(uint16)", "uint32": "tensor(uint32)", "uint64": "tensor(uint64)",
    "bool": "tensor(bool)",
}  # fmt: skip


@dataclass
class NodeArg:
    """Mirrors onnxruntime.NodeArg: name, shape (ints, dim names or None) and type."""

    name: str
    shape: list
    type: str
    dtype: np.dtype | None = None


def _node_args(values) -> list[NodeArg]:
    out = []
    for vi in values:
        tt = vi.type.tensor_type
        dtype = None
        if tt.elem_type:
            try:
                dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
            except (KeyError, TypeError, ValueError):
                dtype = None
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim]
        out.append(
            NodeArg(
                vi.name, shape, _ONNX_TYPE_NAMES.get(dtype.name if dtype is not None else "", "tensor(unknown)"), dtype
            )
        )
    return out


class InferenceSession:
    """Translate an ONNX model to MLX and run it with onnxruntime's API.

    Models with dynamic input dims are translated once per concrete input
    shape, so shape sub-graphs fold to constants (translations are cached).
    With `image_input`, the model's image input is fed as the 8-bit NHWC image
    (uint8, what OpenCV gives), normalized inside the translated network.
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
        image_input: ImageInput | None = None,
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
        self.dynamic = any(not isinstance(d, int) for a in self._inputs for d in a.shape)
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
        shapes = tuple(tuple(a.shape) for a in arrays) if self.dynamic else None
        model = self._compiled(shapes)
        outs = model(*[to_mx(a) for a in arrays])
        mx.eval(*outs)
        by_name = {spec.onnx_name: out for spec, out in zip(model.outputs, outs)}
        names = list(output_names) if output_names else [o.name for o in self._outputs]
        result = []
        for name in names:
            if name not in by_name:
                raise InputError(
                    f"{self._label}: no output named {name!r} (outputs: {[o.name for o in self._outputs]})"
                )
            result.append(to_numpy(by_name[name], self._output_dtype(name)))
        return result

    # -- internals --------------------------------------------------------
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

    def _compiled(self, shapes: tuple | None) -> CompiledModel:
        model = self._models.get(shapes)
        if model is not None:
            return model
        input_shapes = None
        name = "model"
        if shapes is not None:
            nhwc = self.nhwc_inputs or self.image_input is not None
            input_shapes = {arg.name: _nchw(s) if nhwc else s for arg, s in zip(self._inputs, shapes)}
            name = "model_" + "_".join("x".join(map(str, s)) for s in shapes)
        written = convert(self._source, self._dir, mode=self.mode, name=name, optimize=self.optimize,
                          input_shapes=input_shapes, nhwc_inputs=self.nhwc_inputs, tune=self.tune,
                          native=self.native, image_input=self.image_input)  # fmt: skip
        main = written.paths[0]
        model = load_module_model(main) if self.mode == "module" else load_oplist_model(main)
        self._models[shapes] = model
        return model


def _nchw(shape: tuple) -> tuple:
    return (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else shape
