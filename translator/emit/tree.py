"""The module tree of a generated class, built from each call's scope (emit/scopes.py).

A submodule runs a contiguous run of the program's calls: calling it computes
exactly those calls in exactly that order, so the nested module stays
bit-identical to the flat program. Scopes that cannot be one call are
dissolved into their parent (their calls and children move up):
- a scope whose calls are interleaved with calls from outside it;
- a scope that reads no weights (a reshape on its own is not worth a class).

Single-child chains collapse (`stage1.0.0` alone under `stage1.0` is one
module) and one-element lists become plain attributes. All-digit components
become list indices: a scope whose children are all indices is a list
attribute of its parent (`self.stage1 = [...]`); indices next to calls or
named children are gathered into a `layers` list.

Each weight belongs to the deepest module that holds every call reading it; a
submodule reading a weight its ancestor owns receives it as an argument.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from opset.functions import FUNCTIONS
from opset.program import Call, Program, Ref, refs_in

import numpy as np

from ..lowering.names import NameTable, sanitize
from .dataflow import reads
from .scopes import PSEUDO, Scope

_INDEX = re.compile(r"^[0-9]+$")


@dataclass(eq=False)
class _Raw:
    name: str
    scope: Scope = ()
    calls: list[int] = field(default_factory=list)
    kids: list[_Raw] = field(default_factory=list)
    pseudo: bool = False  # a flat node's own leaf, not a scope the exporter named


@dataclass(eq=False)
class ListAttr:
    """A list of submodules: `self.<name> = [...]`."""

    name: str
    items: list[Module] = field(default_factory=list)


@dataclass(eq=False)
class Module:
    """One submodule instance: its direct calls, its attributes, what it owns and what crosses its edge."""

    name: str  # attribute name in the parent ("" for the root)
    parent: Module | None = None
    list_name: str | None = None  # set when this module is an element of a parent's list attribute
    index: int | None = None
    calls: list[int] = field(default_factory=list)
    attrs: list[Module | ListAttr] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)  # attribute -> program weight name
    span: list[int] = field(default_factory=list)  # every call it runs, in order
    inputs: list[str] = field(default_factory=list)  # program values it reads from outside
    outputs: list[str] = field(default_factory=list)  # program values it defines and others read
    scope: Scope = ()  # the source scope it stands for
    pseudo: bool = False  # named after a flat node (emit/scopes.py), not a scope the exporter named

    @property
    def path(self) -> tuple[str, ...]:
        """Key path in the parameter tree (`body.stage1.0`)."""
        if self.parent is None:
            return ()
        own = (self.list_name, str(self.index)) if self.list_name is not None else (self.name,)
        return self.parent.path + own

    @property
    def label(self) -> str:
        """How Python spells it from the root: `body.stage1[0]`."""
        if self.parent is None:
            return "model"
        own = f"{self.list_name}[{self.index}]" if self.list_name is not None else self.name
        up = self.parent.label
        return own if up == "model" else f"{up}.{own}"

    def submodules(self) -> list[Module]:
        out = []
        for a in self.attrs:
            out.extend(a.items if isinstance(a, ListAttr) else [a])
        return out

    def walk(self):
        """This module and every submodule, children before parents."""
        for m in self.submodules():
            yield from m.walk()
        yield self


@dataclass
class ModuleTree:
    root: Module
    owner: list[Module]  # per call: the module whose direct calls include it
    weight_owner: dict[str, Module]
    scopes: Sequence[Scope]  # per call: its source scope (deeper than its owner's where a scope was dissolved)

    def keys(self) -> dict[str, str]:
        """Program weight name -> safetensors key (`body.stage1.0.weight`)."""
        out = {}
        for m in self.root.walk():
            for attr, w in m.params.items():
                out[w] = ".".join(m.path + (attr,))
        return out

    def statements(self, m: Module) -> list[tuple[str, object]]:
        return statements_of(m, self.owner)


def statements_of(m: Module, owner: Sequence[Module]) -> list[tuple[str, object]]:
    """m's body in program order: ("call", index) or ("child", submodule)."""
    out: list[tuple[str, object]] = []
    seen = set()
    for i in m.span:
        o = owner[i]
        if o is m:
            out.append(("call", i))
            continue
        while o.parent is not m:
            o = o.parent
        if id(o) not in seen:
            seen.add(id(o))
            out.append(("child", o))
    return out


def _is_index(name: str) -> bool:
    return bool(_INDEX.match(name))


def display_name(component: str) -> str:
    if component.startswith(PSEUDO):  # a flat node's own leaf: lower-case, like an attribute
        return sanitize(component[len(PSEUDO) :].lower(), "m")
    if _is_index(component):
        return component
    return sanitize(component, "m")


def _build(scopes: Sequence[Scope]) -> _Raw:
    root = _Raw("")
    index: dict[Scope, _Raw] = {(): root}
    for i, scope in enumerate(scopes):
        node = root
        for depth in range(len(scope)):
            key = scope[: depth + 1]
            child = index.get(key)
            if child is None:
                child = _Raw(display_name(scope[depth]), key, pseudo=scope[depth].startswith(PSEUDO))
                node.kids.append(child)
                index[key] = child
            node = child
        node.calls.append(i)
    return root


def _span(node: _Raw) -> list[int]:
    out = list(node.calls)
    for k in node.kids:
        out.extend(_span(k))
    return sorted(out)


def _is_list(node: _Raw) -> bool:
    return bool(node.kids) and not node.calls and all(_is_index(k.name) for k in node.kids)


class _Settler:
    def __init__(self, reads_weights: list[bool]):
        self.reads_weights = reads_weights

    def ok(self, node: _Raw) -> bool:
        span = _span(node)
        return bool(span) and span[-1] - span[0] + 1 == len(span) and any(self.reads_weights[i] for i in span)

    @staticmethod
    def dissolve(parent: _Raw, node: _Raw, prefix: str, at: int) -> None:
        parent.calls = sorted(parent.calls + node.calls)
        moved = [_Raw(f"{prefix}_{k.name}", k.scope, k.calls, k.kids, k.pseudo) for k in node.kids]
        parent.kids[at:at] = moved

    def settle(self, node: _Raw) -> None:
        changed = True
        while changed:
            changed = False
            for at, kid in enumerate(list(node.kids)):
                if _is_list(kid):
                    for el in list(kid.kids):
                        if not self.ok(el):
                            kid.kids.remove(el)
                            self.dissolve(node, el, f"{kid.name}_{el.name}", node.kids.index(kid) + 1)
                            changed = True
                    if not kid.kids:
                        node.kids.remove(kid)
                elif not self.ok(kid):
                    node.kids.remove(kid)
                    self.dissolve(node, kid, kid.name, at)
                    changed = True
                if changed:
                    break
        for kid in node.kids:
            for el in kid.kids if _is_list(kid) else [kid]:
                self.settle(el)


def _compress(node: _Raw) -> None:
    """Collapse single-child chains and one-element lists (their calls and children move up)."""
    while not node.calls and len(node.kids) == 1:
        only = node.kids[0]
        if _is_list(only):
            if len(only.kids) != 1:
                break
            only = only.kids[0]
        node.calls, node.kids, node.scope = only.calls, only.kids, only.scope
    for i, kid in enumerate(node.kids):
        if _is_list(kid) and len(kid.kids) == 1:
            el = kid.kids[0]
            node.kids[i] = kid = _Raw(kid.name, el.scope, el.calls, el.kids, el.pseudo)
        for el in kid.kids if _is_list(kid) else [kid]:
            _compress(el)


def _finalize(raw: _Raw, name: str, parent: Module | None, list_name=None, index=None) -> Module:
    m = Module(name, parent, list_name, index, list(raw.calls), scope=raw.scope, pseudo=raw.pseudo)
    names = NameTable()
    layers: ListAttr | None = None
    digits = [k for k in raw.kids if _is_index(k.name)]
    for kid in raw.kids:
        if _is_index(kid.name):
            if layers is None:
                layers = ListAttr(names.new("layers"))
                m.attrs.append(layers)
            continue
        attr = names.new(kid.name, "m")
        if _is_list(kid):
            lst = ListAttr(attr)
            for i, el in enumerate(sorted(kid.kids, key=lambda k: int(k.name))):
                lst.items.append(_finalize(el, attr, m, attr, i))
            m.attrs.append(lst)
        else:
            m.attrs.append(_finalize(kid, attr, m))
    if layers is not None:
        for i, el in enumerate(sorted(digits, key=lambda k: int(k.name))):
            layers.items.append(_finalize(el, layers.name, m, layers.name, i))
    return m


# -- parameter names -------------------------------------------------------------------

# Signature names that say nothing about a weight's role.
_GENERIC = {"a", "b", "x", "y", "input", "inputs", "array", "arrays", "data", "values", "val", "other", "condition"}
_ALIASES = {"w": "weight", "w_pw": "pw_weight", "bias_pw": "pw_bias"}
# Tokens of a weight's own name that do name its role (`..._conv1x1_weight`, `..._scale_perm`).
_ROLES = ("weight", "bias", "scale", "shift", "slope", "gamma", "beta", "mean", "var", "alpha")
# Roles of weights read by calls with generic signatures, by the ONNX op they lower.
_OP_ROLES = {
    ("Gemm", "matmul"): "weight", ("Gemm", "add"): "bias", ("Gemm", "addmm"): "bias", ("MatMul", "matmul"): "weight",
    ("PRelu", "multiply"): "slope", ("PRelu", "maximum"): "slope", ("PRelu", "where"): "slope",
}  # fmt: skip
_signature_cache: dict[str, list[str]] = {}


def signature_names(fn: str) -> list[str]:
    """Positional parameter names of an op-set function (MLX's own read from its nanobind signature)."""
    if fn in _signature_cache:
        return _signature_cache[fn]
    names: list[str] = []
    f = FUNCTIONS.get(fn)
    sig = getattr(f, "__nb_signature__", None)
    if sig:
        text = sig[0][0]
        inner = text[text.find("(") + 1 : text.rfind(")")]
        names = re.findall(r"(?:^|,\s*)(\w+)\s*:", inner)
    elif f is not None:
        try:
            names = list(inspect.signature(f).parameters)
        except (TypeError, ValueError):
            names = []
    _signature_cache[fn] = names
    return names


def dissolved_part(scope: Scope, within: Scope) -> Scope:
    """The components of a call's scope below the module it ended up in (those of scopes dissolved into it)."""
    if len(scope) <= len(within) or scope[: len(within)] != within:
        return ()
    return scope[len(within) :]


def _weight_role(call: Call, weight: str) -> str:
    for key, v in call.kwargs.items():
        if weight in refs_in(v):
            return _ALIASES.get(key, key)
    for pos, v in enumerate(call.args):
        if weight in refs_in(v):
            names = signature_names(call.fn)
            if pos < len(names) and names[pos] not in _GENERIC:
                return _ALIASES.get(names[pos], names[pos])
            break
    if (call.op, call.fn) in _OP_ROLES:
        return _OP_ROLES[(call.op, call.fn)]
    tokens = weight.lower().split("_")
    for tok in reversed(tokens):
        if tok in _ROLES:
            return tok
    return sanitize((call.op or call.fn).lower(), "p")


# -- the tree --------------------------------------------------------------------------


def index_calls(root: Module, n: int) -> list[Module]:
    """Each call's owner; sets every module's span."""
    owner: list[Module] = [root] * n
    for m in root.walk():
        for i in m.calls:
            owner[i] = m
        m.span = sorted(m.calls + [i for s in m.submodules() for i in s.span])
    return owner


def _lca(a: Module, b: Module) -> Module:
    up = set()
    m: Module | None = a
    while m is not None:
        up.add(id(m))
        m = m.parent
    while id(b) not in up:
        b = b.parent
    return b


def shape_tree(program: Program, scopes: Sequence[Scope]) -> Module:
    """The module tree's shape: which module runs which calls (spans set; nothing owned yet)."""
    reads_weights = [any(n in program.weights for n in reads(c)) for c in program.calls]
    raw = _build(scopes)
    _Settler(reads_weights).settle(raw)
    _compress(raw)
    root = _finalize(raw, "", None)
    index_calls(root, len(program.calls))
    return root


def complete_tree(root: Module, program: Program, scopes: Sequence[Scope]) -> ModuleTree:
    """Weights to owners and parameter names, each module's inputs and outputs."""
    calls = program.calls
    uses = [reads(c) for c in calls]
    owner = index_calls(root, len(calls))

    weight_owner: dict[str, Module] = {}
    first_use: dict[str, int] = {}
    for i, u in enumerate(uses):
        for n in u:
            if n in program.weights:
                weight_owner[n] = _lca(weight_owner[n], owner[i]) if n in weight_owner else owner[i]
                first_use.setdefault(n, i)
    for o in program.outputs:
        if o.name in program.weights:
            weight_owner[o.name] = root
    for m in root.walk():
        names = NameTable({a.name for a in m.attrs})
        owned = sorted((w for w, o in weight_owner.items() if o is m), key=lambda w: first_use.get(w, len(calls)))
        for w in owned:
            role = _weight_role(calls[first_use[w]], w) if w in first_use else "value"
            if w in first_use and owner[first_use[w]] is m:  # read here, from a scope dissolved into m
                rest = dissolved_part(scopes[first_use[w]], m.scope)
                role = "_".join([display_name(c) for c in rest] + [role])
            m.params[names.new(role, "p")] = w

    defined_at = {o: i for i, c in enumerate(calls) for o in c.outputs}
    program_outputs = {o.name for o in program.outputs}
    read_at: dict[str, list[int]] = {}
    for i, u in enumerate(uses):
        for n in u:
            read_at.setdefault(n, []).append(i)
    for m in root.walk():
        if m.parent is None:
            m.inputs = [t.name for t in program.inputs]
            m.outputs = [o.name for o in program.outputs]
            continue
        inside = set(m.span)
        mine = {w for w, o in weight_owner.items() if _within(o, m)}
        seen = set()
        for i in m.span:
            for n in uses[i]:
                if n in seen or n in mine or defined_at.get(n) in inside:
                    continue
                seen.add(n)
                m.inputs.append(n)
        for i in m.span:
            for o in calls[i].outputs:
                if o in program_outputs or any(j not in inside for j in read_at.get(o, ())):
                    m.outputs.append(o)
    return ModuleTree(root, owner, weight_owner, scopes)


def _within(m: Module, ancestor: Module) -> bool:
    while m is not None:
        if m is ancestor:
            return True
        m = m.parent
    return False


def build_tree(program: Program, scopes: Sequence[Scope]) -> ModuleTree:
    return complete_tree(shape_tree(program, scopes), program, scopes)


def weight_tree(program: Program, tree: ModuleTree) -> dict[str, np.ndarray]:
    """The weights under their module-tree keys (what `model.load_weights` expects)."""
    keys = tree.keys()
    return {keys[name]: w for name, w in program.weights.items()}


def is_weight_ref(v: object, program: Program) -> bool:
    return isinstance(v, Ref) and v.name in program.weights
