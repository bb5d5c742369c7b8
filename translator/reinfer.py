"""Re-run ONNX shape inference on the IR after passes (e.g. once folding made a
Reshape's target shape constant), filling in dims the first inference could not know."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .frontend import _type_info
from .ir import Graph


def _value_info(graph: Graph, name: str) -> onnx.ValueInfoProto:
    v = graph.value(name)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype)) if v.dtype is not None else 0
    shape = None if v.shape is None else [d if isinstance(d, (int, str)) else None for d in v.shape]
    if v.kind == "sequence":
        return helper.make_tensor_sequence_value_info(name, elem, None)
    if v.kind == "optional":
        return helper.make_value_info(name, helper.make_optional_type_proto(helper.make_tensor_type_proto(elem, shape)))
    return helper.make_tensor_value_info(name, elem, shape)


def to_model(graph: Graph) -> onnx.ModelProto:
    """The IR as a ModelProto (default and standard domains only).

    Control-flow nodes are left out and their outputs enter as graph inputs of their known types:
    their subgraphs are IR graphs with explicit captures, inferred on their own. So are nodes of
    domains the model does not import (the translator's own, e.g. the image input's ImageNormalize),
    which ONNX's inference would refuse, giving up on the whole graph.
    """
    nodes, cut = [], []
    for n in graph.topo_order():
        if n.subgraphs or (n.domain and n.domain not in graph.opsets):
            cut += [o for o in n.outputs if o]
            continue
        attrs = {k: v for k, v in n.attrs.items() if not k.startswith("_")}
        nodes.append(helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name, domain=n.domain or None, **attrs))
    inits = [numpy_helper.from_array(v.const, name) for name, v in graph.values.items() if v.const is not None]
    g = helper.make_graph(
        nodes,
        graph.name,
        [_value_info(graph, i) for i in [*graph.inputs, *cut]],
        [_value_info(graph, o) for o in graph.outputs],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in graph.opsets.items()])


def reinfer_shapes(graph: Graph) -> int:
    """Update values whose rank or dims were unknown. Returns how many improved."""
    if all(v.shape is not None and all(isinstance(d, int) for d in v.shape) for v in graph.values.values()):
        return 0
    try:
        inferred = onnx.shape_inference.infer_shapes(to_model(graph), strict_mode=False, data_prop=True)
    except Exception:  # inference is a bonus here: the first pass already succeeded
        return 0
    improved = 0
    for vi in inferred.graph.value_info:
        v = graph.values.get(vi.name)
        if v is None or v.const is not None:
            continue
        try:
            dtype, shape, bad = _type_info(vi.type)
        except Exception:
            continue
        if bad or shape is None:
            continue
        old_known = -1 if v.shape is None else sum(isinstance(d, int) for d in v.shape)
        if v.shape is None or (len(shape) == len(v.shape) and sum(isinstance(d, int) for d in shape) > old_known):
            v.shape = shape
            if v.dtype is None:
                v.dtype = dtype
            improved += 1
    return improved
