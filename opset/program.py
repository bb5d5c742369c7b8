"""The lowered form: a list of calls to allowlisted MLX functions, with nested blocks for control flow.

This is the project's real IR. Both back ends print or serialize exactly this,
so the generated module and the op-list interpreter cannot disagree.

Control flow is two call kinds that hold blocks (CONTROL):
- `if`: args (cond,), blocks (then, else); each block's results bind the call's outputs.
- `loop`: args (trip count or None, condition or None, *initial carried values), one block, the body,
  whose params are (iteration, condition, *carried) and whose results are
  (condition or None, *carried, *per-iteration parts). The call's outputs are the final carried
  values, then one Python list of parts per extra result (a later call stacks them if a tensor is wanted).
Blocks read values of the enclosing scopes by name (names are unique in a program); names defined
inside a block are not visible after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Ref:
    """A run-time array (graph input, weight, or the output of an earlier call)."""

    name: str


@dataclass(frozen=True)
class Dim:
    """`ref.shape[axis]`, read at run time (for dynamic dims)."""

    ref: str
    axis: int


@dataclass(frozen=True)
class DType:
    """An MLX dtype literal, by name (e.g. "float32")."""

    name: str


@dataclass(frozen=True)
class Slice:
    """A Python slice literal for the `getitem` call."""

    start: int | None = None
    stop: int | None = None
    step: int | None = None


# Call kinds that hold nested blocks (see the module docstring); not functions, so not on the allowlist.
CONTROL = ("if", "loop")


@dataclass
class Call:
    fn: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    node: str = ""  # the ONNX node this call came from (for comments and errors)
    op: str = ""  # that node's op type
    blocks: tuple[Block, ...] = ()  # for the CONTROL kinds only


@dataclass
class Block:
    """A nested call list: entered with `params` bound, it yields `results` (Refs or constants)."""

    params: tuple[str, ...] = ()
    calls: list[Call] = field(default_factory=list)
    results: tuple = ()


@dataclass
class TensorSpec:
    name: str  # identifier used in the lowered program
    onnx_name: str
    dtype: str | None  # numpy dtype name
    shape: tuple | None


@dataclass
class Program:
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    weights: dict[str, np.ndarray]
    calls: list[Call]
    notes: dict[str, Any] = field(default_factory=dict)  # fused patterns, strategies, timings

    def functions_used(self) -> list[str]:
        return sorted({c.fn for c in walk_calls(self.calls)})


def walk_calls(calls: list[Call]):
    """Every call, those inside blocks included (depth first, in program order)."""
    for call in calls:
        yield call
        for block in call.blocks:
            yield from walk_calls(block.calls)


def reads(call: Call) -> set[str]:
    """Names a call reads from its scope: its arguments, and what its blocks read from outside themselves."""
    names = set(refs_in((call.args, call.kwargs)))
    for block in call.blocks:
        names |= block_reads(block)
    return names


def block_reads(block: Block) -> set[str]:
    """Names a block reads from the scopes around it."""
    defined = set(block.params)
    outside: set[str] = set()
    for call in block.calls:
        outside |= reads(call) - defined
        defined.update(call.outputs)
    return outside | (set(refs_in(block.results)) - defined)


def refs_in(value: Any) -> list[str]:
    """Names of every Ref/Dim nested in a call argument."""
    if isinstance(value, Ref):
        return [value.name]
    if isinstance(value, Dim):
        return [value.ref]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in refs_in(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in refs_in(v)]
    return []
