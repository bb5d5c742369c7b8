"""Malformed models and op lists: every failure is one of the project's typed errors.

Models: truncated and empty files, graphs that are not graphs (cycles, dangling
inputs, duplicate outputs, missing initializers, two producers of one value),
shape and dtype contradictions, absurd declared dims (refused before anything is
allocated), attributes of the wrong type, bad opset/IR versions, external data
pointing outside the model directory (absolute paths, symlinks, short files).

Op lists (the interpreter's input): functions off the allowlist and arguments or
keyword arguments of the wrong type or shape are refused with OpListError.
Existing cases in tests/translator/test_frontend.py and tests/runtime/test_interpreter.py
are not repeated here.
"""

from __future__ import annotations

import json
import os

from runtime.interpreter import load_oplist
from translator import InvalidModelError, ModelLoadError, OpListError, TranslatorError, convert, translate
from translator.errors import UnsupportedFeatureError

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.util import make_model


def _relu(shape=(2, 3)):
    return make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [("x", np.float32, list(shape))], [("y", np.float32, list(shape))]
    )


def _add(init=None, shape=(2, 3)):
    return make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])], [("x", np.float32, list(shape))], [("y", np.float32, list(shape))],
        {"w": np.ones(shape, np.float32)} if init is None else init,
    )  # fmt: skip


# -- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 1, 2, 7, 0.25, 0.5, 0.9, -1])
def test_truncated_bytes(cut):
    data = _add().SerializeToString()
    n = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    with pytest.raises((ModelLoadError, InvalidModelError)):
        translate(data[:n])


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\xff" * 64, b"onnx", b"PK\x03\x04" + bytes(100), json.dumps({"graph": 1}).encode(), b"\x08\x07"],
)
def test_not_a_model(data):
    with pytest.raises(ModelLoadError):
        translate(data)


def test_unloadable_sources(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file"):
        translate(tmp_path)  # a directory
    with pytest.raises(ModelLoadError):
        translate(12345)  # type: ignore[arg-type]
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty.onnx"):
        translate(tmp_path / "empty.onnx")


# -- graphs that are not DAGs of defined values ----------------------------------------------------


def test_cycle_through_translate():
    cyc = make_model(
        [helper.make_node("Add", ["x", "b"], ["a"]), helper.make_node("Relu", ["a"], ["b"]), helper.make_node("Relu", ["a"], ["y"])],
        [("x", np.float32, [2])], [("y", np.float32, [2])],
    )  # fmt: skip
    with pytest.raises(InvalidModelError, match="topologically sorted"):
        translate(cyc)


def test_self_loop():
    m = make_model([helper.make_node("Add", ["x", "y"], ["y"])], [("x", np.float32, [2])], [("y", np.float32, [2])])
    with pytest.raises(InvalidModelError):
        translate(m)


def test_duplicate_graph_output():
    m = _relu()
    m.graph.output.append(m.graph.output[0])
    with pytest.raises(InvalidModelError, match="listed twice"):
        translate(m)


def test_two_producers_of_one_value():
    m = _relu()
    m.graph.node.append(helper.make_node("Relu", ["x"], ["y"]))
    with pytest.raises(InvalidModelError, match="single static assignment"):
        translate(m)


def test_missing_initializer():
    m = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])], [("x", np.float32, [2, 3])], [("y", np.float32, [2, 3])]
    )
    with pytest.raises(InvalidModelError, match="'w'"):
        translate(m)


def test_output_never_produced():
    m = _relu()
    m.graph.output.append(helper.make_tensor_value_info("ghost", TensorProto.FLOAT, [2]))
    with pytest.raises(InvalidModelError):
        translate(m)


def test_graph_without_nodes_passes_input_through():
    m = make_model([], [("x", np.float32, [2])], [("x", np.float32, [2])])
    t = translate(m)
    assert [o.onnx_name for o in t.program.outputs] == ["x"]


# -- contradictions --------------------------------------------------------------------------------


def test_declared_output_shape_contradicts_inference():
    m = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", np.float32, [2, 3])], [("y", np.float32, [5])])
    with pytest.raises(InvalidModelError, match="contradict"):
        translate(m)


def test_declared_output_dtype_contradicts_inference():
    m = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", np.float32, [2, 3])], [("y", np.int64, [2, 3])])
    with pytest.raises(InvalidModelError, match="contradict"):
        translate(m)


def test_operand_dtypes_contradict():
    """Was a bug: Add(float32, int64) translated (onnx shape inference does not check the shared type T)."""
    m = _add({"w": np.ones((2, 3), np.int64)})
    with pytest.raises(InvalidModelError):
        translate(m)


@pytest.mark.parametrize("length", [0, 2])
def test_conv_bias_of_wrong_length(length):
    m = make_model(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])], [("x", np.float32, [1, 3, 2, 2])],
        [("y", np.float32, [1, 4, 2, 2])], {"w": np.ones((4, 3, 3, 3), np.float32), "b": np.zeros(length, np.float32)},
        opset=13,
    )  # fmt: skip
    with pytest.raises(InvalidModelError):
        translate(m)


def test_initializer_data_shorter_than_dims():
    m = _add()
    t = numpy_helper.from_array(np.ones(3, np.float32), "w")
    t.dims[:] = [2, 3]
    m.graph.initializer[0].CopyFrom(t)
    with pytest.raises(InvalidModelError, match="too small"):
        translate(m)


def test_negative_declared_dim():
    """Was a bug: a negative declared dim ([-5, 3]) translated."""
    with pytest.raises(InvalidModelError):
        translate(_relu((-5, 3)))


# -- absurd sizes: refused (or deferred to run time) before anything is allocated -------------------


def test_huge_declared_input_dims():
    with pytest.raises(InvalidModelError, match="implausibly large"):
        translate(_relu((2**40, 2**40)))


def test_huge_initializer_dims_without_data():
    m = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])], [("x", np.float32, [1])], [("y", np.float32, [2**31, 2**31])]
    )
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**31, 2**31])
    m.graph.initializer.append(t)
    with pytest.raises(InvalidModelError):
        translate(m)


@pytest.mark.parametrize(
    "op,inputs,inits",
    [
        ("ConstantOfShape", ["s"], {"s": np.array([100000, 100000, 100000], np.int64)}),
        ("Expand", ["x", "s"], {"s": np.array([100000, 100000, 100000], np.int64)}),
        ("Tile", ["x", "r"], {"r": np.array([10**9, 10**9], np.int64)}),
        ("Resize", ["x", "", "s"], {"s": np.array([1, 1, 1e6, 1e6], np.float32)}),
        ("Pad", ["x", "p"], {"p": np.array([0, 0, 0, 0, 0, 0, 10**6, 10**6], np.int64)}),
    ],
)
def test_huge_constant_results_are_not_materialized(op, inputs, inits):
    """A few bytes of model asking for terabytes: a typed refusal, or a lazy run-time op, never an allocation."""
    feeds = [("x", np.float32, [1, 1, 2, 2])] if "x" in inputs else []
    m = make_model(
        [helper.make_node(op, inputs, ["y"])],
        feeds,
        [("y", np.float32, ["a", "b", "c", "d"][: 4 if op in ("Resize", "Pad") else (2 if op == "Tile" else 3)])],
        inits,
    )
    if op == "Tile":
        m.graph.input[0].type.tensor_type.shape.dim.pop()
        m.graph.input[0].type.tensor_type.shape.dim.pop()
    try:
        t = translate(m)
    except TranslatorError as exc:
        assert "MemoryError" not in str(exc)
        return
    assert t.weights_nbytes < 1 << 20


def test_huge_float_range_is_not_materialized():
    """Range(0, 1e12, 1): the float path once ran np.arange at translation time (7.3 TiB asked of numpy)."""
    inits = {"a": np.array(0, np.float32), "b": np.array(1e12, np.float32), "c": np.array(1, np.float32)}
    m = make_model([helper.make_node("Range", ["a", "b", "c"], ["y"])], [], [("y", np.float32, ["n"])], inits)
    try:
        translate(m)
    except TranslatorError as exc:
        assert "MemoryError" not in str(exc), str(exc)


# -- attributes, versions, types ------------------------------------------------------------------------


def test_attribute_of_wrong_type():
    m = make_model(
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[1.5, 2.0])], [("x", np.float32, [1, 1, 4, 4])],
        [("y", np.float32, [1, 1, 4, 4])], {"w": np.ones((1, 1, 1, 1), np.float32)},
    )  # fmt: skip
    with pytest.raises(InvalidModelError, match="Mismatched attribute type"):
        translate(m)
    m.graph.node[0].ClearField("attribute")
    a = m.graph.node[0].attribute.add()
    a.name, a.type, a.s = "strides", onnx.AttributeProto.STRING, b"\xff\xfe"
    with pytest.raises(InvalidModelError, match="Mismatched attribute type"):
        translate(m)


def test_attribute_without_type():
    m = _relu()
    m.graph.node[0].attribute.add().name = "weird"
    with pytest.raises(InvalidModelError):
        translate(m)


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda m: m.opset_import.pop(), "opset_import"),
        (lambda m: setattr(m, "ir_version", 0), "ir_version"),
        (lambda m: setattr(m, "ir_version", 99), "ir_version"),
        (lambda m: setattr(m.graph.node[0], "op_type", ""), "op_type"),
        (lambda m: setattr(m.graph.node[0], "domain", "evil.domain"), "evil.domain"),
        (lambda m: setattr(m.graph, "name", ""), "name"),
    ],
)
def test_bad_versions_and_fields(edit, match):
    m = _relu()
    edit(m)
    with pytest.raises(InvalidModelError, match=match):
        translate(m)


def test_opset_from_the_future():
    """Was a bug: a default-domain opset of 999 translated with today's semantics."""
    m = _relu()
    m.opset_import[0].version = 999
    with pytest.raises(TranslatorError):
        translate(m)


def test_unsupported_input_types():
    m = _relu()
    m.graph.input[0].type.tensor_type.elem_type = TensorProto.STRING
    m.graph.output[0].type.tensor_type.elem_type = TensorProto.STRING
    with pytest.raises((UnsupportedFeatureError, InvalidModelError)):
        translate(m)
    m = _relu()
    m.graph.input[0].type.tensor_type.elem_type = 999
    with pytest.raises(InvalidModelError):
        translate(m)
    m = _relu()
    m.graph.input[0].type.ClearField("tensor_type")
    m.graph.input[0].type.sequence_type.elem_type.tensor_type.elem_type = TensorProto.FLOAT
    with pytest.raises(TranslatorError):
        translate(m)


# -- external data --------------------------------------------------------------------------------------------


def _external_model(tmp_path):
    m = _add(shape=(64, 64))
    d = tmp_path / "model"
    d.mkdir()
    onnx.save(
        m, d / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="w.bin", size_threshold=0
    )
    return d


def _set_external(d, **fields):
    bad = onnx.load(d / "m.onnx", load_external_data=False)
    entries = bad.graph.initializer[0].external_data
    for key, value in fields.items():
        for e in entries:
            if e.key == key:
                e.value = value
                break
        else:
            entries.add(key=key, value=value)
    (d / "bad.onnx").write_bytes(bad.SerializeToString())
    return d / "bad.onnx"


def test_external_data_absolute_path(tmp_path):
    d = _external_model(tmp_path)
    with pytest.raises(ModelLoadError, match="outside the model directory"):
        translate(_set_external(d, location=str(d / "w.bin")))


def test_external_data_symlink_out_of_directory(tmp_path):
    d = _external_model(tmp_path)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(bytes(64 * 64 * 4))
    os.symlink(outside, d / "link.bin")
    with pytest.raises(ModelLoadError, match="outside the model directory"):
        translate(_set_external(d, location="link.bin"))


def test_external_data_missing_or_short(tmp_path):
    d = _external_model(tmp_path)
    with pytest.raises(ModelLoadError, match="missing"):
        translate(_set_external(d, location="nope.bin"))
    with pytest.raises(ModelLoadError):
        translate(_set_external(d, location="w.bin", offset="100000000"))
    with pytest.raises((ModelLoadError, InvalidModelError)):
        translate(_set_external(d, location="w.bin", length="99999999999"))


def test_external_data_from_bytes_is_not_resolved(tmp_path):
    """Bytes and ModelProto have no directory: external data cannot be read relative to anything."""
    d = _external_model(tmp_path)
    data = (d / "m.onnx").read_bytes()
    with pytest.raises(TranslatorError):
        translate(data)


# -- op lists: allowlist and argument types -------------------------------------------------------------------


@pytest.fixture
def oplist(tmp_path):
    m = make_model(
        [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=1)],
        [("x", np.float32, [4, 8])],
        [("y", np.float32, [1, 1])],
        opset=11,
    )
    convert(m, tmp_path, mode="oplist", name="net")
    path = tmp_path / "net.oplist.json"
    return path, json.loads(path.read_text())


def _write(path, doc, edit):
    doc = json.loads(json.dumps(doc))
    edit(doc)
    path.write_text(json.dumps(doc))


def _run(path):
    import mlx.core as mx

    op = load_oplist(path)
    outs = op(mx.ones((4, 8)))
    mx.eval(*outs)
    return outs


@pytest.mark.parametrize(
    "fn", ["", "Add", "add ", "mx.add", "__getattribute__", "FUNCTIONS", "load", "save", "array.__class__"]
)
def test_oplist_function_names_off_the_allowlist(oplist, fn):
    path, doc = oplist
    _write(path, doc, lambda d: d["calls"][0].__setitem__("fn", fn))
    with pytest.raises(OpListError, match="allowlist"):
        load_oplist(path)


@pytest.mark.parametrize(
    "value",
    [
        {"code": "print(1)"}, {"dtype": "object"}, {"dtype": "float128"}, {"dim": ["x", 1.5]}, {"dim": ["x", True]},
        {"slice": ["a", None, None]}, {"slice": [1, 2]}, {"float": "1e999"}, {"ref": 3}, {"ref": "x", "dim": 1},
        {"tuple": "abc"}, {"dict": []}, [{"code": 1}], {"tuple": [{"lambda": 1}]}, {"dict": {"k": {"x": 1}}},
    ],
)  # fmt: skip
@pytest.mark.parametrize("where", ["arg", "kwarg"])
def test_oplist_argument_values_outside_the_format(oplist, value, where):
    path, doc = oplist

    def edit(d):
        if where == "arg":
            d["calls"][0]["args"].append(value)
        else:
            d["calls"][0]["kwargs"]["axis"] = value

    _write(path, doc, edit)
    with pytest.raises(OpListError, match="does not allow"):
        load_oplist(path)


@pytest.mark.parametrize("key", ["a-b", "", "1x", "x y", "a.b"])
def test_oplist_keyword_names_that_are_not_identifiers(oplist, key):
    path, doc = oplist
    _write(path, doc, lambda d: d["calls"][0]["kwargs"].__setitem__(key, 1))
    with pytest.raises(OpListError, match="keyword"):
        load_oplist(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["calls"][0].__setitem__("out", []),
        lambda d: d["calls"][0].__setitem__("out", [1]),
        lambda d: d["calls"][0].__setitem__("out", "y"),
        lambda d: d["calls"][0].__setitem__("args", {"a": 1}),
        lambda d: d["calls"][0].__setitem__("kwargs", [1]),
        lambda d: d.__setitem__("calls", {"a": 1}),
        lambda d: d.__setitem__("inputs", "x"),
        lambda d: d["inputs"].__setitem__(0, {"name": 1}),
        lambda d: d.__setitem__("weights", []),
        lambda d: d.__setitem__("version", 99),
        lambda d: d.pop("format"),
    ],
)
def test_oplist_structure_errors(oplist, edit):
    path, doc = oplist
    _write(path, doc, edit)
    with pytest.raises(OpListError):
        load_oplist(path)


WRONG_TYPED_VALUES = [
    ("kwarg", "axis", "zz"),
    ("kwarg", "axis", ["a"]),
    ("kwarg", "axis", {"dict": {"a": 1}}),
    ("kwarg", "axis", 10**30),
    ("kwarg", "keepdims", "yes"),
    ("kwarg", "bogus", 1),
    ("kwarg", "__class__", 1),
    ("arg", 0, 1.5),
    ("arg", 0, None),
    ("arg", 0, "x"),
    ("kwarg", "axis", {"dim": ["x", 99]}),
]


@pytest.mark.parametrize("where,key,value", WRONG_TYPED_VALUES)
def test_oplist_wrong_typed_values_are_typed_errors(oplist, where, key, value):
    """Was a bug: these reached MLX and failed with its raw TypeError / IndexError."""
    path, doc = oplist

    def edit(d):
        if where == "arg":
            d["calls"][0]["args"][key] = value
        else:
            d["calls"][0]["kwargs"][key] = value

    _write(path, doc, edit)
    with pytest.raises(OpListError):
        _run(path)


def test_oplist_input_shape_not_a_list(oplist):
    """Was a bug: tuple(shape) on a number raised a raw TypeError at load."""
    path, doc = oplist
    _write(path, doc, lambda d: d["inputs"][0].__setitem__("shape", 5))
    with pytest.raises(OpListError):
        load_oplist(path)


def test_oplist_deep_nesting(oplist):
    """Was a bug: a deeply nested op list escaped as a raw RecursionError."""
    path, doc = oplist
    text = json.dumps(doc)
    path.write_text(text.replace('"args": [', '"args": [' + "[" * 50000 + "]" * 50000 + ",", 1))
    with pytest.raises(OpListError):
        load_oplist(path)
