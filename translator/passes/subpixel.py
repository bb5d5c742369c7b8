"""A strided 2-D ConvTranspose -> one dense Conv over the input, a pixel shuffle, and a crop.

MLX's CPU runs a transposed conv as a conv over the stride-dilated input (`input_dilation`), a scalar loop
that also multiplies the inserted zeros: XSeg's three 3x3 stride-2 up-convs took 35 of its 110 ms. Every
output phase (Y mod s) of a transposed conv reads the input through its own sub-kernel (the taps k with
k = phase + s*m), so one dense conv with s*s*C_out output channels, one group per phase, computes all of
them at the input's resolution, where the native kernels take it; a DepthToSpace (which the layout pass
keeps channels-last) interleaves the phases and a slice drops the rows the pads remove.

Per axis, with input length n, kernel k, stride s, begin pad p and output length L:
  output Y = q*s + r - p (r = (Y + p) mod s) sums w[r + s*m] * x[q - m] over m;
  with K = ceil(k/s) the dense conv's tap j = K-1-m reads x[t + j - PL] for t = q - q0, q0 = floor(p/s),
  PL = K-1-q0; the interleaved phases start at Y = -(p mod s).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Node, Value


def _ints(v) -> list[int]:
    return [int(a) for a in v]


def _plan(graph: Graph, node: Node):
    """The rewrite's geometry, or None where it does not apply (kept on the general lowering)."""
    if node.domain or node.op_type != "ConvTranspose" or len(node.outputs) != 1 or graph.opset() < 10:
        return None
    w = graph.value(node.inputs[1]).const if len(node.inputs) > 1 else None
    bias = None
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = graph.value(node.inputs[2]).const
        if bias is None:
            return None
    x, y = graph.value(node.inputs[0]), graph.value(node.outputs[0])
    if w is None or w.ndim != 4 or x.shape is None or len(x.shape) != 4 or y.static_shape is None:
        return None
    if w.dtype != np.float32 or x.dtype != np.float32 or int(node.attrs.get("group", 1)) != 1:
        return None
    if node.attrs.get("output_shape") is not None or (node.attrs.get("auto_pad") or "NOTSET") not in (
        "NOTSET",
        "VALID",
    ):
        return None
    if any(d != 1 for d in _ints(node.attrs.get("dilations", [1, 1]))):
        return None
    strides = _ints(node.attrs.get("strides", [1, 1]))
    if max(strides) == 1:
        return None  # a stride-1 ConvTranspose is already a plain conv for the lowering
    in_hw = x.shape[2:]
    if not all(isinstance(d, int) and d > 0 for d in in_hw):
        return None
    pads = (
        _ints(node.attrs.get("pads", [0, 0, 0, 0])) if (node.attrs.get("auto_pad") or "NOTSET") == "NOTSET" else [0] * 4
    )
    out_pad = _ints(node.attrs.get("output_padding", [0, 0]))
    kernel = list(w.shape[2:])
    axes = []
    for a in range(2):
        n, k, s, p, op = in_hw[a], kernel[a], strides[a], pads[a], out_pad[a]
        length = s * (n - 1) + op + k - p - pads[2 + a]
        if length != y.static_shape[2 + a] or length < 1:
            return None
        taps = math.ceil(k / s)
        q0, q1 = p // s, (length - 1 + p) // s
        pl = taps - 1 - q0
        if pl < 0:
            return None  # the pads crop more than the kernel reaches: keep the general lowering
        pr = max(0, (q1 - q0 + 1) + taps - 1 - n - pl)
        conv_len = n + pl + pr - taps + 1
        axes.append(dict(k=k, s=s, taps=taps, pl=pl, pr=pr, conv_len=conv_len, start=p % s, length=length))
    return w, bias, axes


def _phase_weights(w: np.ndarray, axes: list[dict]) -> np.ndarray:
    """(C_in, C_out, kh, kw) -> the dense conv's OIHW weights, output channels ordered (r_h, r_w, c_out)."""
    c_in, c_out = w.shape[:2]
    (ah, aw) = axes
    dense = np.zeros((ah["s"], aw["s"], c_out, c_in, ah["taps"], aw["taps"]), w.dtype)
    for rh in range(ah["s"]):
        for jh in range(ah["taps"]):
            kh = rh + ah["s"] * (ah["taps"] - 1 - jh)
            if kh >= ah["k"]:
                continue
            for rw in range(aw["s"]):
                for jw in range(aw["taps"]):
                    kw = rw + aw["s"] * (aw["taps"] - 1 - jw)
                    if kw < aw["k"]:
                        dense[rh, rw, :, :, jh, jw] = w[:, :, kh, kw].T
    return dense.reshape(ah["s"] * aw["s"] * c_out, c_in, ah["taps"], aw["taps"])


def _const(graph: Graph, base: str, array: np.ndarray) -> str:
    name = graph.fresh_name(base)
    graph.add_value(Value(name, array.dtype, tuple(array.shape), array))
    return name


def _tensor(graph: Graph, base: str, dtype, shape) -> str:
    name = graph.fresh_name(base)
    graph.add_value(Value(name, dtype, tuple(shape)))
    return name


def _rewrite(graph: Graph, node: Node, w: np.ndarray, bias: np.ndarray | None, axes: list[dict]) -> None:
    x = graph.value(node.inputs[0])
    batch, c_out = x.shape[0], w.shape[1]
    (ah, aw) = axes
    sh, sw, th, tw = ah["s"], aw["s"], ah["conv_len"], aw["conv_len"]
    dt = x.dtype
    graph.remove_node(node)
    inputs = [node.inputs[0], _const(graph, f"{node.name}_phase_w", _phase_weights(w, axes))]
    if bias is not None:
        inputs.append(_const(graph, f"{node.name}_phase_b", np.tile(bias, sh * sw)))
    attrs = {"kernel_shape": [ah["taps"], aw["taps"]], "pads": [ah["pl"], aw["pl"], ah["pr"], aw["pr"]]}
    phases = _tensor(graph, f"{node.name}_phases", dt, (batch, sh * sw * c_out, th, tw))
    graph.add_node(Node(graph.fresh_name(f"{node.name}_conv"), "Conv", "", inputs, [phases], attrs))
    out = node.outputs[0]
    crop = (ah["start"], aw["start"]) != (0, 0) or (th * sh, tw * sw) != (ah["length"], aw["length"])
    merged = _tensor(graph, f"{node.name}_merged", dt, (batch, c_out, th * sh, tw * sw)) if crop else out
    if sh == sw:  # DepthToSpace (DCR: channel (r_h * s + r_w) * C + c), which the layout pass keeps in NHWC
        graph.add_node(
            Node(
                graph.fresh_name(f"{node.name}_d2s"),
                "DepthToSpace",
                "",
                [phases],
                [merged],
                {"blocksize": sh, "mode": "DCR"},
            )
        )
    else:
        split = _tensor(graph, f"{node.name}_split", dt, (batch, sh, sw, c_out, th, tw))
        shape6 = _const(graph, f"{node.name}_shape6", np.array([0, sh, sw, c_out, th, tw], np.int64))
        graph.add_node(Node(graph.fresh_name(f"{node.name}_reshape"), "Reshape", "", [phases, shape6], [split]))
        moved = _tensor(graph, f"{node.name}_moved", dt, (batch, c_out, th, sh, tw, sw))
        graph.add_node(
            Node(
                graph.fresh_name(f"{node.name}_shuffle"),
                "Transpose",
                "",
                [split],
                [moved],
                {"perm": [0, 3, 4, 1, 5, 2]},
            )
        )
        shape4 = _const(graph, f"{node.name}_shape4", np.array([0, c_out, th * sh, tw * sw], np.int64))
        graph.add_node(Node(graph.fresh_name(f"{node.name}_merge"), "Reshape", "", [moved, shape4], [merged]))
    if crop:
        starts = np.array([ah["start"], aw["start"]], np.int64)
        ends = starts + np.array([ah["length"], aw["length"]], np.int64)
        ins = [merged, _const(graph, f"{node.name}_starts", starts), _const(graph, f"{node.name}_ends", ends)]
        ins.append(_const(graph, f"{node.name}_axes", np.array([2, 3], np.int64)))
        graph.add_node(Node(graph.fresh_name(f"{node.name}_crop"), "Slice", "", ins, [out]))


def subpixel_conv_transposes(graph: Graph) -> int:
    """Returns the number of ConvTranspose nodes rewritten."""
    done = 0
    for node in graph.topo_order():
        plan = _plan(graph, node)
        if plan is not None:
            _rewrite(graph, node, *plan)
            done += 1
    return done
