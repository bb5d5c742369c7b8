"""Edited op lists with control-flow blocks: the same allowlist and strict checks as flat ones, scope by scope.

The op list comes from a real translation (an If on the input length inside a
Loop body), then one edit at a time; loading must refuse every broken one with
OpListError before anything runs, and the intact one must still run.
"""

from __future__ import annotations

import json

from runtime.interpreter import load_oplist
from translator import convert
from translator.errors import OpListError

import mlx.core as mx
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper


@pytest.fixture
def nested(tmp_path):
    then = helper.make_graph(
        [helper.make_node("Mul", ["acc", "x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", TP.FLOAT, [3])]
    )
    else_ = helper.make_graph(
        [helper.make_node("Add", ["acc", "x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", TP.FLOAT, [3])]
    )
    body = helper.make_graph(
        [
            helper.make_node("Greater", ["i", "one"], ["big"]),
            helper.make_node("If", ["big"], ["acc_out"], then_branch=then, else_branch=else_),
            helper.make_node("Identity", ["c"], ["c_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TP.INT64, []),
            helper.make_tensor_value_info("c", TP.BOOL, []),
            helper.make_tensor_value_info("acc", TP.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("c_out", TP.BOOL, []), helper.make_tensor_value_info("acc_out", TP.FLOAT, [3])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "x"], ["y"], body=body)],
        "nested",
        [helper.make_tensor_value_info("n", TP.INT64, []), helper.make_tensor_value_info("x", TP.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TP.FLOAT, [3])],
        [helper.make_tensor("one", TP.INT64, [], [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    convert(model, tmp_path, mode="oplist", name="net")
    path = tmp_path / "net.oplist.json"
    return path, json.loads(path.read_text())


def _loop(doc) -> dict:
    return next(c for c in doc["calls"] if c["fn"] == "loop")


def _if(doc) -> dict:
    return next(c for c in _loop(doc)["blocks"][0]["calls"] if c["fn"] == "if")


def _write(path, doc, edit) -> None:
    doc = json.loads(json.dumps(doc))
    edit(doc)
    path.write_text(json.dumps(doc))


def test_the_intact_nested_op_list_runs(nested):
    path, _ = nested
    op = load_oplist(path)
    (y,) = op(mx.array(3, dtype=mx.int64), mx.array([1.0, 2.0, -1.0]))
    # i=0: acc+x; i=1: acc+x; i=2: acc*x  ->  ((x + x) + x) * x
    x = np.array([1.0, 2.0, -1.0], np.float32)
    np.testing.assert_allclose(np.array(y), (3 * x) * x)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: _if(d)["blocks"][0]["calls"][0].__setitem__("fn", "eval"), "allowlist"),
        (lambda d: _if(d)["blocks"][0]["calls"][0]["args"].append({"code": "1"}), "does not allow"),
        (lambda d: _if(d)["blocks"].pop(), "block"),
        (lambda d: _if(d)["blocks"].append({"params": [], "calls": [], "results": []}), "block"),
        (lambda d: _loop(d)["blocks"][0]["params"].pop(), "do not match"),
        (lambda d: _loop(d)["blocks"][0]["results"].append({"ref": "x"}), "do not match"),
        (lambda d: _if(d)["blocks"][0].__setitem__("calls", "nope"), "malformed"),
        (lambda d: _if(d)["blocks"][0].__setitem__("params", [1]), "malformed params"),
        (lambda d: d["calls"][0].__setitem__("blocks", [{"params": [], "calls": [], "results": []}]), "block"),
    ],
    ids=["fn-off-allowlist", "arg-outside-format", "if-one-block", "if-three-blocks", "loop-params",
         "loop-results", "calls-not-a-list", "params-not-names", "blocks-on-a-plain-call"],
)  # fmt: skip
def test_malformed_blocks_are_refused(nested, edit, match):
    path, doc = nested
    _write(path, doc, edit)
    with pytest.raises(OpListError, match=match):
        load_oplist(path)


def _leak_then_value(d):
    """The else branch reads what only the then branch defines."""
    then_out = _if(d)["blocks"][0]["calls"][0]["out"][0]
    _if(d)["blocks"][1]["calls"][0]["args"][0] = {"ref": then_out}


def _read_inner_after_block(d):
    """A call after the loop reads a value defined inside its body."""
    inner = _loop(d)["blocks"][0]["calls"][0]["out"][0]
    d["calls"].append({"fn": "abs", "args": [{"ref": inner}], "kwargs": {}, "out": ["leak"], "node": "", "op": ""})


def _yield_undefined(d):
    _if(d)["blocks"][0]["results"][0] = {"ref": "nowhere"}


@pytest.mark.parametrize("edit", [_leak_then_value, _read_inner_after_block, _yield_undefined])
def test_dataflow_checks_understand_scopes(nested, edit):
    path, doc = nested
    _write(path, doc, edit)
    with pytest.raises(OpListError, match="defined"):
        load_oplist(path)


def test_nesting_deeper_than_the_limit_is_refused(nested):
    from opset.serialize import MAX_BLOCK_DEPTH

    path, doc = nested

    def deepen(d):
        def empty():
            return {"params": [], "calls": [], "results": [{"ref": "x"}]}

        call = {"fn": "if", "args": [{"ref": "x"}], "kwargs": {}, "out": ["z"], "node": "", "op": "",
                "blocks": [empty(), empty()]}  # fmt: skip
        for _ in range(MAX_BLOCK_DEPTH + 1):  # each level: the then block holds the level below
            then = {"params": [], "calls": [call], "results": [{"ref": "x"}]}
            call = {"fn": "if", "args": [{"ref": "x"}], "kwargs": {}, "out": ["z"], "node": "", "op": "",
                    "blocks": [then, empty()]}  # fmt: skip
        d["calls"].append(call)

    _write(path, doc, deepen)
    with pytest.raises(OpListError, match="deeper"):
        load_oplist(path)
