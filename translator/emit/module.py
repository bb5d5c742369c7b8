"""Module back end: prints the lowered program as nested `mlx.nn.Module` classes.

The structure comes from the exporter's name scopes (emit/scopes.py, emit/tree.py);
repeated blocks share one class (emit/blocks.py). Every submodule runs a
contiguous run of the program's calls, in order, so the module computes
exactly what the op list computes.
"""

from __future__ import annotations

import collections
import inspect
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opset.functions import FUNCTIONS, HELPERS, helper_closure, is_native, printed_name
from opset.helpers import CALLS_NATIVE
from opset.program import CONTROL, Call, Dim, DType, Program, Ref, Slice, walk_calls

import jinja2
import numpy as np

from ..lowering.names import RESERVED, NameTable, sanitize
from ..version import __version__
from .blocks import Blocks, BlockType, find_blocks, keyword_defaults
from .control_flow import control_helpers, render_control
from .dataflow import reads
from .repeats import group_repeats
from .scopes import Scope, call_scopes
from .tree import ListAttr, Module, ModuleTree, complete_tree, display_name, dissolved_part, shape_tree, weight_tree

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("translator.emit", "templates"),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)

# Names the generated file binds at module level (besides classes and helpers).
MODULE_NAMES = {
    "mx", "nn", "np", "math", "Path", "native", "GeneratedWeightsError", "INPUTS", "OUTPUTS", "NOTES",
    "SOURCE_SHA256", "WEIGHTS_SHA256", "SOURCE_FILE", "WEIGHTS_FILE", "MODULE_NAME", "load_model",
    "generated_weights",
}  # fmt: skip
# Never a local's name: the static check refuses them even where Python would not mind.
_FORBIDDEN = {"os", "sys", "subprocess", "importlib"}


@dataclass(frozen=True)
class _Expr:
    """Already-printed code standing in for an argument (a constructor argument kept on self)."""

    text: str


class _Printer:
    def __init__(self, names: dict[str, str]):
        self.names = names
        self.local: NameTable | None = None  # the class's name table, for values local to control-flow blocks
        self.uses_math = False

    def ref(self, name: str) -> str:
        if name not in self.names and self.local is not None:
            self.names[name] = self.local.new(name, "v")  # defined inside a control-flow block
        return self.names[name]

    def arg(self, v: Any) -> str:
        if isinstance(v, _Expr):
            return v.text
        if isinstance(v, Ref):
            return self.ref(v.name)
        if isinstance(v, Dim):
            return f"{self.ref(v.ref)}.shape[{v.axis}]"
        if isinstance(v, DType):
            return f"mx.{v.name}"
        if isinstance(v, Slice):
            return f"slice({self.arg(v.start)}, {self.arg(v.stop)}, {self.arg(v.step)})"
        if isinstance(v, tuple):
            inner = ", ".join(self.arg(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if isinstance(v, list):
            return "[" + ", ".join(self.arg(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {self.arg(x)}" for k, x in v.items()) + "}"
        if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
            return repr(v)
        if isinstance(v, float):
            if math.isnan(v):
                self.uses_math = True
                return "math.nan"
            if math.isinf(v):
                self.uses_math = True
                return "math.inf" if v > 0 else "-math.inf"
            return repr(v)
        raise TypeError(f"cannot print argument of type {type(v).__name__}")

    def index(self, v: Any) -> str:
        items = v if isinstance(v, tuple) else (v,)
        parts = []
        for item in items:
            if isinstance(item, Slice):
                s = "" if item.start is None else self.arg(item.start)
                s += ":" + ("" if item.stop is None else self.arg(item.stop))
                if item.step is not None:
                    s += ":" + self.arg(item.step)
                parts.append(s)
            elif item is Ellipsis or item == "...":
                parts.append("...")
            else:
                parts.append(self.arg(item))
        if not parts:
            return "()"
        return ", ".join(parts) + (
            "," if len(parts) == 1 and not isinstance(items[0], Slice) and isinstance(v, tuple) else ""
        )

    def expr(self, c: Call) -> str:
        if c.fn == "getitem":
            return f"{self.arg(c.args[0])}[{self.index(c.args[1])}]"
        fn = printed_name(c.fn)
        args = [self.arg(a) for a in c.args] + [f"{k}={self.arg(v)}" for k, v in c.kwargs.items()]
        return f"{fn}({', '.join(args)})"

    def call(self, c: Call, outputs: Sequence[str]) -> list[str]:
        """The statement(s) computing `c` into `outputs` (a call holding nested blocks may need several lines)."""
        if c.fn in CONTROL:
            self.names.update(zip(c.outputs, outputs))
            return render_control(self, c)
        return [f"{', '.join(outputs)} = {self.expr(c)}"]


def _literal(value: Any) -> str:
    """repr() of plain data only (dicts, lists, str, numbers, bool, None): a safe Python literal."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "None"
    return repr(str(value))


def helper_source(name: str) -> str:
    src = textwrap.dedent(inspect.getsource(HELPERS[name]))
    return "\n".join(line for line in src.splitlines() if not line.startswith("@helper"))


# List names whose elements are one of them (blocks -> Block); other lists' elements are <Name>Block.
_PLURALS = {"blocks": "block", "layers": "layer", "stages": "stage", "convs": "conv", "heads": "head"}


def _numbered_stem(name: str) -> str:
    """ssh1 -> ssh, conv5X5_1 -> conv5X5, conv_18 -> conv; conv1x1 keeps its digits (they are not a count)."""
    base = re.sub(r"_[0-9]+$", "", name)
    if re.search(r"[0-9]", base[:-1].rstrip("0123456789")):
        return base or name
    return re.sub(r"[0-9]+$", "", base) or name


def _snake(name: str) -> str:
    """BboxHead -> bbox_head (conv3X3 stays conv3x3)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", "_", name).lower()


def _camel(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def _dtype_name(arr: np.ndarray) -> str:
    return "bool_" if arr.dtype == bool else arr.dtype.name


def _tuple_text(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


@dataclass
class ModulePlan:
    """Everything the module back end decided: the tree, the block types and the weights' keys."""

    program: Program
    tree: ModuleTree
    blocks: Blocks

    def weights(self) -> dict[str, np.ndarray]:
        return weight_tree(self.program, self.tree)


def plan_module(program: Program, origins: dict[str, Scope | None] | None = None) -> ModulePlan:
    """Recover the module tree (origins: original node name -> scope, see scopes.node_scopes)."""
    scopes = call_scopes(program, origins or {})
    root = shape_tree(program, scopes)
    group_repeats(root, program)
    tree = complete_tree(root, program, scopes)
    return ModulePlan(program, tree, find_blocks(tree, program, RESERVED | MODULE_NAMES))


def module_weights(program: Program, origins: dict[str, Scope | None] | None = None) -> dict[str, np.ndarray]:
    """The weights keyed as the generated module's parameter tree (`body.stage1.0.weight`)."""
    return plan_module(program, origins).weights()


class _ClassWriter:
    """Prints one class per block type."""

    def __init__(self, plan: ModulePlan, root_name: str):
        self.plan = plan
        self.program = plan.program
        self.blocks = plan.blocks
        self.root_name = root_name
        self.printer = _Printer({})
        self.returns: dict[int, list[str]] = {}  # type key -> names its __call__ returns
        self.class_names = self._name_classes()

    # -- class names ------------------------------------------------------------------
    def _base_name(self, t: BlockType) -> str:
        rep = t.instances[0]
        owned = set(rep.params.values())
        weighted = [i for i in rep.calls if owned & _reads(self.program.calls[i])]
        if not rep.attrs and len(weighted) == 1:  # a layer: named after what it computes
            i = weighted[0]
            c = self.program.calls[i]
            name = _camel(sanitize(c.op or c.fn, "Op"))
            form = self.blocks.forms[id(rep)]
            kwargs = {k: v for k, v, _ in form.kwargs.get(i, [])}
            act = kwargs.get("activation")
            if (
                isinstance(act, str)
                and (i, "activation") in form.unit_sites
                and t.constant(form.unit_sites[(i, "activation")])
            ):
                name += _camel(act)
            if kwargs.get("residual") is not None:
                name += "Residual"
            return name
        names = collections.Counter()
        for m in t.instances:
            raw = m.list_name if m.list_name is not None else m.name
            stem = _numbered_stem(raw)
            names[(stem, m.list_name is not None)] += 1
        (stem, in_list), _ = names.most_common(1)[0]
        if in_list:  # blocks -> Block, stage1 -> StageBlock
            return _camel(_PLURALS[stem]) if stem in _PLURALS else _camel(stem) + "Block"
        return _camel(stem) or "Block"

    def _name_classes(self) -> dict[int, str]:
        taken = set(RESERVED) | MODULE_NAMES | set(HELPERS) | {self.root_name}
        out: dict[int, str] = {}
        # the most used types get the plain names
        for t in sorted(self.blocks.order, key=lambda t: -len(t.instances)):
            if t.instances[0].parent is None:
                out[t.key] = self.root_name
                continue
            base = self._base_name(t)
            if not base or not base[0].isalpha() or not base.isascii():
                base = "Block" + base
            name, i = base, 1
            while name in taken:
                i += 1
                name = f"{base}{i}"
            taken.add(name)
            out[t.key] = name
        return out

    # -- __init__ ---------------------------------------------------------------------
    def _slot_text(self, t: BlockType, form, s: int) -> str:
        if not t.constant(s):
            return t.slot_arg[s].name
        v = form.slots[s].value
        return str(v) if form.slots[s].kind == "dim" else self.printer.arg(v)

    def _construct(self, t: BlockType, form, child: Module) -> str:
        ct = self.blocks.type_of[id(child)]
        offset = form.child_slots[id(child)]
        args = []
        for a in ct.args:
            text = self._slot_text(t, form, offset + a.slots[0])
            args.append(text if a.kind == "dim" else f"{a.name}={text}")
        return f"{self.class_names[ct.key]}({', '.join(args)})"

    def _init_lines(self, t: BlockType) -> list[str]:
        rep = t.instances[0]
        form = self.blocks.forms[id(rep)]
        lines = []
        for a in rep.attrs:
            if isinstance(a, ListAttr):
                lines.append(f"self.{a.name} = [")
                lines += [f"    {self._construct(t, form, m)}," for m in a.items]
                lines.append("]")
            else:
                lines.append(f"self.{a.name} = {self._construct(t, form, a)}")
        for attr, w in rep.params.items():
            dims = [self._slot_text(t, form, s) for s in form.dim_slots[attr]]
            shape = "()" if not dims else _tuple_text(dims)
            lines.append(f"self.{attr} = mx.zeros({shape}, dtype=mx.{_dtype_name(self.program.weights[w])})")
        lines += [f"self.{a.name} = {a.name}" for a in t.args if a.stored]
        return lines

    # -- __call__ ---------------------------------------------------------------------
    def _call_lines(self, t: BlockType) -> tuple[list[str], list[str]]:
        rep = t.instances[0]
        tree = self.plan.tree
        form = self.blocks.forms[id(rep)]
        root = rep.parent is None
        local = NameTable(RESERVED | MODULE_NAMES | set(HELPERS) | set(self.class_names.values()) | _FORBIDDEN)
        if root:  # the graph's own names are kept there: no local may take one
            local.taken |= {t.name for t in self.program.inputs} | {t.name for t in self.program.outputs}
        self.loop_var = None  # named on first use (a graph output could be called `layer`)
        names: dict[str, str] = {f"{w}": f"self.{a}" for a, w in rep.params.items()}
        params = []
        for k, n in enumerate(rep.inputs):
            if n in names:  # pragma: no cover - an input is never a parameter of the same module
                continue
            hint = n if root else ("x" if len(rep.inputs) == 1 else f"x{k + 1}")
            names[n] = local.new(hint, "x") if not root else n
            if root:
                local.taken.add(n)
            params.append(names[n])
        running = set(params)  # names a direct call may take over once they die (x = f(x))
        stmts = tree.statements(rep)
        last: dict[str, int] = {}
        for j, (kind, what) in enumerate(stmts):
            for n in self._stmt_inputs(kind, what):
                last[n] = j
        for n in rep.outputs:
            last[n] = len(stmts)
        program_outputs = {o.name for o in self.program.outputs} if root else set()
        self.printer.names = names
        self.printer.local = local
        lines: list[str] = []
        simple_last = False  # the last statement printed as one `name = expr` line
        j = 0
        while j < len(stmts):
            kind, what = stmts[j]
            chain = self._chain(stmts, j, last) if kind == "child" else 0
            if chain >= 2:
                lines += self._loop(stmts[j : j + chain], names, local, last, j)
                j += chain
                simple_last = False
                continue
            ins = self._stmt_inputs(kind, what)
            outs = self._stmt_outputs(kind, what)
            out_names = []
            for k, o in enumerate(outs):
                if o in program_outputs:
                    nm = o
                    local.taken.add(o)
                elif kind == "call" and len(outs) == 1 and self._reusable(ins, names, running, last, j, rep, what):
                    nm = names[ins[0]]  # x = f(x): the running value keeps its name
                else:
                    nm = local.new(self._hint(kind, what, k, len(outs), rep), "v")
                    if kind == "call" and self._scope_hint(rep, what) is None:
                        running.add(nm)  # named after its function, not a scope: free to carry on
                out_names.append(nm)
            for o, nm in zip(outs, out_names):
                names[o] = nm
            if kind == "call":
                c = self.program.calls[what]
                printed = self.printer.call(self._substituted(t, form, what, c), out_names or ["_"])
            else:
                printed = [f"{', '.join(out_names)} = {self._invoke(what)}({', '.join(names[n] for n in ins)})"]
            lines += printed
            simple_last = len(printed) == 1 and len(outs) == 1
            j += 1
        ret = [names[o] if o in names else self.printer.ref(o) for o in rep.outputs]
        self.returns[t.key] = ret
        head = f"{ret[0]} = " if len(ret) == 1 else None
        if (
            simple_last
            and head
            and lines[-1].startswith(head)
            and stmts
            and rep.outputs == self._stmt_outputs(*stmts[-1])
        ):
            lines[-1] = "return " + lines[-1][len(head) :]  # return f(x), not y = f(x); return y
        else:
            lines.append("return " + (ret[0] if len(ret) == 1 else ", ".join(ret)) if ret else "return None")
        return params, lines

    def _stmt_inputs(self, kind: str, what) -> list[str]:
        if kind == "call":
            c = self.program.calls[what]
            return list(dict.fromkeys(reads(c)))
        return list(what.inputs)

    def _stmt_outputs(self, kind: str, what) -> list[str]:
        return list(self.program.calls[what].outputs) if kind == "call" else list(what.outputs)

    def _reusable(self, ins, names, running: set[str], last: dict[str, int], j: int, rep: Module, i: int) -> bool:
        """Whether call i's output may take its first input's name: that input dies here and its name
        only says "the running value" (an input, or another call's result; not a named layer's output)."""
        if not ins or names.get(ins[0]) not in running or last.get(ins[0]) != j:
            return False
        if self.program.calls[i].fn in CONTROL:  # `x = if ...` reads badly when x was the condition
            return False
        return self._scope_hint(rep, i) is None  # a value from a dissolved scope is named after that scope

    def _scope_hint(self, m: Module, i: int) -> str | None:
        """For the one call of a scope dissolved into m (ClassHead.0's reshape, in the root): that scope's name."""
        scope = self.plan.tree.scopes[i]
        rest = dissolved_part(scope, m.scope)
        if not rest or sum(self.plan.tree.scopes[j] == scope for j in m.calls) != 1:
            return None
        names = [display_name(c) for c in rest if not c.isdigit()]
        return _snake(names[-1]) if names else None

    def _hint(self, kind: str, what, k: int, n: int, m: Module) -> str:
        if kind == "call":
            c = self.program.calls[what]
            base = self._scope_hint(m, what) or ("part" if c.fn == "getitem" else printed_name(c.fn).rsplit(".", 1)[-1])
            return base if n == 1 else f"{base}{k + 1}"
        child_returns = self.returns.get(self.blocks.type_of[id(what)].key)
        if n > 1 and child_returns and len(child_returns) == n and not child_returns[k].startswith("self."):
            return child_returns[k]
        base = _snake(what.list_name or what.name)
        return base if n == 1 else f"{base}{k + 1}"

    @staticmethod
    def _invoke(m: Module) -> str:
        return f"self.{m.list_name}[{m.index}]" if m.list_name is not None else f"self.{m.name}"

    def _chain(self, stmts, j: int, last: dict[str, int]) -> int:
        """Length of the run of list elements from stmts[j] on that feed one another (x = layer(x))."""
        kind, first = stmts[j]
        if first.list_name is None or len(first.inputs) != 1 or len(first.outputs) != 1:
            return 0
        n = 1
        prev = first
        while j + n < len(stmts):
            kind, m = stmts[j + n]
            if (
                kind != "child"
                or m.list_name != first.list_name
                or m.parent is not first.parent
                or m.index != prev.index + 1
                or m.inputs != prev.outputs
                or len(m.outputs) != 1
                or last.get(prev.outputs[0]) != j + n
            ):
                break
            prev = m
            n += 1
        return n

    def _loop(self, run, names, local: NameTable, last, j: int) -> list[str]:
        first, final = run[0][1], run[-1][1]
        size = len(_list_attr(first).items)
        x = first.inputs[0]
        lines = []
        whole = first.index == 0 and final.index == size - 1
        rest = run
        if last.get(x) == j and x in names and not names[x].startswith("self."):
            out = names[x]
        else:
            out = local.new(_snake(first.list_name), "v")
            lines.append(f"{out} = {self._invoke(first)}({names[x]})")
            rest = run[1:]
            whole = False
        start, stop = rest[0][1].index, rest[-1][1].index + 1
        if whole:
            seq = f"self.{first.list_name}"
        else:
            seq = f"self.{first.list_name}[{start}:{'' if stop == size else stop}]"
        if len(rest) == 1:
            lines.append(f"{out} = {self._invoke(rest[0][1])}({out})")
        else:
            if self.loop_var is None:
                self.loop_var = local.new("layer")
            lines += [f"for {self.loop_var} in {seq}:", f"    {out} = {self.loop_var}({out})"]
        names[final.outputs[0]] = out
        return lines

    def _substituted(self, t: BlockType, form, i: int, c: Call) -> Call:
        """c with its varying constants replaced by the constructor arguments kept on self.

        Keywords at their default (filled in for comparison by blocks.normalized_kwargs, or passed
        explicitly) are printed only where they vary between instances.
        """
        sites = {site: s for site, s in form.unit_sites.items() if site[0] == i and not t.constant(s)}

        def sub(v, site):
            if site in sites:
                return _Expr(f"self.{t.slot_arg[sites[site]].name}")
            if isinstance(v, tuple):
                return tuple(sub(x, site + (k,)) for k, x in enumerate(v))
            if isinstance(v, list):
                return [sub(x, site + (k,)) for k, x in enumerate(v)]
            if isinstance(v, dict):
                return {k: sub(x, site + (k,)) for k, x in v.items()}
            return v

        args = tuple(sub(a, (i, pos)) for pos, a in enumerate(c.args))
        normal = form.kwargs.get(i) or [(k, v, False) for k, v in c.kwargs.items()]
        defaults = keyword_defaults(c.fn)
        kwargs = {
            k: sub(v, (i, k))
            for k, v, _ in normal
            if (i, k) in sites or not (k in defaults and type(v) is type(defaults[k]) and repr(v) == repr(defaults[k]))
        }  # a keyword left at its default is not printed: the call passes exactly that value either way
        return Call(c.fn, args, kwargs, c.outputs, c.node, c.op, c.blocks)

    # -- whole classes ----------------------------------------------------------------
    def classes(self, root_doc: str) -> list[dict]:
        out = []
        for t in self.blocks.order:
            params, body = self._call_lines(t)
            rep = t.instances[0]
            doc = root_doc if rep.parent is None else None
            out.append(
                {
                    "name": self.class_names[t.key],
                    "doc": doc,
                    "init_args": [a.name for a in t.args],
                    "init": self._init_lines(t),
                    "call_args": params,
                    "body": body,
                }
            )
        return out


def _reads(c: Call) -> set[str]:
    return set(reads(c))


def _list_attr(m: Module) -> ListAttr:
    return next(a for a in m.parent.attrs if isinstance(a, ListAttr) and a.name == m.list_name)


def render_module(
    program: Program,
    class_name: str,
    source_label: str,
    source_sha256: str,
    weights_file: str,
    weights_sha256: str,
    origins: dict[str, Scope | None] | None = None,
    module_name: str = "model",
    plan: ModulePlan | None = None,
) -> str:
    """The module's source. Its weights file must hold `plan_module(program, origins).weights()`."""
    plan = plan or plan_module(program, origins)
    writer = _ClassWriter(plan, class_name)
    label = re.sub(r"[^0-9A-Za-z_./:\- ]", "?", source_label)[:120]
    weights_file = re.sub(r"[^0-9A-Za-z_.-]", "_", weights_file) or "model.module.safetensors"
    root_doc = f"Translated from {label}; inputs {[i.onnx_name for i in program.inputs]!r}.".replace('"', "'").replace(
        "\\", "/"
    )
    classes = writer.classes(root_doc)
    used = [c.fn for c in walk_calls(program.calls) if c.fn in FUNCTIONS] + control_helpers(program.calls)
    helper_names = helper_closure(used)
    helpers = [helper_source(h) for h in helper_names]
    return _ENV.get_template("module.py.j2").render(
        version=__version__,
        source_label=label,
        source_sha256=source_sha256,
        weights_file=weights_file,
        weights_sha256=weights_sha256,
        module_name=re.sub(r"[^0-9A-Za-z_]", "_", module_name) or "model",
        notes_literal=_literal(program.notes),
        uses_math=writer.printer.uses_math,
        uses_native=any(is_native(c.fn) for c in walk_calls(program.calls)) or bool(CALLS_NATIVE & set(helper_names)),
        helpers=helpers,
        classes=classes,
        class_name=class_name,
        inputs_literal=repr([(i.name, i.onnx_name, i.dtype, i.shape) for i in program.inputs]),
        outputs_literal=repr([(o.name, o.onnx_name, o.dtype, o.shape) for o in program.outputs]),
    )
