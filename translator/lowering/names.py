"""Turning arbitrary ONNX names into safe, readable Python identifiers."""

from __future__ import annotations

import builtins
import keyword
import re

import mlx.nn as nn

RESERVED = (
    {"mx", "nn", "np", "math", "self", "cls", "Path", "model", "weights_path"}
    | set(dir(builtins))
    | {n for n in dir(object)}
    | set(dir(nn.Module))  # weights become attributes of an nn.Module: never shadow its members
    | {"INPUTS", "OUTPUTS", "NOTES", "SOURCE_SHA256", "WEIGHTS_SHA256", "load_model"}
    # the generated module's other module-level names (translator/emit/module.py MODULE_NAMES)
    | {"native", "GeneratedWeightsError", "SOURCE_FILE", "WEIGHTS_FILE", "MODULE_NAME"}
)


def sanitize(name: str, prefix: str = "v") -> str:
    """An ASCII identifier derived from `name`; never a keyword or builtin."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name or "")
    ident = re.sub(r"_+", "_", ident).strip("_")
    if not ident:
        ident = prefix
    if ident[0].isdigit():
        ident = f"{prefix}{ident}" if prefix.endswith("_") else f"{prefix}_{ident}"
    ident = ident[:48].rstrip("_") or prefix
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident) or ident in RESERVED:
        ident += "_"
    return ident


class NameTable:
    """Hands out unique identifiers."""

    def __init__(self, taken: set[str] | None = None):
        self.taken: set[str] = set(taken or ())

    def new(self, hint: str, prefix: str = "v") -> str:
        base = sanitize(hint, prefix)
        name, i = base, 1
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name
