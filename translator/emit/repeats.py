"""Blocks for models whose exporter named nothing: repeated runs of layers become a list.

A flat export (`Conv_12`, `conv_3`) leaves one leaf module per weighted node
(emit/scopes.py). Where a run of statements repeats back to back -- MobileFaceNet's
1x1 conv, depthwise conv and residual add, thirteen times -- each repetition is
wrapped in a submodule, an element of a `blocks` list, and the block-type pass
(emit/blocks.py) then makes them one class. A run of leaves of one kind, each
feeding the next, becomes a `layers` list. Only the flat leaves and plain calls
are regrouped, never a scope the exporter named, and every call stays where it
was in program order.

Two repetitions match when their statements have the same functions, the same
argument structure (constants may differ: they become constructor arguments)
and the same wiring: each value read comes from the same statement of the
repetition, or from outside in the same order of first use, and the same
values are read after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opset.program import Call, Dim, Program, Ref, refs_in

from ..lowering.names import NameTable
from .blocks import normalized_kwargs
from .dataflow import reads
from .tree import ListAttr, Module, index_calls, statements_of

MAX_PERIOD = 12  # statements per repetition considered


@dataclass
class _Stmt:
    kind: str  # "call" or "child"
    what: Any  # call index or submodule
    calls: list[int]
    sig: tuple | None  # None: not to be regrouped
    reads: list[str]  # values (not weights) read from outside the statement, in order of first use
    defines: list[str]


def _shape(v: Any, program: Program, structural: bool = False) -> Any:
    if isinstance(v, Ref):
        return "w" if v.name in program.weights else "r"
    if isinstance(v, Dim):
        return ("dim", v.axis)
    if not refs_in(v):
        return ("lit", repr(v)) if structural else "u"
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_shape(x, program) for x in v))
    if isinstance(v, dict):
        return ("dict", tuple((k, _shape(x, program)) for k, x in v.items()))
    return ("opaque", id(v))  # a structure this module does not know never matches another


def _call_sig(c: Call, program: Program) -> tuple:
    args = tuple(_shape(a, program, c.fn == "getitem" and pos == 1) for pos, a in enumerate(c.args))
    kwargs = tuple((k, _shape(v, program)) for k, v, _ in normalized_kwargs(c))
    return ("call", c.fn, args, kwargs, len(c.outputs))


def _struct_sig(m: Module, owner, program: Program) -> tuple:
    parts = []
    for kind, what in statements_of(m, owner):
        if kind == "call":
            parts.append(_call_sig(program.calls[what], program))
        else:
            parts.append(("child", _struct_sig(what, owner, program)))
    return tuple(parts)


def _statements(m: Module, owner, program: Program) -> list[_Stmt]:
    out = []
    for kind, what in statements_of(m, owner):
        if kind == "call":
            calls = [what]
            sig = _call_sig(program.calls[what], program)
        else:
            calls = list(what.span)
            leaf = what.pseudo and what.list_name is None and not what.attrs
            sig = ("child", _struct_sig(what, owner, program)) if leaf else None
        defines = [o for i in calls for o in program.calls[i].outputs]
        inside = set(defines)
        read = []
        for i in calls:
            for n in reads(program.calls[i]):
                if n not in program.weights and n not in inside and n not in read:
                    read.append(n)
        out.append(_Stmt(kind, what, calls, sig, read, defines))
    return out


class _Finder:
    def __init__(self, stmts: list[_Stmt], program: Program):
        self.stmts = stmts
        self.program = program
        self.read_at: dict[str, set[int]] = {}
        for i, c in enumerate(program.calls):
            for n in reads(c):
                self.read_at.setdefault(n, set()).add(i)
        self.outputs = {o.name for o in program.outputs}
        self._sigs: dict[tuple[int, int], tuple | None] = {}

    def weighty(self, s: _Stmt) -> bool:
        if s.kind == "child":
            return True
        c = self.program.calls[s.what]
        return any(n in self.program.weights for n in reads(c))

    def occurrence(self, i: int, k: int) -> tuple | None:
        """Signature of stmts[i:i+k] as one block (None: it cannot be one)."""
        key = (i, k)
        if key not in self._sigs:
            self._sigs[key] = self._occurrence(i, k)
        return self._sigs[key]

    def _occurrence(self, i: int, k: int) -> tuple | None:
        run = self.stmts[i : i + k]
        if len(run) < k or any(s.sig is None for s in run) or not any(self.weighty(s) for s in run):
            return None
        local: dict[str, tuple] = {}
        outside: dict[str, int] = {}
        parts = []
        for t, s in enumerate(run):
            tokens = []
            for n in s.reads:
                tokens.append(local[n] if n in local else ("in", outside.setdefault(n, len(outside))))
            for p, d in enumerate(s.defines):
                local[d] = ("v", t, p)
            parts.append((s.sig, tuple(tokens)))
        span = {c for s in run for c in s.calls}
        escapes = tuple(
            sorted(local[d] for s in run for d in s.defines if d in self.outputs or self.read_at.get(d, set()) - span)
        )
        return (tuple(parts), escapes)

    def runs(self) -> list[tuple[int, int, int]]:
        """Non-overlapping (start, period, count) runs, the ones covering most statements first."""
        n = len(self.stmts)
        found = []
        for k in range(1, min(MAX_PERIOD, n // 2) + 1):
            i = 0
            while i + 2 * k <= n:
                sig = self.occurrence(i, k)
                count = 1
                if sig is not None:
                    while self.occurrence(i + count * k, k) == sig and self._links(i, k, count):
                        count += 1
                if count >= 2:  # most statements covered; then the narrowest edge (a block, not a seam)
                    found.append((count * k, -self.interface(i, k), -k, -i, i, k, count))
                    i += count * k
                else:
                    i += 1
        taken: set[int] = set()
        chosen = []
        for *_, i, k, count in sorted(found, reverse=True):
            cover = set(range(i, i + k * count))
            if cover & taken:
                continue
            taken |= cover
            chosen.append((i, k, count))
        return sorted(chosen)

    def interface(self, i: int, k: int) -> int:
        """Values crossing the edge of stmts[i:i+k]: read from outside, or read after it."""
        sig = self.occurrence(i, k)
        inputs = {t for _, tokens in sig[0] for t in tokens if t[0] == "in"}
        return len(inputs) + len(sig[1])

    def _links(self, i: int, k: int, count: int) -> bool:
        """Single statements join a run only as a chain (each feeding the next): that makes a loop."""
        if k > 1:
            return True
        prev, nxt = self.stmts[i + (count - 1)], self.stmts[i + count]
        return prev.kind == nxt.kind == "child" and len(prev.defines) >= 1 and nxt.reads[:1] == prev.defines[-1:]


def _stem(name: str) -> str:
    """A flat leaf's kind from its node name: conv_18 -> conv, model_conv_18 -> conv."""
    base = re.sub(r"[_0-9]+$", "", name) or name
    return base.rsplit("_", 1)[-1] or base


def group_repeats(root: Module, program: Program) -> bool:
    """Regroup repeated runs in every module of the tree (in place). True if anything changed.

    Runs of single layers that continue one chain share a `layers` list (a chain tapped by other
    statements resumes where it stopped); repeated runs of one kind share a `blocks` list.
    """
    changed = False
    owner = index_calls(root, len(program.calls))
    for m in list(root.walk()):
        stmts = _statements(m, owner, program)
        finder = _Finder(stmts, program)
        runs = finder.runs()
        if not runs:
            continue
        names = NameTable({a.name for a in m.attrs})
        chains: list[tuple[ListAttr, str]] = []  # layers lists and the value their last layer makes
        kinds: dict[tuple, ListAttr] = {}  # blocks lists by the kind of block
        for i, k, count in runs:
            run = stmts[i : i + k * count]
            first_attr = next((m.attrs.index(s.what) for s in run if s.kind == "child"), len(m.attrs))
            for s in run:
                if s.kind == "child":
                    m.attrs.remove(s.what)
            if k == 1:
                lst = next((a for a, end in chains if run[0].reads[:1] == [end]), None)
                if lst is None:
                    lst = ListAttr(names.new("layers"))
                    m.attrs.insert(first_attr, lst)
                else:
                    chains = [(a, e) for a, e in chains if a is not lst]
                chains.append((lst, run[-1].defines[-1]))
                for s in run:
                    child = s.what
                    child.name, child.list_name, child.index = lst.name, lst.name, len(lst.items)
                    lst.items.append(child)
                continue
            kind = finder.occurrence(i, k)
            lst = kinds.get(kind)
            if lst is None:
                lst = kinds[kind] = ListAttr(names.new("blocks"))
                m.attrs.insert(first_attr, lst)
            for o in range(count):
                lst.items.append(_wrap(m, lst, run[o * k : (o + 1) * k]))
        owner = index_calls(root, len(program.calls))
        changed = True
    return changed


def _wrap(m: Module, lst: ListAttr, part: list[_Stmt]) -> Module:
    """A new submodule of m (the next element of `lst`) running the statements `part`."""
    block = Module(lst.name, m, lst.name, len(lst.items), scope=m.scope)
    kids = [s.what for s in part if s.kind == "child"]
    stems = [_stem(c.name) for c in kids]
    inner = NameTable()
    for n, (c, stem) in enumerate(zip(kids, stems)):
        numbered = stems.count(stem) > 1  # conv1, conv2 as in hand-written blocks
        c.name = inner.new(f"{stem}{stems[: n + 1].count(stem)}" if numbered else stem)
        c.parent = block
        block.attrs.append(c)
    for s in part:
        if s.kind == "call":
            m.calls.remove(s.what)
            block.calls.append(s.what)
    return block
