"""Recover where each lowered call sat in the source model's module tree.

Exporters leave the structure in names, in one of three ways:
- PyTorch's scoped node names: `/body/stage1/stage1.0/stage1.0.0/Conv` ran in
  module `body.stage1.0.0` (each level repeats its parent's prefix);
- older exporters name nodes `Conv_12` but keep state-dict keys on the
  parameters (`model.0.conv.weight` -> module `model.0.conv`);
- or nothing (`Conv_12` reading `onnx::Conv_345`, insightface's `conv_1`).

Passes name the nodes they make after the nodes they replace (`<a>_<b>` for a
fused pair, `<a>_merged`, `<a>_part0`, `<a>_in_transpose` ...), so a call's
node name is traced back to the original nodes it contains.

A scope is a tuple of path components; all-digit components are list indices.
`None` means "unknown here": such calls are placed by their neighbours (the
deepest scope holding both the previous and the next known call), which never
splits a known scope in two; a call that reads weights gets a leaf of its own,
named after its node, so flat models still get named parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from opset.program import Program

from ..ir import Graph
from .dataflow import reads

Scope = tuple[str, ...]

# A state-dict key: dotted components, the last a plain parameter name (weight, bias, running_mean ...).
_PARAM_LEAF = re.compile(r"^[A-Za-z_]+$")
# Components of pseudo-scopes (one per flat node that reads weights) carry this marker until the tree
# is built, so they can never merge with a real module of the same name.
PSEUDO = "\x00"
_MAX_CUTS = 64


def common_prefix(scopes: Iterable[Scope]) -> Scope:
    scopes = list(scopes)
    if not scopes:
        return ()
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        for i in range(n):
            if s[i] != first[i]:
                n = i
                break
    return first[:n]


def parse_scoped_name(name: str) -> Scope | None:
    """`/body/stage1/stage1.0/stage1.0.0/Conv` -> ('body', 'stage1', '0', '0'); None without '/'."""
    if "/" not in name:
        return None
    parts = [p for p in name.split("/")[:-1] if p]
    out: list[str] = []
    prev = None
    for part in parts:
        new = part[len(prev) + 1 :] if prev is not None and part.startswith(prev + ".") else part
        out.extend(p for p in new.split(".") if p)
        prev = part
    return tuple(out)


def param_scope(names: Sequence[str]) -> Scope | None:
    """The module that owns state-dict-named parameters (`model.0.conv.weight` -> model.0.conv)."""
    paths = []
    for name in names:
        parts = name.split(".")
        if len(parts) >= 2 and all(parts) and _PARAM_LEAF.match(parts[-1]):
            paths.append(tuple(parts[:-1]))
    return common_prefix(paths) if paths else None


def node_scopes(graph: Graph) -> dict[str, Scope | None]:
    """Original node name -> its module scope (None when the names say nothing). Run before the passes."""
    out: dict[str, Scope | None] = {}
    for node in graph.nodes:
        scope = parse_scoped_name(node.name)
        if scope is None:
            params = [i for i in node.inputs if i and i in graph.values and graph.values[i].const is not None]
            scope = param_scope(params)
        out[node.name] = scope
    return out


def constituents(name: str, known: dict[str, Scope | None]) -> list[str]:
    """Original node names a pass-made name is built from ('A_B' -> [A, B]; 'A_merged_part0' -> [A])."""
    if name in known:
        return [name]
    if name.count("_") > _MAX_CUTS:  # a hostile name: matching is quadratic in its underscores
        return []
    cuts = [0] + [i + 1 for i, ch in enumerate(name) if ch == "_"]
    ends = [i for i, ch in enumerate(name) if ch == "_"] + [len(name)]
    found: list[tuple[int, int]] = []
    for start in cuts:
        for end in ends:
            if end > start and name[start:end] in known:
                found.append((start, end))
    # keep maximal matches only (drop a match inside a longer one)
    keep = [m for m in found if not any(o != m and o[0] <= m[0] and m[1] <= o[1] for o in found)]
    return [name[s:e] for s, e in sorted(keep)]


def call_scopes(program: Program, origins: dict[str, Scope | None]) -> list[Scope]:
    """One scope per call of `program` (see the module docstring). Pseudo components start with PSEUDO."""
    calls = program.calls
    known: list[Scope | None] = []
    first_origin: list[str] = []
    for c in calls:
        parts = constituents(c.node, origins) if c.node else []
        scopes = [origins[p] for p in parts if origins.get(p) is not None]
        if scopes:
            known.append(common_prefix(scopes))
        elif not parts and c.node:
            known.append(parse_scoped_name(c.node))
        else:
            known.append(None)
        first_origin.append(parts[0] if parts else c.node)
    uses = [[n for n in reads(c) if n not in program.weights] for c in calls]
    inferred = _DataflowScopes(program, known, uses)
    # A flat node that reads weights gets a leaf of its own, holding all the calls it lowered to,
    # placed where its first weighted call is.
    leaf_base: dict[str, Scope] = {}
    for i, c in enumerate(calls):
        reads_weights = any(n in program.weights for n in reads(c))
        if known[i] is None and reads_weights and first_origin[i] and first_origin[i] not in leaf_base:
            leaf_base[first_origin[i]] = inferred.scope(i)
    graph_inputs = {t.name for t in program.inputs}
    graph_outputs = {t.name for t in program.outputs}
    out: list[Scope] = []
    for i, c in enumerate(calls):
        weightless = not any(n in program.weights for n in reads(c))
        if weightless and (
            (uses[i] and set(uses[i]) <= graph_inputs)
            or (c.fn == "transpose" and c.outputs and set(c.outputs) <= graph_outputs)
        ):
            out.append(())  # the layout pass's NCHW <-> NHWC at the model's edges is the model's own
        elif known[i] is not None:
            out.append(known[i])
        elif first_origin[i] in leaf_base:
            out.append(leaf_base[first_origin[i]] + (PSEUDO + first_origin[i],))
        else:
            out.append(inferred.scope(i))
    return out


class _DataflowScopes:
    """Where a call of unknown scope sits, from the known scopes it is wired to.

    Back along its latest producer (through other unknown calls) to a known scope (the graph input
    counts as the root), and forward along its first reader to the next known scope: the call sits in
    the deepest scope holding both. So a run of unnamed layers fed by the graph input stays at the
    root, an unnamed layer between two named layers of one block joins the block, and neither an
    earlier stage's output it also reads (a backbone tap added into the neck) nor a later block that
    also reads its output pulls it out of the block it runs in.
    """

    def __init__(self, program: Program, known: list[Scope | None], uses: list[list[str]]):
        n = len(known)
        inputs = {t.name for t in program.inputs}
        producer = {o: i for i, c in enumerate(program.calls) for o in c.outputs}
        first_reader: dict[str, int] = {}
        for i, u in enumerate(uses):
            for name in u:
                first_reader.setdefault(name, i)
        # Calls are in topological order: one pass forward settles every call's producers first,
        # one pass backward its readers.
        self.up: list[Scope | None] = [None] * n
        for i in range(n):
            latest = max((producer[name] for name in uses[i] if name in producer), default=None)
            if latest is not None:
                self.up[i] = known[latest] if known[latest] is not None else self.up[latest]
            elif any(name in inputs for name in uses[i]):
                self.up[i] = ()
        self.down: list[Scope | None] = [None] * n
        for i in reversed(range(n)):
            readers = [first_reader[o] for o in program.calls[i].outputs if o in first_reader]
            if readers:  # (a graph output says nothing: a head's last reshape stays in the head)
                j = min(readers)
                self.down[i] = known[j] if known[j] is not None else self.down[j]

    def scope(self, i: int) -> Scope:
        return _prefix_of_known([self.up[i], self.down[i]]) or ()


def _prefix_of_known(scopes: list[Scope | None]) -> Scope | None:
    found = [s for s in scopes if s is not None]
    return common_prefix(found) if found else None
