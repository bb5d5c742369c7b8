"""Run the ONNX specification's node test cases through our translation.

Library used by tools/conformance.py and the test suite; also a quick CLI for
working on one op:  python tools/node_tests.py --op Relu [--mode oplist]
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import runtime  # noqa: E402,F401  (loads fast BLAS before MLX)
from runtime.session import InferenceSession  # noqa: E402
from translator.errors import TranslatorError, UnsupportedFeatureError, UnsupportedOpError  # noqa: E402

MODES = ("module", "oplist")


@dataclass
class CaseResult:
    name: str
    op: str
    status: str  # pass | fail | unsupported | error | crash
    reason: str = ""
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict, repr=False)


@functools.lru_cache(maxsize=1)
def all_cases() -> tuple:
    import onnx.backend.test.case.node as node_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(node_cases.collect_testcases(None))


def case_op(case) -> str:
    nodes = case.model.graph.node
    return nodes[0].op_type if len(nodes) == 1 else (nodes[-1].op_type if nodes else "?")


_EXPANDED = re.compile(r"_expanded(_ver\d+)?$")


def primary_op(case) -> str:
    """The op a case tests: its single node, or for an expanded (function-body) graph the op of
    the case it expands (test_mvn_expanded -> test_mvn -> MeanVarianceNormalization)."""
    nodes = case.model.graph.node
    base = _EXPANDED.sub("", case.name)
    if base != case.name:
        op = _base_case_ops().get(base)
        if op:
            return op
    elif len(nodes) == 1:
        return nodes[0].op_type
    return _op_from_name(case.name) or case_op(case)


@functools.lru_cache(maxsize=1)
def _base_case_ops() -> dict[str, str]:
    return {
        c.name: c.model.graph.node[0].op_type
        for c in all_cases()
        if len(c.model.graph.node) == 1 and not _EXPANDED.search(c.name)
    }


@functools.cache
def _op_names() -> dict[str, str]:
    import onnx.defs

    return {re.sub(r"[^a-z0-9]", "", s.name.lower()): s.name for s in onnx.defs.get_all_schemas_with_history()}


def _op_from_name(name: str) -> str | None:
    parts = name[len("test_") :].split("_")
    names = _op_names()
    for k in range(len(parts), 0, -1):
        key = "".join(parts[:k]).lower()
        if key in names:
            return names[key]
    return None


def iter_cases(op: str | None = None, name_filter: str | None = None):
    for case in all_cases():
        if op is not None and primary_op(case) != op:
            continue
        if name_filter is not None and not re.search(name_filter, case.name):
            continue
        yield case


def _normalize(value):
    """A data-set entry as numpy: TensorProto and numpy scalars become arrays, sequences lists of arrays,
    optionals None or their content; other kinds (maps) are kept."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    return value


# ml_dtypes types the translation holds: bfloat16 natively, sub-byte integers in a byte (opset.execute).
HOLDABLE_EXTENSION_TYPES = ("bfloat16", "int4", "uint4", "int2", "uint2")


def _unholdable(value) -> str | None:
    """Why the translation cannot hold this data-set value (a tensor, a sequence of them, or an
    optional: None or a value), or None if it can."""
    if value is None:
        return None
    if isinstance(value, list):
        return next((why for why in map(_unholdable, value) if why), None)
    if not isinstance(value, np.ndarray):
        return f"non-tensor value ({type(value).__name__}: a map or another kind MLX cannot hold)"
    if value.dtype.kind in "OSU":
        return "string tensor"
    if value.dtype.kind == "V" and value.dtype.name not in HOLDABLE_EXTENSION_TYPES:
        return f"dtype {value.dtype.name}, which MLX has no type for"
    return None


def _data_sets(case) -> list[tuple[list, list]]:
    return [([_normalize(a) for a in inputs], [_normalize(b) for b in expected]) for inputs, expected in case.data_sets]


def _run_mode(case, mode: str, workdir: Path, data_sets: list | None = None) -> list[list[np.ndarray]]:
    sess = InferenceSession(case.model, mode=mode, cache_dir=workdir / mode)
    out_names = [o.name for o in case.model.graph.output]
    in_names = [i.name for i in sess.get_inputs()]
    results = []
    for inputs, _expected in data_sets if data_sets is not None else _data_sets(case):
        feed = dict(zip(in_names, inputs))
        results.append(sess.run(out_names, feed))
    return results


def run_case(case, modes: tuple[str, ...] = MODES) -> CaseResult:
    op = primary_op(case)
    data_sets = _data_sets(case)
    for inputs, expected in data_sets:
        for kind, values in (("input", inputs), ("output", expected)):
            for i, value in enumerate(values):
                why = _unholdable(value)
                if why:
                    return CaseResult(case.name, op, "unsupported", f"{kind} {i}: {why}")
    got: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            try:
                got[mode] = _run_mode(case, mode, Path(tmp), data_sets)
            except (UnsupportedOpError, UnsupportedFeatureError) as exc:
                return CaseResult(case.name, op, "unsupported", _short(exc))
            except TranslatorError as exc:
                return CaseResult(case.name, op, "error", f"{type(exc).__name__}: {_short(exc)}")
            except Exception as exc:  # noqa: BLE001  (the report must name every crash)
                return CaseResult(case.name, op, "crash", f"{type(exc).__name__}: {_short(exc)}")
    for mode in modes:
        for ds, ((_, expected), outs) in enumerate(zip(data_sets, got[mode])):
            if len(outs) != len(expected):
                return CaseResult(case.name, op, "fail", f"{mode}: {len(outs)} outputs, expected {len(expected)}", got)
            for i, (want, have) in enumerate(zip(expected, outs)):
                problem = _compare(want, have, case.rtol, case.atol)
                if problem:
                    return CaseResult(case.name, op, "fail", f"{mode} output {i} (data set {ds}): {problem}", got)
    if len(modes) == 2:
        a, b = (got[m] for m in modes)
        for oa, ob in zip(a, b):
            for i, (x, y) in enumerate(zip(oa, ob)):
                if not same_array(x, y):
                    return CaseResult(case.name, op, "fail", f"module and oplist differ on output {i}", got)
    return CaseResult(case.name, op, "pass", "", got)


def same_array(x, y) -> bool:
    """Bit-for-bit equality of two outputs (same shape and dtype; NaNs in the same places match); sequences
    item by item, empty optionals (None) only with each other."""
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, list) or isinstance(y, list):
        return isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and all(map(same_array, x, y))
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind == "V":  # bfloat16 and other ml_dtypes: compare the bits
        return x.tobytes() == y.tobytes()
    return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))


def _compare(want, have, rtol: float, atol: float) -> str:
    if want is None or have is None:
        return (
            ""
            if want is None and have is None
            else f"{'no value' if have is None else 'a value'} where {want!r:.40} was expected"
        )
    if isinstance(want, list) or isinstance(have, list):
        if not (isinstance(want, list) and isinstance(have, list)):
            return "a sequence where a tensor was expected (or the reverse)"
        if len(want) != len(have):
            return f"sequence of {len(have)} items, expected {len(want)}"
        return next(
            (
                f"item {i}: {p}"
                for i, p in enumerate(map(_compare, want, have, [rtol] * len(want), [atol] * len(want)))
                if p
            ),
            "",
        )
    want = np.asarray(want)
    if want.dtype.kind in "OSU":
        return "string output"
    if have.shape != want.shape:
        return f"shape {have.shape} != expected {want.shape}"
    if want.dtype != have.dtype:
        return f"dtype {have.dtype} != expected {want.dtype}"
    if want.dtype.name in ("int4", "uint4", "int2", "uint2"):  # ml_dtypes sub-byte integers: compare as ints
        want, have = want.astype(np.int64), have.astype(np.int64)
    if want.dtype.kind in "biu":
        if not np.array_equal(want, have):
            return f"values differ (max abs diff {np.max(np.abs(want.astype(np.float64) - have.astype(np.float64)))})"
        return ""
    if want.dtype.name == "bfloat16":  # as onnx's own runner does: two bfloat16 ulps, compared in float32
        want, have, rtol = want.astype(np.float32), have.astype(np.float32), max(rtol, 2**-6)
    try:
        np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError:
        diff = np.abs(have.astype(np.float64) - want.astype(np.float64))
        return f"max abs diff {np.nanmax(diff) if diff.size else 0:.3g} (rtol {rtol}, atol {atol})"
    return ""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return text[:300]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--op", help="only cases whose primary op is this (e.g. Conv)")
    p.add_argument("--name", help="regex on the case name")
    p.add_argument("--mode", choices=MODES, help="one mode only (default both)")
    p.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    args = p.parse_args(argv)
    modes = (args.mode,) if args.mode else MODES
    counts: dict[str, int] = {}
    for case in iter_cases(args.op, args.name):
        r = run_case(case, modes)
        counts[r.status] = counts.get(r.status, 0) + 1
        if args.verbose or r.status != "pass":
            print(f"{r.status:12s} {r.name}  {r.reason}")
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0 if counts.get("pass", 0) == sum(counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
