"""The op-list interpreter: allowlist, typed errors on edited or missing files."""

import json

from runtime.interpreter import load_oplist
from runtime.loader import load_module_model
from runtime.session import InferenceSession
from translator import OpListError, convert

import numpy as np
import pytest
from onnx import helper

from tests.util import make_model


@pytest.fixture
def written(tmp_path):
    rng = np.random.default_rng(0)
    m = make_model(
        [helper.make_node("Add", ["x", "w"], ["a"]), helper.make_node("Relu", ["a"], ["y"])],
        [("x", np.float32, [4, 8])], [("y", np.float32, [4, 8])], {"w": rng.standard_normal((4, 8)).astype(np.float32)},
    )  # fmt: skip
    convert(m, tmp_path, mode="oplist", name="net")
    convert(m, tmp_path, mode="module", name="net")
    return tmp_path, m


def _edit(path, fn):
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_oplist_runs(written):
    d, _ = written
    op = load_oplist(d / "net.oplist.json")
    import mlx.core as mx

    x = np.ones((4, 8), np.float32)
    (y,) = op(mx.array(x))
    assert np.array(y).shape == (4, 8)


def test_function_not_on_allowlist_is_refused(written):
    d, _ = written
    for bad in ("eval", "__import__", "save_safetensors", "os.system"):
        _edit(d / "net.oplist.json", lambda doc, bad=bad: doc["calls"][0].__setitem__("fn", bad))
        with pytest.raises(OpListError, match="allowlist"):
            load_oplist(d / "net.oplist.json")


def test_wrong_argument_types_are_refused(written):
    d, _ = written
    _edit(d / "net.oplist.json", lambda doc: doc["calls"][0]["args"].append({"code": "print(1)"}))
    with pytest.raises(OpListError, match="type the op-list format does not allow"):
        load_oplist(d / "net.oplist.json")
    _edit(d / "net.oplist.json", lambda doc: doc["calls"].__setitem__(0, "not a call"))
    with pytest.raises(OpListError):
        load_oplist(d / "net.oplist.json")


def test_undefined_reference_is_refused(written):
    d, _ = written

    def edit(doc):
        doc["calls"][-1]["args"][0] = {"ref": "ghost"}

    _edit(d / "net.oplist.json", edit)
    with pytest.raises(OpListError, match="ghost"):
        load_oplist(d / "net.oplist.json")


def test_missing_or_edited_weights(written):
    d, _ = written
    for weights in ("net.safetensors", "net.module.safetensors"):  # the op list's, the module's
        data = (d / weights).read_bytes()
        (d / weights).write_bytes(data[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(OpListError, match="does not match"):
        load_oplist(d / "net.oplist.json")
    with pytest.raises(OpListError, match="does not match"):
        load_module_model(d / "net.py")
    (d / "net.safetensors").unlink()
    (d / "net.module.safetensors").unlink()
    with pytest.raises(OpListError, match="missing"):
        load_oplist(d / "net.oplist.json")
    with pytest.raises(OpListError, match="missing"):
        load_module_model(d / "net.py")
    with pytest.raises(OpListError, match="missing"):
        load_oplist(d / "nothing.oplist.json")


def test_garbage_oplist(written):
    d, _ = written
    (d / "net.oplist.json").write_text("{not json")
    with pytest.raises(OpListError, match="not a readable op list"):
        load_oplist(d / "net.oplist.json")
    (d / "net.oplist.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(OpListError, match="not a mlx-onnx-oplist"):
        load_oplist(d / "net.oplist.json")


def test_session_input_errors(written):
    from translator import InputError

    _, m = written
    s = InferenceSession(m)
    x = np.ones((4, 8), np.float32)
    with pytest.raises(InputError, match="missing"):
        s.run(None, {})
    with pytest.raises(InputError, match="unexpected"):
        s.run(None, {"x": x, "z": x})
    with pytest.raises(InputError, match="tensor\\(float\\)"):
        s.run(None, {"x": x.astype(np.float64)})
    with pytest.raises(InputError, match="rank"):
        s.run(None, {"x": x[None]})
    with pytest.raises(InputError, match="dim 1"):
        s.run(None, {"x": np.ones((4, 7), np.float32)})
    with pytest.raises(InputError, match="no output named"):
        s.run(["nope"], {"x": x})


def test_session_accepts_views_and_readonly(written):
    _, m = written
    s = InferenceSession(m)
    base = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    view = base[::2, ::2]
    ro = np.array(view)
    ro.setflags(write=False)
    a = s.run(None, {"x": view})[0]
    b = s.run(None, {"x": ro})[0]
    np.testing.assert_array_equal(a, b)
