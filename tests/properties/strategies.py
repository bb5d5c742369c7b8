"""Hypothesis strategies that generate valid single-op ONNX models (with their inputs).

Each entry of SINGLE_OPS maps an op name to a strategy of `Case`s. Shapes include
size-1 and broadcast dims, dtypes are the ones ONNX and onnxruntime allow for the
op, attributes range over their legal values (negative axes, negative steps,
every auto_pad / coordinate mode, ...). Array values come from a numpy generator
seeded by a drawn integer: hypothesis shrinks shapes and attributes; values
shrink with the seed.

Open bugs are still generated: the property tests skip the examples a predicate
of `known_bugs.KNOWN_BUGS` matches (each names its xfail test in test_regressions.py).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from tests import exact_reference

from .harness import Case

F32 = np.float32
INT_MAX = np.iinfo(np.int64).max


# -- model building ------------------------------------------------------------------


def build(
    nodes: list,
    feed: dict[str, np.ndarray],
    inits: dict[str, np.ndarray] | None = None,
    outputs: list[str] | None = None,
    opset: int = 17,
    label: str = "",
    tol: tuple[float, float] | None = None,
    domains: dict[str, int] | None = None,
) -> Case:
    """A model whose inputs are `feed`'s arrays; output types come from ONNX shape inference."""
    feed = {k: np.asarray(v) for k, v in feed.items()}  # numpy ops on 0-d arrays return scalars
    inits = {k: np.asarray(v) for k, v in (inits or {}).items()}
    outputs = outputs or [nodes[-1].output[0]]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in feed.items()],
        [helper.make_tensor_value_info(o, 0, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = min(model.ir_version, 10)
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    first = next(iter(feed.values()), None)
    for o in model.graph.output:
        tt = o.type.tensor_type
        if not tt.elem_type and first is not None:  # inference does not reach into some function ops
            tt.elem_type = helper.np_dtype_to_tensor_dtype(first.dtype)
        if not tt.HasField("shape"):
            tt.shape.SetInParent()  # rank unknown is legal; the checker wants the field
    return Case(model, feed, label or nodes[-1].op_type, tol)


def node(op: str, inputs: list[str], outputs: list[str] | None = None, **attrs) -> onnx.NodeProto:
    attrs = {k: v for k, v in attrs.items() if v is not None}
    return helper.make_node(op, inputs, outputs or ["y"], **attrs)


# -- basic draws -----------------------------------------------------------------------


def rng_from(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def shape_st(min_rank=0, max_rank=4, min_side=1, max_side=5):
    return st.lists(st.integers(min_side, max_side), min_size=min_rank, max_size=max_rank).map(tuple)


def values(rng, shape, dtype, lo=-3.0, hi=3.0) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.asarray(rng.uniform(lo, hi, shape), dtype)
    if dtype.kind == "b":
        return np.asarray(rng.integers(0, 2, shape), bool)
    info = np.iinfo(dtype)
    lo_i, hi_i = max(int(lo), info.min), min(int(hi), info.max)
    if dtype == np.uint64:
        return np.asarray(rng.integers(lo_i, hi_i, shape, dtype=np.uint64, endpoint=True), dtype)
    return np.asarray(rng.integers(lo_i, hi_i + 1, shape, dtype=np.int64), dtype)


def nonzero_values(rng, shape, dtype, lo=0.5, hi=3.0) -> np.ndarray:
    mag = values(rng, shape, dtype, lo, hi)
    sign = np.where(rng.integers(0, 2, shape) == 1, 1, -1).astype(mag.dtype) if np.dtype(dtype).kind != "u" else 1
    return (mag * sign).astype(dtype)


def broadcast_to_shape(draw, shape: tuple) -> tuple:
    """A shape that broadcasts (unidirectionally) to `shape`: leading dims dropped, some dims 1."""
    drop = draw(st.integers(0, len(shape)))
    kept = shape[drop:]
    return tuple(1 if d != 1 and draw(st.booleans()) else d for d in kept)


def as_input_or_init(draw, name: str, arr: np.ndarray, feed: dict, inits: dict, p_init: bool | None = None) -> None:
    if p_init is None:
        p_init = draw(st.booleans())
    (inits if p_init else feed)[name] = arr


FLOATS = (np.float32,)
FLOATS_WIDE = (np.float32, np.float32, np.float32, np.float64)
NUMERIC = (np.float32, np.float32, np.float64, np.int32, np.int64)


# -- NCHW convolution / pooling ----------------------------------------------------------


def _out_size(n, k, s, d, p0, p1, ceil=False):
    eff = (k - 1) * d + 1
    num = n + p0 + p1 - eff
    return (-(-num // s) if ceil else num // s) + 1


@st.composite
def conv_case(draw):
    rng = rng_from(draw)
    nd = draw(st.sampled_from((2, 2, 2, 1, 3)))
    n = draw(st.integers(1, 2))
    group = draw(st.sampled_from((1, 1, 2, 3, "depthwise")))
    cin_per = draw(st.integers(1, 3))
    if group == "depthwise":
        group = draw(st.integers(1, 6))
        cin_per = 1
    cin = group * cin_per
    cout = group * draw(st.integers(1, 3))
    max_side = {1: 12, 2: 9, 3: 5}[nd]
    kernel = [draw(st.integers(1, 4 if nd < 3 else 3)) for _ in range(nd)]
    strides = [draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [draw(st.integers(1, 3)) for _ in range(nd)]
    auto_pad = draw(st.sampled_from(("NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")))
    pads = [draw(st.integers(0, 2)) for _ in range(2 * nd)] if auto_pad == "NOTSET" else [0] * (2 * nd)
    if auto_pad.startswith("SAME"):
        dil = [1] * nd  # onnxruntime: "Dilation not supported for AutoPadType::SAME_UPPER or SAME_LOWER"
    spatial = []
    for i in range(nd):
        eff = (kernel[i] - 1) * dil[i] + 1
        lo = max(1, eff - pads[i] - pads[i + nd]) if auto_pad in ("NOTSET", "VALID") else 1
        spatial.append(draw(st.integers(lo, max(lo, max_side))))
    x = values(rng, (n, cin, *spatial), F32)
    w = values(rng, (cout, cin_per, *kernel), F32, -1, 1)
    feed, inits = {"x": x}, {}
    as_input_or_init(draw, "w", w, feed, inits, p_init=draw(st.sampled_from((True, True, True, False))))
    ins = ["x", "w"]
    if draw(st.booleans()):
        inits["b"] = values(rng, (cout,), F32)
        ins.append("b")
    attrs = {
        "group": group if (group > 1 or draw(st.booleans())) else None,
        "strides": strides if (strides != [1] * nd or draw(st.booleans())) else None,
        "dilations": dil if (dil != [1] * nd or draw(st.booleans())) else None,
        "kernel_shape": kernel if draw(st.booleans()) else None,
    }
    if auto_pad == "NOTSET":
        attrs["pads"] = pads if (any(pads) or draw(st.booleans())) else None
    else:
        attrs["auto_pad"] = auto_pad
    opset = draw(st.sampled_from((11, 13, 17, 21)))
    return build([node("Conv", ins, **attrs)], feed, inits, opset=opset)


@st.composite
def conv_transpose_case(draw):
    rng = rng_from(draw)
    nd = draw(st.sampled_from((2, 2, 1)))
    group = draw(st.sampled_from((1, 1, 2)))
    cin = group * draw(st.integers(1, 3))
    cout_per = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 4)) for _ in range(nd)]
    strides = [draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [draw(st.integers(1, 2)) for _ in range(nd)]
    spatial = [draw(st.integers(1, 6)) for _ in range(nd)]
    pads = []
    for i in range(nd):
        pads.append(draw(st.integers(0, kernel[i] - 1)))
    pads = pads + [draw(st.integers(0, kernel[i] - 1)) for i in range(nd)]
    out_pad = [draw(st.integers(0, max(0, min(strides[i], dil[i]) - 1))) for i in range(nd)]
    for i in range(nd):  # output must be positive
        full = (spatial[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 + out_pad[i]
        if full - pads[i] - pads[i + nd] < 1:
            pads[i] = pads[i + nd] = 0
    x = values(rng, (1, cin, *spatial), F32)
    w = values(rng, (cin, cout_per, *kernel), F32, -1, 1)
    inits = {"w": w}
    ins = ["x", "w"]
    if draw(st.booleans()):
        inits["b"] = values(rng, (cout_per * group,), F32)
        ins.append("b")
    attrs = dict(
        group=group if group > 1 else None, strides=strides, dilations=dil, pads=pads,
        output_padding=out_pad if any(out_pad) else None,
    )  # fmt: skip
    return build([node("ConvTranspose", ins, **attrs)], {"x": x}, inits, opset=draw(st.sampled_from((11, 17))))


@st.composite
def pool_case(draw, op):
    rng = rng_from(draw)
    nd = draw(st.sampled_from((2, 2, 2, 1, 3)))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    opset = draw(st.sampled_from((11, 12, 17, 19, 21) if op == "AveragePool" else (8, 11, 12, 17, 21)))
    kernel = [draw(st.integers(1, 4)) for _ in range(nd)]
    strides = [draw(st.integers(1, 3)) for _ in range(nd)]
    has_dil = (op == "MaxPool" and opset >= 10) or (op == "AveragePool" and opset >= 19)
    dil = [draw(st.integers(1, 2)) for _ in range(nd)] if has_dil and draw(st.booleans()) else None
    auto_pad = draw(st.sampled_from(("NOTSET",) * 4 + ("SAME_UPPER", "SAME_LOWER", "VALID")))
    if auto_pad.startswith("SAME") and dil is not None:
        # onnxruntime's SAME padding ignores dilations (the spec and onnx.reference include them).
        dil = None
    d = dil or [1] * nd
    pads = [0] * (2 * nd)
    if auto_pad == "NOTSET":
        pads = [draw(st.integers(0, kernel[i % nd] - 1)) for i in range(2 * nd)]
    ceil_mode = draw(st.sampled_from((0, 1))) if opset >= 10 else None
    max_side = 9 if nd < 3 else 5
    spatial = []
    for i in range(nd):
        eff = (kernel[i] - 1) * d[i] + 1
        lo = max(1, eff - pads[i] - pads[i + nd]) if auto_pad in ("NOTSET", "VALID") else 1
        spatial.append(draw(st.integers(lo, max(lo, max_side))))
    if auto_pad.startswith("SAME") and any(
        (-(-spatial[i] // strides[i]) - 1) * strides[i] + kernel[i] < spatial[i] for i in range(nd)
    ):
        # The spec's SAME padding goes negative here: onnxruntime's MaxPool refuses, its AveragePool starts
        # the window inside the input (onnx.reference fails). Not a property: explicit zero pads instead.
        auto_pad = "NOTSET"
        pads = [0] * nd + [max(0, kernel[i] - spatial[i]) for i in range(nd)]  # every window still fits
    x = values(rng, (n, c, *spatial), F32)
    attrs = dict(kernel_shape=kernel, strides=strides if draw(st.booleans()) or strides != [1] * nd else None)
    if auto_pad == "NOTSET":
        attrs["pads"] = pads if any(pads) or draw(st.booleans()) else None
    else:
        attrs["auto_pad"] = auto_pad
    if ceil_mode is not None and (ceil_mode or draw(st.booleans())):
        attrs["ceil_mode"] = ceil_mode
    if dil is not None:
        attrs["dilations"] = dil
    if op == "AveragePool":
        attrs["count_include_pad"] = draw(st.sampled_from((None, 0, 1)))
    case = build([node(op, ["x"], **attrs)], {"x": x}, opset=opset)
    return case


@st.composite
def global_pool_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(3, 5, 1, 6))
    return build([node(op, ["x"])], {"x": values(rng, shape, F32)}, opset=draw(st.sampled_from((11, 17))))


@st.composite
def lp_pool_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(3, 4, 1, 6))
    p = draw(st.sampled_from((1, 2, 3)))
    attrs = {"p": p}
    if op == "LpPool":
        nd = len(shape) - 2
        kernel = [draw(st.integers(1, s)) for s in shape[2:]]
        attrs.update(kernel_shape=kernel, strides=[draw(st.integers(1, 2)) for _ in range(nd)])
    return build([node(op, ["x"], **attrs)], {"x": values(rng, shape, F32, 0.1, 2)}, opset=18)


# -- activations and unary ops -------------------------------------------------------------


# name: (dtypes, value range, attribute strategies, opsets)
UNARY = {
    "Relu": (NUMERIC, (-3, 3), {}, (13, 14, 17)),
    "Sigmoid": (FLOATS_WIDE, (-8, 8), {}, (13,)),
    "Tanh": (FLOATS_WIDE, (-4, 4), {}, (13,)),
    "Abs": (NUMERIC, (-3, 3), {}, (13,)),
    "Neg": (NUMERIC, (-3, 3), {}, (13,)),
    "Exp": (FLOATS_WIDE, (-5, 5), {}, (13,)),
    "Log": (FLOATS_WIDE, (0.05, 5), {}, (13,)),
    "Sqrt": (FLOATS_WIDE, (0, 5), {}, (13,)),
    "Reciprocal": (FLOATS_WIDE, (0.2, 4), {}, (13,)),
    "Floor": (FLOATS_WIDE, (-4, 4), {}, (13,)),
    "Ceil": (FLOATS_WIDE, (-4, 4), {}, (13,)),
    "Round": (FLOATS_WIDE, (-4, 4), {}, (11,)),
    "Sign": (NUMERIC, (-3, 3), {}, (13,)),
    "Erf": (FLOATS, (-3, 3), {}, (13,)),
    "Sin": (FLOATS, (-4, 4), {}, (7,)),
    "Cos": (FLOATS, (-4, 4), {}, (7,)),
    "Tan": (FLOATS, (-1.3, 1.3), {}, (7,)),
    "Asin": (FLOATS, (-0.99, 0.99), {}, (7,)),
    "Acos": (FLOATS, (-0.99, 0.99), {}, (7,)),
    "Atan": (FLOATS, (-4, 4), {}, (7,)),
    "Sinh": (FLOATS, (-3, 3), {}, (9,)),
    "Cosh": (FLOATS, (-3, 3), {}, (9,)),
    "Asinh": (FLOATS, (-3, 3), {}, (9,)),
    "Acosh": (FLOATS, (1.01, 4), {}, (9,)),
    "Atanh": (FLOATS, (-0.95, 0.95), {}, (9,)),
    "Softplus": (FLOATS, (-6, 6), {}, (1, 22)),
    "Softsign": (FLOATS, (-4, 4), {}, (1, 22)),
    "LeakyRelu": (FLOATS, (-3, 3), {"alpha": st.floats(-2, 2)}, (6, 16)),
    "Elu": (FLOATS, (-3, 3), {"alpha": st.floats(0, 2)}, (6,)),
    "Selu": (FLOATS, (-3, 3), {"alpha": st.floats(0.5, 2), "gamma": st.floats(0.5, 2)}, (6,)),
    "Celu": (FLOATS, (-3, 3), {"alpha": st.floats(0.1, 2)}, (12,)),
    "HardSigmoid": (FLOATS, (-5, 5), {"alpha": st.floats(0, 1), "beta": st.floats(-1, 1)}, (6,)),
    "HardSwish": (FLOATS, (-5, 5), {}, (14,)),
    "ThresholdedRelu": (FLOATS, (-3, 3), {"alpha": st.floats(-1, 2)}, (10,)),
    "Shrink": (FLOATS, (-3, 3), {"lambd": st.floats(0, 2), "bias": st.floats(0, 1)}, (9,)),
    "Mish": (FLOATS, (-5, 5), {}, (18,)),
    "Gelu": (FLOATS, (-4, 4), {"approximate": st.sampled_from(("none", "tanh"))}, (20,)),
    "Not": ((np.bool_,), (0, 1), {}, (1,)),
    "IsNaN": (FLOATS, (-3, 3), {}, (13,)),
    "IsInf": (FLOATS, (-3, 3), {"detect_positive": st.sampled_from((0, 1)), "detect_negative": st.sampled_from((0, 1))}, (10,)),
    "Identity": (NUMERIC, (-3, 3), {}, (13,)),
}  # fmt: skip


@st.composite
def unary_case(draw, op):
    dtypes, (lo, hi), attr_st, opsets = UNARY[op]
    rng = rng_from(draw)
    opset = draw(st.sampled_from(opsets))
    if op == "Relu" and opset < 14:
        dtypes = FLOATS_WIDE  # integer Relu arrived in opset 14
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(shape_st(0, 4))
    x = values(rng, shape, dtype, lo, hi)
    if op in ("IsNaN", "IsInf") and x.size:
        flat = x.reshape(-1)
        for special in (np.nan, np.inf, -np.inf):
            if draw(st.booleans()):
                flat[rng.integers(0, flat.size)] = special
    attrs = {k: draw(s) for k, s in attr_st.items() if draw(st.booleans())}
    attrs = {k: (float(v) if isinstance(v, float) else v) for k, v in attrs.items()}
    return build([node(op, ["x"], **attrs)], {"x": x}, opset=opset)


@st.composite
def prelu_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4))
    if len(shape) >= 2 and draw(st.booleans()):  # the usual per-channel slope (C, 1, 1)
        slope_shape = (shape[1],) + (1,) * (len(shape) - 2)
    else:
        slope_shape = broadcast_to_shape(draw, shape)
    feed, inits = {"x": values(rng, shape, F32)}, {}
    as_input_or_init(draw, "slope", values(rng, slope_shape, F32, -1.5, 1.5), feed, inits)
    return build([node("PRelu", ["x", "slope"])], feed, inits, opset=draw(st.sampled_from((9, 16))))


@st.composite
def clip_case(draw):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((6, 11, 12, 13)))
    dtype = np.float32 if opset < 12 else draw(st.sampled_from((np.float32, np.float32, np.int32, np.int64)))
    x = values(rng, draw(shape_st(0, 4)), dtype, -5, 5)
    lo = draw(st.one_of(st.none(), st.integers(-4, 2)))
    hi = draw(st.one_of(st.none(), st.integers(-2, 4)))
    lo_v = None if lo is None else lo + (0.5 if dtype == np.float32 and draw(st.booleans()) else 0)
    hi_v = None if hi is None else hi + (0.25 if dtype == np.float32 and draw(st.booleans()) else 0)
    if opset < 11:
        attrs = {k: float(v) for k, v in (("min", lo_v), ("max", hi_v)) if v is not None}
        return build([node("Clip", ["x"], **attrs)], {"x": x}, opset=opset)
    feed, inits = {"x": x}, {}
    ins = ["x", "", ""]
    for i, (name, v) in enumerate((("lo", lo_v), ("hi", hi_v))):
        if v is not None:
            as_input_or_init(draw, name, np.array(v, dtype=dtype), feed, inits)
            ins[i + 1] = name
    while ins and not ins[-1]:
        ins.pop()
    return build([node("Clip", ins)], feed, inits, opset=opset, label=f"Clip(min={lo_v}, max={hi_v})")


# -- binary and variadic elementwise -------------------------------------------------------


@st.composite
def broadcast_pair(draw, max_rank=4):
    out = draw(shape_st(0, max_rank))
    a, b = broadcast_to_shape(draw, out), broadcast_to_shape(draw, out)
    if draw(st.booleans()):
        a = out
    elif draw(st.booleans()):
        b = out
    return a, b


BINARY = {
    "Add": (NUMERIC, (13, 14)),
    "Sub": (NUMERIC, (13, 14)),
    "Mul": (NUMERIC, (13, 14)),
    "Div": (NUMERIC, (13, 14)),
    "Pow": ((np.float32, np.float64), (13, 15)),
    "Mod": ((np.int32, np.int64, np.float32), (13,)),
    "Equal": ((np.float32, np.int32, np.int64, np.bool_), (13, 19)),
    "Greater": ((np.float32, np.int32, np.int64), (13,)),
    "Less": ((np.float32, np.int32, np.int64), (13,)),
    "GreaterOrEqual": ((np.float32, np.int32, np.int64), (16,)),
    "LessOrEqual": ((np.float32, np.int32, np.int64), (16,)),
    "And": ((np.bool_,), (7,)),
    "Or": ((np.bool_,), (7,)),
    "Xor": ((np.bool_,), (7,)),
    "BitShift": ((np.uint8, np.uint32, np.uint64), (11,)),
    "BitwiseAnd": ((np.int32, np.int64, np.uint8), (18,)),
    "BitwiseOr": ((np.int32, np.int64, np.uint8), (18,)),
    "BitwiseXor": ((np.int32, np.int64, np.uint8), (18,)),
}


@st.composite
def binary_case(draw, op):
    dtypes, opsets = BINARY[op]
    rng = rng_from(draw)
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    sa, sb = draw(broadcast_pair())
    attrs = {}
    a = values(rng, sa, dtype, -6, 6)
    b = values(rng, sb, dtype, -6, 6)
    if op in ("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual") and dtype.kind == "f":
        a, b = np.round(a).astype(dtype), np.round(b).astype(dtype)  # ties happen
    if op == "Div" or op == "Mod":
        b = nonzero_values(rng, sb, dtype, 1 if dtype.kind in "iu" else 0.5, 4)
    if op == "Mod":
        attrs["fmod"] = 1 if dtype.kind == "f" else draw(st.sampled_from((0, 1)))
    if op == "Pow":
        a = values(rng, sa, dtype, 0.1, 3)
        b = values(rng, sb, dtype, -2, 2) if draw(st.booleans()) else np.round(values(rng, sb, dtype, -3, 3))
    if op == "BitShift":
        bits = dtype.itemsize * 8
        a = values(rng, sa, dtype, 0, 2**bits - 1 if bits < 64 else 2**62)
        b = values(rng, sb, dtype, 0, bits - 1)
        attrs["direction"] = draw(st.sampled_from(("LEFT", "RIGHT")))
    if op.startswith("Bitwise") and dtype.kind == "i":
        a, b = values(rng, sa, dtype, -1000, 1000), values(rng, sb, dtype, -1000, 1000)
    feed, inits = {"a": a}, {}
    as_input_or_init(draw, "b", b, feed, inits)
    return build([node(op, ["a", "b"], **attrs)], feed, inits, opset=draw(st.sampled_from(opsets)))


@st.composite
def variadic_case(draw, op):
    rng = rng_from(draw)
    out = draw(shape_st(0, 4))
    k = draw(st.integers(1, 4))
    opset = draw(st.sampled_from((8, 13)))
    ints = op in ("Max", "Min") and opset >= 12  # integer Max/Min arrived in opset 12
    dtype = draw(st.sampled_from((np.float32, np.int32, np.int64))) if ints else np.float32
    feed, inits, names = {}, {}, []
    for i in range(k):
        shape = out if i == 0 else broadcast_to_shape(draw, out)
        as_input_or_init(draw, f"x{i}", values(rng, shape, dtype), feed, inits, p_init=False if i == 0 else None)
        names.append(f"x{i}")
    return build([node(op, names)], feed, inits, opset=opset)


@st.composite
def where_case(draw):
    rng = rng_from(draw)
    out = draw(shape_st(0, 4))
    shapes = [broadcast_to_shape(draw, out) for _ in range(3)]
    shapes[draw(st.integers(0, 2))] = out
    dtype = draw(st.sampled_from((np.float32, np.int64, np.int32)))
    feed, inits = {"c": values(rng, shapes[0], bool)}, {}
    feed["a"] = values(rng, shapes[1], dtype)
    as_input_or_init(draw, "b", values(rng, shapes[2], dtype), feed, inits)
    return build([node("Where", ["c", "a", "b"])], feed, inits, opset=draw(st.sampled_from((9, 16))))


CAST_TYPES = (np.float32, np.float64, np.float16, np.int32, np.int64, np.int8, np.uint8, np.bool_)


@st.composite
def cast_case(draw):
    rng = rng_from(draw)
    src = np.dtype(draw(st.sampled_from(CAST_TYPES)))
    dst = np.dtype(draw(st.sampled_from(CAST_TYPES)))
    shape = draw(shape_st(0, 3))
    lo, hi = (-100, 100) if src.kind in "fi" else (0, 200)
    if dst.kind == "u" or src.kind == "u":
        lo = 0
    if src.itemsize == 1 or dst.itemsize == 1:
        hi = 100
    x = values(rng, shape, src, lo, hi)
    if src.kind == "f" and draw(st.booleans()):
        x = np.round(x).astype(src)  # exact integers and zeros survive every cast
    op = draw(st.sampled_from(("Cast", "Cast", "CastLike")))
    if op == "Cast":
        return build(
            [node("Cast", ["x"], to=helper.np_dtype_to_tensor_dtype(dst))],
            {"x": x},
            opset=draw(st.sampled_from((13, 19))),
        )
    return build([node("CastLike", ["x", "t"])], {"x": x}, {"t": np.zeros((1,), dst)}, opset=15, label="CastLike")


# -- shape ops --------------------------------------------------------------------------------


@st.composite
def concat_case(draw):
    rng = rng_from(draw)
    base = draw(shape_st(1, 4))
    axis = draw(st.integers(-len(base), len(base) - 1))
    k = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from((np.float32, np.float32, np.int64)))
    feed, inits, names = {}, {}, []
    for i in range(k):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 4))
        as_input_or_init(draw, f"x{i}", values(rng, tuple(shape), dtype), feed, inits, p_init=False if i == 0 else None)
        names.append(f"x{i}")
    return build([node("Concat", names, axis=axis)], feed, inits, opset=draw(st.sampled_from((11, 13))))


def _factor(n, parts, draw):
    """Split n into `parts` positive factors."""
    out = []
    for _ in range(parts - 1):
        divs = [d for d in range(1, n + 1) if n % d == 0]
        d = draw(st.sampled_from(divs))
        out.append(d)
        n //= d
    return out + [n]


@st.composite
def reshape_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(0, 4))
    size = math.prod(shape)
    rank = draw(st.integers(1, 4)) if size else 1
    target = _factor(size, rank, draw)
    # 0 copies the input dim at the same index; -1 is inferred.
    for i in range(rank):
        if i < len(shape) and shape[i] == target[i] and draw(st.booleans()):
            target[i] = 0
    if draw(st.booleans()):
        candidates = [i for i in range(rank) if target[i] != 0]
        if candidates:
            target[draw(st.sampled_from(candidates))] = -1
    dtype = draw(st.sampled_from((np.float32, np.int64)))
    feed, inits = {"x": values(rng, shape, dtype)}, {"shape": np.array(target, np.int64)}
    return build([node("Reshape", ["x", "shape"])], feed, inits, opset=draw(st.sampled_from((13, 14, 19))))


@st.composite
def transpose_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(0, 5, 1, 4))
    perm = draw(st.permutations(range(len(shape)))) if shape and draw(st.booleans()) else None
    dtype = draw(st.sampled_from((np.float32, np.int64, np.bool_)))
    return build([node("Transpose", ["x"], perm=perm)], {"x": values(rng, shape, dtype)}, opset=13)


@st.composite
def flatten_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4))
    axis = draw(st.integers(-len(shape), len(shape)))
    return build([node("Flatten", ["x"], axis=axis)], {"x": values(rng, shape, F32)}, opset=13)


@st.composite
def squeeze_case(draw, op):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((11, 13)))
    if op == "Squeeze":
        shape = tuple(draw(st.sampled_from((1, 1, 2, 3))) for _ in range(draw(st.integers(1, 4))))
        ones = [i for i, d in enumerate(shape) if d == 1]
        axes = (
            [a - len(shape) if draw(st.booleans()) else a for a in draw(st.sets(st.sampled_from(ones)))] if ones else []
        )
        if ones and not axes and draw(st.booleans()):
            axes = None  # squeeze every size-1 dim
    else:
        shape = draw(shape_st(0, 3))
        out_rank = len(shape) + draw(st.integers(1, 2))
        axes = sorted(
            draw(st.sets(st.integers(0, out_rank - 1), min_size=out_rank - len(shape), max_size=out_rank - len(shape)))
        )
        axes = [a - out_rank if draw(st.booleans()) else a for a in axes]
    feed, inits = {"x": values(rng, shape, F32)}, {}
    if opset < 13:
        return build([node(op, ["x"], axes=axes or None)], feed, opset=opset)
    ins = ["x"]
    if axes:
        inits["axes"] = np.array(axes, np.int64)
        ins.append("axes")
    elif op == "Unsqueeze":
        raise AssertionError("unsqueeze always has axes")
    return build([node(op, ins)], feed, inits, opset=opset)


@st.composite
def expand_case(draw):
    rng = rng_from(draw)
    out = draw(shape_st(0, 4))
    xs = broadcast_to_shape(draw, out)
    target = list(out)
    # The target may itself have 1s where x has larger dims, and fewer dims than x.
    for i in range(len(target)):
        j = i - (len(target) - len(xs))
        if j >= 0 and xs[j] != 1 and draw(st.booleans()):
            target[i] = 1
    if draw(st.booleans()) and len(target) > len(xs):
        target = target[len(target) - len(xs) :]
    inits = {"shape": np.array(target, np.int64)}
    return build([node("Expand", ["x", "shape"])], {"x": values(rng, xs, F32)}, inits, opset=13)


@st.composite
def tile_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 4))
    reps = [draw(st.integers(1, 3)) for _ in shape]
    return build([node("Tile", ["x", "r"])], {"x": values(rng, shape, F32)}, {"r": np.array(reps, np.int64)}, opset=13)


@st.composite
def split_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 7))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    opset = draw(st.sampled_from((11, 13, 18)))
    how = draw(st.sampled_from(("equal", "sizes", "num_outputs") if opset >= 18 else ("equal", "sizes")))
    feed, inits, ins, attrs = {"x": values(rng, shape, F32)}, {}, ["x"], {"axis": axis}
    if how == "sizes":
        cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=3))) if n > 1 else []
        sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
        if opset >= 13:
            inits["split"] = np.array(sizes, np.int64)
            ins.append("split")
        else:
            attrs["split"] = sizes
        k = len(sizes)
    elif how == "num_outputs":
        k = draw(st.integers(1, n))
        attrs["num_outputs"] = k
    else:
        divs = [d for d in range(1, n + 1) if n % d == 0]
        k = draw(st.sampled_from(divs))
        if opset >= 18:
            attrs["num_outputs"] = k
    outs = [f"y{i}" for i in range(k)]
    return build([node("Split", ins, outs, **attrs)], feed, inits, outputs=outs, opset=opset)


@st.composite
def depth_space_case(draw, op):
    rng = rng_from(draw)
    b = draw(st.integers(1, 3))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    attrs = {"blocksize": b}
    if op == "DepthToSpace":
        shape = (n, c * b * b, h, w)
        attrs["mode"] = draw(st.sampled_from(("DCR", "CRD")))
    else:
        shape = (n, c, h * b, w * b)
    return build([node(op, ["x"], **attrs)], {"x": values(rng, shape, F32)}, opset=13)


@st.composite
def pad_case(draw):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((11, 13, 18, 19)))
    modes = ("constant", "reflect", "edge") + (("wrap",) if opset >= 19 else ())
    mode = draw(st.sampled_from(modes))
    shape = draw(shape_st(1, 4, 1, 5))
    rank = len(shape)
    use_axes = opset >= 18 and draw(st.booleans())
    axes = sorted(draw(st.sets(st.integers(0, rank - 1), min_size=1))) if use_axes else list(range(rank))
    begin, end = [], []
    for a in axes:
        d = shape[a]
        if mode == "reflect":
            hi = d - 1  # reflect needs a pad smaller than the dim
            lo = 0
        elif mode == "constant":
            hi, lo = 3, -(d - 1) // 2  # negative pads crop
        else:
            hi, lo = 3, 0
        if mode == "wrap":
            hi = min(hi, d)
        begin.append(draw(st.integers(lo, max(lo, hi))))
        end.append(draw(st.integers(lo, max(lo, hi))))
    dtype = draw(st.sampled_from((np.float32, np.float32, np.int64)))
    feed, inits = {"x": values(rng, shape, dtype)}, {"pads": np.array(begin + end, np.int64)}
    ins = ["x", "pads"]
    if mode == "constant" and draw(st.booleans()):
        inits["value"] = np.array(draw(st.integers(-3, 3)), dtype)
        ins.append("value")
    if use_axes:
        if len(ins) == 2:
            ins.append("")
        inits["axes"] = np.array([a - rank if draw(st.booleans()) else a for a in axes], np.int64)
        ins.append("axes")
    return build([node("Pad", ins, mode=mode)], feed, inits, opset=opset)


@st.composite
def slice_case(draw):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((9, 10, 11, 13)))
    shape = draw(shape_st(1, 4, 1, 7))
    rank = len(shape)
    axes = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    starts, ends, steps = [], [], []
    for a in axes:
        d = shape[a]
        step = draw(st.sampled_from((1, 1, 1, 2, 3, -1, -1, -2))) if opset >= 10 else 1
        big = draw(st.sampled_from((d + 5, INT_MAX, -INT_MAX)))
        s = draw(st.one_of(st.integers(-d - 2, d + 2), st.just(big)))
        # onnxruntime reads ends=INT64_MAX with a negative step as "to the start" (the spec
        # and onnx.reference clamp it to dim-1, an empty slice): not generated.
        e = draw(st.one_of(st.integers(-d - 2, d + 2), st.just(-INT_MAX if step < 0 and big == INT_MAX else big)))
        starts.append(s)
        ends.append(e)
        steps.append(step)
    neg_axes = [a - rank if draw(st.booleans()) else a for a in axes]
    dtype = draw(st.sampled_from((np.float32, np.int64)))
    feed = {"x": values(rng, shape, dtype)}
    if opset < 10:
        clip = (
            [int(np.clip(v, -(2**31), 2**31 - 1)) for v in starts],
            [int(np.clip(v, -(2**31), 2**31 - 1)) for v in ends],
        )
        return build([node("Slice", ["x"], starts=clip[0], ends=clip[1], axes=neg_axes)], feed, opset=opset)
    idx = draw(st.sampled_from((np.int64, np.int32)))
    if idx == np.int32:
        starts = [int(np.clip(v, -(2**31), 2**31 - 1)) for v in starts]
        ends = [int(np.clip(v, -(2**31), 2**31 - 1)) for v in ends]
    inits = {"starts": np.array(starts, idx), "ends": np.array(ends, idx)}
    ins = ["x", "starts", "ends"]
    with_axes = draw(st.booleans()) or sorted(axes) != list(range(len(axes)))
    if with_axes or steps != [1] * len(steps):
        if with_axes:
            inits["axes"] = np.array(neg_axes, idx)
            ins.append("axes")
        else:
            ins.append("")
    if steps != [1] * len(steps) or draw(st.booleans()):
        if len(ins) == 3:
            inits["axes"] = np.array(neg_axes, idx)
            ins.append("axes")
        inits["steps"] = np.array(steps, idx)
        ins.append("steps")
    if not with_axes and "axes" not in inits:
        # Without axes, starts/ends apply to dims 0..k-1 in order.
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        inits["starts"] = inits["starts"][order]
        inits["ends"] = inits["ends"][order]
        if "steps" in inits:
            inits["steps"] = inits["steps"][order]
    return build([node("Slice", ins)], feed, inits, opset=opset)


@st.composite
def gather_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    ishape = draw(shape_st(0, 2, 1, 4))
    idx_dtype = draw(st.sampled_from((np.int64, np.int32)))
    idx = rng.integers(-n, n, ishape).astype(idx_dtype)
    dtype = draw(st.sampled_from((np.float32, np.int64)))
    feed, inits = {"x": values(rng, shape, dtype)}, {}
    as_input_or_init(draw, "i", idx, feed, inits)
    return build(
        [node("Gather", ["x", "i"], axis=axis if axis or draw(st.booleans()) else None)], feed, inits, opset=13
    )


@st.composite
def gather_elements_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    ishape = list(shape)
    ishape[axis] = draw(st.integers(1, 4))
    if op == "GatherElements":
        ishape = [draw(st.integers(1, d)) if i != axis % len(shape) else ishape[i] for i, d in enumerate(ishape)]
        idx = rng.integers(-n, n, ishape).astype(np.int64)
        feed = {"x": values(rng, shape, F32)}
        return build([node(op, ["x", "i"], axis=axis)], feed, {"i": idx}, opset=13)
    # ScatterElements: unique indices per position along the axis unless reducing.
    reduction = draw(st.sampled_from(("none", "none", "add", "mul", "max", "min")))
    ishape = [draw(st.integers(1, d)) for d in shape]
    ax = axis % len(shape)
    if reduction == "none":
        perm = np.argsort(rng.random((*ishape[:ax], n, *ishape[ax + 1 :])), axis=ax)
        idx = np.take(perm, np.arange(ishape[ax]), axis=ax)
    else:
        idx = rng.integers(0, n, ishape)
    idx = np.where(rng.random(idx.shape) < 0.3, idx - n, idx).astype(np.int64)
    upd = values(rng, tuple(ishape), F32)
    attrs = {"axis": axis, "reduction": reduction if reduction != "none" or draw(st.booleans()) else None}
    opset = 18 if reduction in ("max", "min") else draw(st.sampled_from((16, 18)))
    return build(
        [node(op, ["x", "i", "u"], **attrs)], {"x": values(rng, shape, F32), "u": upd}, {"i": idx}, opset=opset
    )


@st.composite
def gather_nd_case(draw, op):
    rng = rng_from(draw)
    batch = draw(st.integers(0, 1)) if op == "GatherND" else 0
    shape = draw(shape_st(1 + batch, 4, 1, 4))
    k = draw(st.integers(1, len(shape) - batch))
    lead = list(shape[:batch]) + draw(st.lists(st.integers(1, 3), max_size=2))
    if op == "GatherND":
        idx = np.stack([rng.integers(-d, d, lead) for d in shape[batch : batch + k]], axis=-1).astype(np.int64)
        return build(
            [node(op, ["x", "i"], batch_dims=batch or None)], {"x": values(rng, shape, F32)}, {"i": idx}, opset=13
        )
    # ScatterND: distinct index tuples (duplicates are undefined without reduction).
    space = list(itertools.product(*[range(d) for d in shape[:k]]))
    count = draw(st.integers(1, min(4, len(space))))
    picks = [space[i] for i in rng.choice(len(space), count, replace=False)]
    idx = np.array(picks, np.int64).reshape(count, k)
    upd = values(rng, (count, *shape[k:]), F32)
    reduction = draw(st.sampled_from((None, "add", "mul")))
    opset = 18 if reduction else 13
    return build(
        [node(op, ["x", "i", "u"], reduction=reduction)],
        {"x": values(rng, shape, F32), "u": upd},
        {"i": idx},
        opset=opset,
    )


def _nearest_tie(n: int, out: int, r0: float, r1: float) -> bool:
    """A tf_crop_and_resize source coordinate within float error of a rounding boundary (x.5 or an integer):
    float32 evaluation order then decides the pixel, and onnxruntime and MLX order it differently."""
    r0, r1 = float(np.float32(r0)), float(np.float32(r1))
    if out == 1:
        xs = [(r1 - r0) * (n - 1) / 2 + r0 * (n - 1)]
    else:
        xs = [y * (r1 - r0) * (n - 1) / (out - 1) + r0 * (n - 1) for y in range(out)]
    for x in xs:
        frac = x - math.floor(x)
        if min(abs(frac - 0.5), frac, 1 - frac) < 1e-3 and abs(x - round(x * 2) / 2) > 0:
            return True
    return False


@st.composite
def resize_case(draw):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((11, 13, 18, 19)))
    mode = draw(st.sampled_from(("nearest", "nearest", "linear", "linear", "cubic")))
    ctms = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize"]
    if opset >= 19:
        ctms.append("half_pixel_symmetric")
    ctm = draw(st.sampled_from(ctms))
    rank = draw(st.sampled_from((4, 4, 4, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + tuple(draw(st.integers(1, 6)) for _ in range(rank - 2))
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")))
    if mode == "cubic":
        attrs["cubic_coeff_a"] = draw(st.sampled_from((-0.75, -0.5)))
        attrs["exclude_outside"] = draw(st.sampled_from((0, 1)))
    # Opset 18: resize only the spatial axes (axes attribute), antialiased downscaling.
    axes = list(range(2, rank)) if opset >= 18 and draw(st.booleans()) else None
    if axes is not None:
        attrs["axes"] = axes if draw(st.booleans()) else [a - rank for a in axes]
    if opset >= 18 and mode != "nearest" and draw(st.integers(0, 3)) == 0:
        attrs["antialias"] = 1
    full = list(range(rank)) if axes is None else list(range(2, rank))
    inits: dict = {}
    roi_name = ""
    if ctm == "tf_crop_and_resize":
        lo = [0.0 if a < 2 else float(draw(st.sampled_from((0.0, 0.1, 0.25)))) for a in full]
        hi = [1.0 if a < 2 else float(draw(st.sampled_from((1.0, 0.9, 0.6, 1.2)))) for a in full]
        inits["roi"] = np.array(lo + hi, F32)
        roi_name = "roi"
        attrs["extrapolation_value"] = float(draw(st.sampled_from((0.0, -1.0))))
    elif opset < 13:
        inits["roi"] = np.array([], F32)  # opset 11 wants roi and scales present, even empty
        roi_name = "roi"
    ins = ["x", roi_name]
    if draw(st.booleans()):
        fac = [1.0 if a < 2 else float(draw(st.sampled_from((0.5, 0.6, 1.0, 1.5, 2.0, 2.0, 3.0)))) for a in full]
        inits["scales"] = np.array(fac, F32)
        ins.append("scales")
    else:
        sizes = [shape[a] if a < 2 else draw(st.integers(1, 2 * shape[a] + 2)) for a in full]
        if opset >= 18 and len(sizes) > 1 and draw(st.booleans()):
            attrs["keep_aspect_ratio_policy"] = draw(st.sampled_from(("not_larger", "not_smaller")))
            # The policy needs the non-spatial dims left alone: resize the spatial axes only. onnxruntime
            # ignores the policy with negative axes (keeps the input size): positive axes only.
            attrs["axes"] = list(range(2, rank))
            if axes is None:
                sizes = sizes[2:]
                if roi_name == "roi" and ctm == "tf_crop_and_resize":
                    k = len(full)
                    inits["roi"] = np.concatenate([inits["roi"][2:k], inits["roi"][k + 2 :]])
        inits["sizes"] = np.array(sizes, np.int64)
        if opset < 13:
            inits["scales"] = np.array([], F32)
        ins += ["scales" if opset < 13 else "", "sizes"]
    if ctm == "tf_crop_and_resize" and "roi" in inits:
        # onnxruntime skips every axis whose size does not change, whatever the roi says there (onnx.reference
        # and we crop it): use the identity roi on those axes.
        case = build([node("Resize", ins, **attrs)], {"x": np.zeros(shape, F32)}, inits, opset=opset)
        out = [d.dim_value for d in case.model.graph.output[0].type.tensor_type.shape.dim]
        roi_axes = [a % rank for a in attrs.get("axes") or range(rank)]
        k = inits["roi"].size // 2
        roi = inits["roi"].copy()
        for j, a in enumerate(roi_axes[:k]):
            if out and (
                out[a] == shape[a] or (mode == "nearest" and _nearest_tie(shape[a], out[a], roi[j], roi[j + k]))
            ):
                roi[j], roi[j + k] = 0.0, 1.0
        inits["roi"] = roi
    return build([node("Resize", ins, **attrs)], {"x": values(rng, shape, F32)}, inits, opset=opset)


@st.composite
def upsample_case(draw):
    rng = rng_from(draw)
    shape = (1, draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    mode = draw(st.sampled_from(("nearest", "linear")))
    scales = np.array([1, 1, draw(st.sampled_from((1.0, 2.0, 3.0, 1.5))), draw(st.sampled_from((1.0, 2.0, 2.5)))], F32)
    return build([node("Upsample", ["x", "s"], mode=mode)], {"x": values(rng, shape, F32)}, {"s": scales}, opset=9)


# -- reductions -------------------------------------------------------------------------------------


REDUCE_AXES_INPUT_SINCE = {"ReduceSum": 13}


@st.composite
def reduce_case(draw, op):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((11, 13, 18)))
    shape = draw(shape_st(1, 4, 1, 5))
    rank = len(shape)
    axes = draw(st.one_of(st.none(), st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True)))
    if axes is not None:
        axes = [a - rank if draw(st.booleans()) else a for a in axes]
    keepdims = draw(st.sampled_from((None, 0, 1)))
    lo, hi = (0.05, 3) if op in ("ReduceLogSum", "ReduceProd") else (-3, 3)
    if op == "ReduceProd":
        lo, hi = 0.5, 1.5
    dtype = np.float32
    if op in ("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd") and draw(st.booleans()):
        dtype = draw(st.sampled_from((np.int32, np.int64)))
        lo, hi = (-3, 3) if op != "ReduceProd" else (-1, 1)  # integer overflow is not a property
    feed, inits = {"x": values(rng, shape, dtype, lo, hi)}, {}
    attrs = {"keepdims": keepdims}
    ins = ["x"]
    axes_as_input = opset >= 18 or (op in REDUCE_AXES_INPUT_SINCE and opset >= REDUCE_AXES_INPUT_SINCE[op])
    if axes_as_input:
        if axes is not None:
            inits["axes"] = np.array(axes, np.int64)
            ins.append("axes")
        elif draw(st.booleans()):
            inits["axes"] = np.array([], np.int64)
            ins.append("axes")
            attrs["noop_with_empty_axes"] = draw(st.sampled_from((0, 1)))
    else:
        attrs["axes"] = axes
    return build([node(op, ins, **attrs)], feed, inits, opset=opset)


@st.composite
def arg_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = np.round(values(rng, shape, F32, -2, 2))  # ties
    attrs = {
        "axis": axis,
        "keepdims": draw(st.sampled_from((None, 0, 1))),
        "select_last_index": draw(st.sampled_from((None, 0, 1))),
    }
    return build([node(op, ["x"], **attrs)], {"x": x.astype(F32)}, opset=13)


@st.composite
def softmax_case(draw, op):
    rng = rng_from(draw)
    opset = draw(st.sampled_from((11, 13)))
    shape = draw(shape_st(1, 4, 1, 6))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = values(rng, shape, F32, -8, 8)
    if op == "Hardmax":
        x = np.round(x / 4).astype(F32)  # ties: the first index wins
    return build(
        [node(op, ["x"], axis=axis if axis != (-1 if opset >= 13 else 1) or draw(st.booleans()) else None)],
        {"x": x},
        opset=opset,
    )


@st.composite
def cumsum_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    dtype = draw(st.sampled_from((np.float32, np.int32, np.int64)))
    attrs = {"exclusive": draw(st.sampled_from((None, 0, 1))), "reverse": draw(st.sampled_from((None, 0, 1)))}
    inits = {"axis": np.array(axis, draw(st.sampled_from((np.int64, np.int32))))}
    return build([node("CumSum", ["x", "axis"], **attrs)], {"x": values(rng, shape, dtype)}, inits, opset=14)


@st.composite
def topk_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 6))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    x = rng.permutation(np.prod(shape)).reshape(shape).astype(F32)  # distinct values: no tie order to argue about
    k = draw(st.integers(1, n))
    attrs = {"axis": axis, "largest": draw(st.sampled_from((None, 0, 1))), "sorted": draw(st.sampled_from((None, 1)))}
    return build(
        [node("TopK", ["x", "k"], ["v", "i"], **attrs)],
        {"x": x},
        {"k": np.array([k], np.int64)},
        outputs=["v", "i"],
        opset=11,
    )


# -- matrix ops and normalizations ---------------------------------------------------------------------


@st.composite
def gemm_case(draw):
    rng = rng_from(draw)
    m, k, n = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    ta, tb = draw(st.sampled_from((0, 1))), draw(st.sampled_from((0, 1)))
    a = values(rng, (k, m) if ta else (m, k), F32)
    b = values(rng, (n, k) if tb else (k, n), F32)
    feed, inits = {"a": a}, {}
    as_input_or_init(draw, "b", b, feed, inits, p_init=draw(st.sampled_from((True, True, False))))
    ins = ["a", "b"]
    c_shape = draw(st.sampled_from(((), (1,), (n,), (1, n), (m, 1), (m, n), None)))
    if c_shape is not None:
        as_input_or_init(draw, "c", values(rng, c_shape, F32), feed, inits)
        ins.append("c")
    attrs = {
        "transA": ta or None, "transB": tb or None,
        "alpha": float(draw(st.sampled_from((1.0, 0.5, -2.0)))) if draw(st.booleans()) else None,
        "beta": float(draw(st.sampled_from((1.0, 0.0, 0.5, -1.5)))) if draw(st.booleans()) else None,
    }  # fmt: skip
    return build([node("Gemm", ins, **attrs)], feed, inits, opset=draw(st.sampled_from((11, 13))))


@st.composite
def matmul_case(draw):
    rng = rng_from(draw)
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    batch = draw(shape_st(0, 2, 1, 3))
    ba, bb = broadcast_to_shape(draw, batch), broadcast_to_shape(draw, batch)
    sa = (k,) if draw(st.integers(0, 5)) == 0 else (*ba, m, k)
    sb = (k,) if draw(st.integers(0, 5)) == 0 else (*bb, k, n)
    dtype = draw(st.sampled_from((np.float32, np.float32, np.int32, np.int64)))
    feed, inits = {"a": values(rng, sa, dtype)}, {}
    as_input_or_init(draw, "b", values(rng, sb, dtype), feed, inits)
    return build([node("MatMul", ["a", "b"])], feed, inits, opset=13)


@st.composite
def batchnorm_case(draw):
    rng = rng_from(draw)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 5))) + draw(shape_st(0, 3, 1, 5))
    c = shape[1]
    inits = {
        "s": values(rng, (c,), F32, -2, 2), "b": values(rng, (c,), F32),
        "m": values(rng, (c,), F32), "v": values(rng, (c,), F32, 0.05, 3),
    }  # fmt: skip
    feed = {"x": values(rng, shape, F32)}
    if draw(st.booleans()):  # statistics as run-time inputs: not foldable
        for k in ("m", "v"):
            feed[k] = inits.pop(k)
    eps = draw(st.sampled_from((None, 1e-5, 1e-3, 0.1)))
    return build(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=eps)],
        feed,
        inits,
        opset=draw(st.sampled_from((9, 14, 15))),
    )


@st.composite
def instance_norm_case(draw):
    rng = rng_from(draw)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4))) + draw(shape_st(1, 2, 1, 5))
    c = shape[1]
    inits = {"s": values(rng, (c,), F32), "b": values(rng, (c,), F32)}
    return build(
        [node("InstanceNormalization", ["x", "s", "b"], epsilon=draw(st.sampled_from((None, 1e-3))))],
        {"x": values(rng, shape, F32)},
        inits,
        opset=6,
        tol=(1e-3, 1e-3),
    )


@st.composite
def layer_norm_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    norm_shape = shape[axis:]
    inits = {"s": values(rng, norm_shape, F32)}
    ins = ["x", "s"]
    if draw(st.booleans()):
        inits["b"] = values(rng, norm_shape, F32)
        ins.append("b")
    return build(
        [node("LayerNormalization", ins, axis=axis, epsilon=draw(st.sampled_from((None, 1e-3))))],
        {"x": values(rng, shape, F32)},
        inits,
        opset=17,
        tol=(1e-3, 1e-3),
    )


@st.composite
def group_norm_case(draw):
    rng = rng_from(draw)
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 2)), c) + draw(shape_st(1, 2, 1, 4))
    inits = {"s": values(rng, (c,), F32), "b": values(rng, (c,), F32)}
    return build(
        [node("GroupNormalization", ["x", "s", "b"], num_groups=groups)],
        {"x": values(rng, shape, F32)},
        inits,
        opset=21,
        tol=(1e-3, 1e-3),
    )


@st.composite
def lrn_case(draw):
    rng = rng_from(draw)
    shape = (1, draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    attrs = dict(
        size=draw(st.sampled_from((1, 3, 5))),
        alpha=float(draw(st.sampled_from((1e-4, 0.1)))),
        beta=float(draw(st.sampled_from((0.75, 0.5)))),
        bias=float(draw(st.sampled_from((1.0, 2.0)))),
    )
    return build([node("LRN", ["x"], **attrs)], {"x": values(rng, shape, F32)}, opset=13)


@st.composite
def lp_norm_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 5))
    attrs = dict(axis=draw(st.integers(-len(shape), len(shape) - 1)), p=draw(st.sampled_from((1, 2))))
    return build([node("LpNormalization", ["x"], **attrs)], {"x": nonzero_values(rng, shape, F32)}, opset=1)


@st.composite
def mvn_case(draw):
    rng = rng_from(draw)
    axes = draw(st.sampled_from(([0, 2, 3], [2, 3], [1], [0, 1, 2, 3])))
    shape = list(draw(shape_st(4, 4, 1, 4)))
    if math.prod(shape[a] for a in axes) == 1:
        # onnxruntime divides by a zero std (NaN); the spec's function adds 1e-9 (0, as we do).
        shape[axes[-1]] = 2
    shape = tuple(shape)
    return build(
        [node("MeanVarianceNormalization", ["x"], axes=axes)],
        {"x": values(rng, shape, F32)},
        opset=13,
        tol=(1e-3, 1e-3),
    )


# -- misc -------------------------------------------------------------------------------------------------


@st.composite
def trilu_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(2, 4, 1, 5))
    feed, inits, ins = {"x": values(rng, shape, F32)}, {}, ["x"]
    if draw(st.booleans()):
        inits["k"] = np.array(draw(st.integers(-6, 6)), np.int64)
        ins.append("k")
    return build([node("Trilu", ins, upper=draw(st.sampled_from((None, 0, 1))))], feed, inits, opset=14)


@st.composite
def onehot_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 4))
    depth = draw(st.integers(1, 6))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    idx = rng.integers(-depth, depth, shape).astype(np.int64)
    inits = {"d": np.array(depth, np.int64), "v": np.array([draw(st.integers(-2, 0)), draw(st.integers(1, 3))], F32)}
    return build([node("OneHot", ["i", "d", "v"], axis=axis)], {"i": idx}, inits, opset=11)


@st.composite
def range_case(draw):
    start = draw(st.integers(-5, 5))
    delta = draw(st.sampled_from((1, 2, 3, -1, -2)))
    limit = start + delta * draw(st.integers(0, 6)) + draw(st.integers(-1, 1))
    dtype = draw(st.sampled_from((np.int64, np.int32, np.float32)))
    inits = {"s": np.array(start, dtype), "l": np.array(limit, dtype), "d": np.array(delta, dtype)}
    # Range's output size is data-dependent: with constant inputs it folds to a constant.
    return build([node("Range", ["s", "l", "d"], ["r"]), node("Identity", ["r"])], {}, inits, opset=11, label="Range")


@st.composite
def constant_of_shape_case(draw):
    shape = draw(shape_st(0, 3, 1, 4))
    dtype = draw(st.sampled_from((np.float32, np.int64, np.int32)))
    value = numpy_helper.from_array(np.array([draw(st.integers(-3, 3))], dtype), "value")
    x = np.zeros(shape, F32)
    nodes = [node("Shape", ["x"], ["s"]), node("ConstantOfShape", ["s"], value=value if draw(st.booleans()) else None)]
    return build(nodes, {"x": x}, opset=draw(st.sampled_from((9, 20))), label="ConstantOfShape")


@st.composite
def shape_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(0, 4))
    attrs = {}
    opset = 13
    if op == "Shape" and draw(st.booleans()):
        opset = 15
        attrs = {
            "start": draw(st.integers(-len(shape) - 1, len(shape))),
            "end": draw(st.one_of(st.none(), st.integers(-len(shape) - 1, len(shape) + 1))),
        }
    return build([node(op, ["x"], **attrs)], {"x": values(rng, shape, F32)}, opset=opset)


@st.composite
def eye_like_case(draw):
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    attrs = {
        "k": draw(st.integers(-5, 5)),
        "dtype": draw(st.sampled_from((None, onnx.TensorProto.INT64, onnx.TensorProto.FLOAT))),
    }
    return build([node("EyeLike", ["x"], **attrs)], {"x": np.zeros(shape, F32)}, opset=9)


EINSUMS = (
    "ij,jk->ik",
    "bij,bjk->bik",
    "ij->ji",
    "ii->i",
    "ij->",
    "i,i->",
    "i,j->ij",
    "bhqd,bhkd->bhqk",
    "...ij,...jk->...ik",
    "ij,ij->ij",
)


@st.composite
def einsum_case(draw):
    rng = rng_from(draw)
    eq = draw(st.sampled_from(EINSUMS))
    lhs = eq.split("->")[0].split(",")
    sizes = {c: draw(st.integers(1, 4)) for c in set(eq) if c.isalpha()}
    ell = draw(shape_st(0, 2, 1, 3))
    feed = {}
    for i, term in enumerate(lhs):
        shape = (tuple(ell) if term.startswith("...") else ()) + tuple(sizes[c] for c in term.replace("...", ""))
        feed[f"x{i}"] = values(rng, shape, F32)
    return build([node("Einsum", list(feed), equation=eq)], feed, opset=12)


@st.composite
def nonzero_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 5))
    x = values(rng, shape, F32, -2, 2)
    x = np.where(np.abs(x) < 1, 0, np.round(x)).astype(F32)
    if op == "Unique":
        return build([node("Unique", ["x"], ["u"], sorted=1)], {"x": x}, opset=11, label="Unique")
    return build([node("NonZero", ["x"])], {"x": x}, opset=13)


SINGLE_OPS = {
    # Face-model ops first.
    "Conv": conv_case(),
    "MaxPool": pool_case("MaxPool"),
    "AveragePool": pool_case("AveragePool"),
    "Relu": unary_case("Relu"),
    "LeakyRelu": unary_case("LeakyRelu"),
    "PRelu": prelu_case(),
    "Sigmoid": unary_case("Sigmoid"),
    "Clip": clip_case(),
    "Add": binary_case("Add"),
    "Mul": binary_case("Mul"),
    "Sub": binary_case("Sub"),
    "Div": binary_case("Div"),
    "Concat": concat_case(),
    "Reshape": reshape_case(),
    "Transpose": transpose_case(),
    "Softmax": softmax_case("Softmax"),
    "Gemm": gemm_case(),
    "Slice": slice_case(),
    "Gather": gather_case(),
    "Resize": resize_case(),
    "Pad": pad_case(),
    "ReduceMean": reduce_case("ReduceMean"),
    "ReduceSum": reduce_case("ReduceSum"),
    "BatchNormalization": batchnorm_case(),
    # Everything else we can generate.
    "ConvTranspose": conv_transpose_case(),
    "GlobalAveragePool": global_pool_case("GlobalAveragePool"),
    "GlobalMaxPool": global_pool_case("GlobalMaxPool"),
    "GlobalLpPool": lp_pool_case("GlobalLpPool"),
    "LpPool": lp_pool_case("LpPool"),
    "Pow": binary_case("Pow"),
    "Mod": binary_case("Mod"),
    "Equal": binary_case("Equal"),
    "Greater": binary_case("Greater"),
    "Less": binary_case("Less"),
    "GreaterOrEqual": binary_case("GreaterOrEqual"),
    "LessOrEqual": binary_case("LessOrEqual"),
    "And": binary_case("And"),
    "Or": binary_case("Or"),
    "Xor": binary_case("Xor"),
    "BitShift": binary_case("BitShift"),
    "BitwiseAnd": binary_case("BitwiseAnd"),
    "BitwiseOr": binary_case("BitwiseOr"),
    "BitwiseXor": binary_case("BitwiseXor"),
    "Max": variadic_case("Max"),
    "Min": variadic_case("Min"),
    "Sum": variadic_case("Sum"),
    "Mean": variadic_case("Mean"),
    "Where": where_case(),
    "Cast": cast_case(),
    "Flatten": flatten_case(),
    "Squeeze": squeeze_case("Squeeze"),
    "Unsqueeze": squeeze_case("Unsqueeze"),
    "Expand": expand_case(),
    "Tile": tile_case(),
    "Split": split_case(),
    "DepthToSpace": depth_space_case("DepthToSpace"),
    "SpaceToDepth": depth_space_case("SpaceToDepth"),
    "GatherElements": gather_elements_case("GatherElements"),
    "ScatterElements": gather_elements_case("ScatterElements"),
    "GatherND": gather_nd_case("GatherND"),
    "ScatterND": gather_nd_case("ScatterND"),
    "Upsample": upsample_case(),
    "ReduceMax": reduce_case("ReduceMax"),
    "ReduceMin": reduce_case("ReduceMin"),
    "ReduceProd": reduce_case("ReduceProd"),
    "ReduceL1": reduce_case("ReduceL1"),
    "ReduceL2": reduce_case("ReduceL2"),
    "ReduceLogSum": reduce_case("ReduceLogSum"),
    "ReduceLogSumExp": reduce_case("ReduceLogSumExp"),
    "ReduceSumSquare": reduce_case("ReduceSumSquare"),
    "ArgMax": arg_case("ArgMax"),
    "ArgMin": arg_case("ArgMin"),
    "LogSoftmax": softmax_case("LogSoftmax"),
    "Hardmax": softmax_case("Hardmax"),
    "CumSum": cumsum_case(),
    "TopK": topk_case(),
    "MatMul": matmul_case(),
    "InstanceNormalization": instance_norm_case(),
    "LayerNormalization": layer_norm_case(),
    "GroupNormalization": group_norm_case(),
    "LRN": lrn_case(),
    "LpNormalization": lp_norm_case(),
    "MeanVarianceNormalization": mvn_case(),
    "Trilu": trilu_case(),
    "OneHot": onehot_case(),
    "Range": range_case(),
    "ConstantOfShape": constant_of_shape_case(),
    "Shape": shape_case("Shape"),
    "Size": shape_case("Size"),
    "EyeLike": eye_like_case(),
    "Einsum": einsum_case(),
    "NonZero": nonzero_case("NonZero"),
    "Unique": nonzero_case("Unique"),
}
for _op in UNARY:
    SINGLE_OPS.setdefault(_op, unary_case(_op))

FACE_OPS = tuple(list(SINGLE_OPS)[:24])


# -- more ops ----------------------------------------------------------------------------------------------


@st.composite
def bitwise_not_case(draw):
    rng = rng_from(draw)
    dtype = draw(st.sampled_from((np.int32, np.int64, np.uint8)))
    return build([node("BitwiseNot", ["x"])], {"x": values(rng, draw(shape_st(0, 3)), dtype, -100, 100)}, opset=18)


@st.composite
def constant_case(draw):
    rng = rng_from(draw)
    dtype = draw(st.sampled_from((np.float32, np.int64)))
    value = values(rng, draw(shape_st(0, 3)), dtype)
    x = values(rng, value.shape, dtype)
    nodes = [node("Constant", [], ["c"], value=numpy_helper.from_array(value, "c")), node("Add", ["x", "c"])]
    return build(nodes, {"x": x}, opset=13, label="Constant")


@st.composite
def dropout_case(draw):
    rng = rng_from(draw)
    x = values(rng, draw(shape_st(1, 3)), F32)
    with_mask = draw(st.booleans())
    outs = ["y", "mask"] if with_mask else ["y"]
    return build([node("Dropout", ["x"], outs)], {"x": x}, outputs=outs, opset=13)


@st.composite
def compress_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 5))
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    n = math.prod(shape) if axis is None else shape[axis]
    cond = rng.integers(0, 2, draw(st.integers(1, n))).astype(bool)
    return build([node("Compress", ["x", "c"], axis=axis)], {"x": values(rng, shape, F32)}, {"c": cond}, opset=11)


@st.composite
def reverse_sequence_case(draw):
    rng = rng_from(draw)
    t, b = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    rest = draw(shape_st(0, 2, 1, 3))
    batch_axis = draw(st.sampled_from((0, 1)))
    shape = (b, t, *rest) if batch_axis == 0 else (t, b, *rest)
    lens = rng.integers(1, t + 1, b).astype(np.int64)
    attrs = dict(batch_axis=batch_axis, time_axis=1 - batch_axis)
    return build([node("ReverseSequence", ["x", "l"], **attrs)], {"x": values(rng, shape, F32)}, {"l": lens}, opset=10)


@st.composite
def quantize_case(draw, op):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 5))
    per_axis = draw(st.booleans()) and len(shape) > 1
    axis = draw(st.integers(0, len(shape) - 1)) if per_axis else None
    qshape = (shape[axis],) if per_axis else ()
    qtype = draw(st.sampled_from((np.uint8, np.int8)))
    scale = values(rng, qshape, F32, 0.01, 0.5)
    zp = values(rng, qshape, qtype, 0 if qtype == np.uint8 else -20, 20)
    if op == "QuantizeLinear":
        return build(
            [node(op, ["x", "s", "z"], axis=axis)],
            {"x": values(rng, shape, F32, -5, 5)},
            {"s": scale, "z": zp},
            opset=13,
        )
    q = values(rng, shape, qtype, 0 if qtype == np.uint8 else -128, 127)
    return build([node(op, ["q", "s", "z"], axis=axis)], {"q": q}, {"s": scale, "z": zp}, opset=13)


@st.composite
def dynamic_quantize_case(draw):
    rng = rng_from(draw)
    x = values(rng, draw(shape_st(1, 3, 1, 5)), F32, -4, 4)
    return build(
        [node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])],
        {"x": x},
        outputs=["y", "s", "z"],
        opset=11,
        tol=(1e-6, 1e-6),
    )


@st.composite
def matmul_integer_case(draw):
    rng = rng_from(draw)
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    a = values(rng, (m, k), np.uint8, 0, 255)
    b = values(rng, (k, n), np.int8, -128, 127)
    inits = {
        "b": b,
        "az": np.array(draw(st.integers(0, 255)), np.uint8),
        "bz": np.array(draw(st.integers(-128, 127)), np.int8),
    }
    case = build([node("MatMulInteger", ["a", "b", "az", "bz"])], {"a": a}, inits, opset=10)
    # Exact int64 oracle: onnxruntime's u8 x s8 GEMM saturates pair sums to int16 on AVX2-only CPUs.
    case.reference = lambda feed: [exact_reference.matmul_integer(feed["a"], b, inits["az"], inits["bz"])]
    return case


@st.composite
def det_case(draw):
    rng = rng_from(draw)
    n = draw(st.integers(1, 4))
    batch = draw(shape_st(0, 2, 1, 3))
    return build([node("Det", ["x"])], {"x": values(rng, (*batch, n, n), F32, -1, 1)}, opset=11, tol=(1e-3, 1e-3))


@st.composite
def center_crop_pad_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 3, 1, 6))
    target = [draw(st.integers(1, 8)) for _ in shape]
    return build(
        [node("CenterCropPad", ["x", "s"])], {"x": values(rng, shape, F32)}, {"s": np.array(target, np.int64)}, opset=18
    )


@st.composite
def grid_sample_case(draw):
    rng = rng_from(draw)
    n, c, h, w = 1, draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    oh, ow = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    attrs = dict(
        mode=draw(st.sampled_from(("linear", "nearest", "cubic"))),
        padding_mode=draw(st.sampled_from(("zeros", "border", "reflection"))),
        align_corners=draw(st.sampled_from((0, 1))),
    )
    # cubic + border/reflection outside [-1, 1]: onnxruntime clamps the coordinate, the spec each tap
    # (test_grid_sample_cubic_border_follows_spec): keep that combination inside the grid.
    lim = 1.0 if attrs["mode"] == "cubic" and attrs["padding_mode"] != "zeros" else 1.2
    grid = values(rng, (n, oh, ow, 2), F32, -lim, lim)
    return build(
        [node("GridSample", ["x", "g"], **attrs)],
        {"x": values(rng, (n, c, h, w), F32), "g": grid},
        opset=20,
        tol=(1e-3, 1e-3),
    )


@st.composite
def roi_align_case(draw):
    rng = rng_from(draw)
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(2, 8)), draw(st.integers(2, 8))
    k = draw(st.integers(1, 3))
    x0 = rng.uniform(0, w - 1, k)
    y0 = rng.uniform(0, h - 1, k)
    rois = np.stack([x0, y0, x0 + rng.uniform(0.5, 3, k), y0 + rng.uniform(0.5, 3, k)], 1).astype(F32)
    attrs = dict(
        mode=draw(st.sampled_from(("avg", "max"))), output_height=draw(st.integers(1, 3)), output_width=draw(st.integers(1, 3)),
        sampling_ratio=draw(st.integers(0, 2)), spatial_scale=1.0,
        coordinate_transformation_mode=draw(st.sampled_from(("half_pixel", "output_half_pixel"))),
    )  # fmt: skip
    inits = {"r": rois, "b": np.zeros(k, np.int64)}
    return build(
        [node("RoiAlign", ["x", "r", "b"], **attrs)],
        {"x": values(rng, (1, c, h, w), F32)},
        inits,
        opset=16,
        tol=(1e-3, 1e-3),
    )


@st.composite
def affine_grid_case(draw):
    rng = rng_from(draw)
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    theta = values(rng, (n, 2, 3), F32, -1, 1)
    size = np.array([n, draw(st.integers(1, 3)), h, w], np.int64)
    # align_corners=1 with a spatial size of 1 divides by zero in the spec's formula (onnx.reference gives
    # inf/nan); onnxruntime uses 1 (Eigen's LinSpaced end point), and so do we.
    align = draw(st.sampled_from((0, 1)))
    return build([node("AffineGrid", ["t", "s"], align_corners=align)], {"t": theta}, {"s": size}, opset=20)


@st.composite
def rms_norm_case(draw):
    rng = rng_from(draw)
    shape = draw(shape_st(1, 4, 1, 5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    inits = {"s": values(rng, shape[axis:], F32)}
    return build(
        [node("RMSNormalization", ["x", "s"], axis=axis)],
        {"x": values(rng, shape, F32)},
        inits,
        opset=23,
        tol=(1e-3, 1e-3),
    )


SINGLE_OPS.update({
    "BitwiseNot": bitwise_not_case(),
    "Constant": constant_case(),
    "Dropout": dropout_case(),
    "Compress": compress_case(),
    "ReverseSequence": reverse_sequence_case(),
    "QuantizeLinear": quantize_case("QuantizeLinear"),
    "DequantizeLinear": quantize_case("DequantizeLinear"),
    "DynamicQuantizeLinear": dynamic_quantize_case(),
    "MatMulInteger": matmul_integer_case(),
    "Det": det_case(),
    "CenterCropPad": center_crop_pad_case(),
    "GridSample": grid_sample_case(),
    "RoiAlign": roi_align_case(),
    "AffineGrid": affine_grid_case(),
    "RMSNormalization": rms_norm_case(),
})  # fmt: skip
