"""Fold an image input's normalization into the stem conv that reads it (native kernels).

`translator/image_input.py` puts `ImageNormalize` (uint8 NHWC image -> (x[perm] - mean) / std) in front of
the network. A native dense conv reading its output computes

    sum_c W[c] * (x[perm[c]] - mean[c]) / std[c]  =  sum_i W'[i] * (x[i] - offset[i])

with W'[..., perm[c]] = W[..., c] / std[c] and offset[perm[c]] = mean[c]: the same conv on the image
itself, minus a per-channel offset, which `native.image_conv2d` applies as it converts the image's rows.
The model zero-pads the normalized image; padding x with the mean is the same thing, and in the
kernel's terms that is zero padding of x - offset: the borders stay exact.
"""

from __future__ import annotations

import numpy as np

from ..image_input import NORMALIZE
from ..ir import Graph, Node, Value
from .layout import NHWC_DOMAIN

OFFSET = "image_offset"  # attribute of a folded conv: it reads the uint8 image, minus these per-channel values


def _foldable(graph: Graph, conv: Node, value: str) -> bool:
    if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("strategy") != "native":
        return False
    if int(conv.attrs.get("group", 1)) != 1 or conv.inputs[0] != value or value in conv.inputs[1:]:
        return False
    if any(int(d) != 1 for d in conv.attrs.get("dilations", [1, 1])):
        return False
    w = graph.value(conv.inputs[1]).const
    return w is not None and w.ndim == 4 and w.dtype == np.float32


def fold_image_normalization(graph: Graph) -> int:
    """Returns the number of convs that now read the image itself."""
    folded = 0
    for norm in [n for n in graph.nodes if n.domain == NHWC_DOMAIN and n.op_type == NORMALIZE]:
        image, value = norm.inputs[0], norm.outputs[0]
        mean, std, perm = norm.attrs["mean"], norm.attrs["std"], norm.attrs["perm"]
        offset = [0.0] * len(perm)
        for c, i in enumerate(perm):
            offset[i] = float(mean[c])
        for conv in graph.consumers(value):
            if not _foldable(graph, conv, value):
                continue
            w = graph.value(conv.inputs[1]).const  # (O, kh, kw, I): the layout pass's NHWC twin
            folded_w = np.empty_like(w)
            for c, i in enumerate(perm):
                folded_w[..., i] = (w[..., c].astype(np.float64) / std[c]).astype(w.dtype)
            w_name = graph.fresh_name(f"{conv.inputs[1]}_image")
            graph.add_value(Value(w_name, folded_w.dtype, folded_w.shape, folded_w))
            graph.set_inputs(conv, [image, w_name] + list(conv.inputs[2:]))
            conv.attrs[OFFSET] = offset
            folded += 1
        if not graph.consumers(value) and value not in graph.outputs:
            graph.remove_node(norm)
    return folded
