"""Elementwise ops: math, comparisons, logic, bitwise, activations and casts."""

from __future__ import annotations

import math

from opset.program import DType, Ref

import numpy as np
from onnx import TensorProto

from ..context import LowerCtx, dtype_name
from ..registry import lowering

# ONNX element types MLX can hold, by TensorProto enum.
_MLX_TYPES = {
    TensorProto.FLOAT: "float32",
    TensorProto.UINT8: "uint8",
    TensorProto.INT8: "int8",
    TensorProto.UINT16: "uint16",
    TensorProto.INT16: "int16",
    TensorProto.INT32: "int32",
    TensorProto.INT64: "int64",
    TensorProto.BOOL: "bool_",
    TensorProto.FLOAT16: "float16",
    TensorProto.DOUBLE: "float64",
    TensorProto.UINT32: "uint32",
    TensorProto.UINT64: "uint64",
    TensorProto.BFLOAT16: "bfloat16",
}
_MLX_DTYPE_NAMES = frozenset(_MLX_TYPES.values())
_BITS = {"bool_": 8, "uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "float16": 16, "bfloat16": 16}
_BITS.update({"uint32": 32, "int32": 32, "float32": 32, "uint64": 64, "int64": 64, "float64": 64})


def _is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f" or dtype_name(dtype) == "bfloat16"


def _is_signed_int(dtype: np.dtype) -> bool:
    return dtype.kind == "i"


def _onnx_type_name(to: int) -> str:
    try:
        return TensorProto.DataType.Name(to)
    except ValueError:
        return f"type #{to}"


def _target_dtype(ctx: LowerCtx, to) -> str:
    """The MLX dtype name for an ONNX `to` attribute (an enum, or a string before opset 6)."""
    if isinstance(to, str):
        try:
            to = TensorProto.DataType.Value(to.upper())
        except ValueError:
            ctx.fail(f"unknown target type {to!r}")
    name = _MLX_TYPES.get(int(to))
    if name is None:
        ctx.fail(f"target type {_onnx_type_name(int(to))} has no MLX dtype")
    return name


def _const_scalar(ctx: LowerCtx, i: int):
    """Input i as a Python scalar (of input 0's kind) when it is a known one-element
    constant that does not widen input 0's shape by broadcasting, else None."""
    c = ctx.const(i)
    if c is None or c.size != 1:
        return None
    if c.ndim:
        shape = ctx.shape(0)
        if shape is None or len(shape) < c.ndim:
            return None
    return ctx.scalar(c.reshape(()).item(), ctx.dtype(0))


# -- unary math ---------------------------------------------------------------

_UNARY = {
    "Abs": "abs",
    "Neg": "negative",
    "Reciprocal": "reciprocal",
    "Sqrt": "sqrt",
    "Exp": "exp",
    "Log": "log",
    "Sin": "sin",
    "Cos": "cos",
    "Tan": "tan",
    "Asin": "arcsin",
    "Acos": "arccos",
    "Atan": "arctan",
    "Sinh": "sinh",
    "Cosh": "cosh",
    "Asinh": "arcsinh",
    "Acosh": "arccosh",
    "Atanh": "arctanh",
    "Tanh": "tanh",
    "Erf": "erf",
    "Sign": "sign",
    "Floor": "floor",
    "Ceil": "ceil",
    "Round": "round",  # MLX rounds half to even, as ONNX does
    "Not": "logical_not",
    "IsNaN": "isnan",
    "BitwiseNot": "bitwise_invert",
}


def _unary(fn: str):
    def lower(ctx: LowerCtx) -> Ref:
        return ctx.call(fn, ctx.input(0))

    lower.__name__ = f"lower_{fn}"
    return lower


for _op, _fn in _UNARY.items():
    lowering(_op)(_unary(_fn))


@lowering("Sigmoid")
def sigmoid(ctx: LowerCtx) -> Ref:
    # the native pass marks these when the convs go native: MLX's CPU sigmoid is scalar code
    if ctx.attr("native") and ctx.dtype(0).name == "float32":
        return ctx.call("native_sigmoid", ctx.input(0))
    return ctx.call("sigmoid", ctx.input(0))


@lowering("IsInf")
def is_inf(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    pos, neg = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    if pos and neg:
        return ctx.call("isinf", x)
    if pos:
        return ctx.call("isposinf", x)
    if neg:
        return ctx.call("isneginf", x)
    return ctx.cast(ctx.call("zeros_like", x), np.bool_)


# -- binary arithmetic, logic and comparisons ---------------------------------


def _binary_inputs(ctx: LowerCtx) -> tuple[Ref, Ref]:
    """Both operands; handles the pre-opset-7 `broadcast`/`axis` attributes."""
    a, b = ctx.input(0), ctx.input(1)
    if ctx.attr("broadcast", 0) and ctx.opset < 7:
        shape_b = ctx.static_shape(1)
        rank_a = ctx.rank(0)
        if shape_b is None:
            ctx.fail("legacy broadcast needs the second input's static shape")
        axis = ctx.attr("axis", rank_a - len(shape_b))
        axis = axis + rank_a if axis < 0 else axis
        trailing = rank_a - axis - len(shape_b)
        if trailing < 0:
            ctx.fail(f"legacy broadcast axis {axis} does not fit shapes")
        if trailing:
            b = ctx.call("reshape", b, list(shape_b) + [1] * trailing)
    return a, b


_BINARY = {
    "Sub": "subtract",
    "Mul": "multiply",
    "And": "logical_and",
    "Or": "logical_or",
    "Xor": "logical_xor",
    "BitwiseAnd": "bitwise_and",
    "BitwiseOr": "bitwise_or",
    "BitwiseXor": "bitwise_xor",
    "Equal": "equal",
    "Greater": "greater",
    "Less": "less",
    "GreaterOrEqual": "greater_equal",
    "LessOrEqual": "less_equal",
}


def _binary(fn: str):
    def lower(ctx: LowerCtx) -> Ref:
        return ctx.call(fn, *_binary_inputs(ctx))

    lower.__name__ = f"lower_{fn}"
    return lower


for _op, _fn in _BINARY.items():
    lowering(_op)(_binary(_fn))


@lowering("Add")
def add(ctx: LowerCtx) -> Ref:
    return ctx.call("add", *_binary_inputs(ctx))


@lowering("Div")
def div(ctx: LowerCtx) -> Ref:
    a, b = _binary_inputs(ctx)
    dtype = ctx.dtype(0)
    if _is_float(dtype):
        return ctx.call("divide", a, b)
    if dtype.kind == "u":
        return ctx.call("floor_divide", a, b)
    if dtype.kind != "i":
        ctx.fail(f"Div on {dtype} is not supported")
    divisor = ctx.const(1)
    if divisor is not None and divisor.size and bool(np.all(divisor > 0)):
        # Positive divisor: floor, then step up where a negative dividend left a remainder.
        q = ctx.call("floor_divide", a, b)
        r = ctx.call("remainder", a, b)
        fix = ctx.call("logical_and", ctx.call("not_equal", r, 0), ctx.call("less", a, 0))
        return ctx.call("add", q, ctx.cast(fix, dtype))
    return ctx.call("int_trunc_divide", a, b)


@lowering("Mod", since=10)
def mod(ctx: LowerCtx) -> Ref:
    a, b = ctx.input(0), ctx.input(1)
    dtype = ctx.dtype(0)
    if ctx.attr("fmod", 0):
        return ctx.call("c_fmod", a, b)
    if _is_signed_int(dtype):
        divisor = ctx.const(1)
        if divisor is None or not bool(np.all(divisor != -1)):
            return ctx.call("int_safe_remainder", a, b)
    return ctx.call("remainder", a, b)


@lowering("Pow")
def pow_(ctx: LowerCtx) -> Ref:
    x, y = _binary_inputs(ctx)
    xt, yt = ctx.dtype(0), ctx.dtype(1)
    exponent = _const_scalar(ctx, 1) if _is_float(xt) else None
    if exponent is not None:
        if exponent == 2:
            return ctx.call("square", x)
        if exponent == 1:
            return x
        if exponent == 0.5:
            return ctx.call("sqrt", x)
        return ctx.call("power", x, float(exponent))
    if xt == yt:
        return ctx.call("power", x, y)
    if _is_float(xt):
        return ctx.call("power", x, ctx.cast(y, xt))
    # Integer base with another exponent type: compute in float64, then truncate to the base type.
    wide = ctx.call("power", ctx.cast(x, np.float64), ctx.cast(y, np.float64))
    return ctx.cast(wide, xt)


@lowering("BitShift", since=11)
def bit_shift(ctx: LowerCtx) -> Ref:
    x, y = ctx.input(0), ctx.input(1)
    dtype = ctx.dtype(0)
    bits = _BITS.get(dtype_name(dtype))
    if bits is None or dtype.kind not in "iu":
        ctx.fail(f"BitShift on {dtype} is not supported")
    left = str(ctx.attr("direction", "")).upper() == "LEFT"
    fn = "left_shift" if left else "right_shift"
    shifts = ctx.const(1)
    if shifts is not None and bool(np.all((shifts >= 0) & (shifts < bits))):
        return ctx.call(fn, x, y)
    # Shift amounts outside [0, bits) give the sign fill alone: -1 for a right shift
    # of a negative signed value, else 0. Clamp them to a shift that produces that.
    inside = ctx.call("logical_and", ctx.call("greater_equal", y, 0), ctx.call("less", y, bits))
    if not left and dtype.kind == "i":
        return ctx.call(fn, x, ctx.call("where", inside, y, ctx.scalar(bits - 1, dtype)))
    shifted = ctx.call(fn, x, ctx.call("where", inside, y, ctx.scalar(0, dtype)))
    return ctx.call("where", inside, shifted, ctx.scalar(0, dtype))


# -- variadic -----------------------------------------------------------------


def _variadic(ctx: LowerCtx, fn: str) -> Ref:
    refs = [ctx.input(i) for i in range(ctx.num_inputs) if ctx.has_input(i)]
    if not refs:
        ctx.fail("needs at least one input")
    out = refs[0]
    for r in refs[1:]:
        out = ctx.call(fn, out, r)
    return out


@lowering("Max")
def max_(ctx: LowerCtx) -> Ref:
    return _variadic(ctx, "maximum")


@lowering("Min")
def min_(ctx: LowerCtx) -> Ref:
    return _variadic(ctx, "minimum")


@lowering("Sum")
def sum_(ctx: LowerCtx) -> Ref:
    return _variadic(ctx, "add")


@lowering("Mean")
def mean(ctx: LowerCtx) -> Ref:
    total = _variadic(ctx, "add")
    n = sum(1 for i in range(ctx.num_inputs) if ctx.has_input(i))
    if n == 1:
        return total
    return ctx.call("divide", total, ctx.scalar(n, ctx.dtype(0)))


@lowering("Where", since=9)
def where(ctx: LowerCtx) -> Ref:
    return ctx.call("where", ctx.input(0), ctx.input(1), ctx.input(2))


# -- casts ----------------------------------------------------------------------


def _cast_to(ctx: LowerCtx, name: str) -> Ref:
    src = ctx.dtype(0)
    if dtype_name(src) not in _MLX_DTYPE_NAMES:
        ctx.fail(f"input type {src} has no MLX dtype")
    if dtype_name(src) == name:
        return ctx.input(0)
    return ctx.call("astype", ctx.input(0), DType(name))


# Sub-byte integer types: (bits, signed). MLX holds them in a byte (opset.execute.NARROW_STORAGE).
_NARROW = {"int4": (4, True), "uint4": (4, False), "int2": (2, True), "uint2": (2, False)}
_NARROW_ONNX = {
    TensorProto.INT4: "int4",
    TensorProto.UINT4: "uint4",
    TensorProto.INT2: "int2",
    TensorProto.UINT2: "uint2",
}


def _cast_to_narrow(ctx: LowerCtx, target: str) -> Ref:
    """Cast to a sub-byte integer type, held in its byte-wide storage type.

    From integers: keep the low bits, two's complement for signed types (the specification's rule for
    out-of-range fixed-point casts). From floats: truncate toward zero; out-of-range values, which the
    specification leaves undefined, become 0 (what the ONNX reference and ml_dtypes give).
    """
    bits, signed = _NARROW[target]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x, src = ctx.input(0), ctx.dtype(0)
    if _is_float(src):
        t = ctx.call("trunc", x)
        inside = ctx.call("logical_and", ctx.call("greater_equal", t, float(lo)), ctx.call("less_equal", t, float(hi)))
        y = ctx.call("where", inside, t, 0.0)
    else:
        wide = ctx.call("astype", x, DType("int64"))
        y = ctx.call("bitwise_and", ctx.call("subtract", wide, lo), (1 << bits) - 1)
        y = ctx.call("add", y, lo) if lo else y
    return ctx.call("astype", y, DType(dtype_name(np.dtype(target))))


@lowering("Cast")
def cast(ctx: LowerCtx) -> Ref:
    to = ctx.attr("to")
    if to is None:
        ctx.fail("Cast without a `to` attribute")
    if not isinstance(to, str) and int(to) in _NARROW_ONNX:
        return _cast_to_narrow(ctx, _NARROW_ONNX[int(to)])
    return _cast_to(ctx, _target_dtype(ctx, to))


@lowering("CastLike", since=15)
def cast_like(ctx: LowerCtx) -> Ref:
    target = ctx.dtype(1)
    if target.name in _NARROW:
        return _cast_to_narrow(ctx, target.name)
    name = dtype_name(target)
    if name not in _MLX_DTYPE_NAMES:
        ctx.fail(f"target type {target} has no MLX dtype")
    return _cast_to(ctx, name)


@lowering("BitCast", since=26)
def bit_cast(ctx: LowerCtx) -> Ref:
    name = _target_dtype(ctx, ctx.attr("to"))
    src = dtype_name(ctx.dtype(0))
    if src not in _BITS:
        ctx.fail(f"input type {src} has no MLX dtype")
    if _BITS[src] != _BITS[name]:
        ctx.fail(f"BitCast from {src} to {name} changes the bit width")
    if src == name:
        return ctx.input(0)
    return ctx.call("bit_view", ctx.input(0), DType(src), DType(name))


# -- clipping and activations -------------------------------------------------


@lowering("Clip")
def clip_attrs(ctx: LowerCtx) -> Ref:
    # Before opset 11 the bounds are attributes.
    x = ctx.input(0)
    lo, hi = ctx.attr("min"), ctx.attr("max")
    if lo is not None:
        x = ctx.call("maximum", x, ctx.scalar(lo, ctx.dtype(0)))
    if hi is not None:
        x = ctx.call("minimum", x, ctx.scalar(hi, ctx.dtype(0)))
    return x


@lowering("Clip", since=11)
def clip(ctx: LowerCtx) -> Ref:
    # min then max, so that min > max gives max everywhere (as the spec requires).
    x = ctx.input(0)
    for i, fn in ((1, "maximum"), (2, "minimum")):
        if not ctx.has_input(i):
            continue
        bound = _const_scalar(ctx, i)
        x = ctx.call(fn, x, bound if bound is not None else ctx.input(i))
    return x


@lowering("Relu")
def relu(ctx: LowerCtx) -> Ref:
    return ctx.call("maximum", ctx.input(0), ctx.scalar(0, ctx.dtype(0)))


@lowering("LeakyRelu")
def leaky_relu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    alpha = ctx.attr("alpha", 0.01)
    scaled = ctx.call("multiply", x, ctx.scalar(alpha, ctx.dtype(0)))
    # max(x, a*x) picks x for x >= 0 and a*x for x < 0 whenever a <= 1; min does for a > 1.
    return ctx.call("maximum" if alpha <= 1 else "minimum", x, scaled)


@lowering("PRelu")
def prelu(ctx: LowerCtx) -> Ref:
    x, slope = ctx.input(0), ctx.input(1)
    s = ctx.const(1)
    # As for LeakyRelu: max(x, s*x) when every slope <= 1, min(x, s*x) when every slope > 1.
    if s is not None and s.size and (bool(np.all(s <= 1)) or bool(np.all(s > 1))):
        fn = "maximum" if bool(np.all(s <= 1)) else "minimum"
        return ctx.call(fn, x, ctx.call("multiply", x, slope))
    # Mixed or run-time slopes: relu(x) + slope * min(x, 0) (cheaper than where() on the CPU).
    zero = ctx.scalar(0, ctx.dtype(0))
    neg = ctx.call("multiply", ctx.call("minimum", x, zero), slope)
    return ctx.call("add", ctx.call("maximum", x, zero), neg)


def _neg_expm1(ctx: LowerCtx, x: Ref, alpha: float, inner_scale: float = 1.0) -> Ref:
    """alpha * (exp(min(x, 0) * inner_scale) - 1): the negative branch of the ELU family."""
    dt = ctx.dtype(0)
    neg = ctx.call("minimum", x, ctx.scalar(0, dt))
    if inner_scale != 1.0:
        neg = ctx.call("multiply", neg, ctx.scalar(inner_scale, dt))
    return ctx.call("multiply", ctx.call("expm1", neg), ctx.scalar(alpha, dt))


@lowering("Elu")
def elu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    alpha = ctx.attr("alpha", 1.0)
    pos = ctx.call("maximum", x, ctx.scalar(0, ctx.dtype(0)))
    return ctx.call("add", pos, _neg_expm1(ctx, x, alpha))


@lowering("Selu")
def selu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    alpha = ctx.attr("alpha", 1.67326319217681884765625)
    gamma = ctx.attr("gamma", 1.05070102214813232421875)
    pos = ctx.call("maximum", x, ctx.scalar(0, ctx.dtype(0)))
    inner = ctx.call("add", pos, _neg_expm1(ctx, x, alpha))
    return ctx.call("multiply", inner, ctx.scalar(gamma, ctx.dtype(0)))


@lowering("Celu", since=12)
def celu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    alpha = ctx.attr("alpha", 1.0)
    if alpha == 0:
        ctx.fail("Celu with alpha = 0 is undefined")
    pos = ctx.call("maximum", x, ctx.scalar(0, ctx.dtype(0)))
    return ctx.call("add", pos, _neg_expm1(ctx, x, alpha, 1.0 / alpha))


@lowering("Gelu", since=20)
def gelu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    dt = ctx.dtype(0)
    approximate = str(ctx.attr("approximate", "none"))
    if approximate == "tanh":
        cube = ctx.call("multiply", ctx.call("multiply", x, x), x)
        inner = ctx.call("add", x, ctx.call("multiply", cube, ctx.scalar(0.044715, dt)))
        t = ctx.call("tanh", ctx.call("multiply", inner, ctx.scalar(math.sqrt(2.0 / math.pi), dt)))
    elif approximate == "none":
        t = ctx.call("erf", ctx.call("multiply", x, ctx.scalar(1.0 / math.sqrt(2.0), dt)))
    else:
        ctx.fail(f"unknown approximate={approximate!r}")
    half_x = ctx.call("multiply", x, ctx.scalar(0.5, dt))
    return ctx.call("multiply", half_x, ctx.call("add", t, ctx.scalar(1.0, dt)))


def _hard_sigmoid(ctx: LowerCtx, x: Ref, alpha: float, beta: float) -> Ref:
    dt = ctx.dtype(0)
    lin = ctx.call("add", ctx.call("multiply", x, ctx.scalar(alpha, dt)), ctx.scalar(beta, dt))
    return ctx.call("minimum", ctx.call("maximum", lin, ctx.scalar(0, dt)), ctx.scalar(1, dt))


@lowering("HardSigmoid")
def hard_sigmoid(ctx: LowerCtx) -> Ref:
    return _hard_sigmoid(ctx, ctx.input(0), ctx.attr("alpha", 0.2), ctx.attr("beta", 0.5))


@lowering("HardSwish", since=14)
def hard_swish(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    return ctx.call("multiply", x, _hard_sigmoid(ctx, x, 1.0 / 6.0, 0.5))


@lowering("ThresholdedRelu", since=10)
def thresholded_relu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    dt = ctx.dtype(0)
    keep = ctx.call("greater", x, ctx.scalar(ctx.attr("alpha", 1.0), dt))
    return ctx.call("where", keep, x, ctx.scalar(0, dt))


@lowering("Softplus")
def softplus(ctx: LowerCtx) -> Ref:
    # log(exp(x) + 1) without overflow
    return ctx.call("logaddexp", ctx.input(0), ctx.scalar(0, ctx.dtype(0)))


@lowering("Softsign")
def softsign(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    denom = ctx.call("add", ctx.call("abs", x), ctx.scalar(1, ctx.dtype(0)))
    return ctx.call("divide", x, denom)


@lowering("Mish", since=18)
def mish(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    sp = ctx.call("logaddexp", x, ctx.scalar(0, ctx.dtype(0)))
    return ctx.call("multiply", x, ctx.call("tanh", sp))


@lowering("Swish", since=24)
def swish(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    alpha = ctx.attr("alpha", 1.0)
    inner = x if alpha == 1.0 else ctx.call("multiply", x, ctx.scalar(alpha, ctx.dtype(0)))
    return ctx.call("multiply", x, ctx.call("sigmoid", inner))


@lowering("Shrink", since=9)
def shrink(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    dt = ctx.dtype(0)
    lambd, bias = ctx.attr("lambd", 0.5), ctx.attr("bias", 0.0)
    fractional = dt.kind in "iu" and (lambd != int(lambd) or bias != int(bias))
    if fractional:  # integer input with fractional parameters: compute exactly, then truncate
        x, work = ctx.cast(x, np.float64), np.dtype(np.float64)
    else:
        work = dt
    below = ctx.call("less", x, ctx.scalar(-lambd, work))
    above = ctx.call("greater", x, ctx.scalar(lambd, work))
    zero = ctx.scalar(0, work)
    upper = ctx.call("where", above, ctx.call("subtract", x, ctx.scalar(bias, work)), zero)
    out = ctx.call("where", below, ctx.call("add", x, ctx.scalar(bias, work)), upper)
    return ctx.cast(out, dt) if fractional else out


@lowering("Binarizer", domain="ai.onnx.ml")
def binarizer(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    dt = ctx.dtype(0)
    return ctx.cast(ctx.call("greater", x, ctx.scalar(ctx.attr("threshold", 0.0), dt)), dt)
