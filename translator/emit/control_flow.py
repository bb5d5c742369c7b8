"""Module back end, control flow: prints `if`/`loop` calls (opset.program) as Python statements.

`if` becomes an `if branch_taken(cond):` statement; `loop` a `while` over the
loop protocol's helpers (loop_trip, loop_go, loop_index, loop_flag), the same
functions the op-list executor calls, so both back ends branch and iterate
identically. Blocks print their calls indented; variables local to a loop are
named `<first output>__<role>`: translated names never contain a double
underscore (lowering.names.sanitize), so these cannot clash with them.
"""

from __future__ import annotations

from typing import Any

from opset.program import Block, Call, walk_calls

INDENT = "    "
# Helpers the printed control flow calls, per kind.
_HELPERS = {"if": ("branch_taken",), "loop": ("loop_trip", "loop_go", "loop_index", "loop_flag")}


def control_helpers(calls: list[Call]) -> list[str]:
    """Helpers that printed control flow in `calls` (nested blocks included) needs."""
    return sorted({h for c in walk_calls(calls) for h in _HELPERS.get(c.fn, ())})


def render_control(printer: Any, call: Call) -> list[str]:
    """Lines (relative indentation) for one `if` or `loop` call.

    `printer` names every value (`ref`), prints arguments (`arg`) and plain calls
    (`call(c, outputs) -> lines`); values first defined inside a block get fresh
    names from it too.
    """
    if call.fn == "if":
        return _render_if(printer, call)
    if call.fn == "loop":
        return _render_loop(printer, call)
    raise ValueError(f"not a control-flow call: {call.fn}")


def render_block_calls(printer: Any, calls: list[Call]) -> list[str]:
    lines: list[str] = []
    for c in calls:
        lines.extend(printer.call(c, [printer.ref(o) for o in c.outputs]))
    return lines


def _assign(printer: Any, targets: list[str], values: list[Any]) -> list[str]:
    if not targets:
        return []
    return [f"{', '.join(printer.ref(t) for t in targets)} = {', '.join(printer.arg(v) for v in values)}"]


def _indented(lines: list[str]) -> list[str]:
    return [INDENT + line for line in lines] or [INDENT + "pass"]


def _branch(printer: Any, call: Call, block: Block) -> list[str]:
    body = render_block_calls(printer, block.calls)
    body += _assign(printer, list(call.outputs), list(block.results))
    return _indented(body)


def _render_if(printer: Any, call: Call) -> list[str]:
    then, else_ = call.blocks
    return [
        f"if branch_taken({printer.arg(call.args[0])}):",
        *_branch(printer, call, then),
        "else:",
        *_branch(printer, call, else_),
    ]


def _render_loop(printer: Any, call: Call) -> list[str]:
    trip, cond, *inits = call.args
    (body,) = call.blocks
    carried_params = list(body.params[2:])
    iter_name, cond_name, *carried = (printer.ref(p) for p in body.params)
    k = len(carried)
    base = printer.ref(call.outputs[0])
    n, go, i = f"{base}__n", f"{base}__go", f"{base}__i"
    parts = [f"{base}__parts{j}" for j in range(len(body.results) - 1 - k)]
    lines = [
        f"{n} = loop_trip({printer.arg(trip)})",
        f"{go} = loop_go({printer.arg(cond)})",
        f"{i} = 0",
        *_assign(printer, carried_params, inits),
        *(f"{p} = []" for p in parts),
        f"while {go} and ({n} is None or {i} < {n}):",
    ]
    step = [f"{iter_name} = loop_index({i})", f"{cond_name} = loop_flag({go})"]
    step += render_block_calls(printer, body.calls)
    # Every result is read before the carried values are rebound (a result may be a carried param).
    step.append(f"{go} = loop_go({printer.arg(body.results[0])})")
    step += [f"{p}.append({printer.arg(r)})" for p, r in zip(parts, body.results[1 + k :])]
    step += _assign(printer, carried_params, list(body.results[1 : 1 + k]))
    step.append(f"{i} += 1")
    lines += _indented(step)
    lines.append(f"{', '.join(printer.ref(o) for o in call.outputs)} = {', '.join([*carried, *parts])}")
    return lines
