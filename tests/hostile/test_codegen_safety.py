"""Generated code is safe whatever the model's names say.

Node, tensor, initializer and graph names, doc strings and metadata carrying quotes,
newlines, triple quotes, backslashes, `__import__('os')` payloads, unicode, Python
keywords, names of the module's own globals, names that collide after sanitizing and
empty strings: the generated module must parse, pass the static checks of
codegen_check.py (only literals run on import; every call is on an explicit
allowlist; every identifier is sanitized ASCII), import without side effects, and
still compute what onnxruntime computes.
"""

from __future__ import annotations

import ast

from opset.functions import HELPERS
from runtime.loader import load_module_model
from runtime.session import InferenceSession
from translator import TranslatorError, convert
from translator.emit.module import helper_source

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from tests.hostile.codegen_check import check_generated_source
from tests.properties.harness import assert_close, run_ort

PAYLOADS = [
    'a"b',
    "a'b",
    'x"""y',
    "x'''y",
    "line1\nline2",
    "cr\rlf\r\n",
    "tab\there",
    "back\\slash\\",
    "trailing\\",
    "__import__('os').system('touch {sentinel}')",
    '"""; open("{sentinel}", "w"); """',
    "'; open('{sentinel}', 'w'); '",
    "\n__import__('pathlib').Path('{sentinel}').touch()\n",
    "# {{ jinja }} {% raw %} ${x} %s {0}",
    "naïve ünïcödé 名前 🙂",
    "\u2028line\u2029sep\x0bvt\x0cff",
    "nul\x00byte",
    "class",
    "def",
    "return",
    "None",
    "True",
    "lambda",
    "match",
    "self",
    "mx",
    "nn",
    "np",
    "math",
    "Path",
    "super",
    "INPUTS",
    "OUTPUTS",
    "SOURCE_SHA256",
    "WEIGHTS_SHA256",
    "NOTES",
    "load_model",
    "weights_path",
    "__class__",
    "__init__",
    "__call__",
    "1abc",
    "_",
    "a-b",
    "a.b",
    "a b",
    "a_b",
    "a__b",
    "A_B",
    "conv2d",
    "pool_nd",
    "getitem",
]

# Initializer names equal to attributes of mlx.nn.Module (a dict subclass): `self.<name>`
# must still read the weight, not the method.
MODULE_ATTRS = ["keys", "values", "items", "update", "parameters", "children", "training", "state", "modules", "eval"]
MODULE_ATTRS_UNRESERVED = ["setdefault", "is_module", "fromkeys", "popitem", "apply_to_modules", "filter_and_map"]


def _hostile_model(payloads: list[str], sentinel: str) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """One Add+Relu branch per payload; the payload names inputs, weights, nodes and outputs."""
    names = [p.replace("{sentinel}", sentinel) for p in payloads]
    rng = np.random.default_rng(0)
    nodes, inputs, outputs, inits, feed = [], [], [], [], {}
    seen: set[str] = set()
    for i, raw in enumerate(names):
        base = raw
        while base in seen:
            base = base + "'"
        seen.add(base)
        x, w, a, y = f"{base}", f"{base}\x01w", f"{base}\x01a", f"{base}\x01y"
        if i % 3 == 1:  # vary which role carries the bare payload
            x, y = f"{base}\x01x", base
        elif i % 3 == 2:
            x, w = f"{base}\x01x", base
        shape = [2, 3]
        inputs.append(helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, shape))
        outputs.append(helper.make_tensor_value_info(y, onnx.TensorProto.FLOAT, shape))
        inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), w))
        nodes.append(helper.make_node("Add", [x, w], [a], name=base if i % 2 else "", doc_string=raw))
        nodes.append(helper.make_node("Relu", [a], [y], name=f"{base}\x01relu", doc_string=raw))
        feed[x] = rng.standard_normal(shape).astype(np.float32)
    # The code payloads come last (see the callers): they also name the graph and fill the doc strings.
    graph = helper.make_graph(nodes, names[-4], inputs, outputs, inits, doc_string=names[-3])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name=names[-2], doc_string=names[-1]
    )
    model.ir_version = 10
    onnx.helper.set_model_props(model, {p: p for p in names})
    return model, feed


def _check_outputs(model, feed, got):
    want = run_ort(model, feed)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, f"output {i} ({model.graph.output[i].name!r})")


@pytest.mark.parametrize("chunk", range(3))
def test_hostile_names_generate_safe_modules(tmp_path, chunk):
    sentinel = str(tmp_path / "PWNED")
    payloads = PAYLOADS[chunk::3] + PAYLOADS[9:13]  # every chunk carries the code payloads
    model, feed = _hostile_model(payloads, sentinel)
    onnx.checker.check_model(model)
    written = convert(model, tmp_path / "out", mode="module", name="hostile")
    src = written.paths[0].read_text(encoding="utf-8")
    tree = check_generated_source(src)
    # Names survive as escaped literals: INPUTS/OUTPUTS round-trip to the exact ONNX names.
    consts = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body if isinstance(t, ast.Assign)}
    assert [e[1] for e in consts["INPUTS"]] == [i.name for i in model.graph.input]
    assert [e[1] for e in consts["OUTPUTS"]] == [o.name for o in model.graph.output]
    idents = [e[0] for e in consts["INPUTS"] + consts["OUTPUTS"]]
    assert len(set(idents[: len(model.graph.input)])) == len(model.graph.input), "input identifiers collide"
    compiled = load_module_model(written.paths[0])
    assert not (tmp_path / "PWNED").exists(), "importing the generated module ran code from the model"
    got = InferenceSession(model, mode="module", cache_dir=tmp_path / "s_module").run(None, feed)
    _check_outputs(model, feed, got)
    got = InferenceSession(model, mode="oplist", cache_dir=tmp_path / "s_oplist").run(None, feed)
    _check_outputs(model, feed, got)
    assert not (tmp_path / "PWNED").exists()
    assert compiled.inputs and compiled.outputs


def test_collisions_after_sanitizing_stay_distinct(tmp_path):
    names = ["a-b", "a.b", "a b", "a_b", "a__b", "a/b", "a:b", "", "_", "__", "-", "0", "00"]
    names = [n for n in names if n]  # "" means "omitted" for inputs
    rng = np.random.default_rng(1)
    inputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [3]) for n in names]
    nodes = [helper.make_node("Sum", names, ["s"], name="")]
    outputs = [helper.make_tensor_value_info("s", onnx.TensorProto.FLOAT, [3])]
    for n in names:
        nodes.append(helper.make_node("Mul", [n, "s"], [f"{n}:out"], name=n))
        outputs.append(helper.make_tensor_value_info(f"{n}:out", onnx.TensorProto.FLOAT, [3]))
    graph = helper.make_graph(nodes, "-", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    feed = {n: rng.standard_normal(3).astype(np.float32) for n in names}
    written = convert(model, tmp_path, mode="module", name="m")
    check_generated_source(written.paths[0].read_text(encoding="utf-8"))
    for mode in ("module", "oplist"):
        _check_outputs(model, feed, InferenceSession(model, mode=mode, cache_dir=tmp_path / mode).run(None, feed))


def _weights_model(names):
    rng = np.random.default_rng(2)
    inits = {n: rng.standard_normal((2, 3)).astype(np.float32) for n in names}
    nodes, prev = [], "x"
    for i, n in enumerate(names):
        nodes.append(helper.make_node("Add", [prev, n], [f"t{i}"]))
        prev = f"t{i}"
    graph = helper.make_graph(
        nodes, "w", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info(prev, onnx.TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model, {"x": rng.standard_normal((2, 3)).astype(np.float32)}


def test_weights_named_like_module_attributes(tmp_path):
    model, feed = _weights_model(MODULE_ATTRS)
    for mode in ("module", "oplist"):
        _check_outputs(model, feed, InferenceSession(model, mode=mode, cache_dir=tmp_path / mode).run(None, feed))


@pytest.mark.parametrize("name", MODULE_ATTRS_UNRESERVED)
def test_weights_named_like_unreserved_module_attributes(tmp_path, name):
    """Was a bug: names.py RESERVED missed these mlx.nn.Module attributes (raw AttributeError at load)."""
    model, feed = _weights_model([name])
    _check_outputs(model, feed, InferenceSession(model, mode="module", cache_dir=tmp_path).run(None, feed))


def test_hostile_class_names(tmp_path):
    """convert(name=...) becomes a file stem and a class name: both sanitized."""
    model, feed = _weights_model(["w"])
    for i, name in enumerate(['x"; import os #', "../../etc/passwd", "名前", "a\nb", "", "1net", "class", "self"]):
        written = convert(model, tmp_path / str(i), mode="module", name=name)
        assert written.paths[0].parent == tmp_path / str(i)
        check_generated_source(written.paths[0].read_text(encoding="utf-8"))
        out = load_module_model(written.paths[0])
        assert out.outputs


@pytest.mark.parametrize("name", ["none", "true", "false", "path", "INPUTS", "OUTPUTS"])
def test_class_names_that_collide(tmp_path, name):
    """Was a bug: class_name_for made keywords (None/True/False) or shadowed Path/INPUTS/OUTPUTS."""
    model, feed = _weights_model(["w"])
    written = convert(model, tmp_path, mode="module", name=name)
    compiled = load_module_model(written.paths[0])
    import mlx.core as mx

    (y,) = compiled(mx.array(feed["x"]))
    assert np.allclose(np.array(y), feed["x"] + numpy_helper.to_array(model.graph.initializer[0]))


def test_every_helper_passes_the_allowlist():
    """Helpers are inlined into generated modules: all of them must pass the same static checks."""
    header = "from __future__ import annotations\nimport math\nimport mlx.core as mx\nimport numpy as np\n\n"
    src = header + "\n\n".join(helper_source(h) for h in sorted(HELPERS))
    check_generated_source(src)


@pytest.mark.parametrize(
    "src",
    [
        "import os\n",
        "x = __import__('os')\n",
        "X = [1, 2]\nprint(X)\n",
        "def f(x=open('/etc/passwd')):\n    return x\n",
        "def f(x):\n    return eval(x)\n",
        "def f(x):\n    return x.__class__.__subclasses__()\n",
        "def f(x):\n    g = getattr\n    return g(x, 'y')\n",
        "import mlx.core as mx\ndef f(x):\n    return mx.array(x).tofile('/tmp/x')\n",
        "import mlx.nn as nn\nclass A(nn.Module):\n    x = print(1)\n",
        "@staticmethod\ndef f():\n    pass\n",
    ],
)
def test_checker_rejects_unsafe_source(src):
    """The checker itself: each of these must be refused."""
    with pytest.raises(AssertionError):
        check_generated_source(src)


def test_module_file_edited_to_run_code_is_only_imported_by_the_loader(tmp_path):
    """The loader imports what it is given (a generated module is code): document that the static check,
    not the loader, is what vouches for a file. A non-parsing file is a typed error."""
    model, _ = _weights_model(["w"])
    written = convert(model, tmp_path, mode="module", name="m")
    path = written.paths[0]
    path.write_text(path.read_text() + "\ndef broken(:\n")
    with pytest.raises(TranslatorError, match="does not parse"):
        load_module_model(path)


def _scoped_hostile_model(payloads: list[str], sentinel: str) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """A chain of Mul-by-weight nodes whose torch-style scope names are the payloads (and their
    initializers state-dict keys built from them): the payloads become module, list and attribute names."""
    rng = np.random.default_rng(3)
    nodes, inits, x = [], [], "x"
    for i, raw in enumerate(p.replace("{sentinel}", sentinel) for p in payloads):
        w, y = f"{raw}.{i}.weight", f"t{i}"
        inits.append(numpy_helper.from_array(rng.standard_normal((2, 3)).astype(np.float32), w))
        name = f"/{raw}/{raw}.{i % 2}/Mul" if i % 3 else f"/blocks/blocks.{i}/{raw}/Mul"
        nodes.append(helper.make_node("Mul", [x, w], [y], name=name))
        x = y
    graph = helper.make_graph(
        nodes, "scoped", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, [2, 3])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model, {"x": rng.standard_normal((2, 3)).astype(np.float32)}


@pytest.mark.parametrize("chunk", range(3))
def test_hostile_scope_names_nest_safely(tmp_path, chunk):
    """Scope names become classes, attributes, list names and safetensors keys: all sanitized, never
    private (MLX skips `_`-names) nor nn.Module's own members, and the module still computes the model."""
    sentinel = str(tmp_path / "PWNED")
    model, feed = _scoped_hostile_model(PAYLOADS[chunk::3] + PAYLOADS[9:13], sentinel)
    written = convert(model, tmp_path / "out", mode="module", name="hostile")
    check_generated_source(written.paths[0].read_text(encoding="utf-8"))
    compiled = load_module_model(written.paths[0])  # strict load: every key in the file is a parameter
    assert not (tmp_path / "PWNED").exists(), "importing the generated module ran code from the model"
    import mlx.core as mx
    from mlx.utils import tree_flatten

    keys = [k for k, _ in tree_flatten(compiled.eager_fn.parameters())]
    assert len(keys) == len(model.graph.initializer)
    assert all(p.isidentifier() and not p.startswith("_") for k in keys for p in k.split(".") if not p.isdigit())
    _check_outputs(model, feed, [np.array(o) for o in compiled(mx.array(feed["x"]))])
    _check_outputs(model, feed, InferenceSession(model, mode="oplist", cache_dir=tmp_path / "o").run(None, feed))


@pytest.mark.parametrize(
    "src, why",
    [
        (
            "import mlx.nn as nn\nclass A(nn.Module):\n    def __call__(self, x):\n        return self.foo(x)\n",
            "self.foo",
        ),
        (
            "import mlx.nn as nn\nclass A(nn.Module):\n    def __init__(self):\n        self.fs = [print]\n"
            "    def __call__(self, x):\n        for f in self.fs:\n            x = f(x)\n        return x\n",
            "call of 'f'",
        ),
        (
            "import mlx.nn as nn\nclass B(nn.Module):\n    def g(self):\n        return 1\n"
            "class A(nn.Module):\n    def __init__(self):\n        self.bs = [B()]\n"
            "    def __call__(self, x):\n        for f in self.bs:\n            f = print\n            x = f(x)\n"
            "        return x\n",
            "call of 'f'",
        ),
        (
            "import mlx.nn as nn\nclass B(nn.Module):\n    def g(self):\n        return 1\n"
            "class A(nn.Module):\n    def __init__(self):\n        self.b = [B()]\n"
            "    def __call__(self, x):\n        return self.b[x](x)\n",
            r"self.b\[x\]",
        ),
        ("def f():\n    from os import system\n", "import inside a function"),
        ("def load_model():\n    import os\n", "import inside a function"),
        ("def load_model():\n    from translator.api import translate\n", "import inside a function"),
        (
            "def load_model():\n    def g():\n        from translator.from_onnx import generated_weights\n",
            "import inside",
        ),
    ],
)
def test_checker_rejects_unsafe_nested_forms(src, why):
    """The nested form's rules: only submodules set in __init__ may be called, only the one lazy import."""
    with pytest.raises(AssertionError, match=why):
        check_generated_source(src)


@pytest.mark.parametrize("out_name", ["conv_0", "layer", "native", "x", "part", "mx"])
def test_output_names_do_not_shadow_the_module_s_own_names(tmp_path, out_name):
    """A graph output named like a local the module makes (a layer's output, the loop variable) or a name
    the file binds must not overwrite it: the root keeps the output names, so they are reserved first."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.3
    nodes = [
        helper.make_node("Conv", ["inp", "77"], ["c"], name="Conv_0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], [out_name], name="Relu_1"),
        helper.make_node("Add", ["c", "c"], ["z"], name="Add_2"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("inp", onnx.TensorProto.FLOAT, [1, 4, 6, 6])],
        [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, 4, 6, 6]) for n in (out_name, "z")],
        [numpy_helper.from_array(w, "77")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    feed = {"inp": rng.standard_normal((1, 4, 6, 6)).astype(np.float32)}
    written = convert(model, tmp_path, mode="module", name="m")
    check_generated_source(written.paths[0].read_text(encoding="utf-8"))
    _check_outputs(model, feed, InferenceSession(model, mode="module", cache_dir=tmp_path / "s").run(None, feed))
