"""Attention-family lowerings (Attention, RotaryEmbedding, SwiGLU, ...) and detection ops."""

from __future__ import annotations

import math

from opset.program import DType, Ref, Slice

import numpy as np

from ..context import LowerCtx
from ..registry import lowering

_NEG_INF = float("-inf")
_NATIVE_FLOATS = ("float16", "float32", "float64")
_ALL3 = (Slice(), Slice(), Slice())  # x[:, :, :, <last>] on a 4-D array


def _float_const(ctx: LowerCtx, arr: np.ndarray, dtype: np.dtype, hint: str) -> Ref:
    """A float constant in `dtype` (numpy cannot hold bfloat16, so cast in MLX then)."""
    name = np.dtype(dtype).name
    if name in _NATIVE_FLOATS:
        return ctx.constant(np.asarray(arr, dtype=name), hint)
    return ctx.cast(ctx.constant(np.asarray(arr, np.float32), hint), dtype)


def _static_dim(ctx: LowerCtx, i: int, axis: int, what: str) -> int:
    d = ctx.dim(i, axis)
    if not isinstance(d, int):
        ctx.fail(f"{what} must be known at translation time")
    return d


def _split_heads(ctx: LowerCtx, x: Ref, i: int, heads: int) -> Ref:
    """(B, S, H*D) -> (B, H, S, D)."""
    x = ctx.call("reshape", x, (ctx.dim(i, 0), ctx.dim(i, 1), heads, -1))
    return ctx.call("transpose", x, (0, 2, 1, 3))


def _window_allowed(diff: np.ndarray | Ref, causal: bool, left: int, right: int, ctx: LowerCtx | None):
    """Allowed-key test on diff = (query position + offset) - key index."""
    conds = []
    if causal:
        conds.append(("greater_equal", 0))
    if left >= 0:
        conds.append(("less_equal", left))
    if right >= 0:
        conds.append(("greater_equal", -right))
    if ctx is None:  # numpy
        ok = np.ones(diff.shape, bool)
        for fn, v in conds:
            ok &= diff >= v if fn == "greater_equal" else diff <= v
        return ok
    ok = None
    for fn, v in conds:
        c = ctx.call(fn, diff, v)
        ok = c if ok is None else ctx.call("logical_and", ok, c)
    return ok


@lowering("Attention", since=23)
def attention(ctx: LowerCtx):
    rank = ctx.rank(0)
    if rank not in (3, 4) or ctx.rank(1) != rank or ctx.rank(2) != rank:
        ctx.fail("Q, K and V must all be 3-D or all 4-D")
    dt = ctx.dtype(0)
    q, k, v = ctx.input(0), ctx.input(1), ctx.input(2)
    if rank == 3:
        qh, kvh = ctx.attr("q_num_heads"), ctx.attr("kv_num_heads")
        if not qh or not kvh:
            ctx.fail("3-D inputs need q_num_heads and kv_num_heads")
        head = _static_dim(ctx, 0, 2, "the query hidden size") // qh
        q = _split_heads(ctx, q, 0, qh)
        k = _split_heads(ctx, k, 1, kvh)
        v = _split_heads(ctx, v, 2, kvh)
    else:
        qh = _static_dim(ctx, 0, 1, "the query head count")
        kvh = _static_dim(ctx, 1, 1, "the key head count")
        head = _static_dim(ctx, 0, 3, "the head size")
    sq = _static_dim(ctx, 0, rank - 2 if rank == 4 else 1, "the query sequence length")
    skv = _static_dim(ctx, 1, rank - 2 if rank == 4 else 1, "the key sequence length")

    has_past = ctx.has_input(4)
    if has_past != ctx.has_input(5):
        ctx.fail("past_key and past_value must be given together")
    past = 0
    if has_past:
        past = _static_dim(ctx, 4, 2, "the past sequence length")
        k = ctx.call("concatenate", [ctx.input(4), k], 2)
        v = ctx.call("concatenate", [ctx.input(5), v], 2)
    present_k, present_v = k, v
    sk = past + skv

    scale = ctx.attr("scale")
    if scale is None:
        scale = 1.0 / math.sqrt(head)
    s = float(math.sqrt(scale))
    if s != 1.0:
        q = ctx.call("multiply", q, s)
        k = ctx.call("multiply", k, s)
    if qh != kvh:
        if qh % kvh:
            ctx.fail(f"q_num_heads {qh} is not a multiple of kv_num_heads {kvh}")
        k = ctx.call("repeat", k, qh // kvh, 1)
        v = ctx.call("repeat", v, qh // kvh, 1)

    qk = ctx.call("matmul", q, ctx.call("swapaxes", k, -1, -2))
    softcap = float(ctx.attr("softcap", 0.0) or 0.0)
    if softcap > 0:
        qk = ctx.call("multiply", ctx.call("tanh", ctx.call("divide", qk, softcap)), softcap)

    # -- the additive bias: attn_mask, causal frontier, sliding window, padding --
    causal = bool(ctx.attr("is_causal", 0))
    left = int(ctx.attr("left_window_size", -1))
    right = int(ctx.attr("right_window_size", -1))
    windowed = causal or left >= 0 or right >= 0
    has_nonpad = ctx.has_input(6)
    if has_nonpad and has_past:
        ctx.fail("nonpad_kv_seqlen cannot be combined with past_key/past_value")
    terms: list[Ref] = []
    static_rows_masked = False
    if ctx.has_input(3):
        mask = ctx.input(3)
        mshape = ctx.shape(3)
        mlast = mshape[-1] if mshape else None
        if not isinstance(mlast, int):
            ctx.fail("the attn_mask's last dim must be known at translation time")
        is_bool = ctx.dtype(3).kind == "b"
        if mlast < sk:
            pad = [(0, 0)] * (len(mshape) - 1) + [(0, sk - mlast)]
            mask = ctx.call("pad", mask, pad, constant_values=False if is_bool else _NEG_INF)
        if is_bool:
            zero = _float_const(ctx, np.zeros((), np.float32), dt, "zero")
            mask = ctx.call("where", mask, zero, _NEG_INF)
        elif ctx.dtype(3) != dt:
            mask = ctx.cast(mask, dt)
        terms.append(mask)
    if windowed and not has_nonpad:
        diff = np.arange(sq)[:, None] + past - np.arange(sk)[None, :]
        allowed = _window_allowed(diff, causal, left, right, None)
        if not allowed.all():
            static_rows_masked = not allowed.any(axis=-1).all()
            terms.append(_float_const(ctx, np.where(allowed, 0.0, -np.inf), dt, "window"))
    if has_nonpad:
        lens = ctx.call("reshape", ctx.input(6), (-1, 1, 1))
        keys = ctx.constant(np.arange(sk, dtype=np.int64)[None, :], "keys")
        ok = ctx.call("less", keys, lens)  # (B, 1, Sk) padding mask
        if windowed:
            rel = ctx.constant((np.arange(sq)[:, None] - sq - np.arange(sk)[None, :]).astype(np.int64), "rel")
            diff = ctx.call("add", rel, lens)  # (B, Sq, Sk)
            ok = ctx.call("logical_and", ok, _window_allowed(diff, causal, left, right, ctx))
        zero = _float_const(ctx, np.zeros((), np.float32), dt, "zero")
        terms.append(ctx.call("expand_dims", ctx.call("where", ok, zero, _NEG_INF), 1))
    bias = None
    for t in terms:
        bias = t if bias is None else ctx.call("add", bias, t)

    scores = qk if bias is None else ctx.call("add", qk, bias)
    mode = int(ctx.attr("qk_matmul_output_mode", 0))
    qk_out = scores if mode == 2 else qk

    sp = ctx.attr("softmax_precision")
    x = scores
    sdt = dt
    if sp is not None:
        from onnx import helper

        sdt = np.dtype(helper.tensor_dtype_to_np_dtype(int(sp)))
        if sdt != dt:
            x = ctx.cast(x, sdt)
    if sdt.name in ("float32", "float64"):
        p = ctx.call("softmax", x, -1, precise=True)
    else:
        # half precision: exp, sum and divide each rounded to the dtype, as the reference does
        m = ctx.call("max", x, -1, keepdims=True)
        m = ctx.call("where", ctx.call("isneginf", m), _float_const(ctx, np.zeros((), np.float32), sdt, "zero"), m)
        e = ctx.call("exp", ctx.call("subtract", x, m))
        p = ctx.call("divide", e, ctx.call("sum", e, -1, keepdims=True))
    if bias is not None and (ctx.has_input(3) or has_nonpad or static_rows_masked):
        # a query row with no attendable key is a zero row, not NaN
        empty = ctx.call("isneginf", ctx.call("max", bias, -1, keepdims=True))
        p = ctx.call("where", empty, _float_const(ctx, np.zeros((), np.float32), sdt, "zero"), p)
    if sdt != dt:
        p = ctx.cast(p, dt)
    if mode == 3:
        qk_out = p
    y = ctx.call("matmul", p, v)
    if rank == 3:
        y = ctx.call("reshape", ctx.call("transpose", y, (0, 2, 1, 3)), (ctx.dim(0, 0), sq, -1))
    return [y, present_k, present_v, qk_out]


@lowering("RotaryEmbedding", since=23)
def rotary_embedding(ctx: LowerCtx) -> Ref:
    rank = ctx.rank(0)
    x = ctx.input(0)
    if rank == 4:  # (B, H, S, D) -> (B, S, H, D)
        x = ctx.call("transpose", x, (0, 2, 1, 3))
    elif rank == 3:
        heads = ctx.attr("num_heads")
        if not heads:
            ctx.fail("3-D input needs num_heads")
        x = ctx.call("reshape", x, (ctx.dim(0, 0), ctx.dim(0, 1), heads, -1))
    else:
        ctx.fail("input must be 3-D or 4-D")
    if rank == 4:
        head = _static_dim(ctx, 0, 3, "the head size")
    else:
        head = _static_dim(ctx, 0, 2, "the hidden size") // ctx.attr("num_heads")
    rot = ctx.attr("rotary_embedding_dim", 0) or head
    half = rot // 2
    cos, sin = ctx.input(1), ctx.input(2)
    if ctx.has_input(3):
        pos = ctx.input(3)
        cos = ctx.call("take", cos, pos, 0)
        sin = ctx.call("take", sin, pos, 0)
    cos = ctx.call("expand_dims", cos, 2)  # (B, S, 1, rot/2)
    sin = ctx.call("expand_dims", sin, 2)
    xr = x if rot == head else ctx.call("getitem", x, (*_ALL3, Slice(None, rot)))
    if ctx.attr("interleaved", 0):
        x1 = ctx.call("getitem", xr, (*_ALL3, Slice(0, None, 2)))
        x2 = ctx.call("getitem", xr, (*_ALL3, Slice(1, None, 2)))
    else:
        x1 = ctx.call("getitem", xr, (*_ALL3, Slice(None, half)))
        x2 = ctx.call("getitem", xr, (*_ALL3, Slice(half, None)))
    real = ctx.call("subtract", ctx.call("multiply", cos, x1), ctx.call("multiply", sin, x2))
    imag = ctx.call("add", ctx.call("multiply", sin, x1), ctx.call("multiply", cos, x2))
    if ctx.attr("interleaved", 0):
        y = ctx.call("flatten", ctx.call("stack", [real, imag], -1), -2, -1)
    else:
        y = ctx.call("concatenate", [real, imag], -1)
    if rot != head:
        y = ctx.call("concatenate", [y, ctx.call("getitem", x, (*_ALL3, Slice(rot, None)))], -1)
    if rank == 4:
        return ctx.call("transpose", y, (0, 2, 1, 3))
    return ctx.call("reshape", y, (ctx.dim(0, 0), ctx.dim(0, 1), -1))


@lowering("SwiGLU", since=1)
def swiglu(ctx: LowerCtx) -> Ref:
    a, b = ctx.input(0), ctx.input(1)
    alpha = float(ctx.attr("alpha", 1.0))
    g = ctx.call("sigmoid", a if alpha == 1.0 else ctx.call("multiply", a, alpha))
    return ctx.call("multiply", ctx.call("multiply", a, g), b)


def _softmax_dtype(ctx: LowerCtx, dt: np.dtype, default: str) -> np.dtype:
    sp = ctx.attr("softmax_precision")
    if sp is None:
        return np.dtype(default)
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(int(sp)))


@lowering("FlexAttention", domain="ai.onnx.preview", since=1)
def flex_attention(ctx: LowerCtx) -> Ref:
    if ctx.rank(0) != 4 or ctx.rank(1) != 4 or ctx.rank(2) != 4:
        ctx.fail("Q, K and V must be 4-D")
    dt = ctx.dtype(0)
    q, k, v = ctx.input(0), ctx.input(1), ctx.input(2)
    qh, kvh = _static_dim(ctx, 0, 1, "the query head count"), _static_dim(ctx, 1, 1, "the key head count")
    head = _static_dim(ctx, 0, 3, "the head size")
    scale = ctx.attr("scale")
    if scale is None:
        scale = 1.0 / math.sqrt(head)
    s = float(np.sqrt(np.float32(scale)))
    if qh != kvh:
        if qh % kvh:
            ctx.fail(f"query heads {qh} are not a multiple of key heads {kvh}")
        k = ctx.call("repeat", k, qh // kvh, 1)
        v = ctx.call("repeat", v, qh // kvh, 1)
    scores = ctx.call("matmul", ctx.call("multiply", q, s), ctx.call("swapaxes", ctx.call("multiply", k, s), -1, -2))
    cdt = _softmax_dtype(ctx, dt, "float64" if dt.name == "float64" else "float32")
    if cdt != dt:
        scores = ctx.cast(scores, cdt)
    score_mod, prob_mod = ctx.attr("score_mod"), ctx.attr("prob_mod")
    shape = (_static_dim(ctx, 0, 0, "the batch size"), qh, _static_dim(ctx, 0, 2, "the query length"))
    shape += (_static_dim(ctx, 1, 2, "the key length"),)
    if score_mod is not None:
        scores = _inline_graph(ctx, score_mod, scores, cdt, shape)
    e = ctx.call("exp", ctx.call("subtract", scores, ctx.call("max", scores, -1, keepdims=True)))
    probs = ctx.call("divide", e, ctx.call("sum", e, -1, keepdims=True))
    if prob_mod is not None:
        probs = _inline_graph(ctx, prob_mod, probs, cdt, shape)
    if ctx.dtype(2) != cdt:
        v = ctx.cast(v, cdt)
    y = ctx.call("matmul", probs, v)
    return y if cdt == ctx.dtype(2) else ctx.cast(y, ctx.dtype(2))


def _inline_graph(ctx: LowerCtx, gproto, x: Ref, dtype: np.dtype, shape: tuple[int, ...]) -> Ref:
    """Lower a one-input, one-output modifier subgraph inline, fed with `x`.

    The subgraph gets the concrete input type, shape inference and constant
    folding, then each of its nodes is lowered into this node's call list
    (sharing the outer program's names, weights and temporaries).
    """
    import onnx

    from ...errors import TranslatorError
    from ...frontend import build_graph
    from ...passes import fold_constants
    from ..lower import ProgramBuilder, lower_node

    if not hasattr(gproto, "node") or len(gproto.input) != 1 or len(gproto.output) != 1:
        ctx.fail("a modifier subgraph must have exactly one input and one output")
    g = onnx.GraphProto()
    g.CopyFrom(gproto)
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    g.input[0].type.CopyFrom(onnx.helper.make_tensor_type_proto(elem, list(shape)))
    g.output[0].type.tensor_type.ClearField("shape")
    opsets = [onnx.helper.make_opsetid(d, v) for d, v in ctx.graph.opsets.items()]
    model = onnx.helper.make_model(g, opset_imports=opsets)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        sub = build_graph(model, f"{ctx.node.name}/{gproto.name}")
    except TranslatorError as exc:
        ctx.fail(f"cannot read subgraph {gproto.name!r}: {exc}")
    except Exception as exc:  # noqa: BLE001  (shape inference raises untyped errors)
        ctx.fail(f"cannot read subgraph {gproto.name!r}: {type(exc).__name__}: {exc}")
    fold_constants(sub)
    builder = ProgramBuilder(sub)
    outer = ctx.builder
    builder.names, builder.weights, builder.temp = outer.names, outer.weights, outer.temp
    builder.env[g.input[0].name] = x
    for node in sub.topo_order():
        ctx.calls.extend(lower_node(builder, node))
    out = g.output[0].name
    if out in builder.env:
        return builder.env[out]
    value = sub.value(out)
    if value.const is None:
        ctx.fail(f"subgraph {gproto.name!r} never computes its output")
    return ctx.constant(value.const, "mod")


@lowering("LinearAttention", since=27)
def linear_attention(ctx: LowerCtx):
    rule = ctx.attr("update_rule", "gated_delta")
    if rule not in ("linear", "gated", "delta", "gated_delta"):
        ctx.fail(f"unknown update_rule {rule!r}")
    gating, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    if gating != ctx.has_input(4) or delta != ctx.has_input(5):
        ctx.fail(f"update_rule {rule!r} does not match the decay/beta inputs given")
    qh, kvh = ctx.attr("q_num_heads"), ctx.attr("kv_num_heads")
    if not qh or not kvh or qh % kvh:
        ctx.fail("q_num_heads must be a positive multiple of kv_num_heads")
    if ctx.rank(0) != 3 or ctx.rank(1) != 3 or ctx.rank(2) != 3:
        ctx.fail("query, key and value must be 3-D")
    out_dt = ctx.dtype(0)
    b = ctx.dim(0, 0)
    t = _static_dim(ctx, 0, 1, "the sequence length")
    dk = _static_dim(ctx, 0, 2, "the query hidden size") // qh
    dv = _static_dim(ctx, 2, 2, "the value hidden size") // kvh
    g = qh // kvh
    f32 = np.dtype("float32")

    def heads(i: int, n: int, last: int) -> Ref:  # (B, T, n*last) -> (B, n, T, last) in float32
        x = ctx.input(i)
        if ctx.dtype(i) != f32:
            x = ctx.cast(x, f32)
        return ctx.call("transpose", ctx.call("reshape", x, (b, t, n, last)), (0, 2, 1, 3))

    q = ctx.call("reshape", heads(0, qh, dk), (b, kvh, g, t, dk))
    k, v = heads(1, kvh, dk), heads(2, kvh, dv)
    decay = beta = None
    if gating:
        last = _static_dim(ctx, 4, 2, "the decay size")
        if last not in (kvh, kvh * dk):
            ctx.fail(f"decay's last dim {last} must be kv_num_heads or kv_num_heads*d_k")
        decay = ctx.call("exp", heads(4, kvh, last // kvh))  # (B, H, T, 1|dk)
    if delta:
        nb = _static_dim(ctx, 5, 2, "the beta size")
        if nb not in (kvh, 1):
            ctx.fail(f"beta's last dim {nb} must be kv_num_heads or 1")
        beta = heads(5, nb, 1)  # (B, H|1, T, 1)
    if ctx.has_input(3):
        state = ctx.input(3)
        state_dt = ctx.dtype(3)
        if state_dt != f32:
            state = ctx.cast(state, f32)
    else:
        state_dt = out_dt
        state = ctx.call("zeros", (b, kvh, dk, dv), DType("float32"))
    scale = ctx.attr("scale", 0.0) or 1.0 / math.sqrt(dk)

    all2 = (Slice(), Slice())
    outs = []
    for i in range(t):
        k_t = ctx.call("getitem", k, (*all2, Slice(i, i + 1)))  # (B, H, 1, dk)
        v_t = ctx.call("getitem", v, (*all2, Slice(i, i + 1)))  # (B, H, 1, dv)
        if gating:
            g_t = ctx.call("getitem", decay, (*all2, i, Slice(), None))  # (B, H, 1|dk, 1)
            state = ctx.call("multiply", state, g_t)
        if delta:
            got = ctx.call("matmul", k_t, state)
            b_t = ctx.call("getitem", beta, (*all2, Slice(i, i + 1)))
            v_t = ctx.call("multiply", b_t, ctx.call("subtract", v_t, got))
        state = ctx.call("add", state, ctx.call("matmul", ctx.call("swapaxes", k_t, -1, -2), v_t))
        q_t = ctx.call("getitem", q, (*all2, Slice(), i))  # (B, Hkv, G, dk)
        outs.append(ctx.call("matmul", q_t, state))
    o = ctx.call("stack", outs, 3)  # (B, Hkv, G, T, dv)
    o = ctx.call("multiply", o, float(scale))
    o = ctx.call("reshape", ctx.call("transpose", o, (0, 3, 1, 2, 4)), (b, t, qh * dv))
    if out_dt != f32:
        o = ctx.cast(o, out_dt)
    if state_dt != f32:
        state = ctx.cast(state, state_dt)
    return [o, state]


@lowering("CausalConvWithState", since=27)
def causal_conv_with_state(ctx: LowerCtx):
    act = ctx.attr("activation", "none")
    if act not in ("none", "silu", "swish"):
        ctx.fail(f"unknown activation {act!r}")
    if ctx.rank(0) != 3 or ctx.rank(1) != 3:
        ctx.fail("input and weight must be 3-D")
    dt = ctx.dtype(0)
    x, w = ctx.input(0), ctx.input(1)
    c = _static_dim(ctx, 0, 1, "the channel count")
    k = _static_dim(ctx, 1, 2, "the kernel size")
    if ctx.has_input(3):
        padded = ctx.call("concatenate", [ctx.input(3), x], 2)
    elif k > 1:
        padded = ctx.call("pad", x, ((0, 0), (0, 0), (k - 1, 0)))
    else:
        padded = x
    wc = ctx.const(1)
    if wc is not None:
        wl = ctx.constant(np.ascontiguousarray(np.transpose(wc, (0, 2, 1))), "weight")
    else:
        wl = ctx.call("transpose", w, (0, 2, 1))  # (C, k, 1)
    y = ctx.call("conv1d", ctx.call("swapaxes", padded, 1, 2), wl, groups=c)  # (B, L, C)
    if ctx.has_input(2):
        y = ctx.call("add", y, ctx.input(2))
    y = ctx.call("swapaxes", y, 1, 2)
    if act != "none":
        yf = y if dt.name == "float32" else ctx.cast(y, "float32")
        y = ctx.call("multiply", yf, ctx.call("sigmoid", yf))
        if dt.name != "float32":
            y = ctx.cast(y, dt)
    if k > 1:
        present = ctx.call("getitem", padded, (Slice(), Slice(), Slice(-(k - 1), None)))
    else:
        present = ctx.call("getitem", padded, (Slice(), Slice(), Slice(0, 0)))
    return [y, present]


# -- detection ops ------------------------------------------------------------


@lowering("NonMaxSuppression", since=10)
def non_max_suppression(ctx: LowerCtx) -> Ref:
    # Greedy NMS has a data-dependent output size: a helper runs it at run time.
    args = [ctx.input(i) if ctx.has_input(i) else None for i in range(2, 5)]
    return ctx.call("nms_select", ctx.input(0), ctx.input(1), *args, int(ctx.attr("center_point_box", 0)))
