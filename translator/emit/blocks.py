"""One class per block type: submodules that compute the same thing up to names, shapes and constants.

Each submodule is reduced to a skeleton: its statements with every value
renamed by first appearance (inputs, parameters, locals), every weight
replaced by its dtype and rank, each submodule by its own type, and every
constant (a shape dimension, or an argument holding no run-time value: a
stride, a padding, an activation name, a reshape target) replaced by a
numbered slot. Two submodules are one type exactly when their skeletons are
equal; a slot whose value differs between instances becomes a constructor
argument that each instance is built with, so every instance still makes
exactly the calls it made before. Slots holding the same values in every
instance share one argument (a block's channel count, used by its weight,
bias and child). Whatever cannot be compared (an argument of a type this
module does not know) makes its block a type of its own.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from opset.functions import FUNCTIONS, HELPERS, NATIVE_FUNCTIONS
from opset.program import Call, Dim, DType, Program, Ref, Slice, refs_in

from .dataflow import reads
from .tree import ListAttr, Module, ModuleTree, signature_names

_LITERALS = (int, float, str, bool, type(None), DType, Slice)

# Names for the axes of weights whose layout the op set fixes (see opset.native).
_CONV = ("kernel_size", "kernel_size", "in_channels", "out_channels")
_AXES: dict[tuple[str, str], tuple[str | None, ...]] = {
    ("native_conv2d", "w"): _CONV,
    ("native_conv2d", "bias"): ("out_channels",),
    ("native_conv2d", "slope"): ("out_channels",),
    ("native_dw_pw_conv2d", "w"): ("kernel_size", "kernel_size", "in_channels"),
    ("native_dw_pw_conv2d", "bias"): ("in_channels",),
    ("native_dw_pw_conv2d", "slope"): ("in_channels",),
    ("native_dw_pw_conv2d", "w_pw"): (None, None, "in_channels", "out_channels"),
    ("native_dw_pw_conv2d", "bias_pw"): ("out_channels",),
    ("native_dw_pw_conv2d", "pw_slope"): ("out_channels",),
    ("native_pw_dw_conv2d", "w_pre"): (None, None, "in_channels", "channels"),
    ("native_pw_dw_conv2d", "bias_pre"): ("channels",),
    ("native_pw_dw_conv2d", "pre_slope"): ("channels",),
    ("native_pw_dw_conv2d", "w"): ("kernel_size", "kernel_size", "channels"),
    ("native_pw_dw_conv2d", "bias"): ("channels",),
    ("native_pw_dw_conv2d", "slope"): ("channels",),
    ("native_pw_dw_conv2d", "w_pw"): (None, None, "channels", "out_channels"),
    ("native_pw_dw_conv2d", "bias_pw"): ("out_channels",),
    ("native_pw_dw_conv2d", "pw_slope"): ("out_channels",),
    ("native_pw_dw_conv2d", "w_mid"): (None, None, "stem_channels", "channels"),
    ("native_pw_dw_conv2d", "bias_mid"): ("channels",),
    ("native_pw_dw_conv2d", "mid_slope"): ("channels",),
}
_DEPTHWISE = {"w": ("kernel_size", "kernel_size", "channels"), "bias": ("channels",), "slope": ("channels",)}
# A stem followed by a 1x1 conv (w_mid) before the depthwise conv: the stem's outputs are the 1x1 conv's inputs.
_STEM_BEFORE_MID = {
    "w_pre": (None, None, "in_channels", "stem_channels"),
    "bias_pre": ("stem_channels",),
    "pre_slope": ("stem_channels",),
}


class _Opaque(Exception):
    """An argument this module cannot compare: its block gets a type of its own."""


@dataclass
class Slot:
    kind: str  # "dim" (one axis of a weight's shape) or "unit" (a constant argument)
    key: Any  # equal keys print as identical code
    value: Any
    hint: str
    origin: tuple[Module, int] | None = None  # (child, its slot) for slots a child contributes


@dataclass
class Form:
    skeleton: tuple
    slots: list[Slot]
    unit_sites: dict[tuple, int] = field(default_factory=dict)  # (call index, path) -> slot
    dim_slots: dict[str, list[int | None]] = field(default_factory=dict)  # param attr -> slot per axis
    child_slots: dict[int, int] = field(default_factory=dict)  # id(child) -> offset of its slots
    # call index -> its keyword arguments with the defaults it left out filled in: (name, value, filled)
    kwargs: dict[int, list[tuple[str, Any, bool]]] = field(default_factory=dict)


@dataclass
class Arg:
    name: str
    kind: str
    slots: list[int]
    stored: bool = False  # read by __call__, so kept as an attribute


@dataclass
class BlockType:
    key: int
    instances: list[Module]
    args: list[Arg] = field(default_factory=list)
    slot_arg: dict[int, Arg] = field(default_factory=dict)
    name: str = ""

    def constant(self, slot: int) -> bool:
        return slot not in self.slot_arg


_defaults_cache: dict[str, dict[str, Any]] = {}


def keyword_defaults(fn: str) -> dict[str, Any]:
    """Keyword parameters of a native kernel or helper with their literal defaults, in signature order.

    A call that leaves one out passes exactly that default, so filling it in changes nothing it computes
    while letting `conv(x, w, activation="relu")` and `conv(x, w)` be one block type.
    """
    if fn not in _defaults_cache:
        out: dict[str, Any] = {}
        if fn in NATIVE_FUNCTIONS or fn in HELPERS:
            for p in inspect.signature(FUNCTIONS[fn]).parameters.values():
                if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                    if _plain(p.default):
                        out[p.name] = p.default
        _defaults_cache[fn] = out
    return _defaults_cache[fn]


def _plain(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(_plain(x) for x in v)
    return isinstance(v, (int, float, str, bool, type(None)))


def normalized_kwargs(c: Call) -> list[tuple[str, Any, bool]]:
    """c's keyword arguments, with the keyword defaults it left out filled in: (name, value, filled)."""
    defaults = keyword_defaults(c.fn)
    if not defaults:
        return [(k, v, False) for k, v in c.kwargs.items()]
    positional = set(signature_names(c.fn)[: len(c.args)])
    out = [
        (k, c.kwargs[k] if k in c.kwargs else d, k not in c.kwargs) for k, d in defaults.items() if k not in positional
    ]
    return out + [(k, v, False) for k, v in c.kwargs.items() if k not in defaults]


def _axis_names(call: Call, key: str) -> tuple[str | None, ...]:
    if call.fn == "native_conv2d" and call.kwargs.get("depthwise") is True and key in _DEPTHWISE:
        return _DEPTHWISE[key]
    if call.fn == "native_pw_dw_conv2d" and "w_mid" in call.kwargs and key in _STEM_BEFORE_MID:
        return _STEM_BEFORE_MID[key]
    return _AXES.get((call.fn, key), ())


def _arg_key(call: Call, weight: str) -> str:
    for key, v in call.kwargs.items():
        if weight in refs_in(v):
            return key
    names = signature_names(call.fn)
    for pos, v in enumerate(call.args):
        if weight in refs_in(v):
            return names[pos] if pos < len(names) else f"arg{pos}"
    return ""


class _Canon:
    """Builds one module's Form."""

    def __init__(self, m: Module, tree: ModuleTree, program: Program, forms: dict[int, Form], types: dict[int, int]):
        self.m, self.tree, self.program, self.forms, self.types = m, tree, program, forms, types
        self.tokens: dict[str, tuple] = {n: ("in", k) for k, n in enumerate(m.inputs)}
        self.param_attr = {w: a for a, w in m.params.items()}
        self.params: list[str] = []
        self.locals = 0
        self.form = Form((), [])

    def tok(self, name: str) -> tuple:
        t = self.tokens.get(name)
        if t is None:
            if name not in self.param_attr:
                raise _Opaque(name)  # not reachable from this module: a bug, but never a wrong merge
            t = self.tokens[name] = ("p", len(self.params))
            self.params.append(name)
        return t

    def define(self, name: str) -> tuple:
        t = self.tokens[name] = ("v", self.locals)
        self.locals += 1
        return t

    def value(self, v: Any, site: tuple, hint: str, structural: bool = False) -> Any:
        if isinstance(v, Ref):
            return ("ref", self.tok(v.name))
        if isinstance(v, Dim):
            return ("dimof", self.tok(v.ref), v.axis)
        if not refs_in(v) and self._literal(v):
            if structural:
                return ("lit", repr(v))
            self.form.slots.append(Slot("unit", repr(v), v, hint))
            self.form.unit_sites[site] = len(self.form.slots) - 1
            return ("slot", len(self.form.slots) - 1)
        if isinstance(v, (tuple, list)):
            return (type(v).__name__, tuple(self.value(x, site + (i,), hint) for i, x in enumerate(v)))
        if isinstance(v, dict):
            return ("dict", tuple((k, self.value(x, site + (k,), hint)) for k, x in v.items()))
        raise _Opaque(type(v).__name__)

    def _literal(self, v: Any) -> bool:
        if isinstance(v, (tuple, list)):
            return all(self._literal(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and self._literal(x) for k, x in v.items())
        return isinstance(v, _LITERALS) or v is Ellipsis

    def call(self, i: int) -> tuple:
        c = self.program.calls[i]
        if c.blocks:  # control flow: its blocks are not compared, so a module holding it is its own type
            raise _Opaque("control flow")
        names = signature_names(c.fn)
        args = []
        for pos, a in enumerate(c.args):
            hint = names[pos] if pos < len(names) else "value"
            args.append(self.value(a, (i, pos), hint, structural=c.fn == "getitem" and pos == 1))
        normal = self.form.kwargs[i] = normalized_kwargs(c)
        kwargs = tuple((k, self.value(v, (i, k), k)) for k, v, _ in normal)
        outs = tuple(self.define(o) for o in c.outputs)
        return ("call", c.fn, tuple(args), kwargs, outs)

    def child(self, child: Module) -> tuple:
        cf = self.forms[id(child)]
        self.form.child_slots[id(child)] = len(self.form.slots)
        for k, s in enumerate(cf.slots):
            self.form.slots.append(Slot(s.kind, s.key, s.value, s.hint, (child, k)))
        where = (child.list_name, child.index) if child.list_name is not None else (child.name,)
        ins = tuple(self.tok(n) for n in child.inputs)
        outs = tuple(self.define(o) for o in child.outputs)
        return ("child", where, self.types[id(child)], ins, outs)

    def params_sig(self) -> tuple:
        sig = []
        for w in self.params:
            arr = self.program.weights[w]
            attr = self.param_attr[w]
            axes: tuple[str | None, ...] = ()
            for i in self.m.span:
                c = self.program.calls[i]
                if w in reads(c):
                    axes = _axis_names(c, _arg_key(c, w))
                    break
            per_axis: list[int | None] = []
            for ax, d in enumerate(arr.shape):
                hint = axes[ax] if ax < len(axes) and axes[ax] else "dim"
                self.form.slots.append(Slot("dim", int(d), int(d), hint))
                per_axis.append(len(self.form.slots) - 1)
            self.form.dim_slots[attr] = per_axis
            sig.append((attr, str(arr.dtype), arr.ndim))
        return tuple(sig)

    def build(self) -> Form:
        try:
            stmts = []
            for kind, what in self.tree.statements(self.m):
                stmts.append(self.call(what) if kind == "call" else self.child(what))
            outs = tuple(self.tok(o) if o in self.tokens or o in self.param_attr else ("?", o) for o in self.m.outputs)
            attrs = tuple((a.name, len(a.items)) if isinstance(a, ListAttr) else (a.name,) for a in self.m.attrs)
            params = self.params_sig()
            unused = [w for w in self.param_attr if w not in self.params]
            if unused:
                raise _Opaque("unused parameter")
            self.form.skeleton = ("module", len(self.m.inputs), tuple(stmts), params, outs, attrs)
        except _Opaque:
            self.form.skeleton = ("opaque", id(self.m))
            if any(attr not in self.form.dim_slots for attr in self.param_attr.values()):
                self.params += [w for w in self.param_attr if w not in self.params]
                self.params_sig()  # an opaque module's parameters still need their (constant) shapes
        return self.form


def _name_args(t: BlockType, forms: dict[int, Form], child_types: dict[int, BlockType], taken: set[str]) -> None:
    rep = forms[id(t.instances[0])]
    n_slots = len(rep.slots)
    groups: dict[tuple, Arg] = {}
    dims = 0
    used = set(taken)
    for s in range(n_slots):
        vector = tuple(forms[id(inst)].slots[s].key for inst in t.instances)
        if all(v == vector[0] for v in vector):
            continue
        slot = rep.slots[s]
        group = (slot.kind, vector)
        arg = groups.get(group)
        if arg is None:
            hint = slot.hint
            if slot.origin is not None:
                child, k = slot.origin
                child_arg = child_types[id(child)].slot_arg.get(k)
                if child_arg is not None:
                    hint = child_arg.name
            if hint == "dim" or hint.startswith("dim") and hint[3:].isdigit():
                dims += 1
                name = f"dim{dims}"
                while name in used:
                    dims += 1
                    name = f"dim{dims}"
            else:
                name, i = hint, 1
                while name in used:
                    i += 1
                    name = f"{hint}_{i}"
            used.add(name)
            arg = groups[group] = Arg(name, slot.kind, [])
            t.args.append(arg)
        arg.slots.append(s)
        t.slot_arg[s] = arg
        if slot.kind == "unit" and slot.origin is None:
            arg.stored = True
    # dims first (sizes read positionally, like mlx.nn's layers), then the options
    t.args.sort(key=lambda a: (a.kind != "dim", a.slots[0]))


@dataclass
class Blocks:
    forms: dict[int, Form]  # id(module) -> its form
    type_of: dict[int, BlockType]  # id(module) -> its type
    order: list[BlockType]  # children's types before their parents'


def find_blocks(tree: ModuleTree, program: Program, reserved: set[str]) -> Blocks:
    forms: dict[int, Form] = {}
    type_ids: dict[int, int] = {}
    interned: dict[tuple, int] = {}
    types: dict[int, BlockType] = {}
    order: list[BlockType] = []
    for m in tree.root.walk():
        form = _Canon(m, tree, program, forms, type_ids).build()
        forms[id(m)] = form
        key = interned.setdefault(form.skeleton, len(interned))
        type_ids[id(m)] = key
        if key not in types:
            types[key] = BlockType(key, [])
            order.append(types[key])
        types[key].instances.append(m)
    type_of = {id(m): types[type_ids[id(m)]] for m in tree.root.walk()}
    for t in order:
        rep = t.instances[0]
        taken = reserved | {a.name for a in rep.attrs} | set(rep.params)
        _name_args(t, forms, type_of, taken)
    return Blocks(forms, type_of, order)
