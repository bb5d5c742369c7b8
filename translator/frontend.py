"""ONNX front end: load, validate, infer shapes, upgrade old opsets, build the IR."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx.inliner
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from .errors import InvalidModelError, ModelLoadError, UnsupportedFeatureError
from .ir import Graph, Node, Value

ModelSource = str | os.PathLike | bytes | onnx.ModelProto

# Opsets older than this are upgraded with the ONNX version converter when it can.
MIN_OPSET = 7
# Refuse to trust declared dims beyond this (no allocation is ever based on them).
MAX_DECLARED_ELEMENTS = 1 << 40


@dataclass
class LoadedModel:
    model: onnx.ModelProto
    label: str  # file name or "<bytes>", used in error messages
    sha256: str
    base_dir: Path | None


def _check_external_data(model: onnx.ModelProto, base_dir: Path, label: str) -> None:
    """Reject external-data locations that escape the model's directory."""
    root = base_dir.resolve()
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if not onnx.external_data_helper.uses_external_data(tensor):
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        target = (root / location).resolve()
        if os.path.isabs(location) or root not in target.parents:
            raise ModelLoadError(
                f"{label}: tensor {tensor.name!r} points its external data outside the model directory ({location!r})"
            )
        if not target.is_file():
            raise ModelLoadError(f"{label}: external data file {location!r} for tensor {tensor.name!r} is missing")


def load_model(source: ModelSource) -> LoadedModel:
    """Read a path, bytes or ModelProto into a validated ModelProto (external data loaded)."""
    base_dir: Path | None = None
    if isinstance(source, onnx.ModelProto):
        model, label = source, source.graph.name or "<ModelProto>"
        data = model.SerializeToString()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "<bytes>"
        model = _parse(data, label)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise ModelLoadError(f"{label}: no such model file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"{label}: cannot read ({exc})") from None
        model = _parse(data, label)
        base_dir = path.parent
    else:
        raise ModelLoadError(f"cannot load a model from {type(source).__name__}")
    sha = hashlib.sha256(data).hexdigest()
    normalized = _dynamic_dims_to_unset(model, copy=isinstance(source, onnx.ModelProto))
    if normalized is not None:
        model = normalized
    if base_dir is not None and onnx.external_data_helper._get_all_tensors is not None:
        if any(
            onnx.external_data_helper.uses_external_data(t) for t in onnx.external_data_helper._get_all_tensors(model)
        ):
            _check_external_data(model, base_dir, label)
            try:
                onnx.external_data_helper.load_external_data_for_model(model, str(base_dir))
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"{label}: cannot load external data ({exc})") from None
    return LoadedModel(model, label, sha, base_dir)


def _marked_dynamic(dim: onnx.TensorShapeProto.Dimension, graph_input: bool) -> bool:
    """-1 (paddle2onnx) anywhere, and 0 on a graph input, mark a dynamic dim."""
    if not dim.HasField("dim_value"):
        return False
    return dim.dim_value == -1 or (graph_input and dim.dim_value == 0)


def _dynamic_dims_to_unset(model: onnx.ModelProto, copy: bool) -> onnx.ModelProto | None:
    """The model with dims marked dynamic made unknown (what ONNX's inference expects), or None if it has none.

    Graph inputs, outputs and value_info of the main graph are rewritten; `copy` leaves the caller's proto alone.
    """
    g = model.graph
    init = {t.name for t in g.initializer}
    entries = [(vi, vi.name not in init) for vi in g.input] + [(vi, False) for vi in (*g.output, *g.value_info)]

    def marked():
        for vi, is_input in entries:
            if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
                for dim in vi.type.tensor_type.shape.dim:
                    if _marked_dynamic(dim, is_input):
                        yield dim

    if next(marked(), None) is None:
        return None
    if copy:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        return _dynamic_dims_to_unset(model, copy=False)
    for dim in list(marked()):
        dim.Clear()
    return model


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(f"{label}: not a valid ONNX protobuf ({exc})") from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
        raise ModelLoadError(f"{label}: not an ONNX model (no graph)")
    return model


def prepare_model(loaded: LoadedModel) -> onnx.ModelProto:
    """Check the model, upgrade old opsets and run shape inference."""
    model, label = loaded.model, loaded.label
    try:
        onnx.checker.check_model(_with_placeholder_shapes(model))
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        raise InvalidModelError(f"{label}: ONNX checker rejected the model: {first}") from None
    except Exception as exc:  # the checker raises a few untyped errors on odd protobufs
        raise InvalidModelError(f"{label}: ONNX checker failed: {exc}") from None
    opset = _default_opset(model)
    if opset > onnx.defs.onnx_opset_version():
        raise InvalidModelError(
            f"{label}: opset {opset} is newer than this onnx package knows ({onnx.defs.onnx_opset_version()})"
        )
    if model.functions:
        model = inline_local_functions(model, label)
    if opset < MIN_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, 13)
        except Exception:  # converter coverage is partial; keep the original
            pass
    return infer_shapes(model, label)


def _with_placeholder_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """For the checker only: graph inputs/outputs declared as tensors of unknown rank (no shape field;
    onnxruntime runs such models, the checker requires the field) get an empty one in a copy."""
    g = model.graph
    missing = [
        vi
        for vi in (*g.input, *g.output)
        if vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape")
    ]
    if not missing:
        return model
    copy = onnx.ModelProto.FromString(model.SerializeToString())
    for vi in (*copy.graph.input, *copy.graph.output):
        if vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape"):
            vi.type.tensor_type.shape.SetInParent()
    return copy


def inline_local_functions(model: onnx.ModelProto, label: str) -> onnx.ModelProto:
    """Replace calls of the model's own functions (IR >= 8; spox and torch's dynamo exporter emit them,
    nested too) by their bodies, before shape inference, so every node is an op we lower."""
    try:
        inlined = onnx.inliner.inline_local_functions(model)
    except Exception as exc:  # the inliner raises untyped errors on malformed functions
        raise InvalidModelError(f"{label}: cannot inline the model's local functions: {exc}") from None
    del inlined.functions[:]
    return inlined


def infer_shapes(model: onnx.ModelProto, label: str) -> onnx.ModelProto:
    """ONNX shape inference, best effort: where it gives up, shapes become known at run time.

    Strict inference first. Where it fails inside an op's own function body, or on ops it cannot infer,
    lenient inference runs instead. Where a value's inferred shape contradicts an annotation the
    exporter wrote for an intermediate value (value_info, often stale in exported models with local
    functions), the annotations are dropped and inference runs again. What still contradicts itself
    (a dtype, or a declared graph output) is refused with a typed error: onnxruntime refuses dtype
    contradictions too, and a model whose outputs disagree with its own graph is not one we can trust
    to translate. Never raises an untyped error.
    """
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except onnx.shape_inference.InferenceError as exc:
        msg = str(exc).strip().splitlines()[0]
        if msg.count("Inference error(s)") >= 2:
            # The error is inside an op's function body (ONNX's own definition), not in the model.
            return _lenient(model)
        if not model.graph.value_info:
            raise InvalidModelError(f"{label}: shapes or dtypes contradict each other: {msg}") from None
    except Exception:  # strict mode fails on ops it cannot infer (e.g. custom domains): be lenient
        return _lenient(model)
    relaxed = onnx.ModelProto.FromString(model.SerializeToString())
    del relaxed.graph.value_info[:]
    return infer_shapes(relaxed, label)


def _lenient(model: onnx.ModelProto) -> onnx.ModelProto:
    for data_prop in (True, False):
        try:
            return onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=data_prop)
        except Exception:  # noqa: PERF203 - inference is a bonus here: run-time shapes still hold
            continue
    return model


def _default_opset(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def value_type(type_proto: onnx.TypeProto) -> tuple[str, np.dtype | None, tuple | None, str | None]:
    """(kind, dtype, shape, unsupported-kind) of a TypeProto: tensors, sequences of tensors and
    optionals of either; for the latter two, dtype and shape are the elements' (shape None for sequences)."""
    which = type_proto.WhichOneof("value")
    if which == "sequence_type":
        _, dtype, _, bad = value_type(type_proto.sequence_type.elem_type)
        return "sequence", dtype, None, bad
    if which == "optional_type":
        elem_kind, dtype, shape, bad = value_type(type_proto.optional_type.elem_type)
        return "optional", dtype, shape if elem_kind == "tensor" else None, bad
    if which is None and not type_proto.ByteSize():
        return "tensor", None, None, None  # no type given (e.g. a subgraph's inputs): inference fills it in
    dtype, shape, bad = _type_info(type_proto)
    return "tensor", dtype, shape, bad


def _type_info(type_proto: onnx.TypeProto) -> tuple[np.dtype | None, tuple | None, str | None]:
    """(dtype, shape, unsupported-kind) of a TypeProto."""
    kind = type_proto.WhichOneof("value")
    if kind != "tensor_type":
        return None, None, kind or "untyped"
    tt = type_proto.tensor_type
    dtype = None
    if tt.elem_type:
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except (KeyError, TypeError, ValueError):
            if tt.elem_type not in onnx.TensorProto.DataType.values():
                raise InvalidModelError(f"unknown tensor element type {tt.elem_type}") from None
            return None, None, f"dtype {onnx.TensorProto.DataType.Name(tt.elem_type)}"
        if dtype.kind in "OSU":
            return None, None, "string tensors"
    shape = None
    if tt.HasField("shape"):
        dims = []
        for d in tt.shape.dim:
            which = d.WhichOneof("value")
            dims.append(d.dim_value if which == "dim_value" else (d.dim_param or None))
        if any(isinstance(d, int) and d < -1 for d in dims):
            raise InvalidModelError(f"declared shape {tuple(dims)} has a negative dim")
        shape = tuple(None if d == -1 else d for d in dims)  # -1: dynamic (paddle2onnx writes it)
        if all(isinstance(d, int) for d in shape) and np.prod(shape, dtype=float) > MAX_DECLARED_ELEMENTS:
            raise InvalidModelError(f"declared shape {shape} is implausibly large")
    return dtype, shape, None


def _attr_value(attr: onnx.AttributeProto):
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8", errors="replace") for v in value]
    return value


def tensor_to_array(tensor: onnx.TensorProto, label: str) -> np.ndarray:
    try:
        return numpy_helper.to_array(tensor)
    except Exception as exc:
        raise InvalidModelError(f"{label}: initializer {tensor.name!r} is unreadable ({exc})") from None


def _check_names_are_text(g: onnx.GraphProto, label: str) -> None:
    """Invalid UTF-8 in a string field parses as bytes (proto2): refuse it before it is used as a name."""
    names = [g.name]
    for n in g.node:
        names += [n.name, n.op_type, n.domain, *n.input, *n.output, *(a.name for a in n.attribute)]
    names += [t.name for t in g.initializer]
    names += [v.name for v in (*g.input, *g.output, *g.value_info)]
    for name in names:
        if not isinstance(name, str):
            raise InvalidModelError(f"{label}: a name in the graph is not valid UTF-8 text ({name!r:.60})")
    for n in g.node:
        for sub in _graph_attrs(n):
            _check_names_are_text(sub, label)


def _graph_attrs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    out = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            out.append(a.g)
        elif a.type == onnx.AttributeProto.GRAPHS:
            out.extend(a.graphs)
    return out


def free_names(g: onnx.GraphProto) -> list[str]:
    """Values a (sub)graph reads from enclosing scopes, nested subgraphs included, in first-use order."""
    defined = (
        {i.name for i in g.input} | {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    )
    defined |= {o for n in g.node for o in n.output if o}
    free: list[str] = []
    for n in g.node:
        reads = [i for i in n.input if i]
        for sub in _graph_attrs(n):
            reads += free_names(sub)
        free += [r for r in reads if r not in defined and r not in free]
    free += [o.name for o in g.output if o.name not in defined and o.name not in free]
    return free


def build_graph(model: onnx.ModelProto, label: str = "model") -> Graph:
    """Convert a (checked, shape-inferred) ModelProto into the IR."""
    _check_names_are_text(model.graph, label)
    opsets = {("" if i.domain == "ai.onnx" else i.domain): i.version for i in model.opset_import}
    graph = Graph(name=model.graph.name or label, opsets=opsets)
    _fill_graph(graph, model.graph, label)
    return graph


def _fill_graph(graph: Graph, g: onnx.GraphProto, label: str, captures: tuple[Value, ...] = ()) -> None:
    """Values, inputs, outputs and nodes of `g` into `graph`.

    A subgraph (If's branches, Loop's and Scan's bodies) may read values of enclosing scopes. Each becomes an
    explicit input, `captures`, after the subgraph's own ones, and its node takes the outer value as an
    extra trailing input (Node.num_captures): passes that rename or rewrite the outer graph then keep
    the subgraph's view right, and every subgraph is a self-contained Graph the passes can run on.
    """
    for init in g.initializer:
        arr = tensor_to_array(init, label)
        graph.add_value(Value(init.name, arr.dtype, tuple(arr.shape), arr))
    input_names = {i.name for i in g.input}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        kind, dtype, shape, bad = value_type(vi.type)
        existing = graph.values.get(vi.name)
        if existing is not None and existing.const is not None:
            continue
        if bad is not None and vi.name in input_names:
            raise UnsupportedFeatureError(f"{label}: input {vi.name!r} has {bad}, which MLX cannot hold")
        if existing is not None and vi.name in input_names and dtype is None:
            continue  # an untyped subgraph input keeps what an earlier entry said
        graph.add_value(Value(vi.name, dtype, shape, kind=kind))
    for v in captures:
        if v.name not in graph.values or graph.values[v.name].const is None:
            graph.add_value(Value(v.name, v.dtype, v.shape, kind=v.kind))
    init_names = {i.name for i in g.initializer}
    graph.inputs = [i.name for i in g.input if i.name not in init_names] + [v.name for v in captures]
    seen_outputs: set[str] = set()
    for o in g.output:
        if o.name in seen_outputs:
            raise InvalidModelError(f"{label}: graph output {o.name!r} is listed twice")
        seen_outputs.add(o.name)
    graph.outputs = [o.name for o in g.output]
    used_names: set[str] = set()
    for index, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{index}"
        while name in used_names:
            name = f"{name}_{index}"
        used_names.add(name)
        control = n.op_type in CONTROL_FLOW_OPS and n.domain in ("", "ai.onnx")
        attrs = {a.name: _attr_value(a) for a in n.attribute if not (control and a.type in _GRAPH_TYPES)}
        inputs = list(n.input)
        subs = [a for a in n.attribute if control and a.type in _GRAPH_TYPES]
        if subs:
            captured = []
            for a in subs:
                for sub in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
                    captured += [c for c in free_names(sub) if c not in captured]
            outer = tuple(graph.values.get(c) or Value(c) for c in captured)
            for a in subs:
                if a.type != onnx.AttributeProto.GRAPH:
                    raise UnsupportedFeatureError(f"{label}: node {name!r} ({n.op_type}) has a list of subgraphs")
                sub = Graph(name=f"{name}/{a.name}", opsets=graph.opsets)
                _fill_graph(sub, a.g, f"{label}: {name}/{a.name}", outer)
                attrs[a.name] = sub
            inputs += captured
            attrs["_captures"] = len(captured)
        graph.add_node(
            Node(name, n.op_type, n.domain if n.domain != "ai.onnx" else "", inputs, list(n.output), attrs),
            index=index,
        )
    _check_references(graph, label)
    _check_type_constraints(graph, label)
    _check_parameter_shapes(graph, label)


_GRAPH_TYPES = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
# Ops whose subgraphs become IR Graphs (lowered as blocks); other graph attributes (FlexAttention's
# modifiers) stay GraphProtos for their op's own lowering.
CONTROL_FLOW_OPS = ("If", "Loop", "Scan", "SequenceMap")


def _check_type_constraints(graph: Graph, label: str) -> None:
    """Inputs that an op's schema binds to one type variable must share a dtype.

    ONNX shape inference does not check this (Add(float32, int64) passes it),
    and MLX would silently promote where onnxruntime refuses the model.
    """
    for node in graph.nodes:
        try:
            schema = onnx.defs.get_schema(node.op_type, graph.opset(node.domain), node.domain)
        except Exception:  # unknown op or domain: reported as unsupported elsewhere
            continue
        formal = list(schema.inputs)
        if not formal:
            continue
        seen: dict[str, tuple[str, np.dtype]] = {}
        for i, name in enumerate(node.inputs):
            if not name:
                continue
            param = formal[min(i, len(formal) - 1)]
            if i >= len(formal) and param.option != onnx.defs.OpSchema.FormalParameterOption.Variadic:
                continue
            dtype = graph.value(name).dtype if name in graph.values else None
            if dtype is None:
                continue
            if not param.is_homogeneous and param.option == onnx.defs.OpSchema.FormalParameterOption.Variadic:
                continue
            other = seen.get(param.type_str)
            if other is not None and other[1] != dtype:
                raise InvalidModelError(
                    f"{label}: node {node.name!r} ({node.op_type}) mixes {other[1]} ({other[0]!r}) and "
                    f"{dtype} ({name!r}) for type {param.type_str}"
                )
            seen.setdefault(param.type_str, (name, dtype))


def _check_parameter_shapes(graph: Graph, label: str) -> None:
    """Per-channel parameters must have one value per channel.

    Before opset 14 ONNX shape inference checks neither Conv's bias nor
    BatchNormalization's scale/bias/mean/var, and the fusion pass relies on them.
    """
    for node in graph.nodes:
        if node.domain:
            continue
        consts = [graph.value(i).const if i and i in graph.values else None for i in node.inputs]
        if node.op_type == "Conv" and len(consts) > 2 and consts[1] is not None and consts[2] is not None:
            if consts[2].shape != (consts[1].shape[0],):
                raise InvalidModelError(
                    f"{label}: node {node.name!r} (Conv) has a bias of shape {consts[2].shape}; "
                    f"its weight has {consts[1].shape[0]} output channels"
                )
        if node.op_type == "BatchNormalization" and len(node.inputs) >= 5:
            x_shape = graph.value(node.inputs[0]).shape if node.inputs[0] in graph.values else None
            channels = x_shape[1] if x_shape is not None and len(x_shape) > 1 and isinstance(x_shape[1], int) else None
            params = [c for c in consts[1:5] if c is not None]
            lengths = {c.shape for c in params}
            if (
                any(len(shape) != 1 for shape in lengths)
                or len(lengths) > 1
                or (channels is not None and lengths and lengths != {(channels,)})
            ):
                raise InvalidModelError(
                    f"{label}: node {node.name!r} (BatchNormalization) has per-channel parameters of shapes "
                    f"{sorted(lengths)}; expected ({channels if channels is not None else 'C'},)"
                )


def _check_references(graph: Graph, label: str) -> None:
    defined = set(graph.inputs) | {v.name for v in graph.values.values() if v.const is not None}
    for node in graph.topo_order():
        for inp in node.inputs:
            if inp and inp not in defined:
                raise InvalidModelError(
                    f"{label}: node {node.name!r} ({node.op_type}) reads {inp!r}, which nothing defines"
                )
        defined.update(o for o in node.outputs if o)
    for out in graph.outputs:
        if out not in defined:
            raise InvalidModelError(f"{label}: graph output {out!r} is never produced")
