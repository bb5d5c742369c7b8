"""Module back end: prints the lowered program as a readable `mlx.nn.Module`."""

from __future__ import annotations

import inspect
import math
import re
import textwrap
from typing import Any

from opset.functions import FUNCTIONS, HELPERS, helper_closure, is_native, printed_name
from opset.program import CONTROL, Call, Dim, DType, Program, Ref, Slice, walk_calls

import jinja2

from ..lowering.names import sanitize
from ..version import __version__
from .control_flow import control_helpers, render_control

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("translator.emit", "templates"),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)


class _Printer:
    def __init__(self, weights: set[str]):
        self.weights = weights
        self.uses_math = False

    def ref(self, name: str) -> str:
        return f"self.{name}" if name in self.weights else name

    def arg(self, v: Any) -> str:
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

    def call(self, c: Call) -> str:
        if c.fn == "getitem":
            expr = f"{self.arg(c.args[0])}[{self.index(c.args[1])}]"
        else:
            fn = printed_name(c.fn)
            args = [self.arg(a) for a in c.args] + [f"{k}={self.arg(v)}" for k, v in c.kwargs.items()]
            expr = f"{fn}({', '.join(args)})"
        outs = ", ".join(c.outputs)
        return f"{outs} = {expr}"


def _comment(c: Call) -> str:
    label = re.sub(r"[^0-9A-Za-z_./:\- ]", "?", c.node)[:60]
    return f"# {sanitize(c.op, 'op')}: {label}" if c.op else ""


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


def render_module(
    program: Program,
    class_name: str,
    source_label: str,
    source_sha256: str,
    weights_file: str,
    weights_sha256: str,
) -> str:
    printer = _Printer(set(program.weights))
    body: list[str] = []
    last_node = None
    for c in program.calls:
        if c.node != last_node:
            comment = _comment(c)
            if comment:
                body.append(comment)
            last_node = c.node
        if c.fn in CONTROL:
            body.extend(render_control(printer, c, _comment))
            continue
        body.append(printer.call(c))
    outs = [printer.ref(o.name) for o in program.outputs]
    return_expr = outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ")"
    used = [c.fn for c in walk_calls(program.calls) if c.fn in FUNCTIONS] + control_helpers(program.calls)
    helpers = [helper_source(h) for h in helper_closure(used)]
    weights = [
        {"name": k, "shape": tuple(int(d) for d in w.shape), "dtype": "bool_" if w.dtype == bool else w.dtype.name}
        for k, w in program.weights.items()
    ]
    label = re.sub(r"[^0-9A-Za-z_./:\- ]", "?", source_label)[:120]
    return _ENV.get_template("module.py.j2").render(
        version=__version__,
        source_label=label,
        source_sha256=source_sha256,
        weights_file=weights_file,
        weights_sha256=weights_sha256,
        notes_literal=_literal(program.notes),
        uses_math=printer.uses_math,
        uses_native=any(is_native(c.fn) for c in walk_calls(program.calls)),
        helpers=helpers,
        class_name=class_name,
        docstring=f"Translated from {label}; inputs {[i.onnx_name for i in program.inputs]!r}.".replace(
            '"', "'"
        ).replace("\\", "/"),
        weights=weights,
        input_names=[i.name for i in program.inputs],
        body=body,
        return_expr=return_expr,
        inputs_literal=repr([(i.name, i.onnx_name, i.dtype, i.shape) for i in program.inputs]),
        outputs_literal=repr([(o.name, o.onnx_name, o.dtype, o.shape) for o in program.outputs]),
    )
