"""Find the checked-in generated module (generated/*.py) for an ONNX file, by sha256.

The zoo's translated classes live in generated/ as readable code. When a model's
sha256 matches one, the facade runs that class with weights derived from the
ONNX file (the generated header also pins the weights' sha256, so a different
translator version that would lower differently falls back to a fresh translation).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import generated

_HEADER = re.compile(r'^SOURCE_SHA256 = "([0-9a-f]{64})"$|^WEIGHTS_SHA256 = "([0-9a-f]{64})"$', re.M)


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, tuple[Path, str]]:
    """source sha256 -> (module path, weights sha256), read from headers without importing."""
    out = {}
    for folder in generated.__path__:
        for path in sorted(Path(folder).glob("*.py")):
            head = path.read_text(encoding="utf-8", errors="replace")[:4000]
            found = dict.fromkeys(("source", "weights"))
            for m in _HEADER.finditer(head):
                if m.group(1):
                    found["source"] = m.group(1)
                else:
                    found["weights"] = m.group(2)
            if found["source"] and found["weights"]:
                out[found["source"]] = (path, found["weights"])
    return out


def find_generated(source_sha256: str) -> tuple[Path, str] | None:
    """(path, weights sha256) of the generated module for this ONNX sha256, if any."""
    return _index().get(source_sha256)
