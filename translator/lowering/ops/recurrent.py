"""Recurrent lowerings: RNN, GRU, LSTM, unrolled over a static sequence length, or a loop over a run-time one.

The input projection X @ W^T is done for all time steps in one matmul; each step
then adds H @ R^T and applies the gate activations. With `sequence_lens`, steps
past a sequence's end keep the previous state and emit zeros (the reverse
direction reverses each sequence within its own length), as onnxruntime does.
When the sequence length is known only at run time, the step is one `loop`
block (opset.program) that both back ends iterate.
"""

from __future__ import annotations

from opset.program import Block, Dim, DType, Ref, Slice

import numpy as np

from ..context import LowerCtx, dtype_name
from ..registry import lowering

_DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# default (alpha, beta) of activations that take them
_ACT_DEFAULTS = {
    "affine": (1.0, 0.0),
    "leakyrelu": (0.01, None),
    "thresholdedrelu": (1.0, None),
    "scaledtanh": (1.0, 1.0),
    "hardsigmoid": (0.2, 0.5),
    "elu": (1.0, None),
}


class _Act:
    def __init__(self, name: str, alpha: float | None, beta: float | None):
        self.name = name.lower()
        d = _ACT_DEFAULTS.get(self.name, (None, None))
        self.alpha = d[0] if alpha is None else alpha
        self.beta = d[1] if beta is None else beta

    def __call__(self, ctx: LowerCtx, x: Ref) -> Ref:
        n, a, b = self.name, self.alpha, self.beta
        if n == "tanh":
            return ctx.call("tanh", x)
        if n == "sigmoid":
            return ctx.call("sigmoid", x)
        if n == "relu":
            return ctx.call("maximum", x, 0.0)
        if n == "affine":
            return ctx.call("add", ctx.call("multiply", x, a), b)
        if n == "leakyrelu":
            return ctx.call("where", ctx.call("greater_equal", x, 0.0), x, ctx.call("multiply", x, a))
        if n == "thresholdedrelu":
            return ctx.call("where", ctx.call("greater", x, a), x, 0.0)
        if n == "scaledtanh":
            return ctx.call("multiply", ctx.call("tanh", ctx.call("multiply", x, b)), a)
        if n == "hardsigmoid":
            return ctx.call("clip", ctx.call("add", ctx.call("multiply", x, a), b), 0.0, 1.0)
        if n == "elu":
            neg = ctx.call("multiply", ctx.call("expm1", ctx.call("minimum", x, 0.0)), a)
            return ctx.call("where", ctx.call("greater_equal", x, 0.0), x, neg)
        if n == "softsign":
            return ctx.call("divide", x, ctx.call("add", ctx.call("abs", x), 1.0))
        if n == "softplus":
            return ctx.call("logaddexp", x, 0.0)
        ctx.fail(f"unknown activation {self.name!r}")


def _activations(ctx: LowerCtx, kind: str, dirs: int) -> list[list[_Act]]:
    per = len(_DEFAULT_ACTS[kind])
    names = ctx.attr("activations") or _DEFAULT_ACTS[kind] * dirs
    if len(names) == per and dirs == 2:
        names = list(names) * 2
    if len(names) != per * dirs:
        ctx.fail(f"expected {per * dirs} activations, got {len(names)}")
    # alphas/betas are consumed in order by the activations that take them (as onnxruntime does)
    alphas = list(ctx.attr("activation_alpha") or [])
    betas = list(ctx.attr("activation_beta") or [])
    acts = []
    for n in names:
        d = _ACT_DEFAULTS.get(n.lower(), (None, None))
        alpha = alphas.pop(0) if d[0] is not None and alphas else None
        beta = betas.pop(0) if d[1] is not None and betas else None
        acts.append(_Act(n, alpha, beta))
    for a in acts:
        if a.name not in ("tanh", "sigmoid", "relu", "softsign", "softplus") and a.name not in _ACT_DEFAULTS:
            ctx.fail(f"unknown activation {a.name!r}")
    return [acts[d * per : (d + 1) * per] for d in range(dirs)]


def _param(ctx: LowerCtx, i: int, d: int, transpose: bool, hint: str) -> Ref:
    """Input i's direction-d slice (optionally transposed), folded when constant."""
    value = ctx.const(i)
    if value is not None:
        v = value[d]
        return ctx.constant(np.ascontiguousarray(v.T if transpose else v), hint)
    v = ctx.call("getitem", ctx.input(i), d)
    return ctx.call("transpose", v) if transpose else v


def _bias_parts(ctx: LowerCtx, d: int, n: int, hidden: int) -> tuple[Ref | None, Ref | None]:
    """(Wb, Rb) for direction d, each of length n*hidden, or (None, None) without B."""
    if not ctx.has_input(3):
        return None, None
    value = ctx.const(3)
    if value is not None:
        if not value[d].any():
            return None, None
        return (
            ctx.constant(np.ascontiguousarray(value[d, : n * hidden]), "wb"),
            ctx.constant(np.ascontiguousarray(value[d, n * hidden :]), "rb"),
        )
    b = ctx.call("getitem", ctx.input(3), d)
    return (
        ctx.call("getitem", b, Slice(None, n * hidden)),
        ctx.call("getitem", b, Slice(n * hidden, None)),
    )


def _cols(ctx: LowerCtx, x: Ref, start: int, stop: int) -> Ref:
    return ctx.call("getitem", x, (Slice(), Slice(start, stop)))


def _vec(ctx: LowerCtx, x: Ref | None, start: int, stop: int) -> Ref | None:
    return None if x is None else ctx.call("getitem", x, Slice(start, stop))


def _add(ctx: LowerCtx, *xs: Ref | None) -> Ref | None:
    out = None
    for x in xs:
        if x is not None:
            out = x if out is None else ctx.call("add", out, x)
    return out


class _Seq:
    """Per-direction time ordering and sequence-length masking."""

    def __init__(self, ctx: LowerCtx, steps: int | Dim, dtype):
        self.ctx = ctx
        self.steps = steps
        self.lens = None
        self.dtype = dtype
        if ctx.has_input(4):
            c = ctx.const(4)
            if c is None or not isinstance(steps, int) or not np.all(c == steps):
                self.lens = ctx.call("expand_dims", ctx.input(4), -1)  # (B, 1)

    def reverse_index(self) -> Ref:
        """(T, B, 1) time index that reverses each sequence within its own length."""
        ctx = self.ctx
        if isinstance(self.steps, int):
            t = ctx.constant(np.arange(self.steps, dtype=np.int64).reshape(-1, 1, 1), "t")
        else:
            t = ctx.call("reshape", ctx.call("arange", self.steps, dtype=DType("int64")), (-1, 1, 1))
        lens = ctx.call("expand_dims", ctx.call("astype", self.lens, DType("int64")), 0)  # (1, B, 1)
        rev = ctx.call("subtract", ctx.call("subtract", lens, 1), t)
        return ctx.call("where", ctx.call("less", t, lens), rev, t)

    def valid(self, t: int | Ref) -> Ref:
        return self.ctx.call("less", t, self.lens)  # (B, 1)


class _Cell:
    """One direction's weights and gates: `step` advances the state by one time step."""

    def __init__(self, ctx: LowerCtx, kind: str, d: int, hidden: int, acts: list[_Act], clip, seq: _Seq):
        self.ctx, self.kind, self.hidden, self.f, self.clip, self.seq = ctx, kind, hidden, acts, clip, seq
        ng = _GATES[kind]
        self.r_t = _param(ctx, 2, d, True, "r")  # (H, ng*H)
        wb, rb = _bias_parts(ctx, d, ng, hidden)
        if kind == "GRU":
            self.lbr = int(ctx.attr("linear_before_reset", 0))
            # z and r take both biases up front; the h gate's biases are placed per the variant
            rb_zr = None if rb is None else ctx.call("pad", _vec(ctx, rb, 0, 2 * hidden), [(0, hidden)])
            self.in_bias = _add(ctx, wb, rb_zr)
            self.rb_h = _vec(ctx, rb, 2 * hidden, 3 * hidden)
            self.r_zr = _cols(ctx, self.r_t, 0, 2 * hidden)
            self.r_h = _cols(ctx, self.r_t, 2 * hidden, 3 * hidden)
        else:
            self.in_bias = _add(ctx, wb, rb)
        if kind == "LSTM" and ctx.has_input(7):
            p = _param(ctx, 7, d, False, "p")
            self.p_i, self.p_o, self.p_f = (_vec(ctx, p, k * hidden, (k + 1) * hidden) for k in range(3))
        else:
            self.p_i = self.p_o = self.p_f = None

    def clipped(self, v: Ref) -> Ref:
        return v if self.clip is None else self.ctx.call("clip", v, -float(self.clip), float(self.clip))

    def step(self, xt: Ref, h: Ref, c: Ref | None, t: int | Ref) -> tuple[Ref, Ref, Ref | None]:
        """(output, new h, new c) at time t from the projected input xt (B, ng*H)."""
        ctx, f, hidden, clipped = self.ctx, self.f, self.hidden, self.clipped
        if self.kind == "RNN":
            new_h = f[0](ctx, clipped(ctx.call("add", xt, ctx.call("matmul", h, self.r_t))))
            new_c = None
        elif self.kind == "GRU":
            xz, xh = _cols(ctx, xt, 0, 2 * hidden), _cols(ctx, xt, 2 * hidden, 3 * hidden)
            zr = f[0](ctx, clipped(ctx.call("add", xz, ctx.call("matmul", h, self.r_zr))))
            z, r = _cols(ctx, zr, 0, hidden), _cols(ctx, zr, hidden, 2 * hidden)
            if self.lbr:
                hr = _add(ctx, ctx.call("matmul", h, self.r_h), self.rb_h)
                pre = ctx.call("add", xh, ctx.call("multiply", r, hr))
            else:
                pre = _add(ctx, xh, ctx.call("matmul", ctx.call("multiply", r, h), self.r_h), self.rb_h)
            hh = f[1](ctx, clipped(pre))
            # H = (1 - z) * hh + z * H_prev = hh + z * (H_prev - hh)
            new_h = ctx.call("add", hh, ctx.call("multiply", z, ctx.call("subtract", h, hh)))
            new_c = None
        else:
            p_i, p_o, p_f = self.p_i, self.p_o, self.p_f
            g = ctx.call("add", xt, ctx.call("matmul", h, self.r_t))
            gi, go, gf, gc = (_cols(ctx, g, k * hidden, (k + 1) * hidden) for k in range(4))
            i_t = f[0](ctx, clipped(_add(ctx, gi, None if p_i is None else ctx.call("multiply", p_i, c))))
            if ctx.attr("input_forget", 0):
                f_t = ctx.call("subtract", 1.0, i_t)
            else:
                f_t = f[0](ctx, clipped(_add(ctx, gf, None if p_f is None else ctx.call("multiply", p_f, c))))
            c_in = f[1](ctx, clipped(gc))
            new_c = ctx.call("add", ctx.call("multiply", f_t, c), ctx.call("multiply", i_t, c_in))
            o_t = f[0](ctx, clipped(_add(ctx, go, None if p_o is None else ctx.call("multiply", p_o, new_c))))
            new_h = ctx.call("multiply", o_t, f[2](ctx, new_c))
        if self.seq.lens is None:
            return new_h, new_h, new_c
        ok = self.seq.valid(t)
        out = ctx.call("where", ok, new_h, 0.0)
        h = ctx.call("where", ok, new_h, h)
        if new_c is not None:
            c = ctx.call("where", ok, new_c, c)
        return out, h, c


def _unrolled(cell: _Cell, xw: Ref, h: Ref, c: Ref | None, steps: int, reverse: bool):
    """A static sequence length: every step written out. Returns (Y (T, B, H), h, c)."""
    ctx = cell.ctx
    outs = []
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        out, h, c = cell.step(ctx.call("getitem", xw, t), h, c, t)
        outs.append(out)
    if reverse:
        outs.reverse()
    return ctx.call("stack", outs, 0), h, c


def _looped(cell: _Cell, xw: Ref, h: Ref, c: Ref | None, steps: Dim, reverse: bool):
    """A run-time sequence length: one step inside a `loop` block. Returns (Y (T, B, H), h, c)."""
    ctx = cell.ctx
    names = ctx.builder.names
    lstm = c is not None
    params = (names.new("t"), names.new("t_cond"), names.new("h"), *((names.new("c"),) if lstm else ()))
    last = ctx.call("subtract", steps, 1) if reverse else None
    with ctx.collecting() as body:
        t = Ref(params[0])
        if reverse:
            t = ctx.call("subtract", last, t)
        out, new_h, new_c = cell.step(
            ctx.call("take", xw, t, axis=0), Ref(params[2]), Ref(params[3]) if lstm else None, t
        )
    block = Block(params, body, (None, new_h, *((new_c,) if lstm else ()), out))
    outs = ctx.control("loop", 3 if lstm else 2, steps, None, h, *((c,) if lstm else ()), blocks=(block,))
    y = ctx.call("stack_parts", outs[-1], DType(dtype_name(cell.seq.dtype)), (None, cell.hidden))
    if reverse:
        y = ctx.call("getitem", y, Slice(None, None, -1))
    return y, outs[0], outs[1] if lstm else None


def _run(ctx: LowerCtx, kind: str):
    direction = ctx.attr("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        ctx.fail(f"unknown direction {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    layout = int(ctx.attr("layout", 0))
    hidden = ctx.attr("hidden_size") or ctx.dim(2, 2)
    if not isinstance(hidden, int):
        ctx.fail("hidden_size must be known")
    if ctx.shape(0) is not None and ctx.rank(0) != 3:  # unknown rank: 3-D by the op's definition
        ctx.fail("X must be 3-D")
    dt = ctx.dtype(0)
    x = ctx.input(0)
    if layout:
        x = ctx.call("swapaxes", x, 0, 1)
    steps = ctx.dim(0, 1 if layout else 0)
    batch = ctx.dim(0, 0 if layout else 1)
    acts = _activations(ctx, kind, dirs)
    clip = ctx.attr("clip")
    seq = _Seq(ctx, steps, dt)

    def state0(i: int, d: int) -> Ref:
        if ctx.has_input(i):
            s = ctx.input(i)
            return ctx.call("getitem", s, (Slice(), d) if layout else d)
        return ctx.call("zeros", (batch, hidden), DType(dtype_name(dt)))

    ys, hs, cs = [], [], []
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        xd = x
        rev_idx = None
        if reverse and seq.lens is not None:
            rev_idx = seq.reverse_index()
            xd = ctx.call("take_along_axis", x, rev_idx, 0)
        w_t = _param(ctx, 1, d, True, "w")  # (I, ng*H)
        cell = _Cell(ctx, kind, d, hidden, acts[d], clip, seq)
        h = state0(5, d)
        c = state0(6, d) if kind == "LSTM" else None
        xw = ctx.call("matmul", xd, w_t)  # (T, B, ng*H): the input projection of every step at once
        if cell.in_bias is not None:
            xw = ctx.call("add", xw, cell.in_bias)
        run = _unrolled if isinstance(steps, int) else _looped
        y, h, c = run(cell, xw, h, c, steps, reverse and rev_idx is None)
        if rev_idx is not None:
            y = ctx.call("take_along_axis", y, rev_idx, 0)
        ys.append(y)
        hs.append(h)
        cs.append(c)
    y = ctx.call("stack", ys, 1)  # (T, D, B, H)
    if layout:
        y = ctx.call("transpose", y, (2, 0, 1, 3))
    axis = 1 if layout else 0
    y_h = ctx.call("stack", hs, axis)
    results = [y, y_h]
    if kind == "LSTM":
        results.append(ctx.call("stack", cs, axis))
    return results


@lowering("RNN", since=7)
def rnn(ctx: LowerCtx):
    return _run(ctx, "RNN")


@lowering("GRU", since=7)
def gru(ctx: LowerCtx):
    return _run(ctx, "GRU")


@lowering("LSTM", since=7)
def lstm(ctx: LowerCtx):
    return _run(ctx, "LSTM")
