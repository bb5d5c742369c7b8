"""Oracle families: how upstream uniface 4.2.1 is run on our files, one module per family group.

tools/uniface_oracle.py collects every module's `FAMILIES` (see api.py), so
adding a family is adding a module (or a `Family` to one): the tool itself
does not change. Stdlib-only at import time: the same modules load in the
upstream venv, where this project's packages must not be importable.
"""

from __future__ import annotations

import importlib
import pkgutil

from .api import Family


def families() -> dict[str, Family]:
    """Every declared family by name."""
    found: dict[str, Family] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "api" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for fam in getattr(module, "FAMILIES", ()):
            if fam.name in found:
                raise ValueError(f"oracle family {fam.name!r} is declared twice")
            found[fam.name] = fam
    return found
