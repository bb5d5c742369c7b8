"""The op-list format: a lowered program as JSON, written by the translator and read by the interpreter.

Encoding and decoding live together here, at the bottom layer, so the writer and
the reader cannot drift apart. Decoding is strict: every function name must be
on the allowlist (opset.functions) and every argument one of the tagged types
below; nothing read from a file is ever looked up anywhere else. Control-flow
calls (`if`, `loop`) carry nested blocks, decoded with the same checks.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import OpListError
from .execute import DTYPES
from .functions import FUNCTIONS
from .program import CONTROL, Block, Call, Dim, DType, Ref, Slice

FORMAT = "mlx-onnx-oplist"
FORMAT_VERSION = 2  # 2: nested blocks for control flow
READABLE_VERSIONS = (1, 2)  # version 1 is version 2 without blocks
# Blocks nest at most this deep (a hostile file cannot exhaust the stack).
MAX_BLOCK_DEPTH = 32

_SCALARS = (bool, int, float, str, type(None))


def encode_arg(v: Any) -> Any:
    if isinstance(v, Ref):
        return {"ref": v.name}
    if isinstance(v, Dim):
        return {"dim": [v.ref, v.axis]}
    if isinstance(v, DType):
        return {"dtype": v.name}
    if isinstance(v, Slice):
        return {"slice": [v.start, v.stop, v.step]}
    if isinstance(v, tuple):
        return {"tuple": [encode_arg(x) for x in v]}
    if isinstance(v, list):
        return [encode_arg(x) for x in v]
    if isinstance(v, dict):
        return {"dict": {str(k): encode_arg(x) for k, x in v.items()}}
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": repr(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"cannot serialize argument of type {type(v).__name__}")


def encode_call(c: Call) -> dict:
    doc = {
        "fn": c.fn,
        "args": [encode_arg(a) for a in c.args],
        "kwargs": {k: encode_arg(v) for k, v in c.kwargs.items()},
        "out": list(c.outputs),
        "node": c.node,
        "op": c.op,
    }
    if c.blocks:
        doc["blocks"] = [encode_block(b) for b in c.blocks]
    return doc


def encode_block(b: Block) -> dict:
    return {
        "params": list(b.params),
        "calls": [encode_call(c) for c in b.calls],
        "results": [encode_arg(r) for r in b.results],
    }


# How many blocks each control-flow kind holds.
_BLOCKS = {"if": 2, "loop": 1}


def decode_call(c: Any, index: int, label: str, depth: int = 0) -> Call:
    if not isinstance(c, dict):
        raise OpListError(f"{label}: call #{index} is not an object")
    fn = c.get("fn")
    if not isinstance(fn, str) or (fn not in FUNCTIONS and fn not in CONTROL):
        raise OpListError(f"{label}: call #{index} uses {fn!r}, which is not on the allowlist")
    blocks = c.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) != _BLOCKS.get(fn, 0):
        raise OpListError(f"{label}: call #{index} ({fn}) must hold {_BLOCKS.get(fn, 0)} block(s)")
    if blocks and depth >= MAX_BLOCK_DEPTH:
        raise OpListError(f"{label}: call #{index} ({fn}) nests blocks deeper than {MAX_BLOCK_DEPTH}")
    args, kwargs, out = c.get("args", []), c.get("kwargs", {}), c.get("out")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise OpListError(f"{label}: call #{index} ({fn}) has malformed arguments")
    if not isinstance(out, list) or not out or not all(isinstance(o, str) for o in out):
        raise OpListError(f"{label}: call #{index} ({fn}) has malformed outputs")
    if not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        raise OpListError(f"{label}: call #{index} ({fn}) has a malformed keyword name")
    where = f"{label}: call #{index} ({fn})"
    call = Call(
        fn,
        tuple(decode_arg(a, where) for a in args),
        {k: decode_arg(v, where) for k, v in kwargs.items()},
        tuple(out),
        str(c.get("node", "")),
        str(c.get("op", "")),
        tuple(decode_block(b, f"{where} block #{i}", depth + 1) for i, b in enumerate(blocks)),
    )
    if fn in CONTROL:
        _check_control(call, where)
    return call


def _check_control(call: Call, where: str) -> None:
    """The arity rules of the control-flow kinds (opset.program)."""
    n_out = len(call.outputs)
    if call.fn == "if":
        ok = len(call.args) == 1 and all(not b.params and len(b.results) == n_out for b in call.blocks)
    else:
        (body,) = call.blocks
        carried = len(call.args) - 2
        ok = carried >= 0 and len(body.params) == 2 + carried and len(body.results) == 1 + n_out >= 1 + carried
    if not ok:
        raise OpListError(f"{where}: its arguments, block params, results and outputs do not match")


def decode_block(b: Any, where: str, depth: int) -> Block:
    if not isinstance(b, dict):
        raise OpListError(f"{where} is not an object")
    params, calls, results = b.get("params", []), b.get("calls"), b.get("results")
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise OpListError(f"{where} has malformed params")
    if not isinstance(calls, list) or not isinstance(results, list):
        raise OpListError(f"{where} has malformed calls or results")
    return Block(
        tuple(params),
        [decode_call(c, i, where, depth) for i, c in enumerate(calls)],
        tuple(decode_arg(r, where) for r in results),
    )


def decode_arg(v: Any, where: str) -> Any:
    if isinstance(v, _SCALARS):
        return v
    if isinstance(v, list):
        return [decode_arg(x, where) for x in v]
    if isinstance(v, dict) and len(v) == 1:
        ((tag, body),) = v.items()
        if tag == "ref" and isinstance(body, str):
            return Ref(body)
        if (
            tag == "dim"
            and isinstance(body, list)
            and len(body) == 2
            and isinstance(body[0], str)
            and type(body[1]) is int
        ):
            return Dim(body[0], body[1])
        if tag == "dtype" and body in DTYPES:
            return DType(body)
        if (
            tag == "slice"
            and isinstance(body, list)
            and len(body) == 3
            and all(b is None or type(b) is int for b in body)
        ):
            return Slice(*body)
        if tag == "tuple" and isinstance(body, list):
            return tuple(decode_arg(x, where) for x in body)
        if tag == "dict" and isinstance(body, dict):
            return {str(k): decode_arg(x, where) for k, x in body.items()}
        if tag == "float" and body in ("inf", "-inf", "nan"):
            return float(body)
    raise OpListError(f"{where}: argument {str(v)[:80]!r} has a type the op-list format does not allow")
