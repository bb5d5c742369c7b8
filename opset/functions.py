"""The allowlist: every function a lowered program may call, by name.

The op-list interpreter resolves names only through FUNCTIONS, built here from
names written in this file, never from names read from a model or op list.
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx

from . import native
from .helpers import HELPER_DEPS, HELPERS

MX_NAMES = (
    "abs", "add", "addmm", "all", "any", "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctan2", "arctanh", "argmax", "argmin", "argsort", "array", "astype", "bitwise_and",
    "bitwise_invert", "bitwise_or", "bitwise_xor", "broadcast_to", "ceil", "clip", "concatenate",
    "conv1d", "conv2d", "conv3d", "conv_general", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "cos", "cosh", "cumsum", "cumprod", "cummax", "cummin", "divide", "einsum",
    "equal", "erf", "exp", "expand_dims", "eye", "flatten", "flip", "floor", "floor_divide",
    "full", "greater", "greater_equal", "isinf", "isnan", "left_shift", "less", "less_equal",
    "log", "log1p", "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "moveaxis", "multiply",
    "negative", "not_equal", "ones", "pad", "power", "prod", "put_along_axis", "reciprocal",
    "remainder", "repeat", "reshape", "right_shift", "round", "rsqrt", "sigmoid", "sign", "sin",
    "sinh", "slice", "slice_update", "softmax", "sort", "split", "sqrt", "square", "squeeze",
    "stack", "std", "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh",
    "tile", "topk", "transpose", "tril", "triu", "var", "where", "zeros",
    "argpartition", "as_strided", "atleast_1d", "broadcast_arrays", "contiguous", "degrees", "diag",
    "diagonal", "erfinv", "expm1", "full_like", "identity", "inner", "isfinite", "isneginf", "isposinf",
    "kron", "linspace", "log10", "log2", "logcumsumexp", "meshgrid", "nan_to_num", "ones_like", "outer",
    "partition", "radians", "roll", "tensordot", "trace", "tri", "unflatten", "zeros_like", "cumulative_sum",
    "median", "divmod", "trunc", "bitwise_left_shift", "bitwise_right_shift", "conjugate", "real", "imag",
)  # fmt: skip

# The native kernels (opset/native): printed as `native.<name>`, called through
# opset.native's wrappers (which fall back to MLX ops when the extension is absent).
NATIVE_FUNCTIONS: dict[str, Callable] = {
    "native_conv2d": native.conv2d,
    "native_concat_conv2d": native.concat_conv2d,
    "native_image_conv2d": native.image_conv2d,
    "native_dw_pw_conv2d": native.dw_pw_conv2d,
    "native_pw_dw_conv2d": native.pw_dw_conv2d,
    "native_interleave": native.interleave,
    "native_concat": native.concat,
    "native_flat_concat": native.flat_concat,
    "native_split_channels": native.split_channels,
    "native_stem_split": native.stem_split,
    "native_max_pool2d": native.max_pool2d,
    "native_upsample_nearest": native.upsample_nearest,
    "native_resize_axis": native.resize_axis,
    "native_instance_norm": native.instance_norm,
    "native_sigmoid": native.sigmoid,
    "native_softmax": native.softmax,
}

# Pseudo-functions the back ends print as syntax rather than a call.
SYNTAX = ("getitem",)


def _getitem(x, index):
    return x[index]


FUNCTIONS: dict[str, Callable] = {name: getattr(mx, name) for name in MX_NAMES}
FUNCTIONS["getitem"] = _getitem
FUNCTIONS.update(NATIVE_FUNCTIONS)
for _name, _fn in HELPERS.items():
    if _name in FUNCTIONS:
        raise RuntimeError(f"helper {_name} shadows an MLX function")
    FUNCTIONS[_name] = _fn


def is_helper(name: str) -> bool:
    return name in HELPERS


def is_native(name: str) -> bool:
    return name in NATIVE_FUNCTIONS


def printed_name(name: str) -> str:
    """How generated code spells a call: mx.<fn>, a helper's bare name, or native.<fn>."""
    if is_helper(name):
        return name
    if is_native(name):
        return "native." + name.removeprefix("native_")
    return f"mx.{name}"


def helper_closure(names: list[str]) -> list[str]:
    """Helpers needed by `names`, dependencies first, in a stable order."""
    out: list[str] = []

    def visit(n: str) -> None:
        if n in out or n not in HELPERS:
            return
        for dep in HELPER_DEPS.get(n, ()):
            visit(dep)
        out.append(n)

    for n in sorted(names):
        visit(n)
    return out
