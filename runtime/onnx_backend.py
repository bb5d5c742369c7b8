"""ONNX's backend API (`onnx.backend.base.Backend`) on top of the MLX translation.

Drop-in for code written against `onnxruntime.backend`:

    import runtime.onnx_backend as backend
    rep = backend.prepare(model, "CPU", mode="oplist")   # or mode="module"
    outputs = rep.run([x])                               # list (positional) or dict
    outputs = backend.run_node(node, [x, y])             # one node, dtypes from the arrays

It also plugs into ONNX's conformance machinery:

    import onnx.backend.test
    globals().update(onnx.backend.test.BackendTest(backend, __name__).include("test_relu").test_cases)

Models are translated once in `prepare` (through `runtime.session.InferenceSession`,
which retranslates per input shape for models with dynamic dims) and run with MLX
on the requested device. Every failure is one of `translator.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from translator.api import MODES
from translator.errors import InputError, InvalidModelError, TranslatorError, UnsupportedFeatureError

import mlx.core as mx
import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep, namedtupledict

from .session import InferenceSession

__all__ = [
    "MLXBackend",
    "MLXBackendRep",
    "is_compatible",
    "prepare",
    "run",
    "run_model",
    "run_node",
    "supports_device",
]

# Options `prepare` understands (passed on to InferenceSession).
_SESSION_OPTIONS = ("mode", "optimize", "cache_dir")
# Keys the ONNX test runner and `run_node` callers may pass that do not concern the session.
_IGNORED_OPTIONS = frozenset({"rtol", "atol", "opset_version"})


def _parse_device(device: str | None) -> tuple[str, int]:
    """'CPU', 'CUDA', 'CUDA:1', 'GPU' -> (kind, index); kind is 'CPU' or 'GPU'."""
    if device is None:
        return "CPU", 0
    if not isinstance(device, str):
        raise UnsupportedFeatureError(f"device must be a string like 'CPU' or 'CUDA:0', not {type(device).__name__}")
    kind, _, index = device.strip().partition(":")
    kind = kind.upper()
    if kind not in ("CPU", "CUDA", "GPU") or (index and not index.isdigit()):
        raise UnsupportedFeatureError(f"unknown device {device!r}; use 'CPU', 'CUDA[:n]' or 'GPU[:n]'")
    return ("CPU" if kind == "CPU" else "GPU"), int(index or 0)


def _gpu_available(kind: str) -> bool:
    """Whether MLX has a GPU for the ONNX device name `kind` ('CUDA' or 'GPU')."""
    cuda = getattr(mx, "cuda", None)
    has_cuda = bool(cuda is not None and cuda.is_available())
    if kind == "CUDA":
        return has_cuda
    metal = getattr(mx, "metal", None)
    return has_cuda or bool(metal is not None and metal.is_available())


def _mx_device(device: str | None) -> mx.Device:
    kind, index = _parse_device(device)
    if kind == "CPU":
        return mx.Device(mx.cpu, index)
    raw = (device or "").strip().partition(":")[0].upper()
    if not _gpu_available(raw):
        raise UnsupportedFeatureError(f"device {device!r} is not available: this MLX build has no such GPU")
    return mx.Device(mx.gpu, index)


def _session_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(k for k in kwargs if k not in _SESSION_OPTIONS and k not in _IGNORED_OPTIONS)
    if unknown:
        raise TranslatorError(f"unknown backend option(s) {unknown}; options are {list(_SESSION_OPTIONS)}")
    options = {k: kwargs[k] for k in _SESSION_OPTIONS if k in kwargs}
    options.setdefault("mode", "oplist")
    if options["mode"] not in MODES:
        raise TranslatorError(f"unknown mode {options['mode']!r}; use one of {MODES}")
    return options


def _as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, mx.array):
        return np.array(value)
    if isinstance(value, (list, tuple, dict)) or value is None:
        raise InputError(f"{what} must be a tensor (numpy array or scalar), got {type(value).__name__}")
    return np.asarray(value)


class MLXBackendRep(BackendRep):
    """A prepared model: `run(inputs)` returns the outputs as a namedtupledict.

    `inputs` is a list/tuple (one array per model input, in order), a dict
    (input name -> array) or a single array for a one-input model.
    """

    def __init__(self, session: InferenceSession, device: str = "CPU"):
        self.session = session
        self.device = device
        self._mx_device = _mx_device(device)
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        self._outputs_type = namedtupledict("Outputs", self.output_names)

    @property
    def mode(self) -> str:
        return self.session.mode

    def _feed(self, inputs: Any) -> dict[str, np.ndarray]:
        names = self.input_names
        if isinstance(inputs, Mapping):
            return {k: _as_array(v, f"input {k!r}") for k, v in inputs.items()}
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != len(names):
                raise InputError(f"the model takes {len(names)} input(s) {names}, got {len(inputs)}")
            return {n: _as_array(v, f"input {n!r}") for n, v in zip(names, inputs)}
        if len(names) != 1:
            raise InputError(f"the model takes {len(names)} inputs {names}: pass a list or a dict")
        return {names[0]: _as_array(inputs, f"input {names[0]!r}")}

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        feed = self._feed(inputs)
        with mx.stream(self._mx_device):
            outputs = self.session.run(None, feed)
        return self._outputs_type(*outputs)


class MLXBackend(Backend):
    """`onnx.backend.base.Backend` running models through the MLX translation."""

    @classmethod
    def is_compatible(cls, model: Any, device: str = "CPU", **kwargs: Any) -> bool:
        try:
            return cls.supports_device(device)
        except TranslatorError:
            return False

    @classmethod
    def supports_device(cls, device: str) -> bool:
        try:
            kind, _ = _parse_device(device)
        except TranslatorError:
            return False
        if kind == "CPU":
            return True
        return _gpu_available(device.strip().partition(":")[0].upper())

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> MLXBackendRep:
        """Translate `model` (ModelProto, bytes, path, InferenceSession or rep).

        kwargs: `mode` ("oplist" default, or "module"), `optimize` (bool),
        `cache_dir` (where translations are written; a temporary dir by default).
        """
        if device is None:
            device = "CPU"
        if isinstance(model, MLXBackendRep):
            return model if model.device == device else MLXBackendRep(model.session, device)
        _mx_device(device)  # reject unknown or unavailable devices before translating
        if isinstance(model, InferenceSession):
            return MLXBackendRep(model, device)
        options = _session_kwargs(kwargs)
        if isinstance(model, Path):
            model = str(model)
        return MLXBackendRep(InferenceSession(model, **options), device)

    @classmethod
    def run_model(cls, model: Any, inputs: Any, device: str = "CPU", **kwargs: Any) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: onnx.NodeProto,
        inputs: Any,
        device: str = "CPU",
        outputs_info: Sequence[tuple[Any, Sequence[int]]] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Run one node on numpy inputs (a list in node-input order, or a dict by name).

        Input dtypes and shapes come from the arrays; output types from
        `outputs_info` ((dtype, shape) per output) or else from ONNX shape
        inference. The opset is `opset_version` if given, else the newest
        ONNX opset this onnx package knows.
        """
        opset = kwargs.get("opset_version") or onnx.defs.onnx_opset_version()
        model, feed = _node_model(node, inputs, outputs_info, int(opset))
        return cls.prepare(model, device, **kwargs).run(feed)


def _node_feed(node: onnx.NodeProto, inputs: Any) -> dict[str, np.ndarray]:
    names = list(node.input)
    present = [n for n in names if n]
    if isinstance(inputs, Mapping):
        missing = [n for n in present if n not in inputs]
        if missing:
            raise InputError(f"node {node.name or node.op_type!r}: inputs missing {missing}")
        extra = sorted(set(inputs) - set(present))
        if extra:
            raise InputError(f"node {node.name or node.op_type!r}: unexpected inputs {extra}; it takes {present}")
        pairs = [(n, inputs[n]) for n in present]
    else:
        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) == len(names):
            pairs = [(n, v) for n, v in zip(names, values) if n]
        elif len(values) == len(present):
            pairs = list(zip(present, values))
        else:
            raise InputError(
                f"node {node.name or node.op_type!r} takes {len(present)} input(s) {present}, got {len(values)}"
            )
    feed: dict[str, np.ndarray] = {}
    for name, value in pairs:
        if name not in feed:  # a name used twice (Add(x, x)) is one graph input
            feed[name] = _as_array(value, f"input {name!r}")
    return feed


def _default_domain_version(domain: str, opset: int) -> int:
    if domain in ("", "ai.onnx"):
        return opset
    versions = [s.since_version for s in onnx.defs.get_all_schemas_with_history() if s.domain == domain]
    return max(versions) if versions else 1


def _node_model(
    node: onnx.NodeProto, inputs: Any, outputs_info: Sequence[tuple[Any, Sequence[int]]] | None, opset: int
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    if not isinstance(node, onnx.NodeProto):
        raise InvalidModelError(f"run_node needs an onnx.NodeProto, not {type(node).__name__}")
    feed = _node_feed(node, inputs)
    graph_inputs = []
    for name, arr in feed.items():
        try:
            elem = onnx.helper.np_dtype_to_tensor_dtype(arr.dtype)
        except (KeyError, TypeError, ValueError):
            raise UnsupportedFeatureError(f"input {name!r}: numpy dtype {arr.dtype} has no ONNX tensor type") from None
        graph_inputs.append(onnx.helper.make_tensor_value_info(name, elem, arr.shape))
    out_names = [n for n in node.output if n]
    if outputs_info is not None and len(outputs_info) != len(out_names):
        raise InputError(f"outputs_info has {len(outputs_info)} entries; the node has {len(out_names)} outputs")
    opsets = {"": opset}
    if node.domain not in ("", "ai.onnx"):
        opsets[node.domain] = _default_domain_version(node.domain, opset)
    opset_imports = [onnx.helper.make_opsetid(d, v) for d, v in opsets.items()]

    if outputs_info is not None:
        graph_outputs = []
        for name, (dtype, shape) in zip(out_names, outputs_info):
            elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            graph_outputs.append(
                onnx.helper.make_tensor_value_info(name, elem, list(shape) if shape is not None else None)
            )
    else:
        graph_outputs = _infer_outputs(node, graph_inputs, out_names, opset_imports)
    graph = onnx.helper.make_graph([node], f"run_node_{node.op_type}", graph_inputs, graph_outputs)
    model = onnx.helper.make_model(graph, opset_imports=opset_imports, producer_name="mlx-uniface run_node")
    return model, feed


def _infer_outputs(node, graph_inputs, out_names, opset_imports) -> list[onnx.ValueInfoProto]:
    untyped = [onnx.helper.make_empty_tensor_value_info(n) for n in out_names]
    probe = onnx.helper.make_model(
        onnx.helper.make_graph([node], "probe", graph_inputs, untyped), opset_imports=opset_imports
    )
    try:
        inferred = onnx.shape_inference.infer_shapes(probe, strict_mode=True)
    except Exception as exc:  # noqa: BLE001  (onnx raises several untyped errors here)
        first = (str(exc).strip().splitlines() or ["inference failed"])[0]
        raise InvalidModelError(f"run_node {node.op_type}: cannot infer output types ({first})") from None
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    outputs = []
    for name in out_names:
        vi = known.get(name)
        if (
            vi is None
            or vi.type.WhichOneof("value") is None
            or (vi.type.HasField("tensor_type") and not vi.type.tensor_type.elem_type)
        ):
            raise InvalidModelError(
                f"run_node {node.op_type}: cannot infer the type of output {name!r}; pass outputs_info"
            )
        outputs.append(vi)
    return outputs


is_compatible = MLXBackend.is_compatible
prepare = MLXBackend.prepare
run = MLXBackend.run_model
run_model = MLXBackend.run_model
run_node = MLXBackend.run_node
supports_device = MLXBackend.supports_device
