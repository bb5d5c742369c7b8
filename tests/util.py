"""Small shared test utilities: build ONNX models in code, run them three ways."""

from __future__ import annotations

from pathlib import Path

import runtime  # noqa: F401  (fast BLAS before MLX)
from runtime.session import InferenceSession

import numpy as np
import onnx
from onnx import helper, numpy_helper

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS = SHARED / "models"
IMAGES = SHARED / "images"


def tensor_info(name: str, dtype, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def make_model(nodes, inputs, outputs, initializers=None, opset: int = 17, name: str = "test") -> onnx.ModelProto:
    """inputs/outputs: lists of (name, dtype, shape); initializers: dict name -> array."""
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()]
    graph = helper.make_graph(nodes, name, [tensor_info(*i) for i in inputs], [tensor_info(*o) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    return model


def run_ort(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def run_mlx(model, feed: dict, mode: str, tmp_path: Path | None = None, **kwargs) -> list[np.ndarray]:
    sess = InferenceSession(model, mode=mode, cache_dir=tmp_path / mode if tmp_path else None, **kwargs)
    return sess.run(None, feed)


def assert_matches_ort(model, feed: dict, tmp_path: Path | None = None, atol: float = 1e-5, rtol: float = 1e-5, **kw):
    """Both modes match onnxruntime, and each other exactly."""
    want = run_ort(model, feed)
    got = {mode: run_mlx(model, feed, mode, tmp_path, **kw) for mode in ("module", "oplist")}
    for mode, outs in got.items():
        assert len(outs) == len(want)
        for w, g in zip(want, outs):
            assert g.shape == w.shape, (mode, g.shape, w.shape)
            np.testing.assert_allclose(g, w, atol=atol, rtol=rtol, err_msg=mode)
    for a, b in zip(got["module"], got["oplist"]):
        np.testing.assert_array_equal(a, b)
    return got["oplist"]


def assert_both_modes_equal(model, feed: dict, want: list[np.ndarray], tmp_path: Path | None = None, **kw):
    """Both modes give exactly `want` (an exact reference's outputs: integer ops), dtype included."""
    for mode in ("module", "oplist"):
        got = run_mlx(model, feed, mode, tmp_path, **kw)
        assert len(got) == len(want), mode
        for i, (g, w) in enumerate(zip(got, want)):
            assert g.dtype == w.dtype, (mode, i, g.dtype, w.dtype)
            np.testing.assert_array_equal(g, w, err_msg=f"{mode}, output {i}")


def shuffle_reference(x: np.ndarray, axis: int, groups: int) -> np.ndarray:
    """ONNX's channel shuffle in numpy: `axis` seen as (groups, C/groups), the two swapped, merged back."""
    shape = x.shape
    split = shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1 :]
    return np.swapaxes(x.reshape(split), axis, axis + 1).reshape(shape)
