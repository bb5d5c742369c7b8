"""The optimizers of the ai.onnx.preview.training domain: Adagrad, Momentum, Adam.

Each takes a learning rate R and a step count T (scalars), then n tensors to
update and their gradients and optimizer states, and returns the updated
tensors and states. The arithmetic is the specification's, elementwise, in the
tensors' dtype; T's run-time value picks the first-step variants with `where`.
"""

from __future__ import annotations

from opset.program import Ref

from ..context import LowerCtx
from ..registry import lowering

DOMAIN = "ai.onnx.preview.training"


def _groups(ctx: LowerCtx, per: int) -> int:
    n, rest = divmod(ctx.num_inputs - 2, per)
    if rest or n < 1:
        ctx.fail(f"expects R, T and {per} groups of n tensors, got {ctx.num_inputs} inputs")
    return n


def _scalars(ctx: LowerCtx, dtype) -> tuple[Ref, Ref]:
    r = ctx.cast(ctx.input(0), dtype) if ctx.dtype(0) != dtype else ctx.input(0)
    return r, ctx.cast(ctx.input(1), dtype)


def _regularized(ctx: LowerCtx, x: Ref, g: Ref, norm: float, dtype) -> Ref:
    return ctx.call("add", ctx.call("multiply", x, ctx.scalar(norm, dtype)), g)


@lowering("Adagrad", domain=DOMAIN)
def adagrad(ctx: LowerCtx):
    n = _groups(ctx, 3)
    dt = ctx.dtype(2)
    decay, eps, norm = (
        float(ctx.attr(k, d)) for k, d in (("decay_factor", 0.0), ("epsilon", 0.0), ("norm_coefficient", 0.0))
    )
    r, t = _scalars(ctx, dt)
    rate = ctx.call("divide", r, ctx.call("add", ctx.call("multiply", t, ctx.scalar(decay, dt)), ctx.scalar(1, dt)))
    xs, hs = [], []
    for i in range(n):
        x, g, h = ctx.input(2 + i), ctx.input(2 + n + i), ctx.input(2 + 2 * n + i)
        gr = _regularized(ctx, x, g, norm, dt)
        h_new = ctx.call("add", h, ctx.call("square", gr))
        scale = ctx.call("add", ctx.call("sqrt", h_new), ctx.scalar(eps, dt))
        xs.append(ctx.call("subtract", x, ctx.call("divide", ctx.call("multiply", rate, gr), scale)))
        hs.append(h_new)
    return xs + hs


@lowering("Momentum", domain=DOMAIN)
def momentum(ctx: LowerCtx):
    n = _groups(ctx, 3)
    dt = ctx.dtype(2)
    alpha, beta, norm = (float(ctx.attr(k, 0.0)) for k in ("alpha", "beta", "norm_coefficient"))
    mode = ctx.attr("mode", "standard")
    if mode not in ("standard", "nesterov"):
        ctx.fail(f"unknown mode {mode!r}")
    r, t = _scalars(ctx, dt)
    # The gradient's coefficient is 1 at the first step (T == 0).
    beta_t = ctx.call("where", ctx.call("greater", t, ctx.scalar(0, dt)), ctx.scalar(beta, dt), ctx.scalar(1, dt))
    xs, vs = [], []
    for i in range(n):
        x, g, v = ctx.input(2 + i), ctx.input(2 + n + i), ctx.input(2 + 2 * n + i)
        gr = _regularized(ctx, x, g, norm, dt)
        v_new = ctx.call("add", ctx.call("multiply", v, ctx.scalar(alpha, dt)), ctx.call("multiply", beta_t, gr))
        step = v_new if mode == "standard" else ctx.call("add", gr, ctx.call("multiply", v_new, ctx.scalar(alpha, dt)))
        xs.append(ctx.call("subtract", x, ctx.call("multiply", r, step)))
        vs.append(v_new)
    return xs + vs


@lowering("Adam", domain=DOMAIN)
def adam(ctx: LowerCtx):
    n = _groups(ctx, 4)
    dt = ctx.dtype(2)
    alpha, beta, eps, norm, post = (
        float(ctx.attr(k, d))
        for k, d in (("alpha", 0.9), ("beta", 0.999), ("epsilon", 0.0), ("norm_coefficient", 0.0),
                     ("norm_coefficient_post", 0.0))
    )  # fmt: skip
    r, t = _scalars(ctx, dt)
    # Bias correction after the first step: R * sqrt(1 - beta^T) / (1 - alpha^T).
    corrected = ctx.call(
        "divide",
        ctx.call(
            "multiply", r, ctx.call("sqrt", ctx.call("subtract", 1.0, ctx.call("power", ctx.scalar(beta, dt), t)))
        ),
        ctx.call("subtract", 1.0, ctx.call("power", ctx.scalar(alpha, dt), t)),
    )
    rate = ctx.call("where", ctx.call("greater", t, ctx.scalar(0, dt)), corrected, r)
    xs, vs, hs = [], [], []
    for i in range(n):
        x, g, v, h = (ctx.input(2 + k * n + i) for k in range(4))
        gr = _regularized(ctx, x, g, norm, dt)
        v_new = ctx.call(
            "add", ctx.call("multiply", v, ctx.scalar(alpha, dt)), ctx.call("multiply", gr, ctx.scalar(1 - alpha, dt))
        )
        h_new = ctx.call(
            "add",
            ctx.call("multiply", h, ctx.scalar(beta, dt)),
            ctx.call("multiply", ctx.call("square", gr), ctx.scalar(1 - beta, dt)),
        )
        h_sqrt = ctx.call("add", ctx.call("sqrt", h_new), ctx.scalar(eps, dt))
        x_new = ctx.call("subtract", x, ctx.call("multiply", rate, ctx.call("divide", v_new, h_sqrt)))
        if post:
            x_new = ctx.call("multiply", x_new, ctx.scalar(1 - post, dt))
        xs.append(x_new)
        vs.append(v_new)
        hs.append(h_new)
    return xs + vs + hs
