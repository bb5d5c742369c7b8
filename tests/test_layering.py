"""The packages import one another in one direction only (docs/architecture.md).

Every import statement in every module is read with `ast` (lazy imports inside
functions included) and mapped to the project package it names. A package may
import only packages on a lower floor:

    uniface  ->  runtime  ->  translator, generated  ->  opset  ->  mlx
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOOR = {"opset": 0, "translator": 1, "generated": 1, "runtime": 2, "uniface": 3}


def _imported_packages(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the package
                found.add(package)
            elif node.module:
                found.add(node.module.split(".")[0])
    return found & set(FLOOR)


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for package in FLOOR:
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in _imported_packages(path, package) - {package}:
                edges.setdefault((package, target), []).append(str(path.relative_to(ROOT)))
    return edges


def test_imports_point_down_only():
    upward = {f"{src} -> {dst}": files for (src, dst), files in _edges().items() if FLOOR[dst] >= FLOOR[src]}
    assert not upward, f"imports that point up or sideways: {upward}"


def test_generated_imports_only_mlx_and_the_op_set():
    allowed = {"__future__", "math", "pathlib", "mlx", "numpy", "opset"}
    for path in sorted((ROOT / "generated").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module.split(".")[0]]
            bad = set(names) - allowed
            assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("package", sorted(FLOOR))
def test_every_package_is_seen(package):
    """The scan itself finds modules (a renamed folder would make the test pass vacuously)."""
    assert list((ROOT / package).rglob("*.py")), f"no modules found under {package}/"


def test_the_scan_catches_an_upward_import(tmp_path):
    """The detector flags a planted upward import (translator importing runtime)."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from runtime.session import InferenceSession\n    return InferenceSession\n")
    assert _imported_packages(planted, "translator") == {"runtime"}
