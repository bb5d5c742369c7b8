"""Identity/Dropout removal and dead-code elimination."""

from __future__ import annotations

from ..ir import Graph


def remove_identities(graph: Graph) -> int:
    """Bypass Identity, and Dropout whose mask is unused (inference mode). Returns count."""
    removed = 0
    for node in graph.topo_order():
        if node.op_type not in ("Identity", "Dropout") or node.domain:
            continue
        if node.op_type == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
            if graph.consumers(node.outputs[1]) or node.outputs[1] in graph.outputs:
                continue
        src, dst = node.inputs[0], node.outputs[0]
        if dst in graph.outputs and (src in graph.inputs or src in graph.outputs):
            continue  # an output aliasing an input must stay a distinct value
        if dst in graph.outputs:
            # Keep the output's name: make the producer of `src` write `dst` instead.
            producer = graph.producer(src)
            if producer is None or graph.consumers(src) != [node] or src in graph.outputs:
                continue
            graph.remove_node(node)
            graph.rename_output(producer, src, dst)
            if graph.values[dst].dtype is None:
                graph.values[dst].dtype = graph.values[src].dtype
        else:
            graph.remove_node(node)
            graph.replace_uses(dst, src)
        removed += 1
    return removed


def eliminate_dead_code(graph: Graph) -> int:
    """Remove nodes none of whose outputs reach a graph output. Returns count."""
    removed = 0
    live = set(graph.outputs)
    for node in reversed(graph.topo_order()):
        if any(o in live for o in node.outputs if o):
            live.update(i for i in node.inputs if i)
        else:
            graph.remove_node(node)
            removed += 1
    for name in [n for n, v in graph.values.items() if v.const is not None and n not in live]:
        del graph.values[name]
    return removed
