"""The ONNX-level IR: a networkx DiGraph of op nodes, with typed values between them.

Edges run producer -> consumer and carry the names of the values they pass.
Shapes keep symbolic dims as strings and unknown dims as None: nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .errors import InvalidModelError

Dim = int | str | None
Shape = tuple[Dim, ...]


# What a value holds: a tensor, a sequence of tensors (a Python list at run time), or an optional
# (None or a value). For the latter two, dtype and shape describe the elements.
KINDS = ("tensor", "sequence", "optional")


@dataclass
class Value:
    name: str
    dtype: np.dtype | None = None
    shape: Shape | None = None  # None: rank unknown
    const: np.ndarray | None = None  # set for initializers and folded constants
    kind: str = "tensor"

    @property
    def is_const(self) -> bool:
        return self.const is not None

    @property
    def static_shape(self) -> tuple[int, ...] | None:
        if self.const is not None:
            return tuple(self.const.shape)
        if self.shape is None or any(not isinstance(d, int) for d in self.shape):
            return None
        return tuple(self.shape)  # type: ignore[arg-type]


@dataclass
class Node:
    name: str
    op_type: str
    domain: str = ""
    inputs: list[str] = field(default_factory=list)  # "" marks an omitted optional input
    outputs: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"{self.op_type}({self.name!r})"

    @property
    def subgraphs(self) -> dict[str, Graph]:
        """Graph-valued attributes (If's branches, Loop's and Scan's bodies), by attribute name."""
        return {k: v for k, v in self.attrs.items() if isinstance(v, Graph)}

    @property
    def num_captures(self) -> int:
        """How many trailing inputs carry outer-scope values its subgraphs read (see frontend)."""
        return int(self.attrs.get("_captures", 0))

    @property
    def formal_inputs(self) -> list[str]:
        """The inputs the op's schema defines (the captured values excluded)."""
        return self.inputs[: len(self.inputs) - self.num_captures]


class Graph:
    """Nodes in a DiGraph plus a table of values. Mutate only through the methods."""

    def __init__(self, name: str = "model", opsets: dict[str, int] | None = None):
        self.name = name
        self.opsets: dict[str, int] = dict(opsets or {"": 13})
        self.g = nx.DiGraph()
        self.values: dict[str, Value] = {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self._producer: dict[str, str] = {}
        self._consumers: dict[str, list[str]] = {}

    # -- queries -------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return [self.g.nodes[n]["node"] for n in self.g.nodes]

    def node(self, name: str) -> Node:
        return self.g.nodes[name]["node"]

    def value(self, name: str) -> Value:
        try:
            return self.values[name]
        except KeyError:
            raise InvalidModelError(f"value {name!r} is used but never defined") from None

    def producer(self, value: str) -> Node | None:
        name = self._producer.get(value)
        return None if name is None else self.node(name)

    def consumers(self, value: str) -> list[Node]:
        return [self.node(n) for n in self._consumers.get(value, [])]

    def opset(self, domain: str = "") -> int:
        domain = "" if domain == "ai.onnx" else domain
        return self.opsets.get(domain, 1)

    def topo_order(self) -> list[Node]:
        try:
            order = list(nx.lexicographical_topological_sort(self.g, key=self._order_key))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(self.g)
            raise InvalidModelError(f"graph {self.name!r} has a cycle through nodes {[e[0] for e in cycle]}") from None
        return [self.node(n) for n in order]

    def _order_key(self, name: str) -> str:
        return f"{self.g.nodes[name]['index']:09d}"

    # -- mutation ------------------------------------------------------
    def add_value(self, value: Value) -> Value:
        self.values[value.name] = value
        return value

    def add_node(self, node: Node, index: int | None = None) -> Node:
        if node.name in self.g:
            raise InvalidModelError(f"duplicate node name {node.name!r}")
        for out in node.outputs:
            if out and out in self._producer:
                raise InvalidModelError(f"value {out!r} is produced by both {self._producer[out]!r} and {node.name!r}")
        if index is None:
            index = max((d["index"] for _, d in self.g.nodes(data=True)), default=-1) + 1
        self.g.add_node(node.name, node=node, index=index)
        for out in node.outputs:
            if out:
                self._producer[out] = node.name
                self.values.setdefault(out, Value(out))
                for consumer in self._consumers.get(out, []):
                    self.g.add_edge(node.name, consumer)
        for inp in node.inputs:
            if inp:
                self._consumers.setdefault(inp, []).append(node.name)
                src = self._producer.get(inp)
                if src is not None:
                    self.g.add_edge(src, node.name)
        return node

    def remove_node(self, node: Node) -> None:
        for out in node.outputs:
            if self._producer.get(out) == node.name:
                del self._producer[out]
        for inp in node.inputs:
            users = self._consumers.get(inp)
            if users and node.name in users:
                users.remove(node.name)
        self.g.remove_node(node.name)

    def replace_uses(self, old: str, new: str) -> None:
        """Point every consumer (and graph output) of value `old` at value `new`."""
        for consumer in list(self.consumers(old)):
            consumer.inputs = [new if i == old else i for i in consumer.inputs]
            self._consumers[old].remove(consumer.name)
            self._consumers.setdefault(new, []).append(consumer.name)
            src = self._producer.get(new)
            if src is not None:
                self.g.add_edge(src, consumer.name)
        if old in self.outputs:
            self.outputs = [new if o == old else o for o in self.outputs]

    def rename_output(self, node: Node, old: str, new: str) -> None:
        """Make `node` produce value `new` where it produced `old` (new must be unproduced)."""
        node.outputs = [new if o == old else o for o in node.outputs]
        self._producer.pop(old, None)
        self._producer[new] = node.name
        for consumer in self._consumers.get(new, []):
            self.g.add_edge(node.name, consumer)

    def nested(self) -> list[tuple[Node, Graph]]:
        """(owner node, subgraph) of every control-flow node in this graph (not recursive)."""
        return [(n, g) for n in self.nodes for g in n.subgraphs.values()]

    def fresh_name(self, base: str) -> str:
        name, i = base, 0
        while name in self.values or name in self.g:
            i += 1
            name = f"{base}_{i}"
        return name

    def set_inputs(self, node: Node, inputs: list[str]) -> None:
        """Replace a node's input list, keeping edges and use tables right."""
        for inp in node.inputs:
            users = self._consumers.get(inp)
            if users and node.name in users:
                users.remove(node.name)
        for pred in list(self.g.predecessors(node.name)):
            self.g.remove_edge(pred, node.name)
        node.inputs = list(inputs)
        for inp in node.inputs:
            if inp:
                self._consumers.setdefault(inp, []).append(node.name)
                src = self._producer.get(inp)
                if src is not None:
                    self.g.add_edge(src, node.name)

    def prune_edges(self) -> None:
        """Recompute edges from the producer/consumer tables (after bulk rewrites)."""
        self.g.remove_edges_from(list(self.g.edges))
        for value, users in self._consumers.items():
            src = self._producer.get(value)
            if src is not None:
                for u in users:
                    self.g.add_edge(src, u)
