"""Helper functions that lowered programs may call besides MLX's own.

A helper is a small, self-contained function of MLX arrays (it may use `mx`,
`np`, `math`, other helpers, and `native`, the op set's native kernels, if it says so). The interpreter calls it from here; the module
back end inlines its source into the generated file, so generated code needs
nothing but MLX. Register with `@helper`; the registry is the allowlist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

HELPERS: dict[str, Callable] = {}
HELPER_DEPS: dict[str, tuple[str, ...]] = {}
CALLS_NATIVE: set[str] = set()  # helpers whose inlined source needs `from opset import native`


def helper(fn: Callable | None = None, *, uses: tuple[str, ...] = (), calls_native: bool = False):
    """Register `fn` as a helper; `uses` names other helpers it calls, `calls_native` says it calls `native.*`."""

    def register(f: Callable) -> Callable:
        if f.__name__ in HELPERS:
            raise ValueError(f"helper {f.__name__} registered twice")
        HELPERS[f.__name__] = f
        HELPER_DEPS[f.__name__] = tuple(uses)
        if calls_native:
            CALLS_NATIVE.add(f.__name__)
        return f

    return register(fn) if fn is not None else register


_FAMILIES = (
    "common", "conv", "elementwise", "shape", "indexing", "nn", "reduce", "misc", "extra", "control", "sequence",
)  # fmt: skip
for _family in _FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
