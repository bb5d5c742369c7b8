"""Run one ONNX model through onnxruntime and both MLX back ends, and compare.

The back ends are driven in memory, exactly as the files would be: the module
source from `render_module` is compiled and its class instantiated, the op list
from `to_json` goes through the interpreter's decoder, and the weights go
through the safetensors bytes both loaders read. That keeps one example at a
few milliseconds, so hypothesis can try many.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import runtime  # noqa: F401  (fast BLAS before MLX)
from opset.execute import to_mx, to_numpy
from runtime.interpreter import OpList, load_weights_bytes
from translator import translate
from translator.emit.module import plan_module, render_module
from translator.emit.oplist import to_json
from translator.emit.weights import sha256_bytes, weights_bytes

import mlx.core as mx
import numpy as np
import onnx

MODES = ("module", "oplist")

# Per-dtype tolerances: |got - want| <= atol * max(1, max|want|) + rtol * |want|.
TOLERANCES = {"f": (1e-4, 1e-4), "c": (1e-4, 1e-4)}
FLOAT16_TOL = (2e-3, 2e-3)


class OrtRejected(Exception):
    """onnxruntime itself refused the model or the inputs: the case is not valid."""


@dataclass
class Case:
    """A model plus the feed to run it with (and a human description for failures)."""

    model: onnx.ModelProto
    feed: dict[str, np.ndarray]
    label: str = ""
    tol: tuple[float, float] | None = None  # overrides the per-dtype tolerance
    notes: dict = field(default_factory=dict)
    # An exact oracle replacing onnxruntime: feed -> outputs. For ops where onnxruntime's result depends on
    # the CPU (its integer GEMM saturates on AVX2-only machines: tests/exact_reference.py).
    reference: Callable[[dict[str, np.ndarray]], list[np.ndarray]] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # hypothesis prints this for the falsifying example
        lines = [f"Case({self.label!r})"]
        for n in self.model.graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            lines.append(f"  {n.op_type}({list(n.input)} -> {list(n.output)}) {attrs}")
        for i in self.model.graph.initializer:
            lines.append(f"  init {i.name} = {_literal(onnx.numpy_helper.to_array(i))}")
        for k, v in self.feed.items():
            lines.append(f"  feed {k} = {_literal(v)}")
        lines.append(f"  opset {self.model.opset_import[0].version}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # hypothesis' printer
        p.text(repr(self))


def _literal(a: np.ndarray) -> str:
    """Small arrays as a pasteable literal, big ones as dtype and shape."""
    a = np.asarray(a)
    if a.size <= 48:
        body = np.array2string(a, separator=", ", threshold=64, floatmode="unique").replace("\n", "")
        return f"np.array({body}, np.{a.dtype.name})"
    return f"<{a.dtype.name} {a.shape}>"


_ORT_OPTIONS = None


def _ort_options():
    global _ORT_OPTIONS
    if _ORT_OPTIONS is None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        _ORT_OPTIONS = so
    return _ORT_OPTIONS


def run_ort(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(model.SerializeToString(), _ort_options(), providers=["CPUExecutionProvider"])
        return sess.run(None, feed)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise OrtRejected(f"{type(exc).__name__}: {str(exc)[:300]}") from None


def _output_dtypes(model: onnx.ModelProto) -> dict[str, np.dtype | None]:
    out = {}
    for o in model.graph.output:
        et = o.type.tensor_type.elem_type
        out[o.name] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(et)) if et else None
    return out


def compile_backends(model: onnx.ModelProto, optimize: bool = True, **translate_kw) -> dict[str, object]:
    """Translate once and build both back ends in memory: mode -> (callable, inputs, outputs)."""
    t = translate(model, optimize=optimize, **translate_kw)
    wdata = weights_bytes(t.program.weights)
    wsha = sha256_bytes(wdata)
    weights = load_weights_bytes(wdata, "weights") if t.program.weights else {}
    # The module keys the same weights by its parameter tree (body.stage1.0.weight).
    plan = plan_module(t.program, t.origins)
    mdata = weights_bytes(plan.weights())
    src = render_module(
        t.program, "Net", "test.onnx", t.source_sha256, "net.safetensors", sha256_bytes(mdata), plan=plan
    )
    mod = types.ModuleType("_mlx_property_case")
    mod.__file__ = "<generated>"
    exec(compile(src, "<generated module>", "exec"), mod.__dict__)  # noqa: S102  (our own generated code)
    net = mod.Net()
    if weights:
        net.load_weights(list(load_weights_bytes(mdata, "module weights").items()))
    net.eval()

    def run_module(*xs):
        out = net(*xs)
        return out if isinstance(out, tuple) else (out,)

    oplist = OpList(json.loads(to_json(t.program, t.source_sha256, wsha)), weights, "property case")
    return {
        "module": (run_module, t.program.inputs, t.program.outputs),
        "oplist": (oplist, oplist.inputs, oplist.outputs),
        "translation": t,
        "source": src,
    }


def run_backends(
    model: onnx.ModelProto, feed: dict, optimize: bool = True, built=None, **translate_kw
) -> dict[str, list]:
    """mode -> list of numpy outputs in graph-output order."""
    built = built or compile_backends(model, optimize=optimize, **translate_kw)
    names = [o.name for o in model.graph.output]
    results = {}
    for mode in MODES:
        fn, inputs, outputs = built[mode]
        # As runtime.session does: C-contiguous (np.require keeps 0-d arrays 0-d), dtype kept.
        xs = [to_mx(np.require(feed[spec.onnx_name], requirements="C")) for spec in inputs]
        outs = fn(*xs)
        mx.eval(*outs)
        by_name = {spec.onnx_name: o for spec, o in zip(outputs, outs)}
        # No cast to the declared dtype (runtime.session casts): a wrong dtype must show.
        results[mode] = [to_numpy(by_name[n]) for n in names]
    return results


def assert_close(got: np.ndarray, want: np.ndarray, what: str, tol: tuple[float, float] | None = None) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != the oracle's {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != the oracle's {want.dtype}"
    kind = want.dtype.kind
    if kind in "fc":
        if tol is None:
            tol = FLOAT16_TOL if want.dtype.itemsize <= 2 else TOLERANCES[kind]
        atol, rtol = tol
        w = want.astype(np.float64)
        g = got.astype(np.float64)
        nan_w, nan_g = np.isnan(w), np.isnan(g)
        assert np.array_equal(nan_w, nan_g), f"{what}: NaN at {np.argwhere(nan_w != nan_g)[:5].tolist()}"
        inf_w = np.isinf(w)
        assert np.array_equal(inf_w, np.isinf(g)) and np.array_equal(w[inf_w], g[inf_w]), f"{what}: Inf mismatch"
        finite = ~(nan_w | inf_w)
        if finite.any():
            scale = max(1.0, float(np.abs(w[finite]).max()))
            err = np.abs(g[finite] - w[finite])
            bound = atol * scale + rtol * np.abs(w[finite])
            bad = err > bound
            assert not bad.any(), (
                f"{what}: {int(bad.sum())}/{bad.size} elements differ; max abs err {err.max():.3g} "
                f"(bound {atol:g}*{scale:.3g} + {rtol:g}*|want|)\n got  {g[finite][bad][:6]}\n want {w[finite][bad][:6]}"
            )
    else:
        assert np.array_equal(got, want), f"{what}: values differ\n got  {got.ravel()[:12]}\n want {want.ravel()[:12]}"


def check_case(case: Case, optimize: bool = True) -> None:
    """onnxruntime (or the case's exact reference) is the oracle: both modes match it, and each other exactly.

    The generated module source also passes the codegen safety checks
    (tests/hostile/codegen_check.py), so every op's lowering is checked against
    the call allowlist too.
    """
    from tests.hostile.codegen_check import check_generated_source

    want = case.reference(case.feed) if case.reference else run_ort(case.model, case.feed)
    built = compile_backends(case.model, optimize=optimize)
    check_generated_source(built["source"])
    got = run_backends(case.model, case.feed, optimize=optimize, built=built)
    for mode in MODES:
        assert len(got[mode]) == len(want), f"{mode}: {len(got[mode])} outputs, the oracle {len(want)}"
        for i, (g, w) in enumerate(zip(got[mode], want)):
            assert_close(g, w, f"{case.label} [{mode}, output {i}]", case.tol)
    for i, (a, b) in enumerate(zip(got["module"], got["oplist"])):
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), (
            f"{case.label}: module and oplist differ (output {i})"
        )
