"""Lowering registry keyed by (domain, op type, since-version)."""

from __future__ import annotations

from collections.abc import Callable

_REGISTRY: dict[tuple[str, str], list[tuple[int, Callable]]] = {}


def lowering(op_types: str | tuple[str, ...], *, domain: str = "", since: int = 1):
    """Register a lowering for one or more op types, valid from opset `since` on."""
    names = (op_types,) if isinstance(op_types, str) else op_types

    def register(fn: Callable) -> Callable:
        for name in names:
            entries = _REGISTRY.setdefault((domain, name), [])
            if any(s == since for s, _ in entries):
                raise ValueError(f"lowering for {domain}::{name} since {since} registered twice")
            entries.append((since, fn))
            entries.sort(key=lambda e: e[0])
        return fn

    return register


def find_lowering(op_type: str, domain: str, opset: int) -> Callable | None:
    """The lowering registered for the newest since-version not above `opset`."""
    entries = _REGISTRY.get(("" if domain == "ai.onnx" else domain, op_type))
    if not entries:
        return None
    chosen = None
    for since, fn in entries:
        if since <= opset:
            chosen = fn
    return chosen


def supported_ops() -> list[tuple[str, str]]:
    return sorted(_REGISTRY)
