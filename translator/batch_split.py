"""Whether a batch may run as sub-batches: each image's outputs depend on that image alone.

A detector at 640x640 has 6.5 MB feature maps per image, 52 MB for a batch of 8: over glibc's
largest mmap threshold (32 MB, opset/allocator.py), so every such buffer is mmapped and faulted in
afresh on every forward (YuNet at batch 8: 38,000 page faults per run, 0 as sub-batches), and the
maps no longer stay in cache from one layer to the next. Images per second at batch 8 fell to a
third of batch 1's (docs/benchmarks.md). Running the batch as sub-batches keeps both in bounds; it
is only right when no op mixes images.

`image_split` proves that on the model's graph at the batch's concrete shapes (shape sub-graphs
folded): every input has the batch on axis 0, and every op is known to act on each image alone
(convs, pooling, elementwise with per-image constants, reductions and concats off axis 0, ...).
Each value's elements, in memory order, then read as [outer, N, inner]: image i's own result is the
[:, i, :] slice (flattened). The inputs start with outer = 1; a Transpose moves the images inward
(SCRFD's heads: [N, 2, 80, 80] -> [80, 80, N, 2], outer = 6400), a Reshape keeps (outer, inner)
whatever shape it gives (YuNet's [1, N * 6400, 1], SCRFD's [N * 12800, 1] outputs). Where an op
needs to know which axis holds the images, it is the axis whose prefix is `outer` elements long,
N * k long (the images, k rows each). Outputs are then reassembled from the sub-batches' outputs:
each read as [outer, images, inner] and concatenated on the middle axis. Anything not proven (an
unknown op, a shape left symbolic, a reduction over the images, a concat along them) answers None:
the batch runs whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from .api import set_input_shapes
from .errors import TranslatorError
from .frontend import ModelSource, build_graph, load_model, prepare_model
from .ir import Graph, Node
from .passes import fold_to_fixpoint


@dataclass(frozen=True)
class ImageSplit:
    """How a batch of `batch` images splits: each output's (outer, inner), and one image's largest value."""

    batch: int
    outputs: dict[str, tuple[int, int]]  # name -> (outer, inner): the output reads as [outer, batch, inner]
    output_shapes: dict[str, tuple[int, ...]]  # at the whole batch
    image_bytes: int  # the largest non-constant value of the graph, per image

    def assemble(self, name: str, parts: list[np.ndarray]) -> np.ndarray:
        """Output `name` of the whole batch from its sub-batches' outputs, in image order."""
        outer, inner = self.outputs[name]
        blocks = [p.reshape(outer, -1, inner) for p in parts]
        whole = np.concatenate(blocks, axis=1)
        if whole.shape[1] != self.batch:
            raise ValueError(f"output {name!r}: the sub-batches gave {whole.shape[1]} images, not {self.batch}")
        return whole.reshape(self.output_shapes[name])

    def sub_batch(self, budget_bytes: int) -> int:
        """Images per sub-batch: as few sub-batches as keep each one's largest value within budget_bytes
        (one image at least), evened out (8 images in 5 + 3 become 4 + 4: one translation, not two)."""
        most = max(1, min(self.batch, budget_bytes // max(1, self.image_bytes)))
        count = -(-self.batch // most)
        return -(-self.batch // count)


UNARY = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil",
    "Round", "Sign", "Erf", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish",
    "Gelu", "ThresholdedRelu", "Sin", "Cos", "Not", "Cast", "Identity", "Dropout", "Clip", "IsNaN", "IsInf",
}  # fmt: skip
ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "Mod", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where",
}  # fmt: skip
# Ops over an [N, C, ...] tensor (input 0) that treat each of the N on its own, their other inputs constant.
PER_SAMPLE = {
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
    "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LRN", "DepthToSpace", "SpaceToDepth",
    "Resize", "Upsample", "Pad",
}  # fmt: skip
LAYOUT = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}  # the order of the elements is kept
SOFTMAX = {"Softmax", "LogSoftmax", "Hardmax"}
REDUCE = {
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare",
}  # fmt: skip


class _NotSplittable(Exception):
    pass


State = tuple[int, int]  # (outer, inner): the value reads as [outer, N, inner] in memory order


def image_split(source: ModelSource, input_shapes: dict[str, tuple[int, ...]]) -> ImageSplit | None:
    """The split of this batch (every input's axis 0, the same N > 1), or None if not proven."""
    loaded = load_model(source)
    batches = {s[0] if s else None for s in input_shapes.values()}
    if len(batches) != 1 or None in batches or next(iter(batches)) < 2:
        return None
    n = next(iter(batches))
    model = onnx.ModelProto.FromString(loaded.model.SerializeToString())
    try:
        set_input_shapes(model, input_shapes, loaded.label)
        loaded.model = model
        graph = build_graph(prepare_model(loaded), loaded.label)
        fold_to_fixpoint(graph)
        return _analyse(graph, n)
    except (_NotSplittable, TranslatorError):
        return None


def _analyse(graph: Graph, n: int) -> ImageSplit:
    states: dict[str, State] = {}  # absent: a constant (no input reaches it)
    largest = 0
    for name in graph.inputs:
        shape = _static(graph, name)
        if not shape or shape[0] != n:
            raise _NotSplittable
        states[name] = (1, _size(shape) // n)
    for node in graph.topo_order():
        if node.subgraphs or node.domain:
            raise _NotSplittable
        if not any(i and i in states for i in node.inputs):
            continue
        for out, state in zip(node.outputs, _rule(graph, node, states, n)):
            if out:
                states[out] = state
                largest = max(largest, _size(_static(graph, out)) * _itemsize(graph, out) // n)
    outputs, shapes = {}, {}
    for name in graph.outputs:
        if name not in states or graph.value(name).kind != "tensor":
            raise _NotSplittable
        outputs[name], shapes[name] = states[name], _static(graph, name)
    return ImageSplit(n, outputs, shapes, largest)


def _static(graph: Graph, name: str) -> tuple[int, ...]:
    shape = graph.value(name).static_shape
    if shape is None:
        raise _NotSplittable
    return shape


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _itemsize(graph: Graph, name: str) -> int:
    dtype = graph.value(name).dtype
    return np.dtype(dtype).itemsize if dtype is not None else 4


def _axis(shape: tuple[int, ...], state: State, n: int) -> tuple[int, int]:
    """(b, k): the axis that holds the images in a value of this shape, N * k long (image i: rows i*k..)."""
    outer, inner = state
    prefix = 1
    for b, d in enumerate(shape):
        if prefix == outer and d % n == 0 and d // n * _size(shape[b + 1 :]) == inner:
            return b, d // n
        prefix *= d
        if prefix > outer:
            break
    raise _NotSplittable  # the images are spread over several axes


def _state(shape: tuple[int, ...], b: int, k: int, n: int) -> State:
    """The (outer, inner) of a value of this shape whose axis b holds the images, k rows each."""
    if shape[b] != n * k:
        raise _NotSplittable
    return _size(shape[:b]), k * _size(shape[b + 1 :])


def _const(graph: Graph, name: str) -> np.ndarray:
    v = graph.value(name).const if name else None
    if v is None:
        raise _NotSplittable
    return v


def _norm(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _rule(graph: Graph, node: Node, states: dict[str, State], n: int) -> list[State]:
    """The state of each output, or _NotSplittable."""
    op, ins = node.op_type, node.inputs
    outs = [o for o in node.outputs if o]
    out_shape = _static(graph, node.outputs[0])
    if op in ELEMENTWISE:
        return [_elementwise(graph, node, states, out_shape, n)]
    x = ins[0]
    if x not in states or any(i and i in states for i in ins[1:] if op != "Concat"):
        raise _NotSplittable  # the images reach a parameter slot (a weight computed from the input)
    state, shape = states[x], _static(graph, x)
    if op in LAYOUT or op in UNARY:  # the elements keep their order
        if len(outs) > 1:
            raise _NotSplittable
        return [state]
    b, k = _axis(shape, state, n)
    rank = len(shape)
    if op in PER_SAMPLE:  # [N, C, ...]
        if (b, k) != (0, 1) or len(outs) > 1:
            raise _NotSplittable
        if op == "Pad":
            pads = _const(graph, ins[1]) if len(ins) > 1 and ins[1] else np.asarray(node.attrs.get("pads", []))
            padded = [_norm(int(a), rank) for a in _const(graph, ins[3])] if len(ins) > 3 and ins[3] else range(rank)
            half = len(pads) // 2
            if any(a == 0 and (pads[j] or pads[j + half]) for j, a in enumerate(padded)):
                raise _NotSplittable
        return [_state(out_shape, 0, 1, n)]
    if op == "Transpose":
        if k != 1:
            raise _NotSplittable
        perm = [int(p) for p in node.attrs.get("perm", reversed(range(rank)))]
        return [_state(out_shape, perm.index(b), 1, n)]
    if op == "Concat":
        if any(not i or states.get(i) is None or _axis(_static(graph, i), states[i], n) != (b, k) for i in ins):
            raise _NotSplittable
        if _norm(int(node.attrs["axis"]), rank) == b:
            raise _NotSplittable
        return [_state(out_shape, b, k, n)]
    if op == "Split":
        if _norm(int(node.attrs.get("axis", 0)), rank) == b:
            raise _NotSplittable
        return [_state(_static(graph, o), b, k, n) if o else (0, 0) for o in node.outputs]
    if op == "Slice":
        starts = _const(graph, ins[1])
        sliced = _const(graph, ins[3]) if len(ins) > 3 and ins[3] else range(len(starts))
        steps = _const(graph, ins[4]) if len(ins) > 4 and ins[4] else [1] * len(starts)
        if any(_norm(int(a), rank) == b and int(steps[j]) != 1 for j, a in enumerate(sliced)):
            raise _NotSplittable
        return [_state(out_shape, b, k, n)]  # out_shape[b] == N * k: the images' axis kept whole
    if op in ("Gather", "ArgMax", "ArgMin") or op in SOFTMAX or op in REDUCE:
        if op in REDUCE and len(ins) > 1 and ins[1]:
            axes = [int(a) for a in _const(graph, ins[1])]
        elif op in REDUCE:
            axes = list(node.attrs.get("axes", range(rank)))
        elif op in SOFTMAX:  # before opset 13 the input is flattened to 2-D at the axis
            axes = [int(node.attrs.get("axis", 1 if graph.opset() < 13 else -1))]
        else:
            axes = [int(node.attrs.get("axis", 0))]
        if not axes or any(_norm(a, rank) <= b for a in axes):  # after the images' axis: it keeps its place
            raise _NotSplittable
        return [_state(out_shape, b, k, n)]
    if op == "MatMul":
        if rank < 2 or b >= rank - 1 or len(_static(graph, ins[1])) > 2:
            raise _NotSplittable
        return [_state(out_shape, b, k, n)]
    if op == "Gemm":
        c = _static(graph, ins[2]) if len(ins) > 2 and ins[2] else ()
        if b != 0 or node.attrs.get("transA", 0) or (len(c) == 2 and c[0] != 1):
            raise _NotSplittable
        return [_state(out_shape, 0, k, n)]
    raise _NotSplittable


def _elementwise(graph: Graph, node: Node, states: dict[str, State], out_shape: tuple[int, ...], n: int) -> State:
    """Operands with the images: the output's shape and state (no broadcasting of the images themselves);
    constants: 1 (or absent) on the images' axis."""
    live = [i for i in node.inputs if i and i in states]
    state = states[live[0]]
    if any(_static(graph, i) != out_shape or states[i] != state for i in live) or len(node.outputs) > 1:
        raise _NotSplittable
    b, _ = _axis(out_shape, state, n)
    for i in node.inputs:
        if i and i not in states:  # broadcast from the right
            c = _static(graph, i)
            at = b - (len(out_shape) - len(c))
            if at >= 0 and c[at] != 1:
                raise _NotSplittable
    return state
