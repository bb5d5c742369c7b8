"""Bugs hypothesis found that are not fixed yet.

Each entry: a predicate on a generated Case, and the xfail(strict=True) regression
test in test_regressions.py that shows it. The property tests skip matching
examples (counted as "known_bug" in the stats) so CI stays green while the bug
is open; when the regression test starts passing, delete its entry here.
"""

from __future__ import annotations

import numpy as np

from .harness import Case


def _ops(case: Case) -> list[str]:
    return [n.op_type for n in case.model.graph.node]


def _attr(case: Case, name: str, default=None):
    from onnx import helper

    for a in case.model.graph.node[-1].attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def _has_scalar_output(case: Case) -> bool:
    return any(len(o.type.tensor_type.shape.dim) == 0 for o in case.model.graph.output)


# name -> (predicate, regression test)
KNOWN_BUGS: dict[str, tuple] = {}


def known_bug(case: Case) -> str | None:
    for name, (pred, _test) in KNOWN_BUGS.items():
        try:
            if pred(case):
                return name
        except Exception:  # a predicate must never hide a real failure
            continue
    return None


__all__ = ["KNOWN_BUGS", "known_bug", "np"]
