"""Folding a node into the node that makes its input: what the fusing passes (conv_pool, conv_shuffle,
upsample_add) share."""

from __future__ import annotations

from ..ir import Graph, Node


def read_once(graph: Graph, value: str) -> bool:
    """One node reads `value` and it is not a graph output: its producer may make something else instead."""
    return len(graph.consumers(value)) == 1 and value not in graph.outputs


def absorb(graph: Graph, producer: Node, consumer: Node, inputs: list[str], attrs: dict) -> None:
    """Replace `consumer` and the `producer` it reads by one node: the producer's name, op and domain, with
    `inputs` and `attrs`, making the consumer's outputs."""
    graph.remove_node(consumer)
    graph.remove_node(producer)
    graph.add_node(Node(producer.name, producer.op_type, producer.domain, inputs, list(consumer.outputs), attrs))
