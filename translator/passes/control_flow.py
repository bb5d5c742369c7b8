"""Control-flow passes: constant If conditions fold away; subgraphs see constant captures; subgraphs are optimized.

An If whose condition folded to a constant is replaced by the nodes of the
branch it takes (renamed into the enclosing graph), so they join its passes.
A subgraph's captured outer value that is constant becomes a constant of the
subgraph, so folding inside it sees through (e.g. a Loop body reading a
weight). Then every subgraph runs the same pass pipeline as the main graph.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Graph, Node, Value


def fold_constant_ifs(graph: Graph) -> int:
    """Inline the taken branch of every If with a constant condition. Returns how many were folded."""
    folded = 0
    for node in graph.topo_order():
        if node.op_type != "If" or node.domain or not node.inputs or not node.inputs[0]:
            continue
        cond = graph.value(node.inputs[0]).const
        if cond is None or cond.size != 1:
            continue
        branch = node.subgraphs.get("then_branch" if bool(cond.reshape(-1)[0]) else "else_branch")
        if branch is None or len(branch.outputs) != len(node.outputs):
            continue
        _inline(graph, node, branch)
        folded += 1
    return folded


def _inline(graph: Graph, node: Node, branch: Graph) -> None:
    captured = node.inputs[len(node.inputs) - node.num_captures :]
    names: dict[str, str] = dict(zip(branch.inputs, captured))

    def outer_name(inner: str) -> str:
        if not inner:
            return inner
        if inner not in names:
            v = branch.value(inner)
            names[inner] = graph.fresh_name(f"{node.name}_{inner}")
            graph.add_value(Value(names[inner], v.dtype, v.shape, v.const, v.kind))
        return names[inner]

    graph.remove_node(node)
    for inner in branch.topo_order():
        copy = Node(
            graph.fresh_name(f"{node.name}/{inner.name}"),
            inner.op_type,
            inner.domain,
            [outer_name(i) for i in inner.inputs],
            [outer_name(o) for o in inner.outputs],
            dict(inner.attrs),
        )
        graph.add_node(copy)
    for out, inner in zip(node.outputs, branch.outputs):
        if not out:
            continue
        src = outer_name(inner)
        if out in graph.outputs:  # keep the graph output's name: an Identity the cleanup pass folds
            graph.add_node(Node(graph.fresh_name(f"{node.name}_out"), "Identity", "", [src], [out]))
        else:
            graph.replace_uses(out, src)


def propagate_constant_captures(graph: Graph) -> int:
    """Make constant captured values constants of the subgraphs that read them. Returns how many."""
    moved = 0
    for node in graph.nodes:
        subs = list(node.subgraphs.values())
        if not subs or not node.num_captures:
            continue
        first = len(node.inputs) - node.num_captures
        keep = []
        for j, outer in enumerate(node.inputs[first:]):
            const = graph.value(outer).const if outer else None
            if const is None:
                keep.append(j)
                continue
            for sub in subs:
                inner = sub.inputs[len(sub.inputs) - node.num_captures + j]
                v = sub.value(inner)
                v.const, v.dtype, v.shape = const, const.dtype, tuple(const.shape)
            moved += 1
        if len(keep) == node.num_captures:
            continue
        for sub in subs:
            own = len(sub.inputs) - node.num_captures
            sub.inputs = sub.inputs[:own] + [sub.inputs[own + j] for j in keep]
        graph.set_inputs(node, node.inputs[:first] + [node.inputs[first + j] for j in keep])
        node.attrs["_captures"] = len(keep)
    return moved


def optimize_subgraphs(graph: Graph, run: Callable[[Graph], dict]) -> dict:
    """Run `run` (the pass pipeline) on every subgraph, nested ones included; returns the summed notes."""
    propagate_constant_captures(graph)
    total: dict = {}
    for _, sub in graph.nested():
        _add_counts(total, run(sub))
    return total


def _add_counts(total: dict, notes: dict) -> None:
    """Sum the counts in `notes` into `total` (nested dicts of counts too)."""
    for key, n in notes.items():
        if isinstance(n, dict):
            _add_counts(total.setdefault(key, {}), n)
        elif isinstance(n, int) and not isinstance(n, bool):
            total[key] = total.get(key, 0) + n
