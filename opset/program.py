"""The lowered form: a flat list of calls to allowlisted MLX functions.

This is the project's real IR. Both back ends print or serialize exactly this,
so the generated module and the op-list interpreter cannot disagree.
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


@dataclass
class Call:
    fn: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    node: str = ""  # the ONNX node this call came from (for comments and errors)
    op: str = ""  # that node's op type


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
        return sorted({c.fn for c in self.calls})


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
