"""What a lowering sees: one node, its typed inputs, and a builder for calls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opset.execute import NARROW_STORAGE, storage_array
from opset.program import Block, Call, Dim, DType, Ref

import numpy as np

from ..errors import UnsupportedFeatureError
from ..ir import Graph, Node, Value

if TYPE_CHECKING:
    from .lower import ProgramBuilder

# Integer/bool constants (shapes, indices) up to this size are written inline as literals;
# float constants inline only when scalar, so biases and weights stay in the weights file.
INLINE_LIMIT = 16


# Index/weight tables a lowering computes at translation time (Resize maps, Pad index maps, AffineGrid
# base grids) are sized by the model's dims; above this many elements the lowering computes them at
# run time instead, from the actual input, so translation never makes a model-sized allocation.
MAX_TABLE_ELEMENTS = 1 << 22


def is_inline(arr: np.ndarray) -> bool:
    return (arr.size <= INLINE_LIMIT and arr.dtype.kind in "biu") or (arr.size <= 1 and arr.dtype.kind == "f")


def dtype_name(dtype: np.dtype | type | str) -> str:
    """The MLX dtype that holds values of `dtype` (sub-byte integers are held in a byte: NARROW_STORAGE)."""
    name = np.dtype(dtype).name
    return "bool_" if name == "bool" else NARROW_STORAGE.get(name, name)


class LowerCtx:
    def __init__(self, builder: ProgramBuilder, graph: Graph, node: Node):
        self.builder = builder
        self.graph = graph
        self.node = node
        self.calls: list[Call] = []

    # -- node facts ----------------------------------------------------
    @property
    def opset(self) -> int:
        return self.graph.opset(self.node.domain)

    @property
    def num_inputs(self) -> int:
        n = len(self.node.inputs)
        while n and not self.node.inputs[n - 1]:
            n -= 1
        return n

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    def has_input(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def value(self, i: int) -> Value:
        return self.graph.value(self.node.inputs[i])

    def out_value(self, i: int = 0) -> Value:
        return self.graph.value(self.node.outputs[i])

    def const(self, i: int) -> np.ndarray | None:
        """The input's value if it is known at translation time."""
        if not self.has_input(i):
            return None
        return self.value(i).const

    def dtype(self, i: int) -> np.dtype:
        v = self.value(i)
        if v.dtype is None:
            self.fail(f"input {v.name!r} has no known dtype")
        return np.dtype(v.dtype)

    def out_dtype(self, i: int = 0) -> np.dtype | None:
        v = self.out_value(i)
        return None if v.dtype is None else np.dtype(v.dtype)

    def shape(self, i: int) -> tuple | None:
        v = self.value(i)
        return tuple(v.const.shape) if v.const is not None else v.shape

    def rank(self, i: int) -> int:
        s = self.shape(i)
        if s is None:
            self.fail(f"input {self.node.inputs[i]!r} has unknown rank")
        return len(s)

    def static_shape(self, i: int) -> tuple[int, ...] | None:
        return self.value(i).static_shape

    def dim(self, i: int, axis: int) -> int | Dim:
        """A dim of input i: an int when known, else a run-time Dim (also when the rank is unknown:
        then `axis` must count from the front)."""
        s = self.shape(i)
        if s is None:
            if axis < 0:
                self.fail(f"input {self.node.inputs[i]!r} has unknown rank: axis {axis} cannot be resolved")
            return Dim(self.input(i).name, axis)
        if isinstance(s[axis], int):
            return s[axis]
        return Dim(self.input(i).name, axis % self.rank(i))

    # -- building ------------------------------------------------------
    def input(self, i: int) -> Ref:
        if not self.has_input(i):
            self.fail(f"required input #{i} is missing")
        return self.builder.ref_for(self.node.inputs[i], self)

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Ref:
        return self.call_n(fn, 1, *args, **kwargs)[0]

    def call_n(self, fn: str, n: int, *args: Any, **kwargs: Any) -> list[Ref]:
        outs = tuple(self.builder.temp() for _ in range(n))
        self.calls.append(Call(fn, tuple(args), dict(kwargs), outs, self.node.name, self.node.op_type))
        return [Ref(o) for o in outs]

    def control(self, fn: str, n: int, *args: Any, blocks: tuple[Block, ...]) -> list[Ref]:
        """A control-flow call (`if`, `loop`: see opset.program) with n outputs."""
        outs = tuple(self.builder.temp() for _ in range(n))
        self.calls.append(Call(fn, tuple(args), {}, outs, self.node.name, self.node.op_type, tuple(blocks)))
        return [Ref(o) for o in outs]

    @contextlib.contextmanager
    def collecting(self) -> Iterator[list[Call]]:
        """Calls made inside the `with` go to the yielded list instead (a block's own calls)."""
        saved, self.calls = self.calls, []
        try:
            yield self.calls
        finally:
            self.calls = saved

    def scalar(self, value: float | int | bool, dtype: Any) -> float | int | bool:
        """A Python scalar of the right kind: MLX keeps the array's dtype for it."""
        kind = np.dtype(NARROW_STORAGE.get(np.dtype(dtype).name, dtype)).kind
        if kind == "b":
            return bool(value)
        if kind in "iu":
            return int(value)
        return float(value)

    def literal(self, values: Any, dtype: Any) -> Ref:
        """A small constant array written inline."""
        arr = storage_array(np.asarray(values, dtype=dtype))
        return self.call("array", _to_literal(arr), dtype=DType(dtype_name(arr.dtype)))

    def constant(self, arr: np.ndarray, hint: str = "const") -> Ref:
        """A constant array: inline if small, else a weight."""
        arr = storage_array(np.asarray(arr))
        if is_inline(arr):
            return self.literal(arr, arr.dtype)
        return self.builder.add_weight(arr, f"{self.node.name}_{hint}")

    def cast(self, x: Ref, dtype: Any) -> Ref:
        return self.call("astype", x, DType(dtype_name(dtype)))

    def fail(self, message: str):
        raise UnsupportedFeatureError(f"node {self.node.name!r} ({self.node.op_type}, opset {self.opset}): {message}")


def _to_literal(arr: np.ndarray) -> Any:
    if arr.dtype.kind == "f":
        return arr.astype(np.float64).tolist()
    if arr.dtype.kind == "b":
        return arr.tolist()
    return arr.astype(np.int64).tolist()
