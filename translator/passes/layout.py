"""Whole-graph NHWC layout.

MLX convolutions and pools are channels-last; ONNX is channels-first. A naive
translation transposes around every conv, and each transpose costs about as
much as the conv at high resolution. This pass

1. rewrites each 2-D Conv / pool / Resize / InstanceNormalization / DepthToSpace into its `mlx.nhwc` twin, which reads
   and writes NHWC, with its weight transposed once, offline; wrapped in a pair
   of Transposes (NCHW->NHWC before, NHWC->NCHW after);
2. pushes Transposes down through layout-agnostic ops (elementwise, PRelu,
   Concat, ...) and cancels them where they meet their inverse, like
   onnxruntime's transpose optimizer;
3. turns Transposes that only move size-1 dims into Reshapes.

What remains are the transposes the graph's inputs and outputs demand.
"""

from __future__ import annotations

from opset.helpers import nn as nnh

import numpy as np

from ..ir import Graph, Node, Value
from .shuffle import INTERNAL_DOMAIN, SHUFFLE

NHWC_DOMAIN = "mlx.nhwc"
TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)

UNARY = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "Softplus",
    "Softsign", "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Erf", "Mish",
    "Gelu", "ThresholdedRelu", "Sign", "Sin", "Cos", "Not", "IsNaN", "IsInf", "Cast", "Identity",
}  # fmt: skip
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "Equal", "Greater", "Less",
          "And", "Or", "Xor", "Where", "Clip"}  # fmt: skip
POOLS = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
REDUCES = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
           "ReduceLogSum", "ReduceLogSumExp"}  # fmt: skip


def _perm(node: Node) -> tuple[int, ...] | None:
    perm = node.attrs.get("perm")
    return tuple(int(p) for p in perm) if perm is not None else None


def _permute(shape, perm):
    return None if shape is None else tuple(shape[p] for p in perm)


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _add_transpose(graph: Graph, src: str, dst: str, perm: tuple[int, ...], hint: str) -> Node:
    v = graph.value(src)
    if dst not in graph.values:
        graph.add_value(Value(dst, v.dtype, _permute(v.shape, perm)))
    return graph.add_node(
        Node(graph.fresh_name(f"{hint}_transpose"), "Transpose", "", [src], [dst], {"perm": list(perm)})
    )


def _rank4(graph: Graph, name: str) -> bool:
    if not name:  # an omitted optional input (Scan-8's sequence_lens)
        return False
    s = graph.value(name).shape
    return s is not None and len(s) == 4


def _wrappable(graph: Graph, node: Node) -> bool:
    if node.domain or not node.inputs or not _rank4(graph, node.inputs[0]):
        return False
    if len([o for o in node.outputs if o]) != 1:
        return False
    if node.op_type == "Conv":
        w = graph.value(node.inputs[1]).const
        bias_ok = len(node.inputs) < 3 or not node.inputs[2] or graph.value(node.inputs[2]).const is not None
        return w is not None and w.ndim == 4 and bias_ok
    if node.op_type in POOLS:
        return node.op_type.startswith("Global") or len(node.attrs.get("kernel_shape", ())) == 2
    if node.op_type in ("Resize", "Upsample"):
        return resize_factors(graph, node) is not None
    if node.op_type == "DepthToSpace":  # DCR: channel (r_h * b + r_w) * C + c, a reshape in NHWC too
        mode = node.attrs.get("mode", "DCR")
        return (mode.decode() if isinstance(mode, bytes) else mode) == "DCR" or graph.opset() < 11
    if node.op_type == "InstanceNormalization":  # per-channel statistics: the channel axis just moves
        return all(
            len(node.inputs) > i
            and graph.value(node.inputs[i]).const is not None
            and graph.value(node.inputs[i]).const.ndim == 1
            for i in (1, 2)
        )
    return False


def resize_factors(graph: Graph, node: Node) -> tuple[int, int] | None:
    """Integer (fh, fw) if this Resize is a nearest upsampling that repeats pixels, else None.

    With integer factors, asymmetric+floor and the half-pixel modes with
    round_prefer_* all pick source index floor(i / f).
    """
    a = node.attrs
    if a.get("axes") is not None or a.get("mode", "nearest") != "nearest":
        return None
    ctm = a.get("coordinate_transformation_mode", "half_pixel")
    nearest = a.get("nearest_mode", "round_prefer_floor")
    ok = (ctm == "asymmetric" and nearest == "floor") or (
        ctm in ("half_pixel", "pytorch_half_pixel") and nearest in ("round_prefer_floor", "round_prefer_ceil")
    )
    if node.op_type == "Upsample" or graph.opset() < 11:
        ok = True  # opset 10 Resize and Upsample: asymmetric, floor
    if not ok:
        return None
    ins = list(node.inputs)
    scales = sizes = None
    if graph.opset() < 11 or node.op_type == "Upsample":
        scales = (
            graph.value(ins[1]).const if len(ins) > 1 and ins[1] else np.asarray(a.get("scales", []) or [], np.float32)
        )
    else:
        if len(ins) > 2 and ins[2]:
            scales = graph.value(ins[2]).const
        if len(ins) > 3 and ins[3]:
            sizes = graph.value(ins[3]).const
    in_shape = graph.value(ins[0]).static_shape
    if scales is not None and scales.size == 4:
        f = np.asarray(scales, np.float64)
    elif sizes is not None and sizes.size == 4 and in_shape is not None:
        f = np.asarray(sizes, np.float64) / np.asarray(in_shape, np.float64)
    else:
        return None
    if f[0] != 1 or f[1] != 1 or any(v < 1 or v != int(v) for v in f[2:]):
        return None
    return int(f[2]), int(f[3])


def _wrap(graph: Graph, node: Node) -> None:
    """Make `node` an NHWC op between two transposes."""
    x, y = node.inputs[0], node.outputs[0]
    x_nhwc = graph.fresh_name(f"{x}_nhwc")
    y_nhwc = graph.fresh_name(f"{y}_nhwc")
    graph.remove_node(node)
    _add_transpose(graph, x, x_nhwc, TO_NHWC, node.name + "_in")
    inputs = [x_nhwc] + node.inputs[1:]
    if node.op_type == "Conv":
        w = graph.value(node.inputs[1]).const
        w_name = graph.fresh_name(f"{node.inputs[1]}_ohwi")
        w_ohwi = np.ascontiguousarray(w.transpose(0, 2, 3, 1))
        graph.add_value(Value(w_name, w_ohwi.dtype, w_ohwi.shape, w_ohwi))
        inputs[1] = w_name
    node.outputs = [y_nhwc]
    if node.op_type in ("Resize", "Upsample"):
        fh, fw = resize_factors(graph, node)
        node.op_type, inputs = "Upsample", [x_nhwc]
        node.attrs = {"factors": [fh, fw]}
    node.inputs = inputs
    node.domain = NHWC_DOMAIN
    yv = graph.value(y)
    graph.add_value(Value(y_nhwc, yv.dtype, _permute(yv.shape, TO_NHWC)))
    graph.add_node(node)
    _add_transpose(graph, y_nhwc, y, TO_NCHW, node.name + "_out")


def _transposed_operand(graph: Graph, name: str, perm: tuple[int, ...]) -> str | None:
    """A value equal to T_perm^-1(name) for broadcasting against T_perm(x), or None."""
    prod = graph.producer(name)
    if prod is not None and prod.op_type == "Transpose" and not prod.domain and _perm(prod) == perm:
        return prod.inputs[0]
    v = graph.value(name)
    if v.const is None:
        return _cheap_transposed(graph, name, perm)
    c = v.const
    if c.ndim == 0 or c.size == 1:
        return name
    if c.ndim > len(perm):
        return None
    c4 = c.reshape((1,) * (len(perm) - c.ndim) + c.shape)
    moved = np.ascontiguousarray(c4.transpose(_inverse(perm)))
    new = graph.fresh_name(f"{name}_perm")
    graph.add_value(Value(new, moved.dtype, moved.shape, moved))
    return new


def _cheap_transposed(graph: Graph, name: str, perm: tuple[int, ...]) -> str | None:
    """T_perm^-1(name) as a new Transpose where that moves only size-1 dims (a reshape later: free), else None.

    A squeeze-excite block's weights (N, C, 1, 1), computed at run time, then meet the NHWC map as
    (N, 1, 1, C) instead of the map going back to NCHW around the multiply."""
    shape = graph.value(name).shape
    if shape is None or len(shape) != len(perm) or not all(isinstance(d, int) for d in shape):
        return None
    inv = _inverse(perm)
    moved = [p for p in inv if shape[p] != 1]
    if moved != sorted(moved):
        return None
    new = graph.fresh_name(f"{name}_perm")
    _add_transpose(graph, name, new, inv, new)
    return new


def _concat_movable(graph: Graph, concat: Node, tv: str, perm: tuple[int, ...]) -> bool:
    """Whether a Concat reading transpose(x, perm) can move below the transpose: every other part is a
    transpose with the same perm, or the parts that are not hold at most a quarter of the output (MODNet
    concatenates the 3-channel NCHW image with 32-channel NHWC maps: the image is transposed, not the maps)."""
    out = graph.value(concat.outputs[0]).static_shape
    loose = 0
    for name in concat.inputs:
        if not name or name == tv:
            continue
        prod = graph.producer(name)
        if prod is not None and prod.op_type == "Transpose" and not prod.domain and _perm(prod) == perm:
            continue
        shape = graph.value(name).static_shape
        if shape is None or out is None or len(shape) != len(perm):
            return False
        loose += int(np.prod(shape))
    return loose == 0 or (out is not None and 4 * loose <= int(np.prod(out)))


def _push_through(graph: Graph, t: Node, consumer: Node) -> bool:
    """Move transpose `t` below `consumer` (which reads t's output). True if done."""
    perm = _perm(t)
    x, tv = t.inputs[0], t.outputs[0]
    op = consumer.op_type
    outs = [o for o in consumer.outputs if o]
    shuffle = consumer.domain == INTERNAL_DOMAIN and op == SHUFFLE
    if (consumer.domain and not shuffle) or len(outs) != 1 or len(consumer.outputs) != 1:
        return False
    if op in REDUCES:  # keepdims reductions keep the rank: their axes move with the transpose
        if consumer.inputs[0] != tv or tv in consumer.inputs[1:] or not int(consumer.attrs.get("keepdims", 1)):
            return False
        new_inputs = _renumbered_reduce(graph, consumer, perm, x)
        if new_inputs is None:
            return False
    elif op == "Resize":  # per-axis scales/sizes (linear, cubic, any nearest): they move with the transpose
        if consumer.inputs[0] != tv or tv in consumer.inputs[1:]:
            return False
        new_inputs = _permuted_resize(graph, consumer, perm, x)
        if new_inputs is None:
            return False
    elif op == "Pad":  # pads per axis: they move with the transpose
        if consumer.inputs[0] != tv or tv in consumer.inputs[1:]:
            return False
        new_inputs = _permuted_pads(graph, consumer, perm, x)
        if new_inputs is None:
            return False
    elif shuffle or op == "Slice":  # ops on one axis: the axis moves with the transpose
        if consumer.inputs[0] != tv or tv in consumer.inputs[1:]:
            return False
        new_inputs = _renumber_axes(graph, consumer, perm, [x] + list(consumer.inputs[1:]))
        if new_inputs is None:
            return False
    elif op in UNARY:
        if consumer.inputs[0] != tv or any(i == tv for i in consumer.inputs[1:]):
            return False
        new_inputs = [x] + consumer.inputs[1:]
    elif op in BINARY or op == "Concat":
        if op == "Concat" and not _concat_movable(graph, consumer, tv, perm):
            return False
        new_inputs = []
        for name in consumer.inputs:
            if not name:
                new_inputs.append(name)
                continue
            if name == tv:
                new_inputs.append(x)
                continue
            if op == "Concat":
                prod = graph.producer(name)
                if prod is not None and prod.op_type == "Transpose" and not prod.domain and _perm(prod) == perm:
                    new_inputs.append(prod.inputs[0])
                else:  # a small part (checked above) takes the transpose itself
                    new_inputs.append(graph.fresh_name(f"{name}_perm"))
                    _add_transpose(graph, name, new_inputs[-1], _inverse(perm), new_inputs[-1])
                continue
            moved = _transposed_operand(graph, name, perm)
            if moved is None:
                return False
            new_inputs.append(moved)
        out_shape = graph.value(outs[0]).shape
        if out_shape is None or len(out_shape) != len(perm):
            return False
    else:
        return False
    if op == "Concat":
        axis = consumer.attrs.get("axis", 0) % len(perm)
        consumer.attrs = dict(consumer.attrs, axis=perm[axis])
    y = outs[0]
    y_pre = graph.fresh_name(f"{y}_pre")
    yv = graph.value(y)
    graph.add_value(Value(y_pre, yv.dtype, _permute(yv.shape, _inverse(perm))))
    graph.remove_node(consumer)
    consumer.inputs = new_inputs
    consumer.outputs = [y_pre]
    graph.add_node(consumer)
    _add_transpose(graph, y_pre, y, perm, consumer.name)
    return True


def _moved_axes(graph: Graph, node: Node, axes, perm: tuple[int, ...]) -> str:
    """A new int64 constant holding `axes` renumbered through perm (for a node now reading the
    transpose's input); returns its name."""
    moved = np.asarray([perm[int(a) % len(perm)] for a in np.asarray(axes).reshape(-1)], np.int64)
    name = graph.fresh_name(f"{node.name}_axes")
    graph.add_value(Value(name, moved.dtype, moved.shape, moved))
    return name


def _renumbered_reduce(graph: Graph, node: Node, perm: tuple[int, ...], x: str) -> list[str] | None:
    """A keepdims reduction reading transpose(x, perm), made to read x: its axes renumbered (attribute or
    input), its new inputs returned; None, changing nothing, if the axes are not constant."""
    rank = len(perm)
    if len(node.inputs) > 1 and node.inputs[1]:  # axes as an input (ReduceSum-13, the others from 18)
        axes = graph.value(node.inputs[1]).const
        return None if axes is None else [x, _moved_axes(graph, node, axes, perm)]
    if node.attrs.get("axes") is not None:
        node.attrs = dict(node.attrs, axes=[perm[int(a) % rank] for a in node.attrs["axes"]])
    return [x]  # no axes: every dim is reduced, in any order


def _permuted_resize(graph: Graph, node: Node, perm: tuple[int, ...], x: str) -> list[str] | None:
    """A Resize reading transpose(x, perm), made to read x: its axes attribute renumbered, or its constant
    roi/scales/sizes permuted; None, changing nothing, where they are not constant (or opset < 11)."""
    rank = len(perm)
    if graph.opset() < 11:
        return None
    inputs = list(node.inputs) + [""] * (4 - len(node.inputs))
    if node.attrs.get("axes") is not None:
        node.attrs = dict(node.attrs, axes=[perm[int(a) % rank] for a in node.attrs["axes"]])
        return [x, *inputs[1:]]
    new_inputs = [x]
    for i, per_axis in ((1, 2), (2, 1), (3, 1)):  # roi holds (begins, ends); scales and sizes one per axis
        if not inputs[i]:
            new_inputs.append("")
            continue
        c = graph.value(inputs[i]).const
        if c is None:
            return None
        c = np.asarray(c).reshape(-1)
        if c.size == 0:
            new_inputs.append(inputs[i])
            continue
        if c.size != per_axis * rank:
            return None
        moved = c.copy()
        for part in range(per_axis):
            for j in range(rank):
                moved[part * rank + perm[j]] = c[part * rank + j]
        name = graph.fresh_name(f"{node.name}_{('roi', 'scales', 'sizes')[i - 1]}")
        graph.add_value(Value(name, moved.dtype, moved.shape, moved))
        new_inputs.append(name)
    while new_inputs and not new_inputs[-1]:
        new_inputs.pop()
    return new_inputs


def _permuted_pads(graph: Graph, node: Node, perm: tuple[int, ...], x: str) -> list[str] | None:
    """A Pad reading transpose(x, perm), made to read x: its pads (or its axes) permuted, the node's attributes
    updated and its new inputs returned; None, changing nothing, if they are not constant."""
    rank = len(perm)

    def moved(pads) -> list[int]:
        pads = [int(p) for p in np.asarray(pads).reshape(-1)]
        out = [0] * (2 * rank)
        for i in range(rank):
            out[perm[i]], out[rank + perm[i]] = pads[i], pads[rank + i]
        return out

    if graph.opset() < 11:  # Pad-2: pads is an attribute over every dim
        pads = node.attrs.get("pads")
        if pads is None or len(pads) != 2 * rank:
            return None
        node.attrs = dict(node.attrs, pads=moved(pads))
        return [x]
    inputs = list(node.inputs) + [""] * (4 - len(node.inputs))
    if inputs[3]:  # Pad-18 axes: renumbered, the amounts stay with them
        axes = graph.value(inputs[3]).const
        return None if axes is None else [x, inputs[1], inputs[2], _moved_axes(graph, node, axes, perm)]
    pads = graph.value(inputs[1]).const if inputs[1] else None
    if pads is None or np.asarray(pads).size != 2 * rank:
        return None
    new = np.asarray(moved(pads), np.int64)
    name = graph.fresh_name(f"{node.name}_pads")
    graph.add_value(Value(name, new.dtype, new.shape, new))
    return [x, name, inputs[2]] if inputs[2] else [x, name]


def _renumber_axes(graph: Graph, node: Node, perm: tuple[int, ...], inputs: list[str]) -> list[str] | None:
    """A ChannelShuffle or Slice reading transpose(x, perm), made to read x: its axes renumbered (the node's
    attributes updated) and its new inputs returned; None, changing nothing, if its axes are not constant."""
    rank = len(perm)
    if node.op_type == SHUFFLE:
        node.attrs = dict(node.attrs, axis=perm[int(node.attrs.get("axis", 1)) % rank])
        return inputs
    if graph.opset() < 10:  # Slice-1: axes is an attribute, all starts/ends given
        axes = node.attrs.get("axes", list(range(len(node.attrs.get("starts", [])))))
        node.attrs = dict(node.attrs, axes=[perm[int(a) % rank] for a in axes])
        return inputs
    starts = graph.value(node.inputs[1]).const if len(node.inputs) > 1 and node.inputs[1] else None
    if starts is None:
        return None
    axes = np.arange(starts.size)
    if len(node.inputs) > 3 and node.inputs[3]:
        axes = graph.value(node.inputs[3]).const
        if axes is None:
            return None
    inputs = list(inputs) + [""] * (4 - len(inputs))
    inputs[3] = _moved_axes(graph, node, axes, perm)
    return inputs


def _merge_with_next(graph: Graph, t: Node, nxt: Node) -> None:
    """t: Transpose(P) feeding nxt: Transpose(P2). Compose or cancel."""
    p, p2 = _perm(t), _perm(nxt)
    q = tuple(p[i] for i in p2)
    if q == tuple(range(len(q))) and nxt.outputs[0] not in graph.outputs:
        graph.remove_node(nxt)
        graph.replace_uses(nxt.outputs[0], t.inputs[0])
    else:
        graph.set_inputs(nxt, [t.inputs[0]])
        nxt.attrs = dict(nxt.attrs, perm=list(q))


def _simplify(graph: Graph) -> bool:
    changed = False
    for t in graph.topo_order():
        if t.op_type != "Transpose" or t.domain or t.name not in graph.g:
            continue
        if _perm(t) is None:
            continue
        tv = t.outputs[0]
        for consumer in list(graph.consumers(tv)):
            if consumer.name not in graph.g:
                continue
            if consumer.op_type == "Transpose" and not consumer.domain and _perm(consumer) is not None:
                _merge_with_next(graph, t, consumer)
                changed = True
            elif _push_through(graph, t, consumer):
                changed = True
        if not graph.consumers(tv) and tv not in graph.outputs:
            graph.remove_node(t)
            changed = True
    return changed


def _const_input(graph: Graph, node: Node, i: int) -> np.ndarray | None:
    if len(node.inputs) <= i or not node.inputs[i]:
        return None
    return graph.value(node.inputs[i]).const


def _runtime_out_shape(graph: Graph, node: Node) -> tuple | None:
    """The output shape a pool or Resize computes at run time (onnxruntime's rule), None if unknown."""
    x = graph.value(node.inputs[0]).static_shape
    if x is None:
        return None
    a = node.attrs
    if node.op_type in ("MaxPool", "AveragePool", "LpPool"):
        axes = [1, 2] if node.domain == NHWC_DOMAIN else list(range(2, len(x)))
        nd = len(axes)
        kernel = [int(k) for k in a.get("kernel_shape", ())]
        if len(kernel) != nd:
            return None
        pads = [int(p) for p in a.get("pads", [0] * (2 * nd))]
        _, _, outs, _ = nnh.pool_geometry(
            [x[i] for i in axes],
            kernel,
            [int(v) for v in a.get("strides", [1] * nd)],
            [int(v) for v in a.get("dilations", [1] * nd)],
            pads[:nd],
            pads[nd:],
            bool(a.get("ceil_mode", 0)),
            a.get("auto_pad", "NOTSET") or "NOTSET",
        )
        out = list(x)
        for i, o in zip(axes, outs):
            out[i] = o
        return tuple(out)
    # Resize / Upsample (standard domain): the sizes the lowering computes (resize_plan).
    legacy = node.op_type == "Upsample" or graph.opset() < 11
    if node.op_type == "Upsample" and graph.opset() < 9:
        scales = np.asarray(a.get("scales", []), np.float32)
        sizes = None
    else:
        scales = _const_input(graph, node, 1 if legacy else 2)
        sizes = None if legacy else _const_input(graph, node, 3)
    if sizes is not None and sizes.size:
        scales = None
    elif scales is None or not scales.size:
        return None
    axes = a.get("axes")
    _, full = nnh.resize_plan(list(x), scales, sizes, axes, a.get("keep_aspect_ratio_policy", "stretch"))
    return tuple(full)


def _untrusted_shapes(graph: Graph) -> set[str]:
    """Values whose static shape (from ONNX shape inference) may not be the run-time one.

    Before opset 22, ONNX infers a ceil_mode pool's output keeping a last window that starts in the right
    padding (onnxruntime, and the lowering, drop it), and it sizes a Resize by scales in float64 where
    onnxruntime uses float32. Such outputs, and everything computed from them, are not trusted.
    """
    seeds = []
    for n in graph.nodes:
        if n.op_type not in ("MaxPool", "AveragePool", "LpPool", "Resize", "Upsample") or not n.outputs:
            continue
        if n.domain not in ("", NHWC_DOMAIN) or (n.domain and n.op_type == "Upsample"):
            continue
        y = graph.value(n.outputs[0]).static_shape
        if y is None:
            continue
        try:
            runtime = _runtime_out_shape(graph, n)
        except (ArithmeticError, ValueError):  # zero strides, non-finite scales: the lowering refuses them
            runtime = None
        if runtime != y:
            seeds.append(n)
    untrusted: set[str] = set()
    todo = list(seeds)
    while todo:
        n = todo.pop()
        for o in n.outputs:
            if o and o not in untrusted:
                untrusted.add(o)
                todo.extend(graph.consumers(o))
    return untrusted


def _transposes_to_reshapes(graph: Graph) -> int:
    """Transposes that keep the order of non-1 dims are free reshapes.

    The Reshape's target comes from the inferred shape, so values whose inferred shape may be wrong
    (`_untrusted_shapes`) keep their Transpose.
    """
    count = 0
    untrusted = _untrusted_shapes(graph)
    for t in graph.nodes:
        if t.op_type != "Transpose" or t.domain or t.inputs[0] in untrusted:
            continue
        shape = graph.value(t.inputs[0]).static_shape
        perm = _perm(t)
        if shape is None or perm is None:
            continue
        moved = [p for p in perm if shape[p] != 1]
        if moved != sorted(moved):
            continue
        out_shape = np.array([shape[p] for p in perm], np.int64)
        name = graph.fresh_name(f"{t.name}_shape")
        graph.add_value(Value(name, out_shape.dtype, out_shape.shape, out_shape))
        graph.remove_node(t)
        t.op_type, t.attrs = "Reshape", {}
        t.inputs = [t.inputs[0], name]
        graph.add_node(t)
        count += 1
    return count


def count_transposes(graph: Graph) -> int:
    return sum(1 for n in graph.nodes if n.op_type == "Transpose" and not n.domain)


def assign_nhwc(graph: Graph, nhwc_inputs: bool = False) -> dict:
    """Run the layout pass. With nhwc_inputs, 4-D graph inputs are taken as NHWC."""
    before = count_transposes(graph)
    wrapped = 0
    for node in graph.topo_order():
        if _wrappable(graph, node):
            _wrap(graph, node)
            wrapped += 1
    if nhwc_inputs and wrapped:
        for name in list(graph.inputs):
            v = graph.value(name)
            if v.shape is None or len(v.shape) != 4:
                continue
            # The input keeps its name but is now NHWC; its old readers get a transposed copy.
            inner = graph.fresh_name(f"{name}_nchw")
            graph.add_value(Value(inner, v.dtype, v.shape))
            graph.replace_uses(name, inner)
            v.shape = _permute(v.shape, TO_NHWC)
            _add_transpose(graph, name, inner, TO_NCHW, "input")
    for _ in range(10 * max(len(graph.nodes), 1)):
        if not _simplify(graph):
            break
    reshaped = _transposes_to_reshapes(graph)
    return {"nhwc_ops": wrapped, "transposes_before": before, "transposes_after": count_transposes(graph),
            "transposes_as_reshape": reshaped}  # fmt: skip
