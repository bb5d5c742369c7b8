"""Stand-in ONNX models for uniface zoo slots whose real weights are not available here.

Each builder makes a structurally faithful graph (the upstream architecture's
op types, input/output names and shapes) with RANDOM weights drawn from a
seeded generator at run time. Nothing here is trained: the stand-ins exist
to check that the MLX translation matches onnxruntime on these
architectures, and that the facade's pre/post-processing matches upstream
uniface's on the same files (tools/uniface_oracle.py).

    python -m tools.standins OUT_DIR [--only NAME ...] [--list]

One module per family group (recognition, attributes, landmarks,
detection, ...), each with a module-level `STANDINS` list of
`registry.StandIn`. This package collects every submodule's list, so a
new family is a new module: no edit here. Shared layers live in
`graph.py`; append to it, never change the draw order of an existing
helper (the bytes of checked-in stand-ins are pinned by generated/ and the
upstream fixtures).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

import onnx

from .registry import StandIn

__all__ = ["ENTRIES", "STANDINS", "StandIn", "available", "build", "checked_in", "write"]


def _collect() -> dict[str, StandIn]:
    entries: dict[str, StandIn] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("graph", "registry") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for entry in getattr(module, "STANDINS", ()):
            if entry.filename in entries:
                raise ValueError(f"stand-in {entry.filename} is declared twice ({info.name} and another module)")
            entries[entry.filename] = entry
    return entries


ENTRIES: dict[str, StandIn] = _collect()
STANDINS: dict[str, Callable[[], onnx.ModelProto]] = {name: e.build for name, e in ENTRIES.items()}


def checked_in() -> dict[str, Callable[[], onnx.ModelProto]]:
    """The stand-ins whose translations generated/ holds (tools/regenerate.py)."""
    return {name: e.build for name, e in ENTRIES.items() if e.checked_in}


def available() -> list[str]:
    """Stand-ins that can be built here (derived ones need their ../shared source)."""
    return [name for name, e in ENTRIES.items() if e.source is None or e.source.is_file()]


def build(filename: str) -> onnx.ModelProto:
    """The stand-in for one upstream file name."""
    try:
        entry = ENTRIES[filename]
    except KeyError:
        raise KeyError(f"no stand-in named {filename!r}; known: {sorted(ENTRIES)}") from None
    return entry.build()


def write(out_dir: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write stand-ins (every available one, or `names`) into `out_dir` under their upstream file names."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in names or available():
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        onnx.save(build(name), str(tmp))
        tmp.replace(path)
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write random-weight stand-in ONNX models for missing uniface zoo files."
    )
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--only", nargs="*", choices=sorted(ENTRIES), help="file names to write (default: all)")
    parser.add_argument("--list", action="store_true", help="list the stand-ins and what each one is")
    args = parser.parse_args(argv)
    if args.list:
        for name, entry in sorted(ENTRIES.items()):
            print(f"{name}: {entry.about}")
        return 0
    if not args.out_dir:
        parser.error("OUT_DIR is required (or --list)")
    for name, path in write(args.out_dir, args.only).items():
        print(f"{name}: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0
