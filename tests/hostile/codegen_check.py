"""Static checks of generated module source: what may run on import, and what may be called.

`check_generated_source(src)` raises AssertionError naming the first offending
line. The allowlists are explicit on purpose: a new helper that needs another
builtin or method must be added here, in review.
"""

from __future__ import annotations

import ast
import re

# Modules whose attributes may be called (mx.conv2d, np.arange, math.floor, nn.Module ...).
MODULES = {"mx", "nn", "np", "math"}
# opset.native: only the kernel wrappers on the interpreter's allowlist (opset/functions.py).
NATIVE_CALLS = {"conv2d", "dw_pw_conv2d", "interleave", "max_pool2d", "upsample_nearest", "sigmoid", "softmax"}
# The only imports a generated module may have.
IMPORTS = {
    ("__future__", "annotations"), ("math", None), ("pathlib", "Path"), ("mlx.core", "mx"), ("mlx.nn", "nn"),
    ("numpy", "np"), ("opset", "native"),
}  # fmt: skip
# Builtins (and Path) that may be called by name.
BUILTINS = {
    "super", "Path", "str", "float", "int", "bool", "range", "len", "tuple", "list", "dict", "set", "isinstance",
    "zip", "enumerate", "min", "max", "abs", "sorted", "reversed", "sum", "any", "all", "round", "divmod",
    "slice", "ValueError",
}  # fmt: skip
# Methods that may be called on values (arrays, lists, dicts, paths, dtypes, array.at[...]).
METHODS = {
    "__init__", "astype", "reshape", "transpose", "squeeze", "flatten", "swapaxes", "sum", "max", "min", "mean",
    "prod", "item", "tolist", "append", "extend", "insert", "index", "count", "get", "items", "keys", "values",
    "copy", "split", "add", "multiply", "maximum", "minimum", "subtract", "divide", "with_name", "load_weights",
    "eval", "type", "any", "all", "argmax", "argmin", "round", "clip", "cumsum", "sort", "argsort", "nonzero",
    "ravel", "view", "fill", "det", "fft", "ifft", "rfft", "irfft", "layer_norm", "rms_norm",
}  # fmt: skip
# Names that must never appear, called or not.
FORBIDDEN_NAMES = {
    "eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "input", "breakpoint", "__builtins__", "importlib", "os", "sys", "subprocess", "memoryview", "type",
}  # fmt: skip
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _where(node: ast.AST) -> str:
    return f"line {getattr(node, 'lineno', '?')}"


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _check_toplevel(tree: ast.Module) -> set[str]:
    """Importing runs nothing but imports, literal bindings and def/class statements. Returns defined names."""
    defined: set[str] = set()
    for i, stmt in enumerate(tree.body):
        if (
            isinstance(stmt, ast.Expr)
            and i == 0
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            continue
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                assert (a.name, a.asname) in IMPORTS, f"{_where(stmt)}: import {a.name} as {a.asname}"
            continue
        if isinstance(stmt, ast.ImportFrom):
            for a in stmt.names:
                assert (stmt.module, a.name) in IMPORTS and a.asname is None, (
                    f"{_where(stmt)}: from {stmt.module} import {a.name}"
                )
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            assert all(isinstance(t, ast.Name) for t in targets), (
                f"{_where(stmt)}: module-level assignment to a non-name"
            )
            assert stmt.value is not None and _literal(stmt.value), (
                f"{_where(stmt)}: module-level value is not a literal"
            )
            defined.update(t.id for t in targets)
            continue
        if isinstance(stmt, ast.FunctionDef):
            assert not stmt.decorator_list, f"{_where(stmt)}: decorated function {stmt.name}"
            for d in stmt.args.defaults + [d for d in stmt.args.kw_defaults if d is not None]:
                assert _literal(d), f"{_where(stmt)}: default argument of {stmt.name} is not a literal"
            defined.add(stmt.name)
            continue
        if isinstance(stmt, ast.ClassDef):
            assert not stmt.decorator_list and not stmt.keywords, (
                f"{_where(stmt)}: class {stmt.name} decorators/keywords"
            )
            assert [ast.unparse(b) for b in stmt.bases] == ["nn.Module"], f"{_where(stmt)}: class {stmt.name} bases"
            for j, item in enumerate(stmt.body):
                if j == 0 and isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                    continue
                assert isinstance(item, ast.FunctionDef) and not item.decorator_list, (
                    f"{_where(item)}: class body statement"
                )
                for d in item.args.defaults:
                    assert _literal(d), f"{_where(item)}: default argument is not a literal"
            defined.add(stmt.name)
            continue
        raise AssertionError(f"{_where(stmt)}: module-level {type(stmt).__name__} would run on import")
    assert len(defined) == len(set(defined)), "a module-level name is defined twice"
    return defined


def _scope_assignments(scope: ast.AST) -> dict[str, list[ast.AST]]:
    """name -> values assigned to it directly in `scope` (not in nested functions), plus nested defs."""
    out: dict[str, list[ast.AST]] = {}

    def visit(n: ast.AST) -> None:
        for child in ast.iter_child_nodes(n):
            if isinstance(child, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
                if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                    out.setdefault(child.name, []).append(child)
                continue
            if isinstance(child, ast.Assign):
                for t in child.targets:
                    for name in ast.walk(t):
                        if isinstance(name, ast.Name):
                            out.setdefault(name.id, []).append(child.value)
            visit(child)

    visit(scope)
    return out


class _CallChecker:
    """Is a call's function on the allowlist? Local names resolve through their assignments in scope."""

    def __init__(self, functions: set[str]):
        self.functions = functions
        self.scopes: list[dict[str, list[ast.AST]]] = []
        self._busy: set[str] = set()

    def lookup(self, name: str) -> list[ast.AST] | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def callable_ok(self, f: ast.AST) -> bool:
        if isinstance(f, (ast.FunctionDef, ast.Lambda)):
            return True
        if isinstance(f, ast.Name):
            if f.id in BUILTINS or f.id in self.functions:
                return True
            values = self.lookup(f.id)
            if values is None or f.id in self._busy:
                return False
            self._busy.add(f.id)
            try:
                return all(self.callable_ok(v) for v in values)
            finally:
                self._busy.discard(f.id)
        if isinstance(f, ast.Attribute):
            root = f
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in MODULES:
                return True
            if isinstance(root, ast.Name) and root.id == "native" and f.value is root:
                return f.attr in NATIVE_CALLS
            return f.attr in METHODS
        if isinstance(f, ast.Subscript):  # {"add": at.add, ...}[kind] or a name bound to such a dict
            return self.callable_ok(f.value)
        if isinstance(f, ast.Dict):
            return all(self.callable_ok(v) for v in f.values)
        if isinstance(f, ast.IfExp):
            return self.callable_ok(f.body) and self.callable_ok(f.orelse)
        return False

    def check_calls(self, scope: ast.AST) -> None:
        self.scopes.append(_scope_assignments(scope))
        try:
            for child in ast.iter_child_nodes(scope):
                self._walk(child)
        finally:
            self.scopes.pop()

    def _walk(self, n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            self.check_calls(n)
            return
        if isinstance(n, ast.Call):
            assert self.callable_ok(n.func), f"{_where(n)}: call of {ast.unparse(n.func)!r} is not on the allowlist"
        for child in ast.iter_child_nodes(n):
            self._walk(child)


def check_generated_source(src: str) -> ast.Module:
    """Assert `src` is a safe generated module; returns its AST."""
    tree = ast.parse(src)
    defined = _check_toplevel(tree)
    nested = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    _CallChecker(defined | nested).check_calls(tree)
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            assert IDENT.match(n.id) and n.id.isascii(), f"{_where(n)}: identifier {n.id!r} is not sanitized"
            assert n.id not in FORBIDDEN_NAMES, f"{_where(n)}: forbidden name {n.id!r}"
        elif isinstance(n, ast.Attribute):
            assert IDENT.match(n.attr) and n.attr.isascii(), f"{_where(n)}: attribute {n.attr!r} is not sanitized"
            assert not n.attr.startswith("__") or n.attr == "__init__", f"{_where(n)}: dunder attribute {n.attr!r}"
        elif isinstance(n, ast.With):  # np.errstate(...): the context expression is a checked call
            assert all(isinstance(i.context_expr, ast.Call) for i in n.items), f"{_where(n)}: with of a non-call"
        elif isinstance(n, ast.arg):
            assert IDENT.match(n.arg) and n.arg.isascii(), f"{_where(n)}: parameter {n.arg!r} is not sanitized"
        elif isinstance(n, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.AsyncWith, ast.Await, ast.Try)):
            raise AssertionError(f"{_where(n)}: {type(n).__name__} statement in generated code")
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            assert IDENT.match(n.name) and n.name.isascii(), f"{_where(n)}: name {n.name!r} is not sanitized"
    return tree
