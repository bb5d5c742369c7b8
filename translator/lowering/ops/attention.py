"""Attention-family lowerings (Attention, RotaryEmbedding, SwiGLU, ...) and detection ops."""

from __future__ import annotations

import math

import numpy as np

from ..context import LowerCtx
from ..program import DType, Ref, Slice
from ..registry import lowering

_NEG_INF = float("-inf")
_NATIVE_FLOATS = ("float16", "float32", "float64")


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
    if sp is not None:
        from onnx import helper

        sdt = np.dtype(helper.tensor_dtype_to_np_dtype(int(sp)))
        if sdt != dt:
            x = ctx.cast(x, sdt)
    p = ctx.call("softmax", x, -1, precise=True)
    if bias is not None and (ctx.has_input(3) or has_nonpad or static_rows_masked):
        # a query row with no attendable key is a zero row, not NaN
        empty = ctx.call("isneginf", ctx.call("max", bias, -1, keepdims=True))
        p = ctx.call("where", empty, _float_const(ctx, np.zeros((), np.float32), p_dtype(ctx, x, dt, sp), "zero"), p)
    if sp is not None:
        p = ctx.cast(p, dt)
    if mode == 3:
        qk_out = p
    y = ctx.call("matmul", p, v)
    if rank == 3:
        y = ctx.call("reshape", ctx.call("transpose", y, (0, 2, 1, 3)), (ctx.dim(0, 0), sq, -1))
    return [y, present_k, present_v, qk_out]


def p_dtype(ctx: LowerCtx, x: Ref, dt: np.dtype, sp) -> np.dtype:
    if sp is None:
        return dt
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(int(sp)))
