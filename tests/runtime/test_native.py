"""opset.native without its extension: the fallback path, and the build that produces it.

The kernels themselves are checked against onnxruntime in
tests/properties/test_native_kernels.py; here the extension is made to be
missing (or built for another MLX) in a fresh interpreter, and translation and
execution must still work, on the pure-MLX lowering, with one clear warning.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs in a child: break the extension the way `how` says, translate a small conv
# net twice (auto and native=True), run both back ends, compare with onnxruntime.
_CHILD = r"""
import json, sys, warnings
sys.path.insert(0, {root!r})
how = {how!r}
if how == "missing":
    sys.modules["opset.native._kernels"] = None  # what a failed build leaves: ImportError on import
import runtime
import mlx.core as mx
if how == "other_mlx":
    mx.__version__ = "0.0.1"  # the extension was built against a different MLX
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from opset import native
    from translator import translate
    from tests.runtime.test_native import small_net
    import numpy as np
    from tests.util import run_ort, run_mlx
    model = small_net()
    auto = translate(model)
    again = translate(model)
    forced = translate(model, native=True)
x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
want = run_ort(model, {{"x": x}})[0]
errors = {{}}
for mode in ("module", "oplist"):
    for native_opt in (None, True):
        got = run_mlx(model, {{"x": x}}, mode, native=native_opt)[0]
        errors[f"{{mode}}-{{native_opt}}"] = float(np.max(np.abs(got - want)))
print(json.dumps({{
    "available": native.available(), "reason": native.UNAVAILABLE_REASON,
    "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
                 and "native CPU kernels" in str(w.message)],
    "auto_calls": sorted({{c.fn for c in auto.program.calls}}),
    "forced_calls": sorted({{c.fn for c in forced.program.calls}}),
    "errors": errors,
}}))
"""


def small_net():
    """Conv stem, depthwise, pointwise with a residual Add: every native kernel and fusion."""
    import numpy as np
    from onnx import helper

    from tests.util import make_model

    rng = np.random.default_rng(0)
    inits = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "b1": rng.standard_normal(8).astype(np.float32),
        "wd": (rng.standard_normal((8, 1, 3, 3)) * 0.3).astype(np.float32),
        "w2": (rng.standard_normal((8, 8, 1, 1)) * 0.3).astype(np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c2"], ["r2"], min=0.0, max=6.0),
        helper.make_node("Conv", ["r2", "w2"], ["c3"]),
        helper.make_node("Add", ["c3", "r1"], ["y"]),
    ]
    return make_model(nodes, [("x", np.float32, [1, 3, 16, 16])], [("y", np.float32, [1, 8, 8, 8])], inits, opset=10)


def _child(how: str) -> dict:
    code = _CHILD.format(root=str(ROOT), how=how)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("how", ["missing", "other_mlx"])
def test_without_the_extension_everything_runs_on_mlx_with_one_warning(how):
    r = _child(how)
    assert not r["available"]
    assert ("did not import" in r["reason"]) if how == "missing" else ("built against mlx" in r["reason"])
    # One warning per process, however many translations asked for native kernels.
    assert len(r["warnings"]) == 1, r["warnings"]
    assert "pure-MLX lowering" in r["warnings"][0]
    # Auto mode lowers to MLX ops; native=True still records the kernels (their wrapper falls back).
    assert "native_conv2d" not in r["auto_calls"]
    assert "native_conv2d" in r["forced_calls"]
    for key, err in r["errors"].items():
        assert err < 1e-5, (key, err)


def test_with_the_extension_translation_uses_it():
    from opset import native

    if not native.available():
        pytest.skip(f"extension not built here: {native.UNAVAILABLE_REASON}")
    from translator import translate

    t = translate(small_net())
    assert t.program.notes["conv_strategies"] == {"native dense": 1, "native depthwise+pointwise": 1}
    assert t.program.notes["epilogues_fused"] == 3  # Relu, Clip, and the residual Add
    assert translate(small_net(), native=False).program.notes.get("native_convs") is None


def test_one_channel_conv_runs_on_the_depthwise_kernel(tmp_path):
    """A 1-in, 1-out channel conv (YuNet's score heads) is a depthwise conv with one channel: the depthwise
    kernel's flat rows take it (the dense GEMM filled one lane of a 16-32 wide panel)."""
    from opset import native

    if not native.available():
        pytest.skip(f"extension not built here: {native.UNAVAILABLE_REASON}")
    from translator import translate

    from onnx import helper

    from tests.util import assert_matches_ort, make_model

    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["y"]),
    ]
    inits = {"w": rng.standard_normal((1, 1, 3, 3)).astype(np.float32), "b": rng.standard_normal(1).astype(np.float32)}
    m = make_model(nodes, [("x", np.float32, [2, 1, 9, 21])], [("y", np.float32, [2, 1, 9, 21])], inits)
    assert translate(m).program.notes["conv_strategies"] == {"native depthwise": 1}
    x = rng.standard_normal((2, 1, 9, 21)).astype(np.float32)
    assert_matches_ort(m, {"x": x}, tmp_path, atol=1e-5, native=True)


def _setup_module():
    spec = importlib.util.spec_from_file_location("mlx_uniface_setup", ROOT / "setup.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # setup() runs only as __main__
    return mod


def test_a_failed_native_build_does_not_fail_the_install(tmp_path, monkeypatch):
    """setup.py's build_ext turns a CMake failure into a warning: the package installs without the kernels."""
    from setuptools import Distribution

    mod = _setup_module()
    monkeypatch.setenv("CMAKE_EXECUTABLE", "/bin/false")  # configure step exits 1
    dist = Distribution({"name": "probe", "ext_modules": [mod.CMakeExtension("probe._kernels", tmp_path)]})
    cmd = mod.BuildNative(dist)
    cmd.build_lib = str(tmp_path / "lib")
    cmd.build_temp = str(tmp_path / "tmp")
    cmd.ensure_finalized()
    messages = []
    monkeypatch.setattr(cmd, "warn", messages.append)
    cmd.build_extension(dist.ext_modules[0])
    assert len(messages) == 1 and "NOT built" in messages[0] and "pure-MLX" in messages[0]
    assert not list((tmp_path / "lib").rglob("_kernels*"))


def test_every_wrapper_falls_back_to_the_same_result(monkeypatch):
    """Each opset.native function computes the same thing with MLX's ops when the extension is absent
    (what programs recorded with native calls run on a machine without it); the kernels themselves are
    checked against onnxruntime in tests/properties."""
    from opset import native

    import mlx.core as mx
    import numpy as np

    if not native.available():
        pytest.skip(f"extension not built here: {native.UNAVAILABLE_REASON}")
    rng = np.random.default_rng(3)

    def arr(*shape):
        return mx.array(rng.standard_normal(shape).astype(np.float32))

    x, r = arr(1, 9, 11, 6), arr(1, 9, 11, 5)
    img = mx.array(rng.integers(0, 256, (1, 17, 21, 3), dtype=np.uint8))
    calls = {
        "conv2d": lambda: native.conv2d(x, arr(3, 3, 6, 5), arr(5), pads=(1, 1, 1, 1), activation="prelu",
                                        slope=arr(5), residual=r),
        "dw_pw_conv2d": lambda: native.dw_pw_conv2d(x, arr(3, 3, 6), arr(6), arr(1, 1, 6, 5), arr(5),
                                                    pads=(1, 1, 1, 1), activation="clip", alpha=-0.5, beta=0.5,
                                                    pw_activation="leaky_relu", pw_alpha=0.1, residual=r,
                                                    residual_after=True),
        "pw_dw_conv2d": lambda: native.pw_dw_conv2d(x, arr(1, 1, 6, 7), arr(7), arr(3, 3, 7), arr(7), arr(1, 1, 7, 5),
                                                    arr(5), pads=(1, 1, 1, 1), pre_activation="prelu",
                                                    pre_slope=arr(7), activation="relu", pw_activation="silu",
                                                    residual=r),
        "pw_dw_conv2d, no last 1x1": lambda: native.pw_dw_conv2d(x, arr(1, 1, 6, 5), None, arr(3, 3, 5), arr(5),
                                                                 strides=(2, 1), pads=(1, 1, 2, 1),
                                                                 activation="clip", alpha=-0.5, beta=0.5),
        # stem weights with a 1/std (~1/128) folded in, as passes/image_input.py makes them: the outputs then
        # have the other cases' magnitudes, which the shared tolerance assumes (with /64 they reached ~100,
        # and one cancelled output differed by 1.4e-5 on the baseline table: float32 rounding of ~70-size terms)
        "pw_dw_conv2d, image stem, 1x1 between": lambda: native.pw_dw_conv2d(
            img, arr(3, 3, 3, 8) / 1024, arr(8), arr(3, 3, 6), arr(6), arr(1, 1, 6, 5), arr(5), pads=(1, 1, 1, 1),
            pre_strides=(2, 2), pre_pads=(1, 1, 1, 1), pre_offset=mx.array([100.0, 120.5, 90.0]), w_mid=arr(1, 1, 8, 6),
            bias_mid=arr(6), mid_activation="leaky_relu", mid_alpha=0.1, pre_activation="relu", activation="relu"),
        "max_pool2d": lambda: native.max_pool2d(x, (3, 2), (2, 2), (1, 0), (5, 5)),
        "upsample_nearest": lambda: native.upsample_nearest(x, (2, 3)),
        "interleave": lambda: native.interleave([x, arr(1, 9, 11, 12)[..., 3:9]]),  # a channel slice, read in place
        "sigmoid": lambda: native.sigmoid(x),
        "softmax": lambda: native.softmax(x),
    }  # fmt: skip
    for name, call in calls.items():
        rng = np.random.default_rng(4)  # the same operands on both paths
        with_kernels = np.array(call())
        monkeypatch.setattr(native, "_ext", None)
        rng = np.random.default_rng(4)
        fallback = np.array(call())
        monkeypatch.undo()
        np.testing.assert_allclose(fallback, with_kernels, rtol=1e-5, atol=1e-5, err_msg=name)
