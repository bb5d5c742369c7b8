"""The packages import one another in one direction only (docs/architecture.md).

Every import statement in every module is read with `ast` (lazy imports inside
functions included) and mapped to the project package it names. A package may
import only packages on a lower floor:

    uniface  ->  runtime  ->  generated  ->  translator  ->  opset  ->  mlx

generated/ imports only MLX and the op set at module level; its one import of
the translator is lazy, inside `load_model`, for weights derived from the ONNX
file (that derivation is translation).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOOR = {"opset": 0, "translator": 1, "generated": 2, "runtime": 3, "uniface": 4}
# The only import a generated module makes below module level, and where.
GENERATED_LAZY_IMPORT = ("load_model", "translator.from_onnx", ("generated_weights",))


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


def _generated_imports(tree: ast.Module) -> tuple[set[str], list[tuple[str | None, str, tuple[str, ...]]]]:
    """(packages imported at module level, [(enclosing function, module, names)] for imports below it)."""
    top: set[str] = set()
    nested: list[tuple[str | None, str, tuple[str, ...]]] = []

    def visit(node: ast.AST, function: str | None, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.Import):
                    entries = [(a.name, ()) for a in child.names]
                else:
                    entries = [("." * child.level + (child.module or ""), tuple(a.name for a in child.names))]
                for module, names in entries:
                    if depth == 0:
                        top.add(module.split(".")[0] if not module.startswith(".") else module)
                    else:
                        nested.append((function, module, names))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                name = getattr(child, "name", "<lambda>") if depth == 0 else f"{function}.<nested>"
                visit(child, name, depth + 1)
            else:
                visit(child, function, depth)

    visit(tree, None, 0)
    return top, nested


def test_generated_imports_only_mlx_and_the_op_set():
    allowed = {"__future__", "math", "pathlib", "mlx", "numpy", "opset"}
    paths = [p for p in sorted((ROOT / "generated").glob("*.py")) if p.name != "__init__.py"]
    assert paths, "no generated modules found"
    for path in paths:
        top, nested = _generated_imports(ast.parse(path.read_text(encoding="utf-8")))
        assert top <= allowed, f"{path.name} imports {top - allowed} at module level"
        function, module, names = GENERATED_LAZY_IMPORT
        assert nested == [(function, module, names)], f"{path.name} imports {nested} inside functions"


def test_the_generated_scan_catches_other_lazy_imports():
    """The generated-module scan refuses any lazy import but the one (planted cases)."""
    allowed = [("load_model", "translator.from_onnx", ("generated_weights",))]
    ok = "def load_model():\n    if True:\n        from translator.from_onnx import generated_weights\n"
    assert _generated_imports(ast.parse(ok))[1] == allowed
    for src in (
        "def load_model():\n    from translator.api import translate\n",
        "def forward():\n    from translator.from_onnx import generated_weights\n",
        "def load_model():\n    def inner():\n        from translator.from_onnx import generated_weights\n",
        "class A:\n    def load_model(self):\n        from translator.from_onnx import generated_weights\n",
        "def load_model():\n    import runtime\n",
    ):
        assert _generated_imports(ast.parse(src))[1] != allowed, src


@pytest.mark.parametrize("package", sorted(FLOOR))
def test_every_package_is_seen(package):
    """The scan itself finds modules (a renamed folder would make the test pass vacuously)."""
    assert list((ROOT / package).rglob("*.py")), f"no modules found under {package}/"


def test_the_scan_catches_an_upward_import(tmp_path):
    """The detector flags a planted upward import (translator importing runtime)."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from runtime.session import InferenceSession\n    return InferenceSession\n")
    assert _imported_packages(planted, "translator") == {"runtime"}
