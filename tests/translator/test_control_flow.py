"""Control flow (If, Loop, Scan), sequences and optionals: both back ends against onnxruntime.

Every model is built here, at test time. Where the issue's cause is a model
users bring (a voice-activity detector branching on its input length, with its
weights inside the branches), the graph reproduces that structure in miniature.
One dynamic translation (`InferenceSession(dynamic=True)`) runs every size.
"""

from __future__ import annotations

from opset.program import CONTROL, walk_calls
from runtime.session import InferenceSession
from translator import translate
from translator.emit.module import render_module

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from tests.hostile.codegen_check import check_generated_source
from tests.util import run_ort

MODES = ("module", "oplist")
F = TP.FLOAT
I64 = TP.INT64


def _model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _init(name: str, arr) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(arr), name)


def _run_all(model: onnx.ModelProto, feeds: list[dict], tmp_path, atol=1e-5, rtol=1e-5) -> dict:
    """One dynamic translation per mode, run on every feed; both modes match onnxruntime and each other.

    Returns {mode: session} so callers can inspect what was translated.
    """
    sessions = {mode: InferenceSession(model, mode=mode, cache_dir=tmp_path / mode, dynamic=True) for mode in MODES}
    for feed in feeds:
        want = run_ort(model, feed)
        got = {mode: s.run(None, feed) for mode, s in sessions.items()}
        for mode, outs in got.items():
            assert len(outs) == len(want)
            for w, g in zip(want, outs):
                _assert_close(g, w, atol, rtol, mode)
        for a, b in zip(got["module"], got["oplist"]):
            _assert_same(a, b)
    for s in sessions.values():
        assert len(s._models) == 1, "every size must run on the one translation"
    return sessions


def _assert_close(got, want, atol, rtol, mode):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), mode
        for g, w in zip(got, want):
            _assert_close(g, w, atol, rtol, mode)
        return
    if want is None:
        assert got is None, mode
        return
    assert got.shape == want.shape and got.dtype == want.dtype, (mode, got.shape, want.shape, got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=mode)


def _assert_same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def _control_calls(model, **kw) -> list[str]:
    return [c.fn for c in walk_calls(translate(model, **kw).program.calls) if c.fn in CONTROL]


# -- If -------------------------------------------------------------------------------------------------


def _if_on_length(hidden: int = 6) -> onnx.ModelProto:
    """x (N, 4): N > 8 takes a 2-layer branch, else a 1-layer one; all weights live inside the branches,
    and both branches also read an outer value (a scale computed before the If)."""
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((4, hidden)).astype(np.float32), rng.standard_normal((hidden, 3)).astype(np.float32)
    w3 = rng.standard_normal((4, 3)).astype(np.float32)
    then = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["t1"]),
            helper.make_node("Relu", ["t1"], ["t2"]),
            helper.make_node("MatMul", ["t2", "w2"], ["t3"]),
            helper.make_node("Mul", ["t3", "scale"], ["long_out"]),
        ],
        "long_branch",
        [],
        [helper.make_tensor_value_info("long_out", F, None)],
        [_init("w1", w1), _init("w2", w2)],
    )
    else_ = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w3"], ["e1"]), helper.make_node("Add", ["e1", "scale"], ["short_out"])],
        "short_branch",
        [],
        [helper.make_tensor_value_info("short_out", F, None)],
        [_init("w3", w3)],
    )
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["scale"], keepdims=0),
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
        helper.make_node("Greater", ["n", "eight"], ["is_long"]),
        helper.make_node("If", ["is_long"], ["y"], then_branch=then, else_branch=else_),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", F, ["N", 4])],
        [helper.make_tensor_value_info("y", F, ["N", 3])],
        [_init("zero", np.array(0, np.int64)), _init("eight", np.array(8, np.int64))],
    )


def test_if_on_the_input_length_runs_both_branches_from_one_translation(tmp_path):
    model = _if_on_length()
    rng = np.random.default_rng(1)
    feeds = [{"x": rng.standard_normal((n, 4)).astype(np.float32)} for n in (3, 8, 9, 20)]
    _run_all(model, feeds, tmp_path)
    assert _control_calls(model, dynamic=True) == ["if"]


def test_if_on_a_known_condition_folds_away():
    """A fixed input length makes the condition constant: the taken branch is inlined, no `if` is emitted."""
    model = _if_on_length()
    assert _control_calls(model, input_shapes={"x": (12, 4)}) == []
    t = translate(model, input_shapes={"x": (5, 4)})
    assert t.notes.get("ifs_folded") == 1
    # Without the passes, a condition that is a constant of the model is still decided while lowering.
    model.graph.node[4].input[0] = "true"
    model.graph.initializer.append(_init("true", np.array(True)))
    assert _control_calls(model, optimize=False, dynamic=True) == []


def test_if_module_source_passes_the_codegen_checks():
    t = translate(_if_on_length(), dynamic=True)
    src = render_module(t.program, "Vad", "vad.onnx", "0" * 64, "vad.safetensors", "0" * 64)
    assert "if branch_taken(" in src and "else:" in src
    check_generated_source(src)


# -- Loop -----------------------------------------------------------------------------------------------


def _loop_model() -> onnx.ModelProto:
    """A data-dependent trip count (input `m`) and condition (stop once the running sum passes `limit`),
    a carried accumulator, a per-iteration scan output, and a body reading an outer value (`step`)."""
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["i"], ["i_f"], to=F),
            helper.make_node("Mul", ["step", "i_f"], ["inc"]),
            helper.make_node("Add", ["acc_in", "inc"], ["acc_out"]),
            helper.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
            helper.make_node("Tanh", ["acc_out"], ["scan_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", TP.BOOL, []),
            helper.make_tensor_value_info("acc_in", F, [3]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TP.BOOL, []),
            helper.make_tensor_value_info("acc_out", F, [3]),
            helper.make_tensor_value_info("scan_out", F, [3]),
        ],
    )
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["step"]),
        helper.make_node("Loop", ["m", "go", "acc0"], ["acc", "trace"], body=body),
    ]
    return _model(
        nodes,
        [
            helper.make_tensor_value_info("m", I64, []),
            helper.make_tensor_value_info("go", TP.BOOL, []),
            helper.make_tensor_value_info("acc0", F, [3]),
            helper.make_tensor_value_info("x", F, [3]),
            helper.make_tensor_value_info("limit", F, []),
        ],
        [helper.make_tensor_value_info("acc", F, [3]), helper.make_tensor_value_info("trace", F, [None, 3])],
        [_init("two", np.array(2.0, np.float32))],
    )


@pytest.mark.parametrize(
    "m, go, limit",
    [(5, True, 1e9), (12, True, 20.0), (0, True, 1e9), (4, False, 1e9)],
    ids=["trip-count", "stops-on-condition", "zero-trips", "false-at-entry"],
)
def test_loop_with_data_dependent_trip_count_and_condition(tmp_path, m, go, limit):
    rng = np.random.default_rng(2)
    feed = {
        "m": np.array(m, np.int64),
        "go": np.array(go),
        "acc0": rng.standard_normal(3).astype(np.float32),
        "x": rng.random(3).astype(np.float32),
        "limit": np.array(limit, np.float32),
    }
    _run_all(_loop_model(), [feed], tmp_path)


def test_if_nested_in_a_loop_body(tmp_path):
    """A subgraph inside a subgraph: the If reads the Loop body's iteration number and an outer weight."""
    w = np.array([1.0, -2.0, 0.5], np.float32)
    then = helper.make_graph(
        [helper.make_node("Mul", ["v_in", "w"], ["t_out"])], "odd", [], [helper.make_tensor_value_info("t_out", F, [3])]
    )
    else_ = helper.make_graph(
        [helper.make_node("Add", ["v_in", "w"], ["e_out"])],
        "even",
        [],
        [helper.make_tensor_value_info("e_out", F, [3])],
    )
    body = helper.make_graph(
        [
            helper.make_node("Mod", ["i", "two"], ["r"]),
            helper.make_node("Equal", ["r", "one"], ["odd"]),
            helper.make_node("If", ["odd"], ["v_out"], then_branch=then, else_branch=else_),
            helper.make_node("Identity", ["c"], ["c_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("c", TP.BOOL, []),
            helper.make_tensor_value_info("v_in", F, [3]),
        ],
        [helper.make_tensor_value_info("c_out", TP.BOOL, []), helper.make_tensor_value_info("v_out", F, [3])],
    )
    model = _model(
        [helper.make_node("Loop", ["n", "", "v0"], ["v"], body=body)],
        [helper.make_tensor_value_info("n", I64, []), helper.make_tensor_value_info("v0", F, [3])],
        [helper.make_tensor_value_info("v", F, [3])],
        [_init("w", w), _init("two", np.array(2, np.int64)), _init("one", np.array(1, np.int64))],
    )
    feeds = [{"n": np.array(n, np.int64), "v0": np.array([0.5, 1.0, -1.0], np.float32)} for n in (0, 1, 4, 7)]
    _run_all(model, feeds, tmp_path)
    assert _control_calls(model, dynamic=True) == ["loop", "if"]


# -- Scan -----------------------------------------------------------------------------------------------


def test_scan_reverse_axis_1_with_outer_value(tmp_path):
    """Scan-9+: a state, two scan inputs along axis 1 (one reversed), an output along axis 1 reversed."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["a_t", "b_t"], ["ab"]),
            helper.make_node("Mul", ["ab", "gain"], ["g"]),
            helper.make_node("Add", ["s_in", "g"], ["s_out"]),
            helper.make_node("Sigmoid", ["s_out"], ["y_t"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("s_in", F, [2]),
            helper.make_tensor_value_info("a_t", F, [2]),
            helper.make_tensor_value_info("b_t", F, [2]),
        ],
        [helper.make_tensor_value_info("s_out", F, [2]), helper.make_tensor_value_info("y_t", F, [2])],
    )
    node = helper.make_node(
        "Scan", ["s0", "a", "b"], ["s", "y"], body=body, num_scan_inputs=2,
        scan_input_axes=[1, 1], scan_input_directions=[0, 1], scan_output_axes=[1], scan_output_directions=[1],
    )  # fmt: skip
    model = _model(
        [helper.make_node("Abs", ["s0_raw"], ["gain"]), node],
        [
            helper.make_tensor_value_info("s0", F, [2]),
            helper.make_tensor_value_info("s0_raw", F, [2]),
            helper.make_tensor_value_info("a", F, [2, "T"]),
            helper.make_tensor_value_info("b", F, [2, "T"]),
        ],
        [helper.make_tensor_value_info("s", F, [2]), helper.make_tensor_value_info("y", F, [2, "T"])],
    )
    rng = np.random.default_rng(3)
    feeds = []
    for t in (1, 4, 11):
        a, b = rng.standard_normal((2, 2, t)).astype(np.float32)
        feeds.append({"s0": rng.standard_normal(2).astype(np.float32), "s0_raw": rng.random(2).astype(np.float32),
                      "a": a, "b": b})  # fmt: skip
    _run_all(model, feeds, tmp_path)


# -- sequences and optionals ----------------------------------------------------------------------------


def test_sequence_ops(tmp_path):
    """SplitToSequence -> Insert/Erase/At/Length -> ConcatFromSequence, with run-time positions."""
    nodes = [
        helper.make_node("SplitToSequence", ["x", "sizes"], ["seq"], axis=1),
        helper.make_node("SequenceInsert", ["seq", "extra", "pos"], ["seq2"]),
        helper.make_node("SequenceErase", ["seq2", "minus_one"], ["seq3"]),
        helper.make_node("SequenceAt", ["seq3", "pos"], ["picked"]),
        helper.make_node("SequenceLength", ["seq3"], ["length"]),
        helper.make_node("ConcatFromSequence", ["seq3"], ["joined"], axis=1),
        helper.make_node("SequenceConstruct", ["picked", "picked"], ["pair"]),
        helper.make_node("ConcatFromSequence", ["pair"], ["stacked"], axis=0, new_axis=1),
    ]
    model = _model(
        nodes,
        [
            helper.make_tensor_value_info("x", F, [2, 6]),
            helper.make_tensor_value_info("extra", F, [2, 2]),
            helper.make_tensor_value_info("pos", I64, []),
        ],
        [
            helper.make_tensor_value_info("joined", F, [2, None]),
            helper.make_tensor_value_info("length", I64, []),
            helper.make_tensor_value_info("stacked", F, [2, 2, None]),
        ],
        [_init("sizes", np.array([2, 1, 3], np.int64)), _init("minus_one", np.array(-1, np.int64))],
    )
    rng = np.random.default_rng(4)
    x, extra = rng.standard_normal((2, 6)).astype(np.float32), rng.standard_normal((2, 2)).astype(np.float32)
    feeds = [{"x": x, "extra": extra, "pos": np.array(p, np.int64)} for p in (0, 1, -2)]
    _run_all(model, feeds, tmp_path)


def test_optional_present_and_absent(tmp_path):
    """Optional() empty vs Optional(x), chosen by an If on the data: OptionalHasElement / GetElement."""
    tensor_type = helper.make_tensor_type_proto(F, [3])
    opt_type = helper.make_optional_type_proto(tensor_type)
    then = helper.make_graph(
        [helper.make_node("Optional", ["x"], ["some"])], "some", [], [helper.make_value_info("some", opt_type)]
    )
    else_ = helper.make_graph(
        [helper.make_node("Optional", [], ["none"], type=tensor_type)], "none", [],
        [helper.make_value_info("none", opt_type)],
    )  # fmt: skip
    present = helper.make_graph(
        [helper.make_node("OptionalGetElement", ["opt"], ["got"])], "present", [],
        [helper.make_tensor_value_info("got", F, [3])],
    )  # fmt: skip
    absent = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["neg"])], "absent", [], [helper.make_tensor_value_info("neg", F, [3])]
    )
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"]),
        helper.make_node("If", ["positive"], ["opt"], then_branch=then, else_branch=else_),
        helper.make_node("OptionalHasElement", ["opt"], ["has"]),
        helper.make_node("If", ["has"], ["y"], then_branch=present, else_branch=absent),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", F, [3])],
        [helper.make_tensor_value_info("y", F, [3]), helper.make_tensor_value_info("has", TP.BOOL, [])],
        [_init("zero", np.array(0.0, np.float32))],
        opset=18,
    )
    feeds = [{"x": np.array(v, np.float32)} for v in ([1.0, 2.0, 3.0], [-1.0, -2.0, 0.5])]
    _run_all(model, feeds, tmp_path)


# -- subgraphs get the passes ---------------------------------------------------------------------------


def test_branches_go_through_the_same_passes(tmp_path):
    """Conv -> BatchNormalization -> Relu inside each branch: BN is fused, the conv goes channels-last (and
    native where the kernels are built) inside the block, as in a main graph; results match onnxruntime."""
    rng = np.random.default_rng(7)

    def branch(tag: str, stride: int) -> onnx.GraphProto:
        inits = [
            _init(f"w_{tag}", (rng.standard_normal((8, 3, 3, 3)) / 5).astype(np.float32)),
            _init(f"s_{tag}", (1 + 0.1 * rng.standard_normal(8)).astype(np.float32)),
            _init(f"b_{tag}", (0.1 * rng.standard_normal(8)).astype(np.float32)),
            _init(f"m_{tag}", (0.1 * rng.standard_normal(8)).astype(np.float32)),
            _init(f"v_{tag}", (1 + rng.random(8)).astype(np.float32)),
        ]
        nodes = [
            helper.make_node("Conv", ["x", f"w_{tag}"], [f"c_{tag}"], pads=[1, 1, 1, 1], strides=[stride, stride]),
            helper.make_node("BatchNormalization", [f"c_{tag}", f"s_{tag}", f"b_{tag}", f"m_{tag}", f"v_{tag}"],
                             [f"n_{tag}"]),
            helper.make_node("Relu", [f"n_{tag}"], [f"r_{tag}"]),
            helper.make_node("ReduceMean", [f"r_{tag}"], [f"out_{tag}"], axes=[2, 3], keepdims=0),
        ]  # fmt: skip
        return helper.make_graph(nodes, tag, [], [helper.make_tensor_value_info(f"out_{tag}", F, [1, 8])], inits)

    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "three"], ["width"], axis=0),
        helper.make_node("Greater", ["width", "limit"], ["wide"]),
        helper.make_node("If", ["wide"], ["y"], then_branch=branch("wide", 2), else_branch=branch("narrow", 1)),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", F, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("y", F, [1, 8])],
        [_init("three", np.array(3, np.int64)), _init("limit", np.array(32, np.int64))],
        opset=13,
    )
    t = translate(model, dynamic=True)
    inner = t.notes["subgraphs"]
    assert inner["fused"]["Conv+BatchNormalization"] == 2 and inner["epilogues_fused"] == 2
    assert inner["layout"]["nhwc_ops"] >= 2
    feeds = [{"x": rng.standard_normal((1, 3, 24, w)).astype(np.float32)} for w in (20, 48)]
    _run_all(model, feeds, tmp_path, atol=1e-4, rtol=1e-4)
