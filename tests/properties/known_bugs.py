"""Bugs hypothesis found that are not fixed yet.

Each entry: a predicate on a generated Case, and the xfail(strict=True) regression
test in test_regressions.py that shows it. The property tests skip matching
examples (counted as "known_bug" in the stats) so CI stays green while the bug
is open; when the regression test starts passing (XPASS fails the run), delete
its entry here and the xfail mark there.
"""

from __future__ import annotations

from onnx import helper

from .harness import Case


def _attrs(n) -> dict:
    out = {}
    for a in n.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]


def _shapes(case: Case) -> dict:
    out = {k: tuple(v.shape) for k, v in case.feed.items()}
    for vi in list(case.model.graph.value_info) + list(case.model.graph.output):
        out[vi.name] = tuple(_dims(vi))
    return out


def _opset(case: Case) -> int:
    return next(i.version for i in case.model.opset_import if i.domain in ("", "ai.onnx"))


def _init(case: Case, name: str):
    from onnx import numpy_helper

    for t in case.model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None


# name -> (predicate, regression test in test_regressions.py). None open at the moment; the helpers above
# (attributes, declared shapes, opset, initializers of a Case) are what predicates are written with.
KNOWN_BUGS: dict[str, tuple] = {}


def known_bug(case: Case) -> str | None:
    for name, (pred, _test) in KNOWN_BUGS.items():
        if pred(case):
            return name
    return None
