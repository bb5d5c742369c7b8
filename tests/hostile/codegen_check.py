"""Static checks of generated module source: what may run on import, and what may be called.

`check_generated_source(src)` raises AssertionError naming the first offending
line. The allowlists are explicit on purpose: a new helper that needs another
builtin or method must be added here, in review.

Generated modules nest: a class may call its own submodules (`self.body(x)`,
`self.stage1[0](x)`, `for layer in self.stage1: x = layer(x)`), where a
submodule is an attribute its `__init__` sets to instances of classes defined
in the same file, and nothing else. The one import allowed below module level
is `load_model`'s lazy import of the translator (deriving weights from ONNX).
"""

from __future__ import annotations

import ast
import re

from opset.functions import NATIVE_FUNCTIONS

# Modules whose attributes may be called (mx.conv2d, np.arange, math.floor, nn.Module ...).
MODULES = {"mx", "nn", "np", "math"}
# opset.native: only the kernel wrappers on the interpreter's allowlist (opset/functions.py).
NATIVE_CALLS = {name.removeprefix("native_") for name in NATIVE_FUNCTIONS}
# The only imports a generated module may have.
IMPORTS = {
    ("__future__", "annotations"), ("math", None), ("pathlib", "Path"), ("mlx.core", "mx"), ("mlx.nn", "nn"),
    ("numpy", "np"), ("opset", "native"), ("opset.errors", "GeneratedWeightsError"),
}  # fmt: skip
# Imported names that may be called.
IMPORTED_CALLABLES = {"GeneratedWeightsError"}
# The only import below module level: in `load_model`, weights derived from the source ONNX file.
LAZY_IMPORTS = {("translator.from_onnx", "generated_weights")}
LAZY_IMPORT_FUNCTION = "load_model"
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
    "ravel", "view", "fill", "det", "fft", "ifft", "rfft", "irfft", "layer_norm", "rms_norm", "is_file",
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


def _submodules(cls: ast.ClassDef, classes: set[str]) -> tuple[set[str], set[str]]:
    """(attributes holding one submodule, attributes holding a list of them), as `__init__` sets them.

    A submodule is a call of a class defined in the file; anything else set on self is not one.
    """
    single, lists = set(), set()

    def is_instance(v: ast.AST) -> bool:
        return isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in classes

    for item in cls.body:
        if not (isinstance(item, ast.FunctionDef) and item.name == "__init__"):
            continue
        for stmt in ast.walk(item):
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                continue
            t = stmt.targets[0]
            if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"):
                continue
            if is_instance(stmt.value):
                single.add(t.attr)
            elif isinstance(stmt.value, ast.List) and stmt.value.elts and all(map(is_instance, stmt.value.elts)):
                lists.add(t.attr)
    return single - lists, lists - single


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


class _CallChecker:
    """Is a call's function on the allowlist? Local names resolve through their assignments in scope."""

    def __init__(self, functions: set[str], classes: set[str] = frozenset()):
        self.functions = functions
        self.classes = classes
        self.scopes: list[dict[str, list[ast.AST]]] = []
        self._busy: set[str] = set()
        self.submodules: list[tuple[set[str], set[str]]] = []  # per enclosing class: (single, lists)
        self.loop_vars: list[set[str]] = []  # per function: names bound by `for v in self.<list>[...]`

    def lookup(self, name: str) -> list[ast.AST] | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _submodule_lists(self) -> set[str]:
        return self.submodules[-1][1] if self.submodules else set()

    def callable_ok(self, f: ast.AST) -> bool:
        if isinstance(f, (ast.FunctionDef, ast.Lambda)):
            return True
        single = self.submodules[-1][0] if self.submodules else set()
        if _self_attr(f) is not None and _self_attr(f) in single:  # self.body(x)
            return True
        if isinstance(f, ast.Subscript) and _self_attr(f.value) in self._submodule_lists():  # self.stage1[0](x)
            return isinstance(f.slice, ast.Constant) and type(f.slice.value) is int
        if isinstance(f, ast.Name):
            if f.id in BUILTINS or f.id in self.functions or f.id in IMPORTED_CALLABLES:
                return True
            if self.loop_vars and f.id in self.loop_vars[-1] and self.lookup(f.id) is None:
                return True  # for layer in self.stage1: x = layer(x)
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
        is_class = isinstance(scope, ast.ClassDef)
        is_function = isinstance(scope, ast.FunctionDef)
        if is_class:
            self.submodules.append(_submodules(scope, self.classes))
        if is_function:
            self.loop_vars.append(self._loop_vars(scope))
        try:
            for child in ast.iter_child_nodes(scope):
                self._walk(child)
        finally:
            self.scopes.pop()
            if is_class:
                self.submodules.pop()
            if is_function:
                self.loop_vars.pop()

    def _loop_vars(self, fn: ast.FunctionDef) -> set[str]:
        lists = self._submodule_lists()
        out = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                it = node.iter
                if isinstance(it, ast.Subscript) and isinstance(it.slice, ast.Slice):
                    it = it.value
                if _self_attr(it) in lists:
                    out.add(node.target.id)
        return out

    def _walk(self, n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            self.check_calls(n)
            return
        if isinstance(n, ast.Call):
            assert self.callable_ok(n.func), f"{_where(n)}: call of {ast.unparse(n.func)!r} is not on the allowlist"
        for child in ast.iter_child_nodes(n):
            self._walk(child)


def _check_nested_imports(tree: ast.Module) -> set[str]:
    """Below module level only LAZY_IMPORTS, in the module-level LAZY_IMPORT_FUNCTION itself (not in a def
    nested in it). Returns the names they bind."""
    allowed_scopes = {
        id(stmt) for stmt in tree.body if isinstance(stmt, ast.FunctionDef) and stmt.name == LAZY_IMPORT_FUNCTION
    }
    names: set[str] = set()

    def visit(node: ast.AST, function: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and function is not None:
                ok = (
                    isinstance(child, ast.ImportFrom)
                    and id(function) in allowed_scopes
                    and not child.level
                    and all((child.module, a.name) in LAZY_IMPORTS and a.asname is None for a in child.names)
                )
                assert ok, f"{_where(child)}: import inside a function ({ast.unparse(child)})"
                names.update(a.name for a in child.names)
            inner = child if isinstance(child, (ast.FunctionDef, ast.Lambda, ast.ClassDef)) else function
            visit(child, inner)

    visit(tree, None)
    return names


def check_generated_source(src: str) -> ast.Module:
    """Assert `src` is a safe generated module; returns its AST."""
    tree = ast.parse(src)
    defined = _check_toplevel(tree)
    lazy = _check_nested_imports(tree)
    nested = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    _CallChecker(defined | nested | lazy, classes).check_calls(tree)
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
