"""Fold inference-mode BatchNormalization into the Conv/Gemm/MatMul before it, or into Mul+Add."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value


def _bn_params(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, shift) with BN(x) = x * scale + shift per channel, or None if not constant."""
    if len([o for o in bn.outputs if o]) != 1 or bn.attrs.get("training_mode", 0):
        return None
    consts = [graph.value(i).const if i else None for i in bn.inputs[1:5]]
    if len(consts) != 4 or any(c is None for c in consts):
        return None
    gamma, beta, mean, var = (np.asarray(c, np.float64) for c in consts)
    eps = float(bn.attrs.get("epsilon", 1e-5))
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def _sole_consumer(graph: Graph, value: str) -> Node | None:
    users = graph.consumers(value)
    if len(users) != 1 or value in graph.outputs:
        return None
    return users[0]


def _const_value(graph: Graph, base: str, arr: np.ndarray) -> str:
    name = graph.fresh_name(base)
    graph.add_value(Value(name, arr.dtype, tuple(arr.shape), arr))
    return name


def _replace_bn(graph: Graph, bn: Node, producer: Node) -> None:
    """Drop `bn`, making `producer` write the BN's output value."""
    graph.remove_node(bn)
    graph.rename_output(producer, producer.outputs[0], bn.outputs[0])


def fuse_batchnorm(graph: Graph) -> dict[str, int]:
    """Returns counts of fused patterns by name."""
    counts = {
        "Conv+BatchNormalization": 0,
        "Gemm+BatchNormalization": 0,
        "MatMul+BatchNormalization": 0,
        "BatchNormalization->Mul+Add": 0,
    }
    for bn in graph.topo_order():
        if bn.op_type != "BatchNormalization" or bn.domain or bn.name not in graph.g:
            continue
        params = _bn_params(graph, bn)
        if params is None:
            continue
        scale, shift = params
        x = bn.inputs[0]
        prod = graph.producer(x)
        dtype = graph.value(x).dtype or np.dtype(np.float32)
        op_type = prod.op_type if prod is not None else ""
        if prod is not None and _sole_consumer(graph, x) is bn and _fuse_into(graph, prod, scale, shift, dtype):
            counts[f"{op_type}+BatchNormalization"] += 1
            _replace_bn(graph, bn, prod)
            continue
        rank = len(graph.value(x).shape or ()) or None
        if rank is None or rank < 2:
            continue
        bshape = (len(scale),) + (1,) * (rank - 2)
        s = _const_value(graph, f"{bn.name}_scale", scale.reshape(bshape).astype(dtype))
        t = _const_value(graph, f"{bn.name}_shift", shift.reshape(bshape).astype(dtype))
        mid = graph.fresh_name(f"{bn.name}_scaled")
        graph.add_value(Value(mid, dtype, graph.value(x).shape))
        out = bn.outputs[0]
        graph.remove_node(bn)
        graph.add_node(Node(graph.fresh_name(f"{bn.name}_mul"), "Mul", "", [x, s], [mid]))
        graph.add_node(Node(graph.fresh_name(f"{bn.name}_add"), "Add", "", [mid, t], [out]))
        counts["BatchNormalization->Mul+Add"] += 1
    return {k: v for k, v in counts.items() if v}


def _fuse_into(graph: Graph, prod: Node, scale: np.ndarray, shift: np.ndarray, dtype) -> bool:
    if prod.domain or len([o for o in prod.outputs if o]) != 1:
        return False
    if prod.op_type == "Conv":
        w = graph.value(prod.inputs[1]).const
        if w is None or w.shape[0] != len(scale):
            return False
        b = graph.value(prod.inputs[2]).const if len(prod.inputs) > 2 and prod.inputs[2] else np.zeros(len(scale))
        if b is None:
            return False
        w2 = w.astype(np.float64) * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        b2 = b.astype(np.float64) * scale + shift
        graph.set_inputs(
            prod,
            [
                prod.inputs[0],
                _const_value(graph, f"{prod.name}_w_bn", w2.astype(w.dtype)),
                _const_value(graph, f"{prod.name}_b_bn", b2.astype(w.dtype)),
            ],
        )
        return True
    if prod.op_type == "Gemm":
        b = graph.value(prod.inputs[1]).const
        if b is None or len(graph.value(prod.outputs[0]).shape or ()) != 2:
            return False
        alpha, beta = prod.attrs.get("alpha", 1.0), prod.attrs.get("beta", 1.0)
        trans_b = prod.attrs.get("transB", 0)
        n = b.shape[0] if trans_b else b.shape[1]
        if n != len(scale):
            return False
        c = graph.value(prod.inputs[2]).const if len(prod.inputs) > 2 and prod.inputs[2] else np.zeros(n)
        if c is None:
            return False
        c = np.broadcast_to(c.astype(np.float64), np.broadcast_shapes(c.shape, (n,)))
        b2 = b.astype(np.float64) * (scale[:, None] if trans_b else scale[None, :])
        c2 = beta * c * scale + shift
        prod.attrs = dict(prod.attrs, beta=1.0, alpha=alpha)
        graph.set_inputs(
            prod,
            [
                prod.inputs[0],
                _const_value(graph, f"{prod.name}_b_bn", b2.astype(b.dtype)),
                _const_value(graph, f"{prod.name}_c_bn", c2.astype(b.dtype)),
            ],
        )
        return True
    if prod.op_type == "MatMul":
        w = graph.value(prod.inputs[1]).const
        out_shape = graph.value(prod.outputs[0]).shape
        if w is None or w.ndim != 2 or out_shape is None or len(out_shape) != 2 or w.shape[1] != len(scale):
            return False
        # x @ W then BN over axis 1 == Gemm(x, W * scale, shift)
        prod.op_type = "Gemm"
        prod.attrs = {}
        graph.set_inputs(
            prod,
            [
                prod.inputs[0],
                _const_value(graph, f"{prod.name}_w_bn", (w * scale[None, :]).astype(w.dtype)),
                _const_value(graph, f"{prod.name}_b_bn", shift.astype(w.dtype)),
            ],
        )
        return True
    return False
