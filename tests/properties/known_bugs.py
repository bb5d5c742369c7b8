"""Bugs hypothesis found that are not fixed yet.

Each entry: a predicate on a generated Case, and the xfail(strict=True) regression
test in test_regressions.py that shows it. The property tests skip matching
examples (counted as "known_bug" in the stats) so CI stays green while the bug
is open; when the regression test starts passing (XPASS fails the run), delete
its entry here and the xfail mark there.
"""

from __future__ import annotations

import math

from onnx import helper

from .harness import Case


def _attrs(n) -> dict:
    out = {}
    for a in n.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]


def _shapes(case: Case) -> dict:
    out = {k: tuple(v.shape) for k, v in case.feed.items()}
    for vi in list(case.model.graph.value_info) + list(case.model.graph.output):
        out[vi.name] = tuple(_dims(vi))
    return out


def _opset(case: Case) -> int:
    return next(i.version for i in case.model.opset_import if i.domain in ("", "ai.onnx"))


def ort_pool_out(n: int, k: int, s: int, d: int, p0: int, p1: int, ceil: bool, auto_pad: str) -> int:
    """onnxruntime's pooled size: auto_pad ignores ceil_mode; a ceil window may not start in the right pad."""
    eff = (k - 1) * d + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return -(-n // s)
    if auto_pad == "VALID":
        return -(-(n - eff + 1) // s)
    num = n + p0 + p1 - eff
    if not ceil:
        return num // s + 1
    out = -(-num // s) + 1
    return out - 1 if (out - 1) * s >= n + p0 else out


def nhwc_pool_ceil_shape(case: Case) -> bool:
    """A 2-D MaxPool/AveragePool with ceil_mode=1 whose ONNX-inferred output size is not onnxruntime's."""
    shapes = _shapes(case)
    for n in case.model.graph.node:
        if n.op_type not in ("MaxPool", "AveragePool"):
            continue
        a = _attrs(n)
        x, y = shapes.get(n.input[0]), shapes.get(n.output[0])
        if not a.get("ceil_mode") or x is None or y is None or len(x) != 4 or len(y) != 4:
            continue
        k, s = a["kernel_shape"], a.get("strides", [1, 1])
        d, p = a.get("dilations", [1, 1]), a.get("pads", [0, 0, 0, 0])
        for i in range(2):
            if y[2 + i] != ort_pool_out(x[2 + i], k[i], s[i], d[i], p[i], p[i + 2], True, a.get("auto_pad", "NOTSET")):
                return True
    return False


def pool_window_all_padding(case: Case) -> bool:
    """A MaxPool/AveragePool output window (dilated) that holds no input element, only padding."""
    shapes = _shapes(case)
    for n in case.model.graph.node:
        if n.op_type not in ("MaxPool", "AveragePool"):
            continue
        a = _attrs(n)
        x = shapes.get(n.input[0])
        if x is None or a.get("auto_pad", "NOTSET") != "NOTSET":
            continue
        nd = len(x) - 2
        k, s = a["kernel_shape"], a.get("strides", [1] * nd)
        d, p = a.get("dilations", [1] * nd), a.get("pads", [0] * (2 * nd))
        for i in range(nd):
            size = x[2 + i]
            out = ort_pool_out(size, k[i], s[i], d[i], p[i], p[i + nd], bool(a.get("ceil_mode")), "NOTSET")
            for o in range(max(out, 0)):
                pos = [o * s[i] - p[i] + j * d[i] for j in range(k[i])]
                if not any(0 <= q < size for q in pos):
                    return True
    return False


def _init(case: Case, name: str):
    from onnx import numpy_helper

    for t in case.model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None


def _resize_scales(case: Case, n, shapes) -> tuple[list, list] | None:
    """(resized input dims, effective scales) of a Resize node, as onnxruntime computes them."""
    a = _attrs(n)
    x = shapes.get(n.input[0])
    if x is None:
        return None
    axes = a.get("axes")
    dims = [x[i] for i in axes] if axes else list(x)
    scales = _init(case, n.input[2]) if len(n.input) > 2 and n.input[2] else None
    if scales is not None and scales.size:
        return dims, scales.tolist()
    sizes = _init(case, n.input[3]) if len(n.input) > 3 and n.input[3] else None
    if sizes is None:
        return None
    ratios = [s / d for s, d in zip(sizes.tolist(), dims)]
    policy = a.get("keep_aspect_ratio_policy", "stretch")
    if policy == "not_larger":
        return dims, [min(ratios)] * len(dims)
    if policy == "not_smaller":
        return dims, [max(ratios)] * len(dims)
    return dims, ratios


def resize_output_length(case: Case) -> bool:
    """Resize whose coordinate mapping needs the integer output length: align_corners / tf_crop_and_resize
    with a fractional in*scale, or pytorch_half_pixel with an output length of 1."""
    shapes = _shapes(case)
    for n in case.model.graph.node:
        if n.op_type != "Resize":
            continue
        ctm = _attrs(n).get("coordinate_transformation_mode", "half_pixel")
        x, y = shapes.get(n.input[0]), shapes.get(n.output[0])
        if ctm == "pytorch_half_pixel" and x is not None and y is not None:
            if any(b == 1 and a != 1 for a, b in zip(x, y)):
                return True
        plan = _resize_scales(case, n, shapes)
        if plan is None:
            continue
        if ctm == "pytorch_half_pixel" and any(0.5 <= d * s < 1.5 and d != 1 for d, s in zip(*plan)):
            return True
        if ctm in ("align_corners", "tf_crop_and_resize"):
            if any(abs(d * s - round(d * s)) > 1e-6 for d, s in zip(*plan)):
                return True
    return False


def resize_empty_output(case: Case) -> bool:
    """A Resize whose output has a zero-size dim (scales, or sizes under keep_aspect_ratio_policy)."""
    shapes = _shapes(case)
    for n in case.model.graph.node:
        if n.op_type != "Resize":
            continue
        if 0 in (shapes.get(n.output[0]) or ()):
            return True
        plan = _resize_scales(case, n, shapes)
        if plan is not None and any(math.floor(d * s + 0.5) == 0 or math.floor(d * s) == 0 for d, s in zip(*plan)):
            return True
    return False


# name -> (predicate, regression test in test_regressions.py)
KNOWN_BUGS: dict[str, tuple] = {
    "pool_window_all_padding": (pool_window_all_padding, "test_pool_window_entirely_in_padding"),
    "nhwc_pool_ceil_shape": (nhwc_pool_ceil_shape, "test_nhwc_pool_ceil_mode_size_1_dims"),
    "resize_output_length": (resize_output_length, "test_resize_coordinates_use_output_length"),
    "resize_empty_output": (resize_empty_output, "test_resize_to_empty_output"),
}


def known_bug(case: Case) -> str | None:
    for name, (pred, _test) in KNOWN_BUGS.items():
        if pred(case):
            return name
    return None
