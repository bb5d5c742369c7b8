"""The module back end's nesting: scopes become submodules, repeated blocks one class, and the
module still computes exactly what the op list computes (onnxruntime is the oracle for both)."""

from __future__ import annotations

import ast

from translator import convert, translate
from translator.api import module_weights

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten
from onnx import helper

from tests.hostile.codegen_check import check_generated_source
from tests.properties.harness import assert_close, compile_backends, run_backends, run_ort
from tests.util import make_model


class _Builder:
    """An ONNX graph of 3x3 convs built node by node, names chosen by the test."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}

    def conv(self, name: str, x: str, y: str, cin: int, cout: int, stride: int = 1, weight: str | None = None) -> str:
        w = weight or f"{name}_w"
        bias = w[: -len("weight")] + "bias" if w.endswith(".weight") else f"{w}_b"  # as the exporter names them
        self.inits[w] = (self.rng.standard_normal((cout, cin, 3, 3)) * 0.2).astype(np.float32)
        self.inits[bias] = self.rng.standard_normal(cout).astype(np.float32)
        self.nodes.append(
            helper.make_node("Conv", [x, w, bias], [y], name=name, pads=[1, 1, 1, 1], strides=[stride] * 2)
        )
        return y

    def op(self, op: str, name: str, inputs: list[str], y: str) -> str:
        self.nodes.append(helper.make_node(op, inputs, [y], name=name))
        return y

    def model(self, y: str, cout: int, hw: int, cin: int = 3, size: int = 16):
        m = make_model(self.nodes, [("x", np.float32, [1, cin, size, size])], [(y, np.float32, [1, cout, hw, hw])],
                       self.inits)  # fmt: skip
        feed = {"x": np.random.default_rng(1).standard_normal((1, cin, size, size)).astype(np.float32)}
        return m, feed


def _build(model, feed):
    """Both back ends in memory; checks the module source, its exactness against the op list and onnxruntime."""
    built = compile_backends(model)
    tree = check_generated_source(built["source"])
    got = run_backends(model, feed, built=built)
    for a, b in zip(got["module"], got["oplist"]):
        assert a.tobytes() == b.tobytes(), "module and op list differ"
    for g, w in zip(got["module"], run_ort(model, feed)):
        assert_close(g, w, "module vs onnxruntime")
    return built, tree


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _init_assigns(cls: ast.ClassDef) -> dict[str, ast.AST]:
    init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    return {
        s.targets[0].attr: s.value
        for s in init.body
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Attribute)
    }


def _scoped_stage(variant=None):
    """Four torch-scoped blocks `/layers/layers.i/{conv,act}`; `variant(b, i, x, y)` may replace block 2."""
    b = _Builder()
    chans, strides = [3, 8, 8, 8, 16], [1, 2, 1, 1]
    x = "x"
    for i in range(4):
        y = f"l{i}"
        if variant is not None and i == 2:
            variant(b, i, x, y, chans[i], chans[i + 1])
        else:
            c = b.conv(f"/layers/layers.{i}/conv/Conv", x, f"c{i}", chans[i], chans[i + 1], strides[i],
                       weight=f"layers.{i}.conv.weight")  # fmt: skip
            b.op("Relu", f"/layers/layers.{i}/act/Relu", [c], y)
        x = y
    return b.model(x, 16, 8)


def test_repeated_scoped_blocks_are_one_class_in_a_list():
    model, feed = _scoped_stage()
    built, tree = _build(model, feed)
    root = _classes(tree)["Net"]
    layers = _init_assigns(root)["layers"]
    assert isinstance(layers, ast.List) and len(layers.elts) == 4
    assert len({e.func.id for e in layers.elts}) == 1, ast.unparse(layers)  # one class, four instances
    # channel counts and strides became constructor arguments
    assert [ast.unparse(e) for e in layers.elts][1] != [ast.unparse(e) for e in layers.elts][2]
    assert "for layer in self.layers:" in built["source"]
    keys = set(module_weights(built["translation"]))
    assert keys == {f"layers.{i}.{p}" for i in range(4) for p in ("weight", "bias")}


def _residual(b, i, x, y, cin, cout):
    c = b.conv(f"/layers/layers.{i}/conv/Conv", x, f"c{i}", cin, cout, weight=f"layers.{i}.conv.weight")
    r = b.op("Relu", f"/layers/layers.{i}/act/Relu", [c], f"r{i}")
    b.op("Add", f"/layers/layers.{i}/Add", [r, x], y)


def _swapped(b, i, x, y, cin, cout):
    """conv(x) - x against x - conv(x): the same functions, the operands the other way round."""
    c = b.conv(f"/layers/layers.{i}/conv/Conv", x, f"c{i}", cin, cout, weight=f"layers.{i}.conv.weight")
    b.op("Sub", f"/layers/layers.{i}/Sub", [c, x], y)


def _unswapped(b, i, x, y, cin, cout):
    c = b.conv(f"/layers/layers.{i}/conv/Conv", x, f"c{i}", cin, cout, weight=f"layers.{i}.conv.weight")
    b.op("Sub", f"/layers/layers.{i}/Sub", [x, c], y)


@pytest.mark.parametrize("variant", [_residual, _swapped])
def test_a_block_that_computes_something_else_is_not_merged(variant):
    model, feed = _scoped_stage(variant)
    _, tree = _build(model, feed)
    layers = _init_assigns(_classes(tree)["Net"])["layers"]
    kinds = [e.func.id for e in layers.elts]
    assert kinds[2] not in (kinds[1], kinds[3]) and kinds[1] == kinds[3], kinds


def test_operand_order_is_part_of_a_block_type():
    """Blocks 2 and 3 differ only in Sub's operand order: two classes, each right."""

    def two_subs(b, i, x, y, cin, cout):  # replaces block 2 and gives block 3's input
        _swapped(b, i, x, "s2", cin, cout)
        _unswapped(b, 3, "s2", y, cout, cout)

    b = _Builder()
    b.conv("/layers/layers.0/conv/Conv", "x", "c0", 3, 8, weight="layers.0.conv.weight")
    b.op("Relu", "/layers/layers.0/act/Relu", ["c0"], "l0")
    two_subs(b, 2, "l0", "y", 8, 8)
    model, feed = b.model("y", 8, 16)
    _, tree = _build(model, feed)
    layers = _init_assigns(_classes(tree)["Net"])["layers"]
    kinds = [e.func.id for e in layers.elts]
    assert len(kinds) == 3 and kinds[1] != kinds[2], kinds


def test_flat_names_get_leaves_and_repeated_runs_become_blocks():
    """Conv_N names and numeric weights (an older exporter): one leaf per conv, the repeated residual
    unit a `blocks` list of one class."""
    b = _Builder()
    x, n = b.conv("Conv_0", "x", "t0", 3, 8, weight="100"), 1
    for _ in range(3):
        c1 = b.conv(f"Conv_{n}", x, f"t{n}", 8, 8, weight=str(100 + n))
        r = b.op("Relu", f"Relu_{n + 1}", [c1], f"t{n + 1}")
        c2 = b.conv(f"Conv_{n + 2}", r, f"t{n + 2}", 8, 8, weight=str(100 + n + 2))
        x = b.op("Add", f"Add_{n + 3}", [c2, x], f"t{n + 3}")
        n += 4
    model, feed = b.model(x, 8, 16)
    built, tree = _build(model, feed)
    init = _init_assigns(_classes(tree)["Net"])
    assert isinstance(init["conv_0"], ast.Call)
    blocks = init["blocks"]
    assert len(blocks.elts) == 3 and len({e.func.id for e in blocks.elts}) == 1
    assert "for layer in self.blocks:" in built["source"]
    keys = set(module_weights(built["translation"]))
    assert {"conv_0.weight", "blocks.0.conv1.weight", "blocks.2.conv2.bias"} <= keys


def test_state_dict_keys_give_structure_to_flat_node_names():
    b = _Builder()
    x = b.conv("Conv_0", "x", "a", 3, 8, weight="backbone.stem.conv.weight")
    x = b.conv("Conv_1", x, "b", 8, 8, weight="backbone.stage.0.conv.weight")
    x = b.conv("Conv_2", x, "c", 8, 8, weight="backbone.stage.1.conv.weight")
    x = b.conv("Conv_3", x, "y", 8, 4, weight="head.conv.weight")
    model, feed = b.model(x, 4, 16)
    built, _ = _build(model, feed)
    keys = set(module_weights(built["translation"]))
    assert {"backbone.stem.weight", "backbone.stage.0.weight", "backbone.stage.1.weight", "head.weight"} <= keys


def test_interleaved_scopes_are_dissolved_and_stay_exact():
    """A scope whose calls have another scope's call between them cannot be one call: its layers move up,
    named after it, and everything still runs in the program's order."""
    b = _Builder()
    b.conv("/a/conv1/Conv", "x", "a1", 3, 4)
    b.conv("/b/conv1/Conv", "a1", "b1", 4, 4)
    b.conv("/a/conv2/Conv", "b1", "y", 4, 4)
    model, feed = b.model("y", 4, 16)
    built, tree = _build(model, feed)
    init = _init_assigns(_classes(tree)["Net"])
    assert {"a_conv1", "b", "a_conv2"} <= set(init), sorted(init)
    keys = set(module_weights(built["translation"]))
    assert {"a_conv1.weight", "b.weight", "a_conv2.weight"} <= keys


def test_weights_file_loads_with_mlx_own_loader(tmp_path):
    """The .safetensors keys follow the module tree: `model.load_weights(path)` (MLX, strict) just works."""
    model, feed = _scoped_stage()
    written = convert(model, tmp_path, mode="module", name="net")
    namespace: dict = {"__file__": str(written.paths[0])}
    exec(compile(written.paths[0].read_text(), str(written.paths[0]), "exec"), namespace)  # noqa: S102  (our own output)
    net = namespace["Net"]()
    net.load_weights(str(written.paths[1]))  # strict: every key present, every shape right
    assert {k for k, _ in tree_flatten(net.parameters())} == set(module_weights(translate(model)))
    (out,) = run_ort(model, feed)
    got = net(mx.array(feed["x"]))
    assert_close(np.array(got), out, "module loaded by mlx vs onnxruntime")
